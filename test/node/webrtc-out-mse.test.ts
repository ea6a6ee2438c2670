import "../helpers/loopback-namespace";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { request as httpRequest, type IncomingMessage } from "node:http";
import request from "supertest";
import { launchChromium } from "../helpers/chromium";
import { runTool } from "../helpers/decode";
import { GstRtspServer } from "../helpers/gst-server";
import { type NodeRedProcess, startNodeRed } from "../helpers/node-red-process";
import { requireTool } from "../helpers/tools";
import { waitFor } from "../helpers/wait";

// The HTTP fallback of webrtc-out: P/live.mp4 (fMP4, one fragment per frame) in Node-RED itself,
// from GStreamer's RTSP server through rtsp-in; played by Chromium's Media Source Extensions.

const TOKEN = "mse-viewer-token-3f9c";

/**
 * Browser code (as text: this project compiles without the DOM library) for a network that lets no
 * WebRTC through: the answer's candidates never reach the peer connection.
 */
const NO_REMOTE_CANDIDATES = `{
  const original = RTCPeerConnection.prototype.setRemoteDescription;
  RTCPeerConnection.prototype.setRemoteDescription = function (description) {
    const sdp = ((description && description.sdp) || "").replace(/^a=candidate:.*\\r\\n/gm, "");
    return original.call(this, { type: (description && description.type) || "answer", sdp });
  };
}`;

const SLOW_CLIENT = `
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(("127.0.0.1", int(sys.argv[1])))
s.sendall(("GET /door/live.mp4 HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\nAuthorization: Bearer " + sys.argv[2] + "\\r\\n\\r\\n").encode())
time.sleep(120)
`;

interface Player {
  state: string;
  mode: string;
  stats: { width: number; height: number; framesDecoded: number; latencyS: number | null };
}

/** `count` bytes or `ms` of P/live.mp4, whichever comes first; the response's head and the bytes. */
function readLive(url: string, ms: number): Promise<{ res: IncomingMessage; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers: { Authorization: `Bearer ${TOKEN}` } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      setTimeout(() => {
        req.destroy();
        resolve({ res, body: Buffer.concat(chunks) });
      }, ms);
    });
    req.on("error", reject);
    req.end();
  });
}

describe("webrtc-out: the stream as fMP4 over HTTP (P/live.mp4) and the player's fallback", function () {
  this.timeout(90_000);
  let camera: GstRtspServer;
  let nodeRed: NodeRedProcess;
  let base: string;

  before(async () => {
    camera = await GstRtspServer.start({
      codec: "h264",
      profile: "high",
      width: 1280,
      height: 720,
      keyint: 25,
    });
    nodeRed = await startNodeRed({
      runtime: "node-red",
      settings: `module.exports = {
        uiHost: "127.0.0.1",
        httpAdminRoot: false,
        flowFile: "flows.json",
        credentialSecret: false,
        telemetry: { enabled: false },
        webrtcOut: { icePort: false },
      };`,
      flows: [
        { id: "t1", type: "tab", label: "cameras" },
        {
          id: "cam",
          z: "t1",
          type: "rtsp-in",
          name: "door",
          url: camera.url,
          transport: "tcp",
          media: "video",
          startMode: "deploy",
          wires: [["out1"], []],
        },
        {
          id: "out1",
          z: "t1",
          type: "webrtc-out",
          name: "Door",
          path: "door",
          hostAddresses: "127.0.0.1",
          statsInterval: 0,
          maxViewers: 30,
          maxPerAddress: 30,
          wires: [[]],
        },
      ],
      credentials: { out1: { viewerToken: TOKEN } },
    });
    base = `http://127.0.0.1:${nodeRed.port}`;
    await waitFor(
      async () =>
        (await request(base).get("/door/stats").set("Authorization", `Bearer ${TOKEN}`)).body.stream
          ?.sourceState === "receiving",
      20_000,
      "the stream to reach the node",
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${nodeRed.output()}`);
    });
  });

  after(async () => {
    if (nodeRed) await nodeRed.stop();
    await camera?.stop();
  });

  it("GET P/live.mp4: an fMP4 stream ffprobe reads at the camera's size and ffmpeg decodes, behind the token", async () => {
    await request(base).get("/door/live.mp4").expect(401);
    const { res, body } = await readLive(`${base}/door/live.mp4`, 3000);
    assert.equal(res.statusCode, 200);
    assert.match(res.headers["content-type"] ?? "", /^video\/mp4; codecs="avc1\.64[0-9a-f]{4}"$/);
    assert.equal(res.headers["x-accel-buffering"], "no");
    assert.equal(res.headers["cache-control"], "no-store");
    const probe = await runTool(
      requireTool("ffprobe"),
      [
        "-v",
        "error",
        "-count_frames",
        "-show_entries",
        "stream=codec_name,width,height,nb_read_frames",
        "-of",
        "json",
        "pipe:0",
      ],
      body,
    );
    assert.equal(probe.code, 0, probe.stderr);
    const [stream] = JSON.parse(probe.stdout.toString()).streams;
    assert.equal(stream.codec_name, "h264");
    assert.deepEqual([stream.width, stream.height], [1280, 720]);
    // The current GOP at once, then about 3 s of frames at 25 fps.
    assert.ok(Number(stream.nb_read_frames) >= 50, `frames ${stream.nb_read_frames}`);
    const decode = await runTool(
      requireTool("ffmpeg"),
      ["-v", "error", "-i", "pipe:0", "-f", "null", "-"],
      body,
    );
    assert.equal(decode.code, 0, decode.stderr);
    assert.equal(decode.stderr.toString().trim(), "");
  });

  it("?mode=mse: Chromium plays it at once, within a second of live", async () => {
    const chromium = await launchChromium();
    try {
      const page = await (await chromium.browser.newContext()).newPage();
      await page.goto(`${base}/door?mode=mse&token=${TOKEN}`);
      await page.waitForFunction(
        () => {
          const player = (globalThis as unknown as { __player?: Player }).__player;
          return player?.state === "playing" && player.stats.framesDecoded > 25;
        },
        undefined,
        { timeout: 20_000 },
      );
      const player = await page.evaluate(() => (globalThis as unknown as { __player: Player }).__player);
      assert.equal(player.mode, "mse");
      assert.deepEqual([player.stats.width, player.stats.height], [1280, 720]);
      assert.ok(
        player.stats.latencyS !== null && player.stats.latencyS < 1,
        `buffered ahead ${player.stats.latencyS} s`,
      );
      assert.match((await page.textContent("#stats")) ?? "", /^HTTP · 1280×720/);
    } finally {
      await chromium.close();
    }
  });

  it("falls back to it when WebRTC does not connect, and plays within 3 s of falling back", async () => {
    const chromium = await launchChromium();
    try {
      const context = await chromium.browser.newContext();
      // A network that lets no WebRTC through: the answer's candidates never reach the browser.
      await context.addInitScript(NO_REMOTE_CANDIDATES);
      const page = await context.newPage();
      await page.goto(`${base}/door?token=${TOKEN}`);
      await page.waitForFunction(
        () => (globalThis as unknown as { __player?: Player }).__player?.mode === "mse",
        undefined,
        { timeout: 15_000 },
      );
      const fellBackAt = Date.now();
      await page.waitForFunction(
        () => {
          const player = (globalThis as unknown as { __player?: Player }).__player;
          return player?.state === "playing" && player.stats.framesDecoded > 5;
        },
        undefined,
        { timeout: 10_000 },
      );
      const playingAfterMs = Date.now() - fellBackAt;
      assert.ok(playingAfterMs < 3000, `playing ${playingAfterMs} ms after falling back`);
    } finally {
      await chromium.close();
    }
  });

  it("20 fMP4 viewers and one that reads nothing: the 20 keep getting every frame, the slow one skips", async () => {
    // A client that asks and never reads, with a small receive window (Node cannot set one), so that
    // what it does not take piles up in the node's queue within seconds, not in the kernel's buffers.
    const slow = spawn(requireTool("python3"), ["-c", SLOW_CLIENT, String(nodeRed.port), TOKEN], {
      stdio: "ignore",
    });
    try {
      const reads = await Promise.all(
        Array.from({ length: 20 }, () => readLive(`${base}/door/live.mp4`, 6000)),
      );
      for (const { res, body } of reads) {
        assert.equal(res.statusCode, 200);
        // The GOP at once and 6 s at 2-4 Mbit/s: well over a megabyte each.
        assert.ok(body.length > 500_000, `${body.length} bytes`);
      }
      const decode = await runTool(
        requireTool("ffmpeg"),
        ["-v", "error", "-i", "pipe:0", "-f", "null", "-"],
        reads[19]!.body,
      );
      assert.equal(decode.code, 0, decode.stderr);
      await waitFor(
        async () =>
          ((await request(base).get("/door/stats").set("Authorization", `Bearer ${TOKEN}`)).body.stream
            ?.fmp4SkippedFrames ?? 0) > 0,
        30_000,
        "the slow viewer to skip frames",
      );
    } finally {
      slow.kill();
    }
  });
});
