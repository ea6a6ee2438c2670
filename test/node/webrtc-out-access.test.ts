import assert from "node:assert/strict";
import helper from "node-red-node-test-helper";
import request from "supertest";
import { DemoCamera } from "../../src/demo/demo-camera";
import type { NodeAPI } from "../../src/nodes/red";
import { closeLocalServers, type ExpressApp, listenLocal } from "../helpers/express-app";
import { type NodeRedProcess, startNodeRed } from "../helpers/node-red-process";
import { readOffer } from "../helpers/offer-fixtures";
import { waitFor } from "../helpers/wait";

// Who may learn what from a webrtc-out's routes, in the real Node-RED runtime with the real node and its
// real viewer set: the test helper's RED.httpNode, and Node-RED's own red.js (for httpNodeAuth, which only
// red.js applies). Every secret is distinct, so that a find names the secret that leaked.

// biome-ignore lint/suspicious/noExplicitAny: Node-RED's runtime objects are untyped in tests
type AnyNode = any;

const webrtcOutNode = require("../../../nodes/webrtc-out.js") as (RED: NodeAPI) => void;

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

let httpNode: ExpressApp | undefined;
function capturing(RED: NodeAPI): void {
  httpNode = RED.httpNode as ExpressApp;
  webrtcOutNode(RED);
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
