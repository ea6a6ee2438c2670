import assert from "node:assert/strict";
import type { AccessUnit } from "../../../src/rtp/stream-info";
import { followMedia, isNewStream, pipeOf, pipeOutgrown } from "../../../src/webrtc/media-pipes";
import { H264_VIDEO, PCMA_AUDIO } from "../../helpers/media-info-fixtures";

const H264 = H264_VIDEO;
const PCMA = PCMA_AUDIO;

const unit = (kind: "video" | "audio", mid: string): AccessUnit => ({
  kind,
  mid,
  timestamp: 0,
  keyframe: false,
  packets: [],
});

describe("media pipes", () => {
  it("a new stream is another id or session, not another object (Node-RED clones messages)", () => {
    const stream = { id: "cam", session: 1, media: [H264] };
    assert.equal(isNewStream(undefined, stream), true);
    assert.equal(isNewStream(stream, { ...stream, media: [...stream.media] }), false);
    assert.equal(isNewStream(stream, { ...stream, session: 2 }), true);
    assert.equal(isNewStream(stream, { ...stream, id: "other" }), true);
  });

  it("follows new media with the same normalizer, and makes or drops pipes", () => {
    const pipe = followMedia(undefined, H264, { maxPacketSize: 1200 });
    assert.ok(pipe);
    const normalizer = pipe.normalizer;
    const later = { ...H264, width: 1280, height: 720 };
    assert.equal(followMedia(pipe, later), pipe);
    assert.equal(pipe.normalizer, normalizer, "its state (sequence, parameter sets) goes on");
    assert.equal(pipe.media, later);
    assert.equal(followMedia(pipe, undefined), undefined);
  });

  it("a pipe is outgrown by another codec or clock rate, or when its media goes; not by new parameters", () => {
    const pipe = followMedia(undefined, H264);
    assert.equal(pipeOutgrown(undefined, H264), false);
    assert.equal(pipeOutgrown(pipe, { ...H264, fmtp: { "profile-level-id": "640028" } }), false);
    assert.equal(pipeOutgrown(pipe, { ...H264, codec: "H265" }), true);
    assert.equal(pipeOutgrown(pipe, { ...H264, clockRate: 48000 }), true);
    assert.equal(pipeOutgrown(pipe, undefined), true);
  });

  it("routes a unit to its pipe by kind and media id", () => {
    const video = followMedia(undefined, H264);
    const audio = followMedia(undefined, PCMA);
    assert.equal(pipeOf(unit("video", "0"), video, audio), video);
    assert.equal(pipeOf(unit("audio", "1"), video, audio), audio);
    assert.equal(pipeOf(unit("video", "1"), video, audio), undefined, "another medium's id");
    assert.equal(pipeOf(unit("audio", "1"), video, undefined), undefined, "audio not relayed");
  });
});
