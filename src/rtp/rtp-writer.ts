/**
 * Builds a relay's outgoing RTP packets (RFC 3550): V=2, no padding, no CSRC, no header extension,
 * SSRC 0 (each WebRTC sender writes its own), one sequence space. Every packet is one allocation
 * holding a fresh 12-byte header and its payload, copied once from the source packet.
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

export class RtpWriter {
  private sequence: number;

  /**
   * @param payloadType 0..127, written on every packet
   * @param initialSequence sequence number of the first packet (taken modulo 2^16)
   */
  constructor(
    public payloadType: number,
    initialSequence: number,
  ) {
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
    const packet = Buffer.allocUnsafe(RTP_HEADER_SIZE + payload.length);
    this.writeHeader(packet, timestamp, marker);
    payload.copy(packet, RTP_HEADER_SIZE);
    out.push(packet);
  }

  /**
   * Appends FU fragments of `body` (the fragmented NAL unit's bytes after its header, or the part of
   * it one source fragment carried) to `out`, each at most `maxPayload` bytes of payload. The first
   * fragment carries the S bit when `start` is set, the last the E bit when `end` is set, so that a
   * source FU fragment re-fragmented keeps its place in the NAL unit. Greedy cuts, as
   * H264Packetizer makes them. Returns the number of packets appended.
   */
  fragments(
    out: Buffer[],
    prefix: FuPrefix,
    start: boolean,
    end: boolean,
    body: Buffer,
    timestamp: number,
    maxPayload: number,
  ): number {
    const overhead = prefix.length + 1;
    const chunk = Math.max(1, maxPayload - overhead);
    let count = 0;
    let offset = 0;
    do {
      const stop = Math.min(offset + chunk, body.length);
      const packet = Buffer.allocUnsafe(RTP_HEADER_SIZE + overhead + stop - offset);
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

  private writeHeader(packet: Buffer, timestamp: number, marker: boolean): void {
    const sequence = this.sequence;
    packet[0] = 0x80;
    packet[1] = marker ? 0x80 | this.payloadType : this.payloadType;
    packet[2] = sequence >> 8;
    packet[3] = sequence & 0xff;
    packet.writeUInt32BE(timestamp >>> 0, 4);
    packet.writeUInt32BE(0, 8);
    this.sequence = (sequence + 1) & 0xffff;
  }
}

/** Sets the marker bit of a packet this writer built (the last packet of a video frame). */
export function setMarker(packet: Buffer): void {
  packet[1] = (packet[1] ?? 0) | 0x80;
}
