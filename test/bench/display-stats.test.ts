import assert from "node:assert/strict";
import { fragment, initSegment } from "../../src/mp4/live-boxes";
import { ArrivalLog, type NodeRedHooks, recordWebrtcOutArrivals } from "./arrival-log";
import {
  type ArrivalSnapshot,
  anchorsOnKeyframe,
  bufferedAheadMs,
  clockOffsetMs,
  displaySummary,
  firstDecodeTime,
  frameDelays,
  mseRtpTimestamp,
  mseTimestamp,
  webrtcTimestamp,
} from "./display-stats";

// The display-delay section's arithmetic: which camera frame a page showed, and its delay.

const frame = (over: { rtpTimestamp?: number; mediaTime?: number; expected: number; presented: number }) => ({
  rtpTimestamp: over.rtpTimestamp,
  mediaTime: over.mediaTime ?? 0,
  expectedDisplayTime: over.expected,
  presentationTime: over.presented,
});

describe("display delay: mapping a shown frame to its arrival", () => {
  it("maps an fMP4 media time to the RTP timestamp it was muxed from, across the 32-bit wrap", () => {
    assert.equal(mseRtpTimestamp(1000 / 90_000), 1000);
    // One frame at 30 fps is 3000 ticks; media times come as doubles (Chromium keeps µs).
    assert.equal(mseRtpTimestamp(4000 / 90_000), 4000);
    assert.equal(mseRtpTimestamp(0.044444), 4000);
    assert.equal(mseRtpTimestamp((0xffff_ff00 + 900_000) / 90_000), (0xffff_ff00 + 900_000) % 2 ** 32);
  });

  it("takes each frame's delay from its arrival on the page's clock, once per frame, and counts the unmatched", () => {
    const arrivals: ArrivalSnapshot = {
      firstKeyframe: 1000,
      arrivals: [
        [1000, 5_000_000],
        [4000, 5_000_033],
      ],
      keyframes: [1000],
      clockOffsetMs: 0,
    };
    const page = {
      timeOrigin: 4_999_000,
      clockOffsetMs: 0,
      frames: [
        frame({ rtpTimestamp: 1000, expected: 1010, presented: 1005 }),
        frame({ rtpTimestamp: 1000, expected: 1050, presented: 1040 }),
        frame({ rtpTimestamp: 4000, expected: 1060, presented: 1050 }),
        frame({ rtpTimestamp: 7000, expected: 1090, presented: 1080 }),
        frame({ expected: 1100, presented: 1100 }),
      ],
    };
    assert.deepEqual(frameDelays(page, arrivals, webrtcTimestamp), {
      toDisplayMs: [10, 27],
      toPresentedMs: [5, 17],
      displayed: 3,
      unmatched: 1,
    });
    const mse = {
      timeOrigin: 4_999_000,
      clockOffsetMs: 0,
      frames: [
        frame({ mediaTime: 1000 / 90_000, expected: 1200, presented: 1190 }),
        frame({ mediaTime: 4000 / 90_000, expected: 1233, presented: 1220 }),
      ],
    };
    assert.deepEqual(frameDelays(mse, arrivals, mseTimestamp), {
      toDisplayMs: [200, 200],
      toPresentedMs: [190, 187],
      displayed: 2,
      unmatched: 0,
    });
  });

  it("puts both processes on Date.now()'s clock: each performance clock less its offset", () => {
    const arrivals: ArrivalSnapshot = {
      firstKeyframe: 0,
      arrivals: [[0, 1000]],
      keyframes: [0],
      clockOffsetMs: 1.5,
    };
    const page = {
      timeOrigin: 900,
      clockOffsetMs: -2,
      frames: [frame({ rtpTimestamp: 0, expected: 110, presented: 100 })],
    };
    // Arrived at 998.5 on the wall clock, shown at 1012 and handed on at 1002.
    assert.deepEqual(frameDelays(page, arrivals, webrtcTimestamp).toDisplayMs, [13.5]);
    assert.deepEqual(frameDelays(page, arrivals, webrtcTimestamp).toPresentedMs, [3.5]);
  });

  it("measures a performance clock's offset from Date.now() where Date.now() has just ticked", () => {
    // A wall clock in whole ms, and a performance clock 0.25 ms ahead of the true time, read 0.1 ms apart.
    let t = 1_000_000.05;
    const dateNow = () => Math.floor(t);
    const performanceEpoch = () => {
      t += 0.1;
      return t + 0.25;
    };
    const wall = () => {
      t += 0.1;
      return dateNow();
    };
    const offset = clockOffsetMs(wall, performanceEpoch, 5);
    // Read within 0.2 ms of the tick: 0.25 plus at most that.
    assert.ok(offset >= 0.25 && offset <= 0.45 + 1e-9, `offset ${offset}`);
  });

  it("takes the MSE player's lag behind its newest buffered frame from the frames that have it", () => {
    const at = (bufferedAhead?: number) => ({ ...frame({ expected: 0, presented: 0 }), bufferedAhead });
    assert.deepEqual(
      bufferedAheadMs({ timeOrigin: 0, clockOffsetMs: 0, frames: [at(0.25), at(), at(0.1)] }),
      [250, 100],
    );
  });

  it("summarises delays by nearest rank: p50, p95, max", () => {
    const delays = Array.from({ length: 100 }, (_, i) => i + 1);
    assert.deepEqual(displaySummary(delays), { p50: 50, p95: 95, max: 100, samples: 100 });
    const none = displaySummary([]);
    assert.equal(none.samples, 0);
    assert.ok(Number.isNaN(none.p50));
  });

  it("reads the first fragment's decode time from a live fMP4 stream's first bytes", () => {
    const init = initSegment({
      entry: "avc1",
      config: Buffer.from([1, 0x64, 0, 0x1f, 0xff, 0xe0, 0]),
      width: 64,
      height: 64,
      timescale: 90_000,
    });
    const first = fragment(7, {
      nals: [Buffer.from([0x65])],
      decodeTime: 2 ** 33 + 6000,
      duration: 3000,
      keyframe: true,
    });
    assert.equal(firstDecodeTime(init), undefined);
    assert.equal(firstDecodeTime(Buffer.concat([init, first.subarray(0, 20)])), undefined);
    assert.equal(firstDecodeTime(Buffer.concat([init, first])), 2 ** 33 + 6000);
  });

  it("holds the MSE mapping only when the first fragment lands on a keyframe that arrived", () => {
    const arrivals: ArrivalSnapshot = {
      firstKeyframe: 500,
      arrivals: [],
      keyframes: [500, 500 + 180_000],
      clockOffsetMs: 0,
    };
    assert.equal(anchorsOnKeyframe(500 + 180_000, arrivals), true);
    assert.equal(anchorsOnKeyframe(2 ** 32 + 500, arrivals), true, "past the wrap");
    // One frame off: the muxer's timeline is not the RTP's.
    assert.equal(anchorsOnKeyframe(183_500, arrivals), false);
  });
});

describe("ArrivalLog and its Node-RED hook", () => {
  it("keeps the first arrival of each timestamp, the first keyframe, and only the newest `capacity`", () => {
    const log = new ArrivalLog(2);
    log.record(100, false, 1);
    log.record(200, true, 2);
    log.record(200, false, 3);
    log.record(300, true, 4);
    const { clockOffsetMs: offset, ...rest } = log.snapshot();
    assert.deepEqual(rest, {
      firstKeyframe: 200,
      arrivals: [
        [200, 2],
        [300, 4],
      ],
      keyframes: [200, 300],
    });
    // This process's performance clock and its wall clock: well within a millisecond of each other here.
    assert.ok(Math.abs(offset) < 5, `offset ${offset}`);
    log.record(400, false, 5);
    assert.deepEqual(log.snapshot().keyframes, [300]);
    assert.equal(log.snapshot().firstKeyframe, 200);
  });

  it("records the video messages webrtc-out nodes receive, and nothing else, until removed", () => {
    const added = new Map<string, (event: object) => void>();
    const hooks: NodeRedHooks = {
      add: (name, hook) => added.set(name, hook as (event: object) => void),
      remove: (name) => added.delete(name),
    };
    const log = new ArrivalLog();
    const remove = recordWebrtcOutArrivals(hooks, log);
    const [hook] = [...added.values()];
    assert.ok(hook);
    const to = (type: string, rtp: object) => hook({ destination: { node: { type } }, msg: { rtp } });
    to("webrtc-out", { kind: "video", timestamp: 9000, keyframe: true });
    to("webrtc-out", { kind: "audio", timestamp: 160 });
    to("debug", { kind: "video", timestamp: 12000 });
    to("webrtc-out", { kind: "video", timestamp: "12000" });
    hook({});
    const snapshot = log.snapshot();
    assert.equal(snapshot.firstKeyframe, 9000);
    assert.deepEqual(
      snapshot.arrivals.map(([timestamp]) => timestamp),
      [9000],
    );
    // On the epoch clock, as the page's performance.timeOrigin + now() is.
    assert.ok(Math.abs((snapshot.arrivals[0]?.[1] ?? 0) - Date.now()) < 1000);
    remove();
    assert.equal(added.size, 0);
  });
});
