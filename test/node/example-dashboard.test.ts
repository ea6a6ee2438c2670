import assert from "node:assert/strict";
import { mkdirSync, readdirSync } from "node:fs";
import path from "node:path";
import type { Frame, Page } from "playwright-core";
import { DemoCamera } from "../../src/demo/demo-camera";
import { launchChromium } from "../helpers/chromium";
import {
  DEMO_CAMERA_URL,
  EXAMPLES_DIR,
  type FlowNode,
  loadExample,
  onLoopback,
  onlyNode,
} from "../helpers/example-flow";
import { type NodeRedProcess, startNodeRed } from "../helpers/node-red-process";
import { waitFor } from "../helpers/wait";

const ARTIFACTS_DIR = path.join(__dirname, "../../../.test-artifacts");
const DASHBOARD_VERSION: string = require("@flowfuse/node-red-dashboard/package.json").version;

/** Node-RED as installed out of the box, apart from listening on loopback only; `httpNodeRoot` when given. */
function settings(httpNodeRoot?: string): string {
  return `module.exports = {
  uiHost: "127.0.0.1",
  flowFile: "flows.json",
  credentialSecret: false,
  telemetry: { enabled: false },
  logging: { console: { level: "info", metrics: false, audit: false } },${
    httpNodeRoot === undefined ? "" : `\n  httpNodeRoot: ${JSON.stringify(httpNodeRoot)},`
  }
};
`;
}

/** The function node's code run as Node-RED runs it: a function body of `msg` returning one entry per output. */
function runFunction(flow: readonly FlowNode[], payload: unknown): unknown {
  const code: string = onlyNode(flow, "function").func;
  return new Function("msg", code)({ topic: "dashboard player", payload });
}

function stats(stream: Record<string, unknown>, viewers: unknown[] = []): unknown {
  return {
    event: "stats",
    stream: { fps: 0, kbps: 0, packetsPerSecond: 0, bFrames: false, sourceState: "receiving", ...stream },
    viewers,
  };
}

interface PlayerView {
  readonly state: string;
  readonly stats: { readonly framesDecoded: number; readonly width: number; readonly height: number };
}

/** The player page's own state (window.__player, see src/http/player-page.ts) inside the dashboard's iframe. */
function playerIn(frame: Frame): Promise<PlayerView> {
  return frame.evaluate(() => (globalThis as unknown as { __player: PlayerView }).__player);
}

/** The iframe of the embedded player, once the dashboard has rendered the template. */
async function playerFrame(page: Page, url: string): Promise<Frame> {
  let found: Frame | undefined;
  await waitFor(
    () => {
      found = page.frames().find((f) => f.url() === url);
      return found !== undefined;
    },
    20_000,
    `an iframe of ${url} in the dashboard`,
  ).catch((err: Error) => {
    throw new Error(
      `${err.message}; the page has: ${page
        .frames()
        .map((f) => f.url())
        .join(", ")}`,
    );
  });
  return found as Frame;
}

/** Until the embedded player has decoded more than `frames` frames. */
async function playerDecodes(frame: Frame, frames: number): Promise<PlayerView> {
  await frame.waitForFunction(
    (n) => {
      const player = (globalThis as unknown as { __player?: PlayerView }).__player;
      return player?.state === "playing" && player.stats.framesDecoded > n;
    },
    frames,
    { timeout: 20_000 },
  );
  return playerIn(frame);
}

interface ChartPoint {
  readonly series: string;
  readonly _datapoint: { readonly y: number };
}

/** The points the dashboard's client store holds for the ui-chart widget `chartId`: what its ECharts line chart draws. */
function chartPoints(page: Page, chartId: string): Promise<ChartPoint[]> {
  return page.evaluate((id) => {
    type Store = { state: { data: { messages: Record<string, unknown> } } };
    const app = (
      globalThis as unknown as {
        document: {
          querySelector(
            s: string,
          ): { __vue_app__?: { config: { globalProperties: { $store: Store } } } } | null;
        };
      }
    ).document.querySelector("#app")?.__vue_app__;
    const points = app?.config.globalProperties.$store.state.data.messages[id];
    return Array.isArray(points) ? (points as ChartPoint[]) : [];
  }, chartId);
}

/** Pixels of the chart's canvas close to `rgb`, counted in the page (the lines are drawn in the series' colours). */
function pixelsOfColour(
  page: Page,
  chartId: string,
  rgb: readonly [number, number, number],
): Promise<number> {
  return page.evaluate(
    ({ id, colour }) => {
      type Canvas = {
        width: number;
        height: number;
        getContext(kind: "2d"): {
          getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray };
        };
      };
      const doc = (globalThis as unknown as { document: { querySelector(s: string): Canvas | null } })
        .document;
      const canvas = doc.querySelector(`#nrdb-ui-widget-${id} canvas`);
      if (!canvas) return 0;
      const { data } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
      let count = 0;
      for (let i = 0; i < data.length; i += 4) {
        const near =
          Math.abs((data[i] ?? 0) - colour[0]) < 40 &&
          Math.abs((data[i + 1] ?? 0) - colour[1]) < 40 &&
          Math.abs((data[i + 2] ?? 0) - colour[2]) < 40;
        if (near && (data[i + 3] ?? 0) > 200) count += 1;
      }
      return count;
    },
    { id: chartId, colour: rgb },
  );
}

function hexColour(hex: string): [number, number, number] {
  const n = Number.parseInt(hex.replace(/^#/, ""), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/** The value a ui-text widget shows (its label is a separate element). */
async function textValue(page: Page, id: string): Promise<string> {
  return ((await page.locator(`#nrdb-ui-widget-${id} .nrdb-ui-text-value`).textContent()) ?? "").trim();
}

describe("example flow: dashboard (FlowFuse Dashboard 2, in Node-RED itself)", function () {
  this.timeout(90_000);
  const flow = loadExample("dashboard");
  let camera: DemoCamera;
  let cameraUrl: string;
  let nodeRed: NodeRedProcess | undefined;

  before(async () => {
    camera = new DemoCamera({ port: 0 });
    cameraUrl = (await camera.start()).url;
  });

  afterEach(async () => {
    // Left running only by a failed test.
    await nodeRed?.stop();
    nodeRed = undefined;
  });

  after(async () => {
    await camera.close();
  });

  it("imports as it is: the demo camera, ids of its own, a comment naming the page and the palette package", () => {
    for (const node of flow) assert.match(node.id, /^dab0[0-9a-f]{12}$/, `node ${node.type} ${node.id}`);
    const ours = new Set(flow.map((n: FlowNode) => n.id));
    assert.equal(ours.size, flow.length, "ids unique in the example");
    for (const file of readdirSync(EXAMPLES_DIR).filter(
      (f) => f.endsWith(".json") && f !== "dashboard.json",
    )) {
      for (const node of loadExample(path.basename(file, ".json")))
        assert.ok(!ours.has(node.id), `${node.id} is in ${file} too`);
    }
    assert.equal(onlyNode(flow, "tab").label, "Dashboard");
    const rtspIn = onlyNode(flow, "rtsp-in");
    assert.equal(rtspIn.url, DEMO_CAMERA_URL);
    assert.equal(rtspIn.name, "camera");
    assert.equal(rtspIn.media, "video");
    const out = onlyNode(flow, "webrtc-out");
    assert.equal(out.path, "camera-dash");
    assert.equal(out.statsInterval, 2);
    assert.deepEqual(rtspIn.wires[0], [out.id]);
    const fn = onlyNode(flow, "function");
    assert.deepEqual(out.wires[0], [fn.id]);
    const chart = onlyNode(flow, "ui-chart");
    assert.equal(chart.chartType, "line");
    assert.deepEqual(fn.wires[0], [chart.id]);
    assert.equal(onlyNode(flow, "ui-base").path, "/dashboard");
    assert.match(onlyNode(flow, "ui-template").format, /<iframe src="\.\.\/camera-dash\?embed=1"/);
    const comment = onlyNode(flow, "comment");
    assert.match(comment.name, /:1880\/dashboard/);
    assert.match(comment.name, /@flowfuse\/node-red-dashboard/);
    for (const node of flow.filter((n: FlowNode) => n.z !== undefined)) {
      assert.equal(node.z, onlyNode(flow, "tab").id);
      assert.equal(typeof node.x, "number", `${node.type} has a position`);
    }
  });

  it("its function turns stats into kbps and fps points, the viewer count and a line about the stream", () => {
    const receiving = stats(
      { codec: "H264", width: 640, height: 360, fps: 25.2, kbps: 498.6, keyframeIntervalS: 2 },
      [{ id: "a" }, { id: "b" }],
    );
    assert.deepEqual(runFunction(flow, receiving), [
      [
        { topic: "kbps", payload: 499 },
        { topic: "fps", payload: 25.2 },
      ],
      { payload: 2 },
      { payload: "H264 · 640×360 · keyframe every 2 s" },
    ]);
    // Before the camera's first frame there is nothing to draw, and the line says why.
    assert.deepEqual(runFunction(flow, stats({ sourceState: "waiting" })), [
      null,
      { payload: 0 },
      { payload: "camera waiting" },
    ]);
    // Just after it the rates have no whole second behind them yet: no point at 0 either.
    assert.deepEqual(runFunction(flow, stats({ codec: "H264", width: 640, height: 360 })), [
      null,
      { payload: 0 },
      { payload: "H264 · 640×360" },
    ]);
    assert.deepEqual(runFunction(flow, stats({ codec: "H264", sourceState: "stalled" })), [
      [
        { topic: "kbps", payload: 0 },
        { topic: "fps", payload: 0 },
      ],
      { payload: 0 },
      { payload: "H264 · camera stalled" },
    ]);
    assert.deepEqual(runFunction(flow, { event: "joined", viewer: { id: "a" }, viewers: 3 }), [
      null,
      { payload: 3 },
      null,
    ]);
    assert.equal(runFunction(flow, "not an event"), null);
  });

  it("runs: the dashboard shows the camera playing in its iframe, the stats as a chart (headless Chromium)", async () => {
    const running = onLoopback(loadExample("dashboard", { [DEMO_CAMERA_URL]: cameraUrl }));
    nodeRed = await startNodeRed({ runtime: "node-red", settings: settings(), flows: running });
    const base = `http://127.0.0.1:${nodeRed.port}`;
    const chartId: string = onlyNode(flow, "ui-chart").id;
    const chromium = await launchChromium();
    try {
      const { page } = await chromium.open(`${base}/dashboard`);
      await page.setViewportSize({ width: 1280, height: 800 });
      // The relative iframe URL, resolved from the dashboard's page, is the webrtc-out's embed page.
      const frame = await playerFrame(page, `${base}/camera-dash?embed=1`);
      const player = await playerDecodes(frame, 10);
      assert.equal(player.stats.width, 640);
      assert.equal(player.stats.height, 360);

      // Stats every 2 s: a few of them, with the camera's real rates, reach the chart in the browser. Every
      // point is a measured rate (the function draws nothing before a whole second of video).
      await waitFor(
        async () => (await chartPoints(page, chartId)).filter((p) => p.series === "fps").length >= 5,
        25_000,
        "five stats messages drawn in the chart",
      );
      const points = await chartPoints(page, chartId);
      const values = (series: string) => points.filter((p) => p.series === series).map((p) => p._datapoint.y);
      assert.equal(values("kbps").length, values("fps").length);
      for (const kbps of values("kbps")) assert.ok(kbps > 100, `kbps ${values("kbps").join(", ")}`);
      for (const fps of values("fps")) assert.ok(fps > 15 && fps < 35, `fps ${values("fps").join(", ")}`);
      const colours: string[] = onlyNode(flow, "ui-chart").colors;
      // Both lines are on the canvas (the legend's marker of each is about 100 pixels; a line across the plot, several hundred).
      for (const [i, series] of ["kbps", "fps"].entries()) {
        const pixels = await pixelsOfColour(page, chartId, hexColour(colours[i] ?? ""));
        assert.ok(pixels > 250, `${pixels} pixels of the ${series} line`);
      }

      const texts = Object.fromEntries(
        flow.filter((n: FlowNode) => n.type === "ui-text").map((n: FlowNode) => [n.label, n.id]),
      );
      await waitFor(
        async () => (await textValue(page, texts.viewers)) === "1",
        10_000,
        "the viewer count to show the dashboard's own player",
      );
      assert.equal(await textValue(page, texts.camera), "playing");
      // The demo clip has an IDR every 50 frames at 25 fps (2 s). The interval is measured between
      // arrivals, so a frame held up on a loaded machine moves it by whatever it was held: within 1 s.
      const line = await textValue(page, texts.stream);
      const interval = Number(/^H264 · 640×360 · keyframe every (\d+(?:\.\d)?) s$/.exec(line)?.[1]);
      assert.ok(interval >= 1 && interval <= 3, line);

      // The player keeps playing while the dashboard updates around it.
      const before = (await playerIn(frame)).stats.framesDecoded;
      await playerDecodes(frame, before + 25);

      mkdirSync(ARTIFACTS_DIR, { recursive: true });
      await page.screenshot({ path: path.join(ARTIFACTS_DIR, "dashboard.png") });
    } finally {
      await chromium.close();
    }
    assert.match(
      nodeRed.output(),
      new RegExp(`Dashboard 2\\.0 \\(v${DASHBOARD_VERSION.replaceAll(".", "\\.")}\\) started at /dashboard`),
    );
    assert.equal(await nodeRed.stop(), 0, nodeRed.output());
    nodeRed = undefined;
  });

  it("the iframe's relative URL follows httpNodeRoot: under /api the embedded player plays too", async () => {
    const running = onLoopback(loadExample("dashboard", { [DEMO_CAMERA_URL]: cameraUrl }));
    nodeRed = await startNodeRed({ runtime: "node-red", settings: settings("/api"), flows: running });
    const base = `http://127.0.0.1:${nodeRed.port}`;
    const chromium = await launchChromium();
    try {
      const { page } = await chromium.open(`${base}/api/dashboard`);
      const frame = await playerFrame(page, `${base}/api/camera-dash?embed=1`);
      const player = await playerDecodes(frame, 10);
      assert.equal(player.stats.width, 640);
      assert.equal(player.stats.height, 360);
    } finally {
      await chromium.close();
    }
    assert.equal(await nodeRed.stop(), 0, nodeRed.output());
    nodeRed = undefined;
  });
});
