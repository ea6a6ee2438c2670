import assert from "node:assert/strict";
import { FuRun } from "../../../src/rtp/fu-run";
import { hex } from "../../helpers/rtp-fixtures";

// FuRun reads a fragmented NAL unit's body straight out of the FU payloads it came in.

describe("FuRun", () => {
  /** Three H.264 FU-A payloads of an IDR (type 5): S, middle, E; bodies 01..04, 05, 06..09. */
  const payloads = [hex("7c85 01020304"), hex("7c05 05"), hex("7c45 06070809")];

  function gathered(maxPayload = 100): FuRun {
    const run = new FuRun();
    run.begin(payloads[0]!, 1, 5, 3000, maxPayload);
    run.add(payloads[1]!, maxPayload);
    run.add(payloads[2]!, maxPayload);
    return run;
  }

  it("knows the unit's prefix, S and E, size, body length and timestamp", () => {
    const run = gathered();
    assert.deepEqual({ ...run.prefix }, { bytes: 0x7c, length: 1, fuType: 5 });
    assert.deepEqual(
      [run.started, run.ended, run.oversized, run.size, run.length, run.timestamp],
      [true, true, false, 3, 9, 3000],
    );
    assert.equal(gathered(5).oversized, true, "a 6-byte payload over 5");
  });

  it("copies any range of the body across the payloads' bounds, as Buffer.copy does", () => {
    const run = gathered();
    const body = hex("010203040506070809");
    for (let from = 0; from <= 9; from++) {
      for (let to = from; to <= 9; to++) {
        const target = Buffer.alloc(12, 0xee);
        assert.equal(run.copy(target, 2, from, to), to - from);
        const want = Buffer.alloc(12, 0xee);
        body.copy(want, 2, from, to);
        assert.deepEqual(target, want, `${from}..${to}`);
      }
    }
    assert.equal(run.copy(Buffer.alloc(20), 0, 0, 50), 9, "stops at the body's end");
  });

  it("reads an H.265 FU's 3-byte prefix, and a run that started without S", () => {
    const run = new FuRun();
    run.begin(hex("6201 13 aabb"), 2, 19, 0, 100);
    run.add(hex("6201 13 cc"), 100);
    assert.deepEqual({ ...run.prefix }, { bytes: 0x6201, length: 2, fuType: 19 });
    assert.deepEqual([run.started, run.ended, run.length], [false, false, 3]);
    const target = Buffer.alloc(3);
    run.copy(target, 0, 0, 3);
    assert.equal(target.toString("hex"), "aabbcc");
  });

  it("forgets the payloads when cleared, and starts afresh", () => {
    const run = gathered();
    run.clear();
    assert.deepEqual([run.size, run.length], [0, 0]);
    run.begin(hex("7c85 ff"), 1, 5, 0, 100);
    const target = Buffer.alloc(1);
    run.copy(target, 0, 0, 1);
    assert.deepEqual([run.size, run.length, target[0]], [1, 1, 0xff]);
  });
});
