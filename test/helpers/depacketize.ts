// RTP → Annex-B for tests, written from RFC 3550 / 6184 / 7798 and independent of src/: a test
// helper that shared the product's parser would share its bugs too.

export interface RtpPacket {
  readonly payloadType: number;
  readonly marker: boolean;
  readonly sequenceNumber: number;
  readonly timestamp: number;
  readonly ssrc: number;
  readonly payload: Buffer;
}

/** Thrown on a packet these helpers cannot read: a test should fail on it, not skip it. */
export class MalformedRtpError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MalformedRtpError";
  }
}

const START_CODE = Buffer.from([0, 0, 0, 1]);

/** RFC 3550 §5.1: fixed header, CSRC list, header extension, padding. */
export function parseRtp(packet: Buffer): RtpPacket {
  if (packet.length < 12) throw new MalformedRtpError(`RTP packet of ${packet.length} bytes`);
  const first = packet.readUInt8(0);
  if (first >> 6 !== 2) throw new MalformedRtpError(`RTP version ${first >> 6}`);
  const csrcCount = first & 0x0f;
  let offset = 12 + 4 * csrcCount;
  if ((first & 0x10) !== 0) {
    if (packet.length < offset + 4) throw new MalformedRtpError("truncated header extension");
    offset += 4 + 4 * packet.readUInt16BE(offset + 2);
  }
  let end = packet.length;
  if ((first & 0x20) !== 0) end -= packet.readUInt8(packet.length - 1);
  if (end < offset) throw new MalformedRtpError("header and padding longer than the packet");
  const second = packet.readUInt8(1);
  return {
    payloadType: second & 0x7f,
    marker: (second & 0x80) !== 0,
    sequenceNumber: packet.readUInt16BE(2),
    timestamp: packet.readUInt32BE(4),
    ssrc: packet.readUInt32BE(8),
    payload: packet.subarray(offset, end),
  };
}

/** Two-byte-length-prefixed units (STAP-A after its header; H.265 AP after its header, no DONL). */
function splitAggregate(units: Buffer): Buffer[] {
  const nals: Buffer[] = [];
  let offset = 0;
  while (offset + 2 <= units.length) {
    const size = units.readUInt16BE(offset);
    offset += 2;
    if (size === 0 || offset + size > units.length) throw new MalformedRtpError("bad aggregation unit size");
    nals.push(units.subarray(offset, offset + size));
    offset += size;
  }
  if (offset !== units.length) throw new MalformedRtpError("trailing bytes in aggregation packet");
  return nals;
}

interface Codec {
  readonly headerSize: number;
  type(nal: Buffer): number;
  readonly aggregate: number;
  readonly fragment: number;
  /** The reassembled NAL header from the FU indicator / payload header and the FU header. */
  fragmentHeader(payload: Buffer): Buffer;
  readonly fuHeaderOffset: number;
  /** A type carried as a single NAL unit packet. */
  single(type: number): boolean;
}

const H264: Codec = {
  headerSize: 1,
  type: (nal) => nal.readUInt8(0) & 0x1f,
  aggregate: 24,
  fragment: 28,
  fuHeaderOffset: 1,
  single: (type) => type >= 1 && type <= 23,
  fragmentHeader: (p) => Buffer.from([(p.readUInt8(0) & 0xe0) | (p.readUInt8(1) & 0x1f)]),
};

const H265: Codec = {
  headerSize: 2,
  type: (nal) => (nal.readUInt8(0) >> 1) & 0x3f,
  aggregate: 48,
  fragment: 49,
  fuHeaderOffset: 2,
  single: (type) => type < 48,
  fragmentHeader: (p) =>
    Buffer.from([(p.readUInt8(0) & 0x81) | ((p.readUInt8(2) & 0x3f) << 1), p.readUInt8(1)]),
};

function nalUnits(packets: readonly Buffer[], codec: Codec, name: string): Buffer[] {
  const nals: Buffer[] = [];
  let fragments: Buffer[] | undefined;
  let expectedSequence: number | undefined;
  for (const wire of packets) {
    const rtp = parseRtp(wire);
    const p = rtp.payload;
    // A lost fragment spoils its NAL unit: drop it rather than hand a decoder garbage.
    if (expectedSequence !== undefined && rtp.sequenceNumber !== expectedSequence) fragments = undefined;
    expectedSequence = (rtp.sequenceNumber + 1) & 0xffff;
    if (p.length < codec.headerSize) throw new MalformedRtpError(`${name} payload of ${p.length} bytes`);
    const type = codec.type(p);
    if (type === codec.aggregate) {
      fragments = undefined;
      nals.push(...splitAggregate(p.subarray(codec.headerSize)));
    } else if (type === codec.fragment) {
      const fuHeader = p.readUInt8(codec.fuHeaderOffset);
      const body = p.subarray(codec.fuHeaderOffset + 1);
      if ((fuHeader & 0x80) !== 0) fragments = [codec.fragmentHeader(p), body];
      else fragments?.push(body);
      if ((fuHeader & 0x40) !== 0 && fragments !== undefined) {
        nals.push(Buffer.concat(fragments));
        fragments = undefined;
      }
    } else if (codec.single(type)) {
      fragments = undefined;
      nals.push(p);
    } else {
      throw new MalformedRtpError(`${name} packet type ${type} is not supported`);
    }
  }
  return nals;
}

/** NAL units (no start codes) of H.264 RTP packets: single NAL, STAP-A, FU-A (RFC 6184). */
export function h264NalUnits(packets: readonly Buffer[]): Buffer[] {
  return nalUnits(packets, H264, "H.264");
}

/** NAL units (no start codes) of H.265 RTP packets: single NAL, AP, FU (RFC 7798, no DONL). */
export function h265NalUnits(packets: readonly Buffer[]): Buffer[] {
  return nalUnits(packets, H265, "H.265");
}

export function h264NalType(nal: Buffer): number {
  return H264.type(nal);
}

export function h265NalType(nal: Buffer): number {
  return H265.type(nal);
}

/** An Annex-B elementary stream: each NAL unit behind a 4-byte start code. */
export function annexB(nals: readonly Buffer[]): Buffer {
  return Buffer.concat(nals.flatMap((nal) => [START_CODE, nal]));
}

export interface DepacketizeOptions {
  /** NAL units to put first, e.g. the SDP's sprop-parameter-sets for a camera that sends them nowhere else. */
  readonly prepend?: readonly Buffer[];
}

export function depacketizeH264(packets: readonly Buffer[], opts: DepacketizeOptions = {}): Buffer {
  return annexB([...(opts.prepend ?? []), ...h264NalUnits(packets)]);
}

export function depacketizeH265(packets: readonly Buffer[], opts: DepacketizeOptions = {}): Buffer {
  return annexB([...(opts.prepend ?? []), ...h265NalUnits(packets)]);
}
