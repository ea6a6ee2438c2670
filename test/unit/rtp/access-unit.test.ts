import assert from "node:assert/strict";
import { AccessUnitAssembler } from "../../../src/rtp/access-unit";
import { rtpPacket } from "../../helpers/rtp-fixtures";

const h264 = (): AccessUnitAssembler => new AccessUnitAssembler({ kind: "video", mid: "0", codec: "H264" });

describe("AccessUnitAssembler, video", () => {
  it("builds an H.264 keyframe sent as STAP-A (SPS, PPS) then an IDR in FU-A fragments, ended by the marker", () => {
    const assembler = h264();
    const packets = [
      rtpPacket({ seq: 100, ts: 9000, payload: "78 0004 67420029 0002 68ce" }),
      rtpPacket({ seq: 101, ts: 9000, payload: "7c 85 b8000001" }),
      ...Array.from({ length: 10 }, (_, i) =>
        rtpPacket({ seq: 102 + i, ts: 9000, payload: "7c 05 aaaaaaaa" }),
      ),
      rtpPacket({ seq: 112, ts: 9000, payload: "7c 45 bbbb", marker: true }),
    ];
    const completed = packets.map((packet) => assembler.push(packet));
    assert.deepEqual(
      completed.map((units) => units.length),
      [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
    );
    const [unit] = completed[12]!;
    assert.ok(unit);
    assert.equal(unit.kind, "video");
    assert.equal(unit.mid, "0");
    assert.equal(unit.timestamp, 9000);
    assert.equal(unit.keyframe, true);
    assert.equal(unit.packets.length, 13);
    for (const [i, packet] of unit.packets.entries()) {
      assert.equal(packet, packets[i], `packet ${i} stored as given, not copied`);
    }
    assert.deepEqual(assembler.flush(), []);
  });

  it("marks a frame of non-IDR slices as no keyframe", () => {
    const assembler = h264();
    assembler.push(rtpPacket({ seq: 1, ts: 3000, payload: "7c 81 9a00" }));
    const [unit] = assembler.push(rtpPacket({ seq: 2, ts: 3000, payload: "7c 41 9b00", marker: true }));
    assert.equal(unit?.keyframe, false);
    assert.equal(unit?.packets.length, 2);
  });

  it("detects a keyframe in a single STAP-A with SPS, PPS and IDR", () => {
    const assembler = h264();
    const packet = rtpPacket({
      seq: 7,
      ts: 42,
      payload: "78 0004 67420029 0002 68ce 0003 658884",
      marker: true,
    });
    assert.deepEqual(assembler.push(packet), [
      { kind: "video", mid: "0", timestamp: 42, keyframe: true, packets: [packet] },
    ]);
  });

  it("ends a frame at a timestamp change for cameras that never set the marker", () => {
    const assembler = h264();
    const a1 = rtpPacket({ seq: 1, ts: 1000, payload: "65 8884" });
    const a2 = rtpPacket({ seq: 2, ts: 1000, payload: "65 8885" });
    const b1 = rtpPacket({ seq: 3, ts: 4600, payload: "41 9a00" });
    assert.deepEqual(assembler.push(a1), []);
    assert.deepEqual(assembler.push(a2), []);
    assert.deepEqual(assembler.push(b1), [
      { kind: "video", mid: "0", timestamp: 1000, keyframe: true, packets: [a1, a2] },
    ]);
    assert.deepEqual(assembler.flush(), [
      { kind: "video", mid: "0", timestamp: 4600, keyframe: false, packets: [b1] },
    ]);
    assert.deepEqual(assembler.flush(), []);
  });

  it("returns two units when a packet with a new timestamp also carries the marker", () => {
    const assembler = h264();
    const a = rtpPacket({ seq: 1, ts: 1000, payload: "41 9a00" });
    const b = rtpPacket({ seq: 2, ts: 4600, payload: "41 9b00", marker: true });
    assembler.push(a);
    const units = assembler.push(b);
    assert.deepEqual(
      units.map((unit) => [unit.timestamp, unit.packets]),
      [
        [1000, [a]],
        [4600, [b]],
      ],
    );
  });

  it("ends a frame when the SSRC changes (camera restarted) even with the same timestamp", () => {
    const assembler = h264();
    const a = rtpPacket({ seq: 1, ts: 1000, payload: "41 9a00", ssrc: 1 });
    const b = rtpPacket({ seq: 1, ts: 1000, payload: "65 8884", ssrc: 2, marker: true });
    assembler.push(a);
    const units = assembler.push(b);
    assert.deepEqual(
      units.map((unit) => [unit.keyframe, unit.packets]),
      [
        [false, [a]],
        [true, [b]],
      ],
    );
  });

  it("handles timestamps above 2^31 as unsigned", () => {
    const assembler = h264();
    const [unit] = assembler.push(rtpPacket({ seq: 1, ts: 0xfffffff0, payload: "41 9a00", marker: true }));
    assert.equal(unit?.timestamp, 0xfffffff0);
  });

  it("detects an H.265 keyframe from the start fragment of an IDR in FUs", () => {
    const assembler = new AccessUnitAssembler({ kind: "video", mid: "v", codec: "H265" });
    assembler.push(rtpPacket({ seq: 1, ts: 5, payload: "6001 0003 40010c 0003 420101 0003 4401c1" }));
    assembler.push(rtpPacket({ seq: 2, ts: 5, payload: "6201 93 af00" }));
    assembler.push(rtpPacket({ seq: 3, ts: 5, payload: "6201 13 aaaa" }));
    const [unit] = assembler.push(rtpPacket({ seq: 4, ts: 5, payload: "6201 53 bbbb", marker: true }));
    assert.equal(unit?.mid, "v");
    assert.equal(unit?.keyframe, true);
    assert.equal(unit?.packets.length, 4);
  });

  it("does not take an H.265 trailing picture or an H.264-looking byte for an H.265 keyframe", () => {
    const assembler = new AccessUnitAssembler({ kind: "video", mid: "v", codec: "H265" });
    assembler.push(rtpPacket({ seq: 1, ts: 5, payload: "6201 81 d000" }));
    const [trailing] = assembler.push(rtpPacket({ seq: 2, ts: 5, payload: "6201 41 d100", marker: true }));
    assert.equal(trailing?.keyframe, false);
    // 0x65 is an H.264 IDR header, but for H.265 it is type 50 (PACI): no keyframe
    const [paci] = assembler.push(rtpPacket({ seq: 3, ts: 6, payload: "6501 0000", marker: true }));
    assert.equal(paci?.keyframe, false);
  });

  it("never flags keyframes for video codecs it cannot inspect", () => {
    const assembler = new AccessUnitAssembler({ kind: "video", mid: "0", codec: "VP8" });
    const [unit] = assembler.push(rtpPacket({ seq: 1, ts: 5, payload: "65 8884", marker: true }));
    assert.equal(unit?.keyframe, false);
  });

  it("emits what it has when maxPackets is reached", () => {
    const assembler = new AccessUnitAssembler({ kind: "video", mid: "0", codec: "H264", maxPackets: 3 });
    const sizes = Array.from({ length: 7 }, (_, i) =>
      assembler.push(rtpPacket({ seq: i, ts: 77, payload: "41 9a00" })),
    )
      .flat()
      .map((unit) => unit.packets.length);
    assert.deepEqual(sizes, [3, 3]);
    assert.deepEqual(
      assembler.flush().map((unit) => [unit.timestamp, unit.packets.length]),
      [[77, 1]],
    );
  });

  it("emits what it has when maxBytes is reached (counting whole packets)", () => {
    const assembler = new AccessUnitAssembler({ kind: "video", mid: "0", codec: "H264", maxBytes: 100 });
    const payload = "41".padEnd(28 * 2, "a"); // 12 + 28 = 40-byte packets
    assert.deepEqual(assembler.push(rtpPacket({ seq: 1, ts: 1, payload })), []);
    assert.deepEqual(assembler.push(rtpPacket({ seq: 2, ts: 1, payload })), []);
    const [unit] = assembler.push(rtpPacket({ seq: 3, ts: 1, payload }));
    assert.equal(unit?.packets.length, 3);
    assert.deepEqual(assembler.flush(), []);
  });

  it("bounds a marker-less, timestamp-less stream at 2048 packets by default", () => {
    const assembler = h264();
    for (let seq = 0; seq < 2047; seq++) {
      assert.deepEqual(assembler.push(rtpPacket({ seq, ts: 1, payload: "41 9a" })), []);
    }
    const [unit] = assembler.push(rtpPacket({ seq: 2047, ts: 1, payload: "41 9a" }));
    assert.equal(unit?.packets.length, 2048);
  });

  it("drops and counts malformed packets without disturbing the frame in progress", () => {
    const assembler = h264();
    const good = rtpPacket({ seq: 1, ts: 1000, payload: "65 8884" });
    assembler.push(good);
    assert.deepEqual(assembler.push(Buffer.from("8060", "hex")), []);
    assert.deepEqual(assembler.push(Buffer.from("40600001000003e80000000165", "hex")), []); // version 1
    const badPadding = rtpPacket({ seq: 2, ts: 9999, payload: "41 9a 09", marker: true });
    badPadding[0] = 0xa0; // padding bit, padding count 9 > 3-byte payload
    assert.deepEqual(assembler.push(badPadding), []);
    assert.equal(assembler.dropped, 3);
    const last = rtpPacket({ seq: 3, ts: 1000, payload: "65 8885", marker: true });
    assert.deepEqual(assembler.push(last), [
      { kind: "video", mid: "0", timestamp: 1000, keyframe: true, packets: [good, last] },
    ]);
  });
});

describe("AccessUnitAssembler, audio", () => {
  it("makes every packet its own unit, never a keyframe", () => {
    const assembler = new AccessUnitAssembler({ kind: "audio", mid: "1", codec: "PCMU" });
    const a = rtpPacket({ seq: 1, ts: 160, payload: "ffff7f7f", pt: 0, marker: true });
    const b = rtpPacket({ seq: 2, ts: 320, payload: "ffff7f7f", pt: 0 });
    const c = rtpPacket({ seq: 3, ts: 320, payload: "fefe", pt: 0 });
    assert.deepEqual(assembler.push(a), [
      { kind: "audio", mid: "1", timestamp: 160, keyframe: false, packets: [a] },
    ]);
    assert.deepEqual(assembler.push(b), [
      { kind: "audio", mid: "1", timestamp: 320, keyframe: false, packets: [b] },
    ]);
    assert.deepEqual(assembler.push(c), [
      { kind: "audio", mid: "1", timestamp: 320, keyframe: false, packets: [c] },
    ]);
    assert.deepEqual(assembler.flush(), []);
  });

  it("drops and counts malformed audio packets", () => {
    const assembler = new AccessUnitAssembler({ kind: "audio", mid: "1", codec: "OPUS" });
    assert.deepEqual(assembler.push(Buffer.alloc(11, 0x80)), []);
    assert.equal(assembler.dropped, 1);
  });
});
