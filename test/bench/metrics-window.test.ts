import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { MetricsWindow } from "./bench-node-red";

// The bench's GC column: which collections ran in a window, counted from perf_hooks "gc" entries.

/** A forced full collection, whether or not the test process was started with --expose-gc. */
function fullGc(): void {
  setFlagsFromString("--expose-gc");
  (runInNewContext("gc") as () => void)();
}

describe("MetricsWindow", () => {
  it("counts the full and young collections of its window, and starts again from zero on reset", async () => {
    const metrics = new MetricsWindow();
    try {
      metrics.reset();
      fullGc();
      fullGc();
      // Short-lived garbage enough to fill the young generation several times over.
      let kept = 0;
      for (let i = 0; i < 200_000; i++) kept += new Array(64).fill(i).length;
      assert.ok(kept > 0);
      await sleep(50); // gc entries are delivered after the collection, on a later turn
      const window = metrics.read();
      assert.ok(window.gc.full >= 2, `full: ${window.gc.full}`);
      assert.ok(window.gc.young >= 1, `young: ${window.gc.young}`);
      assert.ok(window.gc.pauseMs > 0);
      metrics.reset();
      assert.deepEqual(metrics.read().gc, { full: 0, young: 0, pauseMs: 0 });
    } finally {
      metrics.close();
    }
  });
});
