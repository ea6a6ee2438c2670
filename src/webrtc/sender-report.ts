import { RTCP_SR, sdesCname } from "../rtp/rtcp-packet";

/** Seconds from NTP's epoch (1900) to Unix's (1970). */
const NTP_UNIX_OFFSET_S = 2_208_988_800;

/** A 64-bit NTP timestamp (RFC 5905): seconds since 1900 and a binary fraction of a second. */
export interface NtpTime {
  readonly seconds: number;
  readonly fraction: number;
}

export function ntpTimeOf(unixMs: number): NtpTime {
  const wholeMs = Math.floor(unixMs / 1000) * 1000;
  return {
    seconds: (wholeMs / 1000 + NTP_UNIX_OFFSET_S) >>> 0,
    fraction: Math.floor(((unixMs - wholeMs) / 1000) * 0x1_0000_0000) >>> 0,
  };
}

/** The middle 32 bits, which receivers echo as LSR in their reports (RFC 3550 §6.4.1). */
export function compactNtp(time: NtpTime): number {
  return (((time.seconds & 0xffff) << 16) | (time.fraction >>> 16)) >>> 0;
}

/** The same instant as werift keeps it on a sender (`ntpTimestamp`). */
export function ntpBigInt(time: NtpTime): bigint {
  return (BigInt(time.seconds) << 32n) | BigInt(time.fraction);
}

export interface SenderReportFields {
  readonly ssrc: number;
  /** When the packet stamped `rtpTimestamp` was sent. */
  readonly ntp: NtpTime;
  readonly rtpTimestamp: number;
  readonly packetCount: number;
  readonly octetCount: number;
  /** With it, an SDES CNAME chunk follows the report in the same compound packet. */
  readonly cname?: string;
}

/** A compound RTCP packet: a sender report with no reception blocks (RFC 3550 §6.4.1), then SDES CNAME (§6.5). */
export function senderReport(fields: SenderReportFields): Buffer {
  const sr = Buffer.alloc(28);
  sr[0] = 0x80;
  sr[1] = RTCP_SR;
  sr.writeUInt16BE(6, 2);
  sr.writeUInt32BE(fields.ssrc >>> 0, 4);
  sr.writeUInt32BE(fields.ntp.seconds >>> 0, 8);
  sr.writeUInt32BE(fields.ntp.fraction >>> 0, 12);
  sr.writeUInt32BE(fields.rtpTimestamp >>> 0, 16);
  sr.writeUInt32BE(fields.packetCount >>> 0, 20);
  sr.writeUInt32BE(fields.octetCount >>> 0, 24);
  return fields.cname === undefined || fields.cname === ""
    ? sr
    : Buffer.concat([sr, sdesCname(fields.ssrc, fields.cname)]);
}
