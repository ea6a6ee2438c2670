import assert from "node:assert/strict";
import { Backoff, DEFAULT_BACKOFF } from "../../../src/rtsp/backoff";

describe("Backoff", () => {
  it("retries every half second for the first 2 s, every second until 4 s, then climbs to 30 s and stays there", () => {
    const backoff = new Backoff({ ...DEFAULT_BACKOFF, random: () => 0.5 });
    const delays = Array.from({ length: 14 }, () => backoff.next());
    assert.deepEqual(
      delays,
      [250, 500, 500, 500, 500, 1000, 1000, 2000, 5000, 10000, 20000, 30000, 30000, 30000],
    );
  });

  it("adds at most ±20 % jitter", () => {
    const low = new Backoff({ ...DEFAULT_BACKOFF, random: () => 0 });
    const high = new Backoff({ ...DEFAULT_BACKOFF, random: () => 0.999999 });
    assert.equal(low.next(), 200);
    assert.equal(high.next(), 300);
    const real = new Backoff();
    for (let i = 0; i < 100; i++) {
      const delay = real.next();
      const base = DEFAULT_BACKOFF.delaysMs[Math.min(i, DEFAULT_BACKOFF.delaysMs.length - 1)]!;
      assert.ok(delay >= base * 0.8 && delay <= base * 1.2, `${delay} around ${base}`);
    }
  });

  it("starts again from the first step after reset()", () => {
    const backoff = new Backoff({ delaysMs: [100, 200, 300], jitter: 0 });
    backoff.next();
    backoff.next();
    assert.equal(backoff.attempts, 2);
    backoff.reset();
    assert.equal(backoff.next(), 100);
  });
});
