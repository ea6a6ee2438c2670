import assert from "node:assert/strict";
import { GopCache } from "../../../src/webrtc/gop-cache";
import type { OutputFrame } from "../../../src/webrtc/stream-normalizer";

/** A frame of `packets` packets of `size` bytes each, told apart by its timestamp. */
function frame(
  kind: "video" | "audio",
  timestamp: number,
  keyframe = false,
  packets = 1,
  size = 100,
): OutputFrame {
  return {
    kind,
    mid: kind === "video" ? "0" : "1",
    keyframe,
    timestamp,
    packets: Array.from({ length: packets }, () => Buffer.alloc(size)),
    receivedAt: timestamp,
    sourceSession: 1,
  };
}

const timestamps = (frames: readonly OutputFrame[]): number[] => frames.map((f) => f.timestamp);

describe("GopCache", () => {
  it("holds nothing until a video keyframe, then the keyframe and every later frame, audio interleaved in order", () => {
    const cache = new GopCache();
    cache.push(frame("video", 1));
    cache.push(frame("audio", 2));
    assert.deepEqual(cache.framesSinceKeyframe(), []);
    cache.push(frame("video", 3, true));
    cache.push(frame("audio", 4));
    cache.push(frame("video", 5));
    cache.push(frame("audio", 6));
    cache.push(frame("video", 7));
    assert.deepEqual(timestamps(cache.framesSinceKeyframe()), [3, 4, 5, 6, 7]);
    assert.equal(cache.frameCount, 5);
    assert.equal(cache.byteCount, 500);
  });

  it("starts a new GOP at each video keyframe; an audio frame flagged keyframe does not", () => {
    const cache = new GopCache();
    cache.push(frame("video", 1, true));
    cache.push(frame("video", 2));
    cache.push(frame("audio", 3, true));
    cache.push(frame("video", 4, true));
    cache.push(frame("video", 5));
    assert.deepEqual(timestamps(cache.framesSinceKeyframe()), [4, 5]);
  });

  it("hands out a copy that later frames and GOPs leave as it was", () => {
    const cache = new GopCache();
    cache.push(frame("video", 1, true));
    const replay = cache.framesSinceKeyframe();
    cache.push(frame("video", 2));
    cache.push(frame("video", 3, true));
    assert.deepEqual(timestamps(replay), [1]);
  });

  it("drops the whole GOP when it outgrows maxFrames, and keeps nothing until the next keyframe", () => {
    const cache = new GopCache({ maxFrames: 3 });
    cache.push(frame("video", 1, true));
    cache.push(frame("video", 2));
    cache.push(frame("audio", 3));
    assert.deepEqual(timestamps(cache.framesSinceKeyframe()), [1, 2, 3]);
    cache.push(frame("video", 4));
    assert.deepEqual(cache.framesSinceKeyframe(), []);
    cache.push(frame("video", 5));
    assert.deepEqual(cache.framesSinceKeyframe(), []);
    assert.equal(cache.byteCount, 0);
    cache.push(frame("video", 6, true));
    assert.deepEqual(timestamps(cache.framesSinceKeyframe()), [6]);
  });

  it("drops the whole GOP when its packets outgrow maxBytes", () => {
    const cache = new GopCache({ maxBytes: 1000 });
    cache.push(frame("video", 1, true, 5, 100));
    cache.push(frame("video", 2, false, 5, 100));
    assert.equal(cache.byteCount, 1000);
    assert.deepEqual(timestamps(cache.framesSinceKeyframe()), [1, 2]);
    cache.push(frame("audio", 3, false, 1, 1));
    assert.deepEqual(cache.framesSinceKeyframe(), []);
    cache.push(frame("video", 4, true, 11, 100)); // a keyframe over the limit on its own
    assert.deepEqual(cache.framesSinceKeyframe(), []);
    cache.push(frame("video", 5));
    assert.deepEqual(cache.framesSinceKeyframe(), []);
  });

  it("defaults to 600 frames", () => {
    const cache = new GopCache();
    cache.push(frame("video", 0, true, 1, 10));
    for (let i = 1; i < 600; i++) cache.push(frame("video", i, false, 1, 10));
    assert.equal(cache.frameCount, 600);
    cache.push(frame("video", 600, false, 1, 10));
    assert.equal(cache.frameCount, 0);
  });

  it("defaults to 16 MiB", () => {
    const cache = new GopCache();
    const mib = 1024 * 1024;
    cache.push(frame("video", 0, true, 1, 8 * mib));
    cache.push(frame("video", 1, false, 1, 8 * mib));
    assert.equal(cache.byteCount, 16 * mib);
    cache.push(frame("video", 2, false, 1, 1));
    assert.equal(cache.frameCount, 0);
  });

  it("clear() forgets the GOP and waits for the next keyframe", () => {
    const cache = new GopCache();
    cache.push(frame("video", 1, true));
    cache.clear();
    cache.push(frame("video", 2));
    assert.deepEqual(cache.framesSinceKeyframe(), []);
    cache.push(frame("video", 3, true));
    assert.deepEqual(timestamps(cache.framesSinceKeyframe()), [3]);
  });
});
