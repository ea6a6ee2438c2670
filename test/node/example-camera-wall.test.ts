import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import type { AddressInfo } from "node:net";
import path from "node:path";
import helper from "node-red-node-test-helper";
import type { Page } from "playwright-core";
import request from "supertest";
import { DemoCamera } from "../../src/demo/demo-camera";
import { launchChromium } from "../helpers/chromium";
import {
  DEMO_CAMERA_URL,
  exampleNodes,
  exampleTestHooks,
  type FlowNode,
  loadExample,
  onLoopback,
  onlyNode,
  serveHttpNode,
  streamArrives,
} from "../helpers/example-flow";
import { waitFor } from "../helpers/wait";

const ARTIFACTS = path.join(__dirname, "../../../.test-artifacts");
const PATHS = ["/cam1", "/cam2", "/cam3", "/cam4"];
const NAMES = ["camera 1", "camera 2", "camera 3", "camera 4"];

/** One tile of the wall as the browser shows it, and what its player inside the iframe decoded. */
interface TileView {
  readonly path: string;
  readonly name: string;
  readonly state: string;
  readonly viewers: string;
  readonly details: string;
  readonly playerState: string | null;
  readonly framesDecoded: number;
  readonly width: number;
  readonly box: { readonly width: number; readonly height: number };
}

/** Run in the wall page: each tile's caption, and its iframe's window.__player (same origin). */
const READ_TILES = `[...document.querySelectorAll("#grid .tile")].map((tile) => {
  const player = tile.querySelector("iframe").contentWindow.__player;
  const text = (selector) => tile.querySelector(selector).textContent;
  const box = tile.getBoundingClientRect();
  return {
    path: tile.getAttribute("data-path"),
    name: text(".name"),
    state: text(".state"),
    viewers: text(".viewers"),
    details: text(".details"),
    playerState: player ? player.state : null,
    framesDecoded: player && player.stats ? player.stats.framesDecoded || 0 : 0,
    width: player && player.stats ? player.stats.width || 0 : 0,
    box: { width: Math.round(box.width), height: Math.round(box.height) },
  };
})`;

function tiles(page: Page): Promise<TileView[]> {
  return page.evaluate(READ_TILES) as Promise<TileView[]>;
}

/** Every tile playing its camera, captioned live with one viewer (the wall itself). */
function allPlaying(views: readonly TileView[], paths: readonly string[]): boolean {
  return (
    views.length === paths.length &&
    views.every(
      (tile, i) =>
        tile.path === paths[i] &&
        tile.playerState === "playing" &&
        tile.framesDecoded > 10 &&
        tile.state === "live" &&
        tile.viewers === "1 viewer",
    )
  );
}

/** Until every tile of `paths` (and only they) plays; the tiles as they were then. */
async function tilesPlaying(
  page: Page,
  paths: readonly string[],
  ms: number,
  what: string,
): Promise<TileView[]> {
  let views: TileView[] = [];
  await waitFor(
    async () => {
      views = await tiles(page);
      return allPlaying(views, paths);
    },
    ms,
    what,
  );
  return views;
}

/** The example without one camera: its rtsp-in and webrtc-out gone, as if deleted in the editor. */
function without(flow: readonly FlowNode[], name: string): FlowNode[] {
  return flow.filter((node) => node.name !== name);
}

describe("example flow: camera-wall", function () {
  this.timeout(120_000);
  let camera: DemoCamera;
  let cameraUrl: string;

  exampleTestHooks();

  before(async () => {
    camera = new DemoCamera({ port: 0 });
    cameraUrl = (await camera.start()).url;
  });

  after(() => camera.close());

  it("imports as it is: four demo cameras to webrtc-outs at cam1 … cam4, a comment naming /webrtc", () => {
    const flow = loadExample("camera-wall");
    const tab = onlyNode(flow, "tab");
    assert.equal(tab.label, "Camera wall");
    const sources = flow.filter((n: FlowNode) => n.type === "rtsp-in");
    const outs = flow.filter((n: FlowNode) => n.type === "webrtc-out");
    assert.deepEqual(
      sources.map((n: FlowNode) => n.name),
      NAMES,
    );
    assert.deepEqual(
      outs.map((n: FlowNode) => n.path),
      ["cam1", "cam2", "cam3", "cam4"],
    );
    for (const [i, source] of sources.entries()) {
      assert.equal(source.url, DEMO_CAMERA_URL);
      assert.equal(source.transport, "tcp");
      assert.equal(source.media, "video");
      assert.deepEqual(source.wires[0], [outs[i].id], `${source.name} feeds ${outs[i].path}`);
    }
    for (const out of outs) assert.equal(out.hostAddresses, "");
    assert.match(onlyNode(flow, "comment").name, /:1880\/webrtc\b/);
    for (const node of flow) {
      assert.match(node.id, /^ca11[0-9a-f]{12}$/, node.id);
      if (node.type !== "tab") {
        assert.equal(node.z, tab.id);
        assert.equal(typeof node.x, "number");
        assert.equal(typeof node.y, "number");
      }
    }
  });

  it("runs: the wall at /webrtc plays all four cameras in headless Chromium, and drops a removed one", async () => {
    const flow = onLoopback(loadExample("camera-wall", { [DEMO_CAMERA_URL]: cameraUrl }));
    await helper.load(exampleNodes(), flow);
    const server = await serveHttpNode();
    for (const streamPath of PATHS) await streamArrives(server, streamPath);

    const list = await request(server).get("/webrtc/streams").expect(200);
    assert.deepEqual(
      list.body.map((s: { path: string; title: string; state: string }) => [s.path, s.title, s.state]),
      PATHS.map((p, i) => [p, NAMES[i], "live"]),
    );

    const chromium = await launchChromium();
    try {
      const { page } = await chromium.open(
        `http://127.0.0.1:${(server.address() as AddressInfo).port}/webrtc`,
      );
      const views = await tilesPlaying(
        page,
        PATHS,
        45_000,
        "four tiles playing, captioned live with one viewer each",
      );
      assert.deepEqual(
        views.map((tile) => tile.name),
        NAMES,
      );
      for (const tile of views) {
        assert.equal(tile.width, 640, `${tile.path} decodes the demo camera's 640x360`);
        assert.match(tile.details, /^H264 · 640×360 · \d/, tile.path);
      }
      // 1280x720: a 2x2 grid, tiles side by side and one above the other.
      const [first] = views;
      assert.ok(first);
      assert.ok(first.box.width > 560 && first.box.width < 640, JSON.stringify(first.box));
      assert.ok(first.box.height > 300 && first.box.height < 340, JSON.stringify(first.box));
      assert.match((await page.textContent("#summary")) ?? "", /^4 streams · 4 live · 4 viewers$/);
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: path.join(ARTIFACTS, "camera-wall.png") });

      await helper.setFlows(without(flow, "camera 4"), "nodes");
      await tilesPlaying(
        page,
        PATHS.slice(0, 3),
        20_000,
        "the tile of the removed camera to go while the others play on",
      );
      assert.match((await page.textContent("#summary")) ?? "", /^3 streams/);
    } finally {
      await chromium.close();
    }
  });
});
