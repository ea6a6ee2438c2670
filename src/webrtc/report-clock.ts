/** Something sending a report of its own when the clock says it is due. */
export interface Reporter {
  report(): void;
}

export interface ReportInterval {
  readonly minMs: number;
  /** Each interval is minMs plus up to this much, at random (RFC 3550 §6.3.5). */
  readonly spreadMs: number;
}

/**
 * One timer for the periodic reports of many senders. A timer each, re-armed with a random delay,
 * makes Node keep a timer list per distinct delay, and runs each report alone, in code called too
 * rarely to be optimised: at 50 viewers that cost 3 % of the relay's CPU. Here one interval wakes
 * every `tickMs` and sends what is due, each reporter still on its own randomised schedule. The
 * timer runs only while a reporter is registered.
 */
export class ReportClock {
  private readonly due = new Map<Reporter, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly interval: ReportInterval,
    private readonly tickMs: number,
  ) {}

  /** Whether the clock's timer runs (while any reporter is registered). */
  get running(): boolean {
    return this.timer !== undefined;
  }

  get size(): number {
    return this.due.size;
  }

  /** Registers `reporter`, first due one interval from now; again, it changes nothing. */
  add(reporter: Reporter): void {
    if (this.due.has(reporter)) return;
    this.due.set(reporter, performance.now() + this.nextInterval());
    if (this.timer === undefined) {
      this.timer = setInterval(this.tick, this.tickMs);
      this.timer.unref();
    }
  }

  delete(reporter: Reporter): void {
    this.due.delete(reporter);
    if (this.due.size === 0 && this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private readonly tick = (): void => {
    const now = performance.now();
    for (const [reporter, at] of this.due) {
      if (now < at) continue;
      this.due.set(reporter, now + this.nextInterval());
      try {
        reporter.report();
      } catch {
        // A reporter that fails is not asked again; the others go on.
        this.delete(reporter);
      }
    }
  };

  private nextInterval(): number {
    return this.interval.minMs + Math.random() * this.interval.spreadMs;
  }
}
