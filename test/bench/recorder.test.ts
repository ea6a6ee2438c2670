import assert from "node:assert/strict";
import { H264Packetizer } from "../../src/demo/h264-packetizer";
import {
  clipAccessUnits,
  frameDueMs,
  parseReadFrames,
  type RecorderRunResult,
  recorderRow,
} from "./recorder";
import { type SnapshotLatency, snapshotRow } from "./snapshot-latency";

describe("bench: the recorder's and the snapshot's rows", () => {
  it("the clip's frames as access units: 90 kHz timestamps at the frame rate, looping from the IDR", () => {
    const idr = Buffer.from([0x65, 1, 2, 3]);
    const slice = Buffer.from([0x41, 4, 5]);
    // A NAL unit larger than one packet's payload: FU-A fragments, as a camera sends it.
    const big = Buffer.concat([Buffer.from([0x41]), Buffer.alloc(2000, 7)]);
    const frames = [
      { nals: [idr], keyframe: true },
      { nals: [slice], keyframe: false },
      { nals: [big], keyframe: false },
    ];
    const units = clipAccessUnits(frames, new H264Packetizer({ payloadType: 96, ssrc: 5 }), 30, 5);
    assert.deepEqual(
      units.map((u) => [u.timestamp, u.keyframe, u.packets.length]),
      [
        [0, true, 1],
        [3000, false, 1],
        [6000, false, 2],
        [9000, true, 1],
        [12000, false, 1],
      ],
    );
    for (const unit of units) {
      assert.equal(unit.kind, "video");
      for (const packet of unit.packets) assert.equal(packet.readUInt32BE(4), unit.timestamp);
      // The marker on the access unit's last packet only.
      assert.deepEqual(
        unit.packets.map((p) => (p[1]! & 0x80) !== 0),
        unit.packets.map((_, i) => i === unit.packets.length - 1),
      );
    }
    // 29.97 fps: timestamps rounded to whole ticks.
    const ntsc = clipAccessUnits(frames, new H264Packetizer({ payloadType: 96, ssrc: 5 }), 30000 / 1001, 2);
    assert.equal(ntsc[1]!.timestamp, 3003);
    assert.throws(
      () => clipAccessUnits([], new H264Packetizer({ payloadType: 96, ssrc: 5 }), 30, 1),
      RangeError,
    );
  });

  it("frames due at the frame rate, the streams spread over one interval", () => {
    assert.equal(frameDueMs(0, 0, 1, 25), 0);
    assert.equal(frameDueMs(3, 0, 1, 25), 120);
    assert.equal(frameDueMs(3, 2, 4, 25), 140);
    assert.equal(frameDueMs(1, 0, 0, 25), 40);
  });

  it("ffprobe's frame count, 0 when it found no stream", () => {
    assert.equal(parseReadFrames('{"programs":[],"streams":[{"nb_read_frames":"300"}]}'), 300);
    assert.equal(parseReadFrames('{"streams":[]}'), 0);
    assert.equal(parseReadFrames('{"streams":[{"nb_read_frames":"N/A"}]}'), 0);
    assert.throws(() => parseReadFrames("not json"), SyntaxError);
  });

  it("a run's figures: cores per stream, µs per frame, MB written, frames decoded", () => {
    const run: RecorderRunResult = {
      streams: 2,
      frames: 300,
      fps: 30,
      cpuUserUs: 150_000,
      cpuSystemUs: 50_000,
      wallUs: 10_000_000,
      controlFrames: 150,
      controlCpuUs: 30_000,
      files: [
        { path: "a.mp4", bytes: 3 * 1024 * 1024, durationS: 10, dropped: 0 },
        { path: "b.mp4", bytes: 1024 * 1024, durationS: 10, dropped: 2 },
      ],
    };
    assert.deepEqual(
      recorderRow(run, [
        { frames: 300, errors: 0 },
        { frames: 298, errors: 1 },
      ]),
      {
        streams: 2,
        coresPerStream: 0.01,
        usPerFrame: 200_000 / 600,
        systemUsPerFrame: 50_000 / 600,
        controlUsPerFrame: 100,
        netUsPerFrame: 200_000 / 600 - 100,
        netCoresPerStream: ((200_000 / 600 - 100) * 30) / 1e6,
        mbWritten: 4,
        framesDecoded: 598,
        framesFed: 600,
        decodeErrors: 1,
        dropped: 2,
      },
    );
    const empty = recorderRow({ ...run, frames: 0, wallUs: 0, controlFrames: 0, files: [] }, []);
    assert.ok(Number.isNaN(empty.coresPerStream) && Number.isNaN(empty.usPerFrame));
    assert.ok(Number.isNaN(empty.controlUsPerFrame) && Number.isNaN(empty.netCoresPerStream));
    assert.equal(empty.mbWritten, 0);
  });

  it("the snapshot's row: p50 / p95 as measured, the largest, frames per request", () => {
    const latency: SnapshotLatency = {
      samples: [120, 310, 95],
      p50: 120,
      p95: 310,
      frames: [1, 45, 12],
      width: 1280,
      height: 720,
    };
    assert.deepEqual(snapshotRow(latency), {
      requests: 3,
      p50: 120,
      p95: 310,
      max: 310,
      framesMean: 58 / 3,
      framesMax: 45,
      width: 1280,
      height: 720,
    });
    const none = snapshotRow({ ...latency, samples: [], frames: [], p50: Number.NaN, p95: Number.NaN });
    assert.equal(none.requests, 0);
    assert.ok(Number.isNaN(none.max) && Number.isNaN(none.framesMean) && Number.isNaN(none.framesMax));
  });
});
