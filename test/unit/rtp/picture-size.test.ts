import assert from "node:assert/strict";
import { pictureSizeOf } from "../../../src/rtp/picture-size";
import { b64 } from "../../helpers/rtp-fixtures";

// Parameter sets as the cameras of test/fixtures/sdp send them in their sprop fmtp parameters.
const HIKVISION_SPS = b64("Z00AKpY1QPAET8s3AQEBQAABwgAAV+QB"); // Main 4.2, 1088 coded lines cropped
const HIKVISION_PPS = b64("aO48gA==");
const DAHUA_VPS = b64("QAEMAf//AWAAAAMAkAAAAwAAAwCWlZgJ");
const DAHUA_SPS = b64("QgEBAWAAAAMAkAAAAwAAAwCWoAFQIAXxZZWaSTK8BaAgAAADACAAAAMDIQ==");
const DAHUA_PPS = b64("RAHBcrRiQA==");

describe("pictureSizeOf", () => {
  it("reads an H.264 SPS: the cropped size and the profile-level-id, wherever the SPS stands", () => {
    const expected = { width: 1920, height: 1080, profile: "4d002a" };
    assert.deepEqual(pictureSizeOf("H264", [HIKVISION_SPS, HIKVISION_PPS]), expected);
    assert.deepEqual(pictureSizeOf("H264", [HIKVISION_PPS, HIKVISION_SPS]), expected);
  });

  it("reads an H.265 SPS: the size after the conformance window, and no profile", () => {
    assert.deepEqual(pictureSizeOf("H265", [DAHUA_VPS, DAHUA_SPS, DAHUA_PPS]), { width: 2688, height: 1520 });
  });

  it("passes over an SPS it cannot read and takes the next one", () => {
    const truncated = HIKVISION_SPS.subarray(0, 8);
    assert.deepEqual(pictureSizeOf("H264", [truncated, HIKVISION_SPS])?.height, 1080);
  });

  it("is undefined without a readable SPS of the stream's codec", () => {
    assert.equal(pictureSizeOf("H264", []), undefined);
    assert.equal(pictureSizeOf("H264", [HIKVISION_PPS]), undefined);
    assert.equal(pictureSizeOf("H264", [HIKVISION_SPS.subarray(0, 8)]), undefined);
    assert.equal(pictureSizeOf("H265", [HIKVISION_SPS]), undefined);
    assert.equal(pictureSizeOf("H264", [DAHUA_SPS]), undefined);
    assert.equal(pictureSizeOf("VP8", [HIKVISION_SPS]), undefined);
  });
});
