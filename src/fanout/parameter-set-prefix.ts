import { h264PayloadNalTypes } from "../rtp/h264";
import { h265PayloadNalTypes } from "../rtp/h265";
import type { ParameterSetCodec, ParameterSetStore } from "../rtp/parameter-set-store";
import { parseRtpHeader, rtpPayload } from "../rtp/rtp-packet";
import { RTP_HEADER_SIZE } from "../rtp/rtp-writer";

/** Largest payload of an inserted packet: a 1200-byte RTP packet, as every relayed one (to fit the MTU). */
const MAX_PAYLOAD = 1200 - RTP_HEADER_SIZE;

function nalTypesOf(codec: ParameterSetCodec, payload: Buffer): number[] {
  return codec === "H264" ? h264PayloadNalTypes(payload) : h265PayloadNalTypes(payload);
}

/**
 * A keyframe's packets preceded by the parameter sets it does not carry in-band, so that whoever
 * starts at it can decode it without the SDP. The inserted packets copy the first packet's payload
 * type, timestamp and SSRC and take the sequence numbers just before it (one aggregation packet, or
 * one packet per set when they do not fit in one), which the frame's receiver has not seen: it starts
 * here. Undefined when nothing needs inserting or nothing is known to insert.
 */
export function withParameterSets(
  packets: readonly Buffer[],
  store: ParameterSetStore,
): Buffer[] | undefined {
  const first = packets[0];
  const header = first === undefined ? undefined : parseRtpHeader(first);
  if (first === undefined || header === undefined) return undefined;
  let present = 0;
  for (const packet of packets) {
    const h = packet === first ? header : parseRtpHeader(packet);
    if (h === undefined) continue;
    for (const type of nalTypesOf(store.codec, rtpPayload(packet, h))) {
      const index = store.indexOf(type);
      if (index >= 0) present |= 1 << index;
    }
  }
  if (present === store.completeMask || store.sets.length === 0) return undefined;

  const aggregate = store.aggregate(MAX_PAYLOAD);
  const payloads = aggregate ? [aggregate] : store.sets.filter((nal) => nal.length <= MAX_PAYLOAD);
  const inserted = payloads.map((payload, i) => {
    const packet = Buffer.allocUnsafe(RTP_HEADER_SIZE + payload.length);
    packet[0] = 0x80;
    packet[1] = header.payloadType;
    packet.writeUInt16BE((header.sequenceNumber - payloads.length + i) & 0xffff, 2);
    packet.writeUInt32BE(header.timestamp, 4);
    packet.writeUInt32BE(header.ssrc, 8);
    payload.copy(packet, RTP_HEADER_SIZE);
    return packet;
  });
  return [...inserted, ...packets];
}
