import assert from "node:assert/strict";
import { HttpError } from "../../../src/http/http-error";
import { snapshotHttpError } from "../../../src/http/snapshot-error";
import { SnapshotError, type SnapshotErrorCode } from "../../../src/snapshot/errors";

describe("GET P/snapshot.jpg errors", () => {
  it("each snapshot failure has its status, its code, and the message for a person", () => {
    const cases: [SnapshotErrorCode, number, string | undefined][] = [
      ["no-keyframe", 503, "1"],
      ["busy", 503, "1"],
      ["closed", 503, undefined],
      ["ffmpeg-missing", 503, undefined],
      ["timeout", 504, undefined],
      ["decode-failed", 502, undefined],
    ];
    for (const [code, status, retryAfter] of cases) {
      const err = snapshotHttpError(new SnapshotError(code, `why ${code}`)) as HttpError;
      assert.ok(err instanceof HttpError, code);
      assert.equal(err.httpStatus, status, code);
      assert.equal(err.code, code);
      assert.equal(err.detail, `why ${code}`);
      assert.equal(err.headers["Retry-After"], retryAfter, code);
    }
  });

  it("anything else passes unchanged", () => {
    const other = new Error("boom");
    assert.equal(snapshotHttpError(other), other);
  });
});
