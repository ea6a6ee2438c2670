import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DemoCamera } from "../../src/demo/demo-camera";
import { type LaunchedChromium, launchChromium } from "../helpers/chromium";
import { editNode } from "../helpers/node-red-editor";
import { decryptCredentials, type NodeRedProcess, startNodeRed } from "../helpers/node-red-process";
import { readOffer } from "../helpers/offer-fixtures";
import { freePort } from "../helpers/tools";
import { waitFor } from "../helpers/wait";

/**
 * Three kinds of secret, each distinct from the others, so that finding one tells which leaked. Each has
 * characters that URL-encoding changes, so both spellings are searched for; none has a character that
 * HTML or JSON escaping changes, so one spelling covers every page and body.
 */
const USER = "cam-owner";
const PASSWORD = "Pa55-w0rd/ZZ9@";
const WRONG_PASSWORD = `${PASSWORD}wrong`;
const TURN_USER = "turn-user-K7q";
const TURN_PASSWORD = "Turn-S3cret/QQ7+x";
const TOKEN = "Viewer-T0ken/RR4+y";
const SECRET = "a credential secret of the test's own";

/** Every spelling in which `text` could leak: as typed, percent-encoded (either hex case). */
const spellings = (text: string) => [text, encodeURIComponent(text), encodeURIComponent(text).toLowerCase()];

interface Secret {
  readonly name: string;
  readonly spellings: readonly string[];
}

/** The camera's password, in Basic auth too. */
const CAMERA: Secret = {
  name: "the camera password",
  spellings: [...spellings(PASSWORD), Buffer.from(`${USER}:${PASSWORD}`).toString("base64")],
};
const TURN: Secret = { name: "a TURN credential", spellings: [...spellings(TURN_PASSWORD), TURN_USER] };
/** The TURN user is a plain text credential: the editor reads it back to show it in its field. */
const TURN_PASSWORD_ONLY: Secret = { name: "the TURN password", spellings: spellings(TURN_PASSWORD) };
const VIEWER_TOKEN: Secret = { name: "the viewer token", spellings: spellings(TOKEN) };
const ALL = [CAMERA, TURN, VIEWER_TOKEN];

function assertNone(what: string, text: string, secrets: readonly Secret[] = ALL): void {
  for (const secret of secrets) {
    for (const spelling of secret.spellings) {
      const at = text.indexOf(spelling);
      assert.equal(
        at,
        -1,
        `${what} holds ${secret.name} as "${spelling}": …${text.slice(Math.max(0, at - 80), at + 40)}…`,
      );
    }
  }
}

/** An HTTP answer as one text: status line, every header, body. */
async function answerText(response: Response): Promise<string> {
  const headers = [...response.headers].map(([name, value]) => `${name}: ${value}`).join("\n");
  return `${response.status}\n${headers}\n\n${await response.text()}`;
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

/**
 * A real Node-RED with this package, set up through its real editor as a user would: user and password
 * typed into rtsp-in's credential fields, a password typed into a URL, a wrong password, an unreachable
 * camera, a webrtc-out with a TURN user and password and a viewer token, and a browser playing it. Then
 * every secret is searched for everywhere a user, an export, another node or a web client can see: flow
 * file, admin API, editor export, log, status, events, stats messages, media messages, error messages,
 * GET P/stats, the camera wall, the player page, the /offer and /whep answers and every OPTIONS answer.
 * TURN credentials may appear only where a viewer needs them: the player page and the /whep Link headers
 * for a request with the viewer token. The token appears only in the answer to a request that sent it.
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
  let stream: string;
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
        // Nothing serves it: over TCP the refusal is at once, over UDP werift would wait seconds for an
        // allocation before each answer. Only its credentials matter here.
        iceServers: "turn:127.0.0.1:3478?transport=tcp",
        hostAddresses: "127.0.0.1",
        statsInterval: 1,
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
      await p.fill("#node-input-turnUser", TURN_USER);
      await p.fill("#node-input-turnPassword", TURN_PASSWORD);
      await p.fill("#node-input-viewerToken", TOKEN);
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

    // A viewer who has the token plays the stream in a browser, so stats and events have a viewer in them.
    stream = `${base}${WEBRTC_PATH}`;
    const player = await chromium.open(`${stream}?token=${encodeURIComponent(TOKEN)}`);
    // A function, not a string: the page's Content-Security-Policy refuses the eval a string needs.
    await player.page.waitForFunction(
      () =>
        (globalThis as unknown as { document: { body: { dataset: { state?: string } } } }).document.body
          .dataset.state === "playing",
      undefined,
      {
        timeout: 30_000,
      },
    );
    await waitFor(
      () =>
        captured().some(
          (c) =>
            c.kind === "event" && c.value.payload?.event === "stats" && c.value.payload.viewers?.length > 0,
        ),
      20_000,
      "a stats message with the browser among its viewers",
    );
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
    for (const file of files) assertNone(file, readFileSync(join(dir, file), "utf8"));
    const flows = JSON.parse(readFileSync(flowFile, "utf8")) as { id: string; url?: string }[];
    assert.equal(
      flows.find((n) => n.id === ID.urlCam)?.url,
      urlCamUrl,
      "the password typed into the URL left it",
    );
    assert.equal(flows.find((n) => n.id === ID.goneCam)?.url, goneUrl);

    const credFile = join(dir, "flows_cred.json");
    assertNone("flows_cred.json as stored", readFileSync(credFile, "utf8"));
    const credentials = decryptCredentials(credFile, SECRET);
    assert.deepEqual(credentials[ID.credsCam], { user: USER, password: PASSWORD });
    assert.deepEqual(credentials[ID.urlCam], { user: USER, password: PASSWORD }, "moved out of the URL");
    assert.deepEqual(credentials[ID.goneCam], { user: USER, password: PASSWORD });
    assert.deepEqual(credentials[ID.wrongCam], { user: USER, password: WRONG_PASSWORD });
    assert.deepEqual(credentials[ID.webrtc], {
      turnUser: TURN_USER,
      turnPassword: TURN_PASSWORD,
      viewerToken: TOKEN,
    });
  });

  it("the admin API has none: GET /flows (what export uses) and GET /credentials", async () => {
    const flows = await fetch(`${base}/flows`, { headers: { "Node-RED-API-Version": "v2" } }).then((r) =>
      r.text(),
    );
    assert.ok(flows.includes(ID.urlCam));
    assertNone("GET /flows", flows);
    for (const [type, id] of [
      ["rtsp-in", ID.credsCam],
      ["rtsp-in", ID.urlCam],
      ["webrtc-out", ID.webrtc],
    ] as const) {
      const response = await fetch(`${base}/credentials/${type}/${id}`);
      assert.equal(response.status, 200);
      const body = (await response.json()) as Record<string, unknown>;
      assertNone(`GET /credentials/${type}/${id}`, JSON.stringify(body), [
        CAMERA,
        TURN_PASSWORD_ONLY,
        VIEWER_TOKEN,
      ]);
      if (type === "rtsp-in") assert.equal(body.has_password, true);
      else assert.deepEqual([body.has_turnPassword, body.has_viewerToken], [true, true]);
    }
  });

  it("the editor's export has none", () => {
    assert.ok(editorExport.includes(ID.credsCam));
    assertNone("the editor's export", editorExport);
  });

  it("status texts have none, and say what happened", () => {
    const statuses = captured().filter((c) => c.kind === "status");
    assertNone("status", JSON.stringify(statuses));
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

  it("state events, viewer events, stats messages and error messages have none", () => {
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
    assert.ok(events.some((e) => e.value.payload?.event === "joined"));
    assert.ok(events.some((e) => e.value.payload?.event === "stats"));
    assertNone("state, viewer and stats events", JSON.stringify(events));
    assertNone("error messages", JSON.stringify(captured().filter((c) => c.kind === "error")));
  });

  it("media messages have none: msg.topic is the URL without credentials, msg.stream holds no control URL", () => {
    const media = captured().filter((c) => c.kind === "media");
    assertNone("media messages", JSON.stringify(media));
    const topics = new Set(media.map((m) => m.value.topic));
    assert.deepEqual([...topics].sort(), [credsCamUrl, urlCamUrl].sort());
    for (const m of media) assert.doesNotMatch(JSON.stringify(m.value.stream), /rtsp:\/\//);
  });

  it("GET P/stats has none, with the token or without; the camera wall and its list have none", async () => {
    const stats = await fetch(`${stream}/stats`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    assert.equal(stats.status, 200);
    const statsText = await answerText(stats);
    assert.match(statsText, /H264/);
    assertNone("GET P/stats", statsText);
    const refused = await fetch(`${stream}/stats`);
    assert.equal(refused.status, 401);
    assertNone("GET P/stats without the token", await answerText(refused));
    for (const wall of ["/webrtc/streams", "/webrtc"]) {
      const response = await fetch(`${base}${wall}`);
      assert.equal(response.status, 200, wall);
      assertNone(`GET ${wall}`, await answerText(response));
    }
  });

  it("the player page: TURN credentials and the token only for a viewer who sent the token", async () => {
    const page = await fetch(`${stream}?token=${encodeURIComponent(TOKEN)}`);
    assert.equal(page.status, 200);
    const html = await answerText(page);
    assertNone("the player page", html, [CAMERA]);
    assert.ok(
      html.includes(TURN_PASSWORD) && html.includes(TURN_USER),
      "the page hands its viewer the TURN server",
    );
    const refused = await fetch(stream);
    assert.equal(refused.status, 401);
    assertNone("the player page without the token", await answerText(refused));
    const wrong = await fetch(`${stream}?token=wrong`);
    assert.equal(wrong.status, 401);
    assertNone("the player page with a wrong token", await answerText(wrong));
  });

  it("the /offer and /whep answers: TURN credentials only in the Link headers of a /whep with the token", async () => {
    const sdp = readOffer("chromium-156.sdp");
    const authorization = { Authorization: `Bearer ${TOKEN}` };
    const offer = await fetch(`${stream}/offer`, {
      method: "POST",
      headers: { ...authorization, "Content-Type": "application/json" },
      body: JSON.stringify({ type: "offer", sdp }),
    });
    assert.equal(offer.status, 200);
    const offerText = await answerText(offer.clone());
    assert.match(offerText, /"type":"answer"/);
    assertNone("the /offer answer", offerText);

    const whep = await fetch(`${stream}/whep`, {
      method: "POST",
      headers: { ...authorization, "Content-Type": "application/sdp" },
      body: sdp,
    });
    assert.equal(whep.status, 201);
    const links = whep.headers.get("link") ?? "";
    assert.ok(links.includes(TURN_PASSWORD) && links.includes(TURN_USER), `TURN server in Link: ${links}`);
    const withoutLinks = new Headers(whep.headers);
    withoutLinks.delete("link");
    const whepBody = await whep.text();
    assert.match(whepBody, /^v=0/);
    assertNone("the /whep answer's body", whepBody);
    assertNone("the /whep answer's headers other than Link", JSON.stringify([...withoutLinks]));
    assertNone("the /whep answer's Link headers", links, [CAMERA, VIEWER_TOKEN]);

    for (const [path, init] of [
      [
        "/offer",
        { headers: { "Content-Type": "application/json" }, body: JSON.stringify({ type: "offer", sdp }) },
      ],
      ["/whep", { headers: { "Content-Type": "application/sdp" }, body: sdp }],
    ] as const) {
      const refused = await fetch(`${stream}${path}`, { method: "POST", ...init });
      assert.equal(refused.status, 401, path);
      assertNone(`POST ${path} without the token`, await answerText(refused));
    }

    // Both sessions end here; the browser's stays.
    const location = whep.headers.get("location") ?? "";
    const ended = await fetch(new URL(location, stream), { method: "DELETE", headers: authorization });
    assertNone("DELETE P/whep/<id>", await answerText(ended));
    assert.equal(ended.status, 200);
    const { id } = (await offer.json()) as { id?: string };
    if (id !== undefined) {
      await fetch(`${stream}/whep/${encodeURIComponent(id)}`, { method: "DELETE", headers: authorization });
    }
  });

  it("OPTIONS answers without the token have no secret (P/whep's included)", async () => {
    for (const path of [
      WEBRTC_PATH,
      `${WEBRTC_PATH}/offer`,
      `${WEBRTC_PATH}/stats`,
      "/webrtc",
      "/webrtc/streams",
    ]) {
      const response = await fetch(`${base}${path}`, { method: "OPTIONS" });
      assertNone(`OPTIONS ${path}`, await answerText(response));
    }
    // Shaped like a browser's CORS preflight too, which Node-RED lets through without httpNodeCors set.
    for (const headers of [
      {} as Record<string, string>,
      { Origin: "http://elsewhere.test", "Access-Control-Request-Method": "POST" },
    ]) {
      const response = await fetch(`${stream}/whep`, { method: "OPTIONS", headers });
      assertNone(`OPTIONS P/whep (${JSON.stringify(headers)})`, await answerText(response));
    }
  });

  it("Node-RED's log (stdout and stderr) has none, and does say what went wrong", () => {
    const log = nodeRed!.output();
    assert.match(log, /wrong user or password/);
    assert.match(log, /connection refused/);
    assertNone("Node-RED's log", log);
  });
});
