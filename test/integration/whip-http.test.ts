import "../helpers/loopback-namespace";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { WhipError } from "../../src/whip/errors";
import { whipRequest } from "../../src/whip/http";
import { freePort } from "../helpers/tools";

function listen(server: Server): Promise<URL> {
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve(new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/whip`)),
    ),
  );
}

const base = { method: "POST", headers: {}, timeoutMs: 2000, maxBodyBytes: 1024 } as const;

describe("whip: one HTTP exchange", () => {
  let server: Server | undefined;

  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  it("sends the body with its length, reads status, reason, headers and body", async () => {
    let seen: { type?: string; length?: string; body: string } = { body: "" };
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        seen = { type: req.headers["content-type"], length: req.headers["content-length"], body };
        res.writeHead(201, "Made", {
          Location: "/r/1",
          Link: ["<stun:a>; rel=ice-server", "<stun:b>; rel=ice-server"],
        });
        res.end("v=0\r\n");
      });
    });
    const url = await listen(server);
    const response = await whipRequest({
      ...base,
      url,
      headers: { "Content-Type": "application/sdp" },
      body: "offer",
    });
    assert.deepEqual(seen, { type: "application/sdp", length: "5", body: "offer" });
    assert.deepEqual([response.status, response.statusMessage, response.body], [201, "Made", "v=0\r\n"]);
    assert.equal(response.headers.location, "/r/1");
    assert.equal(response.headers.link, "<stun:a>; rel=ice-server, <stun:b>; rel=ice-server");
  });

  it("unreachable: the host and the cause", async () => {
    const port = await freePort();
    await assert.rejects(
      whipRequest({ ...base, url: new URL(`http://127.0.0.1:${port}/whip`) }),
      (e: unknown) =>
        e instanceof WhipError &&
        e.code === "unreachable" &&
        e.message === `cannot reach 127.0.0.1:${port}: ECONNREFUSED`,
    );
  });

  it("aborted before it starts, or while waiting: rejects at once with 'aborted'", async () => {
    server = createServer(() => {
      // never answers
    });
    const url = await listen(server);
    const before = new AbortController();
    before.abort();
    await assert.rejects(whipRequest({ ...base, url, signal: before.signal }), /POST aborted/);
    const during = new AbortController();
    const pending = whipRequest({ ...base, method: "DELETE", url, signal: during.signal });
    setTimeout(() => during.abort(), 50);
    await assert.rejects(pending, (e: unknown) => e instanceof WhipError && e.code === "aborted");
  });

  it("a response cut off in the middle of its body is 'unreachable'", async () => {
    server = createServer((_req, res) => {
      res.writeHead(201, { "Content-Length": "100" });
      res.write("v=0\r\n");
      setTimeout(() => res.destroy(), 20);
    });
    const url = await listen(server);
    await assert.rejects(
      whipRequest({ ...base, url }),
      (e: unknown) => e instanceof WhipError && e.code === "unreachable",
    );
  });
});
