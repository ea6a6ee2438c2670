import assert from "node:assert/strict";
import {
  ProtectionProfileAeadAes128Gcm,
  ProtectionProfileAes128CmHmacSha1_80,
  RtpHeader,
  SrtpSession,
} from "werift";
import {
  SRTP_AEAD_AES_128_GCM,
  SRTP_AES128_CM_HMAC_SHA1_80,
  type SrtpProtector,
  srtpProtector,
} from "../../../src/webrtc/srtp-protect";
import type { SrtpContextInternals } from "../../../src/webrtc/werift-internals";

interface WeriftLocalContext extends SrtpContextInternals {
  readonly cipher: { encryptRtp(header: RtpHeader, payload: Buffer, rollover: number): Buffer };
}

/** werift's sending context for these master keys, as its DTLS transport makes it. */
function weriftContext(salt: Buffer, profile: number): WeriftLocalContext {
  const keys = {
    localMasterKey: MASTER_KEY,
    localMasterSalt: salt,
    remoteMasterKey: MASTER_KEY,
    remoteMasterSalt: salt,
  };
  const session = new SrtpSession({ keys, profile: profile as 1 | 7 });
  return (session as unknown as { localContext: WeriftLocalContext }).localContext;
}

// Fixed master keys: every byte below is reproducible.
const MASTER_KEY = Buffer.from("e1f97a0d3e018be0d64fa32c06de4139", "hex");
const MASTER_SALT_CM = Buffer.from("0ec675ad498afeebb6960b3aabe6", "hex");
const MASTER_SALT_GCM = Buffer.from("0ec675ad498afeebb6960b3a", "hex");

const PROFILES = [
  { name: "AES_CM_128_HMAC_SHA1_80", id: SRTP_AES128_CM_HMAC_SHA1_80, salt: MASTER_SALT_CM, tag: 10 },
  { name: "AEAD_AES_128_GCM", id: SRTP_AEAD_AES_128_GCM, salt: MASTER_SALT_GCM, tag: 16 },
] as const;

function protectorFor(context: SrtpContextInternals): SrtpProtector {
  const protector = srtpProtector({
    profile: context.profile,
    key: context.srtpSessionKey,
    salt: context.srtpSessionSalt,
    authKey: context.srtpSessionAuthTag,
  });
  assert.ok(protector);
  return protector;
}

const payload = Buffer.from(Array.from({ length: 1188 }, (_, i) => (i * 7 + 3) & 0xff));
const cases = [
  { marker: false, sequence: 0, timestamp: 0, rollover: 0 },
  { marker: true, sequence: 4660, timestamp: 0x89abcdef, rollover: 0 },
  { marker: false, sequence: 0xffff, timestamp: 0xffffffff, rollover: 3 },
  { marker: true, sequence: 1, timestamp: 90_000, rollover: 0x12345678 },
];

describe("srtpProtector", () => {
  it("profile ids are werift's", () => {
    assert.equal(SRTP_AES128_CM_HMAC_SHA1_80, ProtectionProfileAes128CmHmacSha1_80);
    assert.equal(SRTP_AEAD_AES_128_GCM, ProtectionProfileAeadAes128Gcm);
  });

  for (const profile of PROFILES) {
    describe(profile.name, () => {
      it("writes the same bytes as werift's own cipher, header included", () => {
        const context = weriftContext(profile.salt, profile.id);
        const protector = protectorFor(context);
        assert.equal(protector.tagLength, profile.tag);
        for (const c of cases) {
          const track = { payloadType: 102, ssrc: 0xdeadbeef };
          const header = new RtpHeader({
            marker: c.marker,
            payloadType: track.payloadType,
            sequenceNumber: c.sequence,
            timestamp: c.timestamp,
            ssrc: track.ssrc,
          });
          const theirs = context.cipher.encryptRtp(header, payload, c.rollover);
          const ours = protector.protect(c, track, payload, c.rollover);
          assert.equal(ours.length, 12 + payload.length + profile.tag);
          assert.ok(ours.equals(theirs), `sequence ${c.sequence}, rollover ${c.rollover}`);
        }
      });

      it("a werift receiver decrypts a run across a sequence wrap", () => {
        const keys = {
          localMasterKey: MASTER_KEY,
          localMasterSalt: profile.salt,
          remoteMasterKey: MASTER_KEY,
          remoteMasterSalt: profile.salt,
        };
        const receiver = new SrtpSession({ keys, profile: profile.id as 1 | 7 });
        const protector = protectorFor(weriftContext(profile.salt, profile.id));
        const track = { payloadType: 96, ssrc: 42 };
        let rollover = 0;
        for (let i = 0; i < 6; i++) {
          const sequence = (0xfffd + i) & 0xffff;
          if (sequence === 0) rollover++;
          const body = payload.subarray(0, 100 + i);
          const datagram = protector.protect(
            { marker: i === 5, sequence, timestamp: 1000 * i },
            track,
            body,
            rollover,
          );
          const clear = receiver.decrypt(datagram);
          assert.ok(clear.subarray(12).equals(body), `packet ${i}`);
          assert.equal(clear.readUInt16BE(2), sequence);
          assert.equal(clear[1], (i === 5 ? 0x80 : 0) | 96);
        }
      });

      it("a flipped bit fails the receiver's authentication", () => {
        const keys = {
          localMasterKey: MASTER_KEY,
          localMasterSalt: profile.salt,
          remoteMasterKey: MASTER_KEY,
          remoteMasterSalt: profile.salt,
        };
        const receiver = new SrtpSession({ keys, profile: profile.id as 1 | 7 });
        const protector = protectorFor(weriftContext(profile.salt, profile.id));
        const datagram = protector.protect(
          { marker: false, sequence: 7, timestamp: 7 },
          { payloadType: 96, ssrc: 1 },
          payload,
          0,
        );
        datagram[40] = (datagram[40] as number) ^ 1;
        assert.throws(() => receiver.decrypt(datagram));
      });
    });
  }

  it("leaves other profiles and key sizes to werift", () => {
    const key = Buffer.alloc(16);
    assert.equal(
      srtpProtector({ profile: 0x0002, key, salt: Buffer.alloc(14), authKey: Buffer.alloc(20) }),
      undefined,
    );
    assert.equal(
      srtpProtector({ profile: SRTP_AEAD_AES_128_GCM, key: Buffer.alloc(32), salt: Buffer.alloc(12) }),
      undefined,
    );
    assert.equal(
      srtpProtector({ profile: SRTP_AES128_CM_HMAC_SHA1_80, key, salt: Buffer.alloc(14) }),
      undefined,
    );
  });
});
