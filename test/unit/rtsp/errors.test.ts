import assert from "node:assert/strict";
import { RtspError } from "../../../src/rtsp/errors";

describe("rtsp/errors", () => {
  it("carries a message for people, a code and the RTSP status", () => {
    const err = new RtspError("401 Unauthorized: wrong user or password", "auth", 401);
    assert.ok(err instanceof Error);
    assert.equal(err.name, "RtspError");
    assert.equal(err.message, "401 Unauthorized: wrong user or password");
    assert.equal(err.code, "auth");
    assert.equal(err.statusCode, 401);
    assert.match(String(err), /^RtspError: 401 Unauthorized/);
  });

  it("leaves the status out when no reply caused the error", () => {
    const err = new RtspError("no reply in 10 s", "timeout");
    assert.equal(err.statusCode, undefined);
    assert.equal(err.code, "timeout");
  });
});
