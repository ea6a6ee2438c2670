import assert from "node:assert/strict";
import { type DemoClip, loadDemoClip } from "../../../src/demo/clip";
import { H264Packetizer } from "../../../src/demo/h264-packetizer";
import { LiveFanout, type LiveSink } from "../../../src/mp4/live-fanout";
import { LiveMuxer } from "../../../src/mp4/live-muxer";
import type { MediaInfo } from "../../../src/rtp/stream-info";
import type { OutputFrame } from "../../../src/webrtc/stream-normalizer";
import { runTool } from "../../helpers/decode";
import { videoMedia } from "../../helpers/rtp-fixtures";
import { requireTool } from "../../helpers/tools";

// The live fMP4 stream of the demo clip (640x360, 25 fps, an IDR every 50 frames), packetized as the
// relay's normaliser hands frames on: what one HTTP viewer receives is read back by ffprobe and decoded
// by ffmpeg.

const FRAME_TICKS = 3600;

class Collect implements LiveSink {
  readonly chunks: Buffer[] = [];
  readonly writableLength = 0;
  write(chunk: Buffer): boolean {
    this.chunks.push(chunk);
    return true;
  }
  end(): void {}
  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

let clip: DemoClip;

/** Normalised frames of one source session, from `firstTimestamp` on. */
function camera(sourceSession: number, firstTimestamp: number, firstFrame = 0) {
  const packetizer = new H264Packetizer({ payloadType: 96, ssrc: 7, initialSequence: 1 });
  let index = firstFrame;
  return (): OutputFrame => {
    const source = clip.frames[index % clip.frames.length]!;
    const timestamp = (firstTimestamp + (index - firstFrame) * FRAME_TICKS) >>> 0;
    index++;
    const packets = packetizer.packetize(source.nals, timestamp);
    return {
      kind: "video",
      mid: "0",
      timestamp,
      keyframe: source.keyframe,
      packets,
      receivedAt: 0,
      sourceSession,
    };
  };
}

function decodeTimes(sink: Collect): number[] {
  return sink.chunks
    .filter((chunk) => chunk.toString("latin1", 4, 8) === "moof")
    .map((chunk) => Number(chunk.readBigUInt64BE(chunk.indexOf("tfdt", 0, "latin1") + 8)));
}

async function probe(
  file: Buffer,
): Promise<{ frames: number; width: number; height: number; codec: string }> {
  const result = await runTool(
    requireTool("ffprobe"),
    [
      "-v",
      "error",
      "-count_frames",
      "-select_streams",
      "v:0",
      "-show_entries",
      "stream=codec_name,width,height,nb_read_frames",
      "-of",
      "json",
      "pipe:0",
    ],
    file,
  );
  assert.equal(result.code, 0, result.stderr);
  const [stream] = JSON.parse(result.stdout.toString()).streams;
  return {
    frames: Number(stream.nb_read_frames),
    width: stream.width,
    height: stream.height,
    codec: stream.codec_name,
  };
}

async function decodesClean(file: Buffer): Promise<void> {
  const result = await runTool(
    requireTool("ffmpeg"),
    ["-v", "error", "-i", "pipe:0", "-f", "null", "-"],
    file,
  );
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stderr.toString().trim(), "");
}

describe("LiveMuxer", function () {
  this.timeout(30_000);

  before(async () => {
    clip = await loadDemoClip();
  });

  it("a viewer's bytes are an fMP4 stream ffprobe reads at the clip's size and ffmpeg decodes", async () => {
    const fanout = new LiveFanout();
    const muxer = new LiveMuxer(fanout);
    const sink = new Collect();
    fanout.add(sink);
    muxer.setMedia(videoMedia("H264", [clip.sps, clip.pps]));
    const next = camera(1, 2 ** 32 - 100 * FRAME_TICKS); // wraps within the run
    // Begins mid-GOP: frames before the first keyframe are left out.
    for (let i = 0; i < 10; i++) next();
    assert.deepEqual(muxer.state, { state: "waiting" });
    assert.equal(muxer.active, false);
    const fed: OutputFrame[] = [];
    for (let i = 0; i < 140; i++) fed.push(next());
    for (const frame of fed) muxer.push(frame);
    assert.equal(muxer.active, true);
    assert.equal(muxer.state.state, "live");
    assert.match((muxer.state as { mime: string }).mime, /^video\/mp4; codecs="avc1\.[0-9a-f]{6}"$/);
    const info = await probe(sink.bytes());
    assert.deepEqual(info, { frames: 100, width: 640, height: 360, codec: "h264" });
    await decodesClean(sink.bytes());
    // A fragment's decode time is its frame's RTP timestamp, carried past the wrap.
    const times = decodeTimes(sink);
    const shown = fed.slice(40);
    assert.equal(times.length, shown.length);
    assert.equal(times[0], shown[0]?.timestamp);
    for (const [i, time] of times.entries()) assert.equal(time % 2 ** 32, shown[i]?.timestamp, `frame ${i}`);
    assert.ok((times.at(-1) ?? 0) > 2 ** 32, "past the wrap");
  });

  it("a camera restart keeps one timeline going forward, and a joiner starts at the current GOP", async () => {
    const fanout = new LiveFanout();
    const muxer = new LiveMuxer(fanout);
    const first = new Collect();
    fanout.add(first);
    const media: MediaInfo = videoMedia("H264", [clip.sps, clip.pps]);
    muxer.setMedia(media);
    const old = camera(1, 5000);
    for (let i = 0; i < 60; i++) muxer.push(old());
    // The restarted camera's frames, as the normaliser moves them: a second after the last, starting
    // at the clip's 10th frame (mid-GOP: nothing until its keyframe, the 50th), and after that keyframe
    // one stamped a step backwards, which the timeline does not follow.
    muxer.setMedia(media);
    const restarted = camera(2, 5000 + 85 * FRAME_TICKS, 10);
    for (let i = 10; i < 52; i++) muxer.push(restarted());
    muxer.push({ ...restarted(), timestamp: 100 });
    for (let i = 53; i < 65; i++) muxer.push(restarted());
    const joiner = new Collect();
    fanout.add(joiner);
    const times = decodeTimes(first);
    assert.equal(times.length, 60 + 15, "the old session's 60, the new one's from its keyframe");
    for (let i = 1; i < times.length; i++) assert.ok(times[i]! > times[i - 1]!, `fragment ${i}`);
    assert.equal(times[60], 5000 + (85 + 40) * FRAME_TICKS, "the restart's keyframe at its own timestamp");
    await decodesClean(first.bytes());
    // The joiner: init, then the 15 frames since the restart's keyframe.
    assert.deepEqual(await probe(joiner.bytes()), { frames: 15, width: 640, height: 360, codec: "h264" });
  });

  it("says when the stream's video is not H.264, and drops frames that cannot be rebuilt until a keyframe", () => {
    const fanout = new LiveFanout();
    const muxer = new LiveMuxer(fanout);
    muxer.setMedia(videoMedia("H265", []));
    muxer.push({
      kind: "video",
      mid: "0",
      timestamp: 0,
      keyframe: true,
      packets: [Buffer.alloc(20)],
      receivedAt: 0,
      sourceSession: 1,
    });
    assert.deepEqual(muxer.state, { state: "unsupported", codec: "H265" });
    muxer.setMedia(videoMedia("H264", [clip.sps, clip.pps]));
    assert.deepEqual(muxer.state, { state: "waiting" });
    const next = camera(2, 0);
    const sink = new Collect();
    fanout.add(sink);
    for (let i = 0; i < 3; i++) muxer.push(next());
    const sent = sink.chunks.length;
    muxer.push({
      kind: "video",
      mid: "0",
      timestamp: 4 * FRAME_TICKS,
      keyframe: false,
      packets: [Buffer.from([0x80])],
      receivedAt: 0,
      sourceSession: 2,
    });
    for (let i = 0; i < 10; i++) muxer.push(next());
    assert.equal(sink.chunks.length, sent, "nothing after a broken frame before the next keyframe");
    assert.equal(muxer.dropped, 11);
  });

  it("reset() forgets the timeline, the init segment and the GOP; fed again it starts afresh", async () => {
    const fanout = new LiveFanout();
    const muxer = new LiveMuxer(fanout);
    muxer.setMedia(videoMedia("H264", [clip.sps, clip.pps]));
    const next = camera(1, 1000);
    for (let i = 0; i < 60; i++) muxer.push(next());
    muxer.reset();
    assert.equal(muxer.active, false);
    assert.deepEqual(muxer.state, { state: "waiting" });
    const early = new Collect();
    fanout.add(early);
    assert.equal(early.chunks.length, 0, "no init segment and no GOP kept");
    for (let i = 60; i < 140; i++) muxer.push(next());
    const late = new Collect();
    fanout.add(late);
    assert.deepEqual(await probe(early.bytes()), { frames: 40, width: 640, height: 360, codec: "h264" });
    assert.deepEqual(await probe(late.bytes()), { frames: 40, width: 640, height: 360, codec: "h264" });
    assert.equal(decodeTimes(early)[0], 1000 + 100 * FRAME_TICKS, "the first keyframe after the reset");
  });
});
