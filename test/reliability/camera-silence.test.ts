import assert from "node:assert/strict";
import { cameraSilenceScenario } from "./camera-faults";

describe("a camera that goes silent with its connection open (rtsp-in in Node-RED)", function () {
  this.timeout(60_000);

  it("is noticed within 10 s over TCP (frozen connection) and UDP (RTSP still answering), and plays again", async () => {
    const lines: string[] = [];
    const row = await cameraSilenceScenario({ durationMs: 0, log: (line) => lines.push(line) });
    console.log(`      ${JSON.stringify(row.figures)}`);
    assert.equal(row.result, "pass", `${JSON.stringify(row.figures, null, 2)}\n${lines.join("\n")}`);
    assert.match(String(row.figures.tcpReason), /^media stopped for \d+ s$/);
    assert.match(String(row.figures.udpReason), /^media stopped for \d+ s$/);
  });
});
