import assert from "node:assert/strict";
import { statSync } from "node:fs";
import { join } from "node:path";
import { DEMO_CLIP_FPS, loadDemoClip, parseDemoClip, resolveDemoClipPath } from "../../../src/demo/clip";
import { h264NalType } from "../../../src/rtp/annexb";

describe("demo clip", () => {
  it("is found from the compiled module's directory and from deeper ones, and is at most 800 KB", () => {
    const path = resolveDemoClipPath();
    assert.match(path, /src[/\\]demo[/\\]clip[/\\]demo\.h264$/);
    assert.equal(resolveDemoClipPath(join(__dirname, "a", "b")), path);
    assert.ok(statSync(path).size <= 800 * 1024);
    assert.throws(() => resolveDemoClipPath("/"), /not found/);
  });

  it("holds 10 s at 25 fps: 250 frames, an IDR with SPS and PPS every 50, Main profile", async () => {
    const clip = await loadDemoClip();
    assert.equal(DEMO_CLIP_FPS, 25);
    assert.equal(clip.frames.length, 250);
    const keyframes = clip.frames.flatMap((frame, index) => (frame.keyframe ? [index] : []));
    assert.deepEqual(keyframes, [0, 50, 100, 150, 200]);
    for (const index of keyframes) {
      const types = clip.frames[index]!.nals.map(h264NalType);
      assert.deepEqual(
        types.filter((type) => type !== 6),
        [7, 8, 5],
        `frame ${index}`,
      );
    }
    for (const frame of clip.frames) {
      const slices = frame.nals.filter((nal) => h264NalType(nal) === 1 || h264NalType(nal) === 5);
      assert.equal(slices.length, 1);
    }
    assert.equal(clip.profileLevelId, "4d401e");
    assert.equal(h264NalType(clip.sps), 7);
    assert.equal(h264NalType(clip.pps), 8);
  });

  it("refuses streams it cannot loop", () => {
    const annexB = (...nals: string[]): Buffer =>
      Buffer.from(nals.map((nal) => `00000001${nal}`).join(""), "hex");
    assert.equal(parseDemoClip(Buffer.alloc(0)), "no SPS");
    assert.equal(parseDemoClip(annexB("674d401e")), "no PPS");
    assert.equal(parseDemoClip(annexB("674d401e", "68ef3c80")), "no frames");
    assert.equal(parseDemoClip(annexB("674d401e", "68ef3c80", "419a00")), "the first frame is not an IDR");
    const parsed = parseDemoClip(annexB("674d401e", "68ef3c80", "658800", "419a00"));
    assert.ok(typeof parsed === "object");
    assert.deepEqual(
      parsed.frames.map((frame) => frame.keyframe),
      [true, false],
    );
  });

  it("rejects with the path when the file is missing", async () => {
    await assert.rejects(loadDemoClip("/nonexistent/demo.h264"), /ENOENT/);
  });
});
