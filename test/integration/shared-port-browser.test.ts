import "../helpers/loopback-namespace";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type LaunchedChromium, launchChromium } from "../helpers/chromium";
import { nominated, SharedPortRig } from "../helpers/shared-port-rig";
import { waitFor } from "../helpers/wait";
import { loopbackCandidatesOnly } from "../helpers/werift-viewer";

// Chromium (libwebrtc's ICE: its own ufrags, check attributes, FINGERPRINT) through the shared port:
// two tabs at once, each decoding the demo camera, both server-side peers on the one UDP socket.

const PAGE = `<!doctype html><video autoplay muted playsinline></video><script>
window.play = async () => {
  const pc = new RTCPeerConnection();
  window.pc = pc;
  pc.addTransceiver("video", { direction: "recvonly" });
  pc.ontrack = (event) => { document.querySelector("video").srcObject = new MediaStream([event.track]); };
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((resolve) => {
    if (pc.iceGatheringState === "complete") return resolve();
    pc.onicegatheringstatechange = () => pc.iceGatheringState === "complete" && resolve();
  });
  const response = await fetch("/offer", { method: "POST", body: pc.localDescription.sdp });
  if (!response.ok) throw new Error("offer refused: " + response.status);
  await pc.setRemoteDescription({ type: "answer", sdp: await response.text() });
};
window.selectedPairCounts = async () => {
  const stats = await window.pc.getStats();
  let pairId;
  stats.forEach((s) => { if (s.type === "transport") pairId = s.selectedCandidatePairId; });
  const pair = pairId === undefined ? undefined : stats.get(pairId);
  return { requestsSent: pair?.requestsSent ?? 0, responsesReceived: pair?.responsesReceived ?? 0 };
};
window.framesDecoded = async () => {
  let frames = 0;
  (await window.pc.getStats()).forEach((s) => { if (s.type === "inbound-rtp") frames = s.framesDecoded || 0; });
  return frames;
};
</script>`;

describe("SharedIcePort with Chromium (loopback)", function () {
  this.timeout(120_000);
  let rig: SharedPortRig | undefined;
  let server: Server | undefined;
  let chromium: LaunchedChromium | undefined;

  after(async () => {
    await chromium?.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await rig?.close();
  });

  it("two Chromium tabs decode the stream through one UDP port", async () => {
    rig = await SharedPortRig.start({ bindAddress: "127.0.0.1" });
    const active = rig;
    const ids: string[] = [];
    server = createServer((req, res) => {
      if (req.method === "GET") {
        res.writeHead(200, { "content-type": "text/html" }).end(PAGE);
        return;
      }
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        // Only loopback candidates reach the server: no check may leave 127.0.0.0/8.
        const offer = loopbackCandidatesOnly(Buffer.concat(chunks).toString("utf8"));
        active.set.addViewer(offer, "127.0.0.1", true).then(
          (answer) => {
            ids.push(answer.id);
            res.writeHead(201, { "content-type": "application/sdp" }).end(answer.answerSdp);
          },
          (error: unknown) => res.writeHead(400).end(String(error)),
        );
      });
    });
    await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    chromium = await launchChromium();
    const tabs = [await chromium.open(url), await chromium.open(url)];
    await Promise.all(tabs.map(({ page }) => page.evaluate("window.play()")));
    for (const { page } of tabs) {
      await waitFor(
        async () => ((await page.evaluate("window.framesDecoded()")) as number) >= 30,
        30_000,
        "30 frames decoded in Chromium",
      );
    }
    const peers = ids.map((id) => {
      const viewer = (active.set as unknown as { viewers: Map<string, { pc: never }> }).viewers.get(id);
      assert.ok(viewer !== undefined);
      return nominated(viewer.pc);
    });
    assert.equal(peers.length, 2);
    for (const pair of peers) assert.equal(pair?.protocol.localCandidate?.port, active.port.port);
    assert.equal(new Set(peers.map((p) => p?.protocol.transport?.socket)).size, 1);
    const stats = active.port.stats();
    console.log(`      shared port with two Chromium tabs: ${JSON.stringify(stats)}`);
    assert.equal(stats.viewers, 2);
  });

  it("answers Chromium's checks on its selected pair itself, and Chromium takes the answers", async () => {
    const active = rig as SharedPortRig;
    assert.ok(chromium !== undefined && server !== undefined, "runs after the two-tab test");
    const { page } = await chromium.open(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    await page.evaluate("window.play()");
    await waitFor(
      async () => ((await page.evaluate("window.framesDecoded()")) as number) >= 10,
      30_000,
      "10 frames decoded in Chromium",
    );
    type Counts = { requestsSent: number; responsesReceived: number };
    const before = (await page.evaluate("window.selectedPairCounts()")) as Counts;
    const port = active.port.stats();
    // Chromium checks its selected pair every few seconds once connected (more often while starting).
    await waitFor(
      async () =>
        ((await page.evaluate("window.selectedPairCounts()")) as Counts).responsesReceived >=
        before.responsesReceived + 2,
      20_000,
      "two more answers taken by Chromium",
    );
    const after = active.port.stats();
    const answered = after.checksAnswered - port.checksAnswered;
    assert.ok(answered >= 2, `the port answered ${answered}`);
    assert.equal(after.checksDelivered, port.checksDelivered, "no check on the selected pair went to werift");
    console.log(
      `      Chromium's selected pair: ${JSON.stringify(await page.evaluate("window.selectedPairCounts()"))}, ${answered} answered by the port`,
    );
  });
});
