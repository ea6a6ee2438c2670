import { parseRtpHeader, rtpPayload } from "../rtp/rtp-packet";

/** Video codecs a snapshot can be made of. */
export type SnapshotCodec = "H264" | "H265";

export const START_CODE = Buffer.from([0, 0, 0, 1]);

const H264_STAP_A = 24;
const H264_FU_A = 28;
const H265_AP = 48;
const H265_FU = 49;

/** A NAL unit being rebuilt from fragments, and the sequence number its next fragment must carry. */
interface FragmentRun {
  readonly parts: Buffer[];
  nextSequence: number;
}

/**
 * The NAL units of one access unit's RTP packets (RFC 6184 H.264 single, STAP-A, FU-A; RFC 7798 H.265
 * single, AP, FU; no DONL, as cameras send with sprop-max-don-diff 0), without start codes, in order.
 * What cannot be rebuilt whole (a fragment lost, a truncated aggregate, STAP-B, MTAP, PACI) is left
 * out: a decoder conceals a missing slice, but a slice with a hole in it can derail it.
 */
export function depacketize(packets: readonly Buffer[], codec: SnapshotCodec): Buffer[] {
  const nals: Buffer[] = [];
  let run: FragmentRun | undefined;
  for (const packet of packets) {
    const header = parseRtpHeader(packet);
    if (header === undefined) continue;
    const payload = rtpPayload(packet, header);
    const fragment = codec === "H264" ? h264Fragment(payload) : h265Fragment(payload);
    if (fragment !== undefined) {
      if (fragment.start) {
        run = { parts: [fragment.header, fragment.body], nextSequence: header.sequenceNumber };
      } else if (run === undefined || header.sequenceNumber !== run.nextSequence) {
        run = undefined;
        continue;
      } else {
        run.parts.push(fragment.body);
      }
      run.nextSequence = (header.sequenceNumber + 1) & 0xffff;
      if (fragment.end) {
        nals.push(Buffer.concat(run.parts));
        run = undefined;
      }
      continue;
    }
    run = undefined;
    const aggregated = codec === "H264" ? h264Aggregate(payload) : h265Aggregate(payload);
    if (aggregated !== undefined) nals.push(...aggregated);
    else if (isSingleNal(payload, codec)) nals.push(payload);
  }
  return nals;
}

/** Each NAL unit behind a 4-byte start code: an Annex-B byte stream as ffmpeg's h264/hevc demuxers read it. */
export function annexB(nals: readonly Buffer[]): Buffer[] {
  const chunks: Buffer[] = [];
  for (const nal of nals) chunks.push(START_CODE, nal);
  return chunks;
}

interface Fragment {
  readonly start: boolean;
  readonly end: boolean;
  /** The rebuilt NAL unit header (only used on the start fragment). */
  readonly header: Buffer;
  readonly body: Buffer;
}

function h264Fragment(payload: Buffer): Fragment | undefined {
  if (payload.length < 3 || (payload[0]! & 0x1f) !== H264_FU_A) return undefined;
  const indicator = payload[0]!;
  const fu = payload[1]!;
  return {
    start: (fu & 0x80) !== 0,
    end: (fu & 0x40) !== 0,
    header: Buffer.from([(indicator & 0xe0) | (fu & 0x1f)]),
    body: payload.subarray(2),
  };
}

function h265Fragment(payload: Buffer): Fragment | undefined {
  if (payload.length < 4 || ((payload[0]! >> 1) & 0x3f) !== H265_FU) return undefined;
  const fu = payload[2]!;
  return {
    start: (fu & 0x80) !== 0,
    end: (fu & 0x40) !== 0,
    header: Buffer.from([(payload[0]! & 0x81) | ((fu & 0x3f) << 1), payload[1]!]),
    body: payload.subarray(3),
  };
}

/** The NAL units of an aggregation packet; undefined when the payload is not one, [] when it is truncated. */
function aggregateUnits(payload: Buffer, headerLength: number): Buffer[] {
  const nals: Buffer[] = [];
  let offset = headerLength;
  while (offset + 2 <= payload.length) {
    const size = payload.readUInt16BE(offset);
    offset += 2;
    if (size === 0 || offset + size > payload.length) return [];
    nals.push(payload.subarray(offset, offset + size));
    offset += size;
  }
  return nals;
}

function h264Aggregate(payload: Buffer): Buffer[] | undefined {
  if (payload.length < 1 || (payload[0]! & 0x1f) !== H264_STAP_A) return undefined;
  return aggregateUnits(payload, 1);
}

function h265Aggregate(payload: Buffer): Buffer[] | undefined {
  if (payload.length < 2 || ((payload[0]! >> 1) & 0x3f) !== H265_AP) return undefined;
  return aggregateUnits(payload, 2);
}

/** H.264 types 1..23 and H.265 types 0..47 travel as they are; the rest are packetization formats. */
function isSingleNal(payload: Buffer, codec: SnapshotCodec): boolean {
  if (codec === "H264") {
    const type = (payload[0] ?? 0) & 0x1f;
    return payload.length >= 1 && type >= 1 && type <= 23;
  }
  return payload.length >= 2 && ((payload[0]! >> 1) & 0x3f) <= 47;
}
