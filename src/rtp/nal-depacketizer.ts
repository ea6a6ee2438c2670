import { H264 } from "./h264";
import { H265 } from "./h265";
import type { ParameterSetCodec } from "./parameter-set-store";
import { parseRtpHeader, rtpPayload } from "./rtp-packet";

/** Why an access unit's packets could not be turned into NAL units. */
export type DepacketizeError =
  | "bad-rtp" // not RTP version 2, or its lengths do not add up
  | "bad-aggregate" // a STAP-A / AP whose unit sizes overrun the packet
  | "bad-fragment" // an FU run that does not start, continue or end where it should, or skips a packet
  | "unsupported"; // STAP-B, MTAP, FU-B, PACI: not sent by cameras

export type DepacketizeResult =
  | { readonly ok: true; readonly nals: Buffer[] }
  | { readonly ok: false; readonly error: DepacketizeError };

interface Layout {
  readonly headerSize: number;
  type(first: number): number;
  readonly aggregate: number;
  readonly fragment: number;
  /** Single NAL unit packet types. */
  single(type: number): boolean;
  /** The NAL header a fragmentation unit stands for (RFC 6184 §5.8, RFC 7798 §4.4.3). */
  fragmentHeader(payload: Buffer): Buffer;
}

const H264_LAYOUT: Layout = {
  headerSize: 1,
  type: (first) => first & 0x1f,
  aggregate: H264.STAP_A,
  fragment: H264.FU_A,
  single: (type) => type >= 1 && type <= 23,
  fragmentHeader: (p) => Buffer.from([(p[0]! & 0xe0) | (p[1]! & 0x1f)]),
};

const H265_LAYOUT: Layout = {
  headerSize: 2,
  type: (first) => (first >> 1) & 0x3f,
  aggregate: H265.AP,
  fragment: H265.FU,
  single: (type) => type < H265.AP,
  fragmentHeader: (p) => Buffer.from([(p[0]! & 0x81) | ((p[2]! & 0x3f) << 1), p[1]!]),
};

const fail = (error: DepacketizeError): DepacketizeResult => ({ ok: false, error });

/**
 * The NAL units of one access unit's RTP packets (H.264: RFC 6184 single NAL unit, STAP-A, FU-A;
 * H.265: RFC 7798 single, AP, FU, without DONL as cameras send). Units are views on the packets'
 * bytes, except a fragmented unit, which is gathered into a Buffer of its own. Anything that does
 * not add up fails the whole unit: a decoder given part of a slice shows garbage until the next
 * keyframe, so the caller drops to it instead.
 */
export function depacketizeNals(codec: ParameterSetCodec, packets: readonly Buffer[]): DepacketizeResult {
  const layout = codec === "H264" ? H264_LAYOUT : H265_LAYOUT;
  const nals: Buffer[] = [];
  let fragments: Buffer[] | undefined;
  let nextSequence = -1;
  for (const packet of packets) {
    const header = parseRtpHeader(packet);
    if (header === undefined) return fail("bad-rtp");
    const payload = rtpPayload(packet, header);
    const inSequence = nextSequence < 0 || header.sequenceNumber === nextSequence;
    nextSequence = (header.sequenceNumber + 1) & 0xffff;
    if (payload.length < layout.headerSize) return fail("bad-rtp");
    const type = layout.type(payload[0]!);
    if (type === layout.fragment) {
      const fuHeaderAt = layout.headerSize;
      if (payload.length <= fuHeaderAt + 1) return fail("bad-fragment");
      const fuHeader = payload[fuHeaderAt]!;
      const start = (fuHeader & 0x80) !== 0;
      const end = (fuHeader & 0x40) !== 0;
      const body = payload.subarray(fuHeaderAt + 1);
      if (start) {
        if (fragments !== undefined || end) return fail("bad-fragment");
        fragments = [layout.fragmentHeader(payload), body];
      } else {
        if (fragments === undefined || !inSequence) return fail("bad-fragment");
        fragments.push(body);
      }
      if (end) {
        nals.push(Buffer.concat(fragments));
        fragments = undefined;
      }
      continue;
    }
    if (fragments !== undefined) return fail("bad-fragment");
    if (type === layout.aggregate) {
      const units = splitAggregate(payload, layout.headerSize);
      if (units === undefined) return fail("bad-aggregate");
      nals.push(...units);
    } else if (layout.single(type)) {
      nals.push(payload);
    } else {
      return fail("unsupported");
    }
  }
  if (fragments !== undefined) return fail("bad-fragment");
  return { ok: true, nals };
}

/** 16-bit size, then the unit; undefined when a size overruns the packet or is zero. */
function splitAggregate(payload: Buffer, headerSize: number): Buffer[] | undefined {
  const units: Buffer[] = [];
  let offset = headerSize;
  while (offset < payload.length) {
    if (offset + 2 > payload.length) return undefined;
    const size = payload.readUInt16BE(offset);
    offset += 2;
    if (size < headerSize || offset + size > payload.length) return undefined;
    units.push(payload.subarray(offset, offset + size));
    offset += size;
  }
  return units.length === 0 ? undefined : units;
}

const START_CODE = Buffer.from([0, 0, 0, 1]);

/** NAL units as one Annex-B buffer (4-byte start codes), in a single allocation. */
export function toAnnexB(nals: readonly Buffer[]): Buffer {
  const pieces: Buffer[] = [];
  for (const nal of nals) pieces.push(START_CODE, nal);
  return Buffer.concat(pieces);
}
