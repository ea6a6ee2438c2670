import "../helpers/loopback-namespace";
import assert from "node:assert/strict";
import helper from "node-red-node-test-helper";
import type { NodeStatus } from "../../src/nodes/red";
import { decodeVideo } from "../helpers/decode";
import { depacketizeH264 } from "../helpers/depacketize";
import { GstRtspServer } from "../helpers/gst-server";
import { withCatalog } from "../helpers/node-catalog";
import { waitFor } from "../helpers/wait";
import { WhipEndpoint } from "../helpers/whip-endpoint";

// biome-ignore lint/suspicious/noExplicitAny: Node-RED's runtime objects are untyped in tests
type AnyNode = any;

const rtspInNode = withCatalog("rtsp-in", require("../../../nodes/rtsp-in.js"));
const whipOutNode = withCatalog("whip-out", require("../../../nodes/whip-out.js"));

const TOKEN = "Bearer-s3cret-T0ken";

function flow(cameraUrl: string, endpoint: string, extra: Record<string, unknown> = {}) {
  return [
    {
      id: "cam",
      type: "rtsp-in",
      name: "door",
      url: cameraUrl,
      transport: "tcp",
      media: "both",
      startMode: "deploy",
      wires: [["whip"], []],
    },
    { id: "whip", type: "whip-out", name: "", endpoint, startMode: "deploy", wires: [["states"]], ...extra },
    { id: "states", type: "helper" },
  ];
}

/** Collects what a node does, through the helper's spies on the Node prototype. */
function watch(node: AnyNode): NodeStatus[] {
  const statuses: NodeStatus[] = [];
  node.on("call:status", (call: { args: [NodeStatus] }) => statuses.push(call.args[0]));
  return statuses;
}

describe("whip-out node (rtsp-in → whip-out → a werift WHIP endpoint)", function () {
  this.timeout(60_000);
  let camera: GstRtspServer;
  let endpoint: WhipEndpoint;

  before(async () => {
    helper.init(require.resolve("node-red"));
    camera = await GstRtspServer.start({
      codec: "h264",
      width: 480,
      height: 270,
      fps: 25,
      keyint: 25,
      audio: "pcmu",
    });
    await new Promise<void>((resolve) => helper.startServer(() => resolve()));
  });

  after(async () => {
    await camera.stop();
    await new Promise<void>((resolve) => helper.stopServer(() => resolve()));
  });

  beforeEach(async () => {
    endpoint = await WhipEndpoint.start({ token: TOKEN });
  });

  afterEach(async () => {
    await helper.unload();
    await endpoint.stop();
  });

  it("publishes the camera: status with host, codec, size and rate; states out; frames decode; DELETE on redeploy", async () => {
    await helper.load([rtspInNode, whipOutNode], flow(camera.url, endpoint.url()), {
      whip: { token: TOKEN },
    });
    const statuses = watch(helper.getNode("whip"));
    const states: AnyNode[] = [];
    helper.getNode("states").on("input", (msg: AnyNode) => states.push(msg.payload));
    await waitFor(() => states.some((s) => s.state === "publishing"), 20_000, "publishing");
    const host = `127.0.0.1:${endpoint.port}`;
    await waitFor(
      () =>
        statuses.some((s) =>
          new RegExp(`^publishing to ${host} · H264 480x270 · \\d+ kbps$`).test(s.text ?? ""),
        ),
      10_000,
      "the publishing status with its rate",
    );
    assert.deepEqual(states[0], { state: "connecting" });
    assert.equal(states[1]?.media, "H264 480x270");
    const pub = endpoint.latest;
    assert.ok(pub);
    assert.equal(pub.headers.authorization, `Bearer ${TOKEN}`);
    await waitFor(() => pub.packets.length > 100 && pub.audioPackets.length > 20, 20_000, "video and audio");
    const decoded = await decodeVideo(depacketizeH264(pub.packets), "h264");
    assert.deepEqual([decoded.width, decoded.height], [480, 270]);
    assert.deepEqual(decoded.decodeErrors, []);
    await helper.unload();
    assert.equal(pub.deleted, true, "the resource was deleted on redeploy");
    assert.ok(!JSON.stringify([statuses, states, helper.log().args]).includes(TOKEN.slice(7)));
  });

  it('starts on command, stops (DELETE) on "stop", and refuses other commands', async () => {
    await helper.load([rtspInNode, whipOutNode], flow(camera.url, endpoint.url(), { startMode: "command" }), {
      whip: { token: TOKEN },
    });
    const whip = helper.getNode("whip");
    const statuses = watch(whip);
    const states: AnyNode[] = [];
    helper.getNode("states").on("input", (msg: AnyNode) => states.push(msg.payload));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal(endpoint.publishes.length, 0);
    whip.receive({ payload: "start" });
    await waitFor(() => states.some((s) => s.state === "publishing"), 20_000, "publishing");
    whip.receive({ payload: "stop" });
    await waitFor(() => states.at(-1)?.state === "stopped", 10_000, "stopped");
    assert.equal(endpoint.latest?.deleted, true);
    assert.equal(statuses.at(-1)?.text, "stopped");
    whip.receive({ payload: "jump" });
    await waitFor(
      () => helper.log().args.some((a: AnyNode[]) => String(a[0]?.msg).includes('unknown command "jump"')),
      5000,
      "the unknown command reported",
    );
  });

  it('401: status "retry in 1 s: 401 Unauthorized", a warning, and the token nowhere', async () => {
    await helper.load([rtspInNode, whipOutNode], flow(camera.url, endpoint.url()), {
      whip: { token: "wrong-T0ken-value" },
    });
    const statuses = watch(helper.getNode("whip"));
    const states: AnyNode[] = [];
    helper.getNode("states").on("input", (msg: AnyNode) => states.push(msg.payload));
    await waitFor(
      () => statuses.some((s) => s.text === "retry in 1 s: 401 Unauthorized"),
      20_000,
      "the retry status",
    );
    const retry = states.find((s) => s.state === "retrying");
    assert.equal(retry?.reason, "401 Unauthorized");
    assert.equal(retry?.code, "http-status");
    const logged = JSON.stringify(helper.log().args);
    assert.match(logged, /publishing to 127\.0\.0\.1:\d+ failed: 401 Unauthorized/);
    assert.ok(!JSON.stringify([statuses, states, logged]).includes("wrong-T0ken-value"));
  });

  it("a missing or non-http URL is a red status, and the flow runs on", async () => {
    await helper.load([rtspInNode, whipOutNode], flow(camera.url, "rtsp://127.0.0.1/whip"));
    const whip = helper.getNode("whip");
    const statuses = watch(whip);
    whip.receive({ payload: "start" });
    await waitFor(() => statuses.length > 0 || whip.status.called, 2000, "a status");
    const calls = whip.status.getCalls().filter((c: AnyNode) => c.thisValue === whip);
    assert.equal(calls.at(-1)?.args[0]?.text, "the WHIP URL must be http:// or https://");
    await helper.unload();
    await helper.load([rtspInNode, whipOutNode], flow(camera.url, ""));
    const empty = helper.getNode("whip");
    const emptyCalls = empty.status.getCalls().filter((c: AnyNode) => c.thisValue === empty);
    assert.equal(emptyCalls.at(-1)?.args[0]?.text, "no WHIP URL");
  });
});
