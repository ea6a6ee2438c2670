/** [RTP timestamp, packets] of the frames one viewer received, in arrival order of their first packet. */
export type FrameEntries = readonly (readonly [number, number])[];

/**
 * Video packets a viewer received per RTP timestamp since the last reset: what the bench's delivery
 * is counted from, frame by frame (stats.ts, frameDelivery). Bounded: a window of a few seconds needs
 * a few hundred frames, and a viewer never reset must not grow without end.
 */
export class FrameCounts {
  static readonly MAX_FRAMES = 4096;
  private readonly counts = new Map<number, number>();

  add(timestamp: number): void {
    const count = this.counts.get(timestamp);
    if (count !== undefined) this.counts.set(timestamp, count + 1);
    else if (this.counts.size < FrameCounts.MAX_FRAMES) this.counts.set(timestamp, 1);
  }

  reset(): void {
    this.counts.clear();
  }

  entries(): FrameEntries {
    return [...this.counts];
  }
}
