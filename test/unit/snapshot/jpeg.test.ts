import assert from "node:assert/strict";
import { ffmpegArguments, qscaleFor } from "../../../src/snapshot/ffmpeg-jpeg";
import { jpegSize, lastJpeg } from "../../../src/snapshot/jpeg-size";
import { hex } from "../../helpers/rtp-fixtures";

/** SOI, an APP0 of 4 bytes, a padding FF, SOF0 of 1280×720 (8-bit, 3 components), SOS, some data, EOI. */
const JPEG = hex(
  "ffd8 ffe0 0004 0000 ff ffc0 0011 08 02d0 0500 03 012200 021101 031101 ffda 0002 1234ff00 ffd9",
);

describe("snapshot JPEG helpers", () => {
  it("jpegSize reads the frame header", () => {
    assert.deepEqual(jpegSize(JPEG), { width: 1280, height: 720 });
    // SOF2 (progressive) too
    assert.deepEqual(jpegSize(hex("ffd8 ffc2 0011 08 0010 0020 03")), { width: 32, height: 16 });
  });

  it("jpegSize gives nothing for what is not a JPEG with a frame header before its scan", () => {
    assert.equal(jpegSize(hex("89504e47")), undefined);
    assert.equal(jpegSize(hex("ffd8")), undefined);
    assert.equal(jpegSize(hex("ffd8 ffda 0002 ffd9")), undefined);
    assert.equal(jpegSize(hex("ffd8 00")), undefined);
    assert.equal(jpegSize(hex("ffd8 1234 5678")), undefined);
    assert.equal(jpegSize(hex("ffd8 ffc0 0011 08 02")), undefined);
    // Fill bytes before a marker are skipped
    assert.deepEqual(jpegSize(hex("ffd8 ffff ffc0 0011 08 0001 0002 03")), { width: 2, height: 1 });
    // DHT (C4) is not a frame header: it is skipped
    assert.deepEqual(jpegSize(hex("ffd8 ffc4 0002 ffc0 0011 08 0001 0002 03")), { width: 2, height: 1 });
  });

  it("lastJpeg takes the last whole image of an mjpeg run", () => {
    const two = Buffer.concat([JPEG, hex("ffd8ff e0 0002 ffd9")]);
    assert.equal(lastJpeg(two)?.toString("hex"), "ffd8ffe00002ffd9");
    assert.equal(lastJpeg(JPEG)?.length, JPEG.length);
    assert.equal(lastJpeg(hex("ffd8ffe0")), undefined);
    assert.equal(lastJpeg(hex("0000ffd9")), undefined);
  });

  it("qscaleFor maps 1..100 onto ffmpeg's 31..2, clamped", () => {
    assert.deepEqual([0, 1, 50, 80, 100, 150].map(qscaleFor), [31, 31, 17, 8, 2, 2]);
  });

  it("ffmpegArguments select the last picture, scale when asked, and read H.265 as hevc", () => {
    const job = {
      ffmpegPath: "ffmpeg",
      codec: "H265" as const,
      annexB: [],
      frameCount: 12,
      quality: 80,
      timeoutMs: 1,
    };
    const selected = ffmpegArguments({ ...job, maxWidth: 640 }, true);
    assert.deepEqual(selected.slice(selected.indexOf("-f"), selected.indexOf("-f") + 2), ["-f", "hevc"]);
    assert.equal(selected[selected.indexOf("-vf") + 1], "select=gte(n\\,11),scale=w=min(iw\\,640):h=-2");
    assert.equal(selected[selected.indexOf("-frames:v") + 1], "1");
    const all = ffmpegArguments(job, false);
    assert.ok(!all.includes("-vf") && !all.includes("-frames:v"), all.join(" "));
  });
});
