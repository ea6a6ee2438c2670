import "../../helpers/loopback-namespace";
import assert from "node:assert/strict";
import { type DemoClip, loadDemoClip } from "../../../src/demo/clip";
import { H264Packetizer } from "../../../src/demo/h264-packetizer";
import type { LiveSink } from "../../../src/mp4/live-fanout";
import type { AccessUnit, StreamInfo } from "../../../src/rtp/stream-info";
import {
  MaxViewersError,
  NoStreamError,
  TooManyFromAddressError,
  UnsupportedLiveCodecError,
} from "../../../src/webrtc/errors";
import { StreamViewers } from "../../../src/webrtc/stream-viewers";
import { videoMedia } from "../../helpers/rtp-fixtures";

// The fMP4 viewers of a StreamViewers: fed by the same access units as its WebRTC viewers, and held
// to the same limits.

class Sink implements LiveSink {
  readonly chunks: Buffer[] = [];
  readonly writableLength = 0;
  ended = false;
  write(chunk: Buffer): boolean {
    this.chunks.push(chunk);
    return true;
  }
  end(): void {
    this.ended = true;
  }
}

let clip: DemoClip;

function feed(viewers: StreamViewers, stream: StreamInfo, frames: number, from = 0): void {
  const packetizer = new H264Packetizer({ payloadType: 96, ssrc: 9, initialSequence: 1 + from * 10 });
  for (let i = from; i < from + frames; i++) {
    const source = clip.frames[i % clip.frames.length]!;
    const timestamp = i * 3600;
    const unit: AccessUnit = {
      kind: "video",
      mid: "0",
      timestamp,
      keyframe: source.keyframe,
      packets: packetizer.packetize(source.nals, timestamp),
    };
    viewers.push(unit, stream);
  }
}

function viewerSet(maxViewers: number, gopLimits?: { maxFrames: number }): StreamViewers {
  return new StreamViewers({
    ...(gopLimits !== undefined ? { gopLimits } : {}),
    maxViewers,
    maxViewersPerAddress: 2,
    ice: { iceServers: [], additionalHostAddresses: [] },
    audio: false,
  });
}

describe("StreamViewers: fMP4 viewers", () => {
  before(async () => {
    clip = await loadDemoClip();
  });

  it("refuses before a keyframe, then gives the init segment and the GOP; limits count them; close ends them", async () => {
    const viewers = viewerSet(3);
    assert.throws(() => viewers.addLiveViewer("10.0.0.1", () => new Sink()), NoStreamError);
    feed(viewers, { id: "cam", session: 1, media: [videoMedia("H264", [clip.sps, clip.pps])] }, 10);
    assert.equal(viewers.liveState().state, "waiting", "nobody watches: nothing is muxed");
    let mime = "";
    const sink = new Sink();
    const leave = viewers.addLiveViewer("10.0.0.1", (type) => {
      mime = type;
      return sink;
    });
    assert.match(mime, /^video\/mp4; codecs="avc1\.4d401e"$/);
    assert.equal(viewers.liveState().state, "live");
    assert.equal(sink.chunks[0]?.toString("latin1", 4, 8), "ftyp");
    assert.equal(sink.chunks.length, 1 + 10, "the init segment and the ten frames since the keyframe");
    const second = new Sink();
    viewers.addLiveViewer("10.0.0.1", () => second);
    assert.throws(() => viewers.addLiveViewer("10.0.0.1", () => new Sink()), TooManyFromAddressError);
    viewers.addLiveViewer("10.0.0.2", () => new Sink());
    assert.throws(() => viewers.addLiveViewer("10.0.0.3", () => new Sink()), MaxViewersError);
    assert.equal(viewers.liveViewers, 3);
    leave();
    assert.equal(viewers.liveViewers, 2);
    assert.equal(viewers.stats().stream.fmp4Viewers, 2);
    viewers.addLiveViewer("10.0.0.1", () => new Sink());
    await viewers.close();
    assert.equal(second.ended, true);
    assert.throws(() => viewers.addLiveViewer("10.0.0.4", () => new Sink()), NoStreamError);
  });

  it("a codec change ends the fMP4 viewers, whose init segment was for the old codec", async () => {
    const viewers = viewerSet(3);
    feed(viewers, { id: "cam", session: 1, media: [videoMedia("H264", [clip.sps, clip.pps])] }, 3);
    const sink = new Sink();
    viewers.addLiveViewer("10.0.0.1", () => sink);
    const unit: AccessUnit = {
      kind: "video",
      mid: "0",
      timestamp: 0,
      keyframe: true,
      packets: [Buffer.alloc(20)],
    };
    viewers.push(unit, { id: "cam", session: 2, media: [videoMedia("H265", [])] });
    assert.equal(sink.ended, true);
    assert.equal(viewers.liveViewers, 0);
    await viewers.close();
  });

  it("an H.265 camera is refused with what to do instead", async () => {
    const viewers = viewerSet(3);
    const unit: AccessUnit = {
      kind: "video",
      mid: "0",
      timestamp: 0,
      keyframe: true,
      packets: [Buffer.alloc(20)],
    };
    viewers.push(unit, { id: "cam", session: 1, media: [videoMedia("H265", [])] });
    assert.throws(
      () => viewers.addLiveViewer("10.0.0.1", () => new Sink()),
      (err: unknown) => err instanceof UnsupportedLiveCodecError && /H265/.test(err.detail),
    );
    await viewers.close();
  });

  it("a refused request muxes nothing; the last viewer leaving stops the muxer, and the next starts it afresh", async () => {
    const stream: StreamInfo = { id: "cam", session: 1, media: [videoMedia("H264", [clip.sps, clip.pps])] };
    const full = viewerSet(0);
    feed(full, stream, 10);
    assert.throws(() => full.addLiveViewer("10.0.0.1", () => new Sink()), MaxViewersError);
    assert.equal(full.liveState().state, "waiting");
    await full.close();

    const viewers = viewerSet(3);
    feed(viewers, stream, 10);
    const first = new Sink();
    const leave = viewers.addLiveViewer("10.0.0.1", () => first);
    feed(viewers, stream, 5, 10);
    assert.equal(first.chunks.length, 1 + 15);
    leave();
    assert.equal(viewers.liveState().state, "waiting");
    feed(viewers, stream, 5, 15);
    const next = new Sink();
    viewers.addLiveViewer("10.0.0.1", () => next);
    assert.equal(next.chunks[0]?.toString("latin1", 4, 8), "ftyp", "an init segment made afresh");
    assert.equal(next.chunks.length, 1 + 20, "and the GOP from the cache");
    await viewers.close();
  });

  it("a GOP longer than the cache holds: the viewer is taken on the parameter sets and starts at the next keyframe", async () => {
    // The demo clip's GOP is 50 frames; a cache of 5 has dropped the GOP by the 6th frame.
    const viewers = viewerSet(3, { maxFrames: 5 });
    const stream: StreamInfo = { id: "cam", session: 1, media: [videoMedia("H264", [clip.sps, clip.pps])] };
    feed(viewers, stream, 20);
    let mime = "";
    const sink = new Sink();
    viewers.addLiveViewer("10.0.0.1", (type) => {
      mime = type;
      return sink;
    });
    assert.match(mime, /^video\/mp4; codecs="avc1\.4d401e"$/);
    assert.equal(sink.chunks.length, 0, "nothing before the next keyframe");
    feed(viewers, stream, 35, 20);
    assert.equal(sink.chunks[0]?.toString("latin1", 4, 8), "ftyp");
    assert.equal(sink.chunks.length, 1 + 5, "the init segment, then frames 50 to 54 (50 a keyframe)");
    await viewers.close();
  });
});
