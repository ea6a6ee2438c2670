import assert from "node:assert/strict";
import { request as httpRequest, type Server } from "node:http";
import { type AddressInfo, connect } from "node:net";
import helper from "node-red-node-test-helper";
import request from "supertest";
import { DemoCamera } from "../../src/demo/demo-camera";
import type { NodeAPI } from "../../src/nodes/red";
import { launchChromium } from "../helpers/chromium";
import { closeLocalServers, type ExpressApp, listenLocal } from "../helpers/express-app";
import { withCatalog } from "../helpers/node-catalog";
import { type NodeRedProcess, startNodeRed } from "../helpers/node-red-process";
import { readOffer } from "../helpers/offer-fixtures";
import { postSdp } from "../helpers/post-sdp";
import { waitFor } from "../helpers/wait";
import { connectViewer, type WeriftViewer } from "../helpers/werift-viewer";

// Who may learn what from a webrtc-out's routes, in the real Node-RED runtime with the real node and its
// real viewer set: the test helper's RED.httpNode, and Node-RED's own red.js (for httpNodeAuth, which only
// red.js applies). Every secret is distinct, so that a find names the secret that leaked.

// biome-ignore lint/suspicious/noExplicitAny: Node-RED's runtime objects are untyped in tests
type AnyNode = any;

const webrtcOutNode = withCatalog("webrtc-out", require("../../../nodes/webrtc-out.js"));
const rtspInNode = withCatalog("rtsp-in", require("../../../nodes/rtsp-in.js"));

const TURN_USER = "turn-user-5e1";
const TURN_PASSWORD = "TURN-pa55-9c1e";
const TOKEN = "viewer-token-4d2a";
const ICE_SERVERS = "stun:stun.test:3478\nturn:turn.test:3478?transport=udp";
const OFFER = readOffer("chromium-156.sdp");

/** Every header and the body of an answer, as sent (not JSON-escaped), to search for secrets in. */
function everything(res: request.Response): string {
  const headers = Object.entries(res.headers).map(([name, value]) => `${name}: ${String(value)}`);
  return `${headers.join("\n")}\n${res.text ?? ""}`;
}

function assertNoTurnPassword(what: string, res: request.Response): void {
  assert.ok(!everything(res).includes(TURN_PASSWORD), `${what} (${res.status}) holds the TURN password`);
}

/** This node's warnings (the helper's spy sits on the Node prototype and sees every node's). */
function warnings(node: AnyNode): string[] {
  return node.warn
    .getCalls()
    .filter((call: AnyNode) => call.thisValue === node)
    .map((call: AnyNode) => String(call.args[0]));
}

let httpNode: ExpressApp | undefined;
function capturing(RED: NodeAPI): Promise<void> {
  httpNode = RED.httpNode as ExpressApp;
  return webrtcOutNode(RED);
}

function webrtcOut(fields: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: "n1",
    type: "webrtc-out",
    name: "door",
    path: "door",
    iceServers: ICE_SERVERS,
    hostAddresses: "127.0.0.1",
    statsInterval: 0,
    wires: [["out"]],
    ...fields,
  };
}

const OUT = { id: "out", type: "helper" };

/** Every string in a JSON value: what a client could try as a session's name. */
function strings(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value && typeof value === "object") return Object.values(value).flatMap(strings);
  return [];
}

/** A WHEP POST through supertest, its answer read as text. */
async function whep(server: Server, sdp: string): Promise<{ location: string; answer: string }> {
  const res = await postSdp(server, "/door/whep", sdp);
  assert.equal(res.status, 201, String(res.body));
  return { location: res.headers.location ?? "", answer: String(res.body) };
}

describe("webrtc-out access in Node-RED (test helper: RED.httpNode)", function () {
  this.timeout(60_000);

  before(async () => {
    helper.init(require.resolve("node-red"));
    await new Promise<void>((resolve) => helper.startServer(() => resolve()));
  });

  after(async () => {
    await new Promise<void>((resolve) => helper.stopServer(() => resolve()));
  });

  afterEach(async () => {
    await closeLocalServers();
    await helper.unload();
    helper.settings({});
    httpNode = undefined;
  });

  async function load(credentials: Record<string, string>, fields: Record<string, unknown> = {}) {
    await helper.load(capturing, [webrtcOut(fields), OUT], { n1: credentials });
    assert.ok(httpNode);
    return listenLocal(httpNode);
  }

  describe("TURN credentials", () => {
    it("OPTIONS P/whep without the viewer token names no TURN credentials, preflight-shaped or not", async () => {
      const server = await load({ turnUser: TURN_USER, turnPassword: TURN_PASSWORD, viewerToken: TOKEN });
      assertNoTurnPassword("OPTIONS", await request(server).options("/door/whep"));
      assertNoTurnPassword(
        "OPTIONS with a wrong token",
        await request(server).options("/door/whep").set("Authorization", "Bearer not-it"),
      );
      assertNoTurnPassword(
        "a preflight-shaped OPTIONS",
        await request(server)
          .options("/door/whep")
          .set("Origin", "http://elsewhere.test")
          .set("Access-Control-Request-Method", "POST"),
      );
      // The one who holds the token learns them, as before.
      const admitted = await request(server)
        .options("/door/whep")
        .set("Authorization", `Bearer ${TOKEN}`)
        .expect(204);
      assert.ok((admitted.headers.link ?? "").includes(`credential="${TURN_PASSWORD}"`));
    });

    it("a preflight-shaped OPTIONS without httpNodeCors goes through httpNodeMiddleware", async () => {
      let gated = 0;
      helper.settings({
        httpNodeMiddleware: (req: AnyNode, res: AnyNode, next: () => void) => {
          gated++;
          if (req.headers["x-site-key"] === "open sesame") {
            next();
            return;
          }
          res.statusCode = 403;
          res.end("forbidden by the site's middleware");
        },
      });
      const server = await load({ turnUser: TURN_USER, turnPassword: TURN_PASSWORD });
      const preflight = await request(server)
        .options("/door/whep")
        .set("Origin", "http://elsewhere.test")
        .set("Access-Control-Request-Method", "POST");
      assert.equal(preflight.status, 403, "the middleware refused it");
      assert.equal(gated, 1);
      assertNoTurnPassword("a preflight-shaped OPTIONS", preflight);
      const plain = await request(server).options("/door/whep");
      assert.equal(plain.status, 403);
      assertNoTurnPassword("OPTIONS", plain);
      const allowed = await request(server)
        .options("/door/whep")
        .set("X-Site-Key", "open sesame")
        .expect(204);
      assert.ok((allowed.headers.link ?? "").includes(`credential="${TURN_PASSWORD}"`));
    });
  });

  describe("wrong viewer tokens", () => {
    it("five wrong tokens from one address: the next request gets 429 with Retry-After, the right token too", async () => {
      const server = await load({ viewerToken: TOKEN });
      for (let i = 0; i < 5; i++) {
        const wrong = await request(server).get("/door/stats").set("Authorization", `Bearer guess-${i}`);
        assert.equal(wrong.status, 401, `guess ${i}`);
      }
      for (const authorization of ["Bearer guess-5", `Bearer ${TOKEN}`]) {
        const paused = await request(server).get("/door/stats").set("Authorization", authorization);
        assert.equal(paused.status, 429, authorization);
        assert.match(paused.headers["retry-after"] ?? "", /^\d+$/);
        assert.ok(Number(paused.headers["retry-after"]) >= 1);
        assert.deepEqual(Object.keys(paused.body).sort(), ["code", "detail", "error"]);
        assert.equal(paused.body.code, "too-many-wrong-tokens");
      }
    });
  });

  describe("request bodies", () => {
    it("a body that stalls gets 408 and a closed connection within the default timeout, not Node's 300 s", async function () {
      this.timeout(60_000);
      const server = await load({});
      const { port } = server.address() as AddressInfo;
      const socket = connect(port, "127.0.0.1");
      let received = "";
      socket.on("data", (chunk: Buffer) => {
        received += chunk.toString("utf8");
      });
      const closed = new Promise<string>((resolve) => socket.on("close", () => resolve("closed")));
      socket.write(
        "POST /door/whep HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/sdp\r\nContent-Length: 5000\r\n\r\nv=0\r\n",
      );
      const outcome = await Promise.race([
        closed,
        new Promise<string>((resolve) => setTimeout(() => resolve("still open after 30 s"), 30_000)),
      ]);
      socket.destroy();
      assert.equal(outcome, "closed", received);
      assert.match(received, /^HTTP\/1\.1 408 /);
    });
  });

  describe("the camera wall", () => {
    async function loadTwo(): Promise<Server> {
      await helper.load(
        capturing,
        [
          webrtcOut({ name: "front door", path: "vault-7q/door" }),
          webrtcOut({ id: "n2", name: "yard", path: "yard" }),
          OUT,
        ],
        { n1: { viewerToken: TOKEN } },
      );
      assert.ok(httpNode);
      return listenLocal(httpNode);
    }

    it("names no stream behind a viewer token: neither its path nor its title", async () => {
      const server = await loadTwo();
      const list = await request(server).get("/webrtc/streams").expect(200);
      assert.deepEqual(
        list.body.map((stream: { path: string }) => stream.path),
        ["/yard"],
      );
      const page = await request(server).get("/webrtc").expect(200);
      for (const text of [list.text, page.text]) {
        for (const secret of ["vault-7q", "front door", TOKEN]) assert.ok(!text.includes(secret), secret);
      }
      await request(server).get(`/vault-7q/door?token=${TOKEN}`).expect(200);
    });

    it("settings.js webrtcOut.wall false switches it off: /webrtc passes on to the rest of httpNode", async () => {
      helper.settings({ webrtcOut: { wall: false } });
      const server = await loadTwo();
      await request(server).get("/webrtc").expect(404);
      await request(server).get("/webrtc/streams").expect(404);
      await request(server).get("/yard").expect(200);
      assert.deepEqual(warnings(helper.getNode("n2")), [], "a valid setting is no problem");
    });
  });
});

describe("webrtc-out viewer sessions in Node-RED (test helper, demo camera, werift and Chromium)", function () {
  this.timeout(60_000);
  let camera: DemoCamera;
  let cameraUrl: string;
  const viewers: WeriftViewer[] = [];
  // biome-ignore lint/suspicious/noExplicitAny: Node-RED messages are untyped
  let messages: any[];

  before(async () => {
    helper.init(require.resolve("node-red"));
    await new Promise<void>((resolve) => helper.startServer(() => resolve()));
    camera = new DemoCamera({ port: 0 });
    cameraUrl = (await camera.start()).url;
  });

  after(async () => {
    await camera.close();
    await new Promise<void>((resolve) => helper.stopServer(() => resolve()));
  });

  afterEach(async () => {
    await Promise.all(viewers.splice(0).map((v) => v.close()));
    await closeLocalServers();
    await helper.unload();
    httpNode = undefined;
  });

  /** The demo camera into a webrtc-out at /door; RED.httpNode served, once the stream has arrived. */
  async function start(
    serve: (app: ExpressApp) => Promise<Server> = listenLocal,
    fields: Record<string, unknown> = {},
  ): Promise<Server> {
    await helper.load(
      [rtspInNode, capturing],
      [
        {
          id: "cam",
          type: "rtsp-in",
          name: "demo",
          url: cameraUrl,
          transport: "tcp",
          media: "video",
          startMode: "deploy",
          wires: [["n1"], []],
        },
        webrtcOut({ iceServers: "", ...fields }),
        OUT,
      ],
    );
    messages = [];
    helper.getNode("out").on("input", (msg: AnyNode) => messages.push(msg));
    assert.ok(httpNode);
    const server = await serve(httpNode);
    await waitFor(
      async () => (await request(server).get("/door/stats")).body.stream?.sourceState === "receiving",
      20_000,
      "the stream",
    );
    return server;
  }

  it("a second client cannot end or alter the first one's session, knowing all GET P/stats says", async () => {
    const server = await start();
    let location = "";
    const first = await connectViewer({
      offer: async (sdp) => {
        const created = await whep(server, sdp);
        location = created.location;
        return created.answer;
      },
    });
    viewers.push(first);
    await first.connected;
    await waitFor(() => first.packets.length > 20, 10_000, "the first viewer's packets");

    // The flow author is trusted: the node's own events name the viewer and its address.
    await waitFor(() => messages.some((m) => m.payload.event === "joined"), 5000, "the joined event");
    const joined = messages.find((m) => m.payload.event === "joined").payload.viewer;
    assert.equal(joined.remoteAddress, "127.0.0.1");
    assert.match(joined.id, /^[0-9a-f-]{36}$/);
    assert.ok(!location.includes(joined.id), "the session's URL is not its viewer id");

    const stats = await request(server).get("/door/stats").expect(200);
    assert.equal(stats.body.viewers.length, 1);
    assert.equal(stats.body.viewers[0].state, "connected");
    assert.ok(!stats.text.includes(joined.id), "GET P/stats names no viewer id");
    assert.ok(!stats.text.includes("127.0.0.1"), "GET P/stats names no viewer address");

    for (const guess of new Set([...strings(stats.body), joined.id, joined.remoteAddress])) {
      if (!/^[\w.~-]+$/.test(guess)) continue;
      assert.equal((await request(server).delete(`/door/whep/${guess}`)).status, 404, `DELETE ${guess}`);
      const patched = await request(server)
        .patch(`/door/whep/${guess}`)
        .set("Content-Type", "application/trickle-ice-sdpfrag")
        .send("a=end-of-candidates\r\n");
      assert.equal(patched.status, 404, `PATCH ${guess}`);
    }
    const before = first.packets.length;
    await waitFor(() => first.packets.length > before + 50, 10_000, "the first viewer to keep receiving");
    assert.ok(!messages.some((m) => m.payload.event === "left"), "nobody left");

    await request(server).delete(location).expect(200);
    await waitFor(() => messages.some((m) => m.payload.event === "left"), 5000, "the left event");
    assert.equal(messages.find((m) => m.payload.event === "left").payload.viewer.reason, "removed");
  });

  it("viewers per client address: one more, connected or not, is a 429 with Retry-After; another address comes in", async () => {
    const server = await start(listenLocal, { maxPerAddress: 2 });
    const { port } = server.address() as AddressInfo;
    const offer = (sdp: string, localAddress = "127.0.0.1") =>
      new Promise<{ status: number; headers: Record<string, unknown>; body: AnyNode }>((resolve, reject) => {
        const req = httpRequest(
          { host: "127.0.0.1", port, path: "/door/offer", method: "POST", localAddress, agent: false },
          (res) => {
            let text = "";
            res.on("data", (chunk: Buffer) => {
              text += chunk.toString("utf8");
            });
            res.on("end", () =>
              resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(text) }),
            );
          },
        );
        req.on("error", reject);
        req.setHeader("Content-Type", "application/json");
        req.end(JSON.stringify({ type: "offer", sdp }));
      });
    const locations: string[] = [];
    const join = async (localAddress?: string) => {
      const viewer = await connectViewer({
        offer: async (sdp) => {
          const res = await offer(sdp, localAddress);
          assert.equal(res.status, 200, JSON.stringify(res.body));
          locations.push(res.body.location);
          return res.body.sdp;
        },
      });
      viewers.push(viewer);
      await viewer.connected;
    };
    await join();
    await join();
    const refused = await offer(readOffer("chromium-156.sdp"));
    assert.equal(refused.status, 429);
    assert.equal(refused.headers["retry-after"], "10");
    assert.deepEqual(Object.keys(refused.body).sort(), ["code", "detail", "error"]);
    assert.equal(refused.body.code, "max-viewers-per-address");
    assert.match(refused.body.detail, /already has 2 viewers/);
    await join("127.0.0.2");
    // One of the address's viewers leaves: its place is free again.
    await request(server)
      .delete(locations[0] ?? "")
      .expect(200);
    await join();
  });

  it("a DELETE just after the client closed its peer connection ends cleanly", async () => {
    const server = await start();
    for (let round = 0; round < 3; round++) {
      let location = "";
      const viewer = await connectViewer({
        offer: async (sdp) => {
          const res = await request(server).post("/door/offer").send({ type: "offer", sdp });
          assert.equal(res.status, 200, JSON.stringify(res.body));
          location = res.body.location;
          return res.body.sdp;
        },
      });
      await viewer.connected;
      await viewer.close();
      const deleted = await request(server).delete(location);
      // The server may have seen the close first (the session is gone: 404) or not (200): never anything else.
      assert.ok([200, 404].includes(deleted.status), `${deleted.status} ${deleted.text}`);
      if (deleted.status === 404) assert.equal(deleted.body.error, "unknown viewer");
      await waitFor(
        async () => (await request(server).get("/door/stats")).body.viewers.length === 0,
        5000,
        "the session to end",
      );
      assert.equal((await request(server).delete(location)).status, 404);
    }
    const again = await connectViewer({
      offer: async (sdp) => (await request(server).post("/door/offer").send({ type: "offer", sdp })).body.sdp,
    });
    viewers.push(again);
    await again.connected;
  });

  it("the player page ends its own session by the URL the offer's answer gave it (Chromium)", async () => {
    const log: { method: string; url: string; status: number }[] = [];
    const server = await start((app) =>
      listenLocal((req, res) => {
        res.on("finish", () =>
          log.push({ method: req.method ?? "", url: req.url ?? "", status: res.statusCode }),
        );
        app(req, res);
      }),
    );
    const chromium = await launchChromium();
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/door`;
      const { page } = await chromium.open(url);
      const offered: string[] = [];
      page.on("response", (response) => {
        if (response.url().endsWith("/door/offer"))
          void response.json().then((body) => offered.push(body.location));
      });
      await page.waitForFunction(
        () => {
          const player = (
            globalThis as unknown as { __player?: { state: string; stats: { framesDecoded: number } } }
          ).__player;
          return player?.state === "playing" && player.stats.framesDecoded > 5;
        },
        undefined,
        { timeout: 20_000 },
      );
      await waitFor(() => offered.length === 1, 5000, "the offer's answer");
      const viewerId = await page.evaluate(
        () => (globalThis as unknown as { __player: { viewerId: string } }).__player.viewerId,
      );
      const location = offered[0] ?? "";
      assert.match(location, /^\/door\/whep\/[\w-]{43,}$/);
      assert.ok(!location.includes(viewerId));
      await page.goto("about:blank");
      await waitFor(() => log.some((entry) => entry.method === "DELETE"), 10_000, "the page's DELETE");
      const deletes = log.filter((entry) => entry.method === "DELETE");
      assert.deepEqual(
        deletes.map((entry) => entry.url),
        [location],
      );
      assert.ok([200, 404].includes(deletes[0]?.status ?? 0), JSON.stringify(deletes));
      await waitFor(() => messages.some((m) => m.payload.event === "left"), 10_000, "the left event");
    } finally {
      await chromium.close();
    }
  });
});

describe("webrtc-out pages under their Content-Security-Policy (test helper, demo camera, Chromium)", function () {
  this.timeout(60_000);
  let camera: DemoCamera;
  let cameraUrl: string;

  before(async () => {
    helper.init(require.resolve("node-red"));
    await new Promise<void>((resolve) => helper.startServer(() => resolve()));
    camera = new DemoCamera({ port: 0 });
    cameraUrl = (await camera.start()).url;
  });

  after(async () => {
    await camera.close();
    await new Promise<void>((resolve) => helper.stopServer(() => resolve()));
  });

  afterEach(async () => {
    await closeLocalServers();
    await helper.unload();
    helper.settings({});
    httpNode = undefined;
  });

  async function start(): Promise<string> {
    await helper.load(
      [rtspInNode, capturing],
      [
        {
          id: "cam",
          type: "rtsp-in",
          name: "demo",
          url: cameraUrl,
          transport: "tcp",
          media: "video",
          startMode: "deploy",
          wires: [["n1"], []],
        },
        webrtcOut({ iceServers: "" }),
        OUT,
      ],
    );
    assert.ok(httpNode);
    const server = await listenLocal(httpNode);
    await waitFor(
      async () => (await request(server).get("/door/stats")).body.stream?.sourceState === "receiving",
      20_000,
      "the stream",
    );
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  /** A page of another origin (another port) that frames `src`. */
  async function otherSite(src: () => string): Promise<string> {
    const site = await listenLocal((_req, res) => {
      res.setHeader("Content-Type", "text/html");
      res.end(
        `<!DOCTYPE html><title>elsewhere</title><iframe src="${src()}" allow="autoplay; camera; microphone"></iframe>`,
      );
    });
    return `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
  }

  type PlayerView = { state: string; stats: { framesDecoded: number } };
  const playing = (frame: import("playwright-core").Frame) =>
    frame
      .evaluate(() => (globalThis as unknown as { __player?: PlayerView }).__player)
      .then((player) => player?.state === "playing" && player.stats.framesDecoded > 5)
      .catch(() => false);

  it("the Chromium helper fails a test whose page breaks its Content-Security-Policy", async () => {
    const site = await listenLocal((_req, res) => {
      res.setHeader("Content-Type", "text/html");
      res.setHeader("Content-Security-Policy", "default-src 'none'");
      res.end("<!DOCTYPE html><title>strict</title><script>document.title = 'ran';</script>");
    });
    const chromium = await launchChromium();
    await chromium.open(`http://127.0.0.1:${(site.address() as AddressInfo).port}/`);
    await waitFor(() => chromium.untakenCspViolations > 0, 10_000, "the violation's console message");
    await assert.rejects(
      chromium.close(),
      /Content-Security-Policy violations in Chromium:[\s\S]*script-src/,
    );
  });

  it("the player page plays under its policy; another origin frames it only when settings list it", async () => {
    const base = await start();
    const page = await request(base).get("/door").expect(200);
    assert.match(page.headers["content-security-policy"] ?? "", /^default-src 'none'; /);
    let target = `${base}/door?embed=1`;
    const site = await otherSite(() => target);
    const chromium = await launchChromium();
    try {
      // Its own origin: it plays, and nothing it does breaks the policy (close() would say so).
      const own = await chromium.open(`${base}/door`);
      await waitFor(() => playing(own.page.mainFrame()), 20_000, "the page to play");
      await own.context.close();

      // Another origin is refused the frame.
      const refused = await chromium.open(site);
      const said: string[] = [];
      await waitFor(
        () => {
          said.push(...chromium.takeCspViolations());
          return said.some((text) => /frame-ancestors/.test(text));
        },
        10_000,
        "Chromium to refuse the frame",
      );
      assert.equal(await playing(refused.page.frames()[1] ?? refused.page.mainFrame()), false);
      await refused.context.close();

      // Listed in settings.js (webrtcOut.frameAncestors), it may frame the player.
      await helper.unload();
      helper.settings({ webrtcOut: { frameAncestors: [site] } });
      const again = await start();
      target = `${again}/door?embed=1`;
      const { page: framing, context } = await chromium.open(site);
      await context.grantPermissions(["camera", "microphone"], { origin: again });
      await framing.reload();
      await waitFor(
        async () => {
          const frame = framing.frames().find((f) => f.url() === target);
          return frame !== undefined && (await playing(frame));
        },
        20_000,
        "the framed player to play",
      );
    } finally {
      await chromium.close();
    }
  });
});

const USER = "viewer";
const PASSWORD = "http-pa55-3b7";
const AUTHORIZATION = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString("base64")}`;

describe("webrtc-out access in Node-RED itself (red.js): httpNodeAuth with user and password", function () {
  this.timeout(60_000);
  let camera: DemoCamera;
  let nodeRed: NodeRedProcess;
  let base: string;

  before(async () => {
    camera = new DemoCamera({ port: 0 });
    const { url } = await camera.start();
    const hash = (require("bcryptjs") as { hashSync(text: string, rounds: number): string }).hashSync(
      PASSWORD,
      8,
    );
    nodeRed = await startNodeRed({
      runtime: "node-red",
      settings: `module.exports = {
  uiHost: "127.0.0.1",
  httpAdminRoot: false,
  httpNodeRoot: "/api",
  flowFile: "flows.json",
  credentialSecret: false,
  telemetry: { enabled: false },
  logging: { console: { level: "info", metrics: false, audit: false } },
  httpNodeAuth: { user: ${JSON.stringify(USER)}, pass: ${JSON.stringify(hash)} },
};
`,
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
          wires: [["n1"], []],
        },
        { ...webrtcOut({ wires: [[]] }), z: "t1" },
      ],
      credentials: { n1: { turnUser: TURN_USER, turnPassword: TURN_PASSWORD } },
    });
    base = `http://127.0.0.1:${nodeRed.port}`;
    await waitFor(
      async () =>
        (await request(base).get("/api/door/stats").set("Authorization", AUTHORIZATION)).body.stream
          ?.sourceState === "receiving",
      20_000,
      "the stream to reach the node",
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${nodeRed.output()}`);
    });
  });

  after(async () => {
    if (nodeRed) await nodeRed.stop();
    await camera.close();
  });

  it("OPTIONS, which httpNodeAuth lets through unchecked, names no TURN credentials", async () => {
    assert.equal((await request(base).get("/api/door")).status, 401, "httpNodeAuth guards the routes");
    const bare = await request(base).options("/api/door/whep");
    assert.equal(bare.status, 204, "Node-RED's httpNodeAuth lets OPTIONS through");
    assertNoTurnPassword("OPTIONS without credentials", bare);
    assertNoTurnPassword(
      "a preflight-shaped OPTIONS",
      await request(base)
        .options("/api/door/whep")
        .set("Origin", "http://elsewhere.test")
        .set("Access-Control-Request-Method", "POST"),
    );
    assertNoTurnPassword(
      "OPTIONS with a wrong password",
      await request(base)
        .options("/api/door/whep")
        .set("Authorization", `Basic ${Buffer.from(`${USER}:wrong`).toString("base64")}`),
    );
  });

  it("the WHEP POST that passed httpNodeAuth learns them in its 201", async () => {
    const res = await request(base)
      .post("/api/door/whep")
      .set("Authorization", AUTHORIZATION)
      .set("Content-Type", "application/sdp")
      .send(OFFER);
    assert.equal(res.status, 201, res.text);
    assert.ok((res.headers.link ?? "").includes(`credential="${TURN_PASSWORD}"`));
    await request(base)
      .delete(res.headers.location ?? "")
      .set("Authorization", AUTHORIZATION)
      .expect(200);
  });
});
