import assert from "node:assert/strict";
import { createDecipheriv, createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { DemoCamera } from "../../src/demo/demo-camera";
import { type LaunchedChromium, launchChromium } from "../helpers/chromium";
import { type NodeRedProcess, startNodeRed } from "../helpers/node-red-process";
import { freePort } from "../helpers/tools";
import { waitFor } from "../helpers/wait";

/** Distinctive, and with characters that URL-encoding changes, so both spellings are searched for. */
const PASSWORD = "Pa55-w0rd/ZZ9@";
const WRONG_PASSWORD = `${PASSWORD}wrong`;
const SECRET = "a credential secret of the test's own";
const USER = "admin";

/** Every spelling in which the password could leak: as typed, percent-encoded (either hex case), in Basic auth. */
const SPELLINGS = [
  PASSWORD,
  encodeURIComponent(PASSWORD),
  encodeURIComponent(PASSWORD).toLowerCase(),
  Buffer.from(`${USER}:${PASSWORD}`).toString("base64"),
];

function assertNoPassword(what: string, text: string): void {
  for (const spelling of SPELLINGS) {
    const at = text.indexOf(spelling);
    assert.equal(
      at,
      -1,
      `${what} holds the password as "${spelling}": …${text.slice(Math.max(0, at - 80), at + 40)}…`,
    );
  }
}

const TAB = "c0000000000000a0";
const ID = {
  status: "c0000000000000b1",
  catch: "c0000000000000b2",
  captureStatus: "c0000000000000f1",
  captureErrors: "c0000000000000f2",
  captureMedia: "c0000000000000f3",
  captureEvents: "c0000000000000f4",
  credsCam: "c000000000000011",
  urlCam: "c000000000000012",
  wrongCam: "c000000000000013",
  goneCam: "c000000000000014",
  webrtc: "c000000000000031",
};
const WEBRTC_PATH = "/secure-cam";

function capture(id: string, name: string, kind: string, y: number, keep = "msg"): object {
  return {
    id,
    type: "function",
    z: TAB,
    name,
    // Media: the first 10 messages of each stream are plenty (topic and stream are the same on every one).
    func:
      kind === "media"
        ? 'const seen = context.get("seen") || {};\ncontext.set("seen", seen);\nseen[msg.topic] = (seen[msg.topic] || 0) + 1;\nif (seen[msg.topic] <= 10) global.get("capture")("media", { topic: msg.topic, stream: msg.stream, rtp: msg.rtp });\nreturn null;'
        : `global.get("capture")(${JSON.stringify(kind)}, ${keep});\nreturn null;`,
    outputs: 1,
    x: 600,
    y,
    wires: [[]],
  };
}

/** What catches status, errors, media and events (imported with the cameras: an import keeps only wires inside it). */
const CAPTURE_NODES = [
  {
    id: ID.status,
    type: "status",
    z: TAB,
    name: "all status",
    scope: null,
    x: 120,
    y: 400,
    wires: [[ID.captureStatus]],
  },
  {
    id: ID.catch,
    type: "catch",
    z: TAB,
    name: "all errors",
    scope: null,
    uncaught: false,
    x: 120,
    y: 460,
    wires: [[ID.captureErrors]],
  },
  capture(ID.captureStatus, "capture status", "status", 400),
  capture(ID.captureErrors, "capture errors", "error", 460),
  capture(ID.captureMedia, "capture media", "media", 100),
  capture(ID.captureEvents, "capture events", "event", 160),
];

interface Captured {
  readonly kind: string;
  // biome-ignore lint/suspicious/noExplicitAny: what the flow captured, checked by shape in the test
  readonly value: any;
}

/** Node-RED's own credentials decryption (aes-256-ctr, key sha256(secret), IV in the first 32 hex characters). */
function decryptCredentials(file: string): Record<string, Record<string, string>> {
  const text = (JSON.parse(readFileSync(file, "utf8")) as { $: string }).$;
  const key = createHash("sha256").update(SECRET).digest();
  const decipher = createDecipheriv("aes-256-ctr", key, Buffer.from(text.slice(0, 32), "hex"));
  return JSON.parse(decipher.update(text.slice(32), "base64", "utf8") + decipher.final("utf8"));
}

/** Opens `id`'s edit dialog in the editor, lets `fill` type into it, and clicks Done. */
async function editNode(page: Page, id: string, fill: (page: Page) => Promise<void>): Promise<void> {
  await page.evaluate(`RED.editor.edit(RED.nodes.node(${JSON.stringify(id)}))`);
  await page.locator("#node-dialog-ok").waitFor({ state: "visible" });
  await page.waitForTimeout(300); // the tray slides in; oneditprepare has run once its fields are shown
  await fill(page);
  await page.click("#node-dialog-ok");
  await page.locator("#node-dialog-ok").waitFor({ state: "detached" });
}

/**
 * A real Node-RED with this package, set up through its real editor as a user would: user and password
 * typed into rtsp-in's credential fields, a password typed into a URL, a wrong password, an unreachable
 * camera, a webrtc-out with a TURN password. Then the password is searched for everywhere a user, an
 * export or another node can see: flow file, admin API, editor export, log, status, events, media
 * messages, error messages, stats and the camera wall.
 */
describe("credentials never leak (a real Node-RED, its editor, a camera with Digest auth)", function () {
  this.timeout(90_000);
  let dir: string;
  let flowFile: string;
  let captureFile: string;
  let cameras: DemoCamera[] = [];
  let credsCamUrl: string;
  let urlCamUrl: string;
  let goneUrl: string;
  let nodeRed: NodeRedProcess | undefined;
  let chromium: LaunchedChromium | undefined;
  let base: string;
  let editorExport: string;

  const captured = (): Captured[] =>
    existsSync(captureFile)
      ? readFileSync(captureFile, "utf8")
          .split("\n")
          .filter((line) => line !== "")
          .map((line) => JSON.parse(line) as Captured)
      : [];
  const statusesOf = (id: string) =>
    captured()
      .filter((c) => c.kind === "status" && c.value.status.source.id === id)
      .map((c) => String(c.value.status.text ?? ""));

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "credentials-test-"));
    flowFile = join(dir, "flows.json");
    captureFile = join(dir, "captured.jsonl");
    for (let i = 0; i < 2; i++) {
      const camera = new DemoCamera({ port: 0, username: USER, password: PASSWORD });
      cameras.push(camera);
    }
    credsCamUrl = (await cameras[0]!.start()).url;
    urlCamUrl = (await cameras[1]!.start()).url;
    goneUrl = `rtsp://127.0.0.1:${await freePort()}/demo`;
    const startFlow = [{ id: TAB, type: "tab", label: "credentials" }];
    writeFileSync(flowFile, JSON.stringify(startFlow));
    nodeRed = await startNodeRed({
      runtime: "node-red",
      settings: `
module.exports = {
  uiHost: "127.0.0.1",
  flowFile: ${JSON.stringify(flowFile)},
  credentialSecret: ${JSON.stringify(SECRET)},
  telemetry: { enabled: false },
  editorTheme: { tours: false, projects: { enabled: false } },
  logging: { console: { level: "debug", audit: true } },
  functionGlobalContext: {
    capture: (kind, value) =>
      require("fs").appendFileSync(${JSON.stringify(captureFile)}, JSON.stringify({ kind, value }) + "\\n"),
  },
};
`,
      flows: startFlow,
    });
    base = `http://127.0.0.1:${nodeRed.port}`;
    chromium = await launchChromium();
    const { page } = await chromium.open(base);
    await page.waitForFunction(
      `window.RED?.view?.importNodes && RED.nodes.getType("rtsp-in") !== undefined && RED.workspaces.active() === ${JSON.stringify(TAB)}`,
      undefined,
      { timeout: 60_000 },
    );
    const rtspIn = (id: string, url: string, y: number) => ({
      id,
      type: "rtsp-in",
      z: TAB,
      name: "",
      url,
      transport: "tcp",
      media: "video",
      startMode: "deploy",
      x: 150,
      y,
      wires: [[ID.captureMedia, ...(id === ID.credsCam ? [ID.webrtc] : [])], [ID.captureEvents]],
    });
    const imported = [
      ...CAPTURE_NODES,
      rtspIn(ID.credsCam, credsCamUrl, 100),
      rtspIn(ID.urlCam, "", 160),
      rtspIn(ID.wrongCam, credsCamUrl, 220),
      rtspIn(ID.goneCam, "", 280),
      {
        id: ID.webrtc,
        type: "webrtc-out",
        z: TAB,
        name: "secure cam",
        path: WEBRTC_PATH,
        iceServers: "turn:127.0.0.1:3478",
        x: 400,
        y: 100,
        wires: [[ID.captureEvents]],
      },
    ];
    await page.evaluate(
      `RED.view.importNodes(${JSON.stringify(imported)}, { generateIds: false, touchImport: true, notify: false, applyNodeDefaults: true })`,
    );
    const withPassword = (url: string) =>
      url.replace("rtsp://", `rtsp://${USER}:${encodeURIComponent(PASSWORD)}@`);
    await editNode(page, ID.credsCam, async (p) => {
      await p.fill("#node-input-user", USER);
      await p.fill("#node-input-password", PASSWORD);
    });
    await editNode(page, ID.urlCam, (p) => p.fill("#node-input-url", withPassword(urlCamUrl)));
    await editNode(page, ID.wrongCam, async (p) => {
      await p.fill("#node-input-user", USER);
      await p.fill("#node-input-password", WRONG_PASSWORD);
    });
    await editNode(page, ID.goneCam, (p) => p.fill("#node-input-url", withPassword(goneUrl)));
    await editNode(page, ID.webrtc, async (p) => {
      await p.fill("#node-input-turnUser", "turn-user");
      await p.fill("#node-input-turnPassword", PASSWORD);
    });
    await page.click("#red-ui-header-button-deploy");
    await page.waitForFunction("!RED.nodes.dirty()", undefined, { timeout: 20_000 });
    editorExport = await page.evaluate(
      "JSON.stringify(RED.nodes.createExportableNodeSet((() => { const all = []; RED.nodes.eachNode((n) => { all.push(n); }); return all; })()))",
    );
    await waitFor(
      () => {
        const topics = new Set(
          captured()
            .filter((c) => c.kind === "media")
            .map((c) => c.value.topic),
        );
        return topics.size >= 2;
      },
      30_000,
      "media from both cameras that have the right password",
    );
    await waitFor(
      () => statusesOf(ID.wrongCam).some((t) => /wrong user or password/.test(t)),
      20_000,
      "the wrong password's status",
    );
    await waitFor(
      () => statusesOf(ID.goneCam).some((t) => /connection refused/.test(t)),
      20_000,
      "the unreachable camera's status",
    );
    await waitFor(() => statusesOf(ID.webrtc).some((t) => /H264/.test(t)), 20_000, "webrtc-out's status");
  });

  after(async () => {
    await chromium?.close();
    await nodeRed?.stop();
    for (const camera of cameras) await camera.close();
    cameras = [];
    rmSync(dir, { recursive: true, force: true });
  });

  it("the flow file on disk has none (and its backups neither); the credentials file has them, encrypted", () => {
    const files = readdirSync(dir).filter((f) => f !== "captured.jsonl" && !f.includes("_cred"));
    assert.ok(files.includes("flows.json"));
    for (const file of files) assertNoPassword(file, readFileSync(join(dir, file), "utf8"));
    const flows = JSON.parse(readFileSync(flowFile, "utf8")) as { id: string; url?: string }[];
    assert.equal(
      flows.find((n) => n.id === ID.urlCam)?.url,
      urlCamUrl,
      "the password typed into the URL left it",
    );
    assert.equal(flows.find((n) => n.id === ID.goneCam)?.url, goneUrl);

    const credFile = join(dir, "flows_cred.json");
    assertNoPassword("flows_cred.json as stored", readFileSync(credFile, "utf8"));
    const credentials = decryptCredentials(credFile);
    assert.deepEqual(credentials[ID.credsCam], { user: USER, password: PASSWORD });
    assert.deepEqual(credentials[ID.urlCam], { user: USER, password: PASSWORD }, "moved out of the URL");
    assert.deepEqual(credentials[ID.goneCam], { user: USER, password: PASSWORD });
    assert.deepEqual(credentials[ID.wrongCam], { user: USER, password: WRONG_PASSWORD });
    assert.equal(credentials[ID.webrtc]?.turnPassword, PASSWORD);
  });

  it("the admin API has none: GET /flows (what export uses) and GET /credentials", async () => {
    const flows = await fetch(`${base}/flows`, { headers: { "Node-RED-API-Version": "v2" } }).then((r) =>
      r.text(),
    );
    assert.ok(flows.includes(ID.urlCam));
    assertNoPassword("GET /flows", flows);
    for (const [type, id] of [
      ["rtsp-in", ID.credsCam],
      ["rtsp-in", ID.urlCam],
      ["webrtc-out", ID.webrtc],
    ] as const) {
      const response = await fetch(`${base}/credentials/${type}/${id}`);
      assert.equal(response.status, 200);
      const body = (await response.json()) as Record<string, unknown>;
      assertNoPassword(`GET /credentials/${type}/${id}`, JSON.stringify(body));
      assert.equal(body[type === "rtsp-in" ? "has_password" : "has_turnPassword"], true);
    }
  });

  it("the editor's export has none", () => {
    assert.ok(editorExport.includes(ID.credsCam));
    assertNoPassword("the editor's export", editorExport);
  });

  it("status texts have none, and say what happened", () => {
    const statuses = captured().filter((c) => c.kind === "status");
    assertNoPassword("status", JSON.stringify(statuses));
    assert.ok(statusesOf(ID.credsCam).some((t) => t.startsWith("playing H264")));
    assert.ok(statusesOf(ID.urlCam).some((t) => t.startsWith("playing H264")));
    assert.ok(
      statusesOf(ID.wrongCam).some((t) =>
        /^retry in \d+ s: 401 Unauthorized: wrong user or password$/.test(t),
      ),
    );
    assert.ok(statusesOf(ID.goneCam).some((t) => /^retry in \d+ s: connection refused/.test(t)));
    assert.ok(
      statusesOf(ID.webrtc).some((t) => /H264/.test(t)),
      "webrtc-out shows the stream",
    );
  });

  it("state events and error messages have none", () => {
    const events = captured().filter((c) => c.kind === "event");
    assert.ok(
      events.some(
        (e) => e.value.payload?.state === "retrying" && /wrong user or password/.test(e.value.payload.reason),
      ),
    );
    assert.ok(
      events.some(
        (e) => e.value.payload?.state === "retrying" && /connection refused/.test(e.value.payload.reason),
      ),
    );
    assertNoPassword("state events", JSON.stringify(events));
    assertNoPassword("error messages", JSON.stringify(captured().filter((c) => c.kind === "error")));
  });

  it("media messages have none: msg.topic is the URL without credentials, msg.stream holds no control URL", () => {
    const media = captured().filter((c) => c.kind === "media");
    assertNoPassword("media messages", JSON.stringify(media));
    const topics = new Set(media.map((m) => m.value.topic));
    assert.deepEqual([...topics].sort(), [credsCamUrl, urlCamUrl].sort());
    for (const m of media) assert.doesNotMatch(JSON.stringify(m.value.stream), /rtsp:\/\//);
  });

  it("GET P/stats and the camera wall's /webrtc/streams have none", async () => {
    const stats = await fetch(`${base}${WEBRTC_PATH}/stats`);
    assert.equal(stats.status, 200);
    const statsText = await stats.text();
    assert.match(statsText, /H264/);
    assertNoPassword("GET P/stats", statsText);
    const wall = await fetch(`${base}/webrtc/streams`);
    assert.equal(wall.status, 200);
    const wallText = await wall.text();
    assert.ok(wallText.includes(WEBRTC_PATH));
    assertNoPassword("GET /webrtc/streams", wallText);
  });

  it("Node-RED's log (stdout and stderr) has none, and does say what went wrong", () => {
    const log = nodeRed!.output();
    assert.match(log, /wrong user or password/);
    assert.match(log, /connection refused/);
    assertNoPassword("Node-RED's log", log);
  });
});
