import { createHmac, timingSafeEqual } from "node:crypto";
import { crc32 } from "node:zlib";

// A byte-exact STUN (RFC 5389/8489) reader for exactly what the shared port must decide before
// werift sees a datagram: is it STUN at all, which class and method, which USERNAME, and do its
// MESSAGE-INTEGRITY (short-term credentials, RFC 8445 §7.2.2) and FINGERPRINT hold. werift itself
// answers any binding request whose USERNAME it does not check against anything: on a shared
// socket that would let anyone make the port answer, so nothing reaches werift unchecked.
// No allocation beyond the USERNAME string and the transaction id key.

export const STUN_HEADER_LENGTH = 20;
export const STUN_MAGIC_COOKIE = 0x2112a442;
const ATTR_USERNAME = 0x0006;
const ATTR_MESSAGE_INTEGRITY = 0x0008;
const ATTR_FINGERPRINT = 0x8028;
const ATTR_XOR_MAPPED_ADDRESS = 0x0020;
const ATTR_ICE_CONTROLLED = 0x8029;
const ATTR_ICE_CONTROLLING = 0x802a;
const FINGERPRINT_XOR = 0x5354554e;
const HMAC_SHA1_LENGTH = 20;
/** RFC 8489 §14.3: USERNAME is at most 513 bytes. */
const MAX_USERNAME = 513;

export type StunClass = "request" | "indication" | "success" | "error";
const CLASSES: readonly StunClass[] = ["request", "indication", "success", "error"];
export const BINDING = 0x001;

export interface StunMessageInfo {
  readonly stunClass: StunClass;
  readonly method: number;
  /** The 12 transaction id bytes as 24 lowercase hex digits (werift's transactionIdHex). */
  readonly transactionId: string;
  /** The USERNAME attribute's value, when there is one and it is valid UTF-8 text. */
  readonly username?: string;
  /** Offset of the MESSAGE-INTEGRITY attribute's header, when present. */
  readonly integrityAt?: number;
  /** Offset of the FINGERPRINT attribute's header, when present (always the last attribute). */
  readonly fingerprintAt?: number;
  /** The ICE role the sender claims (RFC 8445 §7.1.3), when it carries ICE-CONTROLLED or ICE-CONTROLLING. */
  readonly iceRole?: "controlled" | "controlling";
}

/** Why a datagram that starts like STUN is not a message the shared port accepts. */
export type StunProblem =
  | "type"
  | "short"
  | "length"
  | "cookie"
  | "attribute"
  | "after-integrity"
  | "after-fingerprint"
  | "username";

/**
 * RFC 7983 demultiplexing: the first byte of a STUN message is 0..3. Cheap pre-test; the header
 * check (`readStun`) decides.
 */
export function startsLikeStun(data: Buffer): boolean {
  return data.length > 0 && (data[0] as number) < 4;
}

/**
 * Parses the header and walks the attributes of one whole STUN message (a UDP datagram or one
 * RFC 4571 frame): the length field must match the buffer exactly, every attribute must fit,
 * MESSAGE-INTEGRITY may be followed only by FINGERPRINT, and FINGERPRINT must be last.
 */
export function readStun(data: Buffer): StunMessageInfo | StunProblem {
  if (data.length < STUN_HEADER_LENGTH) return "short";
  const type = data.readUInt16BE(0);
  if ((type & 0xc000) !== 0) return "type";
  const length = data.readUInt16BE(2);
  if (length + STUN_HEADER_LENGTH !== data.length || length % 4 !== 0) return "length";
  if (data.readUInt32BE(4) !== STUN_MAGIC_COOKIE) return "cookie";
  // Class bits C1 (bit 8) and C0 (bit 4); the method is the other twelve bits.
  const classIndex = ((type >> 7) & 0b10) | ((type >> 4) & 0b01);
  const method = (type & 0x000f) | ((type >> 1) & 0x0070) | ((type >> 2) & 0x0f80);
  let username: string | undefined;
  let integrityAt: number | undefined;
  let fingerprintAt: number | undefined;
  let iceRole: "controlled" | "controlling" | undefined;
  let offset = STUN_HEADER_LENGTH;
  while (offset < data.length) {
    if (fingerprintAt !== undefined) return "after-fingerprint";
    if (offset + 4 > data.length) return "attribute";
    const attrType = data.readUInt16BE(offset);
    const attrLength = data.readUInt16BE(offset + 2);
    const end = offset + 4 + attrLength;
    if (end > data.length) return "attribute";
    if (integrityAt !== undefined && attrType !== ATTR_FINGERPRINT) return "after-integrity";
    if (attrType === ATTR_USERNAME) {
      if (username !== undefined || attrLength === 0 || attrLength > MAX_USERNAME) return "username";
      const text = data.toString("utf8", offset + 4, end);
      // A replacement character means the bytes were not UTF-8: no ufrag can match them.
      if (text.includes("\ufffd")) return "username";
      username = text;
    } else if (attrType === ATTR_MESSAGE_INTEGRITY) {
      if (attrLength !== HMAC_SHA1_LENGTH) return "attribute";
      integrityAt = offset;
    } else if (attrType === ATTR_FINGERPRINT) {
      if (attrLength !== 4) return "attribute";
      fingerprintAt = offset;
    } else if (attrType === ATTR_ICE_CONTROLLED) {
      iceRole = "controlled";
    } else if (attrType === ATTR_ICE_CONTROLLING) {
      iceRole = "controlling";
    }
    offset = end + ((4 - (attrLength % 4)) % 4);
  }
  if (offset !== data.length) return "attribute";
  return {
    stunClass: CLASSES[classIndex] as StunClass,
    method,
    transactionId: data.toString("hex", 8, 20),
    ...(username !== undefined ? { username } : {}),
    ...(integrityAt !== undefined ? { integrityAt } : {}),
    ...(fingerprintAt !== undefined ? { fingerprintAt } : {}),
    ...(iceRole !== undefined ? { iceRole } : {}),
  };
}

/** The message's bytes before `at`, with the header's length field as if the message ended at `end`. */
function prefixWithLength(data: Buffer, at: number, end: number): Buffer {
  const prefix = Buffer.from(data.subarray(0, at));
  prefix.writeUInt16BE(end - STUN_HEADER_LENGTH, 2);
  return prefix;
}

/**
 * RFC 8489 §14.5: HMAC-SHA1, keyed with `key`, over the message up to MESSAGE-INTEGRITY with the
 * length field counting up to and including it. False when the attribute is missing.
 */
export function integrityHolds(data: Buffer, info: StunMessageInfo, key: Buffer): boolean {
  const at = info.integrityAt;
  if (at === undefined) return false;
  const end = at + 4 + HMAC_SHA1_LENGTH;
  const expected = createHmac("sha1", key)
    .update(prefixWithLength(data, at, end))
    .digest();
  return timingSafeEqual(expected, data.subarray(at + 4, end));
}

/** RFC 8489 §14.7: CRC-32 of the message before FINGERPRINT, XOR 0x5354554e. False when missing. */
export function fingerprintHolds(data: Buffer, info: StunMessageInfo): boolean {
  const at = info.fingerprintAt;
  if (at === undefined) return false;
  // The length field already counts FINGERPRINT: it is the last attribute.
  const expected = (crc32(data.subarray(0, at)) ^ FINGERPRINT_XOR) >>> 0;
  return data.readUInt32BE(at + 4) === expected;
}

/**
 * The two ufrags of an ICE connectivity check's USERNAME "<receiver's ufrag>:<sender's ufrag>"
 * (RFC 8445 §7.2.2); undefined unless both are there.
 */
export function splitIceUsername(username: string): { local: string; remote: string } | undefined {
  const colon = username.indexOf(":");
  if (colon <= 0 || colon === username.length - 1) return undefined;
  return { local: username.slice(0, colon), remote: username.slice(colon + 1) };
}

/** The size of a binding success response to an IPv4 address: XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY, FINGERPRINT. */
const BINDING_SUCCESS_IPV4_LENGTH = STUN_HEADER_LENGTH + 12 + 4 + HMAC_SHA1_LENGTH + 8;

/**
 * The binding success response to `request` (its transaction id) from `address`:`port` (IPv4), as an
 * ICE agent answers a connectivity check (RFC 8445 §7.3.1.3): XOR-MAPPED-ADDRESS, then
 * MESSAGE-INTEGRITY keyed with `key` (the local password), then FINGERPRINT; what werift sends.
 */
export function bindingSuccess(request: Buffer, address: string, port: number, key: Buffer): Buffer {
  const out = Buffer.allocUnsafe(BINDING_SUCCESS_IPV4_LENGTH);
  out.writeUInt16BE(0x0101, 0);
  out.writeUInt32BE(STUN_MAGIC_COOKIE, 4);
  request.copy(out, 8, 8, STUN_HEADER_LENGTH);
  let at = STUN_HEADER_LENGTH;
  out.writeUInt16BE(ATTR_XOR_MAPPED_ADDRESS, at);
  out.writeUInt16BE(8, at + 2);
  out.writeUInt16BE(0x0001, at + 4);
  out.writeUInt16BE((port ^ (STUN_MAGIC_COOKIE >>> 16)) & 0xffff, at + 6);
  out.writeUInt32BE((ipv4Number(address) ^ STUN_MAGIC_COOKIE) >>> 0, at + 8);
  at += 12;
  // RFC 8489 §14.5: the length field counts MESSAGE-INTEGRITY while it is computed; FINGERPRINT after.
  out.writeUInt16BE(at + 4 + HMAC_SHA1_LENGTH - STUN_HEADER_LENGTH, 2);
  out.writeUInt16BE(ATTR_MESSAGE_INTEGRITY, at);
  out.writeUInt16BE(HMAC_SHA1_LENGTH, at + 2);
  createHmac("sha1", key)
    .update(out.subarray(0, at))
    .digest()
    .copy(out, at + 4);
  at += 4 + HMAC_SHA1_LENGTH;
  out.writeUInt16BE(BINDING_SUCCESS_IPV4_LENGTH - STUN_HEADER_LENGTH, 2);
  out.writeUInt16BE(ATTR_FINGERPRINT, at);
  out.writeUInt16BE(4, at + 2);
  out.writeUInt32BE((crc32(out.subarray(0, at)) ^ FINGERPRINT_XOR) >>> 0, at + 4);
  return out;
}

/** A dotted IPv4 address as a 32-bit number. */
function ipv4Number(address: string): number {
  let value = 0;
  let octet = 0;
  for (let i = 0; i < address.length; i++) {
    const code = address.charCodeAt(i);
    if (code === 46) {
      value = value * 256 + octet;
      octet = 0;
    } else {
      octet = octet * 10 + (code - 48);
    }
  }
  return (value * 256 + octet) >>> 0;
}
