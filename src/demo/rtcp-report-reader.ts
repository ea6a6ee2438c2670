/**
 * Reads what an RTP receiver sends back to a camera: compound RTCP packets (RFC 3550 6.1) made of
 * receiver or sender reports with their report blocks (6.4.1, 6.4.2) and SDES CNAME (6.5.1).
 */

import { RTCP_RR, RTCP_SDES, RTCP_SR, SDES_CNAME, SDES_END } from "../rtp/rtcp-packet";

/** What a receiver says about one source it receives (RFC 3550 6.4.1). */
export interface RtcpReportBlock {
  /** SSRC of the source this block is about. */
  readonly ssrc: number;
  /** Packets lost since the previous report, as a fraction of 256. */
  readonly fractionLost: number;
  /** Packets lost since reception began (signed 24 bits: duplicates can make it negative). */
  readonly cumulativeLost: number;
  /** Sequence-number cycles << 16 | highest sequence number received. */
  readonly extendedHighestSequence: number;
  /** Interarrival jitter in timestamp units. */
  readonly jitter: number;
  /** Middle 32 bits of the NTP timestamp of the last sender report received, 0 when none. */
  readonly lastSenderReport: number;
  /** Since that sender report, in 1/65536 s; 0 when none. */
  readonly delaySinceLastSenderReport: number;
}

export interface RtcpReport {
  readonly type: "SR" | "RR";
  /** SSRC of the reporter. */
  readonly ssrc: number;
  readonly blocks: readonly RtcpReportBlock[];
}

export interface RtcpCompound {
  /** Payload types of the packets in the compound, in order. */
  readonly packetTypes: readonly number[];
  readonly reports: readonly RtcpReport[];
  /** CNAME of each SSRC described by an SDES packet. */
  readonly cnames: ReadonlyMap<number, string>;
}

function readBlock(packet: Buffer, at: number): RtcpReportBlock {
  return {
    ssrc: packet.readUInt32BE(at),
    fractionLost: packet[at + 4]!,
    cumulativeLost: packet.readIntBE(at + 5, 3),
    extendedHighestSequence: packet.readUInt32BE(at + 8),
    jitter: packet.readUInt32BE(at + 12),
    lastSenderReport: packet.readUInt32BE(at + 16),
    delaySinceLastSenderReport: packet.readUInt32BE(at + 20),
  };
}

/** Report of an SR or RR packet spanning [start, end); undefined when its report count overruns it. */
function readReport(packet: Buffer, start: number, end: number, type: "SR" | "RR"): RtcpReport | undefined {
  const count = packet[start]! & 0x1f;
  const first = start + (type === "SR" ? 28 : 8);
  if (first + count * 24 > end) return undefined;
  const blocks: RtcpReportBlock[] = [];
  for (let i = 0; i < count; i++) blocks.push(readBlock(packet, first + i * 24));
  return { type, ssrc: packet.readUInt32BE(start + 4), blocks };
}

/** Adds the CNAMEs of an SDES packet spanning [start, end); false when a chunk overruns it. */
function readCnames(packet: Buffer, start: number, end: number, cnames: Map<number, string>): boolean {
  const chunks = packet[start]! & 0x1f;
  let at = start + 4;
  for (let chunk = 0; chunk < chunks; chunk++) {
    if (at + 4 > end) return false;
    const ssrc = packet.readUInt32BE(at);
    at += 4;
    for (;;) {
      if (at >= end) return false;
      const itemType = packet[at]!;
      if (itemType === SDES_END) break;
      if (at + 2 > end) return false;
      const length = packet[at + 1]!;
      if (at + 2 + length > end) return false;
      if (itemType === SDES_CNAME) cnames.set(ssrc, packet.toString("utf8", at + 2, at + 2 + length));
      at += 2 + length;
    }
    // The end item, then null octets up to the next 32-bit boundary.
    at = start + Math.ceil((at + 1 - start) / 4) * 4;
  }
  return true;
}

/**
 * Parses one compound RTCP packet; undefined when it is not valid RTCP (RFC 3550 A.2: version 2,
 * an SR or RR first, lengths that add up exactly, padding only in the last packet, reports that fit).
 */
export function parseRtcpCompound(packet: Buffer): RtcpCompound | undefined {
  const packetTypes: number[] = [];
  const reports: RtcpReport[] = [];
  const cnames = new Map<number, string>();
  let offset = 0;
  while (offset < packet.length) {
    if (offset + 4 > packet.length) return undefined;
    const first = packet[offset]!;
    const type = packet[offset + 1]!;
    const end = offset + (packet.readUInt16BE(offset + 2) + 1) * 4;
    if (first >> 6 !== 2 || end > packet.length) return undefined;
    if (offset === 0 && type !== RTCP_SR && type !== RTCP_RR) return undefined;
    const padded = (first & 0x20) !== 0;
    if (padded && end !== packet.length) return undefined;
    const bodyEnd = padded ? end - (packet[end - 1] ?? 0) : end;
    if (bodyEnd < offset + 4) return undefined;
    if (type === RTCP_SR || type === RTCP_RR) {
      if (bodyEnd < offset + 8) return undefined;
      const report = readReport(packet, offset, bodyEnd, type === RTCP_SR ? "SR" : "RR");
      if (!report) return undefined;
      reports.push(report);
    } else if (type === RTCP_SDES) {
      if (!readCnames(packet, offset, bodyEnd, cnames)) return undefined;
    }
    packetTypes.push(type);
    offset = end;
  }
  return packetTypes.length === 0 ? undefined : { packetTypes, reports, cnames };
}
