import assert from "node:assert/strict";
import { type DepacketizeResult, depacketizeNals, toAnnexB } from "../../../src/rtp/nal-depacketizer";
import { depacketizeH264, depacketizeH265 } from "../../helpers/depacketize";
import { hex, hexOf, rtpPacket } from "../../helpers/rtp-fixtures";

/** RTP packets with consecutive sequence numbers from 100, one timestamp, marker on the last. */
function packets(...payloads: string[]): Buffer[] {
  return payloads.map((payload, i) =>
    rtpPacket({ seq: 100 + i, ts: 9000, payload, marker: i === payloads.length - 1 }),
  );
}

function nalsOf(result: DepacketizeResult): string[] {
  assert.ok(result.ok, `not ok: ${result.ok ? "" : result.error}`);
  return hexOf(result.nals);
}

function errorOf(result: DepacketizeResult): string {
  assert.ok(!result.ok, "expected a failure");
  return result.error;
}

describe("depacketizeNals: H.264 (RFC 6184)", () => {
  it("takes single NAL unit packets as they are", () => {
    assert.deepEqual(nalsOf(depacketizeNals("H264", packets("06 0501", "65 aabbcc"))), [
      "060501",
      "65aabbcc",
    ]);
  });

  it("splits a STAP-A into its units (§5.7.1)", () => {
    const stap = "18 0004 6742001f 0002 68ce 0003 65aabb";
    assert.deepEqual(nalsOf(depacketizeNals("H264", packets(stap))), ["6742001f", "68ce", "65aabb"]);
  });

  it("joins an FU-A run, rebuilding the NAL header from indicator and FU header (§5.8)", () => {
    // IDR, nal_ref_idc 3: indicator 0x7c (F=0 NRI=3 type 28), FU headers S|5, 5, E|5.
    const run = packets("7c85 1122", "7c05 33", "7c45 44");
    assert.deepEqual(nalsOf(depacketizeNals("H264", run)), ["6511223344"]);
    // A non-reference slice (NRI 0), then a second FU-A run in the same frame.
    const two = packets("1c81 01", "1c41 02", "7c85 03", "7c45 04");
    assert.deepEqual(nalsOf(depacketizeNals("H264", two)), ["010102", "650304"]);
  });

  it("agrees with the independent test depacketizer on a mixed frame", () => {
    const frame = packets("18 0004 6742001f 0002 68ce", "7c85 1122", "7c05 33", "7c45 44", "41 9a");
    const ours = depacketizeNals("H264", frame);
    assert.ok(ours.ok);
    assert.equal(toAnnexB(ours.nals).toString("hex"), depacketizeH264(frame).toString("hex"));
  });

  it("fails a frame whose FU-A run is broken, rather than hand a decoder half a slice", () => {
    assert.equal(errorOf(depacketizeNals("H264", packets("7c05 33", "7c45 44"))), "bad-fragment", "no start");
    assert.equal(errorOf(depacketizeNals("H264", packets("7c85 11", "7c05 33"))), "bad-fragment", "no end");
    assert.equal(
      errorOf(depacketizeNals("H264", packets("7c85 11", "7c85 33"))),
      "bad-fragment",
      "two starts",
    );
    assert.equal(errorOf(depacketizeNals("H264", packets("7cc5 11"))), "bad-fragment", "S and E at once");
    assert.equal(
      errorOf(depacketizeNals("H264", packets("7c85 11", "65 22"))),
      "bad-fragment",
      "cut by a NAL",
    );
    assert.equal(errorOf(depacketizeNals("H264", packets("7c85"))), "bad-fragment", "no body");
    const gap = [
      rtpPacket({ seq: 1, ts: 0, payload: "7c85 11" }),
      rtpPacket({ seq: 3, ts: 0, payload: "7c45 22" }),
    ];
    assert.equal(errorOf(depacketizeNals("H264", gap)), "bad-fragment", "a lost middle packet");
  });

  it("fails a STAP-A whose sizes do not add up, and the types cameras do not send", () => {
    assert.equal(errorOf(depacketizeNals("H264", packets("18 0009 6742"))), "bad-aggregate");
    assert.equal(errorOf(depacketizeNals("H264", packets("18 0000 0001 68"))), "bad-aggregate");
    assert.equal(
      errorOf(depacketizeNals("H264", packets("18 0002 6742 00"))),
      "bad-aggregate",
      "a stray byte",
    );
    assert.equal(errorOf(depacketizeNals("H264", packets("18"))), "bad-aggregate", "empty");
    assert.equal(errorOf(depacketizeNals("H264", packets("19 0000 0002 68ce"))), "unsupported", "STAP-B");
    assert.equal(errorOf(depacketizeNals("H264", packets("1d85 11"))), "unsupported", "FU-B");
    assert.equal(errorOf(depacketizeNals("H264", packets("00 11"))), "unsupported", "type 0");
  });

  it("fails what is not RTP", () => {
    assert.equal(errorOf(depacketizeNals("H264", [hex("8060")])), "bad-rtp");
    assert.equal(errorOf(depacketizeNals("H264", [rtpPacket({ seq: 1, ts: 0, payload: "" })])), "bad-rtp");
  });
});

describe("depacketizeNals: H.265 (RFC 7798)", () => {
  it("splits an aggregation packet (§4.4.2)", () => {
    const ap = "6001 0003 40010c 0003 420101 0002 4401";
    assert.deepEqual(nalsOf(depacketizeNals("H265", packets(ap))), ["40010c", "420101", "4401"]);
  });

  it("joins an FU run, rebuilding the 2-byte NAL header (§4.4.3)", () => {
    // IDR_W_RADL (19): header 2601; FU payload header 6201, FU headers S|19, 19, E|19.
    const run = packets("6201 93 aabb", "6201 13 cc", "6201 53 dd");
    assert.deepEqual(nalsOf(depacketizeNals("H265", run)), ["2601aabbccdd"]);
    const frame = packets("6001 0003 40010c 0003 420101", "6201 93 aabb", "6201 53 dd", "0201 ee");
    const ours = depacketizeNals("H265", frame);
    assert.ok(ours.ok);
    assert.equal(toAnnexB(ours.nals).toString("hex"), depacketizeH265(frame).toString("hex"));
  });

  it("fails broken runs, short aggregation units and PACI", () => {
    assert.equal(errorOf(depacketizeNals("H265", packets("6201 13 cc"))), "bad-fragment");
    assert.equal(errorOf(depacketizeNals("H265", packets("6001 0001 40"))), "bad-aggregate", "a 1-byte unit");
    assert.equal(errorOf(depacketizeNals("H265", packets("6401 0000"))), "unsupported", "PACI");
    assert.equal(errorOf(depacketizeNals("H265", packets("26"))), "bad-rtp", "half a header");
  });
});

describe("toAnnexB", () => {
  it("puts a 4-byte start code before each unit", () => {
    assert.equal(toAnnexB([hex("6742"), hex("68ce")]).toString("hex"), "0000000167420000000168ce");
  });
});
