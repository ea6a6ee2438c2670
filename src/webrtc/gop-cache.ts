import type { OutputFrame } from "./stream-normalizer";

export interface GopCacheLimits {
  /** Default 600: 20 s at 30 fps, audio frames included. */
  readonly maxFrames?: number;
  /** Bytes of RTP packets; default 16 MiB. */
  readonly maxBytes?: number;
}

const DEFAULT_MAX_FRAMES = 600;
const DEFAULT_MAX_BYTES = 16 * 1024 * 1024;

/**
 * The frames since the last video keyframe (audio interleaved, in arrival order), from which a late
 * joiner can start decoding at once instead of waiting for the next keyframe. Bounded: a GOP that
 * outgrows the limits is dropped whole, and nothing is kept until the next keyframe.
 */
export class GopCache {
  private readonly maxFrames: number;
  private readonly maxBytes: number;
  private frames: OutputFrame[] = [];
  private bytes = 0;
  /** False before the first keyframe and after a GOP was dropped: frames are not kept. */
  private open = false;

  constructor(limits: GopCacheLimits = {}) {
    this.maxFrames = Math.max(1, limits.maxFrames ?? DEFAULT_MAX_FRAMES);
    this.maxBytes = Math.max(1, limits.maxBytes ?? DEFAULT_MAX_BYTES);
  }

  /** Frames held now. */
  get frameCount(): number {
    return this.frames.length;
  }

  /** Bytes of RTP packets held now. */
  get byteCount(): number {
    return this.bytes;
  }

  /** A video keyframe starts a new GOP; any other frame joins the current one, if there is one. */
  push(frame: OutputFrame): void {
    if (frame.kind === "video" && frame.keyframe) {
      // A new array, not a cleared one: a caller may still be replaying the previous GOP.
      this.frames = [];
      this.bytes = 0;
      this.open = true;
    } else if (!this.open) {
      return;
    }
    let size = 0;
    for (const packet of frame.packets) size += packet.length;
    if (this.frames.length + 1 > this.maxFrames || this.bytes + size > this.maxBytes) {
      this.clear();
      return;
    }
    this.frames.push(frame);
    this.bytes += size;
  }

  /** The current GOP, keyframe first, as a copy; [] until a keyframe was seen or after a drop. */
  framesSinceKeyframe(): readonly OutputFrame[] {
    return this.frames.slice();
  }

  /** Forgets everything (e.g. on a source codec change); the next keyframe starts again. */
  clear(): void {
    this.frames = [];
    this.bytes = 0;
    this.open = false;
  }
}
