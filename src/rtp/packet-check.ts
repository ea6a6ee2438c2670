import { H264 } from "./h264";
import { H265 } from "./h265";
import { parseRtpHeader } from "./rtp-packet";
import { FU_END, FU_START } from "./rtp-writer";
import type { CodecName } from "./stream-info";

export interface CheckedPackets<T extends readonly Buffer[]> {
  /** The packets kept, in order; the very array given when none was dropped. */
  readonly packets: T | Buffer[];
  readonly malformed: number;
}

type Shape =
  | { readonly kind: "nal" }
  | { readonly kind: "fragment"; readonly start: boolean; readonly end: boolean; readonly type: number }
  | { readonly kind: "bad" };

const NAL: Shape = { kind: "nal" };
const BAD: Shape = { kind: "bad" };

/** STAP-A / AP: at least one unit, each with a whole NAL header, none running past the end. */
function aggregateIsWhole(payload: Buffer, headerLength: number): boolean {
  let offset = headerLength;
  while (offset < payload.length) {
    if (offset + 2 > payload.length) return false;
    const size = payload.readUInt16BE(offset);
    if (size < headerLength) return false;
    offset += 2 + size;
    if (offset > payload.length) return false;
  }
  return offset > headerLength;
}

function h264Shape(payload: Buffer): Shape {
  const type = payload[0]! & 0x1f;
  if (type === H264.STAP_A) return aggregateIsWhole(payload, 1) ? NAL : BAD;
  if (type !== H264.FU_A) return NAL;
  if (payload.length < 3) return BAD; // indicator, header and at least one byte of NAL unit
  const fu = payload[1]!;
  return { kind: "fragment", start: (fu & FU_START) !== 0, end: (fu & FU_END) !== 0, type: fu & 0x1f };
}

function h265Shape(payload: Buffer): Shape {
  if (payload.length < 2) return BAD;
  const type = (payload[0]! >> 1) & 0x3f;
  if (type === H265.AP) return aggregateIsWhole(payload, 2) ? NAL : BAD;
  if (type !== H265.FU) return NAL;
  if (payload.length < 4) return BAD;
  const fu = payload[2]!;
  return { kind: "fragment", start: (fu & FU_START) !== 0, end: (fu & FU_END) !== 0, type: fu & 0x3f };
}

function shapeOf(codec: CodecName | undefined): ((payload: Buffer) => Shape) | undefined {
  if (codec === "H264") return h264Shape;
  if (codec === "H265") return h265Shape;
  return undefined;
}

/**
 * The packets of one access unit that a decoder can use. Dropped (and counted): packets that are
 * not RTP version 2 or whose header, CSRCs, extension or padding run past the end; empty payloads;
 * for H.264 / H.265, aggregation packets whose unit lengths run past the end, fragmentation units
 * too short to carry a byte of NAL unit, and every fragment of a NAL unit that cannot be rebuilt:
 * continuations without a start (or of another NAL type, or after a lost packet) and starts whose
 * NAL unit never ends (another NAL unit or start comes before its end; one still open at the end of
 * the access unit is kept).
 * Passing such fragments on would make a browser's depacketizer glue them onto the NAL unit before.
 */
export function dropMalformedPackets<T extends readonly Buffer[]>(
  packets: T,
  codec?: CodecName,
): CheckedPackets<T> {
  const shape = shapeOf(codec);
  let bad: Uint8Array | undefined;
  let malformed = 0;
  const drop = (index: number) => {
    bad ??= new Uint8Array(packets.length);
    if (bad[index] === 1) return;
    bad[index] = 1;
    malformed++;
  };
  /** Indices of the fragments of the NAL unit being rebuilt, and the sequence number expected next. */
  let open: { type: number; indices: number[]; nextSequence: number } | undefined;
  const abandon = () => {
    if (open) for (const index of open.indices) drop(index);
    open = undefined;
  };

  for (let i = 0; i < packets.length; i++) {
    const packet = packets[i]!;
    const header = parseRtpHeader(packet);
    if (header === undefined || header.payloadLength === 0) {
      drop(i);
      abandon();
      continue;
    }
    if (shape === undefined) continue;
    const what = shape(packet.subarray(header.payloadOffset, header.payloadOffset + header.payloadLength));
    if (what.kind === "bad") {
      drop(i);
      abandon();
      continue;
    }
    if (what.kind === "nal") {
      abandon();
      continue;
    }
    if (what.start) {
      abandon();
      open = { type: what.type, indices: [i], nextSequence: (header.sequenceNumber + 1) & 0xffff };
    } else if (open && open.type === what.type && open.nextSequence === header.sequenceNumber) {
      open.indices.push(i);
      open.nextSequence = (header.sequenceNumber + 1) & 0xffff;
    } else {
      drop(i);
      abandon();
      continue;
    }
    if (what.end) open = undefined;
  }
  // A NAL unit still open here is kept: cameras that forget the end bit still end the frame there,
  // and the assembler may have cut a huge frame at its bounds, the rest following in the next unit.

  if (bad === undefined) return { packets, malformed: 0 };
  const flags = bad;
  return { packets: packets.filter((_, i) => flags[i] === 0), malformed };
}
