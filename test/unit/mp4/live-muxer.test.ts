import assert from "node:assert/strict";
import { type DemoClip, loadDemoClip } from "../../../src/demo/clip";
import { H264Packetizer } from "../../../src/demo/h264-packetizer";
import { LiveFanout, type LiveSink } from "../../../src/mp4/live-fanout";
import { LiveMuxer } from "../../../src/mp4/live-muxer";
import type { AccessUnit, StreamInfo } from "../../../src/rtp/stream-info";
import { runTool } from "../../helpers/decode";
import { videoMedia } from "../../helpers/rtp-fixtures";
import { requireTool } from "../../helpers/tools";

// The live fMP4 stream of the demo clip (640x360, 25 fps, an IDR every 50 frames), packetized as a
// camera would: what one HTTP viewer receives is read back by ffprobe and decoded by ffmpeg.

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

function camera(stream: StreamInfo, firstTimestamp: number) {
  const packetizer = new H264Packetizer({ payloadType: 96, ssrc: 7, initialSequence: 1 });
  let index = 0;
  return (): [AccessUnit, StreamInfo] => {
    const source = clip.frames[index % clip.frames.length]!;
    const timestamp = (firstTimestamp + index * FRAME_TICKS) >>> 0;
    index++;
    const packets = packetizer.packetize(source.nals, timestamp);
    return [{ kind: "video", mid: "0", timestamp, keyframe: source.keyframe, packets }, stream];
  };
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
    const stream: StreamInfo = { id: "cam", session: 1, media: [videoMedia("H264", [clip.sps, clip.pps])] };
    const next = camera(stream, 0xffff_0000); // wraps within the run
    // Begins mid-GOP: frames before the first keyframe are left out.
    for (let i = 0; i < 10; i++) next();
    assert.deepEqual(muxer.state, { state: "waiting" });
    for (let i = 0; i < 140; i++) muxer.push(...next());
    assert.equal(muxer.state.state, "live");
    assert.match((muxer.state as { mime: string }).mime, /^video\/mp4; codecs="avc1\.[0-9a-f]{6}"$/);
    const info = await probe(sink.bytes());
    assert.deepEqual(info, { frames: 100, width: 640, height: 360, codec: "h264" });
    await decodesClean(sink.bytes());
  });

  it("a camera restart keeps one timeline going forward, and a joiner starts at the current GOP", async () => {
    const fanout = new LiveFanout();
    const muxer = new LiveMuxer(fanout);
    const first = new Collect();
    fanout.add(first);
    const media = [videoMedia("H264", [clip.sps, clip.pps])];
    const old = camera({ id: "cam", session: 1, media }, 5000);
    for (let i = 0; i < 60; i++) muxer.push(...old());
    const after = camera({ id: "cam", session: 2, media }, 123);
    for (let i = 0; i < 55; i++) muxer.push(...after());
    const joiner = new Collect();
    fanout.add(joiner);
    const decodeTimes = first.chunks
      .filter((chunk) => chunk.toString("latin1", 4, 8) === "moof")
      .map((chunk) => Number(chunk.readBigUInt64BE(chunk.indexOf("tfdt", 0, "latin1") + 8)));
    assert.equal(decodeTimes.length, 60 + 55);
    for (let i = 1; i < decodeTimes.length; i++)
      assert.ok(decodeTimes[i]! > decodeTimes[i - 1]!, `fragment ${i}`);
    await decodesClean(first.bytes());
    // The joiner: init, then the 5 frames since the restart's second keyframe.
    assert.deepEqual(await probe(joiner.bytes()), { frames: 5, width: 640, height: 360, codec: "h264" });
  });

  it("says when the stream's video is not H.264, and drops frames that cannot be rebuilt until a keyframe", () => {
    const fanout = new LiveFanout();
    const muxer = new LiveMuxer(fanout);
    const h265: StreamInfo = { id: "cam", session: 1, media: [videoMedia("H265", [])] };
    muxer.push({ kind: "video", mid: "0", timestamp: 0, keyframe: true, packets: [Buffer.alloc(20)] }, h265);
    assert.deepEqual(muxer.state, { state: "unsupported", codec: "H265" });
    const stream: StreamInfo = { id: "cam", session: 2, media: [videoMedia("H264", [clip.sps, clip.pps])] };
    const next = camera(stream, 0);
    const sink = new Collect();
    fanout.add(sink);
    for (let i = 0; i < 3; i++) muxer.push(...next());
    const sent = sink.chunks.length;
    muxer.push(
      {
        kind: "video",
        mid: "0",
        timestamp: 4 * FRAME_TICKS,
        keyframe: false,
        packets: [Buffer.from([0x80])],
      },
      stream,
    );
    for (let i = 0; i < 10; i++) muxer.push(...next());
    assert.equal(sink.chunks.length, sent, "nothing after a broken frame before the next keyframe");
    assert.equal(muxer.dropped, 11);
  });
});
