import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import helper from "node-red-node-test-helper";
import { DemoCamera } from "../../src/demo/demo-camera";

// biome-ignore lint/suspicious/noExplicitAny: Node-RED's runtime objects are untyped in tests
type AnyNode = any;

const EXAMPLES = path.join(__dirname, "../../../examples");
const nodes = [
  require("../../../nodes/rtsp-in.js"),
  require("../../../nodes/webrtc-out.js"),
  require("@node-red/nodes/core/common/21-debug.js"),
  require("@node-red/nodes/core/common/90-comment.js"),
];

function loadExample(name: string, cameraUrl: string): AnyNode[] {
  const text = readFileSync(path.join(EXAMPLES, `${name}.json`), "utf8");
  return JSON.parse(text.replaceAll("rtsp://127.0.0.1:8554/demo", cameraUrl));
}

describe("example flows import and run as they are", function () {
  this.timeout(30_000);
  let camera: DemoCamera;
  let cameraUrl: string;

  before(async () => {
    helper.init(require.resolve("node-red"));
    camera = new DemoCamera({ port: 0 });
    cameraUrl = (await camera.start()).url;
    await new Promise<void>((resolve) => helper.startServer(() => resolve()));
  });

  after(async () => {
    await camera.close();
    await new Promise<void>((resolve) => helper.stopServer(() => resolve()));
  });

  afterEach(() => helper.unload());

  it("basic: the demo camera plays and reaches the webrtc-out node", async () => {
    const flow = loadExample("basic", cameraUrl);
    assert.ok(
      flow.some((n) => n.type === "rtsp-in" && n.url === cameraUrl),
      "the example points at the demo camera",
    );
    await helper.load(nodes, flow);
    const out = helper.getNode(flow.find((n) => n.type === "webrtc-out").id);
    const seen: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`webrtc-out never saw the stream; saw ${seen.join(" | ")}`)),
        20_000,
      );
      out.on("call:status", (call: { args: [{ text?: string }] }) => {
        seen.push(call.args[0].text ?? "");
        if (/^0 viewers · H264/.test(call.args[0].text ?? "")) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    const statuses = out.status.args.map((a: [{ text?: string }]) => a[0].text ?? "");
    assert.ok(
      statuses.some((t: string) => t.startsWith("playing H264 640x360")),
      "rtsp-in plays",
    );
  });
});
