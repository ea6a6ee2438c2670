import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { fuzzCase } from "../helpers/seeded-random";

const ROOT = path.resolve(__dirname, "../../..");
const MOCHA = require.resolve("mocha/bin/mocha.js");

describe("fuzz runs narrowed by the environment", () => {
  it("FUZZ_CASE picks one case to replay; it must be an index", () => {
    assert.equal(fuzzCase({}), undefined);
    assert.equal(fuzzCase({ FUZZ_CASE: "" }), undefined);
    assert.equal(fuzzCase({ FUZZ_CASE: "17" }), 17);
    assert.equal(fuzzCase({ FUZZ_CASE: "17", CI: "false" }), 17);
    assert.throws(() => fuzzCase({ FUZZ_CASE: "seventeen" }), /FUZZ_CASE must be a case index/);
    assert.throws(() => fuzzCase({ FUZZ_CASE: "-1" }), /FUZZ_CASE must be a case index/);
  });

  it("in CI a FUZZ_CASE is refused", () => {
    for (const ci of ["true", "1", "yes"]) {
      assert.throws(
        () => fuzzCase({ FUZZ_CASE: "3", CI: ci }),
        /FUZZ_CASE=3 narrows the fuzz run to one case; unset it in CI/,
      );
    }
  });

  it("the RTSP fuzz test run with FUZZ_CASE in CI fails loudly instead of passing one case", () => {
    const run = spawnSync(
      process.execPath,
      [MOCHA, "--no-package", "--timeout", "60000", "dist/test/reliability/fuzz-rtsp.test.js"],
      { cwd: ROOT, env: { ...process.env, CI: "true", FUZZ_CASE: "3" }, encoding: "utf8", timeout: 60_000 },
    );
    assert.notEqual(run.status, 0, `mocha passed:\n${run.stdout}`);
    assert.match(
      `${run.stdout}${run.stderr}`,
      /FUZZ_CASE=3 narrows the fuzz run to one case; unset it in CI/,
    );
    assert.doesNotMatch(run.stdout, /passing/);
  });
});
