import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { connect } from "node:net";
import helper from "node-red-node-test-helper";
import { DemoCamera } from "../../src/demo/demo-camera";
import {
  assertViewerDecodes,
  DEMO_CAMERA_URL,
  EXAMPLES_DIR,
  exampleNodes,
  exampleTestHooks,
  type FlowNode,
  loadExample,
  onLoopback,
  onlyNode,
  serveHttpNode,
  streamArrives,
  viewerOf,
} from "../helpers/example-flow";
import { TimerLedger } from "../helpers/timer-ledger";
import { waitFor } from "../helpers/wait";

const DEMO_PORT = 8554;

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

interface LogCall {
  readonly thisValue: { type: string };
  readonly args: [string];
}

/** What rtsp-in nodes logged since the last helper.load(), through the helper's spy on Node.prototype.log. */
function rtspInLogs(anyNodeId: string): string[] {
  const calls: LogCall[] = helper.getNode(anyNodeId).log.getCalls();
  return calls.filter((c) => c.thisValue.type === "rtsp-in").map((c) => String(c.args[0]));
}

/** Node-RED's runtime i18n renders the catalog's text; the test helper's RED._ gives back the key. */
const STARTED = /demo-camera\.started|demo camera started on rtsp:\/\/127\.0\.0\.1:8554\/demo/;

describe("the examples on the demo URL say what plays and how to switch to a real camera", () => {
  const names = readdirSync(EXAMPLES_DIR)
    .filter((file) => file.endsWith(".json"))
    .map((file) => file.slice(0, -".json".length));
  const onDemo = names.filter((name) => loadExample(name).some((node) => node.url === DEMO_CAMERA_URL));

  it("seven examples read the demo URL", () => {
    assert.deepEqual(onDemo.sort(), [
      "alarm-clip",
      "basic",
      "camera-wall",
      "dashboard",
      "mqtt-alarm",
      "on-demand",
      "publish-to-sfu",
    ]);
  });

  for (const name of onDemo) {
    it(`${name}: its comment names the bundled clip and how to paste a camera's URL, with credentials apart`, () => {
      const flow = loadExample(name);
      const comment = onlyNode(flow, "comment").name;
      assert.match(comment, /plays? the package's bundled demo clip/);
      assert.match(
        comment,
        /open '[^']+'( … '[^']+')? and paste (its|each one's) URL \(user and password go in their own fields\)/,
      );
      assert.doesNotMatch(
        JSON.stringify(flow),
        /npm run demo/,
        "a palette user has no checkout to run it in",
      );
    });
  }
});

describe("rtsp-in on the demo URL: the package runs its bundled demo camera in Node-RED's process", function () {
  this.timeout(60_000);
  const viewers = exampleTestHooks();
  let timers: TimerLedger | undefined;

  beforeEach(async () => {
    assert.equal(await listening(DEMO_PORT), false, `nothing may listen on ${DEMO_PORT} before the test`);
  });

  afterEach(() => {
    timers?.close();
    timers = undefined;
  });

  it("with nothing on 8554, the basic example as it is imports, deploys and plays to a viewer", async () => {
    const flow = onLoopback(loadExample("basic"));
    assert.equal(onlyNode(flow, "rtsp-in").url, DEMO_CAMERA_URL);
    await helper.load(exampleNodes(), flow);
    const server = await serveHttpNode();
    await streamArrives(server, "/camera");
    const viewer = await viewerOf(server, "/camera");
    viewers.push(viewer);
    await assertViewerDecodes(viewer, { width: 640, height: 360 });
    const logs = rtspInLogs(onlyNode(flow, "rtsp-in").id);
    assert.equal(logs.filter((line) => STARTED.test(line)).length, 1, logs.join(" | "));
  });

  it("two rtsp-in nodes on the demo URL share one camera, started once", async () => {
    const camera = (id: string, name: string): FlowNode => ({
      id,
      type: "rtsp-in",
      name,
      url: DEMO_CAMERA_URL,
      transport: "tcp",
      media: "video",
      startMode: "deploy",
      wires: [[`${id}-media`], []],
    });
    const flow = [
      camera("cam-a", "a"),
      camera("cam-b", "b"),
      { id: "cam-a-media", type: "helper" },
      { id: "cam-b-media", type: "helper" },
    ];
    await helper.load(exampleNodes(), flow);
    const frames = { a: 0, b: 0 };
    helper.getNode("cam-a-media").on("input", () => frames.a++);
    helper.getNode("cam-b-media").on("input", () => frames.b++);
    await waitFor(() => frames.a >= 25 && frames.b >= 25, 20_000, "a second of frames at both nodes");
    const logs = rtspInLogs("cam-a");
    assert.equal(logs.filter((line) => STARTED.test(line)).length, 1, logs.join(" | "));
  });

  it("after the flow is unloaded nothing listens on 8554 and no timer of the package is left", async () => {
    timers = TimerLedger.open();
    const flow = onLoopback(loadExample("camera-wall"));
    await helper.load(exampleNodes(), flow);
    const server = await serveHttpNode();
    for (const path of ["/cam1", "/cam2", "/cam3", "/cam4"]) await streamArrives(server, path);
    assert.equal(await listening(DEMO_PORT), true, "the demo camera listens while the flow runs");
    await helper.unload();
    assert.equal(await listening(DEMO_PORT), false, "the demo camera stopped with the last node using it");
    assert.deepEqual(timers.pending(), []);
    assert.ok(timers.created > 0, "the ledger saw the package's timers");
  });

  it("with 8554 already taken by another demo camera, the node plays from it and starts none", async () => {
    const other = new DemoCamera({ host: "127.0.0.1", port: DEMO_PORT });
    await other.start();
    try {
      const flow = onLoopback(loadExample("basic"));
      await helper.load(exampleNodes(), flow);
      const server = await serveHttpNode();
      await streamArrives(server, "/camera");
      const viewer = await viewerOf(server, "/camera");
      viewers.push(viewer);
      await assertViewerDecodes(viewer, { width: 640, height: 360 });
      assert.equal(other.requestCounts().PLAY, 1, "the node played from the camera that was there");
      const logs = rtspInLogs(onlyNode(flow, "rtsp-in").id);
      assert.deepEqual(
        logs.filter((line) => STARTED.test(line)),
        [],
        "no camera started",
      );
      await helper.unload();
      assert.equal(await listening(DEMO_PORT), true, "the other camera is left running");
    } finally {
      await other.close();
    }
  });
});
