import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import type { Server } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import helper from "node-red-node-test-helper";
import request from "supertest";
import { decodeVideo, runTool } from "../helpers/decode";
import { depacketizeH264 } from "../helpers/depacketize";
import {
  assertViewerDecodes,
  exampleNodes,
  exampleTestHooks,
  loadExample,
  onLoopback,
  onlyNode,
  serveHttpNode,
  streamArrives,
  viewerOf,
} from "../helpers/example-flow";
import { closeLocalServers } from "../helpers/express-app";
import { freeUdpPortPair, requireTool } from "../helpers/tools";
import { waitFor } from "../helpers/wait";

/** The shipped demo clip: raw H.264, 640x360, 25 fps, a keyframe every 2 s. */
const DEMO_CLIP = path.join(__dirname, "../../../src/demo/clip/demo.h264");
const EXAMPLE_PORT = "5004";
const PAGE = "/udp-camera";
const SIZE = { width: 640, height: 360 };

/** A sender process (ffmpeg or gst-launch-1.0) and what it printed. */
interface Sender {
  readonly child: ChildProcess;
  output(): string;
}

/** The sender commands the example's comment gives, one per line, as a user would paste them. */
function commandsIn(info: string): string[] {
  return info.split("\n").filter((line) => /^(ffmpeg|gst-launch-1\.0) /.test(line));
}

describe("example flow: udp-rtp", function () {
  this.timeout(90_000);
  const senders: Sender[] = [];
  const viewers = exampleTestHooks();
  let workDir: string;
  let port: number;

  function startSender(command: string, args: readonly string[]): Sender {
    const child = spawn(requireTool(command), args, { stdio: ["ignore", "pipe", "pipe"] });
    let text = "";
    const keep = (chunk: Buffer) => {
      text = (text + chunk.toString("utf8")).slice(-4000);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    child.once("error", (err) => keep(Buffer.from(`spawn failed: ${err.message}`)));
    const sender = { child, output: () => text };
    senders.push(sender);
    return sender;
  }

  /** ffmpeg looping the demo clip as it is, as RTP to the flow's udp in port. */
  function ffmpegDemoClip(): Sender {
    return startSender("ffmpeg", [
      ...["-hide_banner", "-loglevel", "error", "-nostdin"],
      ...["-re", "-stream_loop", "-1", "-framerate", "25", "-f", "h264", "-i", DEMO_CLIP],
      ...["-an", "-c:v", "copy", "-f", "rtp", "-payload_type", "96", "-pkt_size", "1200"],
      `rtp://127.0.0.1:${port}`,
    ]);
  }

  async function stopSender(sender: Sender): Promise<void> {
    const { child } = sender;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  }

  /** The example as a user imports it, listening on this test's port instead of 5004. */
  async function deploy(): Promise<ReturnType<typeof loadExample>> {
    const flow = onLoopback(loadExample("udp-rtp", { [EXAMPLE_PORT]: String(port) }));
    await helper.load(exampleNodes(), flow);
    return flow;
  }

  async function sourceSessions(server: Server): Promise<number> {
    return (await request(server).get(`${PAGE}/stats`)).body.stream?.sourceSessions ?? 0;
  }

  before(() => {
    workDir = mkdtempSync(path.join(tmpdir(), "udp-rtp-example-"));
  });

  after(() => rmSync(workDir, { recursive: true, force: true }));

  beforeEach(async () => {
    [port] = await freeUdpPortPair();
  });

  afterEach(() => Promise.all(senders.splice(0).map(stopSender)));

  it("imports as it is: udp in on 5004 (Buffer, IPv4) → webrtc-out /udp-camera taking H.264, payload type 96", () => {
    const flow = loadExample("udp-rtp");
    assert.equal(onlyNode(flow, "tab").label, "RTP over UDP");
    const udp = onlyNode(flow, "udp in");
    const out = onlyNode(flow, "webrtc-out");
    assert.deepEqual(
      { port: udp.port, ipv: udp.ipv, datatype: udp.datatype, multicast: udp.multicast, wires: udp.wires },
      { port: EXAMPLE_PORT, ipv: "udp4", datatype: "buffer", multicast: "false", wires: [[out.id]] },
    );
    assert.deepEqual(
      { path: out.path, codec: out.fallbackCodec, payloadType: out.fallbackPayloadType },
      { path: "udp-camera", codec: "H264", payloadType: 96 },
    );
    const comment = onlyNode(flow, "comment");
    assert.match(comment.name, /\/udp-camera/);
    const commands = commandsIn(comment.info);
    assert.ok(commands.some((c) => c.startsWith("ffmpeg ")));
    assert.ok(commands.some((c) => c.startsWith("gst-launch-1.0 ")));
    for (const command of commands) {
      assert.match(command, /127\.0\.0\.1[: ].*5004$/, command);
      assert.match(command, /(-payload_type 96|pt=96) /, command);
    }
    for (const node of flow) assert.match(node.id, /^0d90[0-9a-f]{12}$/);
  });

  it("runs: ffmpeg sends the demo clip as RTP, a viewer of /udp-camera decodes it at 640x360", async () => {
    await deploy();
    const server = await serveHttpNode();
    const ffmpeg = ffmpegDemoClip();
    await streamArrives(server, PAGE).catch((err: Error) => {
      throw new Error(`${err.message}\nffmpeg: ${ffmpeg.output()}`);
    });
    const viewer = await viewerOf(server, PAGE);
    viewers.push(viewer);
    await assertViewerDecodes(viewer, SIZE);
  });

  it("a restarted sender (new SSRC) keeps the viewer playing without reconnecting", async () => {
    await deploy();
    const server = await serveHttpNode();
    const first = ffmpegDemoClip();
    await streamArrives(server, PAGE);
    const viewer = await viewerOf(server, PAGE);
    viewers.push(viewer);
    await waitFor(() => viewer.packets.length >= 100, 15_000, "packets from the first sender");
    assert.equal(await sourceSessions(server), 1);

    await stopSender(first);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const atRestart = viewer.packets.length;
    ffmpegDemoClip();
    await waitFor(async () => (await sourceSessions(server)) === 2, 10_000, "the second sender's session");
    await waitFor(
      () => viewer.packets.length >= atRestart + 150,
      15_000,
      "packets from the second sender at the same viewer",
    );
    assert.equal(viewer.pc.connectionState, "connected");
    const ssrcs = new Set(viewer.packets.map((p) => p.readUInt32BE(8)));
    assert.equal(ssrcs.size, 1, "the viewer sees one stream throughout");
    // The first packets after the restart may end the first sender's last frame: count pictures only.
    const after = await decodeVideo(depacketizeH264(viewer.packets.slice(atRestart)), "h264");
    assert.ok(after.frames >= 10, `${after.frames} frames decoded after the restart`);
    assert.deepEqual({ width: after.width, height: after.height }, SIZE);
  });

  it("the comment's commands work as written: each one's video reaches a viewer and decodes", async () => {
    const input = path.join(workDir, "input.mp4");
    const made = await runTool(requireTool("ffmpeg"), [
      ...["-v", "error", "-y", "-framerate", "25", "-f", "h264", "-i", DEMO_CLIP, "-c", "copy", input],
    ]);
    assert.equal(made.code, 0, made.stderr);
    const flow = loadExample("udp-rtp", { [EXAMPLE_PORT]: String(port) });
    const commands = commandsIn(onlyNode(flow, "comment").info);
    assert.equal(commands.length, 3, commands.join("\n"));
    for (const command of commands) {
      const [tool, ...args] = command.split(" ").map((word) => word.replaceAll("input.mp4", input));
      assert.ok(tool);
      await deploy();
      const server = await serveHttpNode();
      const sender = startSender(tool, args);
      await streamArrives(server, PAGE).catch((err: Error) => {
        throw new Error(`${err.message}\n${command}: ${sender.output()}`);
      });
      const viewer = await viewerOf(server, PAGE);
      viewers.push(viewer);
      await assertViewerDecodes(viewer, SIZE).catch((err: Error) => {
        throw new Error(`${command}: ${err.message}`);
      });
      await stopSender(sender);
      await Promise.all(viewers.splice(0).map((v) => v.close()));
      await closeLocalServers();
      await helper.unload();
    }
  });
});
