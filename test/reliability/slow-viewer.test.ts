import assert from "node:assert/strict";
import { slowViewerScenario } from "./soak/slow-viewer";

// One werift viewer that reads a quarter of the time through a 4 KiB socket buffer, among 19 light
// ones: the 19 are compared over two 10 s windows, with that viewer reading normally and throttled.

describe("one slow viewer among 20 (Node-RED process)", function () {
  this.timeout(90_000);

  it("the others see no added loss or jitter; the server does not grow a backlog", async () => {
    const lines: string[] = [];
    const row = await slowViewerScenario({ durationMs: 20_000, log: (line) => lines.push(line) });
    assert.equal(row.result, "pass", `${JSON.stringify(row.figures, null, 2)}\n${lines.join("\n")}`);
    // The throttle bit: the slow viewer really lost packets and asked for them again.
    assert.ok(Number(row.figures.slowNacks) > 0, `the slow viewer sent ${row.figures.slowNacks} NACKs`);
  });
});
