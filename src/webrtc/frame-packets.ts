import { parseRtpHeader } from "../rtp/rtp-packet";
import type { OutputFrame } from "./stream-normalizer";

/** One packet of a frame as every viewer sends it: parsed once per frame, shared by all viewers. */
export interface FramePacket {
  readonly wire: Buffer;
  /** The payload: a view into `wire`. */
  readonly payload: Buffer;
  readonly marker: boolean;
  readonly payloadType: number;
  /** Its RTP timestamp minus the frame's (audio frames may hold packets of several). */
  readonly timestampDelta: number;
}

const parsed = new WeakMap<OutputFrame, readonly FramePacket[]>();

/**
 * The frame's packets that carry a payload, parsed on the first call and kept as long as the frame
 * is. Once per stream, not per viewer: a parse and an object per packet per viewer, kept for NACKs,
 * would be promoted out of V8's young generation at tens of thousands a second, and at that rate
 * they keep V8 in back-to-back full collections.
 */
export function framePackets(frame: OutputFrame): readonly FramePacket[] {
  let packets = parsed.get(frame);
  if (packets === undefined) {
    const list: FramePacket[] = [];
    for (const wire of frame.packets) {
      const header = parseRtpHeader(wire);
      if (header === undefined || header.payloadLength === 0) continue;
      list.push({
        wire,
        payload: wire.subarray(header.payloadOffset, header.payloadOffset + header.payloadLength),
        marker: header.marker,
        payloadType: header.payloadType,
        timestampDelta: (header.timestamp - frame.timestamp) | 0,
      });
    }
    packets = list;
    parsed.set(frame, packets);
  }
  return packets;
}
