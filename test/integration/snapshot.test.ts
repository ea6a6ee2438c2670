import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { depacketizeNals, toAnnexB } from "../../src/rtp/nal-depacketizer";
import type { SnapshotError } from "../../src/snapshot/errors";
import { decodeLastPicture } from "../../src/snapshot/ffmpeg-jpeg";
import { SnapshotCache } from "../../src/snapshot/snapshot-cache";
import { type SnapshotInput, SnapshotTaker } from "../../src/snapshot/snapshot-taker";
import { snapshotLatency } from "../bench/snapshot-latency";
import { runTool } from "../helpers/decode";
import { GstRtspServer } from "../helpers/gst-server";
import { SeededRandom } from "../helpers/seeded-random";
import { SourceHarness } from "../helpers/source-harness";
import { requireTool } from "../helpers/tools";
import { waitFor } from "../helpers/wait";

/** A frame's NAL units; a test frame that cannot be rebuilt fails the test. */
function wholeNals(packets: readonly Buffer[]): Buffer[] {
  const result = depacketizeNals("H264", packets);
  assert.ok(result.ok, result.ok ? "" : result.error);
  return result.nals;
}

const WIDTH = 640;
const HEIGHT = 360;

/** Pictures as 8-bit gray, WIDTH×HEIGHT each, decoded by ffmpeg from `input` (a file's bytes on stdin). */
async function grayFrames(input: Buffer, format: string): Promise<Buffer[]> {
  const args = ["-v", "error", "-f", format, "-i", "pipe:0", "-f", "rawvideo", "-pix_fmt", "gray", "pipe:1"];
  const result = await runTool(requireTool("ffmpeg"), args, input);
  assert.equal(result.code, 0, result.stderr);
  const size = WIDTH * HEIGHT;
  const frames: Buffer[] = [];
  for (let at = 0; at + size <= result.stdout.length; at += size)
    frames.push(result.stdout.subarray(at, at + size));
  return frames;
}

function meanAbsoluteDifference(a: Buffer, b: Buffer): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

async function probeJpeg(jpeg: Buffer): Promise<{ codec_name: string; width: number; height: number }> {
  const args = [
    "-v",
    "error",
    "-f",
    "image2pipe",
    "-i",
    "pipe:0",
    "-show_entries",
    "stream=codec_name,width,height",
  ];
  const result = await runTool(requireTool("ffprobe"), [...args, "-of", "json"], jpeg);
  assert.equal(result.code, 0, result.stderr);
  return (
    JSON.parse(result.stdout.toString("utf8")) as {
      streams: { codec_name: string; width: number; height: number }[];
    }
  ).streams[0]!;
}

/** An executable standing in for ffmpeg that writes its pid to `pidFile` and sleeps. */
function sleepingFfmpeg(dir: string): { file: string; pidFile: string } {
  const file = path.join(dir, "slow-ffmpeg");
  const pidFile = path.join(dir, "pid");
  writeFileSync(file, `#!/bin/sh\necho $$ > "${pidFile}"\nexec sleep 30\n`);
  chmodSync(file, 0o755);
  return { file, pidFile };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("snapshot: the newest picture as a JPEG (against GStreamer's RTSP server)", function () {
  this.timeout(60_000);
  let server: GstRtspServer;
  let harness: SourceHarness;
  const cache = new SnapshotCache();
  let dir: string;

  before(async () => {
    requireTool("ffmpeg");
    dir = mkdtempSync(path.join(tmpdir(), "snapshot-test-"));
    server = await GstRtspServer.start({ codec: "h264", width: WIDTH, height: HEIGHT, fps: 25, keyint: 50 });
    harness = new SourceHarness({ url: server.url, media: "video" });
    harness.source.on("frame", (unit, stream) => cache.push(unit, stream));
    harness.source.start();
    await waitFor(() => (cache.input()?.frames.length ?? 0) >= 12, 20_000, "12 frames after a keyframe");
  });

  after(async () => {
    await harness?.close();
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("decodes the newest cached frame, not the keyframe, at the camera's size", async () => {
    const input = cache.input()!;
    assert.ok(input.frames.length >= 12 && input.frames.length <= 50, `${input.frames.length} frames cached`);
    const taker = new SnapshotTaker(() => input, { ffmpegPath: "ffmpeg", quality: 90 });
    try {
      const snapshot = await taker.take();
      assert.deepEqual(await probeJpeg(snapshot.jpeg), { codec_name: "mjpeg", width: WIDTH, height: HEIGHT });
      assert.equal(snapshot.width, WIDTH);
      assert.equal(snapshot.height, HEIGHT);
      assert.equal(snapshot.frames, input.frames.length);
      // The same frames decoded by ffmpeg one by one: the JPEG is closest to the last of them.
      const stream = Buffer.concat([
        toAnnexB(input.parameterSets),
        ...input.frames.map((f) => toAnnexB(wholeNals(f.packets))),
      ]);
      const pictures = await grayFrames(stream, "h264");
      assert.equal(pictures.length, input.frames.length);
      const [picture] = await grayFrames(snapshot.jpeg, "image2pipe");
      const distances = pictures.map((p) => meanAbsoluteDifference(p, picture!));
      const best = distances.indexOf(Math.min(...distances));
      assert.equal(
        best,
        pictures.length - 1,
        `closest to picture ${best}: ${distances.map((d) => d.toFixed(1))}`,
      );
      assert.ok(
        distances[0]! > 2 * distances.at(-1)!,
        `keyframe ${distances[0]} vs newest ${distances.at(-1)}`,
      );
    } finally {
      taker.close();
    }
  });

  it("scales to maxWidth, keeping the aspect", async () => {
    const taker = new SnapshotTaker(() => cache.input(), { ffmpegPath: "ffmpeg", maxWidth: 320, quality: 1 });
    try {
      const snapshot = await taker.take();
      assert.deepEqual([snapshot.width, snapshot.height], [320, 180]);
    } finally {
      taker.close();
    }
  });

  it("coalesces concurrent requests: one ffmpeg at a time, later askers share the next run", async () => {
    const taker = new SnapshotTaker(() => cache.input(), { ffmpegPath: "ffmpeg" });
    try {
      const burst = await Promise.all(Array.from({ length: 10 }, () => taker.take()));
      assert.equal(taker.spawned, 1);
      for (const s of burst) assert.equal(s.jpeg, burst[0]!.jpeg);

      const first = taker.take();
      await waitFor(() => taker.busy, 5000, "ffmpeg running");
      const later: Promise<unknown>[] = [];
      for (let i = 0; i < 5; i++) {
        later.push(taker.take());
        await new Promise((resolve) => setImmediate(resolve));
      }
      const [one, ...rest] = (await Promise.all([first, ...later])) as { jpeg: Buffer }[];
      assert.equal(taker.spawned, 3);
      for (const s of rest) assert.equal(s.jpeg, rest[0]!.jpeg);
      assert.notEqual(rest[0]!.jpeg, one!.jpeg);
    } finally {
      taker.close();
    }
  });

  it("refuses past the queue limit", async () => {
    const taker = new SnapshotTaker(() => cache.input(), { ffmpegPath: "ffmpeg", maxWaiting: 2 });
    try {
      const asked = [taker.take(), taker.take()];
      await assert.rejects(taker.take(), (err: SnapshotError) => err.code === "busy");
      await Promise.all(asked);
    } finally {
      taker.close();
    }
  });

  it("says clearly that ffmpeg is missing", async () => {
    const missing = path.join(dir, "no-such-ffmpeg");
    const taker = new SnapshotTaker(() => cache.input(), { ffmpegPath: missing });
    await assert.rejects(taker.take(), (err: SnapshotError) => {
      assert.equal(err.code, "ffmpeg-missing");
      assert.equal(err.message, `ffmpeg not found at "${missing}": install ffmpeg or set the path`);
      return true;
    });
    taker.close();
  });

  it("an empty path, or one through a file, is a missing ffmpeg too; an aborted job starts nothing", async () => {
    const job = { codec: "H264" as const, annexB: [], frameCount: 1, quality: 80, timeoutMs: 5000 };
    for (const ffmpegPath of ["", "/etc/hostname/ffmpeg"]) {
      await assert.rejects(
        decodeLastPicture({ ...job, ffmpegPath }),
        (err: SnapshotError) => err.code === "ffmpeg-missing" && err.message.includes(`"${ffmpegPath}"`),
      );
    }
    let spawned = 0;
    await assert.rejects(
      decodeLastPicture({
        ...job,
        ffmpegPath: "ffmpeg",
        signal: AbortSignal.abort(),
        onSpawn: () => spawned++,
      }),
      (err: SnapshotError) => err.code === "closed",
    );
    assert.equal(spawned, 0);
  });

  it("kills ffmpeg on close, and after the timeout", async () => {
    const slow = sleepingFfmpeg(dir);
    const closing = new SnapshotTaker(() => cache.input(), { ffmpegPath: slow.file });
    const asked = closing.take();
    await waitFor(() => existsSync(slow.pidFile), 5000, "the stand-in to start");
    const pid = Number(readFileSync(slow.pidFile, "utf8"));
    assert.ok(alive(pid));
    closing.close();
    await assert.rejects(asked, (err: SnapshotError) => err.code === "closed");
    await waitFor(() => !alive(pid), 2000, "the child to be gone");
    await assert.rejects(closing.take(), (err: SnapshotError) => err.code === "closed");

    rmSync(slow.pidFile);
    const timing = new SnapshotTaker(() => cache.input(), { ffmpegPath: slow.file, timeoutMs: 300 });
    await assert.rejects(timing.take(), (err: SnapshotError) => err.code === "timeout");
    const timedOut = Number(readFileSync(slow.pidFile, "utf8"));
    await waitFor(() => !alive(timedOut), 2000, "the timed-out child to be gone");
    timing.close();
  });

  it("keeps every picture and takes the last when ffmpeg decodes fewer than counted", async () => {
    const input = cache.input()!;
    const chunks = [
      toAnnexB(input.parameterSets),
      ...input.frames.map((f) => toAnnexB(wholeNals(f.packets))),
    ];
    const job = {
      ffmpegPath: "ffmpeg",
      codec: "H264" as const,
      annexB: chunks,
      quality: 80,
      timeoutMs: 5000,
    };
    const exact = await decodeLastPicture({ ...job, frameCount: input.frames.length });
    const spawns: (number | undefined)[] = [];
    const fallback = await decodeLastPicture({
      ...job,
      frameCount: input.frames.length + 10,
      onSpawn: (pid) => spawns.push(pid),
    });
    assert.equal(spawns.length, 2);
    assert.equal(fallback.toString("hex"), exact.toString("hex"));
  });

  it("says decode-failed for what is no video", async () => {
    const job = { ffmpegPath: "ffmpeg", codec: "H264" as const, quality: 80, timeoutMs: 5000, frameCount: 1 };
    await assert.rejects(
      decodeLastPicture({ ...job, annexB: [Buffer.from("00000001ffffffff", "hex")] }),
      (err: SnapshotError) => err.code === "decode-failed",
    );
  });

  it("fails with no-keyframe before any frame", async () => {
    const empty: SnapshotInput | undefined = undefined;
    const taker = new SnapshotTaker(() => empty, { ffmpegPath: "ffmpeg" });
    await assert.rejects(taker.take(), (err: SnapshotError) => err.code === "no-keyframe");
    assert.equal(taker.spawned, 0);
    taker.close();
  });

  it("request → JPEG over 20 requests at random GOP phases (printed, not asserted)", async () => {
    const latency = await snapshotLatency({
      url: server.url,
      requests: 20,
      maxGapMs: 600,
      random: new SeededRandom(21),
    });
    assert.deepEqual([latency.width, latency.height], [WIDTH, HEIGHT]);
    assert.ok(new Set(latency.frames).size > 3, `GOP phases ${latency.frames}`);
    console.log(
      `      snapshot ${WIDTH}x${HEIGHT} 25 fps GOP 50: p50 ${latency.p50.toFixed(0)} ms, p95 ${latency.p95.toFixed(0)} ms, ` +
        `frames decoded ${Math.min(...latency.frames)}..${Math.max(...latency.frames)}`,
    );
  });
});

describe("snapshot of an H.265 camera (against GStreamer's RTSP server)", function () {
  this.timeout(60_000);

  it("decodes the newest picture at the camera's size", async () => {
    const server = await GstRtspServer.start({ codec: "h265", width: 320, height: 240, fps: 25, keyint: 25 });
    const cache = new SnapshotCache();
    const harness = new SourceHarness({ url: server.url, media: "video" });
    harness.source.on("frame", (unit, stream) => cache.push(unit, stream));
    const taker = new SnapshotTaker(() => cache.input(), { ffmpegPath: "ffmpeg" });
    try {
      harness.source.start();
      await waitFor(() => (cache.input()?.frames.length ?? 0) >= 3, 20_000, "3 frames after a keyframe");
      const snapshot = await taker.take();
      assert.deepEqual([snapshot.width, snapshot.height], [320, 240]);
      assert.ok(snapshot.frames >= 3, `${snapshot.frames} frames decoded`);
      assert.equal((await probeJpeg(snapshot.jpeg)).codec_name, "mjpeg");
    } finally {
      taker.close();
      await harness.close();
      await server.stop();
    }
  });
});
