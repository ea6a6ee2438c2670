import assert from "node:assert/strict";
import { type GateOptions, RtpFanout } from "../../../src/fanout/fanout";
import { FrameHistory } from "../../../src/fanout/frame-history";
import { withParameterSets } from "../../../src/fanout/parameter-set-prefix";
import { ParameterSetStore } from "../../../src/rtp/parameter-set-store";
import type { AccessUnit, StreamInfo } from "../../../src/rtp/stream-info";
import { rtpPacket, videoMedia } from "../../helpers/rtp-fixtures";
import { TimerLedger } from "../../helpers/timer-ledger";
import { waitFor } from "../../helpers/wait";

const SPS = Buffer.from("6742001f95a814016e40", "hex");
const PPS = Buffer.from("68ce3c80", "hex");
const IDR = Buffer.from("6588840021", "hex");
const P_SLICE = Buffer.from("419a2438", "hex");

const rtp = (seq: number, ts: number, payload: Buffer, marker = true, pt = 96): Buffer =>
  rtpPacket({ seq, ts, payload, marker, pt });

function stream(session = 1, parameterSets: Buffer[] = [SPS, PPS]): StreamInfo {
  return {
    id: "cam",
    session,
    media: [
      videoMedia("H264", parameterSets),
      { mid: "1", kind: "audio", codec: "PCMA", payloadType: 8, clockRate: 8000, fmtp: {}, relayable: true },
    ],
  };
}

/** A source of frames with running sequence numbers: keyframes carry SPS/PPS in-band unless told not to. */
class Source {
  seq = 1000;
  audioSeq = 50;
  ts = 0;
  video(keyframe: boolean, inBandSets = true): AccessUnit {
    this.ts += 3600;
    const nals = keyframe ? (inBandSets ? [SPS, PPS, IDR] : [IDR]) : [P_SLICE];
    const packets = nals.map((nal, i) => rtp(this.seq++ & 0xffff, this.ts, nal, i === nals.length - 1));
    return { kind: "video", mid: "0", timestamp: this.ts, keyframe, packets };
  }
  audio(): AccessUnit {
    return {
      kind: "audio",
      mid: "1",
      timestamp: this.ts,
      keyframe: false,
      packets: [rtp(this.audioSeq++, this.ts, Buffer.from([0xd5, 0xd5]), true, 8)],
    };
  }
}

const gate = (over: Partial<GateOptions> = {}): GateOptions => ({
  open: true,
  filter: "all",
  autoCloseS: 0,
  preRoll: { kind: "none" },
  ...over,
});

type Delivery = { output: number; unit: AccessUnit; carry: string };

function fanoutWith(gates: GateOptions[]): {
  fanout: RtpFanout<string>;
  out: Delivery[];
  gates: [number, boolean, string][];
} {
  const fanout = new RtpFanout<string>({ gates });
  const out: Delivery[] = [];
  const gateEvents: [number, boolean, string][] = [];
  fanout.on("deliver", (output, unit, _stream, carry) => out.push({ output, unit, carry }));
  fanout.on("gate", (output, open, cause) => gateEvents.push([output, open, cause]));
  fanout.start();
  return { fanout, out, gates: gateEvents };
}

describe("RtpFanout", () => {
  it("hands every open output the same AccessUnit and the same Buffers, no copies", () => {
    const { fanout, out } = fanoutWith([gate(), gate()]);
    const src = new Source();
    const key = src.video(true);
    fanout.push(key, stream(), "k");
    assert.equal(out.length, 2);
    assert.equal(out[0]!.unit, key);
    assert.equal(out[1]!.unit, key);
    assert.equal(out[0]!.unit.packets[0], out[1]!.unit.packets[0]);
    fanout.dispose();
  });

  it("starts an output at a keyframe: frames before the first keyframe are held back, audio too", () => {
    const { fanout, out } = fanoutWith([gate(), gate({ filter: "audio" })]);
    const src = new Source();
    fanout.push(src.video(false), stream(), "p1");
    fanout.push(src.audio(), stream(), "a1");
    fanout.push(src.video(true), stream(), "k");
    fanout.push(src.audio(), stream(), "a2");
    fanout.push(src.video(false), stream(), "p2");
    assert.deepEqual(
      out.filter((d) => d.output === 0).map((d) => d.carry),
      ["k", "a2", "p2"],
    );
    // An audio-only output needs no keyframe.
    assert.deepEqual(
      out.filter((d) => d.output === 1).map((d) => d.carry),
      ["a1", "a2"],
    );
    fanout.dispose();
  });

  it("filters media per output", () => {
    const { fanout, out } = fanoutWith([gate({ filter: "video" }), gate({ filter: "audio" }), gate()]);
    const src = new Source();
    fanout.push(src.video(true), stream(), "k");
    fanout.push(src.audio(), stream(), "a");
    fanout.push(src.video(false), stream(), "p");
    const carries = (output: number) => out.filter((d) => d.output === output).map((d) => d.carry);
    assert.deepEqual(carries(0), ["k", "p"]);
    assert.deepEqual(carries(1), ["a"]);
    assert.deepEqual(carries(2), ["k", "a", "p"]);
    fanout.dispose();
  });

  it("opens and closes by command; a reopened output starts again at a keyframe", () => {
    const { fanout, out, gates } = fanoutWith([gate({ open: false })]);
    const src = new Source();
    fanout.push(src.video(true), stream(), "k1");
    assert.equal(out.length, 0, "closed at start");
    fanout.open(0);
    fanout.push(src.video(false), stream(), "p1");
    fanout.push(src.video(true), stream(), "k2");
    fanout.push(src.video(false), stream(), "p2");
    fanout.close(0);
    fanout.push(src.video(false), stream(), "p3");
    fanout.open(0);
    fanout.push(src.video(false), stream(), "p4");
    fanout.push(src.video(true), stream(), "k3");
    assert.deepEqual(
      out.map((d) => d.carry),
      ["k2", "p2", "k3"],
    );
    assert.deepEqual(gates, [
      [0, true, "command"],
      [0, false, "command"],
      [0, true, "command"],
    ]);
    fanout.dispose();
  });

  it("closes an output by itself after its seconds; a new open restarts the timer; msg seconds override", async () => {
    // Auto-close after 1 s; opened again after 0.6 s and looked at 0.6 s later: the first timer would
    // have closed it by then, the restarted one not yet. Late timers only lengthen the sleeps: each has
    // 0.4 s to spare.
    const { fanout, gates } = fanoutWith([gate({ open: false, autoCloseS: 1 }), gate({ open: false })]);
    fanout.open(0);
    fanout.open(1, 0.01);
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(fanout.isOpen(0), true, "open 0.6 s after the open");
    fanout.open(0); // retriggered: another second from now
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(fanout.isOpen(0), true, "still open 1.2 s after the first open");
    assert.ok((fanout.stats().outputs[0]!.closesInS ?? -1) >= 0);
    await waitFor(() => !fanout.isOpen(0), 5000, "output 0 closing by itself");
    assert.equal(fanout.isOpen(1), false);
    assert.deepEqual(gates, [
      [0, true, "command"],
      [1, true, "command"],
      [1, false, "timer"],
      [0, false, "timer"],
    ]);
    fanout.dispose();
  });

  it("puts the parameter sets before the opening keyframe when it lacks them, in a STAP-A just before it", () => {
    const { fanout, out } = fanoutWith([gate({ open: false })]);
    const src = new Source();
    fanout.push(src.video(true, false), stream(), "k1");
    fanout.open(0);
    const key = src.video(true, false);
    fanout.push(key, stream(), "k2");
    fanout.push(src.video(false), stream(), "p");
    const first = out[0]!.unit;
    assert.equal(first.packets.length, 2);
    assert.equal(first.packets[1], key.packets[0], "the keyframe's own packet, not a copy");
    assert.equal(out[1]!.unit.packets.length, 1, "later frames untouched");
    const stapA = first.packets[0]!;
    const expected = Buffer.concat([
      Buffer.from([0x80, 96, 0x03, 0xe8]), // seq 1000: just before the keyframe's 1001
      Buffer.alloc(4),
      Buffer.from([0x11, 0x22, 0x33, 0x44]),
      Buffer.from([0x78, 0x00, SPS.length]),
      SPS,
      Buffer.from([0x00, PPS.length]),
      PPS,
    ]);
    expected.writeUInt32BE(key.timestamp, 4);
    assert.deepEqual(stapA, expected);
    fanout.dispose();
  });

  it("pre-roll: replays from the last keyframe on open, in order, then goes live", () => {
    const { fanout, out } = fanoutWith([gate({ open: false, preRoll: { kind: "gop" } })]);
    const src = new Source();
    fanout.push(src.video(true), stream(), "k1");
    fanout.push(src.video(false), stream(), "p1");
    fanout.push(src.video(true), stream(), "k2");
    fanout.push(src.audio(), stream(), "a");
    fanout.push(src.video(false), stream(), "p2");
    fanout.open(0);
    fanout.push(src.video(false), stream(), "p3");
    assert.deepEqual(
      out.map((d) => d.carry),
      ["k2", "a", "p2", "p3"],
    );
    fanout.dispose();
  });

  it("pre-roll of N seconds: from the latest keyframe at least N seconds back", () => {
    const fanout = new RtpFanout<string>({
      gates: [gate({ open: false, preRoll: { kind: "seconds", seconds: 3 } })],
    });
    const out: string[] = [];
    fanout.on("deliver", (_o, _u, _s, carry) => out.push(carry));
    const src = new Source();
    const t0 = performance.now() - 10_000;
    // Keyframes every 2 s, a P frame each second between.
    for (let s = 0; s <= 9; s++)
      fanout.push(src.video(s % 2 === 0), stream(), `${s % 2 === 0 ? "k" : "p"}${s}`, t0 + s * 1000);
    fanout.open(0); // now is t0 + 10 s: 3 s back is t0 + 7 s, the keyframe at or before it is k6
    assert.deepEqual(out, ["k6", "p7", "k8", "p9"]);
    fanout.dispose();
  });

  it("a new source session (camera reconnect) sends every output back to waiting for a keyframe", () => {
    const { fanout, out } = fanoutWith([gate()]);
    const src = new Source();
    fanout.push(src.video(true), stream(1), "k1");
    fanout.push(src.video(false), stream(2), "p-new");
    fanout.push(src.video(true), stream(2), "k-new");
    assert.deepEqual(
      out.map((d) => d.carry),
      ["k1", "k-new"],
    );
    fanout.dispose();
  });

  it("stats: fps, kbps, keyframe interval, sequence gaps, per-output counts", () => {
    const { fanout } = fanoutWith([gate(), gate({ open: false })]);
    const src = new Source();
    const t0 = 100_000;
    for (let i = 0; i < 100; i++) {
      if (i === 60) src.seq += 3; // three packets lost
      fanout.push(src.video(i % 50 === 0), stream(), "f", t0 + i * 40);
    }
    const stats = fanout.stats(t0 + 4000);
    assert.equal(stats.stream.gaps, 1);
    assert.equal(stats.stream.keyframeIntervalS, 2);
    assert.ok(stats.stream.fps >= 24 && stats.stream.fps <= 26, `fps ${stats.stream.fps}`);
    assert.ok(stats.stream.kbps > 0);
    assert.equal(stats.outputs[0]!.frames, 100);
    assert.equal(stats.outputs[1]!.frames, 0);
    assert.equal(stats.outputs[1]!.open, false);
    fanout.dispose();
  });

  it("delivers nothing and keeps no timer after dispose", () => {
    const timers = TimerLedger.open();
    try {
      const { fanout, out } = fanoutWith([gate({ autoCloseS: 30 }), gate({ open: false })]);
      fanout.open(1, 60);
      assert.equal(timers.pending().length, 2, "each open gate armed its close timer");
      fanout.dispose();
      assert.deepEqual(timers.pending(), [], "dispose leaves no close timer armed");
      fanout.push(new Source().video(true), stream(), "k");
      assert.equal(out.length, 0);
    } finally {
      timers.close();
    }
  });
});

describe("FrameHistory", () => {
  const frame = (keyframe: boolean, at: number, bytes = 100) => ({
    kind: "video" as const,
    keyframe,
    receivedAt: at,
    bytes,
  });

  it("keeps nothing before the first keyframe and only the current GOP at 0 seconds", () => {
    const history = new FrameHistory({ seconds: 0 });
    history.push(frame(false, 0));
    assert.equal(history.frameCount, 0);
    history.push(frame(true, 1));
    history.push(frame(false, 2));
    history.push(frame(true, 3));
    assert.equal(history.frameCount, 1);
    assert.equal(history.replay(0, 4)[0]!.receivedAt, 3);
  });

  it("drops whole GOPs, oldest first, to stay under its byte bound; one GOP over it is dropped entirely", () => {
    const history = new FrameHistory({ seconds: 100, maxBytes: 450 });
    history.push(frame(true, 0));
    history.push(frame(false, 1));
    history.push(frame(true, 2));
    history.push(frame(false, 3));
    history.push(frame(false, 4)); // 500 bytes: the first GOP goes
    assert.deepEqual(
      history.replay(100, 5).map((f) => f.receivedAt),
      [2, 3, 4],
    );
    history.push(frame(false, 5));
    history.push(frame(false, 6)); // one GOP of 500 bytes: nothing can be kept
    assert.equal(history.frameCount, 0);
    assert.equal(history.byteCount, 0);
    history.push(frame(false, 7));
    assert.equal(history.frameCount, 0, "nothing until the next keyframe");
  });
});

describe("withParameterSets", () => {
  it("leaves a keyframe that carries its SPS and PPS alone", () => {
    const store = new ParameterSetStore("H264", [SPS, PPS]);
    const packets = [rtp(1, 0, SPS, false), rtp(2, 0, PPS, false), rtp(3, 0, IDR)];
    assert.equal(withParameterSets(packets, store), undefined);
  });

  it("inserts only when it knows sets", () => {
    const store = new ParameterSetStore("H264", []);
    assert.equal(withParameterSets([rtp(3, 0, IDR)], store), undefined);
  });
});
