import { BadSdpError } from "./errors";

/** A WHEP trickle body (RFC 8840 application/trickle-ice-sdpfrag), reduced to what ICE needs. */
export interface SdpFragment {
  /** The ICE credentials the fragment names, when it names some (a change means an ICE restart). */
  readonly iceUfrag?: string;
  readonly icePwd?: string;
  /** "candidate:..." attribute values (without "a="), with the mid of their m= section if any. */
  readonly candidates: readonly { readonly candidate: string; readonly mid?: string }[];
  readonly endOfCandidates: boolean;
}

const MAX_FRAGMENT_LENGTH = 64 * 1024;

/**
 * Parses an SDP fragment; lines other than ICE attributes, m= and a=mid are ignored.
 * @throws BadSdpError when it holds something that is not an SDP line
 */
export function parseSdpFragment(text: string): SdpFragment {
  if (text.length > MAX_FRAGMENT_LENGTH) throw new BadSdpError("the SDP fragment is too long");
  let iceUfrag: string | undefined;
  let icePwd: string | undefined;
  let mid: string | undefined;
  let endOfCandidates = false;
  const candidates: { candidate: string; mid?: string }[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "") continue;
    if (!/^[a-z]=/.test(line)) throw new BadSdpError(`not an SDP line: ${JSON.stringify(line.slice(0, 80))}`);
    if (line.startsWith("m=")) {
      mid = undefined;
    } else if (line.startsWith("a=mid:")) {
      mid = line.slice("a=mid:".length);
    } else if (line.startsWith("a=ice-ufrag:")) {
      iceUfrag = line.slice("a=ice-ufrag:".length);
    } else if (line.startsWith("a=ice-pwd:")) {
      icePwd = line.slice("a=ice-pwd:".length);
    } else if (line.startsWith("a=candidate:")) {
      const candidate = line.slice("a=".length);
      candidates.push(mid === undefined ? { candidate } : { candidate, mid });
    } else if (line === "a=end-of-candidates") {
      endOfCandidates = true;
    }
  }
  return {
    ...(iceUfrag !== undefined ? { iceUfrag } : {}),
    ...(icePwd !== undefined ? { icePwd } : {}),
    candidates,
    endOfCandidates,
  };
}
