import assert from "node:assert/strict";
import { avcConfig } from "../../../src/mp4/avc-config";

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ""), "hex");

// x264's SPS and PPS of a 1280x720 High profile, level 3.1 stream.
const HIGH_SPS = hex("6764001facd9405005bb011000000300100000030320f1831960");
const PPS = hex("68ebe3cb22c0");
// The demo clip's SPS and PPS: Main profile, level 3.0, 640x360.
const MAIN_SPS = hex("674d401eda0280bfe5c044000003000400000300c83c58ba80");
const MAIN_PPS = hex("68ef3c80");

describe("avcConfig", () => {
  it("writes a Main profile record byte for byte", () => {
    const config = avcConfig(MAIN_SPS, MAIN_PPS);
    assert.ok(config);
    assert.deepEqual(
      config.record,
      Buffer.concat([hex("01 4d401e ff e1 0019"), MAIN_SPS, hex("01 0004"), MAIN_PPS]),
    );
    assert.equal(config.codecs, "avc1.4d401e");
    assert.deepEqual([config.width, config.height], [640, 360]);
  });

  it("ends a High profile record with 4:2:0, 8 bits and no SPS extension", () => {
    const config = avcConfig(HIGH_SPS, PPS);
    assert.ok(config);
    assert.deepEqual(
      config.record,
      Buffer.concat([hex("01 64001f ff e1 001a"), HIGH_SPS, hex("01 0006"), PPS, hex("fd f8 f8 00")]),
    );
    assert.equal(config.codecs, "avc1.64001f");
    assert.deepEqual([config.width, config.height], [1280, 720]);
  });

  it("refuses what is not an SPS and a PPS, or an SPS that does not parse", () => {
    assert.equal(avcConfig(PPS, PPS), undefined);
    assert.equal(avcConfig(MAIN_SPS, MAIN_SPS), undefined);
    assert.equal(avcConfig(hex("6742"), PPS), undefined);
  });
});
