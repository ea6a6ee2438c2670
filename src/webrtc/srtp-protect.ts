import { createCipheriv, createHmac, createSecretKey, type KeyObject } from "node:crypto";

/** DTLS-SRTP protection profiles (RFC 5764, RFC 7714) that the relay protects by itself. */
export const SRTP_AES128_CM_HMAC_SHA1_80 = 0x0001;
export const SRTP_AEAD_AES_128_GCM = 0x0007;

/** Session keys of one direction, as derived from the DTLS master secret (RFC 3711 §4.3). */
export interface SrtpSessionKeys {
  readonly profile: number;
  readonly key: Buffer;
  readonly salt: Buffer;
  /** HMAC-SHA1 key; AES-CM profiles only. */
  readonly authKey?: Buffer;
}

/** A packet's own header fields; version 2, no padding, extension or CSRC. */
export interface RtpHeaderFields {
  readonly marker: boolean;
  readonly sequence: number;
  readonly timestamp: number;
}

/** What the connection fixes for every packet of a track. */
export interface RtpTrackFields {
  readonly payloadType: number;
  readonly ssrc: number;
}

export const RTP_HEADER_SIZE = 12;

/**
 * Writes one SRTP packet (header, encrypted payload, tag) in a single allocation. werift's own path
 * builds an RtpHeader object, serialises it and concatenates three buffers per packet; this is the
 * same transform on bytes, checked byte for byte against werift's ciphers in the unit tests.
 */
export interface SrtpProtector {
  readonly tagLength: number;
  protect(header: RtpHeaderFields, track: RtpTrackFields, payload: Buffer, rolloverCounter: number): Buffer;
}

function writeHeader(out: Buffer, h: RtpHeaderFields, track: RtpTrackFields): void {
  out[0] = 0x80;
  out[1] = (h.marker ? 0x80 : 0) | (track.payloadType & 0x7f);
  out.writeUInt16BE(h.sequence & 0xffff, 2);
  out.writeUInt32BE(h.timestamp >>> 0, 4);
  out.writeUInt32BE(track.ssrc >>> 0, 8);
}

/** RFC 7714 AEAD_AES_128_GCM: IV = (0⁴ ‖ SSRC ‖ ROC ‖ SEQ) ⊕ salt, AAD = the header. */
class GcmProtector implements SrtpProtector {
  readonly tagLength = 16;
  private readonly iv = Buffer.alloc(12);
  /** A key object once, rather than a buffer Node checks and copies for every packet's cipher. */
  private readonly key: KeyObject;

  constructor(
    key: Buffer,
    private readonly salt: Buffer,
  ) {
    this.key = createSecretKey(key);
  }

  protect(h: RtpHeaderFields, track: RtpTrackFields, payload: Buffer, roc: number): Buffer {
    const out = Buffer.allocUnsafe(RTP_HEADER_SIZE + payload.length + this.tagLength);
    writeHeader(out, h, track);
    const iv = this.iv;
    iv.writeUInt16BE(0, 0);
    iv.writeUInt32BE(track.ssrc >>> 0, 2);
    iv.writeUInt32BE(roc >>> 0, 6);
    iv.writeUInt16BE(h.sequence & 0xffff, 10);
    for (let i = 0; i < 12; i++) iv[i] = (iv[i] as number) ^ (this.salt[i] as number);
    const cipher = createCipheriv("aes-128-gcm", this.key, iv);
    cipher.setAAD(out.subarray(0, RTP_HEADER_SIZE));
    const encrypted = cipher.update(payload);
    cipher.final();
    encrypted.copy(out, RTP_HEADER_SIZE);
    cipher.getAuthTag().copy(out, RTP_HEADER_SIZE + payload.length);
    return out;
  }
}

/** RFC 3711 AES_CM_128 with HMAC_SHA1_80: counter = (SSRC·2⁶⁴ ‖ index·2¹⁶) ⊕ salt·2¹⁶. */
class CtrHmacProtector implements SrtpProtector {
  readonly tagLength = 10;
  private readonly counter = Buffer.alloc(16);
  private readonly rocBytes = Buffer.alloc(4);
  private readonly key: KeyObject;

  constructor(
    key: Buffer,
    private readonly salt: Buffer,
    private readonly authKey: Buffer,
  ) {
    this.key = createSecretKey(key);
  }

  protect(h: RtpHeaderFields, track: RtpTrackFields, payload: Buffer, roc: number): Buffer {
    const end = RTP_HEADER_SIZE + payload.length;
    const out = Buffer.allocUnsafe(end + this.tagLength);
    writeHeader(out, h, track);
    const counter = this.counter;
    counter.fill(0);
    counter.writeUInt32BE(track.ssrc >>> 0, 4);
    counter.writeUInt32BE(roc >>> 0, 8);
    counter.writeUInt16BE(h.sequence & 0xffff, 12);
    for (let i = 0; i < this.salt.length; i++) counter[i] = (counter[i] as number) ^ (this.salt[i] as number);
    const cipher = createCipheriv("aes-128-ctr", this.key, counter);
    cipher.update(payload).copy(out, RTP_HEADER_SIZE);
    this.rocBytes.writeUInt32BE(roc >>> 0, 0);
    const mac = createHmac("sha1", this.authKey).update(out.subarray(0, end)).update(this.rocBytes).digest();
    mac.copy(out, end, 0, this.tagLength);
    return out;
  }
}

/** Session keys of a profile done here (key and salt sizes checked, the HMAC key there where needed), by cipher. */
export type ProtectionKeys =
  | { readonly cipher: "gcm"; readonly key: Buffer; readonly salt: Buffer }
  | { readonly cipher: "ctr"; readonly key: Buffer; readonly salt: Buffer; readonly authKey: Buffer };

/** `keys` sorted by their profile's cipher, or undefined for a profile or key size left to werift. */
export function protectionKeys(keys: SrtpSessionKeys): ProtectionKeys | undefined {
  if (keys.key.length !== 16) return undefined;
  // werift derives a 14-byte session salt for both profiles; GCM's IV takes its first 12 bytes.
  if (keys.profile === SRTP_AEAD_AES_128_GCM && keys.salt.length >= 12) {
    return { cipher: "gcm", key: keys.key, salt: keys.salt.subarray(0, 12) };
  }
  if (keys.profile === SRTP_AES128_CM_HMAC_SHA1_80 && keys.salt.length === 14 && keys.authKey !== undefined) {
    return { cipher: "ctr", key: keys.key, salt: keys.salt, authKey: keys.authKey };
  }
  return undefined;
}

/** A protector for these keys, or undefined for a profile the relay leaves to werift. */
export function srtpProtector(keys: SrtpSessionKeys): SrtpProtector | undefined {
  const k = protectionKeys(keys);
  if (k === undefined) return undefined;
  return k.cipher === "gcm"
    ? new GcmProtector(k.key, k.salt)
    : new CtrHmacProtector(k.key, k.salt, k.authKey);
}
