/**
 * WHEP resources of viewers that ended without a DELETE (the client closed its peer connection, ICE
 * failed, a timeout), remembered for a while so that a DELETE arriving just after still answers 200:
 * medooze's whip-whep client closes its peer connection first and DELETEs after, every time, and the
 * close (DTLS close_notify) often ends the viewer before the DELETE arrives.
 *
 * Bounded both ways: at most `limit` entries (the oldest go first) and each for `ttlMs` only. Keys are
 * the resources' digests, never the resources themselves.
 */
export class EndedResources {
  /** Key → when it is forgotten; a Map keeps insertion order, so the first entry is the oldest. */
  private readonly entries = new Map<string, number>();

  constructor(
    private readonly limit = 256,
    private readonly ttlMs = 60_000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  get size(): number {
    this.expire();
    return this.entries.size;
  }

  add(key: string): void {
    this.expire();
    this.entries.delete(key);
    this.entries.set(key, this.now() + this.ttlMs);
    while (this.entries.size > this.limit) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }

  /** True, once, for a key added less than ttlMs ago (and not pushed out since). */
  take(key: string): boolean {
    this.expire();
    return this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }

  private expire(): void {
    const now = this.now();
    for (const [key, until] of this.entries) {
      if (until > now) break;
      this.entries.delete(key);
    }
  }
}
