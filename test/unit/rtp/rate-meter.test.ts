import assert from "node:assert/strict";
import { RateMeter } from "../../../src/rtp/rate-meter";

describe("RateMeter", () => {
  it("averages whole seconds over its window, leaving the current second out", () => {
    const meter = new RateMeter(5);
    // 25 frames a second of 5000 bytes in 5 packets, from t = 10 s to t = 20 s.
    for (let t = 10_000; t < 20_000; t += 40) meter.add(t, 5000, 5);
    const rates = meter.rates(20_500);
    assert.equal(rates.framesPerSecond, 25);
    assert.equal(rates.kbps, 1000);
    assert.equal(rates.packetsPerSecond, 125);
  });

  it("averages over its age while younger than the window", () => {
    const meter = new RateMeter(5);
    for (let t = 10_500; t < 12_000; t += 100) meter.add(t, 1000, 1);
    assert.equal(meter.rates(12_000).framesPerSecond, 10);
    assert.deepEqual(meter.rates(10_600), { framesPerSecond: 0, kbps: 0, packetsPerSecond: 0 });
  });

  it("falls to zero when the frames stop", () => {
    const meter = new RateMeter(5);
    for (let t = 0; t < 3000; t += 40) meter.add(t, 1000, 1);
    assert.deepEqual(meter.rates(30_000), { framesPerSecond: 0, kbps: 0, packetsPerSecond: 0 });
  });
});
