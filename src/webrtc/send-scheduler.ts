/** Something that takes a frame and never throws (a Viewer). */
export interface FrameTarget<F> {
  send(frame: F): void;
}

export interface SendSchedulerOptions {
  /** Longest run of sends before the event loop gets a turn. Default 4 ms. */
  readonly sliceMs?: number;
  /**
   * Frames waiting to be handed out beyond which the scheduler stops yielding and catches up in one
   * go: a machine that cannot keep up then behaves as if there were no scheduler, and memory stays
   * bounded. Default 90 (3 s at 30 fps).
   */
  readonly maxBacklog?: number;
}

interface Job<F> {
  readonly frame: F;
  readonly targets: readonly FrameTarget<F>[];
  next: number;
}

/**
 * Hands each frame to every target in order, in slices: a keyframe for 200 viewers is thousands of
 * encrypt-and-send calls (well over 100 ms on one core), and without slices the RTSP socket, the
 * HTTP server and the rest of the flow would wait that long. Between slices the event loop runs;
 * each target still gets the frames in order, and while there is no backlog a frame goes out
 * within the call that brought it.
 */
export class SendScheduler<F> {
  private readonly jobs: Job<F>[] = [];
  private scheduled: NodeJS.Immediate | undefined;
  private readonly sliceMs: number;
  private readonly maxBacklog: number;
  /** Times a slice ran out and the rest waited for the next turn of the event loop. */
  yields = 0;

  constructor(options: SendSchedulerOptions = {}) {
    this.sliceMs = Math.max(0.5, options.sliceMs ?? 4);
    this.maxBacklog = Math.max(1, options.maxBacklog ?? 90);
  }

  /** Frames not yet handed to all their targets. */
  get backlog(): number {
    return this.jobs.length;
  }

  /** Queues `frame` for `targets` (a snapshot: a target added later is not sent this frame). */
  push(frame: F, targets: readonly FrameTarget<F>[]): void {
    if (targets.length === 0) return;
    this.jobs.push({ frame, targets, next: 0 });
    if (this.scheduled === undefined || this.jobs.length > this.maxBacklog) this.run();
  }

  /** Drops every queued frame. */
  clear(): void {
    this.jobs.length = 0;
    if (this.scheduled !== undefined) clearImmediate(this.scheduled);
    this.scheduled = undefined;
  }

  private readonly resume = (): void => {
    this.scheduled = undefined;
    this.run();
  };

  private run(): void {
    const until = performance.now() + this.sliceMs;
    const jobs = this.jobs;
    while (jobs.length > 0) {
      const job = jobs[0] as Job<F>;
      while (job.next < job.targets.length) {
        (job.targets[job.next++] as FrameTarget<F>).send(job.frame);
        if (performance.now() > until && jobs.length <= this.maxBacklog) {
          if (job.next === job.targets.length) jobs.shift();
          if (jobs.length > 0 && this.scheduled === undefined) {
            this.yields++;
            this.scheduled = setImmediate(this.resume);
          }
          return;
        }
      }
      jobs.shift();
    }
  }
}
