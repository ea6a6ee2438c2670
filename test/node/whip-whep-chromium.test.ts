import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { type LaunchedChromium, launchChromium } from "../helpers/chromium";
import { type ClientRig, startClientRig } from "../helpers/client-rig";
import { waitFor } from "../helpers/wait";

// medooze's WHEP client (npm whip-whep 1.2.0, whep.js: an ES module, loaded as it is) in headless
// Chromium against webrtc-out's WHEP endpoint in Node-RED itself. It posts its offer before gathering
// and sends every candidate in trickle PATCHes; its stop() closes the peer connection and then DELETEs,
// which must answer 200 even when the close has already ended the viewer.

/** Served by Node-RED (httpStatic) next to whep.js: the streams are then on the page's own origin. */
const PAGE = `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>whip-whep</title></head>
<body><video autoplay muted playsinline></video>
<script type="module">
import { WHEPClient } from "./whep.js";
// Every request whep.js makes, with its answer's status (its stop() does not tell the DELETE's).
const requests = [];
const realFetch = window.fetch.bind(window);
// Set by a test: a DELETE waits for it, as when the close reaches the server well before the DELETE.
let beforeDelete = async () => {};
window.fetch = async (input, init = {}) => {
  const method = (init.method || "GET").toUpperCase();
  if (method === "DELETE") await beforeDelete();
  const res = await realFetch(input, init);
  requests.push({ method, url: String(input), status: res.status, body: method === "PATCH" ? String(init.body) : "" });
  return res;
};
window.whepTest = {
  requests,
  async view(url) {
    const pc = new RTCPeerConnection();
    pc.addTransceiver("video", { direction: "recvonly" });
    pc.addTransceiver("audio", { direction: "recvonly" });
    const video = document.querySelector("video");
    const stream = new MediaStream();
    pc.ontrack = (event) => {
      stream.addTrack(event.track);
      video.srcObject = stream;
    };
    const client = new WHEPClient();
    this.pc = pc;
    this.client = client;
    await client.view(pc, url);
  },
  async video() {
    let found = { framesDecoded: 0, frameWidth: 0, frameHeight: 0 };
    for (const entry of (await this.pc.getStats()).values()) {
      if (entry.type === "inbound-rtp" && entry.kind === "video") found = entry;
    }
    return { framesDecoded: found.framesDecoded || 0, width: found.frameWidth || 0, height: found.frameHeight || 0 };
  },
  async stop(waitUntilGone) {
    if (waitUntilGone) {
      beforeDelete = async () => {
        for (;;) {
          const stats = await (await realFetch(waitUntilGone)).json();
          if (stats.viewers.length === 0) return;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      };
    }
    await this.client.stop();
    beforeDelete = async () => {};
  },
};
</script></body></html>
`;

interface Request {
  method: string;
  url: string;
  status: number;
  body: string;
}

interface VideoStats {
  framesDecoded: number;
  width: number;
  height: number;
}

/** What the page's whep.js has requested so far, with the statuses. */
function requestsOf(page: Page): Promise<Request[]> {
  return page.evaluate<Request[]>("globalThis.whepTest.requests");
}

describe("whip-whep (medooze's WHEP client) in Chromium", function () {
  this.timeout(120_000);
  let rig: ClientRig | undefined;
  let chromium: LaunchedChromium | undefined;
  let staticDir: string | undefined;

  before(async () => {
    staticDir = mkdtempSync(join(tmpdir(), "whip-whep-page-"));
    copyFileSync(require.resolve("whip-whep/whep.js"), join(staticDir, "whep.js"));
    writeFileSync(join(staticDir, "whep.html"), PAGE);
    rig = await startClientRig({ staticDir });
    chromium = await launchChromium();
  });

  after(async () => {
    await chromium?.close();
    await rig?.close();
    if (staticDir !== undefined) rmSync(staticDir, { recursive: true, force: true });
  });

  async function play(path: string): Promise<{ page: Page; whep: string }> {
    if (rig === undefined || chromium === undefined) throw new Error("no rig");
    const { page } = await chromium.open(`${rig.base}/whep.html`);
    await page.waitForFunction(() => "whepTest" in globalThis);
    const whep = `${rig.base}/${path}/whep`;
    await page.evaluate(`globalThis.whepTest.view(${JSON.stringify(whep)})`);
    return { page, whep };
  }

  async function framesAdvance(page: Page): Promise<{ width: number; height: number }> {
    const video = () => page.evaluate<VideoStats>("globalThis.whepTest.video()");
    await waitFor(async () => (await video()).framesDecoded > 10, 30_000, "frames decoded in Chromium");
    const first = await video();
    await waitFor(
      async () => (await video()).framesDecoded > first.framesDecoded + 10,
      30_000,
      "frames to keep advancing",
    );
    return video();
  }

  for (const audio of [false, true]) {
    it(`plays ${audio ? "a camera with PCMA" : "a camera without audio"}: POST 201, trickle PATCH 204, frames at the camera's size, stop()'s DELETE 200`, async () => {
      if (rig === undefined) throw new Error("no rig");
      const path = audio ? rig.paths.withAudio : rig.paths.videoOnly;
      const { page, whep } = await play(path);
      const size = await framesAdvance(page);
      assert.equal(size.width, rig.width);
      assert.equal(size.height, rig.height);
      const requests = await requestsOf(page);
      const post = requests.find((r) => r.method === "POST");
      assert.equal(post?.status, 201, JSON.stringify(requests));
      const patches = requests.filter((r) => r.method === "PATCH");
      assert.ok(patches.length > 0, "whep.js trickled its candidates");
      for (const patch of patches) {
        assert.equal(patch.status, 204, JSON.stringify(patch));
        assert.ok(patch.url.startsWith(`${whep}/`), patch.url);
      }
      assert.ok(
        patches.some((p) => / 127\.0\.0\.1 \d+ typ host/.test(p.body)),
        `a loopback candidate was trickled: ${JSON.stringify(patches)}`,
      );
      await page.evaluate("globalThis.whepTest.stop()");
      const deletes = (await requestsOf(page)).filter((r) => r.method === "DELETE");
      assert.deepEqual(
        deletes.map((r) => [r.url, r.status]),
        [[patches[0]?.url, 200]],
      );
      await waitFor(
        async () =>
          ((await (await fetch(`${rig?.base}/${path}/stats`)).json()) as { viewers: [] }).viewers.length ===
          0,
        15_000,
        "the viewer to be gone",
      );
      await page.context().close();
    });
  }

  it("stop()'s DELETE arriving after the close has ended the viewer still answers 200", async () => {
    if (rig === undefined) throw new Error("no rig");
    const path = rig.paths.videoOnly;
    const { page } = await play(path);
    await framesAdvance(page);
    // The DELETE waits in the page until the server has seen the close (DTLS close_notify) and let the
    // viewer go: the order the bug needed, made certain.
    await page.evaluate(`globalThis.whepTest.stop(${JSON.stringify(`${rig.base}/${path}/stats`)})`);
    const requests = await requestsOf(page);
    const deletes = requests.filter((r) => r.method === "DELETE");
    assert.equal(deletes.length, 1, JSON.stringify(requests));
    assert.equal(deletes[0]?.status, 200, JSON.stringify(deletes));
    const again = await fetch(deletes[0]?.url ?? "", { method: "DELETE" });
    assert.equal(again.status, 404, "remembered for one DELETE only");
    await page.context().close();
  });
});
