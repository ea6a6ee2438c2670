import assert from "node:assert/strict";
import { BitReader, BitstreamError, unescapeRbsp } from "../../../src/rtp/bit-reader";

describe("unescapeRbsp", () => {
  it("removes the 03 of each 00 00 03 sequence", () => {
    assert.deepEqual(unescapeRbsp(Buffer.from("6700000301", "hex")), Buffer.from("67000001", "hex"));
    assert.deepEqual(
      unescapeRbsp(Buffer.from("0000030000030002", "hex")),
      Buffer.from("000000000002", "hex"),
    );
  });

  it("keeps a 03 that follows an emulation prevention byte, and a 03 after a single zero", () => {
    assert.deepEqual(unescapeRbsp(Buffer.from("00000303", "hex")), Buffer.from("000003", "hex"));
    assert.deepEqual(unescapeRbsp(Buffer.from("ff0003ff", "hex")), Buffer.from("ff0003ff", "hex"));
  });

  it("returns the bytes unchanged when nothing is escaped", () => {
    const nal = Buffer.from("674d002a963540f0044fcb37", "hex");
    assert.deepEqual(unescapeRbsp(nal), nal);
  });
});

describe("BitReader", () => {
  it("reads bits MSB first across byte boundaries", () => {
    const reader = new BitReader(Buffer.from([0b1011_0011, 0b1100_0000]));
    assert.equal(reader.readBit(), 1);
    assert.equal(reader.readBits(3), 0b011);
    assert.equal(reader.readBits(6), 0b0011_11);
    assert.equal(reader.readFlag(), false);
    assert.equal(reader.bitsLeft, 5);
  });

  it("reads 32-bit values without sign overflow", () => {
    assert.equal(new BitReader(Buffer.from("ffffffff", "hex")).readBits(32), 0xffffffff);
  });

  it("decodes ue(v) codes 1, 010, 011, 00100, 00111 as 0, 1, 2, 3, 6", () => {
    // 1 010 011 00100 00111 -> 1010 0110 0100 0011 1(000 0000)
    const reader = new BitReader(Buffer.from([0b1010_0110, 0b0100_0011, 0b1000_0000]));
    assert.deepEqual(
      [reader.readUE(), reader.readUE(), reader.readUE(), reader.readUE(), reader.readUE()],
      [0, 1, 2, 3, 6],
    );
  });

  it("decodes se(v) codes 1, 010, 011, 00100, 00101 as 0 (not -0), 1, -1, 2, -2", () => {
    // 1 010 011 00100 00101 -> 1010 0110 0100 0010 1(000 0000)
    const reader = new BitReader(Buffer.from([0b1010_0110, 0b0100_0010, 0b1000_0000]));
    assert.deepEqual(
      [reader.readSE(), reader.readSE(), reader.readSE(), reader.readSE(), reader.readSE()],
      [0, 1, -1, 2, -2],
    );
  });

  it("decodes a 31-zero ue(v) code (the largest 32-bit value)", () => {
    // 31 zeros, a one, then 31 ones: 2^31 - 1 + 2^31 - 1
    const reader = new BitReader(Buffer.from("00000001ffffffff", "hex"));
    assert.equal(reader.readUE(), 2 ** 32 - 2);
  });

  it("throws BitstreamError when a read runs past the end", () => {
    const reader = new BitReader(Buffer.from([0xff]));
    reader.readBits(8);
    assert.throws(() => reader.readBit(), BitstreamError);
    assert.throws(() => new BitReader(Buffer.from([0x00])).readUE(), BitstreamError);
    assert.throws(() => new BitReader(Buffer.from([0x00])).skipBits(9), BitstreamError);
  });

  it("throws BitstreamError on an Exp-Golomb code with more than 31 leading zeros", () => {
    assert.throws(() => new BitReader(Buffer.from("00000000ff", "hex")).readUE(), /longer than 32 bits/);
  });
});
