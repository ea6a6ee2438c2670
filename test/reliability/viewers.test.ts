import assert from "node:assert/strict";
import { viewerCyclesScenario } from "./soak/viewer-cycles";

// The suite's scale of the viewer join/leave scenario (`npm run soak` runs 1000 cycles): 30 warm-up
// cycles (leaving by DELETE or close_notify), then 30 measured ones, a third leaving abruptly (reaped
// only at consent expiry, 30 s after), a third by WHEP DELETE, a third by a DTLS close_notify alone.

describe("viewers that come and go (Node-RED process, light viewers)", function () {
  this.timeout(120_000);

  it("join/leave cycles (DELETE, close_notify, vanished): RSS, heap, sockets, timers back once reaped", async () => {
    const lines: string[] = [];
    const row = await viewerCyclesScenario({
      durationMs: 60_000,
      cycles: 30,
      warmupCycles: 30,
      warmupLeaves: ["delete", "notify"],
      log: (line) => lines.push(line),
    });
    assert.equal(row.result, "pass", `${JSON.stringify(row.figures, null, 2)}\n${lines.join("\n")}`);
    assert.equal(row.figures.cycles, 30);
    // The close_notify fix: a browser's pc.close() without DELETE no longer waits for consent expiry.
    assert.ok(
      Number(row.figures.reapCloseNotifyMs) < 2000,
      `close_notify reaped in ${row.figures.reapCloseNotifyMs} ms`,
    );
  });
});
