import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { FramePacer } from "../../../src/demo/frame-pacer";
import { waitFor } from "../../helpers/wait";

const ms = (ns: bigint): number => Number(ns) / 1e6;

describe("FramePacer", () => {
  let pacer: FramePacer | undefined;
  afterEach(() => pacer?.stop());

  it("fires tick k once the clock reaches t0 + k / fps, never early, and late timers do not add up", async () => {
    // A clock that runs 1.5 periods on between two looks: every timer fires late by half a period or
    // more. A pacer that counted timers instead of reading the clock would fall further behind each time.
    const periodNs = 1_000_000n; // 1000 fps: the real timers wait at most 1 ms
    let now = 5_000_000_000n;
    const clock = () => {
      now += (periodNs * 3n) / 2n;
      return now;
    };
    const delivered: { tick: number; at: bigint }[] = [];
    pacer = new FramePacer(
      1000,
      (tick) => {
        delivered.push({ tick, at: now });
      },
      clock,
    );
    const t0 = now + (periodNs * 3n) / 2n; // start() reads the clock once: that is t0
    pacer.start();
    await waitFor(() => delivered.length >= 200, 20_000, "200 ticks");
    pacer.stop();
    delivered.forEach(({ tick, at }, k) => {
      assert.equal(tick, k);
      const lateNs = at - (t0 + BigInt(k) * periodNs);
      assert.ok(lateNs >= 0n, `tick ${k} early by ${-lateNs} ns`);
      assert.ok(lateNs <= (periodNs * 3n) / 2n, `tick ${k} late by ${lateNs} ns: lateness added up`);
    });
  });

  it("ticks in order on the real clock, never early, never more often than the frame rate", async () => {
    const times: bigint[] = [];
    pacer = new FramePacer(50, (tick) => {
      assert.equal(tick, times.length);
      times.push(process.hrtime.bigint());
    });
    const t0 = process.hrtime.bigint();
    assert.equal(pacer.start(), 0);
    assert.equal(times.length, 0, "no tick from inside start()");
    await sleep(500);
    pacer.stop();
    const elapsed = ms(process.hrtime.bigint() - t0);
    // The lower bound is loose: a loaded machine delays timers, and catching up is the first test's job.
    assert.ok(times.length >= 5, `${times.length} ticks in ${elapsed} ms at 50 fps`);
    assert.ok(
      times.length <= Math.floor(elapsed / 20) + 1,
      `${times.length} ticks in ${elapsed} ms at 50 fps`,
    );
    times.forEach((time, k) => {
      assert.ok(ms(time - t0) >= k * 20 - 0.5, `tick ${k} early at ${ms(time - t0)} ms`);
    });
  });

  it("stops, and resumes on the original schedule without replaying the missed ticks", async () => {
    const ticks: number[] = [];
    pacer = new FramePacer(100, (tick) => ticks.push(tick));
    pacer.start();
    await sleep(55);
    pacer.stop();
    const stoppedAt = ticks.length;
    assert.ok(stoppedAt >= 4, `${stoppedAt} ticks`);
    await sleep(100);
    assert.equal(ticks.length, stoppedAt);
    const next = pacer.start();
    assert.ok(next >= stoppedAt + 9, `resumed at tick ${next} after ${stoppedAt}`);
    await sleep(35);
    assert.equal(ticks[stoppedAt], next);
    for (let i = stoppedAt + 1; i < ticks.length; i++) assert.equal(ticks[i], ticks[i - 1]! + 1);
  });

  it("moves the schedule on after a long stall instead of bursting the backlog", async () => {
    const ticks: bigint[] = [];
    pacer = new FramePacer(100, () => ticks.push(process.hrtime.bigint()));
    pacer.start();
    await sleep(25);
    const stallStart = process.hrtime.bigint();
    while (process.hrtime.bigint() - stallStart < 1_200_000_000n) {
      // Block the event loop, as a long synchronous task would.
    }
    const before = ticks.length;
    await sleep(50);
    const burst = ticks.slice(before).filter((time) => time - ticks[before]! < 5_000_000n).length;
    assert.ok(burst <= 2, `${burst} ticks at once after the stall`);
    assert.ok(ticks.length - before >= 4, `${ticks.length - before} ticks in 50 ms after the stall`);
  });

  it("keeps ticking when onFrame throws, and refuses a bad fps", async () => {
    let calls = 0;
    pacer = new FramePacer(200, () => {
      calls += 1;
      throw new Error("boom");
    });
    pacer.start();
    await sleep(40);
    assert.ok(calls >= 4, `${calls} calls`);
    assert.throws(() => new FramePacer(0, () => {}), RangeError);
    assert.throws(() => new FramePacer(Number.NaN, () => {}), RangeError);
  });

  it("counts elapsed ticks from the first start", () => {
    let now = 1_000_000_000n;
    const clocked = new FramePacer(
      25,
      () => {},
      () => now,
    );
    assert.equal(clocked.ticksAt(), 0);
    clocked.start();
    now += 100_000_000n;
    assert.equal(clocked.ticksAt(), 2.5);
    clocked.stop();
  });
});
