import assert from "node:assert/strict";
import { setImmediate as nextTurn } from "node:timers/promises";
import { type FrameTarget, SendScheduler } from "../../../src/webrtc/send-scheduler";

/** A target that records what it got, spending `busyMs` of CPU per frame (a viewer's sends). */
class Target implements FrameTarget<number> {
  readonly got: number[] = [];
  constructor(private readonly busyMs = 0) {}
  send(frame: number): void {
    const until = performance.now() + this.busyMs;
    while (performance.now() < until) {
      // busy: encrypting and sending
    }
    this.got.push(frame);
  }
}

async function settle(scheduler: SendScheduler<number>): Promise<void> {
  for (let i = 0; i < 1000 && scheduler.backlog > 0; i++) await nextTurn();
  assert.equal(scheduler.backlog, 0);
}

describe("SendScheduler", () => {
  it("hands a frame to every target within the call while there is no backlog", () => {
    const scheduler = new SendScheduler<number>();
    const targets = [new Target(), new Target(), new Target()];
    scheduler.push(1, targets);
    scheduler.push(2, targets);
    for (const t of targets) assert.deepEqual(t.got, [1, 2]);
    assert.equal(scheduler.yields, 0);
  });

  it("gives the event loop a turn between slices, and every target its frames in order", async () => {
    const scheduler = new SendScheduler<number>({ sliceMs: 2 });
    const targets = Array.from({ length: 10 }, () => new Target(1));
    let turns = 0;
    const ticker = setInterval(() => turns++, 0);
    try {
      scheduler.push(1, targets);
      const atOnce = targets.filter((t) => t.got.length > 0).length;
      assert.ok(atOnce >= 1 && atOnce < 10, `${atOnce} of 10 served before the first yield`);
      scheduler.push(2, targets);
      scheduler.push(3, targets);
      await settle(scheduler);
    } finally {
      clearInterval(ticker);
    }
    for (const t of targets) assert.deepEqual(t.got, [1, 2, 3]);
    assert.ok(scheduler.yields >= 5, `${scheduler.yields} yields for 30 ms of sends in 2 ms slices`);
    assert.ok(turns >= 2, `timers ran ${turns} times while frames went out`);
  });

  it("sends a frame to the targets it was pushed with, not to one added later", async () => {
    const scheduler = new SendScheduler<number>({ sliceMs: 1 });
    const targets = [new Target(2), new Target(2)];
    scheduler.push(1, [...targets]);
    const late = new Target();
    targets.push(late);
    scheduler.push(2, [...targets]);
    await settle(scheduler);
    assert.deepEqual(late.got, [2]);
    assert.deepEqual(targets[0]?.got, [1, 2]);
  });

  it("catches up in one go past its backlog bound", () => {
    const scheduler = new SendScheduler<number>({ sliceMs: 0.5, maxBacklog: 2 });
    const targets = [new Target(1), new Target(1)];
    for (let frame = 1; frame <= 6; frame++) scheduler.push(frame, targets);
    assert.ok(scheduler.backlog <= 2, `backlog ${scheduler.backlog}`);
    assert.deepEqual(targets[0]?.got.slice(0, 4), [1, 2, 3, 4]);
  });

  it("clear() drops what is queued", async () => {
    const scheduler = new SendScheduler<number>({ sliceMs: 1 });
    const targets = [new Target(2), new Target(2), new Target(2)];
    scheduler.push(1, targets);
    scheduler.clear();
    await nextTurn();
    await nextTurn();
    assert.ok(targets.some((t) => t.got.length === 0));
    assert.equal(scheduler.backlog, 0);
  });
});
