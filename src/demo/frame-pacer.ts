/**
 * Calls `onFrame(tick)` at a fixed frame rate. Tick k is due at t0 + k / fps on the monotonic
 * clock: each timer is set for the next due time, so timer lateness never accumulates (unlike a
 * setInterval, whose errors add up). After a stall longer than MAX_LAG_NS (event loop blocked,
 * machine suspended) the schedule is moved forward instead of bursting the backlog.
 */

const MAX_LAG_NS = 1_000_000_000;

export type Clock = () => bigint;

export class FramePacer {
  private readonly periodNs: number;
  private t0: bigint | undefined;
  private next = 0;
  private timer: NodeJS.Timeout | undefined;

  /** @throws RangeError when fps is not a positive finite number. */
  constructor(
    fps: number,
    private readonly onFrame: (tick: number) => void,
    private readonly clock: Clock = process.hrtime.bigint,
  ) {
    if (!Number.isFinite(fps) || fps <= 0) throw new RangeError(`FramePacer: bad fps ${fps}`);
    this.periodNs = 1e9 / fps;
  }

  get running(): boolean {
    return this.timer !== undefined;
  }

  /**
   * Starts (the first call fixes t0 and tick 0 is due now) or resumes on the original schedule,
   * skipping the ticks that fell due while stopped. Returns the next tick; onFrame is never called
   * synchronously from here, so the caller can answer its request first.
   */
  start(): number {
    if (this.timer !== undefined) return this.next;
    const now = this.clock();
    if (this.t0 === undefined) {
      this.t0 = now;
    } else {
      this.next = Math.max(this.next, Math.ceil(this.ticksAt(now)));
    }
    this.schedule(now);
    return this.next;
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Ticks elapsed since t0 at `now` (fractional); 0 before the first start. */
  ticksAt(now: bigint = this.clock()): number {
    return this.t0 === undefined ? 0 : Number(now - this.t0) / this.periodNs;
  }

  private dueAt(tick: number): bigint {
    return (this.t0 ?? 0n) + BigInt(Math.round(tick * this.periodNs));
  }

  private schedule(now: bigint): void {
    const waitMs = Math.max(0, Math.ceil(Number(this.dueAt(this.next) - now) / 1e6));
    this.timer = setTimeout(() => this.fire(), waitMs);
  }

  private fire(): void {
    if (this.timer === undefined) return;
    const now = this.clock();
    if (now - this.dueAt(this.next) > MAX_LAG_NS) {
      this.t0 = now - BigInt(Math.round(this.next * this.periodNs));
    }
    while (this.timer !== undefined && this.dueAt(this.next) <= now) {
      const tick = this.next;
      this.next += 1;
      try {
        this.onFrame(tick);
      } catch {
        // A failing frame must not stop the clock; the session reports its own errors.
      }
    }
    if (this.timer !== undefined) this.schedule(now);
  }
}
