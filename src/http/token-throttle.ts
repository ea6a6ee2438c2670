import { isIPv6 } from "node:net";

export interface WrongTokenThrottleOptions {
  /** Wrong tokens from one address within `windowMs` that pause it. Default 5. */
  readonly maxFailures?: number;
  /** Default 60 s. */
  readonly windowMs?: number;
  /** The first pause; each one after it is twice as long, up to `maxPauseMs`. Default 10 s. */
  readonly pauseMs?: number;
  /** Default 15 min. */
  readonly maxPauseMs?: number;
  /** Addresses remembered at most: past it the longest quiet is forgotten first. Default 10,000. */
  readonly maxAddresses?: number;
  /** Milliseconds on a monotonic clock. Default performance.now. */
  readonly now?: () => number;
}

interface Entry {
  /** When its wrong tokens of the last window came. */
  recent: number[];
  /** Pauses it has been given since it was last forgotten: the next lasts pauseMs × 2^strikes. */
  strikes: number;
  pausedUntil: number;
  /** It is forgotten after this: a window without wrong tokens, and a window after its pause. */
  forgetAt: number;
}

/**
 * The key an address is counted under: an IPv6 address by its /64, the block one subscriber is
 * usually given (one host can take any address in it); any other address as it is.
 */
export function clientKey(address: string): string {
  const bare = address.replace(/%.*$/, "");
  if (!isIPv6(bare) || bare.includes(".")) return address;
  const [head = "", tail] = bare.toLowerCase().split("::");
  const left = head === "" ? [] : head.split(":");
  const right = tail === undefined || tail === "" ? [] : tail.split(":");
  const groups = [...left, ...Array(8 - left.length - right.length).fill("0"), ...right];
  return `${groups
    .slice(0, 4)
    .map((group) => group.replace(/^0+(?=.)/, ""))
    .join(":")}::/64`;
}

/**
 * Slows down guessing a viewer token: after `maxFailures` wrong tokens from one address within a
 * window, that address waits (429) for a pause; each wrong token after a pause brings another, twice
 * as long, until the address has kept quiet for a window after its last pause. A right token forgets
 * the address. Memory stays bounded: entries expire, and at most `maxAddresses` are kept.
 */
export class WrongTokenThrottle {
  private readonly entries = new Map<string, Entry>();
  private readonly maxFailures: number;
  private readonly windowMs: number;
  private readonly pauseMs: number;
  private readonly maxPauseMs: number;
  private readonly maxAddresses: number;
  private readonly now: () => number;

  constructor(opts: WrongTokenThrottleOptions = {}) {
    this.maxFailures = opts.maxFailures ?? 5;
    this.windowMs = opts.windowMs ?? 60_000;
    this.pauseMs = opts.pauseMs ?? 10_000;
    this.maxPauseMs = opts.maxPauseMs ?? 15 * 60_000;
    this.maxAddresses = opts.maxAddresses ?? 10_000;
    this.now = opts.now ?? (() => performance.now());
  }

  /** Addresses remembered now. */
  get size(): number {
    return this.entries.size;
  }

  /** How long `address` must still wait before its token is looked at again; 0 when it need not. */
  waitMs(address: string): number {
    const entry = this.live(clientKey(address));
    return entry === undefined ? 0 : Math.max(0, entry.pausedUntil - this.now());
  }

  /** `address` gave a wrong token. */
  failed(address: string): void {
    const key = clientKey(address);
    const now = this.now();
    const entry = this.live(key) ?? { recent: [], strikes: 0, pausedUntil: 0, forgetAt: 0 };
    entry.recent = entry.recent.filter((at) => at > now - this.windowMs);
    entry.recent.push(now);
    // Once paused, it is paused again at each wrong token until it has been quiet for a window.
    if (entry.recent.length >= this.maxFailures || entry.strikes > 0) {
      entry.pausedUntil = now + Math.min(this.pauseMs * 2 ** entry.strikes, this.maxPauseMs);
      entry.strikes++;
      // Kept to the last few: the count that matters never passes maxFailures.
      entry.recent = entry.recent.slice(-this.maxFailures);
    }
    entry.forgetAt = Math.max(now, entry.pausedUntil) + this.windowMs;
    // Re-inserted, so that the Map's order is the order of last failures: the oldest go first.
    this.entries.delete(key);
    this.entries.set(key, entry);
    this.trim(now);
  }

  /** `address` gave the right token: whatever it guessed before is forgotten. */
  succeeded(address: string): void {
    this.entries.delete(clientKey(address));
  }

  private live(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry !== undefined && entry.forgetAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  /** Drops expired entries from the front (the longest quiet), then the oldest past the cap. */
  private trim(now: number): void {
    for (const [key, entry] of this.entries) {
      if (entry.forgetAt > now && this.entries.size <= this.maxAddresses) break;
      this.entries.delete(key);
    }
  }
}
