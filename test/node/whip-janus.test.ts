import "../helpers/loopback-namespace";
import assert from "node:assert/strict";
import path from "node:path";
import helper from "node-red-node-test-helper";
import type { NodeAPI, NodeStatus } from "../../src/nodes/red";
import { decodeVideo } from "../helpers/decode";
import { depacketizeH264 } from "../helpers/depacketize";
import { closeLocalServers, type ExpressApp, listenLocal } from "../helpers/express-app";
import { GstRtspServer } from "../helpers/gst-server";
import { addJanusInterface, removeJanusInterface } from "../helpers/janus-interface";
import { type RoomViewer, subscribeRoom } from "../helpers/janus-room-viewer";
import { type JanusSfu, startJanusSfu } from "../helpers/janus-sfu";
import { startLoopbackTurnServer } from "../helpers/network-peers";
import { withCatalog } from "../helpers/node-catalog";
import { startRecordingProxy } from "../helpers/recording-proxy";
import { type SimpleWhipServer, startSimpleWhipServer } from "../helpers/simple-whip-server";
import { startSlowUdpPath } from "../helpers/slow-udp-path";
import { freePort } from "../helpers/tools";
import { waitFor } from "../helpers/wait";
import { connectViewer, type WeriftViewer } from "../helpers/werift-viewer";

// The whip-out node in Node-RED against a real SFU: rtsp-in (a GStreamer camera) → whip-out →
// meetecho's simple-whip-server → Debian's Janus 1.1.2 VideoRoom → a viewer subscribed through
// Janus's HTTP API, whose packets decode at the camera's size. Janus's ICE is on 127.0.0.2 (a veth
// of this namespace's: test/helpers/janus-interface.ts).

// biome-ignore lint/suspicious/noExplicitAny: Node-RED's runtime objects are untyped in tests
type AnyNode = any;

const rtspInNode = withCatalog("rtsp-in", require("../../../nodes/rtsp-in.js"));
const whipOutNode = withCatalog("whip-out", require("../../../nodes/whip-out.js"));
const webrtcOutNode = withCatalog("webrtc-out", require("../../../nodes/webrtc-out.js"));

const ARTIFACTS = path.resolve(__dirname, "../../../.test-artifacts/whip-janus");
const FRONT = { room: 3001, endpoint: "front", token: "front-token-5b7c19" };
const YARD = { room: 3002, endpoint: "yard", token: "yard-token-0e4a62" };

/** RED.httpNode of the runtime the last load gave webrtc-out. */
let httpNode: ExpressApp | undefined;

function capturing(register: (RED: NodeAPI) => Promise<void>): (RED: NodeAPI) => Promise<void> {
  return (RED) => {
    httpNode = RED.httpNode as ExpressApp;
    return register(RED);
  };
}

const NODES = [rtspInNode, whipOutNode, capturing(webrtcOutNode)];

function camera(id: string, url: string, wires: string[]) {
  return {
    id,
    type: "rtsp-in",
    // A name equal to a node id would be taken for a reference to that node (a "circular config node").
    name: `camera ${id}`,
    url,
    transport: "tcp",
    media: "both",
    startMode: "deploy",
    wires: [wires, []],
  };
}

function whipOut(id: string, endpoint: string, states: string) {
  return { id, type: "whip-out", name: "", endpoint, startMode: "deploy", wires: [[states]] };
}

/** Collects a node's status calls (the helper's spies on the Node prototype). */
function watchStatus(node: AnyNode): NodeStatus[] {
  const statuses: NodeStatus[] = [];
  node.on("call:status", (call: { args: [NodeStatus] }) => statuses.push(call.args[0]));
  return statuses;
}

function watchStates(helperId: string): AnyNode[] {
  const states: AnyNode[] = [];
  helper.getNode(helperId).on("input", (msg: AnyNode) => states.push(msg.payload));
  return states;
}

const publishes = (states: AnyNode[]): number => states.filter((s) => s.state === "publishing").length;

/** RTSP sessions the camera played since it started (its log, one line per PLAY). */
const plays = (cam: GstRtspServer): number => cam.log.filter((line) => /\bPLAY from\b/.test(line)).length;

describe("whip-out → simple-whip-server → Janus VideoRoom (Node-RED, real SFU)", function () {
  this.timeout(90_000);
  let janus: JanusSfu;
  let whip: SimpleWhipServer;
  let front: GstRtspServer;
  let yard: GstRtspServer;
  const viewers: RoomViewer[] = [];

  async function viewerPlays(room: number, width: number, height: number): Promise<RoomViewer> {
    const viewer = await subscribeRoom(janus.apiBase, room);
    viewers.push(viewer);
    await viewer.connected;
    const decoded = await viewer.decodedFrames(10, 15_000);
    assert.deepEqual([decoded.width, decoded.height], [width, height]);
    return viewer;
  }

  before(async () => {
    addJanusInterface();
    janus = await startJanusSfu({
      dir: path.join(ARTIFACTS, "janus"),
      rooms: [
        { id: FRONT.room, description: "front" },
        { id: YARD.room, description: "yard" },
      ],
    });
    whip = await startSimpleWhipServer({ dir: path.join(ARTIFACTS, "whip"), janusWsUrl: janus.wsUrl });
    for (const cam of [FRONT, YARD])
      await whip.createEndpoint({ id: cam.endpoint, room: cam.room, token: cam.token });
    [front, yard] = await Promise.all([
      GstRtspServer.start({ codec: "h264", width: 640, height: 360, fps: 25, keyint: 25, audio: "pcma" }),
      GstRtspServer.start({ codec: "h264", width: 320, height: 240, fps: 25, keyint: 25, audio: "none" }),
    ]);
    helper.init(require.resolve("node-red"));
    await new Promise<void>((resolve) => helper.startServer(() => resolve()));
  });

  after(async () => {
    try {
      await helper.unload();
      await new Promise<void>((resolve) => helper.stopServer(() => resolve()));
      await Promise.all([front?.stop(), yard?.stop()]);
      await whip?.stop();
      await janus?.stop();
    } finally {
      // Whatever failed: the next test file's WebRTC peers must not gather on it.
      removeJanusInterface();
    }
  });

  afterEach(async () => {
    await Promise.all(viewers.splice(0).map((v) => v.close()));
    await closeLocalServers();
    // Unloading deletes each whip-out's resource: its endpoint is free for the next test.
    await helper.unload();
    httpNode = undefined;
  });

  it("publishes the camera: status names the host, codec and size; a viewer through Janus decodes it; a camera restart plays again", async () => {
    await helper.load(
      NODES,
      [
        camera("cam", front.url, ["whip"]),
        whipOut("whip", whip.endpointUrl(FRONT.endpoint), "states"),
        { id: "states", type: "helper" },
      ],
      { whip: { token: FRONT.token } },
    );
    const statuses = watchStatus(helper.getNode("whip"));
    const states = watchStates("states");
    await waitFor(() => publishes(states) === 1, 20_000, "publishing");
    const host = new URL(whip.base).host;
    // The rate reads in kbps, or in Mbps when a window held a burst (a keyframe, the GOP replayed).
    const publishing = new RegExp(`^publishing to ${host} · H264 640x360 · (\\d+ kbps|\\d+\\.\\d Mbps)$`);
    await waitFor(
      () => statuses.some((s) => publishing.test(s.text ?? "")),
      10_000,
      "the publishing status with its rate",
    ).catch((error: Error) => {
      throw new Error(`${error.message}; statuses: ${JSON.stringify(statuses.map((s) => s.text))}`);
    });
    const viewer = await viewerPlays(FRONT.room, 640, 360);
    await waitFor(() => viewer.audioPackets.length > 25, 10_000, "the camera's PCMA through Janus");

    const sessions = plays(front);
    await front.restart();
    await waitFor(() => plays(front) > sessions, 20_000, "the camera played again");
    viewer.clear();
    const decoded = await viewer.decodedFrames(10, 15_000);
    assert.deepEqual([decoded.width, decoded.height], [640, 360]);
    assert.equal(publishes(states), 1, "the same publish went on through the camera's restart");
  });

  it("a Janus restart: whip-out publishes again, and a viewer subscribed afresh plays", async () => {
    await helper.load(
      NODES,
      [
        camera("cam", front.url, ["whip"]),
        whipOut("whip", whip.endpointUrl(FRONT.endpoint), "states"),
        { id: "states", type: "helper" },
      ],
      { whip: { token: FRONT.token } },
    );
    const states = watchStates("states");
    await waitFor(() => publishes(states) === 1, 20_000, "publishing");
    await viewerPlays(FRONT.room, 640, 360);
    await Promise.all(viewers.splice(0).map((v) => v.close()));
    const connections = whip.connectionsToJanus();
    await janus.stop();
    await janus.start();
    await whip.waitForJanus(connections);
    // A DTLS close from the stopping Janus, or else whip-out's liveness watchdog, ends the old publish.
    await waitFor(() => publishes(states) >= 2, 45_000, "a second publish");
    await viewerPlays(FRONT.room, 640, 360);
  });

  it("trickle with a STUN server 300 ms away: the offer goes with the host candidate, the server-reflexive one by PATCH (204), and a viewer through Janus decodes", async () => {
    const stunPort = await freePort();
    const stun = await startLoopbackTurnServer("127.0.0.1", stunPort);
    const slow = await startSlowUdpPath({ address: "127.0.0.1", port: stunPort }, 300);
    const proxy = await startRecordingProxy(whip.base);
    try {
      await helper.load(
        NODES,
        [
          camera("cam", front.url, ["whip"]),
          {
            ...whipOut("whip", proxy.url(`/whip/endpoint/${FRONT.endpoint}`), "states"),
            iceServers: `stun:127.0.0.1:${slow.port}`,
          },
          { id: "states", type: "helper" },
        ],
        { whip: { token: FRONT.token } },
      );
      const states = watchStates("states");
      await waitFor(() => publishes(states) === 1, 20_000, "publishing");
      await viewerPlays(FRONT.room, 640, 360);
      const patches = () => proxy.exchanges.filter((x) => x.method === "PATCH");
      await waitFor(
        () => patches().some((x) => x.body.includes("a=end-of-candidates")),
        10_000,
        "end-of-candidates by PATCH",
      );
      const post = proxy.exchanges.find((x) => x.method === "POST");
      assert.equal(post?.status, 201);
      assert.match(post?.body ?? "", /^a=candidate:.* 127\.0\.0\.1 \d+ typ host/m);
      assert.doesNotMatch(post?.body ?? "", / typ srflx /);
      assert.ok(
        patches().some((x) => / typ srflx raddr 127\.0\.0\.1 /.test(x.body)),
        JSON.stringify(patches()),
      );
      for (const patch of patches()) {
        assert.equal(patch.status, 204, JSON.stringify(patch));
        assert.match(patch.path, /^\/whip\/resource\//);
      }
      // Unloaded here, while the proxy still carries its DELETE (a publish left undeleted would keep the
      // endpoint busy for the next test).
      await helper.unload();
      assert.equal(proxy.exchanges.at(-1)?.method, "DELETE");
      assert.equal(proxy.exchanges.at(-1)?.status, 200);
    } finally {
      await proxy.stop();
      await slow.close();
      await stun.stop();
    }
  });

  it('a wrong token: status "retry in … s: 403 Forbidden" (simple-whip-server\'s answer), the token nowhere', async () => {
    await helper.load(
      NODES,
      [
        camera("cam", front.url, ["whip"]),
        whipOut("whip", whip.endpointUrl(FRONT.endpoint), "states"),
        { id: "states", type: "helper" },
      ],
      { whip: { token: "wrong-token-3f9d" } },
    );
    const statuses = watchStatus(helper.getNode("whip"));
    const states = watchStates("states");
    await waitFor(
      () => statuses.some((s) => /^retry in \d+ s: 403 Forbidden$/.test(s.text ?? "")),
      20_000,
      "the retry status",
    );
    assert.equal(publishes(states), 0);
    const said = JSON.stringify([statuses, states, helper.log().args]);
    assert.ok(!said.includes("wrong-token-3f9d"), "the token shows nowhere");
  });

  it("two cameras publish to two rooms at once, each viewer decodes its own camera", async () => {
    await helper.load(
      NODES,
      [
        camera("cam1", front.url, ["whip1"]),
        whipOut("whip1", whip.endpointUrl(FRONT.endpoint), "states1"),
        { id: "states1", type: "helper" },
        camera("cam2", yard.url, ["whip2"]),
        whipOut("whip2", whip.endpointUrl(YARD.endpoint), "states2"),
        { id: "states2", type: "helper" },
      ],
      { whip1: { token: FRONT.token }, whip2: { token: YARD.token } },
    );
    const states1 = watchStates("states1");
    const states2 = watchStates("states2");
    await waitFor(() => publishes(states1) === 1 && publishes(states2) === 1, 20_000, "both publishing");
    await Promise.all([viewerPlays(FRONT.room, 640, 360), viewerPlays(YARD.room, 320, 240)]);
  });

  it("whip-out beside webrtc-out on one camera: one RTSP session feeds Janus's viewer and a direct viewer", async () => {
    const before = plays(front);
    await helper.load(
      NODES,
      [
        camera("cam", front.url, ["whip", "direct"]),
        whipOut("whip", whip.endpointUrl(FRONT.endpoint), "states"),
        { id: "states", type: "helper" },
        {
          id: "direct",
          type: "webrtc-out",
          name: "",
          path: "front",
          statsInterval: 0,
          hostAddresses: "127.0.0.1",
          wires: [[]],
        },
      ],
      { whip: { token: FRONT.token } },
    );
    const states = watchStates("states");
    await waitFor(() => publishes(states) === 1, 20_000, "publishing");
    assert.ok(httpNode, "webrtc-out was given RED.httpNode");
    const server = await listenLocal(httpNode);
    const port = (server.address() as { port: number }).port;
    let direct: WeriftViewer | undefined;
    try {
      direct = await connectViewer({
        offer: async (sdp) => {
          const res = await fetch(`http://127.0.0.1:${port}/front/offer`, {
            method: "POST",
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify({ type: "offer", sdp }),
          });
          const body = (await res.json()) as { sdp?: string };
          assert.equal(res.status, 200, JSON.stringify(body));
          return body.sdp ?? "";
        },
      });
      await direct.connected;
      const throughJanus = viewerPlays(FRONT.room, 640, 360);
      const viewer = direct;
      await waitFor(() => viewer.packets.length >= 150, 15_000, "the direct viewer's video");
      const decoded = await decodeVideo(depacketizeH264(viewer.packets), "h264");
      assert.deepEqual([decoded.width, decoded.height], [640, 360]);
      await throughJanus;
    } finally {
      await direct?.close();
    }
    assert.equal(plays(front) - before, 1, "the camera served one RTSP session");
  });
});
