import assert from "node:assert/strict";
import { createCipheriv, createHmac } from "node:crypto";
import { SrtcpSession, SrtpAuthenticationError } from "werift";
import {
  MAX_SRTCP_INDEX,
  type SrtcpProtector,
  SrtcpRejectedError,
  srtcpProtector,
} from "../../../src/webrtc/srtcp-protect";
import { decryptRtcpNatively } from "../../../src/webrtc/srtcp-receive";
import { SRTP_AEAD_AES_128_GCM, SRTP_AES128_CM_HMAC_SHA1_80 } from "../../../src/webrtc/srtp-protect";
import type { DtlsInternals, SrtcpContextInternals } from "../../../src/webrtc/werift-internals";

interface WeriftRtcpContext extends SrtcpContextInternals {
  encryptRTCP(rtcp: Buffer): Buffer;
}

// Fixed master keys: every byte below is reproducible.
const MASTER_KEY = Buffer.from("e1f97a0d3e018be0d64fa32c06de4139", "hex");
const MASTER_SALT_CM = Buffer.from("0ec675ad498afeebb6960b3aabe6", "hex");
const MASTER_SALT_GCM = Buffer.from("0ec675ad498afeebb6960b3a", "hex");

const PROFILES = [
  { name: "AES_CM_128_HMAC_SHA1_80", id: SRTP_AES128_CM_HMAC_SHA1_80, salt: MASTER_SALT_CM, tag: 10 },
  { name: "AEAD_AES_128_GCM", id: SRTP_AEAD_AES_128_GCM, salt: MASTER_SALT_GCM, tag: 16 },
] as const;

/** werift's SRTCP session for these master keys, both ways, as its DTLS transport makes it. */
function weriftSession(salt: Buffer, profile: number): SrtcpSession {
  const keys = {
    localMasterKey: MASTER_KEY,
    localMasterSalt: salt,
    remoteMasterKey: MASTER_KEY,
    remoteMasterSalt: salt,
  };
  return new SrtcpSession({ keys, profile: profile as 1 | 7 });
}

function localContext(session: SrtcpSession): WeriftRtcpContext {
  return (session as unknown as { localContext: WeriftRtcpContext }).localContext;
}

function protectorFor(context: SrtcpContextInternals): SrtcpProtector {
  const protector = srtcpProtector({
    profile: context.profile,
    key: context.srtcpSessionKey,
    salt: context.srtcpSessionSalt,
    authKey: context.srtcpSessionAuthTag,
  });
  assert.ok(protector);
  return protector;
}

// A sender report (SSRC 0xdeadbeef) and SDES CNAME "relay": 28 + 16 bytes.
const RTCP = Buffer.from(
  "80c80006deadbeefec8d2a1f40000000000d2f0000000064000186a0" + "81ca0003deadbeef010572656c617900",
  "hex",
);

describe("srtcpProtector", () => {
  for (const profile of PROFILES) {
    describe(profile.name, () => {
      it("writes the same bytes as werift's own SRTCP, index after index", () => {
        const context = localContext(weriftSession(profile.salt, profile.id));
        const protector = protectorFor(context);
        // werift moves its index on before each packet: 1, 2, 3 from a fresh context.
        for (let index = 1; index <= 3; index++) {
          const theirs = context.encryptRTCP(RTCP);
          const ours = protector.protect(RTCP, index);
          assert.equal(ours.length, RTCP.length + 4 + profile.tag);
          assert.ok(ours.equals(theirs), `index ${index}`);
        }
        assert.equal(context.getSrtcpSsrcState(0xdeadbeef).srtcpIndex, 3);
      });

      it("a werift receiver decrypts it, the highest index included, and rejects a flipped bit", () => {
        const receiver = weriftSession(profile.salt, profile.id);
        const protector = protectorFor(localContext(weriftSession(profile.salt, profile.id)));
        for (const index of [0, 1, 0x12345, MAX_SRTCP_INDEX]) {
          const datagram = protector.protect(RTCP, index);
          assert.ok(receiver.decrypt(datagram).equals(RTCP), `index ${index}`);
          // E set, then the index, as written.
          const at = profile.tag === 16 ? RTCP.length + 16 : RTCP.length;
          assert.equal(datagram.readUInt32BE(at), (0x80000000 | index) >>> 0);
          assert.ok(datagram.subarray(0, 8).equals(RTCP.subarray(0, 8)), "the first 8 bytes stay clear");
          assert.ok(!datagram.subarray(8, RTCP.length).equals(RTCP.subarray(8)), "the rest is encrypted");
        }
        const datagram = protector.protect(RTCP, 9);
        datagram[20] = (datagram[20] as number) ^ 1;
        assert.throws(() => receiver.decrypt(datagram));
      });

      it("unprotects what werift's SRTCP wrote, and rejects a flipped bit or a stub", () => {
        const sender = localContext(weriftSession(profile.salt, profile.id));
        // The receiving side's keys are the sender's (both directions share the master keys here).
        const protector = protectorFor(sender);
        for (let i = 0; i < 3; i++) assert.ok(protector.unprotect(sender.encryptRTCP(RTCP)).equals(RTCP));
        const datagram = sender.encryptRTCP(RTCP);
        for (const at of [2, 20, datagram.length - 1]) {
          const bad = Buffer.from(datagram);
          bad[at] = (bad[at] as number) ^ 1;
          assert.throws(() => protector.unprotect(bad), SrtcpRejectedError, `bit flipped at ${at}`);
        }
        assert.throws(
          () => protector.unprotect(datagram.subarray(0, 8 + 4 + profile.tag - 1)),
          SrtcpRejectedError,
        );
      });

      it("unprotects an unencrypted packet (E = 0): authenticated, passed in clear", () => {
        const context = localContext(weriftSession(profile.salt, profile.id));
        const index = Buffer.from([0, 0, 0, 5]);
        let datagram: Buffer;
        if (profile.tag === 16) {
          const iv = Buffer.alloc(12);
          RTCP.copy(iv, 2, 4, 8);
          iv.writeUInt32BE(5, 8);
          for (let i = 0; i < 12; i++) iv[i] = (iv[i] as number) ^ (context.srtcpSessionSalt[i] as number);
          const cipher = createCipheriv("aes-128-gcm", context.srtcpSessionKey, iv);
          cipher.setAAD(Buffer.concat([RTCP, index]));
          cipher.final();
          datagram = Buffer.concat([RTCP, cipher.getAuthTag(), index]);
        } else {
          const mac = createHmac("sha1", context.srtcpSessionAuthTag).update(RTCP).update(index).digest();
          datagram = Buffer.concat([RTCP, index, mac.subarray(0, 10)]);
        }
        assert.ok(protectorFor(context).unprotect(datagram).equals(RTCP));
      });
    });
  }

  it("leaves other profiles and key sizes to werift", () => {
    const key = Buffer.alloc(16);
    assert.equal(
      srtcpProtector({ profile: 0x0002, key, salt: Buffer.alloc(14), authKey: Buffer.alloc(20) }),
      undefined,
    );
    assert.equal(
      srtcpProtector({ profile: SRTP_AEAD_AES_128_GCM, key: Buffer.alloc(32), salt: Buffer.alloc(12) }),
      undefined,
    );
    assert.equal(
      srtcpProtector({ profile: SRTP_AES128_CM_HMAC_SHA1_80, key, salt: Buffer.alloc(14) }),
      undefined,
    );
  });
});

describe("decryptRtcpNatively", () => {
  for (const profile of PROFILES) {
    it(`takes over the DTLS transport's SRTCP decrypt (${profile.name}), with werift's error for a bad packet`, () => {
      const session = weriftSession(profile.salt, profile.id);
      const dtls = { srtcp: session } as unknown as DtlsInternals;
      const weriftDecrypt = session.decrypt;
      assert.equal(decryptRtcpNatively(dtls), true);
      assert.notEqual(session.decrypt, weriftDecrypt);
      const ours = session.decrypt;
      assert.equal(decryptRtcpNatively(dtls), true, "once per session");
      assert.equal(session.decrypt, ours);
      const datagram = localContext(weriftSession(profile.salt, profile.id)).encryptRTCP(RTCP);
      assert.ok(session.decrypt(datagram).equals(RTCP));
      datagram[12] = (datagram[12] as number) ^ 1;
      assert.throws(() => session.decrypt(datagram), SrtpAuthenticationError);
    });
  }

  it("leaves werift's decrypt where it has no session or keys it does not do", () => {
    assert.equal(decryptRtcpNatively({} as unknown as DtlsInternals), false);
    const session = weriftSession(MASTER_SALT_GCM, SRTP_AEAD_AES_128_GCM);
    const remote = (session as unknown as { remoteContext: { srtcpSessionKey: Buffer } }).remoteContext;
    remote.srtcpSessionKey = Buffer.alloc(32);
    const weriftDecrypt = session.decrypt;
    assert.equal(decryptRtcpNatively({ srtcp: session } as unknown as DtlsInternals), false);
    assert.equal(session.decrypt, weriftDecrypt);
  });
});
