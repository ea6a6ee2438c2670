import assert from "node:assert/strict";
import { RtpWriter, setMarker } from "../../../src/rtp/rtp-writer";
import { hex, hexOf } from "../../helpers/rtp-fixtures";

describe("RtpWriter", () => {
  it("writes a clean header: V=2, the payload type, one sequence space, SSRC 0 unless given", () => {
    const out: Buffer[] = [];
    new RtpWriter(96, 0xffff).packet(out, hex("419a"), 0x100000001, false);
    const writer = new RtpWriter(8, 7, { ssrc: 0xdeadbeef });
    writer.packet(out, hex("d5"), 160, true);
    writer.packet(out, hex("d4"), 320, false);
    setMarker(out[2]!);
    assert.deepEqual(hexOf(out), [
      "8060ffff" + "00000001" + "00000000" + "419a",
      "80880007" + "000000a0" + "deadbeef" + "d5",
      "80880008" + "00000140" + "deadbeef" + "d4",
    ]);
    assert.equal(writer.nextSequence, 9);
  });

  it("sends an H.264 NAL unit whole when it fits, else as FU-A fragments keeping F and NRI", () => {
    const out: Buffer[] = [];
    const writer = new RtpWriter(96, 1);
    assert.equal(writer.nalUnit(out, "H264", hex("65 00010203"), 0, 5), 1);
    assert.equal(writer.nalUnit(out, "H264", hex("e1 0001020304"), 0, 5), 2);
    assert.equal(writer.nalUnit(out, "H264", Buffer.alloc(0), 0, 5), 0);
    assert.deepEqual(
      out.map((packet) => packet.subarray(12).toString("hex")),
      ["6500010203", "fc81000102", "fc410304"],
    );
  });

  it("sends an H.265 NAL unit over the limit as FU fragments keeping F, LayerId and TID", () => {
    const out: Buffer[] = [];
    const writer = new RtpWriter(96, 1000);
    assert.equal(writer.nalUnit(out, "H265", hex("2601 000102030405060708090a"), 0, 8), 3);
    assert.equal(writer.nalUnit(out, "H265", hex("a703 00010203040506"), 0, 8), 2);
    assert.deepEqual(
      out.map((packet) => packet.subarray(12).toString("hex")),
      [
        "620193" + "0001020304",
        "620113" + "0506070809",
        "620153" + "0a",
        "e30393" + "0001020304",
        "e30353" + "0506",
      ],
    );
  });

  it("gives every packet memory of its own when asked to", () => {
    const out: Buffer[] = [];
    const writer = new RtpWriter(96, 0, { ownMemory: true });
    writer.packet(out, hex("419a"), 0, false);
    writer.nalUnit(out, "H264", Buffer.alloc(3000, 0x41), 0, 1188);
    for (const packet of out) {
      assert.equal(packet.byteOffset, 0);
      assert.equal(packet.buffer.byteLength, packet.length);
    }
  });
});
