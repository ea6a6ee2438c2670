import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import mqtt, { type MqttClient } from "mqtt";
import helper from "node-red-node-test-helper";
import { DemoCamera } from "../../src/demo/demo-camera";
import { runTool } from "../helpers/decode";
import {
  DEMO_CAMERA_URL,
  exampleNodes,
  exampleTestHooks,
  loadExample,
  onlyNode,
} from "../helpers/example-flow";
import { type MqttBroker, startMqttBroker } from "../helpers/mqtt-broker";
import { requireTool } from "../helpers/tools";
import { waitFor } from "../helpers/wait";

// biome-ignore lint/suspicious/noExplicitAny: Node-RED's runtime objects are untyped in tests
type AnyNode = any;

describe("example flow: alarm-clip (aedes broker, demo camera, the real clip writer)", function () {
  this.timeout(60_000);
  let camera: DemoCamera;
  let cameraUrl: string;
  let broker: MqttBroker;
  let client: MqttClient;
  let dir: string;
  exampleTestHooks();

  before(async () => {
    camera = new DemoCamera({ port: 0 });
    cameraUrl = (await camera.start()).url;
    broker = await startMqttBroker();
    client = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
    dir = mkdtempSync(path.join(os.tmpdir(), "alarm-clip-"));
  });

  after(async () => {
    await client.endAsync(true);
    await broker.close();
    await camera.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("imports as it is: alarms/door opens rtp-fanout's gate for 10 s with a 5 s pre-roll, mp4-record records while it is open", () => {
    const flow = loadExample("alarm-clip");
    assert.equal(onlyNode(flow, "rtsp-in").url, DEMO_CAMERA_URL);
    assert.deepEqual(onlyNode(flow, "rtp-fanout").gates, [
      { open: false, filter: "all", autoClose: 10, preRoll: "seconds", preRollSeconds: 5 },
    ]);
    const record = onlyNode(flow, "mp4-record");
    assert.equal(record.mode, "activity");
    assert.equal(record.output, "file");
    assert.equal(record.directory, "recordings");
    assert.deepEqual(record.wires, [[onlyNode(flow, "debug").id]]);
    assert.equal(onlyNode(flow, "mqtt in").topic, "alarms/door");
  });

  it("runs: an alarm on MQTT gives a clip file, its message at the debug node, and the file decodes", async () => {
    const flow = loadExample("alarm-clip", { [DEMO_CAMERA_URL]: cameraUrl });
    onlyNode(flow, "mqtt-broker").port = String(broker.port);
    // The shipped 10 s gate and 5 s idle, shortened; recordings in a directory of the test's own.
    onlyNode(flow, "rtp-fanout").gates[0].autoClose = 2;
    Object.assign(onlyNode(flow, "mp4-record"), { idle: 1, directory: dir, minFree: 0 });
    await helper.load(exampleNodes(), flow);
    const debug = helper.getNode(onlyNode(flow, "debug").id);
    const files: AnyNode[] = [];
    debug.on("input", (msg: AnyNode) => files.push(msg));
    // Let the pre-roll fill, and the MQTT subscription settle.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    await client.publishAsync("alarms/door", "open", { qos: 1 });
    await waitFor(() => files.length === 1, 20_000, "the clip's message at the debug node");
    const msg = files[0];
    assert.equal(path.dirname(msg.payload), dir);
    assert.match(path.basename(msg.payload), /^door_clip-\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}\.mp4$/);
    assert.equal(msg.file.bytes, statSync(msg.payload).size);
    // The gate's 2 s, and up to the 3 s before the alarm (from a keyframe).
    assert.ok(msg.file.durationS >= 2 && msg.file.durationS <= 6, `${msg.file.durationS} s`);
    const decoded = await runTool(requireTool("ffmpeg"), [
      "-v",
      "error",
      "-i",
      msg.payload,
      "-f",
      "null",
      "-",
    ]);
    assert.equal(`${decoded.stderr}`, "");
    assert.equal(decoded.code, 0);
  });
});
