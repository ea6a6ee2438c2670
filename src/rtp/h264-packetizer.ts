/**
 * RFC 6184 packetization-mode 1, sender side: a single NAL unit packet when a NAL unit fits,
 * FU-A fragments when it does not. No STAP-A: every packet carries one NAL unit or a part of one.
 */

const RTP_HEADER_SIZE = 12;
const FU_A_TYPE = 28;
const FU_A_OVERHEAD = 2;

/** 1200-byte RTP packets: what fits a WebRTC path MTU with room for SRTP and tunnels. */
export const DEFAULT_MAX_PAYLOAD_SIZE = 1188;

export interface H264PacketizerOptions {
  /** 0..127 */
  readonly payloadType: number;
  /** 0..2^32-1 */
  readonly ssrc: number;
  /** Largest RTP payload in bytes, at least 3 (an FU-A must carry a byte). Default 1188. */
  readonly maxPayloadSize?: number;
  /** Sequence number of the first packet, 0..65535. Default 0. */
  readonly initialSequence?: number;
}

/** One RTP payload cut from a NAL unit: `nal[start, end)`, behind an FU-A indicator and header when set. */
interface PayloadSlice {
  readonly fuA?: { readonly indicator: number; readonly header: number };
  readonly start: number;
  readonly end: number;
}

function payloadSlices(nal: Buffer, maxPayloadSize: number): PayloadSlice[] {
  const nalHeader = nal[0];
  if (nalHeader === undefined) return [];
  if (nal.length <= maxPayloadSize) return [{ start: 0, end: nal.length }];
  const indicator = (nalHeader & 0xe0) | FU_A_TYPE;
  const type = nalHeader & 0x1f;
  const chunk = maxPayloadSize - FU_A_OVERHEAD;
  const slices: PayloadSlice[] = [];
  for (let start = 1; start < nal.length; start += chunk) {
    const end = Math.min(start + chunk, nal.length);
    const header = (start === 1 ? 0x80 : 0) | (end === nal.length ? 0x40 : 0) | type;
    slices.push({ fuA: { indicator, header }, start, end });
  }
  return slices;
}

function payloadSize(slice: PayloadSlice): number {
  return (slice.fuA ? FU_A_OVERHEAD : 0) + slice.end - slice.start;
}

function writePayload(target: Buffer, offset: number, nal: Buffer, slice: PayloadSlice): void {
  let at = offset;
  if (slice.fuA) {
    target[at++] = slice.fuA.indicator;
    target[at++] = slice.fuA.header;
  }
  nal.copy(target, at, slice.start, slice.end);
}

/**
 * RTP payloads for one NAL unit (without start code): the NAL unit itself when it fits in
 * maxPayloadSize, otherwise FU-A fragments (RFC 6184 5.8) that keep its F and NRI bits.
 * An empty NAL unit gives no payload. Each returned Buffer owns exactly its bytes.
 */
export function h264Payloads(nal: Buffer, maxPayloadSize: number = DEFAULT_MAX_PAYLOAD_SIZE): Buffer[] {
  return payloadSlices(nal, Math.max(maxPayloadSize, FU_A_OVERHEAD + 1)).map((slice) => {
    const payload = Buffer.alloc(payloadSize(slice));
    writePayload(payload, 0, nal, slice);
    return payload;
  });
}

function checkInteger(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`H264Packetizer: ${name} must be an integer in ${min}..${max}, got ${value}`);
  }
}

export class H264Packetizer {
  readonly payloadType: number;
  readonly ssrc: number;
  readonly maxPayloadSize: number;
  private sequence: number;

  /** @throws RangeError when an option is out of range. */
  constructor(opts: H264PacketizerOptions) {
    const maxPayloadSize = opts.maxPayloadSize ?? DEFAULT_MAX_PAYLOAD_SIZE;
    const initialSequence = opts.initialSequence ?? 0;
    checkInteger("payloadType", opts.payloadType, 0, 127);
    checkInteger("ssrc", opts.ssrc, 0, 0xffffffff);
    checkInteger("maxPayloadSize", maxPayloadSize, FU_A_OVERHEAD + 1, 65535 - RTP_HEADER_SIZE);
    checkInteger("initialSequence", initialSequence, 0, 65535);
    this.payloadType = opts.payloadType;
    this.ssrc = opts.ssrc;
    this.maxPayloadSize = maxPayloadSize;
    this.sequence = initialSequence;
  }

  /** Sequence number the next packet will carry. */
  get nextSequence(): number {
    return this.sequence;
  }

  /**
   * RTP packets for NAL units (without start codes), in order, all with `timestamp` (taken modulo
   * 2^32). The marker bit goes on the last packet when `marker` is true: the default, for NAL units
   * that end an access unit. Empty NAL units are skipped. Each returned Buffer owns exactly its bytes.
   */
  packetize(nals: readonly Buffer[], timestamp: number, marker = true): Buffer[] {
    const cuts = nals.flatMap((nal) =>
      payloadSlices(nal, this.maxPayloadSize).map((slice) => ({ nal, slice })),
    );
    const whole = Number.isFinite(timestamp) ? Math.floor(timestamp) : 0;
    const rtpTimestamp = ((whole % 0x100000000) + 0x100000000) % 0x100000000;
    return cuts.map(({ nal, slice }, index) => {
      const last = marker && index === cuts.length - 1;
      const packet = Buffer.alloc(RTP_HEADER_SIZE + payloadSize(slice));
      packet[0] = 0x80;
      packet[1] = (last ? 0x80 : 0) | this.payloadType;
      packet.writeUInt16BE(this.sequence, 2);
      packet.writeUInt32BE(rtpTimestamp, 4);
      packet.writeUInt32BE(this.ssrc, 8);
      writePayload(packet, RTP_HEADER_SIZE, nal, slice);
      this.sequence = (this.sequence + 1) & 0xffff;
      return packet;
    });
  }
}
