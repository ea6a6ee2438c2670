import assert from "node:assert/strict";
import { AAC_HBR, auHeaderLayout, splitAccessUnits } from "../../../src/rtp/rfc3640";
import { hex, hexOf } from "../../helpers/rtp-fixtures";

describe("RFC 3640 access units", () => {
  it("reads the AAC-hbr layout from an fmtp, and refuses what it cannot read", () => {
    const fmtp = {
      mode: "AAC-hbr",
      sizelength: "13",
      indexlength: "3",
      indexdeltalength: "3",
      config: "1408",
    };
    assert.deepEqual(auHeaderLayout(fmtp), AAC_HBR);
    assert.deepEqual(auHeaderLayout({ sizelength: "6", indexlength: "2", indexdeltalength: "2" }), {
      sizeLength: 6,
      indexLength: 2,
      indexDeltaLength: 2,
    });
    assert.equal(auHeaderLayout({}), undefined, "no AU sizes: constant-size mode");
    assert.equal(auHeaderLayout({ sizelength: "x" }), undefined);
    assert.equal(auHeaderLayout({ sizelength: "17" }), undefined);
    assert.equal(auHeaderLayout({ sizelength: "13", ctsdeltalength: "16" }), undefined);
    assert.deepEqual(auHeaderLayout({ sizelength: "13", randomaccessindication: "0" }), {
      sizeLength: 13,
      indexLength: 0,
      indexDeltaLength: 0,
    });
  });

  it("splits a payload of two AUs (AU-headers-length 32: sizes 3 and 2, index 0 and delta 0)", () => {
    const payload = hex("0020 0018 0010 aabbcc ddee");
    assert.deepEqual(hexOf(splitAccessUnits(payload, AAC_HBR)!), ["aabbcc", "ddee"]);
  });

  it("splits one AU of a 13-bit size (0x0155 = 341 bytes)", () => {
    const body = Buffer.alloc(341, 7);
    const payload = Buffer.concat([hex("0010"), hex((341 << 3).toString(16).padStart(4, "0")), body]);
    const units = splitAccessUnits(payload, AAC_HBR)!;
    assert.equal(units.length, 1);
    assert.ok(units[0]!.equals(body));
  });

  it("refuses sizes that do not add up: a fragment of a larger AU, a zero size, truncated headers", () => {
    assert.equal(splitAccessUnits(hex("0010 0020 aabbcc"), AAC_HBR), undefined, "4 bytes announced, 3 there");
    assert.equal(splitAccessUnits(hex("0010 0000 aa"), AAC_HBR), undefined, "size 0");
    assert.equal(splitAccessUnits(hex("0020 0018"), AAC_HBR), undefined, "headers cut short");
    assert.equal(splitAccessUnits(hex("000c 0018 aabbcc"), AAC_HBR), undefined, "12 bits of a 16-bit header");
    assert.equal(splitAccessUnits(hex("0000 aa"), AAC_HBR), undefined, "no headers");
    assert.equal(splitAccessUnits(hex("00"), AAC_HBR), undefined);
  });
});
