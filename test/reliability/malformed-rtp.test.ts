import assert from "node:assert/strict";
import { RtpFanout } from "../../src/fanout/fanout";
import { AccessUnitAssembler } from "../../src/rtp/access-unit";
import { dropMalformedPackets } from "../../src/rtp/packet-check";
import { PacketInput } from "../../src/rtp/packet-input";
import { parseRtpHeader } from "../../src/rtp/rtp-packet";
import type { AccessUnit, StreamInfo } from "../../src/rtp/stream-info";
import { StreamNormalizer } from "../../src/webrtc/stream-normalizer";
import { rtpPacket, videoMedia } from "../helpers/rtp-fixtures";
import { fuzzSeed, SeededRandom } from "../helpers/seeded-random";
import {
  MALFORMED_CASES,
  type MalformedCase,
  mutatedPacket,
  WELL_FORMED_CASES,
} from "./malformed-rtp-fixtures";

// Malformed RTP into the parsers the nodes use: dropped and counted, never thrown. The node-level
// tests (rtp-fanout and webrtc-out with a live viewer) are in malformed-rtp-nodes.test.ts.

function unitOf(c: MalformedCase): AccessUnit {
  return { kind: "video", mid: "0", timestamp: 9000, keyframe: false, packets: c.packets };
}

function streamOf(codec: "H264" | "H265"): StreamInfo {
  return Object.freeze({ id: "cam", session: 1, media: Object.freeze([videoMedia(codec)]) });
}

/** The case's packets with their own timestamp, so that an assembler keeps each case a frame of its own. */
function retimed(c: MalformedCase, timestamp: number): Buffer[] {
  return c.packets.map((packet) => {
    const copy = Buffer.from(packet);
    if (copy.length >= 8) copy.writeUInt32BE(timestamp, 4);
    return copy;
  });
}

describe("malformed RTP: dropped and counted, never thrown", () => {
  describe("dropMalformedPackets", () => {
    for (const c of MALFORMED_CASES) {
      it(`${c.codec} ${c.name}: keeps ${c.keep.length} of ${c.packets.length}`, () => {
        const checked = dropMalformedPackets(c.packets, c.codec);
        assert.deepEqual(
          checked.packets,
          c.keep.map((i) => c.packets[i]),
        );
        for (const [n, i] of c.keep.entries())
          assert.equal(checked.packets[n], c.packets[i], "the same Buffer");
        assert.equal(checked.malformed, c.packets.length - c.keep.length);
      });
    }

    for (const c of WELL_FORMED_CASES) {
      it(`${c.codec} ${c.name}: all kept, the very array given back`, () => {
        const checked = dropMalformedPackets(c.packets, c.codec);
        assert.equal(checked.packets, c.packets);
        assert.equal(checked.malformed, 0);
      });
    }

    it("audio and other codecs: the RTP header and a non-empty payload are all that is checked", () => {
      const pcmu = rtpPacket({ seq: 1, ts: 0, payload: "7c45", pt: 0 });
      const checked = dropMalformedPackets([pcmu, Buffer.from("8000", "hex")], "PCMU");
      assert.deepEqual(checked.packets, [pcmu]);
      assert.equal(checked.malformed, 1);
    });
  });

  describe("StreamNormalizer (what webrtc-out's viewers get)", () => {
    for (const c of MALFORMED_CASES) {
      it(`${c.codec} ${c.name}: counted in counters.malformed`, () => {
        const normalizer = new StreamNormalizer(videoMedia(c.codec), { initialSequence: 0 });
        const frame = normalizer.push(unitOf(c), 1, 0);
        assert.equal(normalizer.counters.malformed, c.packets.length - c.keep.length);
        assert.equal(normalizer.counters.packetsIn, c.packets.length);
        if (c.keep.length === 0) {
          assert.equal(frame, undefined);
          return;
        }
        assert.ok(frame);
        assert.equal(
          dropMalformedPackets(frame.packets, c.codec).malformed,
          0,
          "what goes out is well-formed",
        );
      });
    }
  });

  describe("single packets (PacketInput) and access units (RtpFanout), as rtp-fanout takes them", () => {
    for (const codec of ["H264", "H265"] as const) {
      it(`${codec}: every malformed packet counted once, only the usable ones delivered`, () => {
        const cases = MALFORMED_CASES.filter((c) => c.codec === codec);
        const input = new PacketInput({ codec, payloadType: 96, clockRate: 90000 });
        const fanout = new RtpFanout<null>({
          gates: [{ open: true, filter: "all", autoCloseS: 0, preRoll: { kind: "none" } }],
        });
        const delivered: Buffer[] = [];
        fanout.on("deliver", (_output, unit) => delivered.push(...unit.packets));
        fanout.start();
        // A keyframe first: an output starts at one. The last case's frame is flushed by a final packet.
        const key =
          codec === "H264"
            ? rtpPacket({ seq: 0, ts: 1, payload: "6588 00", marker: true, ssrc: 0xcafe })
            : rtpPacket({ seq: 0, ts: 1, payload: "2601 af", marker: true, ssrc: 0xcafe });
        const feed = (packet: Buffer) => {
          for (const { unit, stream } of input.push(packet)) fanout.push(unit, stream, null);
        };
        feed(key);
        const kept: Buffer[] = [];
        for (const [i, c] of cases.entries()) {
          const packets = retimed(c, 10_000 + i * 3000);
          for (const packet of packets) feed(packet);
          kept.push(...c.keep.map((k) => packets[k]!));
        }
        feed(
          rtpPacket({ seq: 0, ts: 999_999, payload: codec === "H264" ? "4188" : "0201 00", ssrc: 0xcafe }),
        );
        const expected = cases.reduce((sum, c) => sum + c.packets.length - c.keep.length, 0);
        assert.equal(input.dropped + fanout.stats().stream.malformedPackets, expected);
        assert.deepEqual(delivered.slice(1), kept, "the keyframe, then only the usable packets");
        fanout.dispose();
      });
    }

    it("RtpFanout: a frame of nothing usable is dropped whole and counted; the others pass untouched", () => {
      const fanout = new RtpFanout<null>({
        gates: [{ open: true, filter: "all", autoCloseS: 0, preRoll: { kind: "none" } }],
      });
      const units: AccessUnit[] = [];
      fanout.on("deliver", (_output, unit) => units.push(unit));
      fanout.start();
      const stream = streamOf("H264");
      const key: AccessUnit = {
        kind: "video",
        mid: "0",
        timestamp: 0,
        keyframe: true,
        packets: [rtpPacket({ seq: 1, ts: 0, payload: "6588", marker: true })],
      };
      fanout.push(key, stream, null);
      for (const c of MALFORMED_CASES.filter((m) => m.codec === "H264")) fanout.push(unitOf(c), stream, null);
      const stats = fanout.stats().stream;
      const h264 = MALFORMED_CASES.filter((m) => m.codec === "H264");
      assert.equal(
        stats.malformedPackets,
        h264.reduce((sum, c) => sum + c.packets.length - c.keep.length, 0),
      );
      assert.equal(stats.malformedFrames, h264.filter((c) => c.keep.length === 0).length);
      assert.equal(units[0], key, "a clean frame is handed on as it came");
      assert.equal(units.length, 1 + h264.filter((c) => c.keep.length > 0).length);
      fanout.dispose();
    });
  });

  it("a seeded fuzz of 10,000 random and damaged packets: nothing throws, what comes out is well-formed", () => {
    const seed = fuzzSeed(0x2a7f00d);
    const rng = new SeededRandom(seed);
    const valid: Record<"H264" | "H265", Buffer[]> = {
      H264: [...WELL_FORMED_CASES, ...MALFORMED_CASES]
        .filter((c) => c.codec === "H264")
        .flatMap((c) => c.packets),
      H265: [...WELL_FORMED_CASES, ...MALFORMED_CASES]
        .filter((c) => c.codec === "H265")
        .flatMap((c) => c.packets),
    };
    const counts = { packets: 0, units: 0, dropped: 0, framesOut: 0, packetsOut: 0, inputDropped: 0 };
    for (const codec of ["H264", "H265"] as const) {
      const normalizer = new StreamNormalizer(videoMedia(codec), { maxPacketSize: 1200 });
      const input = new PacketInput({ codec, payloadType: 96, clockRate: 90000 });
      const assembler = new AccessUnitAssembler({ kind: "video", mid: "0", codec });
      const fanout = new RtpFanout<null>({
        gates: [{ open: true, filter: "all", autoCloseS: 0, preRoll: { kind: "gop" } }],
      });
      fanout.start();
      const stream = streamOf(codec);
      for (let index = 0; counts.packets < (codec === "H264" ? 6000 : 10_000); index++) {
        const packets = Array.from({ length: rng.range(1, 8) }, () => mutatedPacket(rng, valid[codec]));
        counts.packets += packets.length;
        counts.units++;
        const where = `seed ${seed} ${codec} unit ${index} (FUZZ_SEED=${seed} replays it)`;
        try {
          const checked = dropMalformedPackets(packets, codec);
          assert.equal(checked.packets.length + checked.malformed, packets.length, where);
          assert.equal(
            dropMalformedPackets(checked.packets, codec).malformed,
            0,
            `${where}: a second check drops more`,
          );
          counts.dropped += checked.malformed;
          const unit: AccessUnit = {
            kind: "video",
            mid: "0",
            timestamp: index * 3000,
            keyframe: rng.chance(0.2),
            packets,
          };
          const frame = normalizer.push(unit, 1, index * 33);
          if (frame) {
            counts.framesOut++;
            counts.packetsOut += frame.packets.length;
            for (const out of frame.packets) {
              const header = parseRtpHeader(out);
              assert.ok(header && out.length <= 1200, `${where}: output packet ${out.toString("hex")}`);
            }
            assert.equal(
              dropMalformedPackets(frame.packets, codec).malformed,
              0,
              `${where}: malformed output`,
            );
          }
          fanout.push(unit, stream, null);
          for (const packet of packets) {
            input.push(packet);
            assembler.push(packet);
          }
        } catch (error) {
          if (error instanceof assert.AssertionError) throw error;
          throw new Error(`${where}: threw ${error instanceof Error ? error.stack : String(error)}`);
        }
      }
      counts.inputDropped += input.dropped;
      fanout.dispose();
    }
    console.log(
      `      malformed RTP fuzz (seed ${seed}): ${counts.packets} packets in ${counts.units} access units — ` +
        `${counts.dropped} dropped as malformed, ${counts.packets - counts.dropped} kept; ` +
        `${counts.framesOut} frames out (${counts.packetsOut} packets); single-packet input dropped ${counts.inputDropped}`,
    );
    assert.ok(counts.packets >= 10_000);
    assert.ok(counts.dropped > 1000 && counts.dropped < counts.packets, "the mix has both kinds");
  });
});
