import assert from "node:assert/strict";
import helper from "node-red-node-test-helper";
import type { NodeStatus } from "../../src/nodes/red";
import { GstRtspServer } from "../helpers/gst-server";
import { withCatalog } from "../helpers/node-catalog";
import { basicAuth, playing, RtspPeer } from "../helpers/rtsp-peer";
import { TcpProxy } from "../helpers/tcp-proxy";
import { waitFor } from "../helpers/wait";

// biome-ignore lint/suspicious/noExplicitAny: Node-RED's runtime objects are untyped in tests
type AnyNode = any;

const rtspInNode = withCatalog("rtsp-in", require("../../../nodes/rtsp-in.js"));

const PASSWORD = "s3cret-Passw0rd";

function flow(url: string, extra: Record<string, unknown> = {}) {
  return [
    {
      id: "cam",
      type: "rtsp-in",
      name: "door",
      url,
      transport: "tcp",
      media: "video",
      startMode: "deploy",
      wires: [["media"], ["events"]],
      ...extra,
    },
    { id: "media", type: "helper" },
    { id: "events", type: "helper" },
  ];
}

/** Collects what a node does, through the helper's spies on the Node prototype. */
function watch(node: AnyNode) {
  const statuses: NodeStatus[] = [];
  node.on("call:status", (call: { args: [NodeStatus] }) => statuses.push(call.args[0]));
  return statuses;
}

/** The package declares Node-RED >= 4.1: every node test runs on the oldest supported runtime and the newest. */
const RUNTIMES = ["node-red", "node-red-4"];

for (const runtime of RUNTIMES) {
  describe(`rtsp-in node (${runtime} ${require(`${runtime}/package.json`).version})`, function () {
    this.timeout(60_000);
    let server: GstRtspServer;
    let proxy: TcpProxy | undefined;

    before(async () => {
      helper.init(require.resolve(runtime));
      server = await GstRtspServer.start({
        codec: "h264",
        auth: "digest",
        user: "admin",
        password: PASSWORD,
      });
      await new Promise<void>((resolve) => helper.startServer(() => resolve()));
    });

    after(async () => {
      await server.stop();
      await new Promise<void>((resolve) => helper.stopServer(() => resolve()));
    });

    afterEach(async () => {
      await helper.unload();
      await proxy?.stop();
      proxy = undefined;
    });

    it("emits one message per access unit on output 1 and state events on output 2", async () => {
      await helper.load(rtspInNode, flow(server.url), { cam: { user: "admin", password: PASSWORD } });
      const media: AnyNode[] = [];
      const events: AnyNode[] = [];
      helper.getNode("media").on("input", (msg: AnyNode) => media.push(msg));
      helper.getNode("events").on("input", (msg: AnyNode) => events.push(msg));
      await waitFor(
        () => media.filter((m) => m.rtp.keyframe).length >= 1 && media.length >= 30,
        20_000,
        "frames",
      );

      const msg = media.find((m) => m.rtp.keyframe)!;
      assert.equal(msg.topic, "door");
      assert.ok(Array.isArray(msg.payload) && msg.payload.length > 0);
      for (const packet of msg.payload) {
        assert.ok(Buffer.isBuffer(packet));
        assert.equal(packet[0]! >> 6, 2, "RTP version 2");
      }
      assert.deepEqual(Object.keys(msg.rtp).sort(), ["keyframe", "kind", "mid", "timestamp"]);
      assert.equal(msg.rtp.kind, "video");
      assert.equal(msg.stream.media[0].codec, "H264");
      assert.equal(msg.stream.session, 1);
      // Everything the node sent on output 2, from its first message on (the helper's spy keeps them all).
      const sentEvents = helper
        .getNode("cam")
        .send.args.map((args: AnyNode[]) => args[0][1])
        .filter(Boolean);
      assert.deepEqual(
        sentEvents.map((e: AnyNode) => e.payload.state),
        ["connecting", "playing"],
      );
      assert.deepEqual(
        events.map((e) => e.payload.state),
        sentEvents.map((e: AnyNode) => e.payload.state).slice(-events.length),
      );
      assert.equal(sentEvents[1].topic, "door");
      assert.equal(sentEvents[1].stream.media[0].codec, "H264");
    });

    it("shows what it plays in the status, and the rate after a while", async () => {
      await helper.load(rtspInNode, flow(server.url), { cam: { user: "admin", password: PASSWORD } });
      const statuses = watch(helper.getNode("cam"));
      await waitFor(() => statuses.some((s) => /Mbps|kbps/.test(s.text ?? "")), 10_000, "rate in status");
      const last = statuses.at(-1)!;
      assert.equal(last.fill, "green");
      assert.match(last.text ?? "", /^playing H264 640x360 · \d+(\.\d)? (Mbps|kbps)$/);
    });

    it("says in the status when the camera's audio cannot go to browsers (AAC)", async () => {
      const aac = await GstRtspServer.start({ codec: "h264", audio: "aac", keyint: 10 });
      try {
        await helper.load(rtspInNode, flow(aac.url, { media: "both" }));
        const statuses = watch(helper.getNode("cam"));
        await waitFor(() => statuses.some((s) => /kbps|Mbps/.test(s.text ?? "")), 10_000, "rate in status");
        assert.match(
          statuses.at(-1)!.text ?? "",
          /^playing H264 640x360 · \d+(\.\d)? (Mbps|kbps) · AAC audio not relayable to browsers$/,
        );
      } finally {
        await helper.unload();
        await aac.stop();
      }
    });

    it("takes the password from the URL and never shows it", async () => {
      const url = server.url.replace("rtsp://", `rtsp://admin:${PASSWORD}@`);
      await helper.load(rtspInNode, flow(url, { name: "" }));
      const events: AnyNode[] = [];
      const media: AnyNode[] = [];
      helper.getNode("events").on("input", (msg: AnyNode) => events.push(msg));
      helper.getNode("media").on("input", (msg: AnyNode) => media.push(msg));
      await waitFor(() => media.length > 5, 20_000, "frames");
      assert.equal(media[0].topic, url.replace(PASSWORD, "***"));
      assert.ok(!JSON.stringify(events).includes(PASSWORD));
    });

    it("a wrong password: status says so, retries, no password anywhere", async () => {
      await helper.load(rtspInNode, flow(server.url, { name: "" }), {
        cam: { user: "admin", password: "wrong-Passw0rd" },
      });
      const cam = helper.getNode("cam");
      const statuses = watch(cam);
      const events: AnyNode[] = [];
      helper.getNode("events").on("input", (msg: AnyNode) => events.push(msg));
      await waitFor(() => events.some((e) => e.payload.state === "retrying"), 10_000, "retrying");
      await waitFor(() => statuses.some((s) => s.fill === "red"), 5000, "red status");
      const retry = events.find((e) => e.payload.state === "retrying");
      assert.equal(retry.payload.reason, "401 Unauthorized: wrong user or password");
      assert.ok(retry.payload.retryInMs > 0);
      assert.match(
        statuses.find((s) => s.fill === "red")!.text ?? "",
        /^retry in \d+ s: 401 Unauthorized: wrong user or password$/,
      );
      const logged = JSON.stringify(helper.log().args);
      assert.ok(logged.includes("wrong user or password"), "the failure is logged");
      for (const text of [logged, JSON.stringify(statuses), JSON.stringify(events)]) {
        assert.ok(!text.includes("wrong-Passw0rd"));
      }
    });

    it("start on command, and stop / start / restart commands", async () => {
      proxy = new TcpProxy(server.port);
      const port = await proxy.start();
      const url = server.url.replace(`:${server.port}/`, `:${port}/`);
      await helper.load(rtspInNode, flow(url, { startMode: "command" }), {
        cam: { user: "admin", password: PASSWORD },
      });
      const cam = helper.getNode("cam");
      const events: AnyNode[] = [];
      helper.getNode("events").on("input", (msg: AnyNode) => events.push(msg));
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.equal(proxy.connections, 0, "nothing until start");

      cam.receive({ payload: "start" });
      await waitFor(() => events.some((e) => e.payload.state === "playing"), 20_000, "playing");
      cam.receive({ payload: "stop" });
      await waitFor(() => events.some((e) => e.payload.state === "stopped"), 5000, "stopped");
      await waitFor(() => proxy!.requestLines().some((l) => l.startsWith("TEARDOWN")), 5000, "TEARDOWN");
      await waitFor(() => proxy!.closedConnections === proxy!.connections, 5000, "socket closed");

      cam.receive({ payload: "restart" });
      await waitFor(
        () => events.filter((e) => e.payload.state === "playing").length === 2,
        20_000,
        "playing again",
      );
      assert.equal(proxy.connections, 2);
    });

    it("reports unknown commands as errors a catch node can take", async () => {
      await helper.load(rtspInNode, flow(server.url, { startMode: "command" }), {
        cam: { user: "admin", password: PASSWORD },
      });
      const cam = helper.getNode("cam");
      cam.receive({ payload: "jump" });
      await waitFor(
        () => helper.log().args.some((a: AnyNode[]) => String(a[0]?.msg).includes('unknown command "jump"')),
        5000,
        "error",
      );
    });

    it("redeploy closes the session: the server sees TEARDOWN and the socket close", async () => {
      proxy = new TcpProxy(server.port);
      const port = await proxy.start();
      const url = server.url.replace(`:${server.port}/`, `:${port}/`);
      await helper.load(rtspInNode, flow(url), { cam: { user: "admin", password: PASSWORD } });
      const media: AnyNode[] = [];
      helper.getNode("media").on("input", (msg: AnyNode) => media.push(msg));
      await waitFor(() => media.length > 5, 20_000, "frames");
      await helper.unload();
      assert.ok(
        proxy.requestLines().some((l) => l.startsWith("TEARDOWN")),
        "TEARDOWN sent before close finished",
      );
      await waitFor(() => proxy!.closedConnections === proxy!.connections, 2000, "socket closed");
    });

    it("a flow with a password in the URL: warns that it is stored in plain text, never shows it, even unreachable", async () => {
      const raw = "Pa55/w0rd@ZZ9";
      const url = `rtsp://admin:${encodeURIComponent(raw)}@127.0.0.1:1/stream`;
      await helper.load(rtspInNode, flow(url, { name: "" }));
      const cam = helper.getNode("cam");
      const statuses = watch(cam);
      const events: AnyNode[] = [];
      helper.getNode("events").on("input", (msg: AnyNode) => events.push(msg));
      await waitFor(() => events.some((e) => e.payload.state === "retrying"), 10_000, "retrying");
      await waitFor(() => statuses.some((s) => s.fill === "red"), 5000, "red status");
      assert.match(events.find((e) => e.payload.state === "retrying").payload.reason, /connection refused/);
      assert.equal(events[0].topic, "rtsp://admin:***@127.0.0.1:1/stream");
      const logged = JSON.stringify(helper.log().args);
      assert.match(logged, /the URL holds a password, saved in plain text in the flow file/);
      for (const text of [logged, JSON.stringify(statuses), JSON.stringify(events)]) {
        for (const spelling of [raw, encodeURIComponent(raw), encodeURIComponent(raw).toLowerCase()]) {
          assert.ok(!text.includes(spelling), spelling);
        }
      }
    });

    it("a certificate fingerprint that is not one: the node says so, logs an error and does not connect", async () => {
      await helper.load(rtspInNode, flow("rtsps://127.0.0.1:1/stream", { tlsFingerprint: "12:34:zz" }));
      const cam = helper.getNode("cam");
      const statusCalls = cam.status.args.map((a: [NodeStatus]) => a[0]);
      assert.deepEqual(statusCalls.at(-1), {
        fill: "red",
        shape: "dot",
        text: "certificate fingerprint: give the 32 bytes of a SHA-256 in hex",
      });
      assert.match(JSON.stringify(helper.log().args), /is not a SHA-256 fingerprint/);
    });

    it("warns once per deploy, not on every reconnect, that a camera asking for Basic over rtsp:// gets the password unencrypted", async () => {
      // Basic, then 404 to the authenticated DESCRIBE: the node reconnects again and again.
      const camera = await RtspPeer.start(
        basicAuth("admin", PASSWORD, (request, peer) =>
          request.method === "DESCRIBE" ? { status: 404 } : playing()(request, peer),
        ),
      );
      try {
        await helper.load(rtspInNode, flow(camera.url()), { cam: { user: "admin", password: PASSWORD } });
        await waitFor(() => camera.connections >= 3, 20_000, "three connections");
        await waitFor(
          () => camera.authorized().filter((r) => r.method === "DESCRIBE").length >= 3,
          5000,
          "three authenticated DESCRIBEs",
        );
        const warnings = helper
          .log()
          .args.map((a: AnyNode[]) => String(a[0]?.msg))
          .filter((msg: string) => msg.includes("Basic"));
        assert.deepEqual(warnings, [
          "door: the camera asked for Basic authentication over rtsp://: the password travels unencrypted; use rtsps:// or Digest",
        ]);
      } finally {
        await helper.unload();
        await camera.close();
      }
    });

    it("keeps saying in the playing status that a camera on Basic over rtsp:// gets the password unencrypted", async () => {
      const camera = await RtspPeer.start(basicAuth("admin", PASSWORD, playing()));
      try {
        await helper.load(rtspInNode, flow(camera.url()), { cam: { user: "admin", password: PASSWORD } });
        const cam = helper.getNode("cam");
        const statuses = () => cam.status.args.map((a: [NodeStatus]) => a[0] as NodeStatus);
        await waitFor(() => statuses().some((s: NodeStatus) => s.fill === "green"), 10_000, "playing");
        const playingStatus = statuses().find((s: NodeStatus) => s.fill === "green");
        assert.match(
          String(playingStatus?.text),
          /^playing H264 · password sent unencrypted \(Basic over rtsp:\/\/\)$/,
        );
      } finally {
        await helper.unload();
        await camera.close();
      }
    });

    describe("secrets in the URL's query (token=, key=…)", () => {
      const TOKEN = "T0ken-Secr3t/99";
      const KEY = "K3y-Secr3t";
      let camera: RtspPeer;

      /** A camera that plays only for requests whose URL carries the token and the key. */
      beforeEach(async () => {
        const needed = [`token=${encodeURIComponent(TOKEN)}`, `Key=${KEY}`];
        camera = await RtspPeer.start((request, peer) =>
          request.method !== "DESCRIBE" || needed.every((part) => request.url.includes(part))
            ? playing()(request, peer)
            : { status: 404 },
        );
      });

      afterEach(() => camera.close());

      function assertNoSecret(what: string, text: string): void {
        for (const spelling of [TOKEN, encodeURIComponent(TOKEN), KEY]) {
          assert.ok(!text.includes(spelling), `${what} holds ${spelling}`);
        }
      }

      it("puts the stored values back only into the requests to the camera, and shows *** everywhere", async () => {
        const url = camera.url(`/stream?token=***&channel=1&Key=***`);
        await helper.load(rtspInNode, flow(url, { name: "" }), {
          cam: { urlSecrets: `token=${encodeURIComponent(TOKEN)}&Key=${KEY}` },
        });
        const statuses = watch(helper.getNode("cam"));
        const events: AnyNode[] = [];
        helper.getNode("events").on("input", (msg: AnyNode) => events.push(msg));
        await waitFor(() => events.some((e) => e.payload.state === "playing"), 10_000, "playing");
        const describe = camera.requests.find((r) => r.method === "DESCRIBE")!;
        assert.equal(
          describe.url,
          camera.url(`/stream?token=${encodeURIComponent(TOKEN)}&channel=1&Key=${KEY}`),
        );
        assert.equal(events[0].topic, url);
        for (const [what, text] of [
          ["log", JSON.stringify(helper.log().args)],
          ["status", JSON.stringify(statuses)],
          ["events", JSON.stringify(events)],
        ] as const) {
          assertNoSecret(what, text);
        }
        assert.doesNotMatch(JSON.stringify(helper.log().args), /holds a secret/);
      });

      it("a URL holding *** with no stored value: says which parameter to type again, and does not connect", async () => {
        await helper.load(rtspInNode, flow(camera.url("/stream?token=***&channel=1")), {
          cam: { urlSecrets: "key=other" },
        });
        const cam = helper.getNode("cam");
        assert.deepEqual(cam.status.args.at(-1)[0], {
          fill: "red",
          shape: "dot",
          text: "no stored value for token= in the URL",
        });
        assert.match(JSON.stringify(helper.log().args), /the URL's token= has no value in the credentials/);
        await new Promise((resolve) => setTimeout(resolve, 300));
        assert.equal(camera.connections, 0);
      });

      it("a flow with the secrets written in its URL: warns that they are stored in plain text, plays, never shows them", async () => {
        const url = camera.url(`/stream?token=${encodeURIComponent(TOKEN)}&channel=1&Key=${KEY}`);
        await helper.load(rtspInNode, flow(url, { name: "" }));
        const statuses = watch(helper.getNode("cam"));
        const events: AnyNode[] = [];
        helper.getNode("events").on("input", (msg: AnyNode) => events.push(msg));
        await waitFor(() => events.some((e) => e.payload.state === "playing"), 10_000, "playing");
        assert.equal(events[0].topic, camera.url("/stream?token=***&channel=1&Key=***"));
        const logged = JSON.stringify(helper.log().args);
        assert.match(logged, /the URL's token=, Key= holds a secret, saved in plain text in the flow file/);
        for (const [what, text] of [
          ["log", logged],
          ["status", JSON.stringify(statuses)],
          ["events", JSON.stringify(events)],
        ] as const) {
          assertNoSecret(what, text);
        }
      });
    });

    it("a node without a URL says so and stays up", async () => {
      await helper.load(rtspInNode, flow(""));
      const cam = helper.getNode("cam");
      assert.ok(cam);
      const statusCalls = cam.status.args.map((a: [NodeStatus]) => a[0]);
      assert.ok(statusCalls.some((s: NodeStatus) => /no camera URL/.test(s.text ?? "")));
    });
  });
}
