import assert from "node:assert/strict";
import {
  H264,
  h264PayloadNalTypes,
  isH264KeyframePayload,
  parseH264Sps,
  parseSpropParameterSets,
} from "../../../src/rtp/h264";
import { b64, hex, pseudoRandomBytes } from "../../helpers/rtp-fixtures";

describe("H264 constants", () => {
  it("match the NAL unit and packetization types of H.264 and RFC 6184", () => {
    assert.deepEqual(
      [H264.SLICE, H264.IDR, H264.SEI, H264.SPS, H264.PPS, H264.AUD, H264.STAP_A, H264.FU_A],
      [1, 5, 6, 7, 8, 9, 24, 28],
    );
  });
});

describe("h264PayloadNalTypes", () => {
  it("reports a single NAL unit packet by its type, whatever nal_ref_idc", () => {
    assert.deepEqual(h264PayloadNalTypes(hex("65 888400")), [5]);
    assert.deepEqual(h264PayloadNalTypes(hex("41 9a0000")), [1]);
    assert.deepEqual(h264PayloadNalTypes(hex("27 640028")), [7]);
    assert.deepEqual(h264PayloadNalTypes(hex("09 f0")), [9]);
  });

  it("lists each unit of a STAP-A", () => {
    const stapA = hex("78 0004 67420029 0002 68ce 0003 658884");
    assert.deepEqual(h264PayloadNalTypes(stapA), [7, 8, 5]);
  });

  it("stops at a STAP-A unit whose size runs past the end", () => {
    assert.deepEqual(h264PayloadNalTypes(hex("78 0004 67420029 0009 68ce")), [7]);
    assert.deepEqual(h264PayloadNalTypes(hex("78 00")), []);
  });

  it("skips the DON of a STAP-B", () => {
    assert.deepEqual(h264PayloadNalTypes(hex("79 0102 0002 68ce 0002 6588")), [8, 5]);
  });

  it("reports an FU-A only on its start fragment", () => {
    assert.deepEqual(h264PayloadNalTypes(hex("7c 85 b80000")), [5]);
    assert.deepEqual(h264PayloadNalTypes(hex("7c 05 aaaaaa")), []);
    assert.deepEqual(h264PayloadNalTypes(hex("7c 45 bbbbbb")), []);
    assert.deepEqual(h264PayloadNalTypes(hex("5c 81 9a0000")), [1]);
    assert.deepEqual(h264PayloadNalTypes(hex("7c")), []);
  });

  it("reports an FU-B start fragment", () => {
    assert.deepEqual(h264PayloadNalTypes(hex("7d 85 0001 b8")), [5]);
  });

  it("returns nothing for empty payloads and types no camera sends", () => {
    assert.deepEqual(h264PayloadNalTypes(Buffer.alloc(0)), []);
    assert.deepEqual(h264PayloadNalTypes(hex("00 00")), []);
    assert.deepEqual(h264PayloadNalTypes(hex("7a 0000 0000")), []); // MTAP16
    assert.deepEqual(h264PayloadNalTypes(hex("1e 00")), []);
  });
});

describe("isH264KeyframePayload", () => {
  it("is true for an IDR slice, a STAP-A holding one, and the first FU-A fragment of one", () => {
    assert.equal(isH264KeyframePayload(hex("65 888400")), true);
    assert.equal(isH264KeyframePayload(hex("78 0004 67420029 0002 68ce 0003 658884")), true);
    assert.equal(isH264KeyframePayload(hex("7c 85 b80000")), true);
  });

  it("is false for parameter sets alone, non-IDR slices and later FU-A fragments", () => {
    assert.equal(isH264KeyframePayload(hex("78 0004 67420029 0002 68ce")), false);
    assert.equal(isH264KeyframePayload(hex("41 9a0000")), false);
    assert.equal(isH264KeyframePayload(hex("7c 81 9a0000")), false);
    assert.equal(isH264KeyframePayload(hex("7c 05 aaaaaa")), false);
    assert.equal(isH264KeyframePayload(hex("7c 45 bbbbbb")), false);
    assert.equal(isH264KeyframePayload(Buffer.alloc(0)), false);
  });
});

interface SpsCase {
  readonly name: string;
  readonly nal: Buffer;
  readonly expected: {
    profileIdc: number;
    constraintFlags: number;
    levelIdc: number;
    width: number;
    height: number;
    profileLevelId: string;
  };
}

// Every expected value was cross-checked with ffmpeg's trace_headers bitstream filter.
const SPS_CASES: readonly SpsCase[] = [
  {
    name: "Hikvision NVR, Main 4.2, 1088 coded lines cropped (published in-band SPS, gortsplib#88)",
    nal: hex("674d002a963540f0044fcb37010101400001c2000057e401"),
    expected: {
      profileIdc: 77,
      constraintFlags: 0,
      levelIdc: 42,
      width: 1920,
      height: 1080,
      profileLevelId: "4d002a",
    },
  },
  {
    name: "Hikvision, Baseline 3.1, 960x576 without cropping (published sprop, FFmpeg PR 181)",
    nal: b64("Z0IAH5WoPASaEAAAcIAAFfkIQA=="),
    expected: {
      profileIdc: 66,
      constraintFlags: 0,
      levelIdc: 31,
      width: 960,
      height: 576,
      profileLevelId: "42001f",
    },
  },
  {
    name: "High 4.0 with nal_ref_idc 1 and emulation prevention (published sprop, mediamtx)",
    nal: b64("J2QAKKwrQDwBE/LCAAADAAIAAAMAecFABhqAAL683vcA8SJq"),
    expected: {
      profileIdc: 100,
      constraintFlags: 0,
      levelIdc: 40,
      width: 1920,
      height: 1080,
      profileLevelId: "640028",
    },
  },
  {
    name: "Main 4.0 field-coded broadcast source (published sprop, gortsplib PR 96)",
    nal: b64("Z01AKJJSgPAIj7wEQAAAAwBAAAAMo8WLZYA="),
    expected: {
      profileIdc: 77,
      constraintFlags: 0x40,
      levelIdc: 40,
      width: 1920,
      height: 1080,
      profileLevelId: "4d4028",
    },
  },
  {
    name: "High 4.1 field-coded broadcast source (published sprop, gortsplib PR 96)",
    nal: b64("Z2QAKawTMUB4BEfeA+oCAgPgAAADACAAAAZSgA=="),
    expected: {
      profileIdc: 100,
      constraintFlags: 0,
      levelIdc: 41,
      width: 1920,
      height: 1080,
      profileLevelId: "640029",
    },
  },
  {
    name: "gst-rtsp-server x264enc, Constrained Baseline 3.1 1280x720 (captured DESCRIBE)",
    nal: b64("Z0LAH9oBQBbsBagICAoAAAMAAgAAAwBlHjBlQA=="),
    expected: {
      profileIdc: 66,
      constraintFlags: 0xc0,
      levelIdc: 31,
      width: 1280,
      height: 720,
      profileLevelId: "42c01f",
    },
  },
  {
    name: "x264 High 5.1 2560x1440",
    nal: hex("67640033acd9402800b5b011000003000100000300320f183196"),
    expected: {
      profileIdc: 100,
      constraintFlags: 0,
      levelIdc: 51,
      width: 2560,
      height: 1440,
      profileLevelId: "640033",
    },
  },
  {
    name: "x264 Main 3.1 800x600 (8 lines cropped)",
    nal: hex("674d401feca06409bf2e0220000003002000000641e30632c0"),
    expected: {
      profileIdc: 77,
      constraintFlags: 0x40,
      levelIdc: 31,
      width: 800,
      height: 600,
      profileLevelId: "4d401f",
    },
  },
  {
    name: "x264 interlaced (frame_mbs_only_flag=0): crop unit of 4 lines",
    nal: hex("67640028acd94078044fde0220000003002000000643e2c5b2c0"),
    expected: {
      profileIdc: 100,
      constraintFlags: 0,
      levelIdc: 40,
      width: 1920,
      height: 1080,
      profileLevelId: "640028",
    },
  },
  {
    name: "x264 High 4:2:0 1366x768: right crop of 5 chroma samples",
    nal: hex("67640020acd94056061e6f011000000300100000030320f1831960"),
    expected: {
      profileIdc: 100,
      constraintFlags: 0,
      levelIdc: 32,
      width: 1366,
      height: 768,
      profileLevelId: "640020",
    },
  },
  {
    name: "x264 High 4:4:4 Predictive 1366x768: chroma_format_idc 3, right crop of 10 samples",
    nal: hex("67f40020919b280ac0c3c5f808800000030080000019078c18cb"),
    expected: {
      profileIdc: 244,
      constraintFlags: 0,
      levelIdc: 32,
      width: 1366,
      height: 768,
      profileLevelId: "f40020",
    },
  },
  {
    // Scaling lists 0 (default via delta -8), 2 and 6 present; pic_order_cnt_type 1 with a cycle;
    // the large offset_for_non_ref_pic puts two emulation prevention bytes before the size fields.
    name: "hand-built High SPS: scaling lists, POC type 1, emulation prevention before the size",
    nal: hex("67640028ad8454924924924921ffffffffffffffff5000000302000003036800011170a01581879b40"),
    expected: {
      profileIdc: 100,
      constraintFlags: 0,
      levelIdc: 40,
      width: 1366,
      height: 768,
      profileLevelId: "640028",
    },
  },
];

describe("parseH264Sps", () => {
  for (const { name, nal, expected } of SPS_CASES) {
    it(name, () => {
      assert.deepEqual(parseH264Sps(nal), expected);
    });
  }

  it("needs the bytes up to the cropping offsets, and no more", () => {
    // Hikvision SPS: frame_crop_bottom_offset ends at bit 87 of the NAL unit, inside byte 11.
    const nal = hex("674d002a963540f0044fcb37010101400001c2000057e401");
    for (let length = 0; length <= 10; length++) {
      assert.equal(parseH264Sps(nal.subarray(0, length)), undefined, `prefix of ${length} bytes`);
    }
    assert.deepEqual(parseH264Sps(nal.subarray(0, 11))?.height, 1080);
  });

  it("returns undefined for NAL units that are not an SPS", () => {
    assert.equal(parseH264Sps(hex("68ce3c80")), undefined);
    assert.equal(parseH264Sps(hex("65888400")), undefined);
  });

  it("returns undefined on an Exp-Golomb code longer than 32 bits", () => {
    assert.equal(parseH264Sps(hex("67 42001f 00000000000000")), undefined);
  });

  it("returns undefined when cropping leaves no picture", () => {
    // Baseline, one macroblock; all ue fields 0 except frame_crop_right_offset (in 2-sample units):
    // 8 crops all 16 columns, 7 leaves 2.
    assert.equal(parseH264Sps(hex("6742001f fbf13a")), undefined);
    assert.deepEqual(parseH264Sps(hex("6742001f fbf11a")), {
      profileIdc: 66,
      constraintFlags: 0,
      levelIdc: 31,
      width: 2,
      height: 16,
      profileLevelId: "42001f",
    });
  });

  it("never throws on arbitrary bytes after an SPS header", () => {
    for (let seed = 1; seed <= 3000; seed++) {
      const body = pseudoRandomBytes(seed, 1 + (seed % 40));
      assert.doesNotThrow(() => parseH264Sps(Buffer.concat([hex("67"), body])));
    }
  });
});

describe("parseSpropParameterSets", () => {
  it("decodes a comma-separated list of base64 NAL units", () => {
    const sets = parseSpropParameterSets("Z0LAH9oBQBbsBagICAoAAAMAAgAAAwBlHjBlQA==,aM48gA==");
    assert.deepEqual(sets, [b64("Z0LAH9oBQBbsBagICAoAAAMAAgAAAwBlHjBlQA=="), hex("68ce3c80")]);
  });

  it("keeps more than two entries (SPS and two PPS)", () => {
    const sets = parseSpropParameterSets("Z2QAKawTMUB4BEfeA+oCAgPgAAADACAAAAZSgA==,aPqPLA==,aF6jzAMA");
    assert.deepEqual(
      sets.map((nal) => nal.toString("hex")),
      ["67640029ac133140780447de03ea020203e000000300200000065280", "68fa8f2c", "685ea3cc0300"],
    );
  });

  it("accepts unpadded base64 and spaces around entries", () => {
    assert.deepEqual(parseSpropParameterSets(" aOvjyyLA , aM48gA== "), [
      hex("68ebe3cb22c0"),
      hex("68ce3c80"),
    ]);
  });

  it("skips empty and invalid entries (a Hikvision SDP with a trailing comma)", () => {
    assert.deepEqual(parseSpropParameterSets("Z0IAH5WoPASaEAAAcIAAFfkIQA==,"), [
      b64("Z0IAH5WoPASaEAAAcIAAFfkIQA=="),
    ]);
    assert.deepEqual(parseSpropParameterSets(",aM48gA=="), [hex("68ce3c80")]);
    assert.deepEqual(parseSpropParameterSets("not base64!,aM48gA==,a,===="), [hex("68ce3c80")]);
    assert.deepEqual(parseSpropParameterSets(""), []);
  });
});
