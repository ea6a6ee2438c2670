import { createCipheriv, createHmac, createSecretKey, type KeyObject } from "node:crypto";
import { SRTP_AEAD_AES_128_GCM, SRTP_AES128_CM_HMAC_SHA1_80, type SrtpSessionKeys } from "./srtp-protect";

/** The largest SRTCP index (31 bits); the next packet starts again at 0 (RFC 3711 §3.4). */
export const MAX_SRTCP_INDEX = 0x7fffffff;

/** The RTCP header left in clear: version to packet type, length, and the sender's SSRC. */
const CLEAR_HEADER = 8;
/** The E flag (encrypted) and the 31-bit SRTCP index, after the payload. */
const INDEX_SIZE = 4;
const ENCRYPTED = 0x80000000;

/**
 * Writes one SRTCP packet from a compound RTCP packet, encrypted (E = 1), as `index`. The caller owns
 * the index: one index per packet under these keys, never twice.
 */
export interface SrtcpProtector {
  protect(rtcp: Buffer, index: number): Buffer;
}

/** RFC 7714 §9: IV = (0² ‖ SSRC ‖ 0² ‖ index) ⊕ salt; AAD = the clear header ‖ E ‖ index; tag before E ‖ index. */
class GcmRtcpProtector implements SrtcpProtector {
  private readonly iv = Buffer.alloc(12);
  private readonly key: KeyObject;

  constructor(
    key: Buffer,
    private readonly salt: Buffer,
  ) {
    this.key = createSecretKey(key);
  }

  protect(rtcp: Buffer, index: number): Buffer {
    const tagAt = rtcp.length + 16;
    const out = Buffer.allocUnsafe(tagAt + INDEX_SIZE);
    rtcp.copy(out, 0, 0, CLEAR_HEADER);
    out.writeUInt32BE((ENCRYPTED | index) >>> 0, tagAt);
    const iv = this.iv;
    iv.fill(0);
    rtcp.copy(iv, 2, 4, 8);
    iv.writeUInt32BE(index & MAX_SRTCP_INDEX, 8);
    for (let i = 0; i < 12; i++) iv[i] = (iv[i] as number) ^ (this.salt[i] as number);
    const cipher = createCipheriv("aes-128-gcm", this.key, iv);
    cipher.setAAD(Buffer.concat([out.subarray(0, CLEAR_HEADER), out.subarray(tagAt)]));
    cipher.update(rtcp.subarray(CLEAR_HEADER)).copy(out, CLEAR_HEADER);
    cipher.final();
    cipher.getAuthTag().copy(out, rtcp.length);
    return out;
  }
}

/** RFC 3711 §3.4: AES-CM from byte 8 with the index as the counter's packet index; HMAC-SHA1-80 over all before it. */
class CtrHmacRtcpProtector implements SrtcpProtector {
  private readonly counter = Buffer.alloc(16);
  private readonly key: KeyObject;

  constructor(
    key: Buffer,
    private readonly salt: Buffer,
    private readonly authKey: Buffer,
  ) {
    this.key = createSecretKey(key);
  }

  protect(rtcp: Buffer, index: number): Buffer {
    const end = rtcp.length + INDEX_SIZE;
    const out = Buffer.allocUnsafe(end + 10);
    rtcp.copy(out, 0, 0, CLEAR_HEADER);
    const counter = this.counter;
    counter.fill(0);
    rtcp.copy(counter, 4, 4, 8);
    counter.writeUInt32BE(index & MAX_SRTCP_INDEX, 10);
    for (let i = 0; i < this.salt.length; i++) counter[i] = (counter[i] as number) ^ (this.salt[i] as number);
    createCipheriv("aes-128-ctr", this.key, counter)
      .update(rtcp.subarray(CLEAR_HEADER))
      .copy(out, CLEAR_HEADER);
    out.writeUInt32BE((ENCRYPTED | index) >>> 0, rtcp.length);
    createHmac("sha1", this.authKey).update(out.subarray(0, end)).digest().copy(out, end, 0, 10);
    return out;
  }
}

/** A protector for these SRTCP session keys, or undefined for a profile the relay leaves to werift. */
export function srtcpProtector(keys: SrtpSessionKeys): SrtcpProtector | undefined {
  if (keys.key.length !== 16) return undefined;
  if (keys.profile === SRTP_AEAD_AES_128_GCM && keys.salt.length >= 12) {
    return new GcmRtcpProtector(keys.key, keys.salt.subarray(0, 12));
  }
  if (keys.profile === SRTP_AES128_CM_HMAC_SHA1_80 && keys.salt.length === 14 && keys.authKey !== undefined) {
    return new CtrHmacRtcpProtector(keys.key, keys.salt, keys.authKey);
  }
  return undefined;
}
