/** RTCP compound packet SR + SDES(CNAME) (RFC 3550 6.4.1, 6.5.1), as a sending camera emits it. */

const NTP_UNIX_OFFSET_S = 2_208_988_800;

export interface SenderReportFields {
  readonly ssrc: number;
  /** Wall-clock time of the report, ms since the Unix epoch. */
  readonly wallClockMs: number;
  /** The RTP timestamp that corresponds to wallClockMs. */
  readonly rtpTimestamp: number;
  readonly packetCount: number;
  /** Payload octets sent (RTP headers excluded). */
  readonly octetCount: number;
  /** CNAME, at most 255 bytes of UTF-8. */
  readonly cname: string;
}

function sdesCname(ssrc: number, cname: string): Buffer {
  const text = Buffer.from(cname, "utf8").subarray(0, 255);
  // SSRC, CNAME item (type, length, text), then at least one zero byte ending the list, padded to 32 bits.
  const itemLength = 4 + 2 + text.length + 1;
  const chunkLength = Math.ceil(itemLength / 4) * 4;
  const packet = Buffer.alloc(4 + chunkLength);
  packet[0] = 0x81;
  packet[1] = 202;
  packet.writeUInt16BE(packet.length / 4 - 1, 2);
  packet.writeUInt32BE(ssrc >>> 0, 4);
  packet[8] = 1;
  packet[9] = text.length;
  text.copy(packet, 10);
  return packet;
}

export function buildSenderReport(fields: SenderReportFields): Buffer {
  const sr = Buffer.alloc(28);
  sr[0] = 0x80;
  sr[1] = 200;
  sr.writeUInt16BE(6, 2);
  sr.writeUInt32BE(fields.ssrc >>> 0, 4);
  const seconds = Math.floor(fields.wallClockMs / 1000);
  const fraction = Math.floor(((fields.wallClockMs % 1000) / 1000) * 0x100000000);
  sr.writeUInt32BE((seconds + NTP_UNIX_OFFSET_S) % 0x100000000, 8);
  sr.writeUInt32BE(Math.min(fraction, 0xffffffff), 12);
  sr.writeUInt32BE(fields.rtpTimestamp % 0x100000000, 16);
  sr.writeUInt32BE(fields.packetCount % 0x100000000, 20);
  sr.writeUInt32BE(fields.octetCount % 0x100000000, 24);
  return Buffer.concat([sr, sdesCname(fields.ssrc, fields.cname)]);
}
