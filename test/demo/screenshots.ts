// The README's pictures: the basic flow in Node-RED's editor, and its player page, taken with headless
// Chromium against the demo camera. Run with `npm run screenshots` (inside a loopback-only network
// namespace, like the tests); it writes docs/images/{player,editor}.png, the README's pictures.
import path from "node:path";
import { DemoCamera } from "../../src/demo/demo-camera";
import { launchChromium } from "../helpers/chromium";
import { DEMO_CAMERA_URL, loadExample, onLoopback } from "../helpers/example-flow";
import { startNodeRed } from "../helpers/node-red-process";

const OUT = path.join(__dirname, "../../../docs/images");

const SETTINGS = `
module.exports = {
  uiHost: "127.0.0.1",
  flowFile: "flows.json",
  credentialSecret: false,
  telemetry: { enabled: false },
  editorTheme: { tours: false, projects: { enabled: false } },
};
`;

async function main(): Promise<void> {
  const camera = new DemoCamera({ port: 0 });
  const { url } = await camera.start();
  const nodeRed = await startNodeRed({
    runtime: "node-red",
    settings: SETTINGS,
    flows: onLoopback(loadExample("basic", { [DEMO_CAMERA_URL]: url })),
  });
  const chromium = await launchChromium();
  try {
    const base = `http://127.0.0.1:${nodeRed.port}`;
    const { page: player } = await chromium.open(`${base}/camera`);
    await player.setViewportSize({ width: 960, height: 540 });
    await player.waitForFunction("(window.__player?.stats?.framesDecoded ?? 0) > 75", undefined, {
      timeout: 30_000,
    });
    await player.screenshot({ path: path.join(OUT, "player.png") });

    const { page: editor } = await chromium.open(base);
    await editor.setViewportSize({ width: 1280, height: 330 });
    await editor.reload();
    await editor.waitForFunction(
      `[...document.querySelectorAll(".red-ui-flow-node-status-label")].some((e) => /viewer/.test(e.textContent))`,
      undefined,
      { timeout: 30_000 },
    );
    // Give the status of every node time to settle (it refreshes every 2 s).
    await editor.waitForTimeout(2500);
    await editor.screenshot({ path: path.join(OUT, "editor.png") });
    console.log(`wrote ${OUT}/player.png and ${OUT}/editor.png`);
  } finally {
    await chromium.close();
    await nodeRed.stop();
    await camera.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
