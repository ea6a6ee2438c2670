import assert from "node:assert/strict";
import type { Server } from "node:http";
import helper from "node-red-node-test-helper";
import request from "supertest";
import { DemoCamera } from "../../src/demo/demo-camera";
import type { NodeAPI } from "../../src/nodes/red";
import { runTool } from "../helpers/decode";
import { closeLocalServers, type ExpressApp, listenLocal } from "../helpers/express-app";
import { withCatalog } from "../helpers/node-catalog";
import { type NodeRedProcess, startNodeRed } from "../helpers/node-red-process";
import { requireTool } from "../helpers/tools";
import { waitFor } from "../helpers/wait";

// GET P/snapshot.jpg: decoded from webrtc-out's own GOP cache, behind the player page's access rules.

// biome-ignore lint/suspicious/noExplicitAny: Node-RED's runtime objects are untyped in tests
type AnyNode = any;

const webrtcOutNode = withCatalog("webrtc-out", require("../../../nodes/webrtc-out.js"));
const rtspInNode = withCatalog("rtsp-in", require("../../../nodes/rtsp-in.js"));
const TOKEN = "viewer-token-51ap";
const USER = "viewer";
const PASSWORD = "http-pa55-5nap";
const AUTHORIZATION = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString("base64")}`;

let httpNode: ExpressApp | undefined;
function capturing(RED: NodeAPI): Promise<void> {
  httpNode = RED.httpNode as ExpressApp;
  return webrtcOutNode(RED);
}

function flow(cameraUrl: string): Record<string, unknown>[] {
  return [
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
    {
      id: "n1",
      type: "webrtc-out",
      name: "door",
      path: "door",
      iceServers: "",
      hostAddresses: "127.0.0.1",
      statsInterval: 0,
      wires: [[]],
    },
  ];
}

async function probeJpeg(jpeg: Buffer): Promise<string> {
  const args = [
    "-v",
    "error",
    "-f",
    "image2pipe",
    "-i",
    "pipe:0",
    "-show_entries",
    "stream=codec_name,width,height",
  ];
  const result = await runTool(requireTool("ffprobe"), [...args, "-of", "csv=p=0"], jpeg);
  assert.equal(result.code, 0, result.stderr);
  return result.stdout.toString("utf8").trim();
}

/** The body of an image response as a Buffer (supertest parses only text and JSON by itself). */
function binary(res: AnyNode, done: (err: Error | null, body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  res.on("data", (chunk: Buffer) => chunks.push(chunk));
  res.on("end", () => done(null, Buffer.concat(chunks)));
}

describe("webrtc-out GET P/snapshot.jpg (test helper, demo camera)", function () {
  this.timeout(60_000);
  let camera: DemoCamera;
  let cameraUrl: string;

  before(async () => {
    requireTool("ffmpeg");
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

  async function start(credentials: Record<string, string> = {}): Promise<Server> {
    await helper.load([rtspInNode, capturing], flow(cameraUrl), { n1: credentials });
    assert.ok(httpNode);
    const server = await listenLocal(httpNode);
    await waitFor(
      async () =>
        (await request(server).get("/door/stats").set("Authorization", `Bearer ${TOKEN}`)).body.stream
          ?.sourceState === "receiving",
      20_000,
      "the stream",
    );
    return server;
  }

  it("answers an allowed viewer with the camera's picture as image/jpeg, never cached", async () => {
    const server = await start({ viewerToken: TOKEN });
    const stats = (await request(server).get("/door/stats").set("Authorization", `Bearer ${TOKEN}`)).body;
    const res = await request(server)
      .get("/door/snapshot.jpg")
      .set("Authorization", `Bearer ${TOKEN}`)
      .buffer(true)
      .parse(binary);
    assert.equal(res.status, 200, String(res.body));
    assert.equal(res.headers["content-type"], "image/jpeg");
    assert.equal(res.headers["cache-control"], "no-store");
    assert.equal(Number(res.headers["content-length"]), res.body.length);
    assert.equal(await probeJpeg(res.body), `mjpeg,${stats.stream.width},${stats.stream.height}`);
    // As the player page does, it takes the token in the query too: an <img> sends no header.
    const query = await request(server).get(`/door/snapshot.jpg?token=${TOKEN}`).buffer(true).parse(binary);
    assert.equal(query.status, 200);
  });

  it("refuses a viewer without the token as the player page does", async () => {
    const server = await start({ viewerToken: TOKEN });
    const page = await request(server).get("/door");
    const snapshot = await request(server).get("/door/snapshot.jpg");
    assert.equal(page.status, 401);
    assert.equal(snapshot.status, 401);
    assert.equal(snapshot.headers["www-authenticate"], page.headers["www-authenticate"]);
    assert.equal((await request(server).get("/door/snapshot.jpg?token=wrong")).status, 401);
    assert.equal(
      (await request(server).post("/door/snapshot.jpg").set("Authorization", `Bearer ${TOKEN}`)).status,
      405,
    );
  });

  it("runs behind httpNodeMiddleware: a 403 there is a 403 here too", async () => {
    helper.settings({
      httpNodeMiddleware: (req: AnyNode, res: AnyNode, next: () => void) => {
        if (req.headers["x-role"] === "guest") {
          res.statusCode = 403;
          res.end("forbidden");
          return;
        }
        next();
      },
    });
    const server = await start();
    assert.equal((await request(server).get("/door").set("X-Role", "guest")).status, 403);
    assert.equal((await request(server).get("/door/snapshot.jpg").set("X-Role", "guest")).status, 403);
    assert.equal((await request(server).get("/door/snapshot.jpg").buffer(true).parse(binary)).status, 200);
  });

  it("settings.js webrtcOut.ffmpegPath: a missing ffmpeg is a 503 that says so", async () => {
    helper.settings({ webrtcOut: { ffmpegPath: "/nonexistent/ffmpeg", icePort: false } });
    const server = await start();
    const res = await request(server).get("/door/snapshot.jpg");
    assert.equal(res.status, 503);
    assert.equal(res.body.code, "ffmpeg-missing");
    assert.equal(
      res.body.detail,
      'ffmpeg not found at "/nonexistent/ffmpeg": install ffmpeg or set the path',
    );
  });
});

describe("webrtc-out GET P/snapshot.jpg in Node-RED itself (red.js): httpNodeAuth", function () {
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
        ...flow(url).map((node) => ({ ...node, z: "t1" })),
      ],
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

  it("401 without the user's password, as the player page; 200 image/jpeg with it", async () => {
    assert.equal((await request(base).get("/api/door")).status, 401);
    assert.equal((await request(base).get("/api/door/snapshot.jpg")).status, 401);
    const wrong = `Basic ${Buffer.from(`${USER}:wrong`).toString("base64")}`;
    assert.equal((await request(base).get("/api/door/snapshot.jpg").set("Authorization", wrong)).status, 401);
    const res = await request(base)
      .get("/api/door/snapshot.jpg")
      .set("Authorization", AUTHORIZATION)
      .buffer(true)
      .parse(binary);
    assert.equal(res.status, 200);
    assert.equal(res.headers["content-type"], "image/jpeg");
    assert.match(await probeJpeg(res.body), /^mjpeg,\d+,\d+$/);
  });
});
