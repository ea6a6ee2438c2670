export interface Rates {
  readonly framesPerSecond: number;
  readonly kbps: number;
  readonly packetsPerSecond: number;
}

interface Bucket {
  second: number;
  frames: number;
  bytes: number;
  packets: number;
}

/**
 * Frame, bit and packet rates over the last few whole seconds (the current, partial second is
 * left out, so a reading does not dip at the start of every second).
 */
export class RateMeter {
  private readonly buckets: Bucket[];
  private firstMs: number | undefined;

  constructor(private readonly windowSeconds = 5) {
    this.buckets = Array.from({ length: windowSeconds + 1 }, () => ({
      second: -1,
      frames: 0,
      bytes: 0,
      packets: 0,
    }));
  }

  /** Counts one frame of `bytes` in `packets` packets at `nowMs` (performance.now()). */
  add(nowMs: number, bytes: number, packets: number): void {
    const second = Math.floor(nowMs / 1000);
    this.firstMs ??= nowMs;
    const bucket = this.buckets[second % this.buckets.length];
    if (bucket === undefined) return;
    if (bucket.second !== second) {
      bucket.second = second;
      bucket.frames = 0;
      bucket.bytes = 0;
      bucket.packets = 0;
    }
    bucket.frames++;
    bucket.bytes += bytes;
    bucket.packets += packets;
  }

  rates(nowMs: number): Rates {
    const current = Math.floor(nowMs / 1000);
    let frames = 0;
    let bytes = 0;
    let packets = 0;
    for (const bucket of this.buckets) {
      if (bucket.second >= current || bucket.second < current - this.windowSeconds) continue;
      frames += bucket.frames;
      bytes += bucket.bytes;
      packets += bucket.packets;
    }
    // A meter younger than its window averages over the time since its first frame.
    const windowStartMs = (current - this.windowSeconds) * 1000;
    const seconds = (current * 1000 - Math.max(windowStartMs, this.firstMs ?? current * 1000)) / 1000;
    if (seconds < 0.5) return { framesPerSecond: 0, kbps: 0, packetsPerSecond: 0 };
    return {
      framesPerSecond: Math.round((frames / seconds) * 10) / 10,
      kbps: Math.round((bytes * 8) / seconds / 1000),
      packetsPerSecond: Math.round(packets / seconds),
    };
  }
}
