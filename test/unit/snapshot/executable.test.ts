import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { findExecutable } from "../../../src/snapshot/executable";

describe("findExecutable: where ffmpeg would run from", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), "executable-"));
    writeFileSync(path.join(dir, "tool"), "#!/bin/sh\n");
    chmodSync(path.join(dir, "tool"), 0o755);
    writeFileSync(path.join(dir, "plain"), "not executable");
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("looks a bare name up in PATH, first match, skipping empty entries and files without x", () => {
    const other = path.join(dir, "nothing-here");
    assert.equal(findExecutable("tool", ["", other, dir].join(path.delimiter)), path.join(dir, "tool"));
    assert.equal(findExecutable("plain", dir), undefined);
    assert.equal(findExecutable("tool", ""), undefined);
  });

  it("takes a path as it is", () => {
    assert.equal(findExecutable(path.join(dir, "tool")), path.join(dir, "tool"));
    assert.equal(findExecutable(path.join(dir, "plain")), undefined);
    assert.equal(findExecutable("./no/such/tool"), undefined);
    assert.equal(findExecutable(""), undefined);
  });
});
