/** What the history needs to know of a frame. */
export interface HistoryFrame {
  readonly kind: "video" | "audio";
  readonly keyframe: boolean;
  /** performance.now() at arrival. */
  readonly receivedAt: number;
  /** Bytes it holds (its packets). */
  readonly bytes: number;
}

export interface FrameHistoryLimits {
  /** Keep enough GOPs to replay at least this many seconds; 0 keeps only the current GOP. */
  readonly seconds: number;
  /** Default 32 MiB. */
  readonly maxBytes?: number;
  /** Default 3000 (100 s at 30 fps). */
  readonly maxFrames?: number;
}

interface Gop<F> {
  readonly startedAt: number;
  readonly frames: F[];
  bytes: number;
}

const DEFAULT_MAX_BYTES = 32 * 1024 * 1024;
const DEFAULT_MAX_FRAMES = 3000;

/**
 * The recent frames of one stream in whole GOPs, so that a replay can always start at a video
 * keyframe: the current GOP, and the GOPs before it as far as `seconds` reaches. Bounded in bytes and
 * frames: the oldest GOPs go first, and a single GOP over the bounds is dropped with everything,
 * keeping nothing until the next keyframe. Frames before the first keyframe are not kept.
 */
export class FrameHistory<F extends HistoryFrame> {
  private gops: Gop<F>[] = [];
  private bytes = 0;
  private frames = 0;
  private readonly maxBytes: number;
  private readonly maxFrames: number;

  constructor(private readonly limits: FrameHistoryLimits) {
    this.maxBytes = Math.max(1, limits.maxBytes ?? DEFAULT_MAX_BYTES);
    this.maxFrames = Math.max(1, limits.maxFrames ?? DEFAULT_MAX_FRAMES);
  }

  get byteCount(): number {
    return this.bytes;
  }

  get frameCount(): number {
    return this.frames;
  }

  push(frame: F): void {
    if (frame.kind === "video" && frame.keyframe) {
      this.gops.push({ startedAt: frame.receivedAt, frames: [], bytes: 0 });
      this.dropOlderThan(frame.receivedAt);
    }
    const gop = this.gops.at(-1);
    if (gop === undefined) return;
    gop.frames.push(frame);
    gop.bytes += frame.bytes;
    this.bytes += frame.bytes;
    this.frames++;
    while ((this.bytes > this.maxBytes || this.frames > this.maxFrames) && this.gops.length > 0) {
      this.dropOldest();
    }
  }

  /**
   * The frames to replay, keyframe first, in arrival order: the current GOP (`seconds` 0), or from
   * the latest keyframe at least `seconds` before `now` (the oldest kept when none is that old).
   */
  replay(seconds: number, now: number): F[] {
    if (this.gops.length === 0) return [];
    let from = this.gops.length - 1;
    if (seconds > 0) {
      const since = now - seconds * 1000;
      while (from > 0 && this.gops[from]!.startedAt > since) from--;
    }
    return this.gops.slice(from).flatMap((gop) => gop.frames);
  }

  clear(): void {
    this.gops = [];
    this.bytes = 0;
    this.frames = 0;
  }

  /** Keeps the GOP that reaches `seconds` back from `now`, and every one after it. */
  private dropOlderThan(now: number): void {
    const since = now - this.limits.seconds * 1000;
    while (this.gops.length > 1 && this.gops[1]!.startedAt <= since) this.dropOldest();
  }

  private dropOldest(): void {
    const gop = this.gops.shift();
    if (gop === undefined) return;
    this.bytes -= gop.bytes;
    this.frames -= gop.frames.length;
  }
}
