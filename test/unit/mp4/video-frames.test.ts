import assert from "node:assert/strict";
import { VideoFrames } from "../../../src/mp4/video-frames";
import { toAnnexB } from "../../../src/rtp/nal-depacketizer";
import { annexB } from "../../helpers/depacketize";
import { b64, hex, rtpPacket, videoMedia } from "../../helpers/rtp-fixtures";

// A Dahua camera's H.265 parameter sets, as its SDP gives them (test/fixtures/sdp/dahua.sdp): 2688x1520.
const FMTP = {
  "sprop-vps": "QAEMAf//AWAAAAMAkAAAAwAAAwCWlZgJ",
  "sprop-sps": "QgEBAWAAAAMAkAAAAwAAAwCWoAFQIAXxZZWaSTK8BaAgAAADACAAAAMDIQ==",
  "sprop-pps": "RAHBcrRiQA==",
};
const VPS = b64(FMTP["sprop-vps"]);
const SPS = b64(FMTP["sprop-sps"]);
const PPS = b64(FMTP["sprop-pps"]);
const IDR = hex("2601 aabbcc");
const TRAIL = hex("0201 ddee");

const packet = (payload: Buffer, seq = 1) => rtpPacket({ seq, ts: 0, payload, marker: true });

describe("VideoFrames", () => {
  it("opens an H.265 file with the fmtp's parameter sets before the first keyframe", () => {
    const frames = new VideoFrames({ ...videoMedia("H265"), fmtp: FMTP });
    const first = frames.frame([packet(IDR)], true);
    assert.ok(typeof first !== "string");
    assert.equal(first.keyframe, true);
    assert.equal(toAnnexB(first.nals).toString("hex"), annexB([VPS, SPS, PPS, IDR]).toString("hex"));
    assert.deepEqual([frames.size?.width, frames.size?.height], [2688, 1520]);
    assert.equal(frames.codecString.slice(0, 4), "hvc1");
    const next = frames.frame([packet(TRAIL, 2)], false);
    assert.ok(typeof next !== "string");
    assert.deepEqual([toAnnexB(next.nals), next.keyframe], [annexB([TRAIL]), false]);
  });

  it("takes in-band parameter sets seen before the keyframe, and adds none a keyframe carries", () => {
    const frames = new VideoFrames(videoMedia("H265"));
    assert.equal(frames.frame([packet(IDR)], true), "no-parameter-sets");
    const sets = frames.frame([packet(VPS), packet(SPS, 2), packet(PPS, 3), packet(TRAIL, 4)], true);
    assert.ok(typeof sets !== "string" && !sets.keyframe, "a frame without a keyframe opens nothing");
    const first = frames.frame([packet(PPS), packet(IDR, 2)], true);
    assert.ok(typeof first !== "string");
    assert.equal(toAnnexB(first.nals).toString("hex"), annexB([VPS, SPS, PPS, IDR]).toString("hex"));
  });

  it("refuses to open on a broken SPS or broken packets", () => {
    const frames = new VideoFrames({ ...videoMedia("H265"), fmtp: { ...FMTP, "sprop-sps": "QgEB" } });
    assert.equal(frames.frame([packet(IDR)], true), "no-parameter-sets");
    assert.equal(frames.frame([Buffer.from("junk")], true), "malformed");
    assert.equal(frames.frame([], true), "malformed");
  });

  it("names H.264 by its profile, or a baseline default before it knows one", () => {
    const frames = new VideoFrames(videoMedia("H264"));
    assert.equal(frames.codecString, "avc1.42e01f");
  });
});
