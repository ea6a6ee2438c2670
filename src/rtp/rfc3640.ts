import { BitReader } from "./bit-reader";
/** The AU-header layout of an MPEG4-GENERIC stream, from its fmtp (RFC 3640 §4.1). */
export interface AuHeaderLayout {
  readonly sizeLength: number;
  readonly indexLength: number;
  readonly indexDeltaLength: number;
}

/** AAC-hbr, what cameras send: 13-bit sizes, 3-bit indices. */
export const AAC_HBR: AuHeaderLayout = { sizeLength: 13, indexLength: 3, indexDeltaLength: 3 };

/**
 * The layout an fmtp announces; undefined when it has no AU headers of sizes this module reads
 * (no sizelength: the constant-size modes, which cameras do not use) or carries CTS/DTS/RAP fields
 * in them (not used by AAC-hbr either).
 */
export function auHeaderLayout(fmtp: Readonly<Record<string, string>>): AuHeaderLayout | undefined {
  const number = (key: string): number | undefined => {
    const text = fmtp[key];
    if (text === undefined) return 0;
    return /^\d{1,2}$/.test(text.trim()) ? Number(text) : undefined;
  };
  const sizeLength = number("sizelength");
  const indexLength = number("indexlength");
  const indexDeltaLength = number("indexdeltalength");
  if (sizeLength === undefined || indexLength === undefined || indexDeltaLength === undefined)
    return undefined;
  if (sizeLength === 0 || sizeLength > 16 || indexLength > 16 || indexDeltaLength > 16) return undefined;
  for (const extra of [
    "ctsdeltalength",
    "dtsdeltalength",
    "randomaccessindication",
    "streamstateindication",
  ]) {
    const value = fmtp[extra];
    if (value !== undefined && value.trim() !== "0") return undefined;
  }
  return { sizeLength, indexLength, indexDeltaLength };
}

/**
 * The access units of one RTP payload (RFC 3640 §3.2: AU-headers-length, the AU headers, then the
 * AUs back to back); views on the payload. Undefined when the sizes do not add up, or when the
 * payload is a fragment of an AU larger than the packet (AAC frames at camera bitrates never are).
 */
export function splitAccessUnits(payload: Buffer, layout: AuHeaderLayout): Buffer[] | undefined {
  if (payload.length < 2) return undefined;
  const headersBits = payload.readUInt16BE(0);
  const headersBytes = Math.ceil(headersBits / 8);
  let offset = 2 + headersBytes;
  if (headersBits === 0 || offset > payload.length) return undefined;
  const units: Buffer[] = [];
  const headers = new BitReader(payload.subarray(2, 2 + headersBytes));
  let bit = 0;
  let first = true;
  while (bit < headersBits) {
    const indexBits = first ? layout.indexLength : layout.indexDeltaLength;
    // Checked against the headers' length first: the reader cannot run out.
    if (bit + layout.sizeLength + indexBits > headersBits) return undefined;
    const size = headers.readBits(layout.sizeLength);
    headers.skipBits(indexBits);
    bit += layout.sizeLength + indexBits;
    first = false;
    if (size === 0 || offset + size > payload.length) return undefined;
    units.push(payload.subarray(offset, offset + size));
    offset += size;
  }
  return units;
}
