import assert from "node:assert/strict";
import helper from "node-red-node-test-helper";
import { DemoCamera } from "../../src/demo/demo-camera";
import { decodeVideo } from "../helpers/decode";
import { depacketizeH264 } from "../helpers/depacketize";
import {
  DEMO_CAMERA_URL,
  exampleNodes,
  exampleTestHooks,
  loadExample,
  onlyNode,
} from "../helpers/example-flow";
import { waitFor } from "../helpers/wait";
import { WhipEndpoint } from "../helpers/whip-endpoint";

const EXAMPLE_ENDPOINT = "http://127.0.0.1:7080/whip/endpoint/demo";

describe("example flow: publish-to-sfu", function () {
  this.timeout(60_000);
  let camera: DemoCamera;
  let cameraUrl: string;
  let endpoint: WhipEndpoint | undefined;
  exampleTestHooks();

  before(async () => {
    camera = new DemoCamera({ port: 0 });
    cameraUrl = (await camera.start()).url;
  });

  after(() => camera.close());

  afterEach(async () => {
    await helper.unload();
    await endpoint?.stop();
    endpoint = undefined;
  });

  it("imports as it is: the demo camera, whip-out to the local Janus rig started on command, a comment saying what to set", () => {
    const flow = loadExample("publish-to-sfu");
    assert.equal(onlyNode(flow, "rtsp-in").url, DEMO_CAMERA_URL);
    const whip = onlyNode(flow, "whip-out");
    assert.equal(whip.endpoint, EXAMPLE_ENDPOINT);
    assert.equal(whip.startMode, "command");
    assert.equal(whip.token, undefined, "no token in the flow");
    assert.match(onlyNode(flow, "comment").name, /WHIP URL and bearer token.*'start publishing'/);
    const injects = flow.filter((n) => n.type === "inject");
    assert.deepEqual(injects.map((n) => n.payload).sort(), ["start", "stop"]);
    assert.ok(injects.every((n) => (n.wires as string[][])[0]?.[0] === whip.id));
    const debug = onlyNode(flow, "debug");
    assert.deepEqual(whip.wires, [[debug.id]]);
  });

  it("runs: 'start publishing' publishes the camera, its frames decode; 'stop publishing' deletes the resource", async () => {
    endpoint = await WhipEndpoint.start();
    const flow = loadExample("publish-to-sfu", {
      [DEMO_CAMERA_URL]: cameraUrl,
      [EXAMPLE_ENDPOINT]: endpoint.url(),
    });
    await helper.load(exampleNodes(), flow);
    const whip = helper.getNode(onlyNode(flow, "whip-out").id);
    const texts = (): string[] =>
      whip.status
        .getCalls()
        .filter((c: { thisValue: unknown }) => c.thisValue === whip)
        .map((c: { args: [{ text?: string }] }) => c.args[0].text ?? "");
    assert.equal(texts().at(-1), 'waiting for "start"');
    const [start, stop] = ["start", "stop"].map((p) =>
      flow.find((n) => n.type === "inject" && n.payload === p),
    );
    helper.getNode(start?.id).receive({});
    await waitFor(() => texts().some((t) => t.startsWith("publishing to 127.0.0.1")), 20_000, "publishing");
    const pub = endpoint.latest;
    assert.ok(pub);
    await waitFor(() => pub.packets.length > 100, 20_000, "video");
    const decoded = await decodeVideo(depacketizeH264(pub.packets), "h264");
    assert.deepEqual([decoded.width, decoded.height], [640, 360]);
    assert.deepEqual(decoded.decodeErrors, []);
    helper.getNode(stop?.id).receive({});
    await waitFor(() => pub.deleted, 10_000, "the resource deleted");
  });
});
