import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { Server } from "node:http";
import path from "node:path";
import helper from "node-red-node-test-helper";
import request from "supertest";
import type { NodeAPI } from "../../src/nodes/red";
import { decodeVideo } from "./decode";
import { depacketizeH264 } from "./depacketize";
import { closeLocalServers, type ExpressApp, listenLocal } from "./express-app";
import { withCatalog } from "./node-catalog";
import { waitFor } from "./wait";
import { connectViewer, type WeriftViewer } from "./werift-viewer";

// biome-ignore lint/suspicious/noExplicitAny: flow JSON is untyped
export type FlowNode = any;

export const EXAMPLES_DIR = path.join(__dirname, "../../../examples");

/** The URL every example's rtsp-in points at out of the box: the bundled demo camera, which Node-RED runs itself. */
export const DEMO_CAMERA_URL = "rtsp://127.0.0.1:8554/demo";

/** An example flow as Node-RED's Import → Examples reads it, with each `from` string replaced by its `to`. */
export function loadExample(name: string, replacements: Record<string, string> = {}): FlowNode[] {
  let text = readFileSync(path.join(EXAMPLES_DIR, `${name}.json`), "utf8");
  for (const [from, to] of Object.entries(replacements)) text = text.replaceAll(from, to);
  return JSON.parse(text);
}

/**
 * werift leaves loopback out of its host candidates; the tests run in a network namespace that
 * has nothing else, so every webrtc-out is given 127.0.0.1 as its host address.
 */
export function onLoopback(flow: FlowNode[]): FlowNode[] {
  for (const node of flow) if (node.type === "webrtc-out") node.hostAddresses = "127.0.0.1";
  return flow;
}

/** The example's one node of `type` (fails the test when there is not exactly one). */
export function onlyNode(flow: readonly FlowNode[], type: string): FlowNode {
  const found = flow.filter((n) => n.type === type);
  assert.equal(found.length, 1, `one ${type} node in the example, found ${found.length}`);
  return found[0];
}

let httpNode: ExpressApp | undefined;

/** A node module as Node-RED loads it, keeping hold of RED.httpNode, which the test helper does not expose. */
function capturingHttpNode(register: (RED: NodeAPI) => Promise<void>): (RED: NodeAPI) => Promise<void> {
  return (RED) => {
    httpNode = RED.httpNode as ExpressApp;
    return register(RED);
  };
}

/** This package's nodes plus the core nodes the examples use, for helper.load(). */
export function exampleNodes(): unknown[] {
  const core = (file: string) => require(`@node-red/nodes/core/${file}`);
  return [
    capturingHttpNode(withCatalog("rtsp-in", require("../../../nodes/rtsp-in.js"))),
    withCatalog("rtp-fanout", require("../../../nodes/rtp-fanout.js")),
    withCatalog("webrtc-out", require("../../../nodes/webrtc-out.js")),
    withCatalog("mp4-record", require("../../../nodes/mp4-record.js")),
    withCatalog("whip-out", require("../../../nodes/whip-out.js")),
    core("common/20-inject.js"),
    core("common/21-debug.js"),
    core("common/90-comment.js"),
    core("function/10-function.js"),
    core("function/10-switch.js"),
    core("function/15-change.js"),
    core("function/89-trigger.js"),
    core("network/10-mqtt.js"),
    core("network/32-udp.js"),
  ];
}

/** RED.httpNode of the last helper.load(), served on 127.0.0.1, as Node-RED's own server serves it. */
export function serveHttpNode(): Promise<Server> {
  assert.ok(httpNode, "rtsp-in was loaded and given RED.httpNode");
  return listenLocal(httpNode);
}

/** Until the webrtc-out at `streamPath` has its stream (an offer before would get a 503). */
export async function streamArrives(server: Server, streamPath: string, ms = 20_000): Promise<void> {
  await waitFor(
    async () => (await request(server).get(`${streamPath}/stats`)).body.stream?.sourceState === "receiving",
    ms,
    `the stream at ${streamPath}`,
  );
}

/** A werift viewer of the webrtc-out at `streamPath`, through its JSON offer route. */
export async function viewerOf(server: Server, streamPath: string): Promise<WeriftViewer> {
  const viewer = await connectViewer({
    offer: async (sdp) => {
      const res = await request(server).post(`${streamPath}/offer`).send({ type: "offer", sdp });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body.sdp;
    },
  });
  await viewer.connected;
  return viewer;
}

/** What a viewer received decodes with ffmpeg: no errors, at least 10 frames, of `size`. */
export async function assertViewerDecodes(
  viewer: WeriftViewer,
  size: { width: number; height: number },
): Promise<void> {
  await waitFor(() => viewer.packets.length >= 150, 15_000, "video packets at the viewer");
  const decoded = await decodeVideo(depacketizeH264(viewer.packets), "h264");
  assert.deepEqual(decoded.decodeErrors, []);
  assert.ok(decoded.frames >= 10, `${decoded.frames} frames decoded`);
  assert.equal(decoded.width, size.width);
  assert.equal(decoded.height, size.height);
}

/**
 * Mocha hooks for an example's test, registered in the calling describe: the test helper on Node-RED 5
 * around the suite, and after each test its viewers closed, its local servers closed and the flow
 * unloaded. Returns the list to put the test's viewers in.
 */
export function exampleTestHooks(): WeriftViewer[] {
  const viewers: WeriftViewer[] = [];
  before(async () => {
    helper.init(require.resolve("node-red"));
    await new Promise<void>((resolve) => helper.startServer(() => resolve()));
  });
  after(async () => {
    await new Promise<void>((resolve) => helper.stopServer(() => resolve()));
  });
  afterEach(async () => {
    await Promise.all(viewers.splice(0).map((v) => v.close()));
    await closeLocalServers();
    await helper.unload();
  });
  return viewers;
}
