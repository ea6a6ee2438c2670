import assert from "node:assert/strict";
import { KEEPALIVE_CASES, keepaliveScenarios } from "./camera-faults";

// Cameras with a 10 s session timeout that take only OPTIONS, only GET_PARAMETER, answer keepalives
// with errors, or count only RTCP receiver reports: 35 s is three and a half timeouts. The soak runs
// each for 5 minutes.

describe("cameras with keepalive quirks, 10 s session timeout (demo camera, rtsp-in in Node-RED)", function () {
  this.timeout(60_000);

  it("every session survives 35 s: options-only, get-parameter-only, errors (TCP, UDP), rtcp-only (UDP)", async () => {
    const lines: string[] = [];
    const rows = await keepaliveScenarios({
      durationMs: 35_000,
      cases: KEEPALIVE_CASES,
      sessionTimeoutS: 10,
      log: (line) => lines.push(line),
    });
    for (const row of rows) console.log(`      ${row.name}: ${JSON.stringify(row.figures)}`);
    assert.equal(rows.length, KEEPALIVE_CASES.length);
    for (const row of rows) {
      assert.equal(
        row.result,
        "pass",
        `${row.name}: ${JSON.stringify(row.figures, null, 2)}\n${lines.join("\n")}`,
      );
      assert.equal(row.figures.sessions, 1);
    }
  });
});
