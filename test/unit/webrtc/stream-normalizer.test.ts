import assert from "node:assert/strict";
import { loadDemoClip } from "../../../src/demo/clip";
import { H264Packetizer } from "../../../src/demo/h264-packetizer";
import { AccessUnitAssembler } from "../../../src/rtp/access-unit";
import { splitAnnexB } from "../../../src/rtp/annexb";
import type { AccessUnit, MediaInfo } from "../../../src/rtp/stream-info";
import { type OutputFrame, StreamNormalizer } from "../../../src/webrtc/stream-normalizer";
import { decodeVideo, runTool } from "../../helpers/decode";
import {
  depacketizeH264,
  depacketizeH265,
  h264NalUnits,
  h265NalUnits,
  parseRtp,
} from "../../helpers/depacketize";
import { hex, hexOf, rtpPacket, videoMedia } from "../../helpers/rtp-fixtures";
import { requireTool } from "../../helpers/tools";

/** The same packet with a camera's one-word header extension (X bit) between header and payload. */
function withExtension(packet: Buffer): Buffer {
  const out = Buffer.concat([packet.subarray(0, 12), hex("bede0001 10ff0000"), packet.subarray(12)]);
  out[0] = out[0]! | 0x10;
  return out;
}

/** Expected output packet: clean 12-byte header with SSRC 0, then the payload. */
function expected(seq: number, ts: number, payload: string, marker = false, pt = 96): string {
  return rtpPacket({ seq, ts, payload, marker, pt, ssrc: 0 }).toString("hex");
}

function unit(packets: Buffer[], keyframe = false, kind: "video" | "audio" = "video"): AccessUnit {
  const timestamp = packets.length > 0 && packets[0]!.length >= 8 ? packets[0]!.readUInt32BE(4) : 0;
  return { kind, mid: kind === "video" ? "0" : "1", timestamp, keyframe, packets };
}

const PCMU: MediaInfo = {
  mid: "1",
  kind: "audio",
  codec: "PCMU",
  payloadType: 0,
  clockRate: 8000,
  fmtp: {},
  relayable: true,
};

function pushed(normalizer: StreamNormalizer, u: AccessUnit, session = 1, now = 0): OutputFrame {
  const frame = normalizer.push(u, session, now);
  assert.ok(frame, "push returned a frame");
  return frame;
}

/** Sequence numbers of output packets, checked to follow one another (mod 2^16). */
function assertContinuous(packets: readonly Buffer[]): void {
  for (let i = 1; i < packets.length; i++) {
    const previous = packets[i - 1]!.readUInt16BE(2);
    assert.equal(packets[i]!.readUInt16BE(2), (previous + 1) & 0xffff, `sequence continues at packet ${i}`);
  }
}

/** NAL unit with header bytes `header` and body bytes (i * 7) & 0xff, `length` bytes in all. */
function nal(header: string, length: number): Buffer {
  const head = hex(header);
  const bytes = Buffer.alloc(length);
  head.copy(bytes);
  for (let i = head.length; i < length; i++) bytes[i] = (i * 7) & 0xff;
  return bytes;
}

const SPS_A = "6742001eab";
const PPS_A = "68ce3880";
const SPS_B = "6742001fcd";
const PPS_B = "68ce3c80";
const SPS_C = "6742001fee";

describe("StreamNormalizer, H.264", () => {
  it("passes small packets through with a clean header: stream sequence, SSRC 0, marker on the last only", () => {
    const normalizer = new StreamNormalizer(videoMedia("H264"), { initialSequence: 1000 });
    const frame = pushed(
      normalizer,
      unit([
        rtpPacket({ seq: 7, ts: 90000, payload: "419a0102", marker: true }),
        rtpPacket({ seq: 8, ts: 90000, payload: "019b03", marker: true }),
      ]),
      3,
      1234.5,
    );
    assert.deepEqual(hexOf(frame.packets), [
      expected(1000, 90000, "419a0102"),
      expected(1001, 90000, "019b03", true),
    ]);
    assert.deepEqual(
      { ...frame, packets: frame.packets.length },
      {
        kind: "video",
        mid: "0",
        keyframe: false,
        timestamp: 90000,
        packets: 2,
        receivedAt: 1234.5,
        sourceSession: 3,
      },
    );
    assert.deepEqual(normalizer.counters, {
      frames: 1,
      packetsIn: 2,
      packetsOut: 2,
      refragmented: 0,
      parameterSetsInserted: 0,
      malformed: 0,
      gaps: 0,
    });
  });

  it("strips CSRCs, the header extension and padding", () => {
    const normalizer = new StreamNormalizer(videoMedia("H264"), { initialSequence: 1000 });
    const packet = hex(
      "b2e00007 00015f90 11223344" + // V=2 P=1 X=1 CC=2, M=1 PT=96, seq 7, ts, SSRC
        "00000001 00000002" + // two CSRCs
        "bede0001 10ff0000" + // a one-word header extension
        "419a" + // payload
        "000003", // three bytes of padding
    );
    const frame = pushed(normalizer, unit([packet]));
    assert.deepEqual(hexOf(frame.packets), [expected(1000, 90000, "419a", true)]);
  });

  it("passes a STAP-A that fits through unchanged", () => {
    const normalizer = new StreamNormalizer(videoMedia("H264"), { initialSequence: 1000 });
    const stap = `78 0005 ${SPS_A} 0004 ${PPS_A}`;
    const frame = pushed(
      normalizer,
      unit(
        [rtpPacket({ seq: 1, ts: 0, payload: stap }), rtpPacket({ seq: 2, ts: 0, payload: "6588" })],
        true,
      ),
    );
    assert.deepEqual(hexOf(frame.packets), [expected(1000, 0, stap), expected(1001, 0, "6588", true)]);
    assert.deepEqual(hexOf(normalizer.parameterSets), [SPS_A, PPS_A]);
  });

  it("re-fragments a 20 KB single NAL unit into FU-A packets of at most 1200 bytes that reassemble to it", () => {
    const normalizer = new StreamNormalizer(videoMedia("H264"), { initialSequence: 1000 });
    const big = nal("419a", 20_000);
    const frame = pushed(normalizer, unit([rtpPacket({ seq: 1, ts: 3000, payload: big, marker: true })]));

    assert.equal(frame.packets.length, 17);
    for (const packet of frame.packets) assert.ok(packet.length <= 1200, `${packet.length} bytes`);
    assert.deepEqual(h264NalUnits(frame.packets), [big]);
    assertContinuous(frame.packets);
    assert.deepEqual(
      frame.packets.map((packet) => parseRtp(packet).marker),
      frame.packets.map((_, i) => i === 16),
    );
    // The same cuts as the project's own packetizer makes from the NAL unit.
    const reference = new H264Packetizer({ payloadType: 96, ssrc: 0, initialSequence: 1000 }).packetize(
      [big],
      3000,
    );
    assert.deepEqual(hexOf(frame.packets), hexOf(reference));
    assert.equal(normalizer.counters.refragmented, 1);
    assert.equal(normalizer.counters.packetsOut, 17);
  });

  it("rebuilds a NAL unit whose FU-A fragments do not all fit and cuts it once: full pieces, S first, E last", () => {
    const normalizer = new StreamNormalizer(videoMedia("H264"), { initialSequence: 1000, maxPacketSize: 16 });
    const frame = pushed(
      normalizer,
      unit([
        rtpPacket({ seq: 1, ts: 0, payload: "7c85 0102030405" }),
        rtpPacket({ seq: 2, ts: 0, payload: "7c05 aa" }),
        rtpPacket({ seq: 3, ts: 0, payload: "7c45 060708", marker: true }),
      ]),
    );
    // Cut across the source fragments' bounds: 05|aa and aa|06 share packets.
    assert.deepEqual(hexOf(frame.packets), [
      expected(1000, 0, "7c85 0102"),
      expected(1001, 0, "7c05 0304"),
      expected(1002, 0, "7c05 05aa"),
      expected(1003, 0, "7c05 0607"),
      expected(1004, 0, "7c45 08", true),
    ]);
    assert.deepEqual(hexOf(h264NalUnits(frame.packets)), ["650102030405aa060708"]);
    assert.equal(normalizer.counters.refragmented, 3, "all three fragments of the rebuilt unit");
  });

  it("rebuilds the large FU-A fragments of a real packetizer and cuts the unit once into packets that reassemble", () => {
    const big = nal("65b8", 5000);
    const source = new H264Packetizer({ payloadType: 96, ssrc: 5, maxPayloadSize: 2600 }).packetize([big], 0);
    assert.equal(source.length, 2);
    const normalizer = new StreamNormalizer(videoMedia("H264"), { initialSequence: 1000 });
    const frame = pushed(normalizer, unit(source));
    for (const packet of frame.packets) assert.ok(packet.length <= 1200);
    assert.equal(frame.packets.length, 5); // 4999 bytes of body in pieces of 1186: not 3 per 2.5 KB fragment
    assert.deepEqual(h264NalUnits(frame.packets), [big]);
    const fuHeaders = frame.packets.map((packet) => parseRtp(packet).payload[1]);
    assert.deepEqual(fuHeaders, [0x85, 0x05, 0x05, 0x05, 0x45]);
  });

  it("splits an oversized STAP-A into single NAL units, fragmenting those that do not fit", () => {
    const normalizer = new StreamNormalizer(videoMedia("H264", [hex(SPS_A), hex(PPS_A)]), {
      initialSequence: 1000,
      maxPacketSize: 32, // 20 bytes of payload
    });
    const idrBody = Buffer.from(Array.from({ length: 24 }, (_, i) => i)).toString("hex");
    const stap = `78 0005 0601020304 0004 6742001e 0002 68ce 0019 65${idrBody}`;
    const frame = pushed(normalizer, unit([rtpPacket({ seq: 1, ts: 0, payload: stap, marker: true })], true));
    assert.deepEqual(hexOf(frame.packets), [
      expected(1000, 0, "0601020304"),
      expected(1001, 0, "6742001e"),
      expected(1002, 0, "68ce"),
      expected(1003, 0, `7c85 ${idrBody.slice(0, 36)}`),
      expected(1004, 0, `7c45 ${idrBody.slice(36)}`, true),
    ]);
    assert.equal(normalizer.counters.refragmented, 1);
    assert.equal(normalizer.counters.parameterSetsInserted, 0, "the keyframe carried SPS and PPS");
    assert.deepEqual(hexOf(normalizer.parameterSets), ["6742001e", "68ce"], "in-band sets replace the SDP's");
  });

  describe("parameter sets", () => {
    it("inserts the SDP's SPS and PPS as a STAP-A before an IDR that lacks them, not before other frames", () => {
      const normalizer = new StreamNormalizer(videoMedia("H264", [hex(SPS_A), hex(PPS_A)]), {
        initialSequence: 1000,
      });
      assert.deepEqual(hexOf(normalizer.parameterSets), [SPS_A, PPS_A]);
      const key = pushed(
        normalizer,
        unit([rtpPacket({ seq: 1, ts: 0, payload: "65888400", marker: true })], true),
      );
      assert.deepEqual(hexOf(key.packets), [
        expected(1000, 0, `78 0005 ${SPS_A} 0004 ${PPS_A}`),
        expected(1001, 0, "65888400", true),
      ]);
      assert.equal(key.keyframe, true);
      const delta = pushed(
        normalizer,
        unit([rtpPacket({ seq: 2, ts: 3000, payload: "419a00", marker: true })]),
      );
      assert.deepEqual(hexOf(delta.packets), [expected(1002, 3000, "419a00", true)]);
      assert.equal(normalizer.counters.parameterSetsInserted, 1);
    });

    it("does not insert them when the keyframe carries them, and inserts the latest in-band ones after", () => {
      const normalizer = new StreamNormalizer(videoMedia("H264", [hex(SPS_A), hex(PPS_A)]), {
        initialSequence: 1000,
      });
      const withSets = pushed(
        normalizer,
        unit(
          [
            rtpPacket({ seq: 1, ts: 0, payload: SPS_B }),
            rtpPacket({ seq: 2, ts: 0, payload: PPS_B }),
            rtpPacket({ seq: 3, ts: 0, payload: "6588", marker: true }),
          ],
          true,
        ),
      );
      assert.deepEqual(hexOf(withSets.packets), [
        expected(1000, 0, SPS_B),
        expected(1001, 0, PPS_B),
        expected(1002, 0, "6588", true),
      ]);
      assert.deepEqual(hexOf(normalizer.parameterSets), [SPS_B, PPS_B]);

      const bare = pushed(
        normalizer,
        unit([rtpPacket({ seq: 4, ts: 3000, payload: "6599", marker: true })], true),
      );
      assert.deepEqual(hexOf(bare.packets), [
        expected(1003, 3000, `78 0005 ${SPS_B} 0004 ${PPS_B}`),
        expected(1004, 3000, "6599", true),
      ]);

      const inStap = pushed(
        normalizer,
        unit(
          [
            rtpPacket({ seq: 5, ts: 6000, payload: `78 0005 ${SPS_B} 0004 ${PPS_B}` }),
            rtpPacket({ seq: 6, ts: 6000, payload: "65aa", marker: true }),
          ],
          true,
        ),
      );
      assert.equal(inStap.packets.length, 2, "no insertion: the STAP-A carries both");
      assert.deepEqual(normalizer.counters.parameterSetsInserted, 1);
    });

    it("completes a keyframe that carries only a new SPS with the stored PPS", () => {
      const normalizer = new StreamNormalizer(videoMedia("H264", [hex(SPS_A), hex(PPS_A)]), {
        initialSequence: 1000,
      });
      const frame = pushed(
        normalizer,
        unit(
          [
            rtpPacket({ seq: 1, ts: 0, payload: SPS_C }),
            rtpPacket({ seq: 2, ts: 0, payload: "6588", marker: true }),
          ],
          true,
        ),
      );
      assert.deepEqual(hexOf(frame.packets), [
        expected(1000, 0, `78 0005 ${SPS_C} 0004 ${PPS_A}`),
        expected(1001, 0, SPS_C),
        expected(1002, 0, "6588", true),
      ]);
      assert.deepEqual(hexOf(normalizer.parameterSets), [SPS_C, PPS_A]);
    });

    it("keeps several PPS sent together, and learns sets sent in a frame of their own", () => {
      const normalizer = new StreamNormalizer(videoMedia("H264"), { initialSequence: 1000 });
      pushed(
        normalizer,
        unit([
          rtpPacket({ seq: 1, ts: 0, payload: SPS_A }),
          rtpPacket({ seq: 2, ts: 0, payload: PPS_A }),
          rtpPacket({ seq: 3, ts: 0, payload: PPS_B, marker: true }),
        ]),
      );
      assert.deepEqual(hexOf(normalizer.parameterSets), [SPS_A, PPS_A, PPS_B]);
      const key = pushed(
        normalizer,
        unit([rtpPacket({ seq: 4, ts: 3000, payload: "6588", marker: true })], true),
      );
      assert.deepEqual(hexOf(key.packets), [
        expected(1003, 3000, `78 0005 ${SPS_A} 0004 ${PPS_A} 0004 ${PPS_B}`),
        expected(1004, 3000, "6588", true),
      ]);
    });

    it("sends the sets as single NAL unit packets when they do not fit in one STAP-A", () => {
      const normalizer = new StreamNormalizer(videoMedia("H264", [hex(SPS_A), hex(PPS_A)]), {
        initialSequence: 1000,
        maxPacketSize: 24, // 12 bytes of payload; the STAP-A would take 14
      });
      const frame = pushed(
        normalizer,
        unit([rtpPacket({ seq: 1, ts: 0, payload: "6588", marker: true })], true),
      );
      assert.deepEqual(hexOf(frame.packets), [
        expected(1000, 0, SPS_A),
        expected(1001, 0, PPS_A),
        expected(1002, 0, "6588", true),
      ]);
    });

    it("inserts nothing while no parameter set is known", () => {
      const normalizer = new StreamNormalizer(videoMedia("H264"), { initialSequence: 1000 });
      const frame = pushed(
        normalizer,
        unit([rtpPacket({ seq: 1, ts: 0, payload: "6588", marker: true })], true),
      );
      assert.deepEqual(hexOf(frame.packets), [expected(1000, 0, "6588", true)]);
      assert.equal(normalizer.counters.parameterSetsInserted, 0);
    });

    it("takes a new session's SDP sets when they changed, and keeps in-band ones when they did not", () => {
      const first = videoMedia("H264", [hex(SPS_A), hex(PPS_A)]);
      const normalizer = new StreamNormalizer(first, { initialSequence: 1000 });
      pushed(
        normalizer,
        unit([rtpPacket({ seq: 1, ts: 0, payload: SPS_B }), rtpPacket({ seq: 2, ts: 0, payload: PPS_B })]),
      );
      normalizer.updateMedia(videoMedia("H264", [hex(SPS_A), hex(PPS_A)]));
      assert.deepEqual(hexOf(normalizer.parameterSets), [SPS_B, PPS_B], "same SDP: in-band sets stay");
      normalizer.updateMedia({ ...videoMedia("H264", [hex(SPS_C), hex(PPS_A)]), payloadType: 97 });
      assert.deepEqual(hexOf(normalizer.parameterSets), [SPS_C, PPS_A]);
      const frame = pushed(
        normalizer,
        unit([rtpPacket({ seq: 3, ts: 3000, payload: "419a", marker: true, pt: 97 })]),
      );
      assert.deepEqual(hexOf(frame.packets), [expected(1002, 3000, "419a", true, 97)]);
    });
  });

  describe("sequence numbers and timestamps", () => {
    it("numbers packets continuously across frames, wrapping at 2^16, and maps timestamps through 2^32", () => {
      const normalizer = new StreamNormalizer(videoMedia("H264"), { initialSequence: 65534 });
      const tss = [0x100000000 - 3000, 0, 3000];
      const frames = tss.map((ts, i) =>
        pushed(
          normalizer,
          unit([
            rtpPacket({ seq: 2 * i, ts, payload: "419a" }),
            rtpPacket({ seq: 2 * i + 1, ts, payload: "019b", marker: true }),
          ]),
          1,
          i * 33,
        ),
      );
      const packets = frames.flatMap((frame) => frame.packets);
      assert.deepEqual(
        packets.map((packet) => packet.readUInt16BE(2)),
        [65534, 65535, 0, 1, 2, 3],
      );
      assert.deepEqual(
        frames.map((frame) => frame.timestamp),
        tss,
      );
      assert.equal(normalizer.counters.gaps, 0);
    });

    it("continues across a source restart: sequence unbroken, timestamps moved on by the wall-clock gap", () => {
      const normalizer = new StreamNormalizer(videoMedia("H264"), { initialSequence: 1000 });
      const send = (seq: number, ts: number, ssrc: number, session: number, now: number): OutputFrame =>
        pushed(normalizer, unit([rtpPacket({ seq, ts, ssrc, payload: "419a", marker: true })]), session, now);

      const before = [
        send(10, 1000, 0xa, 1, 1000),
        send(11, 4000, 0xa, 1, 1033),
        send(12, 7000, 0xa, 1, 1066),
      ];
      // The camera comes back 2 s later with new SSRC, sequence and timestamp bases.
      const after = [send(40000, 777777, 0xb, 2, 3066), send(40001, 780777, 0xb, 2, 3099)];
      assert.deepEqual(
        [...before, ...after].map((frame) => frame.timestamp),
        [1000, 4000, 7000, 7000 + 180000, 7000 + 183000],
      );
      assert.deepEqual(
        [...before, ...after].map((frame) => frame.packets[0]!.readUInt16BE(2)),
        [1000, 1001, 1002, 1003, 1004],
      );
      assert.deepEqual(
        after.map((frame) => frame.sourceSession),
        [2, 2],
      );
      assert.equal(normalizer.counters.gaps, 0, "a new session's sequence base is not a gap");

      // An SSRC change within a session, with no wall-clock gap: at least one frame interval (3000).
      const same = send(5, 100, 0xc, 2, 3099);
      assert.equal(same.timestamp, 7000 + 183000 + 3000);
      assert.equal(same.packets[0]!.readUInt16BE(2), 1005);
    });

    it("counts gaps in the source's sequence numbers", () => {
      const normalizer = new StreamNormalizer(videoMedia("H264"), { initialSequence: 1000 });
      pushed(
        normalizer,
        unit([rtpPacket({ seq: 1, ts: 0, payload: "419a" }), rtpPacket({ seq: 2, ts: 0, payload: "019b" })]),
      );
      pushed(normalizer, unit([rtpPacket({ seq: 5, ts: 3000, payload: "419a" })]));
      pushed(normalizer, unit([rtpPacket({ seq: 6, ts: 6000, payload: "419a" })]));
      assert.equal(normalizer.counters.gaps, 1);
    });
  });

  describe("bad input", () => {
    it("counts malformed packets instead of throwing, and returns undefined when none is usable", () => {
      const normalizer = new StreamNormalizer(videoMedia("H264"), { initialSequence: 1000 });
      const bad = [
        hex("8060000100"), // shorter than a header
        Buffer.concat([hex("40600001 00000000 00000001"), hex("419a")]), // version 1
        rtpPacket({ seq: 3, ts: 0, payload: "" }), // no payload
        Buffer.concat([hex("a0600004 00000000 00000001"), hex("419a09")]), // padding longer than the payload
        rtpPacket({ seq: 5, ts: 0, payload: "78 0010 6742" }), // truncated STAP-A
        rtpPacket({ seq: 6, ts: 0, payload: "78 0004 6742001e 00" }), // STAP-A with a stray byte
        rtpPacket({ seq: 7, ts: 0, payload: "7c85" }), // FU-A without a byte of the NAL unit
        rtpPacket({ seq: 8, ts: 0, payload: "19 0000 0002 6588" }), // STAP-B: interleaved mode
        rtpPacket({ seq: 9, ts: 0, payload: "00aa" }), // NAL type 0
        rtpPacket({ seq: 10, ts: 0, payload: "1eaa" }), // reserved type 30
      ];
      assert.equal(normalizer.push(unit(bad), 1, 0), undefined);
      assert.deepEqual(normalizer.counters, {
        frames: 0,
        packetsIn: 10,
        packetsOut: 0,
        refragmented: 0,
        parameterSetsInserted: 0,
        malformed: 10,
        gaps: 0,
      });
      assert.equal(normalizer.push(unit([]), 1, 0), undefined);

      const mixed = pushed(
        normalizer,
        unit([bad[0]!, rtpPacket({ seq: 11, ts: 0, payload: "419a", marker: true })]),
      );
      assert.deepEqual(hexOf(mixed.packets), [expected(1000, 0, "419a", true)]);
      assert.equal(normalizer.counters.malformed, 11);
    });

    it("takes back the sequence numbers of a keyframe that had nothing usable after its parameter sets", () => {
      const normalizer = new StreamNormalizer(videoMedia("H264", [hex(SPS_A), hex(PPS_A)]), {
        initialSequence: 1000,
      });
      assert.equal(
        normalizer.push(unit([rtpPacket({ seq: 1, ts: 0, payload: "19 0000 0002 6588" })], true), 1, 0),
        undefined,
      );
      const next = pushed(normalizer, unit([rtpPacket({ seq: 2, ts: 3000, payload: "419a", marker: true })]));
      assert.deepEqual(hexOf(next.packets), [expected(1000, 3000, "419a", true)]);
      assert.equal(normalizer.counters.parameterSetsInserted, 0);
    });

    it("rejects a maxPacketSize or initialSequence out of range", () => {
      assert.throws(() => new StreamNormalizer(videoMedia("H264"), { maxPacketSize: 15 }), RangeError);
      assert.throws(() => new StreamNormalizer(videoMedia("H264"), { maxPacketSize: 1200.5 }), RangeError);
      assert.throws(() => new StreamNormalizer(videoMedia("H264"), { initialSequence: 65536 }), RangeError);
    });
  });

  describe("B-frames", () => {
    it("reports B-frames once a frame's first slice is a B slice, as single NAL or FU-A", () => {
      const normalizer = new StreamNormalizer(videoMedia("H264"));
      pushed(normalizer, unit([rtpPacket({ seq: 1, ts: 0, payload: "6588" })], true)); // I slice (ue 7)
      pushed(normalizer, unit([rtpPacket({ seq: 2, ts: 3000, payload: "419a" })])); // P slice (slice_type 5)
      assert.equal(normalizer.bFrames, false);
      pushed(normalizer, unit([rtpPacket({ seq: 3, ts: 1500, payload: "3c81 9c00" })])); // B slice (slice_type 6), FU-A start
      assert.equal(normalizer.bFrames, true);

      const single = new StreamNormalizer(videoMedia("H264"));
      pushed(single, unit([rtpPacket({ seq: 1, ts: 0, payload: "01a0" })])); // B slice (slice_type 1)
      assert.equal(single.bFrames, true);
    });
  });
});

describe("StreamNormalizer, H.265", () => {
  it("fragments a NAL unit over the limit into FU packets", () => {
    const normalizer = new StreamNormalizer(videoMedia("H265"), { initialSequence: 1000, maxPacketSize: 20 });
    const frame = pushed(
      normalizer,
      unit([rtpPacket({ seq: 1, ts: 0, payload: "2601 000102030405060708090a", marker: true })]),
    );
    assert.deepEqual(hexOf(frame.packets), [
      expected(1000, 0, "6201 93 0001020304"),
      expected(1001, 0, "6201 13 0506070809"),
      expected(1002, 0, "6201 53 0a", true),
    ]);
    assert.deepEqual(hexOf(h265NalUnits(frame.packets)), ["2601000102030405060708090a"]);
  });

  it("fragments a 20 KB NAL unit into FU packets of at most 1200 bytes that reassemble to it", () => {
    const normalizer = new StreamNormalizer(videoMedia("H265"), { initialSequence: 1000 });
    const big = nal("2601", 20_000);
    const frame = pushed(normalizer, unit([rtpPacket({ seq: 1, ts: 0, payload: big, marker: true })]));
    for (const packet of frame.packets) assert.ok(packet.length <= 1200);
    assert.equal(frame.packets.length, Math.ceil((20_000 - 2) / 1185));
    assert.deepEqual(h265NalUnits(frame.packets), [big]);
  });

  it("rebuilds a NAL unit whose FU packets do not all fit, the fitting ones too, and cuts it once", () => {
    const normalizer = new StreamNormalizer(videoMedia("H265"), { initialSequence: 1000, maxPacketSize: 20 });
    const frame = pushed(
      normalizer,
      unit([
        rtpPacket({ seq: 1, ts: 0, payload: "6201 93 0001020304050607" }),
        rtpPacket({ seq: 2, ts: 0, payload: "6201 53 aabb", marker: true }),
      ]),
    );
    assert.deepEqual(hexOf(frame.packets), [
      expected(1000, 0, "6201 93 0001020304"),
      expected(1001, 0, "6201 53 050607aabb", true),
    ]);
    assert.equal(normalizer.counters.refragmented, 2);
  });

  it("inserts VPS, SPS and PPS as an aggregation packet before a keyframe lacking them; splits big APs", () => {
    const sets = [hex("4001 0c01"), hex("4201 0101"), hex("4401 c172")];
    const normalizer = new StreamNormalizer(videoMedia("H265", sets), { initialSequence: 1000 });
    const key = pushed(
      normalizer,
      unit([rtpPacket({ seq: 1, ts: 0, payload: "2601af09", marker: true })], true),
    );
    assert.deepEqual(hexOf(key.packets), [
      expected(1000, 0, "6001 0004 40010c01 0004 42010101 0004 4401c172"),
      expected(1001, 0, "2601af09", true),
    ]);

    const small = new StreamNormalizer(videoMedia("H265"), { initialSequence: 1000, maxPacketSize: 20 });
    const ap = "6001 0004 40010c01 0004 42010101 0004 4401c172 0005 2601af0911";
    const frame = pushed(small, unit([rtpPacket({ seq: 1, ts: 0, payload: ap, marker: true })], true));
    assert.deepEqual(hexOf(frame.packets), [
      expected(1000, 0, "40010c01"),
      expected(1001, 0, "42010101"),
      expected(1002, 0, "4401c172"),
      expected(1003, 0, "2601af0911", true),
    ]);
    assert.equal(small.counters.parameterSetsInserted, 0);
    assert.deepEqual(hexOf(small.parameterSets), ["40010c01", "42010101", "4401c172"]);
  });

  it("counts H.265 packets it cannot take as malformed", () => {
    const normalizer = new StreamNormalizer(videoMedia("H265"), { initialSequence: 1000 });
    const bad = [
      rtpPacket({ seq: 1, ts: 0, payload: "26" }), // shorter than a NAL unit header
      rtpPacket({ seq: 2, ts: 0, payload: "620193" }), // FU without a byte of the NAL unit
      rtpPacket({ seq: 3, ts: 0, payload: "6401 aabb" }), // PACI
      rtpPacket({ seq: 4, ts: 0, payload: "6001 0009 2601" }), // truncated AP
    ];
    assert.equal(normalizer.push(unit(bad), 1, 0), undefined);
    assert.equal(normalizer.counters.malformed, 4);
  });
});

describe("StreamNormalizer, audio", () => {
  it("passes audio packets through one per frame: extension stripped, marker kept, renumbered, retimed", () => {
    const normalizer = new StreamNormalizer(PCMU, { initialSequence: 1000 });
    const first = pushed(
      normalizer,
      unit(
        [withExtension(rtpPacket({ seq: 5, ts: 320, payload: "d5d5d5d5", marker: true, pt: 0 }))],
        false,
        "audio",
      ),
      1,
      0,
    );
    const second = pushed(
      normalizer,
      unit([rtpPacket({ seq: 6, ts: 480, payload: "d5d4", pt: 0 })], false, "audio"),
      1,
      20,
    );
    assert.deepEqual(hexOf([...first.packets, ...second.packets]), [
      expected(1000, 320, "d5d5d5d5", true, 0),
      expected(1001, 480, "d5d4", false, 0),
    ]);
    assert.deepEqual([first.kind, first.mid, first.keyframe], ["audio", "1", false]);

    // Restart after 500 ms: 4000 ticks at 8 kHz.
    const after = pushed(
      normalizer,
      unit([rtpPacket({ seq: 9000, ts: 99999, payload: "d5", pt: 0, ssrc: 7 })], false, "audio"),
      2,
      520,
    );
    assert.deepEqual(hexOf(after.packets), [expected(1002, 480 + 4000, "d5", false, 0)]);
  });
});

/** The demo clip as a camera would send it: RTP with a header extension, from the AccessUnitAssembler. */
interface CameraOptions {
  readonly withParameterSets: boolean;
  readonly maxPayloadSize: number;
  readonly ssrc: number;
  readonly firstSequence: number;
  readonly firstTimestamp: number;
}

async function cameraUnits(from: number, to: number, opts: CameraOptions): Promise<AccessUnit[]> {
  const clip = await loadDemoClip();
  const packetizer = new H264Packetizer({
    payloadType: 96,
    ssrc: opts.ssrc,
    maxPayloadSize: opts.maxPayloadSize,
    initialSequence: opts.firstSequence,
  });
  const assembler = new AccessUnitAssembler({ kind: "video", mid: "0", codec: "H264" });
  const units: AccessUnit[] = [];
  for (const [i, frame] of clip.frames.slice(from, to).entries()) {
    const nals = opts.withParameterSets
      ? frame.nals
      : frame.nals.filter((n) => (n[0]! & 0x1f) !== 7 && (n[0]! & 0x1f) !== 8);
    const timestamp = opts.firstTimestamp + i * 3600;
    for (const packet of packetizer.packetize(nals, timestamp))
      units.push(...assembler.push(withExtension(packet)));
  }
  return units;
}

describe("StreamNormalizer output decodes", () => {
  it("plays a camera that sends whole NAL units (up to 9.7 KB) in single packets and SPS/PPS only in the SDP", async () => {
    const clip = await loadDemoClip();
    const units = await cameraUnits(0, clip.frames.length, {
      withParameterSets: false,
      maxPayloadSize: 65000,
      ssrc: 1,
      firstSequence: 100,
      firstTimestamp: 0,
    });
    assert.ok(
      units.some((u) => u.packets.some((packet) => packet.length > 5000)),
      "the input has packets far over 1200 bytes",
    );
    const input = units.flatMap((u) => u.packets);
    const unplayable = await decodeVideo(depacketizeH264(input), "h264");
    assert.ok(
      unplayable.frames === 0 || unplayable.decodeErrors.length > 0,
      "without SPS/PPS in-band it fails",
    );

    const normalizer = new StreamNormalizer(videoMedia("H264", [clip.sps, clip.pps]), {
      initialSequence: 60000,
    });
    const output = units.flatMap((u, i) => pushed(normalizer, u, 1, i * 40).packets);
    for (const packet of output) assert.ok(packet.length <= 1200, `${packet.length}-byte packet`);
    assertContinuous(output);
    assert.equal(normalizer.counters.parameterSetsInserted, clip.frames.filter((f) => f.keyframe).length);
    assert.equal(normalizer.bFrames, false);

    const decoded = await decodeVideo(depacketizeH264(output), "h264");
    assert.deepEqual(decoded.decodeErrors, []);
    assert.equal(decoded.frames, clip.frames.length);
    assert.deepEqual([decoded.width, decoded.height], [640, 360]);
  });

  it("plays on across a camera restart at an IDR, with one continuous sequence", async () => {
    const clip = await loadDemoClip();
    const common = { withParameterSets: true, maxPayloadSize: 1400 };
    const first = await cameraUnits(0, 100, {
      ...common,
      ssrc: 1,
      firstSequence: 65000,
      firstTimestamp: 4e9,
    });
    const second = await cameraUnits(100, clip.frames.length, {
      ...common,
      ssrc: 2,
      firstSequence: 7,
      firstTimestamp: 12345,
    });
    const normalizer = new StreamNormalizer(videoMedia("H264", [clip.sps, clip.pps]));
    const before = first.map((u, i) => pushed(normalizer, u, 1, i * 40));
    const after = second.map((u, i) => pushed(normalizer, u, 2, 99 * 40 + 1500 + i * 40));
    const output = [...before, ...after].flatMap((frame) => frame.packets);
    for (const packet of output) assert.ok(packet.length <= 1200);
    assertContinuous(output);
    assert.equal(normalizer.counters.parameterSetsInserted, 0, "the clip carries SPS/PPS before each IDR");
    assert.equal(after[0]!.timestamp, (before[before.length - 1]!.timestamp + 1500 * 90) >>> 0);

    const decoded = await decodeVideo(depacketizeH264(output), "h264");
    assert.deepEqual(decoded.decodeErrors, []);
    assert.equal(decoded.frames, clip.frames.length);
  });

  it("detects the B-frames of a real encoder's stream, and none without them", async () => {
    const ffmpeg = requireTool("ffmpeg");
    const encode = async (bFrames: number): Promise<Buffer> => {
      const args = [
        ...["-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-t", "1"],
        ...["-c:v", "libx264", "-bf", String(bFrames), "-g", "25", "-f", "h264", "pipe:1"],
      ];
      const result = await runTool(ffmpeg, args);
      assert.equal(result.code, 0, result.stderr);
      return result.stdout;
    };
    for (const [bf, expectB] of [
      [2, true],
      [0, false],
    ] as const) {
      const nals = splitAnnexB(await encode(bf));
      const normalizer = new StreamNormalizer(videoMedia("H264"));
      const packetizer = new H264Packetizer({ payloadType: 96, ssrc: 1 });
      for (const [i, n] of nals.entries()) {
        const type = n[0]! & 0x1f;
        pushed(normalizer, unit(packetizer.packetize([n], i * 3600), type === 5));
      }
      assert.equal(normalizer.bFrames, expectB, `-bf ${bf}`);
    }
  });

  it("plays an H.265 camera with whole-NAL packets and VPS/SPS/PPS only in the SDP", async () => {
    const args = [
      ...["-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-t", "2"],
      ...[
        "-c:v",
        "libx265",
        "-x265-params",
        "keyint=25:min-keyint=25:scenecut=0:open-gop=0:bframes=0:log-level=error",
      ],
      ...["-f", "hevc", "pipe:1"],
    ];
    const encoded = await runTool(requireTool("ffmpeg"), args);
    assert.equal(encoded.code, 0, encoded.stderr);
    const nals = splitAnnexB(encoded.stdout);
    const typeOf = (n: Buffer): number => (n[0]! >> 1) & 0x3f;
    // x265 repeats them before each keyframe: keep the first VPS, SPS and PPS, as an SDP would carry.
    const sets = [32, 33, 34].map((type) => nals.find((n) => typeOf(n) === type)!);
    assert.ok(sets.every((n) => n !== undefined));

    // Access units: each picture's first slice (first_slice_segment_in_pic_flag) opens one.
    const pictures: Buffer[][] = [];
    for (const n of nals) {
      const type = typeOf(n);
      if (type >= 32 && type <= 34) continue; // the SDP's
      if (type < 32 && (n[2]! & 0x80) !== 0) pictures.push([]);
      pictures[pictures.length - 1]?.push(n);
    }
    assert.equal(pictures.length, 50);

    const normalizer = new StreamNormalizer(videoMedia("H265", sets), { initialSequence: 0 });
    const output: Buffer[] = [];
    let seq = 0;
    for (const [i, picture] of pictures.entries()) {
      const keyframe = picture.some((n) => typeOf(n) >= 16 && typeOf(n) <= 21);
      const packets = picture.map((n) => withExtension(rtpPacket({ seq: seq++, ts: i * 3600, payload: n })));
      output.push(...pushed(normalizer, unit(packets, keyframe), 1, i * 40).packets);
    }
    for (const packet of output) assert.ok(packet.length <= 1200);
    assert.ok(normalizer.counters.refragmented > 0, "some NAL units were over 1188 bytes");
    assert.equal(normalizer.counters.parameterSetsInserted, 2);

    const decoded = await decodeVideo(depacketizeH265(output), "h265");
    assert.deepEqual(decoded.decodeErrors, []);
    assert.equal(decoded.frames, 50);
    assert.deepEqual([decoded.width, decoded.height], [320, 240]);
  });
});
