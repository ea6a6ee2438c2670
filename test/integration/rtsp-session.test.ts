import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import tls from "node:tls";
import { DemoCamera } from "../../src/demo/demo-camera";
import type { StateEvent } from "../../src/rtsp/source";
import { GstRtspServer } from "../helpers/gst-server";
import { SourceHarness } from "../helpers/source-harness";
import { TcpProxy } from "../helpers/tcp-proxy";
import { requireTool } from "../helpers/tools";
import { waitFor } from "../helpers/wait";

/** Session behaviour a camera relies on: keepalive, TLS, redirects, silence detection, AAC, Digest qop. */
describe("RTSP session behaviour", function () {
  this.timeout(60_000);
  const cleanups: (() => Promise<void> | void)[] = [];
  let harness: SourceHarness | undefined;

  afterEach(async () => {
    await harness?.close();
    harness = undefined;
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function gst(options: Parameters<typeof GstRtspServer.start>[0]): Promise<GstRtspServer> {
    const server = await GstRtspServer.start(options);
    cleanups.push(() => server.stop());
    return server;
  }

  async function proxyTo(server: GstRtspServer): Promise<{ proxy: TcpProxy; url: string }> {
    const proxy = new TcpProxy(server.port);
    const port = await proxy.start();
    cleanups.push(() => proxy.stop());
    return { proxy, url: server.url.replace(`:${server.port}/`, `:${port}/`) };
  }

  it("keeps the session alive with GET_PARAMETER every max(timeout − 5 s, 1 s), with a User-Agent", async () => {
    const server = await gst({ codec: "h264", sessionTimeout: 3, keyint: 10 });
    const { proxy, url } = await proxyTo(server);
    harness = new SourceHarness({ url, media: "video" });
    harness.source.start();
    await harness.videoFromKeyframe(5);
    // When each of four keepalives is seen: the interval is 1 s, and none may come later than the
    // camera's 3 s timeout. Bounds are wide for a loaded machine; a lapse would show as "retrying".
    const keepalives = () => proxy.requestLines().filter((l) => l.startsWith("GET_PARAMETER")).length;
    const first = keepalives();
    const seenAt: number[] = [];
    while (seenAt.length < 4) {
      await waitFor(() => keepalives() > first + seenAt.length, 10_000, `keepalive ${seenAt.length + 1}`);
      seenAt.push(performance.now());
    }
    const gaps = seenAt.slice(1).map((at, i) => at - seenAt[i]!);
    const mean = (seenAt.at(-1)! - seenAt[0]!) / gaps.length;
    assert.ok(mean > 700 && mean < 2000, `keepalives every ${mean.toFixed(0)} ms on average, not 1 s`);
    assert.ok(
      gaps.every((gap) => gap < 3000),
      `a gap as long as the session timeout: ${gaps.map((g) => g.toFixed(0)).join(", ")} ms`,
    );
    const sent = Buffer.concat(proxy.clientBytes).toString("latin1");
    const requests = sent.match(/^[A-Z_]+ rtsp:\/\/\S+ RTSP\/1\.0\r\n(?:[^\r\n]+\r\n)*/gm) ?? [];
    assert.ok(requests.length >= 7, `${requests.length} requests`);
    for (const request of requests) assert.match(request, /^User-Agent: node-red-rtsp-webrtc-test\r$/m);
    assert.equal(harness.states.filter((s) => s.state === "retrying").length, 0);
  });

  it("detects a camera gone silent with its connection open, and reconnects", async () => {
    const server = await gst({ codec: "h264", keyint: 10 });
    const { proxy, url } = await proxyTo(server);
    harness = new SourceHarness({
      url,
      media: "video",
      noMediaTimeoutMs: 2000,
      backoff: { delaysMs: [200], jitter: 0 },
    });
    harness.source.start();
    await harness.videoFromKeyframe(5);
    proxy.freezeOpenConnections();
    await harness.until(() => harness!.states.some((s) => s.state === "retrying"), 10_000, "retrying");
    assert.match(harness.states.find((s) => s.state === "retrying")!.reason ?? "", /^media stopped for 2 s$/);
    await harness.until(
      () => harness!.video().some((v) => v.stream.session === 2 && v.unit.keyframe),
      15_000,
      "frames of session 2",
    );
    assert.equal(proxy.connections, 2);
  });

  it("starts the backoff from its first step again after a session that worked", async () => {
    const server = await gst({ codec: "h264", keyint: 10 });
    harness = new SourceHarness({
      url: server.url,
      media: "video",
      backoff: { delaysMs: [300, 1000, 2000], jitter: 0 },
    });
    harness.source.start();
    await harness.videoFromKeyframe(3);
    for (let round = 1; round <= 2; round++) {
      const seen: number = harness.states.length;
      await server.restart();
      await harness.until(
        () => harness!.video().some((v) => v.stream.session === round + 1 && v.unit.keyframe),
        20_000,
        `session ${round + 1}`,
      );
      const retries: StateEvent[] = harness.states.slice(seen).filter((s) => s.state === "retrying");
      assert.equal(retries[0]?.retryInMs, 300, `round ${round} starts at the first step`);
    }
  });

  it("follows a 302 redirect to the camera", async () => {
    const server = await gst({ codec: "h264", keyint: 10 });
    const redirector = await fakeRtspServer(() => ({
      status: "302 Found",
      headers: { Location: server.url },
    }));
    cleanups.push(redirector.close);
    harness = new SourceHarness({ url: `rtsp://127.0.0.1:${redirector.port}/old-path`, media: "video" });
    harness.source.start();
    await harness.videoFromKeyframe(5);
    assert.ok(redirector.requests.some((r) => r.startsWith("DESCRIBE ")));
  });

  it("gives up on a redirect loop with a clear reason", async () => {
    let port = 0;
    const redirector = await fakeRtspServer(() => ({
      status: "301 Moved Permanently",
      headers: { Location: `rtsp://127.0.0.1:${port}/again` },
    }));
    port = redirector.port;
    cleanups.push(redirector.close);
    harness = new SourceHarness({
      url: `rtsp://127.0.0.1:${port}/start`,
      backoff: { delaysMs: [100], jitter: 0 },
    });
    harness.source.start();
    await harness.until(() => harness!.states.some((s) => s.state === "retrying"), 10_000, "retrying");
    assert.equal(harness.states.find((s) => s.state === "retrying")!.reason, "more than 5 redirects");
  });

  describe("rtsps:// (TLS)", () => {
    let certDir: string;
    let key: Buffer;
    let cert: Buffer;

    before(() => {
      certDir = mkdtempSync(path.join(tmpdir(), "rtsps-"));
      execFileSync(
        requireTool("openssl"),
        [
          "req",
          "-x509",
          "-newkey",
          "rsa:2048",
          "-nodes",
          "-days",
          "1",
          "-subj",
          "/CN=camera.test",
          "-addext",
          "subjectAltName=IP:127.0.0.1",
          "-keyout",
          path.join(certDir, "key.pem"),
          "-out",
          path.join(certDir, "cert.pem"),
        ],
        { stdio: "ignore" },
      );
      key = readFileSync(path.join(certDir, "key.pem"));
      cert = readFileSync(path.join(certDir, "cert.pem"));
    });

    after(() => rmSync(certDir, { recursive: true, force: true }));

    /** A TLS front for gst-rtsp-server, as a camera with rtsps:// would have. */
    async function tlsFront(server: GstRtspServer): Promise<string> {
      const sockets = new Set<net.Socket>();
      const front = tls.createServer({ key, cert }, (client) => {
        const upstream = net.connect(server.port, "127.0.0.1");
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on("error", () => {});
        }
        client.pipe(upstream).pipe(client);
      });
      await new Promise<void>((resolve) => front.listen(0, "127.0.0.1", resolve));
      cleanups.push(() => {
        for (const s of sockets) s.destroy();
        return new Promise<void>((resolve) => front.close(() => resolve()));
      });
      return `rtsps://127.0.0.1:${(front.address() as net.AddressInfo).port}/stream`;
    }

    it("refuses a self-signed certificate by default, with the reason", async () => {
      const url = await tlsFront(await gst({ codec: "h264", keyint: 10 }));
      harness = new SourceHarness({ url, backoff: { delaysMs: [100], jitter: 0 } });
      harness.source.start();
      await harness.until(() => harness!.states.some((s) => s.state === "retrying"), 10_000, "retrying");
      assert.match(
        harness.states.find((s) => s.state === "retrying")!.reason ?? "",
        /self-signed certificate/,
      );
    });

    it("plays through TLS when told to accept the certificate", async () => {
      const url = await tlsFront(await gst({ codec: "h264", keyint: 10 }));
      harness = new SourceHarness({ url, media: "video", rejectUnauthorized: false });
      harness.source.start();
      const units = await harness.videoFromKeyframe(10);
      assert.equal(units.length, 10);
    });
  });

  it("describes AAC audio as not relayable, and still plays video and audio", async () => {
    const server = await gst({ codec: "h264", audio: "aac", keyint: 10 });
    harness = new SourceHarness({ url: server.url, media: "both" });
    harness.source.start();
    await harness.until(() => harness!.units.some((u) => u.unit.kind === "audio"), 20_000, "audio");
    const audio = harness.units[0]!.stream.media.find((m) => m.kind === "audio")!;
    assert.equal(audio.codec, "MPEG4-GENERIC");
    assert.equal(audio.relayable, false);
    await harness.videoFromKeyframe(3);
  });

  it("answers Digest with qop=auth (the demo camera asks for it)", async () => {
    const camera = new DemoCamera({ port: 0, username: "viewer", password: "demo-pass" });
    const { url } = await camera.start();
    cleanups.push(() => camera.close());
    harness = new SourceHarness({ url, username: "viewer", password: "demo-pass", media: "video" });
    harness.source.start();
    const units = await harness.videoFromKeyframe(10);
    assert.equal(units.length, 10);
  });
});

interface FakeReply {
  status: string;
  headers: Record<string, string>;
}

/** A minimal RTSP responder for behaviours gst-rtsp-server does not have (redirects). */
async function fakeRtspServer(reply: (requestLine: string) => FakeReply) {
  const requests: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    let pending = "";
    socket.on("data", (data) => {
      pending += data.toString("latin1");
      let end = pending.indexOf("\r\n\r\n");
      while (end >= 0) {
        const request = pending.slice(0, end);
        pending = pending.slice(end + 4);
        requests.push(request);
        const cseq = /^CSeq:\s*(\d+)/im.exec(request)?.[1] ?? "0";
        const { status, headers } = reply(request.split("\r\n")[0]!);
        const lines = [
          `RTSP/1.0 ${status}`,
          `CSeq: ${cseq}`,
          ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
        ];
        socket.write(`${lines.join("\r\n")}\r\n\r\n`);
        end = pending.indexOf("\r\n\r\n");
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
