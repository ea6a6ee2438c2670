import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import {
  maskQuerySecrets,
  querySecretsIn,
  restoreQuerySecrets,
  SECRET_PARAMETERS,
  secretValues,
} from "../../../src/rtsp/query-secrets";
import { packageRoot } from "../../helpers/node-red-process";

describe("rtsp/query-secrets", () => {
  it("finds the secret parameters whose value is written out, as written", () => {
    assert.deepEqual(querySecretsIn("rtsp://cam/s?Token=a%2Fb&channel=1&key=***&pwd=&sig=x;y=2"), [
      "Token=a%2Fb",
      "sig=x",
    ]);
    assert.deepEqual(querySecretsIn("rtsp://cam/s?channel=1"), []);
  });

  it("masks what it finds, and nothing else", () => {
    assert.equal(
      maskQuerySecrets("rtsp://cam/s?Token=a%2Fb&channel=1&key=***&sig=x;y=2"),
      "rtsp://cam/s?Token=***&channel=1&key=***&sig=***;y=2",
    );
  });

  it("puts the stored values back where the URL holds ***, by name without case, in order", () => {
    assert.deepEqual(
      restoreQuerySecrets("rtsp://cam/s?token=***&channel=1&KEY=***&key=***", "Token=t%26x&key=k1&key=k2"),
      { url: "rtsp://cam/s?token=t%26x&channel=1&KEY=k1&key=k2", missing: [] },
    );
  });

  it("leaves values written out as they are, and names the masked ones it has nothing for", () => {
    assert.deepEqual(restoreQuerySecrets("rtsp://cam/s?token=plain&key=***&sig=***", "sig=s"), {
      url: "rtsp://cam/s?token=plain&key=***&sig=s",
      missing: ["key"],
    });
    assert.deepEqual(restoreQuerySecrets("rtsp://cam/s?channel=1", undefined), {
      url: "rtsp://cam/s?channel=1",
      missing: [],
    });
  });

  it("gives each value as written and percent-decoded, for redaction", () => {
    assert.deepEqual(secretValues(["token=a%2Fb", "key=***", "sig=", "pwd=100%"]), ["a%2Fb", "a/b", "100%"]);
  });

  it("the editor masks and moves the same parameters (nodes/rtsp-in.html)", () => {
    const html = readFileSync(path.join(packageRoot(), "nodes", "rtsp-in.html"), "utf8");
    const list = /const SECRET_PARAMETERS = \[([^\]]*)\]/.exec(html)?.[1];
    assert.ok(list, "SECRET_PARAMETERS in the editor's script");
    assert.deepEqual(
      [...list.matchAll(/"([^"]+)"/g)].map((m) => m[1]),
      [...SECRET_PARAMETERS],
    );
  });
});
