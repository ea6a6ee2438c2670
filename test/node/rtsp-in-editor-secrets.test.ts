import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { type LaunchedChromium, launchChromium } from "../helpers/chromium";
import { editNode } from "../helpers/node-red-editor";
import { decryptCredentials, type NodeRedProcess, startNodeRed } from "../helpers/node-red-process";
import { playing, RtspPeer } from "../helpers/rtsp-peer";
import { waitFor } from "../helpers/wait";

const TOKEN = "T0ken-Secr3t/99";
const KEY = "K3y-Secr3t-42";
const CREDENTIAL_SECRET = "the editor test's credential secret";
const TAB = "d0000000000000a0";
const CAM = "d000000000000011";

const SPELLINGS = [TOKEN, encodeURIComponent(TOKEN), encodeURIComponent(TOKEN).toLowerCase(), KEY];

function assertNoSecret(what: string, text: string): void {
  for (const spelling of SPELLINGS) {
    const at = text.indexOf(spelling);
    assert.equal(at, -1, `${what} holds "${spelling}": …${text.slice(Math.max(0, at - 80), at + 40)}…`);
  }
}

async function deploy(page: Page): Promise<void> {
  await page.click("#red-ui-header-button-deploy");
  await page.waitForFunction("!RED.nodes.dirty()", undefined, { timeout: 20_000 });
}

/**
 * A URL with secrets in its query typed into rtsp-in's form in Node-RED's real editor: what the runtime
 * then writes (flow file, admin API) holds "***" in their place, the encrypted credentials hold them,
 * and the camera gets them in its requests. And what the form and help say, in English and Chinese,
 * of the option that accepts any certificate.
 */
describe("rtsp-in in a real Node-RED and its editor: secrets in the URL's query, the certificate options", function () {
  this.timeout(90_000);
  let dir: string;
  let flowFile: string;
  let camera: RtspPeer;
  let nodeRed: NodeRedProcess | undefined;
  let chromium: LaunchedChromium | undefined;
  let page: Page;
  let base: string;

  /** DESCRIBEs with both secrets in their URL, on connections opened after the first `after` ones. */
  const describesWithSecrets = (after = 0) =>
    camera.requests.filter(
      (r) =>
        r.connection > after &&
        r.method === "DESCRIBE" &&
        r.url.includes(`token=${encodeURIComponent(TOKEN)}`) &&
        r.url.includes(KEY),
    ).length;
  const flowUrl = () =>
    (JSON.parse(readFileSync(flowFile, "utf8")) as { id: string; url?: string }[]).find((n) => n.id === CAM)
      ?.url;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "rtsp-in-secrets-"));
    flowFile = join(dir, "flows.json");
    camera = await RtspPeer.start(playing());
    const startFlow = [{ id: TAB, type: "tab", label: "secrets" }];
    writeFileSync(flowFile, JSON.stringify(startFlow));
    nodeRed = await startNodeRed({
      runtime: "node-red",
      settings: `
module.exports = {
  uiHost: "127.0.0.1",
  flowFile: ${JSON.stringify(flowFile)},
  credentialSecret: ${JSON.stringify(CREDENTIAL_SECRET)},
  telemetry: { enabled: false },
  editorTheme: { tours: false, projects: { enabled: false } },
  logging: { console: { level: "debug", audit: true } },
};
`,
      flows: startFlow,
    });
    base = `http://127.0.0.1:${nodeRed.port}`;
    chromium = await launchChromium();
    ({ page } = await chromium.open(base));
    await page.waitForFunction(
      `window.RED?.view?.importNodes && RED.nodes.getType("rtsp-in") !== undefined && RED.workspaces.active() === ${JSON.stringify(TAB)}`,
      undefined,
      { timeout: 60_000 },
    );
    const node = {
      id: CAM,
      type: "rtsp-in",
      z: TAB,
      name: "",
      url: "",
      transport: "tcp",
      media: "video",
      startMode: "deploy",
      x: 150,
      y: 100,
      wires: [[], []],
    };
    await page.evaluate(
      `RED.view.importNodes(${JSON.stringify([node])}, { generateIds: false, touchImport: true, notify: false, applyNodeDefaults: true })`,
    );
    await editNode(page, CAM, (p) =>
      p.fill(
        "#node-input-url",
        camera.url(`/stream?channel=1&token=${encodeURIComponent(TOKEN)}&Key=${KEY}`),
      ),
    );
    await deploy(page);
    await waitFor(() => describesWithSecrets() >= 1, 20_000, "a DESCRIBE with the token and the key");
  });

  after(async () => {
    await chromium?.close();
    await nodeRed?.stop();
    await camera?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("the flow file the runtime wrote holds *** for them; the credentials file holds them, encrypted", () => {
    for (const file of readdirSync(dir).filter((f) => !f.includes("_cred"))) {
      assertNoSecret(file, readFileSync(join(dir, file), "utf8"));
    }
    assert.equal(flowUrl(), camera.url("/stream?channel=1&token=***&Key=***"));
    const credFile = join(dir, "flows_cred.json");
    assertNoSecret("flows_cred.json as stored", readFileSync(credFile, "utf8"));
    assert.deepEqual(decryptCredentials(credFile, CREDENTIAL_SECRET)[CAM], {
      urlSecrets: `token=${encodeURIComponent(TOKEN)}&Key=${KEY}`,
    });
  });

  it("the admin API (GET /flows, GET /credentials) and the log hold none", async () => {
    const flows = await fetch(`${base}/flows`, { headers: { "Node-RED-API-Version": "v2" } }).then((r) =>
      r.text(),
    );
    assert.ok(flows.includes(CAM));
    assertNoSecret("GET /flows", flows);
    const credentials = await fetch(`${base}/credentials/rtsp-in/${CAM}`).then((r) => r.json());
    assertNoSecret("GET /credentials", JSON.stringify(credentials));
    assert.equal((credentials as Record<string, unknown>).has_urlSecrets, true);
    assertNoSecret("Node-RED's log", nodeRed!.output());
  });

  it("opening the node and clicking Done again keeps them, and the camera still gets them", async () => {
    const before = camera.connections;
    await editNode(page, CAM, (p) => p.fill("#node-input-name", "renamed"));
    await deploy(page);
    await waitFor(() => describesWithSecrets(before) >= 1, 20_000, "a DESCRIBE with both secrets again");
    assert.equal(flowUrl(), camera.url("/stream?channel=1&token=***&Key=***"));
    assert.deepEqual(decryptCredentials(join(dir, "flows_cred.json"), CREDENTIAL_SECRET)[CAM], {
      urlSecrets: `token=${encodeURIComponent(TOKEN)}&Key=${KEY}`,
    });
  });

  const TLS_WORDING = {
    "en-US": {
      label: ["Accept any certificate", "pose as the camera", "pin the fingerprint"],
      tip: ["pin its SHA-256 fingerprint (the safe way)", "accept any certificate (no protection against"],
      help: ["<b>Accept any certificate</b>", "no protection against an impostor", "pin its fingerprint"],
    },
    "zh-CN": {
      label: ["接受任何证书", "冒充摄像机", "指纹固定"],
      tip: ["固定其 SHA-256 指纹（安全的做法）", "接受任何证书（无法防范冒充摄像机的机器）"],
      help: ["<b>接受任何证书</b>", "无法防范冒充者", "固定其指纹"],
    },
  } as const;

  for (const [locale, wording] of Object.entries(TLS_WORDING)) {
    it(`the option to accept a camera's certificate says it accepts any, and points to the pin (${locale})`, async () => {
      const context = await chromium!.browser.newContext({ locale });
      try {
        const localPage = await context.newPage();
        await localPage.goto(base);
        await localPage.waitForFunction(
          `window.RED?.nodes && RED.nodes.node(${JSON.stringify(CAM)}) !== undefined`,
          undefined,
          { timeout: 60_000 },
        );
        await localPage.evaluate(`RED.editor.edit(RED.nodes.node(${JSON.stringify(CAM)}))`);
        await localPage.locator("#node-dialog-ok").waitFor({ state: "visible" });
        await localPage.fill("#node-input-url", "rtsps://127.0.0.1:322/stream");
        const label =
          (await localPage.locator('label[for="node-input-tlsAcceptSelfSigned"]').textContent()) ?? "";
        const tip = (await localPage.locator("#node-rtsp-in-tls-row .form-tips").textContent()) ?? "";
        const help = String(await localPage.evaluate(`$("script[data-help-name='rtsp-in']").html()`));
        for (const [what, text, parts] of [
          ["label", label, wording.label],
          ["tip", tip, wording.tip],
          ["help", help, wording.help],
        ] as const) {
          for (const part of parts) assert.ok(text.includes(part), `the ${what} says "${part}": ${text}`);
        }
        await localPage.click("#node-dialog-cancel");
      } finally {
        await context.close();
      }
    });
  }

  it("a URL without secret parameters any more drops the stored ones", async () => {
    await editNode(page, CAM, (p) => p.fill("#node-input-url", camera.url("/stream?channel=2")));
    await deploy(page);
    assert.equal(flowUrl(), camera.url("/stream?channel=2"));
    assert.equal(
      decryptCredentials(join(dir, "flows_cred.json"), CREDENTIAL_SECRET)[CAM]?.urlSecrets,
      undefined,
    );
  });
});
