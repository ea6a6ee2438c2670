import { H264 } from "./h264";
import { H265 } from "./h265";
import type { ParameterSetCodec } from "./parameter-set-store";

/**
 * Builds outgoing RTP packets (RFC 3550): V=2, no padding, no CSRC, no header extension, one SSRC
 * (0 by default: each WebRTC sender writes its own), one sequence space. Every packet is one
 * allocation holding a fresh 12-byte header and its payload, copied once from the source.
 */

export const RTP_HEADER_SIZE = 12;

/** FU header bits (RFC 6184 §5.8 FU-A, RFC 7798 §4.4.3 FU): start and end of the fragmented NAL unit. */
export const FU_START = 0x80;
export const FU_END = 0x40;

/**
 * What precedes each fragment of one fragmented NAL unit: the FU indicator (H.264, 1 byte) or the
 * FU payload header (H.265, 2 bytes, as `byte0 << 8 | byte1`), then an FU header carrying `fuType`.
 */
export interface FuPrefix {
  readonly bytes: number;
  readonly length: 1 | 2;
  /** The fragmented NAL unit's type: 5 bits (H.264) or 6 bits (H.265). */
  readonly fuType: number;
}

/**
 * The FU prefix of a NAL unit (at least its header: 1 byte H.264, 2 bytes H.265): FU-A indicator
 * with the unit's F and NRI bits (RFC 6184 §5.8), or FU payload header with its F, LayerId and TID
 * (RFC 7798 §4.4.3); and the number of header bytes the fragments leave out.
 */
function fuPrefixOf(codec: ParameterSetCodec, nal: Buffer): { prefix: FuPrefix; headerLength: number } {
  const first = nal[0]!;
  if (codec === "H264") {
    return {
      prefix: { bytes: (first & 0xe0) | H264.FU_A, length: 1, fuType: first & 0x1f },
      headerLength: 1,
    };
  }
  const bytes = (((first & 0x81) | (H265.FU << 1)) << 8) | nal[1]!;
  return { prefix: { bytes, length: 2, fuType: (first >> 1) & 0x3f }, headerLength: 2 };
}

/**
 * Bytes fragments() can cut: a Buffer, or a NAL unit's body spread over the source packets it came
 * in (FuRun), copied out piece by piece with Buffer.copy's contract.
 */
export interface FragmentBody {
  readonly length: number;
  copy(target: Uint8Array, targetStart: number, sourceStart: number, sourceEnd: number): number;
}

export interface RtpWriterOptions {
  /** 0..2^32-1, written on every packet. Default 0. */
  readonly ssrc?: number;
  /**
   * True: each packet owns its memory (Buffer.allocUnsafeSlow), so that one kept pins no other.
   * Default false: packets up to 4 KiB are slices of Node's shared pool, much cheaper to make.
   */
  readonly ownMemory?: boolean;
}

export class RtpWriter {
  readonly ssrc: number;
  private readonly ownMemory: boolean;
  private sequence: number;

  /**
   * @param payloadType 0..127, written on every packet
   * @param initialSequence sequence number of the first packet (taken modulo 2^16)
   */
  constructor(
    public payloadType: number,
    initialSequence: number,
    options: RtpWriterOptions = {},
  ) {
    this.ssrc = options.ssrc ?? 0;
    this.ownMemory = options.ownMemory ?? false;
    this.sequence = initialSequence & 0xffff;
  }

  /** Sequence number the next packet will carry. */
  get nextSequence(): number {
    return this.sequence;
  }

  /** Takes back the packets built since `nextSequence` was read, which will not be sent: no gap. */
  rewind(nextSequence: number): void {
    this.sequence = nextSequence & 0xffff;
  }

  /** Appends one packet carrying `payload` (copied) to `out`. */
  packet(out: Buffer[], payload: Buffer, timestamp: number, marker: boolean): void {
    const packet = this.allocate(RTP_HEADER_SIZE + payload.length);
    this.writeHeader(packet, timestamp, marker);
    payload.copy(packet, RTP_HEADER_SIZE);
    out.push(packet);
  }

  /**
   * Appends a whole NAL unit (header included, no start code) to `out`: one packet when it fits in
   * `maxPayload` bytes (at least 3 for H.264, 4 for H.265: an FU header and a
   * byte), else FU-A (H.264) / FU (H.265) fragments. An empty NAL unit
   * gives no packet. Returns the number of packets appended; none carries the marker bit.
   */
  nalUnit(
    out: Buffer[],
    codec: ParameterSetCodec,
    nal: Buffer,
    timestamp: number,
    maxPayload: number,
  ): number {
    if (nal.length === 0) return 0;
    if (nal.length <= maxPayload) {
      this.packet(out, nal, timestamp, false);
      return 1;
    }
    const { prefix, headerLength } = fuPrefixOf(codec, nal);
    return this.fragments(out, prefix, true, true, nal.subarray(headerLength), timestamp, maxPayload);
  }

  /**
   * Appends FU fragments of `body` (the fragmented NAL unit's bytes after its header, as one Buffer
   * or gathered from the source fragments it came in: FuRun) to `out`, each at most `maxPayload`
   * bytes of payload. The first fragment carries the S bit when `start` is set, the last the E bit
   * when `end` is set (a run that reached the access unit's end without its end fragment has none).
   * Greedy cuts: every fragment but the last is full. Returns the number of packets appended.
   */
  fragments(
    out: Buffer[],
    prefix: FuPrefix,
    start: boolean,
    end: boolean,
    body: FragmentBody,
    timestamp: number,
    maxPayload: number,
  ): number {
    const overhead = prefix.length + 1;
    const chunk = Math.max(1, maxPayload - overhead);
    let count = 0;
    let offset = 0;
    do {
      const stop = Math.min(offset + chunk, body.length);
      const packet = this.allocate(RTP_HEADER_SIZE + overhead + stop - offset);
      this.writeHeader(packet, timestamp, false);
      let at = RTP_HEADER_SIZE;
      if (prefix.length === 2) packet[at++] = prefix.bytes >> 8;
      packet[at++] = prefix.bytes & 0xff;
      packet[at++] =
        (start && offset === 0 ? FU_START : 0) | (end && stop === body.length ? FU_END : 0) | prefix.fuType;
      body.copy(packet, at, offset, stop);
      out.push(packet);
      count++;
      offset = stop;
    } while (offset < body.length);
    return count;
  }

  private allocate(size: number): Buffer {
    return this.ownMemory ? Buffer.allocUnsafeSlow(size) : Buffer.allocUnsafe(size);
  }

  private writeHeader(packet: Buffer, timestamp: number, marker: boolean): void {
    const sequence = this.sequence;
    packet[0] = 0x80;
    packet[1] = marker ? 0x80 | this.payloadType : this.payloadType;
    packet[2] = sequence >> 8;
    packet[3] = sequence & 0xff;
    packet.writeUInt32BE(timestamp >>> 0, 4);
    packet.writeUInt32BE(this.ssrc, 8);
    this.sequence = (sequence + 1) & 0xffff;
  }
}

/** Sets the marker bit of a packet this writer built (the last packet of a video frame). */
export function setMarker(packet: Buffer): void {
  packet[1] = (packet[1] ?? 0) | 0x80;
}
