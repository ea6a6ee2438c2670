import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ClipSummary, type ClipWriter, createClipWriter } from "../../src/mp4/clip-writer";
import { fileOutput } from "../../src/mp4/outputs";
import type { StreamInfo } from "../../src/rtp/stream-info";
import { runTool } from "../helpers/decode";
import { GstRtspServer, type GstServerOptions } from "../helpers/gst-server";
import { SourceHarness } from "../helpers/source-harness";
import { requireTool } from "../helpers/tools";

interface ProbedStream {
  codec_type: string;
  codec_name: string;
  width?: number;
  height?: number;
  sample_rate?: string;
  channels?: number;
  nb_read_frames?: string;
  duration?: string;
  start_time?: string;
}

async function probe(path: string): Promise<ProbedStream[]> {
  const args = ["-v", "error", "-count_frames", "-show_streams", "-of", "json", path];
  const result = await runTool(requireTool("ffprobe"), args);
  assert.equal(result.stderr, "", "ffprobe reads the file without complaint");
  return (JSON.parse(result.stdout.toString("utf8")) as { streams: ProbedStream[] }).streams;
}

/** Decodes every stream of the file; ffmpeg's stderr at -v error (empty for a clean file). */
async function decodeErrors(path: string): Promise<string> {
  const result = await runTool(requireTool("ffmpeg"), ["-v", "error", "-i", path, "-f", "null", "-"]);
  return `${result.stderr}${result.code === 0 ? "" : `exit ${result.code}`}`;
}

interface Recording {
  readonly summary: ClipSummary;
  readonly videoFrames: number;
  readonly writer: ClipWriter;
}

/** Records `frames` video frames of the server's stream, through RtspSource, into `path`. */
async function record(server: GstRtspServer, path: string, frames: number): Promise<Recording> {
  const harness = new SourceHarness({ url: server.url, transport: "tcp" });
  let writer: ClipWriter | undefined;
  let videoFrames = 0;
  let streamSeen: StreamInfo | undefined;
  harness.source.on("frame", (unit, stream) => {
    streamSeen ??= stream;
    writer ??= createClipWriter({ output: fileOutput(path), stream });
    if (videoFrames >= frames) return;
    if (writer.add(unit, Date.now(), stream) && unit.kind === "video") videoFrames++;
  });
  try {
    harness.source.start();
    await harness.until(() => videoFrames >= frames, 30_000, `${frames} frames recorded`);
  } finally {
    await harness.close();
  }
  assert.ok(writer !== undefined && streamSeen !== undefined);
  const summary = await writer.finish();
  return { summary, videoFrames, writer };
}

describe("mp4 clip writer on a real RTSP stream", function () {
  this.timeout(60_000);
  let server: GstRtspServer | undefined;
  let dir = "";

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "clip-"));
  });

  afterEach(async () => {
    await server?.stop();
    server = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  const FPS = 25;
  const FRAMES = 60;
  const cases: {
    title: string;
    server: GstServerOptions;
    video: [string, number, number];
    audio?: [codec: string, sampleRate: string, channels: number];
  }[] = [
    {
      title: "H.264 + PCMA",
      server: { codec: "h264", audio: "pcma", keyint: 25 },
      video: ["h264", 640, 360],
      audio: ["pcm_alaw", "8000", 1],
    },
    {
      title: "H.264 High 720p + AAC",
      server: { codec: "h264", profile: "high", width: 1280, height: 720, audio: "aac", keyint: 25 },
      video: ["h264", 1280, 720],
      audio: ["aac", "16000", 1],
    },
    {
      title: "H.265 + Opus",
      server: { codec: "h265", audio: "opus", keyint: 25 },
      video: ["hevc", 640, 360],
      audio: ["opus", "48000", 2],
    },
    {
      title: "H.264 with B-frames, no audio",
      server: { codec: "h264", bframes: 2, keyint: 25 },
      video: ["h264", 640, 360],
    },
    {
      title: "H.264 + PCMU, parameter sets only in the SDP",
      server: { codec: "h264", audio: "pcmu", spsInSdpOnly: true, keyint: 25 },
      video: ["h264", 640, 360],
      audio: ["pcm_mulaw", "8000", 1],
    },
  ];

  for (const c of cases) {
    it(`${c.title}: ffprobe reads what was recorded and ffmpeg decodes all of it`, async () => {
      server = await GstRtspServer.start({ ...c.server, fps: FPS });
      const path = join(dir, "clip.mp4");
      const { summary, videoFrames, writer } = await record(server, path, FRAMES);
      assert.equal(writer.dropped, 0, JSON.stringify(writer.drops));
      const bytes = await readFile(path);
      assert.equal(summary.bytes, bytes.length);
      assert.equal(bytes.subarray(4, 8).toString("latin1"), "ftyp");

      const streams = await probe(path);
      const video = streams.find((s) => s.codec_type === "video");
      assert.ok(video !== undefined);
      assert.deepEqual([video.codec_name, video.width, video.height], c.video);
      assert.equal(Number(video.nb_read_frames), videoFrames);
      const expected = videoFrames / FPS;
      assert.ok(Math.abs(Number(video.duration) - expected) <= 1 / FPS + 1e-6, `video ${video.duration} s`);
      assert.ok(Math.abs(summary.durationS - expected) <= 1 / FPS + 1e-6, `summary ${summary.durationS} s`);
      assert.deepEqual(summary.video, {
        codec: c.server.codec?.toUpperCase(),
        width: c.video[1],
        height: c.video[2],
      });

      const audio = streams.find((s) => s.codec_type === "audio");
      if (c.audio === undefined) {
        assert.equal(audio, undefined);
      } else {
        assert.ok(audio !== undefined, "an audio track");
        assert.deepEqual([audio.codec_name, audio.sample_rate, audio.channels], c.audio);
        // Audio and video start together within the arrival jitter of a loopback camera.
        assert.ok(Math.abs(Number(audio.start_time ?? 0)) < 0.3, `audio starts at ${audio.start_time}`);
        assert.ok(Math.abs(Number(audio.duration) - expected) < 0.5, `audio ${audio.duration} s`);
      }
      assert.equal(await decodeErrors(path), "");
    });
  }
});
