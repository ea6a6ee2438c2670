import assert from "node:assert/strict";
import { splitFrames } from "../../../../src/webrtc/shared-port/ice-tcp-listener";
import { hex } from "../../../helpers/rtp-fixtures";

// RFC 4571 framing as the shared ICE-TCP port reads it before handing a connection to werift.

describe("ICE-TCP framing (RFC 4571)", () => {
  it("splits complete frames and keeps the incomplete rest, byte for byte", () => {
    const { frames, rest } = splitFrames(hex("0002 abcd 0000 0003 010203 0004 aa"));
    assert.deepEqual(
      frames.map((f) => f.toString("hex")),
      ["abcd", "", "010203"],
    );
    assert.equal(rest.toString("hex"), "0004aa");
  });

  it("keeps a lone length byte, and nothing when the buffer ends on a frame", () => {
    assert.equal(splitFrames(hex("00")).rest.toString("hex"), "00");
    assert.equal(splitFrames(hex("00")).frames.length, 0);
    assert.equal(splitFrames(hex("0001ff")).rest.length, 0);
  });

  it("the rest is a copy: later writes to the input do not change it", () => {
    const input = hex("0001ff0002aa");
    const { rest } = splitFrames(input);
    input.fill(0);
    assert.equal(rest.toString("hex"), "0002aa");
  });
});
