import assert from "node:assert/strict";
import { loadDemoClip } from "../../src/demo/clip";
import { H264Packetizer } from "../../src/demo/h264-packetizer";
import { AccessUnitAssembler } from "../../src/rtp/access-unit";
import type { AccessUnit } from "../../src/rtp/stream-info";
import { StreamNormalizer } from "../../src/webrtc/stream-normalizer";
import { videoMedia } from "../helpers/rtp-fixtures";
import {
  delaySummary,
  frameDelivery,
  packetShape,
  quantile,
  type ReceivedPacket,
  relayDelaysMs,
  relayPacketCount,
  renderTable,
  type SentPacket,
  slope,
} from "./stats";

describe("bench statistics", () => {
  it("quantile by nearest rank", () => {
    const values = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
    assert.equal(quantile(values, 0.5), 5);
    assert.equal(quantile(values, 0.99), 10);
    assert.equal(quantile(values, 0), 1);
    assert.ok(Number.isNaN(quantile([], 0.5)));
  });

  it("a delay summary: median, 99th percentile and largest of any count, NaN for none", () => {
    const delays = Array.from({ length: 200 }, (_, i) => (i + 1) / 10);
    assert.deepEqual(delaySummary(delays), { p50: 10, p99: 19.8, max: 20, samples: 200 });
    // More values than a spread call takes as arguments.
    const many = Array.from({ length: 300_000 }, (_, i) => i % 1000);
    assert.equal(delaySummary(many).max, 999);
    const none = delaySummary([]);
    assert.ok(Number.isNaN(none.p50) && Number.isNaN(none.max));
    assert.equal(none.samples, 0);
  });

  it("slope of a line, and of noise around it", () => {
    assert.equal(
      slope([
        { x: 0, y: 1 },
        { x: 10, y: 21 },
      ]),
      2,
    );
    const noisy = [0, 25, 50, 75, 100].map((x, i) => ({ x, y: 100 + 0.9 * x + (i % 2 === 0 ? 1 : -1) }));
    assert.ok(Math.abs(slope(noisy) - 0.9) < 0.05);
  });

  it("delivery frame by frame: each viewer's own timestamp offset, frames outside the window ignored", () => {
    // A GOP-like pattern: a keyframe of 60 packets, then frames of 4 to 8.
    const sizes = [60, 5, 4, 6, 5, 8, 5, 4, 7, 5, 6, 5];
    const sent = sizes.map((packets, i) => ({ timestamp: 90_000 + i * 3000, packets }));
    const total = sizes.reduce((a, b) => a + b, 0);
    const shifted = (offset: number, drop: (i: number) => number) =>
      sent.map((f, i): [number, number] => [(f.timestamp + offset) >>> 0, f.packets - drop(i)]);
    // Whole, with frames before and after the window (and a duplicate-inflated one) that must not count.
    const whole: [number, number][] = [
      [(87_000 + 0xfff00000) >>> 0, 5],
      ...shifted(0xfff00000, () => 0),
      [(90_000 + 12 * 3000 + 0xfff00000) >>> 0, 6],
    ];
    whole[3] = [whole[3]![0], whole[3]![1] + 2];
    // Lost two packets of the keyframe and one of the fourth frame.
    const lossy = shifted(12_345, (i) => (i === 0 ? 2 : i === 3 ? 1 : 0));
    const nothing: [number, number][] = [];
    assert.deepEqual(frameDelivery(sent, [whole, lossy, nothing]), {
      expected: 3 * total,
      received: 2 * total - 3,
    });
    assert.deepEqual(frameDelivery(sent, []), { expected: 0, received: 0 });
  });

  it("relay delay: matches packets across a constant timestamp offset and renumbering", () => {
    const sent = [];
    const received = [];
    for (let frame = 0; frame < 20; frame++) {
      const ts = 1000 + frame * 3000;
      for (let i = 0; i < 3; i++) {
        const at = BigInt(frame * 33_000_000 + i * 100_000);
        sent.push({ timestamp: ts, atNs: at });
        // The viewer joined at frame 5; its packets arrive 1.5 ms later, timestamps moved by 0xfffff000.
        if (frame >= 5) received.push({ timestamp: (ts + 0xfffff000) >>> 0, atNs: at + 1_500_000n });
      }
    }
    const delays = relayDelaysMs(sent, received);
    assert.equal(delays.length, 45);
    assert.ok(delays.every((d) => Math.abs(d - 1.5) < 1e-9));
  });

  it("relay delay: a packet forwarded before the camera stamped it does not hide the right match", () => {
    const sent = [];
    const received = [];
    for (let frame = 0; frame < 20; frame++) {
      const at = BigInt(frame * 33_000_000);
      sent.push({ timestamp: frame * 3000, atNs: at });
      // Frame 7 arrives 20 µs before its stamp; the others 0.8 ms after.
      if (frame >= 5)
        received.push({ timestamp: frame * 3000, atNs: at + (frame === 7 ? -20_000n : 800_000n) });
    }
    const delays = relayDelaysMs(sent, received);
    assert.equal(delays.length, 15);
    assert.equal(quantile(delays, 0.5), 0.8);
  });

  it("relay delay: a last frame the camera's record does not hold does not hide the right match", () => {
    const sent: SentPacket[] = [];
    const received: ReceivedPacket[] = [];
    const sizes = [30, 7, 8, 7, 6, 8, 7, 7, 9, 8, 7, 6, 8, 7, 8, 7, 9, 6, 8, 7];
    sizes.forEach((packets, frame) => {
      const at = BigInt(frame * 33_000_000);
      for (let i = 0; i < packets; i++) {
        // The record stopped before frame 19 left the camera; the trace still saw it.
        if (frame < 19) sent.push({ timestamp: frame * 3000, atNs: at });
        if (frame >= 5) received.push({ timestamp: (frame * 3000 + 777) >>> 0, atNs: at + 2_000_000n });
      }
    });
    const delays = relayDelaysMs(sent, received);
    assert.equal(
      delays.length,
      sizes.slice(5, 19).reduce((a, b) => a + b, 0),
    );
    assert.ok(delays.every((d) => Math.abs(d - 2) < 1e-9));
  });

  it("relay delay: a frame cut into more packets than it came in matches under the count the relay makes of it", () => {
    const sent: SentPacket[] = [];
    const received: ReceivedPacket[] = [];
    const sizes = [30, 7, 8, 7, 6, 8, 7, 7, 9, 8];
    sizes.forEach((packets, frame) => {
      const at = BigInt(frame * 33_000_000);
      for (let i = 0; i < packets; i++) sent.push({ timestamp: frame * 3000, atNs: at });
      // The relay sends 9 packets for every 7 (rounded up), 3 ms after the camera.
      const out = Math.ceil((packets * 9) / 7);
      if (frame >= 1)
        for (let i = 0; i < out; i++)
          received.push({ timestamp: (frame * 3000 + 555) >>> 0, atNs: at + 3_000_000n });
    });
    // Counted one for one, the frames pair up wrongly (whole frames apart) or not at all.
    assert.ok(!relayDelaysMs(sent, received).some((d) => Math.abs(d - 3) < 1e-9));
    const delays = relayDelaysMs(sent, received, (frame) => Math.ceil((frame.length * 9) / 7));
    assert.equal(
      delays.length,
      sizes.slice(1).reduce((a, b) => a + Math.ceil((b * 9) / 7), 0),
    );
    assert.ok(delays.every((d) => Math.abs(d - 3) < 1e-9));
  });

  it("renders a table", () => {
    assert.equal(renderTable(["a", "bb"], [["1", "2"]]), "| a | bb |\n|---|----|\n| 1 | 2  |");
  });

  it("counts what webrtc-out sends of each frame of a 1400-byte camera: the same as its normaliser, frame by frame", async () => {
    const clip = await loadDemoClip();
    const packetizer = new H264Packetizer({
      payloadType: 96,
      ssrc: 9,
      maxPayloadSize: 1388,
      initialSequence: 1,
    });
    const assembler = new AccessUnitAssembler({ kind: "video", mid: "0", codec: "H264" });
    const units: AccessUnit[] = [];
    for (const [i, frame] of clip.frames.entries()) {
      for (const packet of packetizer.packetize(frame.nals, i * 3600)) units.push(...assembler.push(packet));
    }
    assert.ok(units.some((u) => u.packets.some((p) => p.length === 1400)));
    for (const maxPacketSize of [1200, 1400]) {
      const normalizer = new StreamNormalizer(videoMedia("H264", [clip.sps, clip.pps]), { maxPacketSize });
      let differing = 0;
      let total = 0;
      for (const u of units) {
        const sent = normalizer.push(u, 1, 0)?.packets.length ?? 0;
        // The normaliser adds parameter sets to a keyframe that lacks them; the demo clip has them in-band.
        if (relayPacketCount(u.packets.map(packetShape), maxPacketSize) !== sent) differing++;
        total += sent;
      }
      assert.equal(normalizer.counters.parameterSetsInserted, 0);
      assert.equal(differing, 0, `${differing} of ${units.length} frames at ${maxPacketSize}`);
      assert.ok(total > 0);
    }
    // Packets that fit pass one for one; a single NAL unit over the limit loses its header byte.
    const shape = (bytes: number, nalType: number, start = false, end = false) => ({
      bytes,
      nalType,
      start,
      end,
    });
    assert.equal(relayPacketCount([shape(1400, 5)], 1400), 1);
    assert.equal(relayPacketCount([shape(12 + 1 + 1186 * 2, 5)], 1200), 2);
    assert.equal(relayPacketCount([shape(12 + 1 + 1186 * 2 + 1, 5)], 1200), 3);
    assert.equal(
      relayPacketCount(
        [shape(1400, 28, true), shape(1400, 28), shape(100, 28, false, true), shape(40, 1)],
        1200,
      ),
      Math.ceil((1386 * 2 + 86) / 1186) + 1,
    );
  });
});
