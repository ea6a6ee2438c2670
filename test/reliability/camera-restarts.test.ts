import assert from "node:assert/strict";
import { cameraRestartsScenario } from "./camera-faults";

// A real gst-rtsp-server killed and started again 20 times on its port, three werift viewers watching
// through rtsp-in → webrtc-out in Node-RED.

describe("a camera that restarts 20 times (gst-rtsp-server, rtsp-in → webrtc-out, werift viewers)", function () {
  this.timeout(90_000);

  it("every viewer keeps its connection, has video again within 3 s of each return, no sequence gap, clean decode", async () => {
    const lines: string[] = [];
    const row = await cameraRestartsScenario({
      durationMs: 0,
      restarts: 20,
      viewers: 3,
      log: (line) => lines.push(line),
    });
    console.log(`      ${JSON.stringify(row.figures)}`);
    assert.equal(row.result, "pass", `${JSON.stringify(row.figures, null, 2)}\n${lines.join("\n")}`);
    assert.equal(row.figures.restarts, 20);
    assert.equal(row.figures.sequenceGaps, 0);
  });
});
