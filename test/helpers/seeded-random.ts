/**
 * A small seeded generator (mulberry32) for fuzz tests: the same seed gives the same cases on every
 * machine, so a failure that prints its seed and case index can be replayed exactly.
 */
export class SeededRandom {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** An integer in [min, max]. */
  range(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError("pick from an empty list");
    return items[this.int(items.length)] as T;
  }

  bytes(length: number): Buffer {
    const out = Buffer.allocUnsafe(length);
    for (let i = 0; i < length; i++) out[i] = this.int(256);
    return out;
  }

  /** A generator of its own for case `index`, so one case replays without running those before it. */
  fork(index: number): SeededRandom {
    return new SeededRandom(
      (Math.imul(this.seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(index, 0xc2b2ae35)) >>> 0,
    );
  }
}

/** The seed of a fuzz run: FUZZ_SEED from the environment to replay one, else a fixed default. */
export function fuzzSeed(fallback: number): number {
  const fromEnv = process.env.FUZZ_SEED;
  if (fromEnv === undefined || fromEnv === "") return fallback >>> 0;
  const seed = Number(fromEnv);
  if (!Number.isInteger(seed))
    throw new Error(`FUZZ_SEED must be an integer, got ${JSON.stringify(fromEnv)}`);
  return seed >>> 0;
}

/** True when the environment says this is a CI run (CI set, and not "0" or "false"). */
function inCi(env: NodeJS.ProcessEnv): boolean {
  const ci = (env.CI ?? "").trim().toLowerCase();
  return ci !== "" && ci !== "0" && ci !== "false";
}

/**
 * The one case a fuzz run replays, from FUZZ_CASE; undefined (every case) when unset. A narrowed run
 * skips the full run's checks, so in CI it is refused: it would pass whatever the other cases do.
 */
export function fuzzCase(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const fromEnv = env.FUZZ_CASE;
  if (fromEnv === undefined || fromEnv === "") return undefined;
  if (inCi(env)) {
    throw new Error(
      `FUZZ_CASE=${fromEnv} narrows the fuzz run to one case; unset it in CI (CI=${env.CI}), where every case must run`,
    );
  }
  const index = Number(fromEnv);
  if (!Number.isInteger(index) || index < 0)
    throw new Error(`FUZZ_CASE must be a case index (0, 1, 2, …), got ${JSON.stringify(fromEnv)}`);
  return index;
}
