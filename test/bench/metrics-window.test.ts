import assert from "node:assert/strict";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { MetricsWindow } from "./bench-node-red";

// The bench's GC column: which collections ran in a window, counted by V8's GC profiler.

/** A forced collection (full unless told), whether or not the test process was started with --expose-gc. */
function forceGc(options?: { type: "minor" }): void {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as (options?: { type: "minor" }) => void;
  // V8 reads an argument that is there but undefined as options, not as "none given".
  if (options === undefined) gc();
  else gc(options);
}

describe("MetricsWindow", () => {
  it("counts the full and young collections of its window, and starts again from zero on reset", () => {
    const metrics = new MetricsWindow();
    try {
      metrics.reset();
      forceGc();
      forceGc();
      // Short-lived garbage enough to fill the young generation several times over.
      let kept = 0;
      for (let i = 0; i < 200_000; i++) kept += new Array(64).fill(i).length;
      assert.ok(kept > 0);
      const window = metrics.read();
      assert.ok(window.gc.full >= 2, `full: ${window.gc.full}`);
      assert.ok(window.gc.young >= 1, `young: ${window.gc.young}`);
      assert.ok(window.gc.pauseMs > 0);
      // An empty young generation, so that nothing between reset and read can set off a scavenge.
      forceGc({ type: "minor" });
      metrics.reset();
      assert.deepEqual(metrics.read().gc, { full: 0, young: 0, pauseMs: 0 });
    } finally {
      metrics.close();
    }
  });
});
