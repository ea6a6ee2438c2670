import assert from "node:assert/strict";
import { RtpClock } from "../../../src/mp4/rtp-clock";

describe("RtpClock", () => {
  it("counts ticks from the first timestamp, across the 32-bit wrap", () => {
    const clock = new RtpClock(90000);
    assert.equal(clock.ticks(0xffff_f000), 0);
    assert.equal(clock.ticks(0xffff_fbb8), 3000);
    assert.equal(clock.ticks(0x0000_0810), 6160, "wrapped");
    assert.equal(clock.seconds(0x0000_5978), 0.3);
  });

  it("takes a step back as a step back, not as a wrap", () => {
    const clock = new RtpClock(8000);
    clock.ticks(1000);
    assert.equal(clock.ticks(1160), 160);
    assert.equal(clock.ticks(1000), 0);
    assert.equal(clock.ticks(1160 + 0x7000_0000), 0x7000_0000 + 160);
  });
});
