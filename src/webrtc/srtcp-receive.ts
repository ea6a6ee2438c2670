import { SrtpAuthenticationError } from "werift";
import { srtcpProtector } from "./srtcp-protect";
import type { DtlsInternals } from "./werift-internals";

const native = new WeakSet<object>();

/**
 * Makes `dtls` check and decrypt the RTCP its viewer sends (a receiver report a second, NACKs, PLIs)
 * with Node's ciphers directly. werift's own SRTCP decrypt concatenates buffers, parses the header
 * twice and runs in code too rarely called to be optimised: 2.2 % of the relay's CPU at 50 viewers,
 * most of what receiving their reports costs. Failures throw werift's SrtpAuthenticationError, which
 * its transport drops the packet for, as before. Returns false (werift keeps its own) for a profile
 * not done here; new keys bring a new session, which this is called for again.
 */
export function decryptRtcpNatively(dtls: DtlsInternals): boolean {
  const session = dtls.srtcp;
  const remote = session?.remoteContext;
  if (session === undefined || remote === undefined) return false;
  if (native.has(session)) return true;
  const protector = srtcpProtector({
    profile: remote.profile,
    key: remote.srtcpSessionKey,
    salt: remote.srtcpSessionSalt,
    authKey: remote.srtcpSessionAuthTag,
  });
  if (protector === undefined) return false;
  session.decrypt = (data: Buffer): Buffer => {
    try {
      return protector.unprotect(data);
    } catch (error) {
      throw new SrtpAuthenticationError((error as Error).message);
    }
  };
  native.add(session);
  return true;
}
