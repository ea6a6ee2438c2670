import assert from "node:assert/strict";
import helper from "node-red-node-test-helper";
import { DemoCamera } from "../../src/demo/demo-camera";
import {
  assertViewerDecodes,
  DEMO_CAMERA_URL,
  exampleNodes,
  exampleTestHooks,
  loadExample,
  onLoopback,
  onlyNode,
  serveHttpNode,
  streamArrives,
  viewerOf,
} from "../helpers/example-flow";

describe("example flow: basic", function () {
  this.timeout(60_000);
  let camera: DemoCamera;
  let cameraUrl: string;
  const viewers = exampleTestHooks();

  before(async () => {
    camera = new DemoCamera({ port: 0 });
    cameraUrl = (await camera.start()).url;
  });

  after(() => camera.close());

  it("imports as it is: the demo camera, a comment naming the page, the page at /camera", () => {
    const flow = loadExample("basic");
    assert.equal(onlyNode(flow, "rtsp-in").url, DEMO_CAMERA_URL);
    assert.equal(onlyNode(flow, "webrtc-out").path, "camera");
    assert.match(onlyNode(flow, "comment").name, /\/camera/);
  });

  it("runs: the camera's video reaches a viewer of /camera and decodes", async () => {
    const flow = onLoopback(loadExample("basic", { [DEMO_CAMERA_URL]: cameraUrl }));
    await helper.load(exampleNodes(), flow);
    const server = await serveHttpNode();
    await streamArrives(server, "/camera");
    const viewer = await viewerOf(server, "/camera");
    viewers.push(viewer);
    await assertViewerDecodes(viewer, { width: 640, height: 360 });
    const rtspIn = helper.getNode(onlyNode(flow, "rtsp-in").id);
    const statuses: string[] = rtspIn.status.args.map((a: [{ text?: string }]) => a[0].text ?? "");
    assert.ok(
      statuses.some((t) => t.startsWith("playing H264 640x360")),
      statuses.join(" | "),
    );
  });
});
