import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { GstRtspServer } from "../helpers/gst-server";
import { SourceHarness } from "../helpers/source-harness";
import { freePort } from "../helpers/tools";

/** Every failure must end in a clear "retrying" state with a reason, again and again, never a throw. */
async function expectRetries(harness: SourceHarness, reason: RegExp, count = 2): Promise<void> {
  harness.source.start();
  await harness.until(
    () => harness.states.filter((s) => s.state === "retrying").length >= count,
    15_000,
    `${count} retries`,
  );
  const retries = harness.states.filter((s) => s.state === "retrying");
  for (const retry of retries) {
    assert.match(retry.reason ?? "", reason);
    assert.ok((retry.retryInMs ?? 0) > 0);
  }
}

const FAST = { backoff: { delaysMs: [100, 200], jitter: 0 }, connectTimeoutMs: 1000, replyTimeoutMs: 1000 };

describe("RTSP client: bad peers and bad input", function () {
  this.timeout(30_000);
  let harness: SourceHarness | undefined;
  const closers: (() => Promise<void> | void)[] = [];

  afterEach(async () => {
    await harness?.close();
    harness = undefined;
    for (const close of closers.splice(0)) await close();
  });

  function listen(server: net.Server | http.Server): Promise<number> {
    closers.push(
      () =>
        new Promise<void>((resolve) => {
          if ("closeAllConnections" in server) server.closeAllConnections();
          server.close(() => resolve());
        }),
    );
    return new Promise((resolve) =>
      server.listen(0, "127.0.0.1", () => resolve((server.address() as net.AddressInfo).port)),
    );
  }

  /** A TCP server whose connections we can end from the test; each answer comes from `onData`. */
  function rawServer(onData: (socket: net.Socket, data: Buffer) => void): net.Server {
    const sockets = new Set<net.Socket>();
    const server = net.createServer((socket) => {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => {});
      socket.on("data", (data) => onData(socket, data));
    });
    closers.push(() => {
      for (const s of sockets) s.destroy();
    });
    return server;
  }

  it("a refused port", async () => {
    const port = await freePort();
    harness = new SourceHarness({ url: `rtsp://127.0.0.1:${port}/stream`, ...FAST });
    await expectRetries(harness, /connection refused/);
  });

  it("a server that accepts and never answers", async () => {
    const port = await listen(rawServer(() => {}));
    harness = new SourceHarness({ url: `rtsp://127.0.0.1:${port}/stream`, ...FAST });
    await expectRetries(harness, /no reply to OPTIONS within 1 s/);
  });

  it("a 404 path on a real RTSP server", async () => {
    const server = await GstRtspServer.start({ codec: "h264" });
    closers.push(() => server.stop());
    harness = new SourceHarness({ url: server.url.replace(/\/stream$/, "/nothing-here"), ...FAST });
    await expectRetries(harness, /^404 Not Found: no stream at this path \(DESCRIBE\)$/);
  });

  it("an HTTP server instead of a camera", async () => {
    const port = await listen(http.createServer((_req, res) => res.end("hello")));
    harness = new SourceHarness({ url: `rtsp://127.0.0.1:${port}/stream`, ...FAST });
    await expectRetries(harness, /not an RTSP server/);
  });

  it("garbage replies", async () => {
    const port = await listen(
      rawServer((socket) =>
        socket.write(Buffer.from("\x00\xff garbage \r\n\r\n RTSP/9 nope \x01\x02".repeat(50), "binary")),
      ),
    );
    harness = new SourceHarness({ url: `rtsp://127.0.0.1:${port}/stream`, ...FAST });
    await expectRetries(harness, /.+/);
  });

  it("a reply header that never ends is cut at 64 KiB", async () => {
    const port = await listen(
      rawServer((socket) => {
        socket.write("RTSP/1.0 200 OK\r\nCSeq: 1\r\n");
        socket.write(`X-Filler: ${"a".repeat(70_000)}`);
      }),
    );
    harness = new SourceHarness({ url: `rtsp://127.0.0.1:${port}/stream`, ...FAST });
    await expectRetries(harness, /64 KiB/);
  });

  it("a camera that answers 401 to a client without credentials says so", async () => {
    const server = await GstRtspServer.start({
      codec: "h264",
      auth: "digest",
      user: "u",
      password: "secret-pass",
    });
    closers.push(() => server.stop());
    harness = new SourceHarness({ url: server.url, ...FAST });
    await expectRetries(harness, /^401 Unauthorized: the camera needs a user and password$/);
  });

  it("a bad URL is an error, not a retry loop", async () => {
    harness = new SourceHarness({ url: "http://example.com/stream", ...FAST });
    harness.source.start();
    await harness.until(() => harness!.states.some((s) => s.state === "error"), 5000, "error");
    assert.equal(harness.states.filter((s) => s.state === "retrying").length, 0);
  });
});
