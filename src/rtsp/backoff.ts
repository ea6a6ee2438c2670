/** Capped reconnect delays with jitter, reset by a session that worked. */
export interface BackoffOptions {
  readonly delaysMs: readonly number[];
  /** Fraction of the delay added or removed at random, so that a fleet of nodes does not reconnect in step. */
  readonly jitter: number;
  readonly random?: () => number;
}

/**
 * Fast at first, then capped at 30 s: a camera that restarts its RTSP service or drops off the network
 * for a moment is back within seconds, and the next try must not be far off (viewers wait on it). A
 * camera that stays away (rebooting, unplugged) is tried less and less often.
 */
export const DEFAULT_BACKOFF: BackoffOptions = {
  delaysMs: [250, 500, 500, 500, 500, 1000, 1000, 2000, 5000, 10000, 20000, 30000],
  jitter: 0.2,
};

export class Backoff {
  private attempt = 0;

  constructor(private readonly options: BackoffOptions = DEFAULT_BACKOFF) {}

  /** The delay before the next attempt; each call moves one step up the ladder until the cap. */
  next(): number {
    const { delaysMs, jitter } = this.options;
    const base = delaysMs[Math.min(this.attempt, delaysMs.length - 1)] ?? 1000;
    this.attempt++;
    const random = this.options.random ?? Math.random;
    const factor = 1 + jitter * (2 * random() - 1);
    return Math.max(0, Math.round(base * factor));
  }

  reset(): void {
    this.attempt = 0;
  }

  get attempts(): number {
    return this.attempt;
  }
}
