/**
 * The fragments of one NAL unit, as a camera sent them in FU-A (H.264) or FU (H.265) packets, gathered
 * so that the unit can be re-fragmented once at the maximum payload instead of packet by packet
 * (a 1400-byte camera's fragments then give about 1.2 packets each at 1200 bytes, not 2).
 *
 * Nothing is copied or rebuilt: the run keeps the source payloads (views the caller already made)
 * and reads the NAL unit's body straight out of them when the writer copies each output fragment, so
 * rebuilding costs no allocation and no copy beyond the output packets'. One instance per
 * normaliser, reused run after run.
 */
export class FuRun {
  /** FU indicator / payload header and the fragmented unit's type, as the first fragment carried them. */
  readonly prefix: { bytes: number; length: 1 | 2; fuType: number } = { bytes: 0, length: 1, fuType: 0 };
  /** The first fragment gathered carried the S bit. */
  started = false;
  /** The last fragment gathered carried the E bit. */
  ended = false;
  /** Some fragment's payload was over the maximum payload given to add(). */
  oversized = false;
  /** RTP timestamp of the run's first fragment (output timeline). */
  timestamp = 0;
  private readonly payloads: Buffer[] = [];
  private count = 0;
  private bodyLength = 0;
  /** FU indicator (or payload header) and FU header: the bytes before each fragment's body. */
  private skip = 2;
  /** Sequential reading: the payload copy() read last, and where its body starts in the NAL unit's body. */
  private cursor = 0;
  private cursorBase = 0;

  /** Fragments gathered and not yet flushed. */
  get size(): number {
    return this.count;
  }

  /** Bytes of the NAL unit's body gathered (its header excluded: the FU header carries its type). */
  get length(): number {
    return this.bodyLength;
  }

  /** The payloads gathered, as they came. */
  payload(index: number): Buffer {
    return this.payloads[index]!;
  }

  /**
   * Starts a run with `payload`, one FU packet's payload (FU indicator or payload header, FU header,
   * body) of `prefixLength` + 1 + at least one byte; `fuType` is the NAL unit type in its FU header.
   */
  begin(payload: Buffer, prefixLength: 1 | 2, fuType: number, timestamp: number, maxPayload: number): void {
    const prefix = this.prefix;
    prefix.bytes = prefixLength === 1 ? payload[0]! : (payload[0]! << 8) | payload[1]!;
    prefix.length = prefixLength;
    prefix.fuType = fuType;
    this.skip = prefixLength + 1;
    this.started = (payload[prefixLength]! & 0x80) !== 0;
    this.ended = false;
    this.oversized = false;
    this.timestamp = timestamp;
    this.count = 0;
    this.bodyLength = 0;
    this.add(payload, maxPayload);
  }

  /** Adds the next fragment of the same NAL unit. */
  add(payload: Buffer, maxPayload: number): void {
    this.payloads[this.count++] = payload;
    this.bodyLength += payload.length - this.skip;
    if (payload.length > maxPayload) this.oversized = true;
    this.ended = (payload[this.skip - 1]! & 0x40) !== 0;
  }

  /** Forgets the payloads (they are views of the source packets, which must not be kept alive). */
  clear(): void {
    for (let i = 0; i < this.count; i++) this.payloads[i] = EMPTY;
    this.count = 0;
    this.bodyLength = 0;
    this.cursor = 0;
    this.cursorBase = 0;
  }

  /**
   * Copies bytes sourceStart..sourceEnd of the NAL unit's body into `target` at `targetStart`, as
   * Buffer.copy does; returns the number of bytes copied. Cheapest when called in order.
   */
  copy(target: Uint8Array, targetStart: number, sourceStart: number, sourceEnd: number): number {
    const end = Math.min(sourceEnd, this.bodyLength);
    if (sourceStart < this.cursorBase) {
      this.cursor = 0;
      this.cursorBase = 0;
    }
    const skip = this.skip;
    let at = targetStart;
    let from = sourceStart;
    while (from < end) {
      const payload = this.payloads[this.cursor]!;
      const pieceEnd = this.cursorBase + payload.length - skip;
      if (from >= pieceEnd) {
        this.cursorBase = pieceEnd;
        this.cursor++;
        continue;
      }
      const stop = Math.min(end, pieceEnd);
      payload.copy(target, at, skip + from - this.cursorBase, skip + stop - this.cursorBase);
      at += stop - from;
      from = stop;
    }
    return at - targetStart;
  }
}

const EMPTY = Buffer.alloc(0);
