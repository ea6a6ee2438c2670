import assert from "node:assert/strict";
import net from "node:net";
import helper from "node-red-node-test-helper";
import { DemoCamera } from "../../src/demo/demo-camera";
import { withCatalog } from "../helpers/node-catalog";
import { waitFor } from "../helpers/wait";

// biome-ignore lint/suspicious/noExplicitAny: Node-RED's runtime objects are untyped in tests
type AnyNode = any;

const rtspInNode = withCatalog("rtsp-in", require("../../../nodes/rtsp-in.js"));

/** The package declares Node-RED >= 4.1: every node test runs on the oldest supported runtime and the newest. */
const RUNTIMES = ["node-red", "node-red-4"];

/** rtsp-in and a Catch node for its errors, on one tab. */
function flow(url: string) {
  return [
    { id: "tab", type: "tab", label: "alarm" },
    {
      id: "cam",
      type: "rtsp-in",
      z: "tab",
      name: "door",
      url,
      transport: "tcp",
      media: "video",
      startMode: "deploy",
      wires: [[], ["events"]],
    },
    { id: "events", type: "helper", z: "tab" },
    { id: "alarm", type: "catch", z: "tab", name: "", scope: null, uncaught: false, wires: [["caught"]] },
    { id: "caught", type: "helper", z: "tab" },
  ];
}

/** A port on 127.0.0.1 that nothing listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

for (const runtime of RUNTIMES) {
  describe(`rtsp-in alarms a Catch node when the camera fails (${runtime} ${require(`${runtime}/package.json`).version})`, function () {
    this.timeout(60_000);
    let camera: DemoCamera | undefined;
    let caught: AnyNode[];
    let states: string[];

    before(async () => {
      helper.init(require.resolve(runtime));
      await new Promise<void>((resolve) => helper.startServer(() => resolve()));
    });

    after(async () => {
      await new Promise<void>((resolve) => helper.stopServer(() => resolve()));
    });

    afterEach(async () => {
      await helper.unload();
      await camera?.close();
      camera = undefined;
    });

    async function deploy(url: string): Promise<void> {
      caught = [];
      states = [];
      await helper.load(rtspInNode, flow(url));
      helper.getNode("caught").on("input", (msg: AnyNode) => caught.push(msg));
      helper.getNode("events").on("input", (msg: AnyNode) => states.push(msg.payload.state));
    }

    const count = (state: string) => states.filter((s) => s === state).length;

    it("playing → retrying raises one error; the retries after it none; playing again arms it again", async () => {
      camera = new DemoCamera({ port: 0 });
      const { port, url } = await camera.start();
      await deploy(url);
      await waitFor(() => count("playing") === 1, 20_000, "playing");
      assert.equal(caught.length, 0, "no error while it plays");

      await camera.close();
      await waitFor(() => count("retrying") >= 3, 20_000, "three retries");
      assert.equal(caught.length, 1, "one error for the change, none for the retries");
      const [alarm] = caught;
      assert.match(alarm.error.message, /^door: the camera stopped playing: \S/);
      assert.equal(alarm.error.source.id, "cam");
      assert.equal(alarm.topic, "door");
      assert.equal(alarm.payload.state, "retrying", "the message is the state event of output 2");

      camera = new DemoCamera({ port });
      await camera.start();
      await waitFor(() => count("playing") === 2, 30_000, "playing again");
      assert.equal(caught.length, 1);
      await camera.close();
      await waitFor(() => caught.length === 2, 20_000, "a second error");
      const retriesThen = count("retrying");
      await waitFor(() => count("retrying") >= retriesThen + 2, 20_000, "two more retries");
      assert.equal(caught.length, 2);
      assert.match(caught[1].error.message, /^door: the camera stopped playing: /);
    });

    it("a camera that cannot be reached from the start: one error, whatever the number of retries", async () => {
      await deploy(`rtsp://127.0.0.1:${await closedPort()}/stream`);
      await waitFor(() => count("retrying") >= 3, 20_000, "three retries");
      assert.equal(caught.length, 1);
      assert.match(caught[0].error.message, /^door: cannot play the camera: .*refused/);
      assert.equal(count("playing"), 0);
    });
  });
}
