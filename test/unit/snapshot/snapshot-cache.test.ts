import assert from "node:assert/strict";
import type { AccessUnit, MediaInfo, StreamInfo } from "../../../src/rtp/stream-info";
import { SnapshotCache } from "../../../src/snapshot/snapshot-cache";
import { PCMA_AUDIO } from "../../helpers/media-info-fixtures";

const VIDEO: MediaInfo = {
  mid: "0",
  kind: "video",
  codec: "H264",
  payloadType: 96,
  clockRate: 90000,
  fmtp: {},
  parameterSets: [Buffer.from([0x67, 1]), Buffer.from([0x68, 2])],
  relayable: true,
  width: 640,
  height: 360,
};
const AUDIO = PCMA_AUDIO;

function stream(session = 1, media: MediaInfo[] = [VIDEO, AUDIO], id = "cam"): StreamInfo {
  return { id, session, media };
}

function unit(
  keyframe: boolean,
  kind: "video" | "audio" = "video",
  bytes = 100,
  mid = kind === "video" ? "0" : "1",
): AccessUnit {
  return { kind, mid, timestamp: 0, keyframe, packets: [Buffer.alloc(bytes)] };
}

describe("SnapshotCache", () => {
  it("keeps the video since the last keyframe, with the SDP's parameter sets", () => {
    const cache = new SnapshotCache();
    assert.deepEqual(cache.state, { state: "no-stream" });
    const s = stream();
    cache.push(unit(false), s, 1);
    assert.deepEqual(cache.state, { state: "waiting", codec: "H264" });
    assert.equal(cache.input(), undefined);
    cache.push(unit(true), s, 2);
    cache.push(unit(false, "audio"), s, 3);
    cache.push(unit(false, "video", 100, "9"), s, 3);
    cache.push(unit(false), s, 4);
    assert.deepEqual(cache.state, { state: "ready", codec: "H264", width: 640, height: 360 });
    const input = cache.input()!;
    assert.deepEqual(
      input.frames.map((f) => f.receivedAt),
      [2, 4],
    );
    assert.equal(input.codec, "H264");
    assert.equal(input.stream, "cam");
    assert.equal(input.parameterSets, VIDEO.parameterSets);
    cache.push(unit(true), s, 5);
    assert.deepEqual(
      cache.input()!.frames.map((f) => f.receivedAt),
      [5],
    );
  });

  it("starts afresh on a new session or stream (by id and session: messages are cloned)", () => {
    const cache = new SnapshotCache();
    cache.push(unit(true), stream(1), 1);
    cache.push(unit(false), { ...stream(1) }, 2);
    assert.equal(cache.input()!.frames.length, 2);
    cache.push(unit(false), stream(2), 3);
    assert.equal(cache.input(), undefined);
    cache.push(unit(true), stream(2, [VIDEO], "other"), 4);
    assert.equal(cache.input()!.stream, "other");
    cache.clear();
    assert.equal(cache.input(), undefined);
  });

  it("takes H.265, says when there is no video it can decode, and keeps no parameter sets it was not given", () => {
    const cache = new SnapshotCache();
    const h265: MediaInfo = { ...VIDEO, codec: "h265", parameterSets: undefined };
    cache.push(unit(true), stream(1, [AUDIO, h265]), 1);
    assert.equal(cache.input()!.codec, "H265");
    assert.deepEqual(cache.input()!.parameterSets, []);
    cache.push(unit(true), stream(2, [{ ...VIDEO, codec: "VP8" }, AUDIO]), 2);
    assert.deepEqual(cache.state, { state: "no-video", codecs: ["VP8"] });
    assert.equal(cache.input(), undefined);
  });

  it("drops a GOP over its bounds and keeps nothing until the next keyframe", () => {
    const cache = new SnapshotCache({ maxFrames: 3, maxBytes: 1000 });
    const s = stream();
    cache.push(unit(true), s, 1);
    cache.push(unit(false), s, 2);
    cache.push(unit(false), s, 3);
    cache.push(unit(false), s, 4);
    assert.equal(cache.input(), undefined);
    cache.push(unit(true, "video", 2000), s, 5);
    assert.equal(cache.input(), undefined);
    cache.push(unit(true), s, 6);
    assert.equal(cache.input()!.frames.length, 1);
  });
});
