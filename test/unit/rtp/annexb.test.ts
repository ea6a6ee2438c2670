import assert from "node:assert/strict";
import { groupAccessUnits, h264NalType, isIdrAccessUnit, splitAnnexB } from "../../../src/rtp/annexb";
import { hex, hexOf } from "../../helpers/rtp-fixtures";

describe("splitAnnexB", () => {
  it("splits on 3- and 4-byte start codes and drops the zero that leads a 4-byte one", () => {
    const data = hex("00000001 6742 000001 68ce 00000001 6588 84 000001 4101");
    assert.deepEqual(hexOf(splitAnnexB(data)), ["6742", "68ce", "658884", "4101"]);
  });

  it("ignores bytes before the first start code, trailing zeros and empty NAL units", () => {
    const data = hex("ffee 000001 0000000001 6742 0000 000001 000001 4101 000000");
    assert.deepEqual(hexOf(splitAnnexB(data)), ["6742", "4101"]);
  });

  it("does not split on emulation-prevented zeros (00 00 03)", () => {
    const data = hex("000001 65 000003 01 000003 00 000001 41");
    assert.deepEqual(hexOf(splitAnnexB(data)), ["6500000301000003", "41"]);
  });

  it("finds a start code right after a byte above 1 and at the very end", () => {
    assert.deepEqual(hexOf(splitAnnexB(hex("000001 41 02 000001 41 000001"))), ["4102", "41"]);
    assert.deepEqual(hexOf(splitAnnexB(hex("000001 41 05 05 05 00 00 01 09 10"))), ["41050505", "0910"]);
  });

  it("gives nothing for a buffer without start code", () => {
    assert.deepEqual(splitAnnexB(hex("")), []);
    assert.deepEqual(splitAnnexB(hex("0000")), []);
    assert.deepEqual(splitAnnexB(hex("6742000102")), []);
  });

  it("returns views into the input, not copies", () => {
    const data = hex("000001 6742 000001 68ce");
    const [sps] = splitAnnexB(data);
    assert.equal(sps!.buffer, data.buffer);
  });
});

describe("groupAccessUnits", () => {
  // Slices: second byte 0x88 has first_mb_in_slice = 0 (leading bit 1); 0x20 starts with ue(v) > 0.
  const sps = hex("674d401e");
  const pps = hex("68ef3c80");
  const sei = hex("0605ff");
  const aud = hex("0910");
  const idr = hex("658884");
  const p1 = hex("419a01");
  const p2 = hex("419a02");
  const p2second = hex("412002");
  const p3 = hex("419a03");

  it("starts an access unit at each first slice and keeps parameter sets and SEI with the picture after them", () => {
    const units = groupAccessUnits([sps, pps, sei, idr, p1, p2, p2second, aud, p3, sps, pps, idr]);
    assert.deepEqual(
      units.map((unit) => hexOf(unit)),
      [
        hexOf([sps, pps, sei, idr]),
        hexOf([p1]),
        hexOf([p2, p2second]),
        hexOf([aud, p3]),
        hexOf([sps, pps, idr]),
      ],
    );
  });

  it("keeps end-of-sequence and filler NAL units with the picture before them", () => {
    const endOfSequence = hex("0a");
    const filler = hex("0cff");
    const units = groupAccessUnits([idr, filler, endOfSequence, p1]);
    assert.deepEqual(
      units.map((unit) => hexOf(unit)),
      [hexOf([idr, filler, endOfSequence]), hexOf([p1])],
    );
  });

  it("puts trailing parameter sets without a picture in a last group, and skips empty NAL units", () => {
    const units = groupAccessUnits([p1, Buffer.alloc(0), sps, pps]);
    assert.deepEqual(
      units.map((unit) => hexOf(unit)),
      [hexOf([p1]), hexOf([sps, pps])],
    );
    assert.deepEqual(groupAccessUnits([]), []);
  });

  it("tells IDR access units and NAL types", () => {
    assert.equal(isIdrAccessUnit([sps, pps, idr]), true);
    assert.equal(isIdrAccessUnit([p1]), false);
    assert.equal(h264NalType(idr), 5);
    assert.equal(h264NalType(Buffer.alloc(0)), undefined);
  });
});
