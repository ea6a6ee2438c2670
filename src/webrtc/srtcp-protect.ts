import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  createSecretKey,
  type KeyObject,
  timingSafeEqual,
} from "node:crypto";
import { protectionKeys, type SrtpSessionKeys } from "./srtp-protect";

/** The largest SRTCP index (31 bits); the next packet starts again at 0 (RFC 3711 §3.4). */
export const MAX_SRTCP_INDEX = 0x7fffffff;

/** The RTCP header left in clear: version to packet type, length, and the sender's SSRC. */
const CLEAR_HEADER = 8;
/** The E flag (encrypted) and the 31-bit SRTCP index, after the payload. */
const INDEX_SIZE = 4;
const ENCRYPTED = 0x80000000;

/** An SRTCP packet that is too short, or whose tag does not hold. */
export class SrtcpRejectedError extends Error {}

/**
 * SRTCP under one direction's session keys. `protect` writes one packet from a compound RTCP packet,
 * encrypted (E = 1), as `index`: the caller owns the index, one per packet, never twice. `unprotect`
 * checks a received packet and returns its compound RTCP in clear.
 */
export interface SrtcpProtector {
  protect(rtcp: Buffer, index: number): Buffer;
  /** @throws SrtcpRejectedError for a packet too short or not authentic */
  unprotect(srtcp: Buffer): Buffer;
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
    const cipher = createCipheriv("aes-128-gcm", this.key, this.ivFor(rtcp, index));
    cipher.setAAD(Buffer.concat([out.subarray(0, CLEAR_HEADER), out.subarray(tagAt)]));
    cipher.update(rtcp.subarray(CLEAR_HEADER)).copy(out, CLEAR_HEADER);
    cipher.final();
    cipher.getAuthTag().copy(out, rtcp.length);
    return out;
  }

  unprotect(srtcp: Buffer): Buffer {
    const indexAt = srtcp.length - INDEX_SIZE;
    const tagAt = indexAt - 16;
    if (tagAt < CLEAR_HEADER) throw new SrtcpRejectedError("SRTCP packet too short");
    const word = srtcp.readUInt32BE(indexAt);
    const encrypted = (word & ENCRYPTED) !== 0;
    // RFC 7714 §9.2: unencrypted, the whole packet is authenticated data and none of it ciphertext.
    const clear = encrypted ? CLEAR_HEADER : tagAt;
    const decipher = createDecipheriv("aes-128-gcm", this.key, this.ivFor(srtcp, word & MAX_SRTCP_INDEX));
    decipher.setAAD(Buffer.concat([srtcp.subarray(0, clear), srtcp.subarray(indexAt)]));
    decipher.setAuthTag(srtcp.subarray(tagAt, indexAt));
    const out = Buffer.allocUnsafe(tagAt);
    srtcp.copy(out, 0, 0, clear);
    if (encrypted) decipher.update(srtcp.subarray(CLEAR_HEADER, tagAt)).copy(out, CLEAR_HEADER);
    try {
      decipher.final();
    } catch {
      throw new SrtcpRejectedError("SRTCP packet not authentic");
    }
    return out;
  }

  private ivFor(packet: Buffer, index: number): Buffer {
    const iv = this.iv;
    iv.fill(0);
    packet.copy(iv, 2, 4, 8);
    iv.writeUInt32BE(index & MAX_SRTCP_INDEX, 8);
    for (let i = 0; i < 12; i++) iv[i] = (iv[i] as number) ^ (this.salt[i] as number);
    return iv;
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
    createCipheriv("aes-128-ctr", this.key, this.counterFor(rtcp, index))
      .update(rtcp.subarray(CLEAR_HEADER))
      .copy(out, CLEAR_HEADER);
    out.writeUInt32BE((ENCRYPTED | index) >>> 0, rtcp.length);
    createHmac("sha1", this.authKey).update(out.subarray(0, end)).digest().copy(out, end, 0, 10);
    return out;
  }

  unprotect(srtcp: Buffer): Buffer {
    const tagAt = srtcp.length - 10;
    const indexAt = tagAt - INDEX_SIZE;
    if (indexAt < CLEAR_HEADER) throw new SrtcpRejectedError("SRTCP packet too short");
    const mac = createHmac("sha1", this.authKey).update(srtcp.subarray(0, tagAt)).digest();
    if (!timingSafeEqual(mac.subarray(0, 10), srtcp.subarray(tagAt))) {
      throw new SrtcpRejectedError("SRTCP packet not authentic");
    }
    const word = srtcp.readUInt32BE(indexAt);
    const out = Buffer.from(srtcp.subarray(0, indexAt));
    if ((word & ENCRYPTED) !== 0) {
      createDecipheriv("aes-128-ctr", this.key, this.counterFor(srtcp, word & MAX_SRTCP_INDEX))
        .update(srtcp.subarray(CLEAR_HEADER, indexAt))
        .copy(out, CLEAR_HEADER);
    }
    return out;
  }

  private counterFor(packet: Buffer, index: number): Buffer {
    const counter = this.counter;
    counter.fill(0);
    packet.copy(counter, 4, 4, 8);
    counter.writeUInt32BE(index & MAX_SRTCP_INDEX, 10);
    for (let i = 0; i < this.salt.length; i++) counter[i] = (counter[i] as number) ^ (this.salt[i] as number);
    return counter;
  }
}

/** SRTCP for these session keys, or undefined for a profile the relay leaves to werift. */
export function srtcpProtector(keys: SrtpSessionKeys): SrtcpProtector | undefined {
  const k = protectionKeys(keys);
  if (k === undefined) return undefined;
  return k.cipher === "gcm"
    ? new GcmRtcpProtector(k.key, k.salt)
    : new CtrHmacRtcpProtector(k.key, k.salt, k.authKey);
}
