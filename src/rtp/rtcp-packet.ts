/** RTCP packet types (RFC 3550 §12.1) and SDES item types (§12.2) this package writes or reads. */
export const RTCP_SR = 200;
export const RTCP_RR = 201;
export const RTCP_SDES = 202;
export const SDES_END = 0;
export const SDES_CNAME = 1;

/**
 * An SDES packet with one chunk: `ssrc` and its CNAME (RFC 3550 §6.5), the item list ended by a null
 * octet and padded to 32 bits. A CNAME longer than 255 bytes is cut there.
 */
export function sdesCname(ssrc: number, cname: string): Buffer {
  const text = Buffer.from(cname, "utf8").subarray(0, 255);
  // SSRC, item (type, length, text), end marker, padded to 32 bits.
  const chunkLength = 4 + 2 + text.length + 1;
  const padded = Math.ceil(chunkLength / 4) * 4;
  const sdes = Buffer.alloc(4 + padded);
  sdes[0] = 0x81;
  sdes[1] = RTCP_SDES;
  sdes.writeUInt16BE(padded / 4, 2);
  sdes.writeUInt32BE(ssrc >>> 0, 4);
  sdes[8] = SDES_CNAME;
  sdes[9] = text.length;
  text.copy(sdes, 10);
  return sdes;
}
