import assert from "node:assert/strict";
import { redact } from "../../../src/nodes/redact";

describe("nodes/redact", () => {
  it("masks URLs and every given secret, as typed and percent-encoded in either hex case", () => {
    const secret = "Pa55-w0rd/ZZ9@";
    assert.equal(redact(`rtsp://admin:${secret}@cam/s`, secret), "rtsp://admin:***@cam/s");
    assert.equal(redact(`reply was ${secret}!`, secret), "reply was ***!");
    assert.equal(redact("got Pa55-w0rd%2FZZ9%40 back", secret), "got *** back");
    assert.equal(redact("got Pa55-w0rd%2fZZ9%40 back", secret), "got *** back");
  });

  it("masks each of several secrets, the longer one first", () => {
    assert.equal(redact("a=abcd-long b=abcd", "abcd", "abcd-long"), "a=*** b=***");
    assert.equal(redact("one xyz9 two wxyz", undefined, "xyz9", "wxyz"), "one *** two ***");
  });

  it("leaves passwords under 4 characters to the URL masking (they would mask ordinary words)", () => {
    assert.equal(redact("status ok", "ok"), "status ok");
    assert.equal(redact("rtsp://u:ok@cam/", "ok"), "rtsp://u:***@cam/");
  });

  it("returns text without secrets unchanged", () => {
    assert.equal(redact("playing H264 1280x720", "Pa55-w0rd"), "playing H264 1280x720");
    assert.equal(redact("", undefined), "");
  });
});
