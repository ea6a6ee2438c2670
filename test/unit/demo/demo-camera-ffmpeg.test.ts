import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { DemoCamera, type DemoCameraOptions } from "../../../src/demo/demo-camera";

/** Real clients of the demo camera: Debian's ffprobe and ffmpeg. */

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(command: string, args: readonly string[], timeoutMs = 10000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: timeoutMs, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

interface ProbedStream {
  readonly codec_name?: string;
  readonly profile?: string;
  readonly width?: number;
  readonly height?: number;
  readonly r_frame_rate?: string;
}

async function probe(url: string, transport: "tcp" | "udp"): Promise<ProbedStream | Run> {
  const result = await run("/usr/bin/ffprobe", [
    "-v",
    "error",
    "-rtsp_transport",
    transport,
    "-show_streams",
    "-of",
    "json",
    url,
  ]);
  if (result.code !== 0) return result;
  const streams = (JSON.parse(result.stdout) as { streams: ProbedStream[] }).streams;
  assert.equal(streams.length, 1);
  return streams[0]!;
}

/** Decodes `seconds` of output; returns the decoded frame count and what ffmpeg said at level error. */
async function decode(url: string, seconds: number): Promise<{ frames: number; errors: string }> {
  const result = await run("/usr/bin/ffmpeg", [
    "-nostdin",
    "-v",
    "error",
    "-rtsp_transport",
    "tcp",
    "-i",
    url,
    "-t",
    String(seconds),
    "-f",
    "framecrc",
    "-",
  ]);
  assert.equal(result.code, 0, result.stderr);
  const frames = result.stdout.split("\n").filter((line) => /^0,/.test(line)).length;
  return { frames, errors: result.stderr };
}

describe("DemoCamera with ffprobe and ffmpeg", function () {
  this.timeout(20000);
  const cameras: DemoCamera[] = [];

  async function start(opts: DemoCameraOptions = {}): Promise<{ camera: DemoCamera; url: string }> {
    const camera = new DemoCamera(opts);
    cameras.push(camera);
    return { camera, url: (await camera.start()).url };
  }

  after(async () => {
    await Promise.all(cameras.map((camera) => camera.close()));
  });

  it("is probed as H.264 Main 640x360 at 25 fps over TCP and UDP, and decodes without errors", async () => {
    const { camera, url } = await start();
    const fromStart = await start({ startAt: "start" });
    const [tcp, udp, decodedFromStart, decodedMidGop] = await Promise.all([
      probe(url, "tcp"),
      probe(url, "udp"),
      decode(fromStart.url, 3),
      // The default random start joins mid-GOP, like a real camera.
      decode(url, 5),
    ]);
    for (const stream of [tcp, udp]) {
      assert.deepEqual(
        {
          codec: "codec_name" in stream ? stream.codec_name : stream,
          profile: "profile" in stream ? stream.profile : undefined,
          width: "width" in stream ? stream.width : undefined,
          height: "height" in stream ? stream.height : undefined,
          rate: "r_frame_rate" in stream ? stream.r_frame_rate : undefined,
        },
        { codec: "h264", profile: "Main", width: 640, height: 360, rate: "25/1" },
      );
    }
    assert.ok(decodedFromStart.frames >= 50, `${decodedFromStart.frames} frames decoded in 3 s`);
    assert.equal(decodedFromStart.errors, "");
    assert.ok(decodedMidGop.frames >= 50, `${decodedMidGop.frames} frames decoded in 5 s from mid-GOP`);
    // What a decoder that joins mid-GOP may say about the P frames before the first IDR, and nothing else.
    for (const line of decodedMidGop.errors.split("\n").filter(Boolean)) {
      assert.match(
        line,
        /^\[h264 @ 0x[0-9a-f]+\] (Missing reference picture, default is 0|decode_slice_header error)$/,
      );
    }
    assert.equal(camera.sessions, 0, "every client tore its session down");
  });

  it("turns ffprobe away with 401 without credentials or with wrong ones, and lets it in with them", async () => {
    const { url } = await start({ username: "alice", password: "s3cret!" });
    const withCredentials = (password: string): string =>
      url.replace("rtsp://", `rtsp://alice:${encodeURIComponent(password)}@`);
    const [none, wrong, right] = await Promise.all([
      probe(url, "tcp"),
      probe(withCredentials("guess"), "tcp"),
      probe(withCredentials("s3cret!"), "tcp"),
    ]);
    for (const refused of [none, wrong]) {
      assert.ok("code" in refused && refused.code !== 0, "ffprobe fails");
      assert.match(refused.stderr, /401 Unauthorized/);
    }
    assert.ok("codec_name" in right, JSON.stringify(right));
    assert.equal(right.codec_name, "h264");
  });
});
