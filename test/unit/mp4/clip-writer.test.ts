import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type DemoClip, loadDemoClip } from "../../../src/demo/clip";
import { H264Packetizer } from "../../../src/demo/h264-packetizer";
import { type ClipOutput, type ClipWriter, createClipWriter } from "../../../src/mp4/clip-writer";
import { bufferOutput, ClipTooLargeError, fileOutput } from "../../../src/mp4/outputs";
import type { AccessUnit, MediaInfo, StreamInfo } from "../../../src/rtp/stream-info";
import { runTool } from "../../helpers/decode";
import { PCMA_AUDIO } from "../../helpers/media-info-fixtures";
import { rtpPacket, videoMedia } from "../../helpers/rtp-fixtures";
import { requireTool } from "../../helpers/tools";

// The writer fed with the demo clip (640x360, 25 fps, an IDR every 50 frames), packetized as a
// camera would, and PCMA audio; every file is read back by ffprobe and decoded by ffmpeg.

const FRAME_TICKS = 3600;
const T0 = Date.UTC(2026, 11, 7, 12, 0, 0);
const PCMA = PCMA_AUDIO;

let clip: DemoClip;

function streamOf(audio: boolean, session = 1): StreamInfo {
  return { id: "cam", session, media: [videoMedia("H264", [clip.sps, clip.pps]), ...(audio ? [PCMA] : [])] };
}

/** Video access units of clip frames from..from+count-1 (looping), as RtspSource emits them. */
class Camera {
  private readonly packetizer: H264Packetizer;
  private frame = 0;

  constructor(
    private readonly firstTimestamp = 1000,
    ssrc = 0x1234,
  ) {
    this.packetizer = new H264Packetizer({ payloadType: 96, ssrc, initialSequence: 100 });
  }

  /** The next frame: its unit and its arrival time. */
  next(): { unit: AccessUnit; at: number } {
    const index = this.frame++;
    const source = clip.frames[index % clip.frames.length]!;
    const timestamp = this.firstTimestamp + index * FRAME_TICKS;
    const packets = this.packetizer.packetize(source.nals, timestamp);
    return {
      unit: { kind: "video", mid: "0", timestamp: timestamp >>> 0, keyframe: source.keyframe, packets },
      at: T0 + index * 40,
    };
  }

  skip(frames: number): void {
    for (let i = 0; i < frames; i++) this.next();
  }
}

/** 20 ms of A-law silence number `index`, arriving with the video of the same instant. */
function pcmaUnit(index: number, ssrc = 0x55): { unit: AccessUnit; at: number } {
  const timestamp = 5000 + index * 160;
  const packet = rtpPacket({ seq: index, ts: timestamp, pt: 8, ssrc, payload: Buffer.alloc(160, 0xd5) });
  return {
    unit: { kind: "audio", mid: "1", timestamp, keyframe: false, packets: [packet] },
    at: T0 + index * 20,
  };
}

/** AAC-LC frames (raw, ADTS headers cut off) of a 16 kHz mono sine, made by ffmpeg. */
async function aacFrames(seconds: number): Promise<Buffer[]> {
  const args = [
    "-v",
    "error",
    "-f",
    "lavfi",
    "-i",
    `sine=frequency=440:sample_rate=16000:duration=${seconds}`,
  ];
  const result = await runTool(requireTool("ffmpeg"), [
    ...args,
    "-c:a",
    "aac",
    "-b:a",
    "32k",
    "-f",
    "adts",
    "pipe:1",
  ]);
  assert.equal(result.stderr, "");
  const frames: Buffer[] = [];
  for (let at = 0; at + 7 <= result.stdout.length; ) {
    const adts = result.stdout.subarray(at);
    const length = ((adts[3]! & 0x03) << 11) | (adts[4]! << 3) | (adts[5]! >> 5);
    const header = (adts[1]! & 0x01) === 1 ? 7 : 9;
    frames.push(adts.subarray(header, length));
    at += length;
  }
  return frames;
}

/** RFC 3640 AAC-hbr payloads of two AUs each: AU-headers-length 32, then 13-bit sizes with index 0. */
function aacUnits(frames: readonly Buffer[]): { unit: AccessUnit; at: number }[] {
  const units: { unit: AccessUnit; at: number }[] = [];
  for (let i = 0; i + 1 < frames.length; i += 2) {
    const [a, b] = [frames[i]!, frames[i + 1]!];
    const headers = Buffer.alloc(6);
    headers.writeUInt16BE(32, 0);
    headers.writeUInt16BE(a.length << 3, 2);
    headers.writeUInt16BE(b.length << 3, 4);
    const timestamp = 7000 + i * 1024;
    const packet = rtpPacket({
      seq: i,
      ts: timestamp,
      pt: 97,
      ssrc: 0x66,
      payload: Buffer.concat([headers, a, b]),
    });
    units.push({
      unit: { kind: "audio", mid: "1", timestamp, keyframe: false, packets: [packet] },
      at: T0 + (i * 1024 * 1000) / 16000,
    });
  }
  return units;
}

/** Feeds `frames` video frames, with 20 ms audio units between them when `audio`; counts what was taken. */
function feed(writer: ClipWriter, camera: Camera, frames: number, audio = false, audioStart = 0): number {
  let taken = 0;
  for (let i = 0; i < frames; i++) {
    const { unit, at } = camera.next();
    if (writer.add(unit, at)) taken++;
    if (audio) {
      for (const k of [0, 1]) {
        const a = pcmaUnit(audioStart + i * 2 + k);
        writer.add(a.unit, a.at);
      }
    }
  }
  return taken;
}

interface Probed {
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

async function probe(file: Buffer): Promise<Probed[]> {
  const args = ["-v", "error", "-count_frames", "-show_streams", "-of", "json", "-i", "pipe:0"];
  const result = await runTool(requireTool("ffprobe"), args, file);
  assert.equal(result.stderr, "");
  return (JSON.parse(result.stdout.toString("utf8")) as { streams: Probed[] }).streams;
}

async function decodeErrors(file: Buffer): Promise<string> {
  const result = await runTool(
    requireTool("ffmpeg"),
    ["-v", "error", "-i", "pipe:0", "-f", "null", "-"],
    file,
  );
  return `${result.stderr}${result.code === 0 ? "" : `exit ${result.code}`}`;
}

/** The top-level box types of an ISO BMFF file. */
function topLevelBoxes(file: Buffer): string[] {
  const types: string[] = [];
  for (let offset = 0; offset + 8 <= file.length; ) {
    types.push(file.toString("latin1", offset + 4, offset + 8));
    offset += file.readUInt32BE(offset);
  }
  return types;
}

/** An output whose writes wait until `open()`, or fail with `error` from write number `failAt` on. */
class TestOutput implements ClipOutput {
  readonly chunks: Buffer[] = [];
  closed = 0;
  private gate: Promise<void> | undefined;
  private release: (() => void) | undefined;

  constructor(
    private readonly failAt = Number.POSITIVE_INFINITY,
    private readonly error: unknown = new Error("disk full"),
  ) {}

  hold(): void {
    this.gate = new Promise((resolve) => {
      this.release = resolve;
    });
  }

  open(): void {
    this.release?.();
    this.gate = undefined;
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.chunks.length + 1 >= this.failAt) throw this.error;
    await this.gate;
    this.chunks.push(Buffer.from(chunk));
  }

  async close(): Promise<void> {
    this.closed++;
  }
}

describe("createClipWriter", function () {
  this.timeout(30_000);

  before(async () => {
    clip = await loadDemoClip();
  });

  it("writes a fragmented MP4 of H.264 and PCMA that ffprobe reads and ffmpeg decodes", async () => {
    const output = bufferOutput(10_000_000);
    const writer = createClipWriter({ output, stream: streamOf(true) });
    assert.equal(writer.started, false);
    assert.equal(feed(writer, new Camera(), 100, true), 100);
    assert.equal(writer.started, true);
    assert.equal(writer.durationS, 4);
    const summary = await writer.finish();
    const file = output.buffer();
    assert.deepEqual(summary, {
      bytes: file.length,
      durationS: 4,
      start: new Date(T0),
      end: new Date(T0 + 4000),
      video: { codec: "H264", width: 640, height: 360 },
      audio: { codec: "PCMA", sampleRate: 8000, channels: 1 },
    });
    assert.equal(writer.bytes, file.length);
    assert.equal(writer.dropped, 0);
    // A fragment per GOP: a crash loses at most the last one.
    // (A third fragment holds the audio after the last video frame; mfra indexes the fragments.)
    assert.deepEqual(topLevelBoxes(file), [
      "ftyp",
      "moov",
      "moof",
      "mdat",
      "moof",
      "mdat",
      "moof",
      "mdat",
      "mfra",
    ]);

    const [video, audio] = await probe(file);
    assert.deepEqual(
      [video?.codec_name, video?.width, video?.height, video?.nb_read_frames],
      ["h264", 640, 360, "100"],
    );
    assert.equal(Number(video?.duration), 4);
    assert.deepEqual([audio?.codec_name, audio?.sample_rate, audio?.channels], ["pcm_alaw", "8000", 1]);
    assert.equal(Number(audio?.start_time), 0);
    assert.equal(Number(audio?.duration), 4);
    assert.equal(await decodeErrors(file), "");
  });

  it("writes AAC from RFC 3640 packets of two AUs each, timed 1024 samples apart", async () => {
    const aac: MediaInfo = {
      mid: "1",
      kind: "audio",
      codec: "MPEG4-GENERIC",
      payloadType: 97,
      clockRate: 16000,
      fmtp: { mode: "AAC-hbr", sizelength: "13", indexlength: "3", indexdeltalength: "3", config: "1408" },
      relayable: false,
    };
    const output = bufferOutput(10_000_000);
    const writer = createClipWriter({
      output,
      stream: { id: "cam", session: 1, media: [videoMedia("H264", [clip.sps, clip.pps]), aac] },
    });
    const audio = aacUnits((await aacFrames(4)).slice(0, 62));
    const camera = new Camera();
    for (let i = 0; i < 100; i++) {
      const video = camera.next();
      assert.equal(writer.add(video.unit, video.at), true);
      while (audio.length > 0 && audio[0]!.at < video.at + 40) {
        const next = audio.shift()!;
        assert.equal(writer.add(next.unit, next.at), true);
      }
    }
    const summary = await writer.finish();
    assert.deepEqual(summary.audio, { codec: "AAC", sampleRate: 16000, channels: 1 });
    const [, track] = await probe(output.buffer());
    assert.deepEqual([track?.codec_name, track?.sample_rate, track?.channels], ["aac", "16000", 1]);
    assert.equal(track?.nb_read_frames, "62");
    assert.equal(Number(track?.duration), 62 * 0.064);
    assert.equal(await decodeErrors(output.buffer()), "");
  });

  it("starts at the first keyframe, carries RTP timestamps across the wrap, and leaves out audio it is told to", async () => {
    const output = bufferOutput(10_000_000);
    const writer = createClipWriter({ output, stream: streamOf(true), audio: false });
    assert.equal(writer.audioSkipped, "switched-off");
    const camera = new Camera(2 ** 32 - 60 * FRAME_TICKS);
    camera.skip(10);
    assert.equal(feed(writer, camera, 40, true), 0, "frames 10..49 come before the keyframe");
    assert.equal(writer.started, false);
    assert.equal(feed(writer, camera, 75, true), 75);
    assert.equal(writer.dropped, 0, "waiting for the keyframe is not dropping");
    const summary = await writer.finish();
    assert.equal(summary.durationS, 3);
    assert.equal(summary.audio, undefined);
    const streams = await probe(output.buffer());
    assert.deepEqual(
      streams.map((s) => [s.codec_type, s.nb_read_frames, Number(s.duration)]),
      [["video", "75", 3]],
    );
    assert.equal(await decodeErrors(output.buffer()), "");
  });

  it("drops a broken frame and what depends on it, up to the next keyframe, and counts them", async () => {
    const output = bufferOutput(10_000_000);
    const writer = createClipWriter({ output, stream: streamOf(false) });
    const camera = new Camera();
    assert.equal(feed(writer, camera, 20), 20);
    let broken = camera.next();
    while (broken.unit.packets.length < 3) broken = camera.next();
    const lost = { ...broken.unit, packets: [broken.unit.packets[0]!, ...broken.unit.packets.slice(2)] };
    assert.equal(writer.add(lost, broken.at), false, "an FU-A run with a hole");
    const after = 50 - (camera as unknown as { frame: number }).frame;
    assert.equal(feed(writer, camera, after), 0, "P-frames up to the next keyframe");
    assert.equal(feed(writer, camera, 10), 10);
    const garbage: AccessUnit = {
      kind: "video",
      mid: "0",
      timestamp: 0,
      keyframe: false,
      packets: [Buffer.from("x")],
    };
    assert.equal(writer.add(garbage), false, "not RTP");
    assert.deepEqual(writer.drops, {
      malformed: 2,
      otherSession: 0,
      awaitingKeyframe: after,
      overflow: 0,
      audio: 0,
    });
    assert.equal(writer.dropped, 2 + after);
    await writer.finish();
    const [video] = await probe(output.buffer());
    assert.equal(video?.nb_read_frames, String(20 + 10));
    assert.equal(await decodeErrors(output.buffer()), "");
  });

  it("drops units of another session: another msg.stream, another SSRC", async () => {
    const output = bufferOutput(10_000_000);
    const writer = createClipWriter({ output, stream: streamOf(true) });
    const camera = new Camera();
    feed(writer, camera, 5, true);
    const next = camera.next();
    assert.equal(writer.add(next.unit, next.at, streamOf(true, 2)), false);
    assert.equal(writer.add(next.unit, next.at, { ...streamOf(true), id: "other" }), false);
    assert.equal(writer.add(new Camera(1000, 0x999).next().unit), false, "a restarted camera's SSRC");
    assert.equal(writer.add(pcmaUnit(20, 0x77).unit), false, "audio of another SSRC");
    assert.equal(writer.add(next.unit, next.at, streamOf(true)), true);
    assert.equal(writer.add({ ...next.unit, mid: "9" }), false, "a media the clip does not have");
    assert.equal(writer.drops.otherSession, 4);
    await writer.finish();
  });

  it("keeps audio in order: a unit that goes back in time or does not parse is dropped", async () => {
    const writer = createClipWriter({ output: bufferOutput(10_000_000), stream: streamOf(true) });
    feed(writer, new Camera(), 5, true);
    assert.equal(writer.add(pcmaUnit(3).unit, T0 + 60), false, "back in time");
    const bad = pcmaUnit(10);
    assert.equal(writer.add({ ...bad.unit, packets: [Buffer.from("x")] }, bad.at), false);
    const odd = pcmaUnit(11);
    assert.equal(writer.add({ ...odd.unit, packets: [odd.unit.packets[0]!, odd.unit.packets[0]!] }), false);
    assert.deepEqual([writer.drops.audio, writer.drops.malformed], [1, 2]);
    await writer.finish();
  });

  it("ends the audio track when audio stops, so that video is not held back for it", async () => {
    const output = new TestOutput();
    const writer = createClipWriter({ output, stream: streamOf(true) });
    const camera = new Camera();
    feed(writer, camera, 25, true);
    feed(writer, camera, 150);
    assert.equal(writer.add(pcmaUnit(400).unit, T0 + 8000), false, "after the audio track ended");
    assert.equal(writer.drops.audio, 1);
    // Video went out while the audio track was silent: the fragments of the first GOPs are written.
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(output.chunks.length >= 2, `${output.chunks.length} chunks written before finish`);
    const summary = await writer.finish();
    const file = Buffer.concat(output.chunks);
    const [video, audio] = await probe(file);
    assert.equal(video?.nb_read_frames, "175");
    assert.equal(Number(audio?.duration), 1);
    assert.equal(summary.audio?.codec, "PCMA");
    assert.equal(await decodeErrors(file), "");
  });

  it("audio alone keeps coming while the output is held: it is dropped past the queue's bound, not queued without end", async () => {
    const output = new TestOutput();
    output.hold();
    const writer = createClipWriter({ output, stream: streamOf(true) });
    feed(writer, new Camera(), 1);
    let taken = 0;
    for (let i = 0; i < 5000; i++) if (writer.add(pcmaUnit(i).unit, pcmaUnit(i).at)) taken++;
    assert.ok(writer.drops.overflow > 0, "audio past the bound was dropped");
    assert.equal(taken + writer.drops.overflow + writer.drops.audio, 5000);
    output.open();
    await writer.finish();
    assert.equal(await decodeErrors(Buffer.concat(output.chunks)), "");
  });

  it("writes a video-only file for a stream whose audio never comes", async () => {
    const output = new TestOutput();
    const writer = createClipWriter({ output, stream: streamOf(true) });
    feed(writer, new Camera(), 100);
    const summary = await writer.finish();
    assert.equal(summary.audio, undefined);
    const file = Buffer.concat(output.chunks);
    const streams = await probe(file);
    assert.deepEqual(streams.find((s) => s.codec_type === "video")?.nb_read_frames, "100");
    assert.equal(await decodeErrors(file), "");
  });

  it("drops to the next keyframe when the output cannot keep up, and keeps order", async () => {
    const output = new TestOutput();
    output.hold();
    const writer = createClipWriter({ output, stream: streamOf(false) });
    const camera = new Camera();
    let taken = 0;
    for (let i = 0; i < 1000; i++) {
      taken += feed(writer, camera, 1);
      if (i % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    assert.ok(writer.drops.overflow > 0, "some frames were dropped");
    assert.equal(taken + writer.drops.overflow, 1000);
    output.open();
    await writer.finish();
    const file = Buffer.concat(output.chunks);
    const [video] = await probe(file);
    assert.equal(video?.nb_read_frames, String(taken));
    assert.equal(await decodeErrors(file), "");
  });

  it("fails the clip with the output's error: finish rejects with it, and add takes nothing more", async () => {
    const error = new Error("ENOSPC: no space left on device");
    const output = new TestOutput(2, error);
    const writer = createClipWriter({ output, stream: streamOf(true) });
    const camera = new Camera();
    feed(writer, camera, 120, true);
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(writer.add(camera.next().unit), false);
    await assert.rejects(writer.finish(), (thrown) => thrown === error);
    assert.equal(output.closed, 1);
    await writer.abort();
    assert.equal(output.closed, 1, "abort after finish closes nothing twice");
  });

  it("bufferOutput: a clip over the cap fails with a clear error", async () => {
    const writer = createClipWriter({ output: bufferOutput(20_000), stream: streamOf(false) });
    feed(writer, new Camera(), 100);
    await assert.rejects(writer.finish(), (error) => {
      assert.ok(error instanceof ClipTooLargeError);
      assert.match(error.message, /20000-byte cap/);
      return true;
    });
  });

  it("abort returns at once though a write hangs, closes the output, and never rejects", async () => {
    const output = new TestOutput();
    output.hold();
    const writer = createClipWriter({ output, stream: streamOf(true) });
    feed(writer, new Camera(), 120, true);
    await writer.abort();
    assert.equal(output.closed, 1);
    assert.equal(writer.add(new Camera().next().unit), false);
    await assert.rejects(writer.finish(), /already finished or aborted/);
    await writer.abort();

    const failing = createClipWriter({
      output: { write: () => Promise.reject(new Error("w")), close: () => Promise.reject(new Error("c")) },
      stream: streamOf(false),
    });
    feed(failing, new Camera(), 60);
    await failing.abort();
  });

  it("finishes a clip that never started: no bytes, the output closed", async () => {
    const output = new TestOutput();
    const writer = createClipWriter({ output, stream: streamOf(true) });
    const camera = new Camera();
    camera.skip(1);
    feed(writer, camera, 10, true);
    const before = Date.now();
    const summary = await writer.finish();
    assert.equal(summary.bytes, 0);
    assert.equal(summary.durationS, 0);
    assert.equal(summary.video, undefined);
    assert.ok(summary.start.getTime() >= before);
    assert.equal(output.closed, 1);
    assert.equal(output.chunks.length, 0);
  });

  it("records no video track for a stream without H.264/H.265: every unit is refused", async () => {
    const writer = createClipWriter({
      output: bufferOutput(1000),
      stream: { id: "mic", session: 1, media: [PCMA] },
    });
    assert.equal(writer.add(pcmaUnit(0).unit), false);
    assert.equal(writer.add(new Camera().next().unit), false);
    assert.equal((await writer.finish()).bytes, 0);
  });
});

describe("clip outputs", () => {
  let dir = "";
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "clip-out-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("fileOutput appends to a new file, opened on the first write, and closes once", async () => {
    const path = join(dir, "a.mp4");
    const output = fileOutput(path);
    assert.equal(existsSync(path), false);
    await output.write(Buffer.from("abc"));
    await output.write(new Uint8Array([0x64, 0x65]));
    await Promise.all([output.close(), output.close()]);
    assert.equal((await readFile(path)).toString(), "abcde");
    await assert.rejects(output.write(Buffer.from("f")), /is closed/);
  });

  it("fileOutput never overwrites a file, and a clip that wrote nothing leaves none", async () => {
    const path = join(dir, "b.mp4");
    await writeFile(path, "keep");
    const output = fileOutput(path);
    await assert.rejects(output.write(Buffer.from("x")), { code: "EEXIST" });
    await output.close();
    assert.equal((await readFile(path)).toString(), "keep");
    const unused = fileOutput(join(dir, "c.mp4"));
    await unused.close();
    assert.equal(existsSync(join(dir, "c.mp4")), false);
  });

  it("bufferOutput keeps the bytes up to its cap", async () => {
    const output = bufferOutput(5);
    assert.equal(output.buffer().length, 0);
    await output.write(Buffer.from("ab"));
    await output.write(Buffer.from("cde"));
    await assert.rejects(output.write(Buffer.from("f")), ClipTooLargeError);
    await output.close();
    assert.equal(output.buffer().toString(), "abcde");
    assert.equal(output.buffer().toString(), "abcde");
  });
});
