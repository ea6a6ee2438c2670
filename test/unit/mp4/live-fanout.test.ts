import assert from "node:assert/strict";
import { LiveFanout, type LiveSink } from "../../../src/mp4/live-fanout";

/** A sink that keeps what it was given; `queued` stands for bytes the socket has not taken yet. */
class Sink implements LiveSink {
  readonly chunks: string[] = [];
  queued = 0;
  ended = false;
  get writableLength(): number {
    return this.queued;
  }
  write(chunk: Buffer): boolean {
    this.chunks.push(chunk.toString());
    return true;
  }
  end(): void {
    this.ended = true;
  }
}

const b = (text: string): Buffer => Buffer.from(text);

describe("LiveFanout", () => {
  it("starts a viewer at a keyframe with the init segment, then sends every frame", () => {
    const fanout = new LiveFanout({ minQueuedBytes: 100, maxGopBytes: 100 });
    const sink = new Sink();
    fanout.add(sink);
    fanout.push(b("d0"), false); // before any init: nothing
    fanout.setInit(b("init"));
    fanout.push(b("d1"), false);
    fanout.push(b("k1"), true);
    fanout.push(b("d2"), false);
    assert.deepEqual(sink.chunks, ["init", "k1", "d2"]);
    assert.equal(fanout.stats().skippedFrames, 0);
  });

  it("gives a joining viewer the current GOP at once", () => {
    const fanout = new LiveFanout({ minQueuedBytes: 100, maxGopBytes: 100 });
    fanout.setInit(b("init"));
    for (const [frame, key] of [
      ["k1", true],
      ["d1", false],
      ["k2", true],
      ["d2", false],
      ["d3", false],
    ] as const)
      fanout.push(b(frame), key);
    const sink = new Sink();
    fanout.add(sink);
    fanout.push(b("d4"), false);
    assert.deepEqual(sink.chunks, ["init", "k2", "d2", "d3", "d4"]);
  });

  it("keeps no GOP larger than its limit", () => {
    const fanout = new LiveFanout({ minQueuedBytes: 100, maxGopBytes: 5 });
    fanout.setInit(b("init"));
    fanout.push(b("k1"), true);
    fanout.push(b("d1"), false);
    fanout.push(b("d2"), false); // 6 bytes: over
    assert.equal(fanout.stats().gopFrames, 0);
    const sink = new Sink();
    fanout.add(sink);
    fanout.push(b("d3"), false);
    assert.deepEqual(sink.chunks, []);
  });

  it("a slow viewer skips to a keyframe after it drained; the others get every frame", () => {
    const fanout = new LiveFanout({ minQueuedBytes: 100, maxGopBytes: 1000 });
    fanout.setInit(b("init"));
    const slow = new Sink();
    const fast = new Sink();
    fanout.push(b("k1"), true);
    fanout.add(slow);
    fanout.add(fast);
    slow.queued = 101;
    fanout.push(b("d1"), false);
    fanout.push(b("k2"), true); // still full: skipped
    slow.queued = 10;
    fanout.push(b("d2"), false); // drained, but not a keyframe
    fanout.push(b("k3"), true);
    fanout.push(b("d3"), false);
    assert.deepEqual(slow.chunks, ["init", "k1", "k3", "d3"]);
    assert.deepEqual(fast.chunks, ["init", "k1", "d1", "k2", "d2", "k3", "d3"]);
    assert.equal(fanout.stats().skippedFrames, 3);
  });

  it("counts a viewer behind only past the last whole GOP's size, when that is above the minimum", () => {
    const fanout = new LiveFanout({ minQueuedBytes: 4, maxGopBytes: 1000 });
    fanout.setInit(b("init"));
    const viewer = new Sink();
    fanout.push(b("k1"), true);
    fanout.add(viewer);
    fanout.push(b("d1-----"), false);
    fanout.push(b("k2"), true); // the last whole GOP: 9 bytes
    viewer.queued = 8;
    fanout.push(b("d2"), false);
    viewer.queued = 10;
    fanout.push(b("d3"), false);
    assert.deepEqual(viewer.chunks, ["init", "k1", "d1-----", "k2", "d2"]);
    assert.equal(fanout.stats().skippedFrames, 1);
  });

  it("sends a viewer a new init segment when the stream's changes", () => {
    const fanout = new LiveFanout({ minQueuedBytes: 100, maxGopBytes: 100 });
    const sink = new Sink();
    fanout.setInit(b("init1"));
    fanout.push(b("k1"), true);
    fanout.add(sink);
    fanout.setInit(b("init2"));
    fanout.push(b("d1"), false); // belongs to no GOP of init2: not sent
    fanout.push(b("k2"), true);
    assert.deepEqual(sink.chunks, ["init1", "k1", "init2", "k2"]);
  });

  it("removal and close end the viewers' responses", () => {
    const fanout = new LiveFanout();
    const a = new Sink();
    const c = new Sink();
    const removeA = fanout.add(a);
    fanout.add(c);
    removeA();
    assert.equal(fanout.size, 1);
    fanout.close();
    assert.equal(c.ended, true);
    assert.equal(a.ended, false);
    assert.equal(fanout.size, 0);
  });
});
