import assert from "node:assert/strict";
import {
  H265,
  h265PayloadNalTypes,
  isH265KeyframePayload,
  parseH265ParameterSets,
  parseH265Sps,
} from "../../../src/rtp/h265";
import { b64, hex, pseudoRandomBytes } from "../../helpers/rtp-fixtures";

// x265 parameter sets (ffmpeg libx265), expected values cross-checked with ffprobe and trace_headers.
const VPS_2688 = "QAEMAf//AWAAAAMAkAAAAwAAAwCWlZgJ";
const SPS_2688 = "QgEBAWAAAAMAkAAAAwAAAwCWoAFQIAXxZZWaSTK8BaAgAAADACAAAAMDIQ==";
const PPS_2688 = "RAHBcrRiQA==";

describe("H265 constants", () => {
  it("match the NAL unit and packetization types of H.265 and RFC 7798", () => {
    assert.deepEqual(
      [H265.IDR_W_RADL, H265.IDR_N_LP, H265.CRA, H265.VPS, H265.SPS, H265.PPS, H265.AUD, H265.AP, H265.FU],
      [19, 20, 21, 32, 33, 34, 35, 48, 49],
    );
    assert.deepEqual(
      [H265.IRAP_FIRST, H265.IRAP_LAST, H265.KEYFRAME_FIRST, H265.KEYFRAME_LAST],
      [16, 23, 16, 21],
    );
  });
});

describe("h265PayloadNalTypes", () => {
  it("reports a single NAL unit packet by the type in its 2-byte header", () => {
    assert.deepEqual(h265PayloadNalTypes(hex("2601 af00")), [19]);
    assert.deepEqual(h265PayloadNalTypes(hex("4001 0c01")), [32]);
    assert.deepEqual(h265PayloadNalTypes(hex("0201 d000")), [1]);
    assert.deepEqual(h265PayloadNalTypes(hex("4e01 05")), [39]);
  });

  it("lists each unit of an aggregation packet", () => {
    const ap = hex("6001 0003 40010c 0003 420101 0003 4401c1 0004 2601af00");
    assert.deepEqual(h265PayloadNalTypes(ap), [32, 33, 34, 19]);
  });

  it("stops at an aggregated unit whose size runs past the end", () => {
    assert.deepEqual(h265PayloadNalTypes(hex("6001 0003 40010c 0010 420101")), [32]);
    assert.deepEqual(h265PayloadNalTypes(hex("6001 00")), []);
  });

  it("reports a fragmentation unit only on its start fragment", () => {
    assert.deepEqual(h265PayloadNalTypes(hex("6201 93 af00")), [19]);
    assert.deepEqual(h265PayloadNalTypes(hex("6201 13 aaaa")), []);
    assert.deepEqual(h265PayloadNalTypes(hex("6201 53 bbbb")), []);
    assert.deepEqual(h265PayloadNalTypes(hex("6201 81 d000")), [1]);
    assert.deepEqual(h265PayloadNalTypes(hex("6201")), []);
  });

  it("returns nothing for short payloads, PACI and unspecified types", () => {
    assert.deepEqual(h265PayloadNalTypes(Buffer.alloc(0)), []);
    assert.deepEqual(h265PayloadNalTypes(hex("26")), []);
    assert.deepEqual(h265PayloadNalTypes(hex("6401 0000")), []);
    assert.deepEqual(h265PayloadNalTypes(hex("7e01 00")), []);
  });
});

describe("isH265KeyframePayload", () => {
  it("is true for BLA, IDR and CRA pictures, alone, aggregated or as a first fragment", () => {
    for (const header of ["2001", "2201", "2401", "2601", "2801", "2a01"]) {
      assert.equal(isH265KeyframePayload(hex(`${header} af00`)), true, header);
    }
    assert.equal(isH265KeyframePayload(hex("6001 0003 40010c 0004 2801af00")), true);
    assert.equal(isH265KeyframePayload(hex("6201 95 af00")), true);
    assert.equal(isH265KeyframePayload(hex("6201 93 af00")), true);
  });

  it("is false for trailing pictures, reserved IRAP types, parameter sets and later fragments", () => {
    assert.equal(isH265KeyframePayload(hex("0201 d000")), false);
    assert.equal(isH265KeyframePayload(hex("2c01 af00")), false); // RSV_IRAP_VCL22
    assert.equal(isH265KeyframePayload(hex("2e01 af00")), false); // RSV_IRAP_VCL23
    assert.equal(isH265KeyframePayload(hex("6001 0003 40010c 0003 420101 0003 4401c1")), false);
    assert.equal(isH265KeyframePayload(hex("6201 13 aaaa")), false);
    assert.equal(isH265KeyframePayload(hex("6201 53 bbbb")), false);
    assert.equal(isH265KeyframePayload(Buffer.alloc(0)), false);
  });
});

describe("parseH265Sps", () => {
  it("x265 Main 2688x1520 (a Dahua 4 MP size), emulation prevention in profile_tier_level", () => {
    assert.deepEqual(parseH265Sps(b64(SPS_2688)), {
      width: 2688,
      height: 1520,
      profileIdc: 1,
      levelIdc: 150,
    });
  });

  it("applies the conformance window: 640x368 coded, 640x362 shown", () => {
    const sps = b64("QgEBAWAAAAMAkAAAAwAAAwA/oAUCAXHyZZWaSTK8BaAgAAADACAAAAMDIQ==");
    assert.deepEqual(parseH265Sps(sps), { width: 640, height: 362, profileIdc: 1, levelIdc: 63 });
  });

  it("counts conformance offsets in luma samples for 4:4:4 (Main 4:4:4, 648x368 coded, 642x362 shown)", () => {
    const sps = b64("QgEBBAgAAAMAnggAAAMAAD+QAKJALjnnyys0kmV4C0BAAAADAEAAAAZC");
    assert.deepEqual(parseH265Sps(sps), { width: 642, height: 362, profileIdc: 4, levelIdc: 63 });
  });

  it("skips the sub-layer part of profile_tier_level (sps_max_sub_layers_minus1 = 1)", () => {
    const sps = b64("QgECAWAAAAMAkAAAAwAAAwBdAACgAoCALRZZWYrNJJleAtAQAAADABAAAAMBkIA=");
    assert.deepEqual(parseH265Sps(sps), { width: 1280, height: 720, profileIdc: 1, levelIdc: 93 });
  });

  it("returns undefined for NAL units that are not an SPS", () => {
    assert.equal(parseH265Sps(b64(VPS_2688)), undefined);
    assert.equal(parseH265Sps(b64(PPS_2688)), undefined);
    assert.equal(parseH265Sps(hex("42")), undefined);
    assert.equal(parseH265Sps(Buffer.alloc(0)), undefined);
  });

  it("returns undefined for every truncation before the conformance window is complete", () => {
    const sps = b64("QgEBAWAAAAMAkAAAAwAAAwA/oAUCAXHyZZWaSTK8BaAgAAADACAAAAMDIQ==");
    // conf_win_bottom_offset ends at bit 169 counting the 2-byte header (22 unescaped bytes); with
    // the 3 emulation prevention bytes before it, the NAL unit as sent needs 25 bytes.
    for (let length = 0; length < 25; length++) {
      assert.equal(parseH265Sps(sps.subarray(0, length)), undefined, `prefix of ${length} bytes`);
    }
    assert.equal(parseH265Sps(sps.subarray(0, 25))?.height, 362);
  });

  it("never throws on arbitrary bytes after an SPS header", () => {
    for (let seed = 1; seed <= 3000; seed++) {
      const body = pseudoRandomBytes(seed, 1 + (seed % 48));
      assert.doesNotThrow(() => parseH265Sps(Buffer.concat([hex("4201"), body])));
    }
  });
});

describe("parseH265ParameterSets", () => {
  it("returns VPS, SPS and PPS in that order, whatever the fmtp order", () => {
    const fmtp = { "sprop-sps": SPS_2688, "sprop-pps": PPS_2688, "sprop-vps": VPS_2688, "profile-id": "1" };
    assert.deepEqual(parseH265ParameterSets(fmtp), [b64(VPS_2688), b64(SPS_2688), b64(PPS_2688)]);
  });

  it("keeps several comma-separated entries per key and skips invalid ones", () => {
    const fmtp = {
      "sprop-vps": VPS_2688,
      "sprop-sps": `${SPS_2688},`,
      "sprop-pps": `${PPS_2688},RAHBcoYMRiQ=,@@`,
    };
    assert.deepEqual(
      parseH265ParameterSets(fmtp).map((nal) => nal.toString("base64")),
      [VPS_2688, SPS_2688, PPS_2688, "RAHBcoYMRiQ="],
    );
  });

  it("returns what is there when keys are missing", () => {
    assert.deepEqual(parseH265ParameterSets({ "sprop-sps": SPS_2688 }), [b64(SPS_2688)]);
    assert.deepEqual(parseH265ParameterSets({}), []);
  });
});
