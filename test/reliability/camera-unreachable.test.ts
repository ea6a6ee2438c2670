import assert from "node:assert/strict";
import { cameraUnreachableScenario } from "./camera-faults";

// The suite's scale of the scenario (the soak keeps the camera away for 10 minutes).

describe("a camera unreachable at deploy, then back (rtsp-in in Node-RED)", function () {
  this.timeout(60_000);

  it("30 s away: capped backoff, no growth in heap, sockets or timers, plays on the next try after its return", async () => {
    const lines: string[] = [];
    const row = await cameraUnreachableScenario({ durationMs: 30_000, log: (line) => lines.push(line) });
    console.log(`      ${JSON.stringify(row.figures)}`);
    assert.equal(row.result, "pass", `${JSON.stringify(row.figures, null, 2)}\n${lines.join("\n")}`);
    assert.ok(Number(row.figures.attempts) >= 5, `${row.figures.attempts} attempts in 30 s`);
  });
});
