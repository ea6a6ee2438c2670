import assert from "node:assert/strict";
import { ReportClock, type Reporter } from "../../../src/webrtc/report-clock";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A reporter that records when it was asked, in ms since `start`. */
function recorder(start: number): Reporter & { at: number[] } {
  const at: number[] = [];
  return {
    at,
    report() {
      at.push(performance.now() - start);
    },
  };
}

describe("ReportClock", () => {
  it("asks each reporter once per interval, on its own schedule, from one timer", async () => {
    const clock = new ReportClock({ minMs: 60, spreadMs: 40 }, 10);
    const start = performance.now();
    const a = recorder(start);
    const b = recorder(start);
    clock.add(a);
    clock.add(b);
    clock.add(a);
    assert.equal(clock.size, 2, "adding again changes nothing");
    await sleep(560);
    clock.delete(a);
    clock.delete(b);
    for (const r of [a, b]) {
      // 560 ms of intervals of 60-100 ms, each late by at most a tick (and this machine's timer slack).
      assert.ok(r.at.length >= 5 && r.at.length <= 9, `${r.at.length} reports`);
      assert.ok((r.at[0] as number) >= 60, "the first is one interval after add()");
      for (let i = 1; i < r.at.length; i++) {
        const gap = (r.at[i] as number) - (r.at[i - 1] as number);
        assert.ok(gap >= 59 && gap < 150, `gap ${gap} ms`);
      }
    }
  });

  it("runs its timer only while a reporter is registered", async () => {
    const clock = new ReportClock({ minMs: 20, spreadMs: 0 }, 5);
    const a = recorder(performance.now());
    assert.equal(clock.running, false);
    clock.add(a);
    assert.equal(clock.running, true);
    clock.delete(a);
    assert.equal(clock.running, false);
    await sleep(60);
    assert.equal(a.at.length, 0, "a deleted reporter is not asked");
  });

  it("drops a reporter that throws; the others go on", async () => {
    const clock = new ReportClock({ minMs: 20, spreadMs: 0 }, 5);
    const good = recorder(performance.now());
    let thrown = 0;
    const bad: Reporter = {
      report() {
        thrown++;
        throw new Error("broken");
      },
    };
    clock.add(bad);
    clock.add(good);
    await sleep(120);
    clock.delete(good);
    assert.equal(thrown, 1);
    assert.ok(good.at.length >= 2);
    assert.equal(clock.running, false);
  });
});
