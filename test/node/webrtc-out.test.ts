import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import type { Server } from "node:http";
import { type AddressInfo, createServer } from "node:net";
import helper from "node-red-node-test-helper";
import request from "supertest";
import { DemoCamera } from "../../src/demo/demo-camera";
import { registeredPaths } from "../../src/http/router";
import type { NodeAPI, NodeStatus } from "../../src/nodes/red";
import { registerWebrtcOut } from "../../src/nodes/webrtc-out-node";
import { launchChromium } from "../helpers/chromium";
import { decodeVideo } from "../helpers/decode";
import { depacketizeH264 } from "../helpers/depacketize";
import { closeLocalServers, type ExpressApp, listenLocal } from "../helpers/express-app";
import { FAKE_OFFER, FakeViewerSet, fakeStream } from "../helpers/fake-viewer-set";
import { GstRtspServer } from "../helpers/gst-server";
import { withCatalog } from "../helpers/node-catalog";
import { type NodeRedProcess, startNodeRed } from "../helpers/node-red-process";
import { postSdp } from "../helpers/post-sdp";
import { waitFor } from "../helpers/wait";
import { connectViewer, type WeriftViewer } from "../helpers/werift-viewer";

// biome-ignore lint/suspicious/noExplicitAny: Node-RED's runtime objects are untyped in tests
type AnyNode = any;

const rtspInNode = withCatalog("rtsp-in", require("../../../nodes/rtsp-in.js"));
const webrtcOutNode = withCatalog("webrtc-out", require("../../../nodes/webrtc-out.js"));

/** The package declares Node-RED >= 4.1: every node test runs on the oldest supported runtime and the newest. */
const RUNTIMES = ["node-red", "node-red-4"];

/** RED.httpNode of the runtime the last loaded node was given (the helper makes one per load). */
let httpNode: ExpressApp | undefined;

/** The node's module as Node-RED loads it, keeping hold of RED.httpNode, which the helper does not expose. */
function capturing(register: (RED: NodeAPI) => Promise<void>): (RED: NodeAPI) => Promise<void> {
  return (RED) => {
    httpNode = RED.httpNode as ExpressApp;
    return register(RED);
  };
}

function app(): ExpressApp {
  assert.ok(httpNode, "the node was given RED.httpNode");
  return httpNode;
}

/** RED.httpNode served on 127.0.0.1, as Node-RED's own server would serve it. */
function http(): Promise<Server> {
  return listenLocal(app());
}

/** This node's status calls (the helper's spy sits on the Node prototype and sees every node's). */
function statuses(node: AnyNode): NodeStatus[] {
  return node.status
    .getCalls()
    .filter((call: AnyNode) => call.thisValue === node)
    .map((call: AnyNode) => call.args[0] as NodeStatus);
}

/** This node's warnings. */
function warnings(node: AnyNode): string[] {
  return node.warn
    .getCalls()
    .filter((call: AnyNode) => call.thisValue === node)
    .map((call: AnyNode) => String(call.args[0]));
}

/** A full redeploy on the same runtime. */
function redeploy(flow: object[]): Promise<void> {
  return helper.setFlows(flow, "full");
}

function lastStatus(node: AnyNode): string {
  return statuses(node).at(-1)?.text ?? "";
}

function webrtcOut(id: string, fields: Record<string, unknown> = {}): Record<string, unknown> {
  return { id, type: "webrtc-out", name: "", path: "cam1", statsInterval: 0, wires: [["out"]], ...fields };
}

const OUT = { id: "out", type: "helper" };

/** A media message as rtsp-in sends it. */
function mediaMessage(session = 1, audioCodec?: string) {
  const packet = Buffer.from([0x80, 0xe0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0x65, 0x88]);
  return {
    topic: "cam",
    payload: [packet],
    rtp: { kind: "video", mid: "0", timestamp: 0, keyframe: true },
    stream: fakeStream(session, audioCodec),
  };
}

/** The number of UDP sockets open in this process (werift's peer connections hold them). */
function udpSockets(): number {
  return process.getActiveResourcesInfo().filter((name) => name === "UDPWrap").length;
}

/** A UDP port held by this process on every address, until released. */
async function heldUdpPort(): Promise<{ port: number; release(): Promise<void> }> {
  const socket = createSocket("udp4");
  await new Promise<void>((done) => socket.bind(0, "0.0.0.0", () => done()));
  return {
    port: socket.address().port,
    release: () => new Promise<void>((done) => socket.close(() => done())),
  };
}

/**
 * A port for the shared ICE port: free for UDP and for TCP (the ICE-TCP listener takes the same
 * number), and below Linux's ephemeral range, so no connection the test makes meanwhile (supertest's,
 * the other nodes') can be given it before the node binds it.
 */
async function unusedIcePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if ((await udpPortFree(port)) && (await tcpPortFree(port))) return port;
  }
}

function tcpPortFree(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise<boolean>((done) => {
    server.once("error", () => done(false));
    server.listen(port, "0.0.0.0", () => server.close(() => done(true)));
  });
}

/** True when UDP `port` can be bound on every address. */
function udpPortFree(port: number): Promise<boolean> {
  const socket = createSocket("udp4");
  return new Promise<boolean>((done) => {
    socket.once("error", () => {
      socket.close();
      done(false);
    });
    socket.bind(port, "0.0.0.0", () => socket.close(() => done(true)));
  });
}

for (const runtime of RUNTIMES) {
  describe(`webrtc-out node (${runtime} ${require(`${runtime}/package.json`).version})`, function () {
    this.timeout(60_000);

    before(async () => {
      helper.init(require.resolve(runtime));
      await new Promise<void>((resolve) => helper.startServer(() => resolve()));
    });

    after(async () => {
      await new Promise<void>((resolve) => helper.stopServer(() => resolve()));
    });

    afterEach(async () => {
      await closeLocalServers();
      await helper.unload();
      httpNode = undefined;
    });

    describe("routes, status and events (viewer set without WebRTC)", () => {
      let fakes: FakeViewerSet[];
      const fakeNode = capturing(
        withCatalog("webrtc-out", (RED) =>
          registerWebrtcOut(RED, (options) => {
            const fake = new FakeViewerSet(options);
            fakes.push(fake);
            return fake;
          }),
        ),
      );

      beforeEach(() => {
        fakes = [];
      });

      it("serves the player page, with no external URL, and ?embed=1 on RED.httpNode under its path", async () => {
        await helper.load(fakeNode, [webrtcOut("n1"), OUT]);
        const server = await http();
        const page = await request(server).get("/cam1").expect(200);
        assert.match(page.headers["content-type"] ?? "", /^text\/html/);
        assert.doesNotMatch(page.text, /https?:\/\//i);
        assert.ok(page.text.includes('"offerUrl":"/cam1/offer"'));
        assert.ok(page.text.includes('id="stats"'));
        const embed = await request(server).get("/cam1?embed=1").expect(200);
        assert.doesNotMatch(embed.text, /https?:\/\//i);
        assert.ok(!embed.text.includes('id="stats"'));
        await request(server).get("/cam1/stats").expect(200);
      });

      it("takes its path from its name when none is set", async () => {
        await helper.load(fakeNode, [webrtcOut("n1", { name: "Front Door", path: "" }), OUT]);
        const res = await request(await http())
          .get("/front-door")
          .expect(200);
        assert.ok(res.text.includes("<title>Front Door</title>"));
        assert.deepEqual(registeredPaths(app()), ["/front-door"]);
      });

      it("two nodes on one path: the second says so in its status and serves nothing", async () => {
        await helper.load(fakeNode, [
          webrtcOut("n1", { name: "first" }),
          webrtcOut("n2", { name: "second" }),
          OUT,
        ]);
        const first = helper.getNode("n1");
        const second = helper.getNode("n2");
        assert.deepEqual(statuses(second).at(-1), {
          fill: "red",
          shape: "ring",
          text: "path /cam1 is taken by another webrtc-out",
        });
        assert.doesNotMatch(lastStatus(first), /taken/);
        assert.deepEqual(warnings(second), [
          "path /cam1 is taken by another webrtc-out: this node serves nothing until one of them gets another path",
        ]);
        assert.deepEqual(registeredPaths(app()), ["/cam1"]);
        const page = await request(await http())
          .get("/cam1")
          .expect(200);
        assert.ok(page.text.includes("<title>first</title>"), "the first node keeps serving");
        assert.equal(fakes.length, 1, "the second node builds no viewer set");
        second.receive(mediaMessage());
        assert.equal(fakes[0]!.units.length, 0, "nor does it feed the first one's");
      });

      it("redeploy removes the routes: nothing left in the router, 404 after", async () => {
        await helper.load(fakeNode, [webrtcOut("n1"), OUT]);
        const target = app();
        await request(await http())
          .get("/cam1")
          .expect(200);
        for (let i = 0; i < 20; i++) {
          const path = i % 2 === 0 ? "cam2" : "cam1";
          await redeploy([webrtcOut("n1", { path }), OUT]);
          assert.deepEqual(registeredPaths(target), [`/${path}`], `deploy ${i}`);
          assert.equal(fakes.at(-2)?.closed, true, "the previous node's viewers were closed");
        }
        const server = await listenLocal(target);
        await request(server).get("/cam2").expect(404);
        await request(server).get("/cam1").expect(200);
        await helper.unload();
        assert.deepEqual(registeredPaths(target), []);
        await request(server).get("/cam1").expect(404);
        await request(server).post("/cam1/offer").send({ type: "offer", sdp: FAKE_OFFER }).expect(404);
        assert.ok(fakes.every((fake) => fake.closed));
      });

      it("status: waiting for the stream, then viewers · codec · rate, and why AAC is not sent", async () => {
        await helper.load(fakeNode, [webrtcOut("n1"), OUT]);
        const node = helper.getNode("n1");
        assert.deepEqual(statuses(node).at(-1), {
          fill: "yellow",
          shape: "ring",
          text: "waiting for the stream",
        });
        node.receive(mediaMessage());
        fakes[0]!.kbps = 2100;
        const server = await http();
        for (let i = 0; i < 3; i++) {
          await request(server).post("/cam1/offer").send({ type: "offer", sdp: FAKE_OFFER }).expect(200);
        }
        assert.deepEqual(statuses(node).at(-1), {
          fill: "green",
          shape: "dot",
          text: "3 viewers · H264 · 2.1 Mbps",
        });
        node.receive(mediaMessage(2, "MPEG4-GENERIC"));
        await waitFor(() => /AAC/.test(lastStatus(node)), 5000, "the status to change");
        assert.equal(
          lastStatus(node),
          "3 viewers · H264 · 2.1 Mbps · AAC audio not sent: browsers cannot play it",
        );
      });

      it("sends viewer events and periodic stats on its output", async () => {
        await helper.load(fakeNode, [webrtcOut("n1", { name: "door", statsInterval: 0.2 }), OUT]);
        const messages: AnyNode[] = [];
        helper.getNode("out").on("input", (msg: AnyNode) => messages.push(msg));
        helper.getNode("n1").receive(mediaMessage());
        const server = await http();
        const answer = await request(server)
          .post("/cam1/offer")
          .send({ type: "offer", sdp: FAKE_OFFER })
          .expect(200);
        await request(server).delete(answer.body.location).expect(200);
        await waitFor(() => messages.some((m) => m.payload.event === "stats"), 5000, "stats");
        const events = messages.filter((m) => m.payload.event !== "stats");
        assert.deepEqual(
          events.map((m) => [m.topic, m.payload.event, m.payload.viewer.id, m.payload.viewers]),
          [
            ["door", "joined", answer.body.id, 1],
            ["door", "left", answer.body.id, 0],
          ],
        );
        assert.equal(events[1].payload.viewer.reason, "deleted");
        const stats = messages.find((m) => m.payload.event === "stats");
        assert.equal(stats.topic, "door");
        assert.deepEqual(stats.payload.stream, { codec: "H264", kbps: 0 });
        assert.deepEqual(stats.payload.viewers, []);
      });

      it("an offer refused for want of a stream sends a requested event, at most once a second", async () => {
        await helper.load(fakeNode, [webrtcOut("n1", { name: "door", maxViewers: 1 }), OUT]);
        const messages: AnyNode[] = [];
        helper.getNode("out").on("input", (msg: AnyNode) => messages.push(msg));
        const server = await http();
        const offer = () => request(server).post("/cam1/offer").send({ type: "offer", sdp: FAKE_OFFER });
        const whep = () =>
          request(server).post("/cam1/whep").set("Content-Type", "application/sdp").send(FAKE_OFFER);
        const first = await offer();
        assert.equal(first.status, 503);
        assert.equal(first.body.code, "no-stream");
        await waitFor(() => messages.length === 1, 5000, "the requested event");
        assert.deepEqual(
          messages.map((m) => [m.topic, m.payload]),
          [["door", { event: "requested", viewers: 0 }]],
        );
        // Within the second: refused all the same, but no second event (a page retrying does not flood the flow).
        assert.equal((await whep()).status, 503);
        assert.equal((await offer()).status, 503);
        // Refused for another reason: not a request for the stream.
        assert.equal(
          (await request(server).post("/cam1/offer").send({ type: "offer", sdp: "hello" })).status,
          400,
        );
        await new Promise((resolve) => setTimeout(resolve, 1100));
        assert.equal(messages.length, 1);
        assert.equal((await whep()).status, 503);
        await waitFor(() => messages.length === 2, 5000, "the second requested event");
        assert.deepEqual(messages[1].payload, { event: "requested", viewers: 0 });

        helper.getNode("n1").receive(mediaMessage());
        await new Promise((resolve) => setTimeout(resolve, 1100));
        const joined = await offer();
        assert.equal(joined.status, 200);
        const full = await offer();
        assert.equal(full.body.code, "max-viewers");
        await waitFor(() => messages.length === 3, 5000, "the joined event");
        await new Promise((resolve) => setTimeout(resolve, 100));
        assert.deepEqual(
          messages.map((m) => m.payload.event),
          ["requested", "requested", "joined"],
          "a viewer that joins, and one refused as one too many, are no requests",
        );
      });

      it("takes media messages and single RTP packets; anything else is reported, once in a while", async () => {
        await helper.load(fakeNode, [webrtcOut("n1"), OUT]);
        const node = helper.getNode("n1");
        const media = mediaMessage();
        node.receive(media);
        node.receive({ payload: media.payload[0] });
        assert.equal(fakes[0]!.units.length, 1);
        assert.deepEqual(fakes[0]!.units[0], { ...media.rtp, packets: media.payload });
        assert.deepEqual(fakes[0]!.packets, [media.payload[0]]);
        for (let i = 0; i < 10; i++) node.receive({ payload: "hello" });
        node.receive({ payload: media.payload });
        await waitFor(
          () =>
            helper
              .log()
              .args.some((a: AnyNode[]) => /not media: msg\.payload is a string/.test(String(a[0]?.msg))),
          5000,
          "the error",
        );
        const reported = helper.log().args.filter((a: AnyNode[]) => /not media/.test(String(a[0]?.msg)));
        assert.equal(reported.length, 1, "reported once, not for every message");
        assert.equal(fakes[0]!.units.length, 1);
      });

      it("a path it cannot serve, and bad settings, are said in the status and the log", async () => {
        await helper.load(fakeNode, [webrtcOut("n1", { path: "my cam", maxViewers: "many" }), OUT]);
        const node = helper.getNode("n1");
        assert.deepEqual(statuses(node).at(-1), {
          fill: "red",
          shape: "dot",
          text: "invalid path: open the node and fix it",
        });
        assert.deepEqual(registeredPaths(app()), []);
        const warned = warnings(node);
        assert.ok(warned.some((w) => /path "my cam" may hold only/.test(w)));
        assert.ok(warned.some((w) => /max viewers must be a whole number/.test(w)));
        assert.equal(fakes.length, 0);
      });

      it("Max packet size reaches the viewer set: 1200 by default, 1400 when set, 1200 and a warning when bad", async () => {
        await helper.load(fakeNode, [
          webrtcOut("n1", { path: "a" }),
          webrtcOut("n2", { path: "b", maxPacketSize: "1400" }),
          webrtcOut("n3", { path: "c", maxPacketSize: "1500" }),
          OUT,
        ]);
        assert.deepEqual(
          fakes.map((fake) => fake.options.maxPacketSize),
          [1200, 1400, 1200],
        );
        assert.deepEqual(warnings(helper.getNode("n3")), [
          'max packet size "1500" must be a whole number of bytes from 1200 to 1400; using 1200',
        ]);
      });

      it("a viewer set that cannot start leaves the path free and says why", async () => {
        const failing = capturing(
          withCatalog("webrtc-out", (RED) =>
            registerWebrtcOut(RED, () => {
              throw new Error("no UDP ports");
            }),
          ),
        );
        await helper.load(failing, [webrtcOut("n1"), OUT]);
        assert.deepEqual(statuses(helper.getNode("n1")).at(-1), {
          fill: "red",
          shape: "dot",
          text: "cannot start: no UDP ports",
        });
        assert.deepEqual(registeredPaths(app()), []);
      });

      it("settings.js icePort: one shared port for the nodes, none for a node with a UDP range; released after", async () => {
        const icePort = { port: await unusedIcePort() };
        helper.settings({ webrtcOut: { icePort: icePort.port } });
        try {
          await helper.load(fakeNode, [
            webrtcOut("n1"),
            webrtcOut("n2", { path: "cam2" }),
            webrtcOut("n3", { path: "cam3", portMin: 40000, portMax: 40100 }),
            OUT,
          ]);
          const server = await http();
          for (const [id, path] of [
            ["n1", "cam1"],
            ["n2", "cam2"],
            ["n3", "cam3"],
          ] as const) {
            helper.getNode(id).receive(mediaMessage());
            await request(server).post(`/${path}/offer`).send({ type: "offer", sdp: FAKE_OFFER }).expect(200);
          }
          const [one, two, ranged] = fakes.map((fake) => fake.options.ice.sharedPort);
          assert.equal(one?.port, icePort.port);
          assert.equal(one, two, "one port for both nodes");
          assert.equal(ranged, undefined, "a node with its own range keeps a port per viewer");
          assert.equal(await udpPortFree(icePort.port), false);
          await helper.unload();
          assert.equal(await udpPortFree(icePort.port), true, "closed with the last node");
        } finally {
          helper.settings({});
        }
      });

      it("settings.js iceBindAddress: the shared port listens there, and the nodes' candidates keep to it", async () => {
        const icePort = { port: await unusedIcePort() };
        helper.settings({ webrtcOut: { icePort: icePort.port, iceBindAddress: "127.0.0.1", iceTcp: false } });
        try {
          await helper.load(fakeNode, [webrtcOut("n1"), OUT]);
          helper.getNode("n1").receive(mediaMessage());
          const server = await http();
          await request(server).post("/cam1/offer").send({ type: "offer", sdp: FAKE_OFFER }).expect(200);
          const ice = fakes[0]!.options.ice;
          assert.equal(ice.sharedPort?.port, icePort.port);
          assert.equal(ice.sharedPort?.tcp, false);
          assert.deepEqual(ice.interfaceAddresses, { udp4: "127.0.0.1" });
          assert.equal(await udpPortFree(icePort.port), false);
        } finally {
          helper.settings({});
        }
      });

      it("the shared port in use: the status and the log say so, and viewers take ports of their own", async () => {
        const held = await heldUdpPort();
        helper.settings({ webrtcOut: { icePort: held.port } });
        try {
          await helper.load(fakeNode, [webrtcOut("n1"), OUT]);
          const node = helper.getNode("n1");
          node.receive(mediaMessage());
          const server = await http();
          await request(server).post("/cam1/offer").send({ type: "offer", sdp: FAKE_OFFER }).expect(200);
          assert.equal(fakes[0]!.options.ice.sharedPort, undefined);
          await waitFor(
            () => lastStatus(node).endsWith(`UDP ${held.port} in use: a port per viewer`),
            5000,
            "the status",
          );
          assert.equal(statuses(node).at(-1)?.fill, "yellow");
          assert.ok(
            warnings(node).some((w) => w.includes(`the shared ICE port ${held.port}`) && /in use/.test(w)),
          );
        } finally {
          helper.settings({});
          await held.release();
        }
      });

      it("max viewers is passed on and enforced: one more is a 503 with a JSON body", async () => {
        await helper.load(fakeNode, [webrtcOut("n1", { maxViewers: 2 }), OUT]);
        helper.getNode("n1").receive(mediaMessage());
        const server = await http();
        for (let i = 0; i < 2; i++) {
          await request(server).post("/cam1/offer").send({ type: "offer", sdp: FAKE_OFFER }).expect(200);
        }
        const refused = await request(server).post("/cam1/offer").send({ type: "offer", sdp: FAKE_OFFER });
        assert.equal(refused.status, 503);
        assert.deepEqual(Object.keys(refused.body).sort(), ["code", "detail", "error"]);
        assert.equal(refused.body.error, "max viewers reached");
        assert.equal(fakes[0]!.options.maxViewers, 2);
      });

      it("a DELETE after its viewer ended on its own answers 200 once, then 404", async () => {
        await helper.load(fakeNode, [webrtcOut("n1"), OUT]);
        helper.getNode("n1").receive(mediaMessage());
        const server = await http();
        const answer = await request(server)
          .post("/cam1/offer")
          .send({ type: "offer", sdp: FAKE_OFFER })
          .expect(200);
        fakes[0]!.endOnItsOwn(answer.body.id);
        await request(server).delete(answer.body.location).expect(200);
        await request(server).delete(answer.body.location).expect(404);
      });
    });

    describe("with the camera and werift viewers (loopback)", () => {
      let camera: DemoCamera;
      let cameraUrl: string;
      const viewers: WeriftViewer[] = [];
      const nodes = [rtspInNode, capturing(webrtcOutNode)];

      function flow(fields: Record<string, unknown> = {}, camWires: string[] = ["n1"]) {
        return [
          {
            id: "cam",
            type: "rtsp-in",
            name: "demo",
            url: cameraUrl,
            transport: "tcp",
            media: "video",
            startMode: "deploy",
            wires: [camWires, []],
          },
          webrtcOut("n1", { hostAddresses: "127.0.0.1", ...fields }),
          OUT,
          { id: "tap", type: "helper" },
        ];
      }

      /** Until the node has the stream (an offer before would get a 503). */
      async function streamArrived(server: Server): Promise<void> {
        await waitFor(
          async () => (await request(server).get("/cam1/stats")).body.stream?.sourceState === "receiving",
          20_000,
          "the stream",
        );
      }

      function viaOffer(server: Server) {
        return async (sdp: string): Promise<string> => {
          const res = await request(server).post("/cam1/offer").send({ type: "offer", sdp });
          assert.equal(res.status, 200, JSON.stringify(res.body));
          assert.equal(res.body.type, "answer");
          return res.body.sdp;
        };
      }

      async function viewer(server: Server): Promise<WeriftViewer> {
        const v = await connectViewer({ offer: viaOffer(server) });
        viewers.push(v);
        return v;
      }

      async function assertDecodes(v: WeriftViewer): Promise<void> {
        await waitFor(() => v.packets.length >= 150, 15_000, "video packets");
        const decoded = await decodeVideo(depacketizeH264(v.packets), "h264");
        assert.deepEqual(decoded.decodeErrors, []);
        assert.ok(decoded.frames >= 10, `${decoded.frames} frames decoded`);
        assert.equal(decoded.width, 640);
        assert.equal(decoded.height, 360);
      }

      before(async () => {
        camera = new DemoCamera({ port: 0 });
        cameraUrl = (await camera.start()).url;
      });

      after(async () => {
        await camera.close();
      });

      afterEach(async () => {
        await Promise.all(viewers.splice(0).map((v) => v.close()));
      });

      it("POST P/offer: a viewer plays the camera", async () => {
        await helper.load(nodes, flow());
        const server = await http();
        await streamArrived(server);
        const v = await viewer(server);
        await v.connected;
        await assertDecodes(v);
        const node = helper.getNode("n1");
        await waitFor(() => /^1 viewer · H264 · \d/.test(lastStatus(node)), 5000, "the status");
      });

      it("WHEP: POST 201, PATCH 204, DELETE 200, DELETE again 404", async () => {
        await helper.load(nodes, flow());
        const messages: AnyNode[] = [];
        helper.getNode("out").on("input", (msg: AnyNode) => messages.push(msg));
        const server = await http();
        await streamArrived(server);
        let location = "";
        let etag = "";
        const v = await connectViewer({
          offer: async (sdp) => {
            const res = await postSdp(server, "/cam1/whep", sdp);
            assert.equal(res.status, 201, String(res.body));
            assert.equal(res.headers["content-type"], "application/sdp");
            assert.equal(res.headers["accept-patch"], "application/trickle-ice-sdpfrag");
            location = res.headers.location ?? "";
            etag = res.headers.etag ?? "";
            return String(res.body);
          },
        });
        viewers.push(v);
        assert.match(location, /^\/cam1\/whep\/[\w-]{43}$/);
        await v.connected;
        await waitFor(() => v.packets.length > 0, 10_000, "video packets");

        const local = v.pc.localDescription?.sdp ?? "";
        const ufrag = /a=ice-ufrag:(\S+)/.exec(local)?.[1];
        const pwd = /a=ice-pwd:(\S+)/.exec(local)?.[1];
        const mid = /a=mid:(\S+)/.exec(local)?.[1];
        const candidate = local.split(/\r\n/).find((line) => / 127\.0\.0\.1 \d+ typ host/.test(line));
        assert.ok(ufrag && pwd && mid && candidate, "the viewer's ICE details");
        const fragment = `a=ice-ufrag:${ufrag}\r\na=ice-pwd:${pwd}\r\nm=video 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:${mid}\r\n${candidate}\r\n`;
        await request(server)
          .patch(location)
          .set("Content-Type", "application/trickle-ice-sdpfrag")
          .set("If-Match", etag)
          .send(fragment)
          .expect(204);

        await request(server).delete(location).expect(200);
        await waitFor(() => messages.some((m) => m.payload.event === "left"), 5000, "the left event");
        assert.equal((await request(server).get("/cam1/stats")).body.viewers.length, 0);
        const again = await request(server).delete(location);
        assert.equal(again.status, 404);
        assert.equal(again.body.error, "unknown viewer");
        assert.equal(typeof again.body.detail, "string");
      });

      it("GET P/stats: the stream and its viewers as JSON", async () => {
        // Wired second, the node gets Node-RED's deep clones of each message: still one source session.
        await helper.load(nodes, flow({}, ["tap", "n1"]));
        const server = await http();
        await streamArrived(server);
        const v = await viewer(server);
        await v.connected;
        await waitFor(() => v.packets.length > 50, 10_000, "video packets");
        // Rates are averaged over whole seconds: none in the stream's first second.
        await waitFor(
          async () => (await request(server).get("/cam1/stats")).body.stream.fps > 0,
          5000,
          "a frame rate",
        );
        const res = await request(server).get("/cam1/stats").expect(200);
        assert.match(res.headers["content-type"] ?? "", /^application\/json/);
        const { stream, viewers: list } = res.body;
        assert.equal(stream.codec, "H264");
        assert.equal(stream.width, 640);
        assert.equal(stream.height, 360);
        assert.ok(stream.fps > 0 && stream.kbps > 0, JSON.stringify(stream));
        assert.equal(stream.sourceSessions, 1);
        assert.equal(stream.sourceState, "receiving");
        assert.equal(list.length, 1);
        assert.equal(list[0].remoteAddress, undefined, "no viewer address over HTTP");
        assert.equal(list[0].id, undefined, "no viewer id over HTTP");
        assert.equal(list[0].state, "connected");
        assert.ok(list[0].packetsSent > 0);
      });

      it("bad requests get their status and a JSON body; the playing viewer is unaffected", async () => {
        await helper.load(nodes, flow());
        const server = await http();
        await streamArrived(server);
        const v = await viewer(server);
        await v.connected;
        const offer = v.pc.localDescription?.sdp ?? "";
        const check = async (res: request.Response, status: number, error: RegExp) => {
          assert.equal(res.status, status, `${JSON.stringify(res.body)}`);
          assert.match(res.body.error, error);
          assert.equal(typeof res.body.detail, "string");
        };
        const post = (body: unknown) =>
          request(server)
            .post("/cam1/offer")
            .send(body as object);
        await check(await post({ type: "offer", sdp: "hello" }), 400, /bad SDP/);
        await check(await post({ type: "offer", sdp: offer.slice(0, 20) }), 400, /bad SDP/);
        const afterMline = offer.indexOf("\n", offer.indexOf("m=video")) + 1;
        await check(await post({ type: "offer", sdp: offer.slice(0, afterMline) }), 400, /bad SDP/);
        await check(await post({ type: "offer", sdp: "" }), 400, /bad SDP/);
        await check(
          await post({ type: "offer", sdp: offer.replaceAll("H264/90000", "VP8/90000") }),
          406,
          /no codec in common: the stream has H264.*; the browser offered VP8/,
        );
        const audioOnly = await connectViewer({
          video: false,
          audio: true,
          offer: async (sdp) => {
            await check(await post({ type: "offer", sdp }), 406, /no codec in common/);
            throw new Error("refused as expected");
          },
        }).catch((err: Error) => err);
        assert.match(String(audioOnly), /refused as expected/);
        const huge = { type: "offer", sdp: `${offer}a=x-pad:${"x".repeat(70_000)}\r\n` };
        await check(await post(huge), 413, /body too large/);
        await check(
          await request(server).post("/cam1/whep").set("Content-Type", "text/plain").send(offer),
          415,
          /unsupported media type/,
        );
        await check(
          await request(server).delete("/cam1/whep/00000000-0000-0000-0000-000000000000"),
          404,
          /unknown viewer/,
        );
        await check(
          await request(server)
            .patch("/cam1/whep/00000000-0000-0000-0000-000000000000")
            .set("Content-Type", "application/trickle-ice-sdpfrag")
            .send("a=end-of-candidates\r\n"),
          404,
          /unknown viewer/,
        );
        const before = v.packets.length;
        await waitFor(() => v.packets.length > before + 50, 10_000, "the viewer to keep receiving");
        assert.equal((await request(server).get("/cam1/stats")).body.viewers.length, 1);
        await assertDecodes(v);
      });

      it("a werift offer before the camera is there: 503 and a requested event, then it plays", async () => {
        // The camera is started on the node's own event, as the on-demand example does it.
        await helper.load(nodes, [
          {
            id: "cam",
            type: "rtsp-in",
            name: "demo",
            url: cameraUrl,
            transport: "tcp",
            media: "video",
            startMode: "command",
            wires: [["n1"], []],
          },
          webrtcOut("n1", { hostAddresses: "127.0.0.1" }),
          OUT,
        ]);
        const messages: AnyNode[] = [];
        helper.getNode("out").on("input", (msg: AnyNode) => {
          messages.push(msg);
          if (msg.payload.event === "requested") helper.getNode("cam").receive({ payload: "start" });
        });
        const server = await http();
        const refused = await connectViewer({
          offer: async (sdp) => {
            const res = await request(server).post("/cam1/offer").send({ type: "offer", sdp });
            assert.equal(res.status, 503);
            assert.equal(res.body.code, "no-stream");
            throw new Error("refused as expected");
          },
        }).catch((err: Error) => err);
        assert.match(String(refused), /refused as expected/);
        await waitFor(() => messages.length > 0, 5000, "the requested event");
        assert.deepEqual(messages[0].payload, { event: "requested", viewers: 0 });
        await streamArrived(server);
        const v = await viewer(server);
        await v.connected;
        await assertDecodes(v);
      });

      it("max viewers: one more is a 503 with a JSON body; the others keep playing", async () => {
        await helper.load(nodes, flow({ maxViewers: 2 }));
        const server = await http();
        await streamArrived(server);
        const first = await viewer(server);
        const second = await viewer(server);
        await Promise.all([first.connected, second.connected]);
        const refused = await connectViewer({
          offer: async (sdp) => {
            const res = await request(server).post("/cam1/offer").send({ type: "offer", sdp });
            assert.equal(res.status, 503);
            assert.equal(res.body.error, "max viewers reached");
            assert.equal(res.body.code, "max-viewers");
            assert.match(res.body.detail, /at most 2 viewers/);
            throw new Error("refused as expected");
          },
        }).catch((err: Error) => err);
        assert.match(String(refused), /refused as expected/);
        const counts = [first.packets.length, second.packets.length];
        await waitFor(
          () => first.packets.length > counts[0]! + 50 && second.packets.length > counts[1]! + 50,
          10_000,
          "both viewers to keep receiving",
        );
      });

      it("the player page waits for the camera, plays, and plays again after a redeploy (Chromium)", async () => {
        // First without the camera: the node has no stream and answers offers with 503.
        await helper.load(nodes, [webrtcOut("n1", { hostAddresses: "127.0.0.1" }), OUT]);
        const server = await http();
        const chromium = await launchChromium();
        try {
          const page = await chromium.browser.newPage();
          await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/cam1`);
          type Player = {
            state: string;
            viewerId: string | null;
            stats: { framesDecoded: number; width: number };
          };
          const player = () => page.evaluate(() => (globalThis as unknown as { __player: Player }).__player);
          await waitFor(async () => (await player()).state === "waiting", 10_000, "the waiting state");
          assert.match((await page.textContent("#message")) ?? "", /^waiting for the camera…/);

          await redeploy(flow());
          await waitFor(
            async () => {
              const now = await player();
              return now.state === "playing" && now.stats.framesDecoded > 10;
            },
            20_000,
            "the page to play once the camera is there",
          );
          const first = (await player()).viewerId;
          assert.ok(first);
          assert.equal((await player()).stats.width, 640);

          // A redeploy closes every viewer; the page notices and connects to the new node.
          await redeploy(flow({ name: "again" }));
          await waitFor(
            async () => {
              const now = await player();
              return now.viewerId !== first && now.state === "playing" && now.stats.framesDecoded > 10;
            },
            30_000,
            "the page to play again",
          );
        } finally {
          await chromium.close();
        }
      });

      it("redeploy 20 times with a viewer connected: no route, socket or peer connection left", async () => {
        const baseline = udpSockets();
        await helper.load(nodes, flow());
        const target = app();
        const server = await listenLocal(target);
        for (let i = 0; i < 20; i++) {
          if (i > 0) await redeploy(flow({ name: `deploy ${i}` }));
          assert.deepEqual(registeredPaths(target), ["/cam1"]);
          await streamArrived(server);
          const v = await connectViewer({ offer: viaOffer(server) });
          viewers.push(v);
          await v.connected;
        }
        // The count sees sockets: each connected viewer holds one here, and so does its server side.
        assert.ok(
          udpSockets() >= baseline + 21,
          `${udpSockets()} UDP sockets with 20 viewers and 1 live server side`,
        );
        await helper.unload();
        assert.deepEqual(registeredPaths(target), []);
        await request(server).get("/cam1").expect(404);
        // Closing the clients frees their sockets; the count comes back only if every server-side peer
        // connection was closed with its node too.
        await Promise.all(viewers.splice(0).map((v) => v.close()));
        await waitFor(
          () => udpSockets() === baseline,
          10_000,
          `UDP sockets back to ${baseline} (${udpSockets()})`,
        );
      });
    });
  });
}

const USER = "viewer";
const PASSWORD = "s3cret-pass";
const AUTHORIZATION = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString("base64")}`;

/** A settings file as a user writes one: HTTP nodes under /api, behind authentication, with CORS and a middleware. */
const SETTINGS = `
module.exports = {
  uiHost: "127.0.0.1",
  httpAdminRoot: false,
  httpNodeRoot: "/api",
  flowFile: "flows.json",
  credentialSecret: false,
  telemetry: { enabled: false },
  logging: { console: { level: "info", metrics: false, audit: false } },
  httpNodeAuth: function (req, res, next) {
    // CORS preflights carry no credentials: a site that serves other origins lets them through.
    if (req.method === "OPTIONS") return next();
    if (req.headers.authorization === ${JSON.stringify(AUTHORIZATION)}) return next();
    res.statusCode = 401;
    res.setHeader("WWW-Authenticate", 'Basic realm="cameras"');
    res.end("authentication required");
  },
  httpNodeCors: { origin: "*", methods: "GET,POST,PATCH,DELETE" },
  httpNodeMiddleware: function (req, res, next) {
    res.setHeader("X-Node-Middleware", "ran");
    next();
  },
};
`;

/**
 * A minimal WHEP client as a page of another site would have it (browser code, kept as text: this
 * project compiles without the DOM library). Resolves with the session's absolute URL.
 */
const WHEP_CLIENT = `async (url, authorization) => {
  const pc = new RTCPeerConnection();
  pc.addTransceiver("video", { direction: "recvonly" });
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((resolve) => {
    if (pc.iceGatheringState === "complete") resolve();
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") resolve();
    });
  });
  const res = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/sdp", Authorization: authorization },
    body: pc.localDescription.sdp,
  });
  if (res.status !== 201) throw new Error("WHEP POST: " + res.status + " " + (await res.text()));
  await pc.setRemoteDescription({ type: "answer", sdp: await res.text() });
  window.whepPc = pc;
  return new URL(res.headers.get("Location"), url).href;
}`;

for (const runtime of RUNTIMES) {
  describe(`webrtc-out in Node-RED itself (${runtime}): httpNodeRoot, httpNodeAuth, httpNodeCors, httpNodeMiddleware`, function () {
    this.timeout(60_000);
    // The issue's "done when": GStreamer's RTSP server, a High-profile camera that Chromium (which
    // offers no High profile) must still play, through rtsp-in → webrtc-out in Node-RED itself.
    let camera: GstRtspServer;
    let nodeRed: NodeRedProcess;
    let base: string;
    const viewers: WeriftViewer[] = [];

    before(async () => {
      camera = await GstRtspServer.start({
        codec: "h264",
        profile: "high",
        width: 1280,
        height: 720,
        keyint: 25,
      });
      const url = camera.url;
      nodeRed = await startNodeRed({
        runtime,
        settings: SETTINGS,
        flows: [
          { id: "t1", type: "tab", label: "cameras" },
          {
            id: "cam",
            z: "t1",
            type: "rtsp-in",
            name: "demo",
            url,
            transport: "tcp",
            media: "video",
            startMode: "deploy",
            wires: [["out1"], []],
          },
          {
            id: "out1",
            z: "t1",
            type: "webrtc-out",
            name: "GStreamer camera",
            path: "cam1",
            hostAddresses: "127.0.0.1",
            statsInterval: 0,
            wires: [[]],
          },
        ],
      });
      base = `http://127.0.0.1:${nodeRed.port}`;
      await waitFor(
        async () =>
          (await request(base).get("/api/cam1/stats").set("Authorization", AUTHORIZATION)).body.stream
            ?.sourceState === "receiving",
        20_000,
        "the stream to reach the node",
      ).catch((err: Error) => {
        throw new Error(`${err.message}\n${nodeRed.output()}`);
      });
    });

    after(async () => {
      await Promise.all(viewers.splice(0).map((v) => v.close()));
      if (nodeRed) await nodeRed.stop();
      await camera.stop();
      await closeLocalServers();
    });

    it("serves under httpNodeRoot, behind httpNodeAuth", async () => {
      const denied = await request(base).get("/api/cam1");
      assert.equal(denied.status, 401);
      assert.equal((await request(base).get("/cam1").set("Authorization", AUTHORIZATION)).status, 404);
      const page = await request(base).get("/api/cam1").set("Authorization", AUTHORIZATION).expect(200);
      assert.ok(page.text.includes('"offerUrl":"/api/cam1/offer"'));
      assert.doesNotMatch(page.text, /https?:\/\//i);
      assert.equal(page.headers["x-node-middleware"], "ran");
    });

    it("WHEP with httpNodeCors and httpNodeMiddleware: Location under /api, a werift viewer plays", async () => {
      let location = "";
      const v = await connectViewer({
        offer: async (sdp) => {
          const res = await postSdp(base, "/api/cam1/whep", sdp)
            .set("Authorization", AUTHORIZATION)
            .set("Origin", "http://dashboard.test");
          assert.equal(res.status, 201, String(res.body));
          assert.equal(res.headers["access-control-allow-origin"], "*");
          assert.match(res.headers["access-control-expose-headers"] ?? "", /Location/);
          assert.equal(res.headers["x-node-middleware"], "ran");
          location = res.headers.location ?? "";
          return String(res.body);
        },
      });
      viewers.push(v);
      assert.match(location, /^\/api\/cam1\/whep\/[\w-]{43}$/);
      await v.connected;
      await waitFor(() => v.packets.length >= 150, 15_000, "video packets");
      const decoded = await decodeVideo(depacketizeH264(v.packets), "h264");
      assert.deepEqual(decoded.decodeErrors, []);
      assert.ok(decoded.frames >= 10);
      await request(base).delete(location).expect(401);
      await request(base).delete(location).set("Authorization", AUTHORIZATION).expect(200);
    });

    it("the player page plays in headless Chromium, loading nothing from elsewhere", async () => {
      const chromium = await launchChromium();
      try {
        const context = await chromium.browser.newContext({
          httpCredentials: { username: USER, password: PASSWORD },
        });
        const page = await context.newPage();
        const requested: string[] = [];
        page.on("request", (req) => requested.push(req.url()));
        await page.goto(`${base}/api/cam1`);
        await page.waitForFunction(
          () => {
            const player = (
              globalThis as unknown as { __player?: { state: string; stats: { framesDecoded: number } } }
            ).__player;
            return player?.state === "playing" && player.stats.framesDecoded > 10;
          },
          undefined,
          { timeout: 20_000 },
        );
        const stats = await page.evaluate(
          () =>
            (globalThis as unknown as { __player: { stats: { width: number; height: number } } }).__player
              .stats,
        );
        assert.equal(stats.width, 1280);
        assert.equal(stats.height, 720);
        assert.ok(requested.length > 0);
        for (const url of requested) assert.ok(url.startsWith(`${base}/api/cam1`), url);
        const viewersNow = (await request(base).get("/api/cam1/stats").set("Authorization", AUTHORIZATION))
          .body.viewers;
        assert.ok(viewersNow.some((v: { state: string }) => v.state === "connected"));
        await context.close();
      } finally {
        await chromium.close();
      }
    });

    it("a WHEP client on a page of another origin plays, through httpNodeCors", async () => {
      const site = await listenLocal((_req, res) => {
        res.setHeader("Content-Type", "text/html");
        res.end("<!DOCTYPE html><title>elsewhere</title>");
      });
      const origin = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
      const chromium = await launchChromium();
      try {
        const page = await chromium.browser.newPage();
        await page.goto(origin);
        const whep = `${base}/api/cam1/whep`;
        const location = (await page.evaluate(
          `(${WHEP_CLIENT})(${JSON.stringify(whep)}, ${JSON.stringify(AUTHORIZATION)})`,
        )) as string;
        assert.match(location, new RegExp(`^${base}/api/cam1/whep/[\\w-]{43}$`));
        // waitForFunction takes a pending promise for truthy: poll the asynchronous getStats() from here.
        const framesDecoded = () =>
          page.evaluate(async () => {
            type Stats = { type: string; kind?: string; framesDecoded?: number };
            const pc = (globalThis as unknown as { whepPc: { getStats(): Promise<Map<string, Stats>> } })
              .whepPc;
            let decoded = 0;
            for (const entry of (await pc.getStats()).values()) {
              if (entry.type === "inbound-rtp" && entry.kind === "video") decoded = entry.framesDecoded ?? 0;
            }
            return decoded;
          });
        await waitFor(async () => (await framesDecoded()) > 10, 20_000, "frames decoded in the page");
        const status = await page.evaluate(
          async ({ url, authorization }) =>
            (await fetch(url, { method: "DELETE", headers: { Authorization: authorization } })).status,
          { url: location, authorization: AUTHORIZATION },
        );
        assert.equal(status, 200);
      } finally {
        await chromium.close();
      }
    });

    it("stops cleanly: SIGINT closes the viewers and Node-RED exits 0", async () => {
      const code = await nodeRed.stop();
      assert.equal(code, 0, nodeRed.output());
    });
  });
}
