/** Where a live fMP4 viewer's bytes go: an HTTP response, or anything that buffers like one. */
export interface LiveSink {
  /** false when the bytes were queued rather than handed to the kernel (Node's stream write()). */
  write(chunk: Buffer): boolean;
  /** Bytes written but not yet handed on. */
  readonly writableLength: number;
  end(): void;
}

export interface LiveFanoutLimits {
  /**
   * A viewer with more queued than the last whole GOP (about a GOP behind), and at least this, skips
   * frames until a keyframe finds its queue under half of that.
   */
  readonly minQueuedBytes: number;
  /** Frames of the current GOP kept for a joining viewer (fast start), at most this many bytes. */
  readonly maxGopBytes: number;
}

export const DEFAULT_LIVE_FANOUT_LIMITS: LiveFanoutLimits = {
  minQueuedBytes: 128 << 10,
  maxGopBytes: 8 << 20,
};

interface LiveViewer {
  readonly sink: LiveSink;
  /** The init segment this viewer has, by identity. */
  init: Buffer | undefined;
  /** Waiting for a keyframe: at the start, and after it fell behind. */
  waiting: boolean;
  /** It fell behind and skips frames. */
  behind: boolean;
  skippedFrames: number;
}

export interface LiveFanoutStats {
  readonly viewers: number;
  /** Frames viewers skipped because they fell behind, summed. */
  readonly skippedFrames: number;
  readonly gopFrames: number;
}

/**
 * One stream's fMP4 viewers. Each gets the init segment and then whole frames from a keyframe on: a
 * joining viewer at once the current GOP's frames (its player seeks to the newest); a viewer whose queue
 * passed the limit skips to the next keyframe once it has drained, and never delays the others.
 */
export class LiveFanout {
  private readonly viewers = new Set<LiveViewer>();
  private init: Buffer | undefined;
  private gop: Buffer[] = [];
  private gopBytes = 0;
  /** Bytes of the GOP being sent, and of the last whole one: how much "a GOP behind" is. */
  private runningGopBytes = 0;
  private lastGopBytes = 0;
  private skipped = 0;

  constructor(private readonly limits: LiveFanoutLimits = DEFAULT_LIVE_FANOUT_LIMITS) {}

  get size(): number {
    return this.viewers.size;
  }

  /** A new initialisation segment: what follows is decoded with it (new parameter sets, camera restart). */
  setInit(init: Buffer): void {
    this.init = init;
    this.gop = [];
    this.gopBytes = 0;
    // Frames made for the old one cannot follow it: every viewer resumes at the next keyframe.
    for (const viewer of this.viewers) {
      viewer.waiting = true;
      viewer.behind = false;
    }
  }

  /** One frame's moof + mdat, made for the current init segment. */
  push(fragment: Buffer, keyframe: boolean): void {
    if (this.init === undefined) return;
    if (keyframe) {
      this.gop = [];
      this.gopBytes = 0;
      this.lastGopBytes = this.runningGopBytes;
      this.runningGopBytes = 0;
    }
    this.runningGopBytes += fragment.length;
    if (this.gop.length > 0 || keyframe) {
      if (this.gopBytes + fragment.length <= this.limits.maxGopBytes) {
        this.gop.push(fragment);
        this.gopBytes += fragment.length;
      } else {
        this.gop = [];
        this.gopBytes = 0;
      }
    }
    for (const viewer of this.viewers) this.send(viewer, fragment, keyframe);
  }

  /** Adds a viewer; it gets the current GOP now if there is one. Returns its removal. */
  add(sink: LiveSink): () => void {
    const viewer: LiveViewer = { sink, init: undefined, waiting: true, behind: false, skippedFrames: 0 };
    this.viewers.add(viewer);
    const [keyframe, ...rest] = this.gop;
    if (keyframe !== undefined) {
      this.start(viewer, keyframe);
      for (const fragment of rest) viewer.sink.write(fragment);
    }
    return () => {
      this.viewers.delete(viewer);
    };
  }

  /** Nobody watches: the init segment and the GOP go (the next viewer's are made afresh). */
  forget(): void {
    this.init = undefined;
    this.gop = [];
    this.gopBytes = 0;
    this.runningGopBytes = 0;
    this.lastGopBytes = 0;
  }

  /** Ends every viewer's response (the node closes, or the stream ended). */
  close(): void {
    for (const viewer of this.viewers) viewer.sink.end();
    this.viewers.clear();
    this.gop = [];
    this.gopBytes = 0;
  }

  stats(): LiveFanoutStats {
    return { viewers: this.viewers.size, skippedFrames: this.skipped, gopFrames: this.gop.length };
  }

  private start(viewer: LiveViewer, keyframe: Buffer): void {
    const init = this.init as Buffer;
    if (viewer.init !== init) {
      viewer.sink.write(init);
      viewer.init = init;
    }
    viewer.waiting = false;
    viewer.behind = false;
    viewer.sink.write(keyframe);
  }

  private send(viewer: LiveViewer, fragment: Buffer, keyframe: boolean): void {
    const limit = Math.max(this.limits.minQueuedBytes, this.lastGopBytes);
    if (!viewer.waiting && viewer.sink.writableLength > limit) {
      viewer.waiting = true;
      viewer.behind = true;
    }
    if (viewer.waiting) {
      // Resume only at a keyframe, and only with room for it: a decoder cannot start anywhere else.
      if (!keyframe || viewer.sink.writableLength > limit / 2) {
        if (viewer.behind) {
          viewer.skippedFrames++;
          this.skipped++;
        }
        return;
      }
      this.start(viewer, fragment);
      return;
    }
    viewer.sink.write(fragment);
  }
}
