import assert from "node:assert/strict";
import mqtt, { type MqttClient } from "mqtt";
import helper from "node-red-node-test-helper";
import request from "supertest";
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
import { type MqttBroker, startMqttBroker } from "../helpers/mqtt-broker";
import { waitFor } from "../helpers/wait";

describe("example flow: mqtt-alarm (aedes broker, demo camera, werift viewer)", function () {
  this.timeout(60_000);
  let camera: DemoCamera;
  let cameraUrl: string;
  let broker: MqttBroker;
  let client: MqttClient;
  const states: { topic: string; state: string; retain: boolean }[] = [];
  const viewers = exampleTestHooks();

  before(async () => {
    camera = new DemoCamera({ port: 0 });
    cameraUrl = (await camera.start()).url;
    broker = await startMqttBroker();
    client = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
    client.on("message", (topic, payload, packet) => {
      states.push({ topic, state: JSON.parse(payload.toString()).state, retain: packet.retain });
    });
    await client.subscribeAsync("cameras/+/state", { qos: 1 });
  });

  after(async () => {
    await client.endAsync(true);
    await broker.close();
    await camera.close();
  });

  it("imports as it is: alarms/door opens rtp-fanout's gate for 60 s with pre-roll, state goes to cameras/door/state", () => {
    const flow = loadExample("mqtt-alarm");
    assert.equal(onlyNode(flow, "rtsp-in").url, DEMO_CAMERA_URL);
    const fanout = onlyNode(flow, "rtp-fanout");
    assert.deepEqual(fanout.gates, [
      { open: false, filter: "all", autoClose: 60, preRoll: "gop", preRollSeconds: 5 },
    ]);
    assert.equal(onlyNode(flow, "mqtt in").topic, "alarms/door");
    assert.equal(onlyNode(flow, "webrtc-out").path, "door");
  });

  it("runs: an alarm opens the view, a viewer decodes it, the gate closes by itself; state reaches MQTT", async () => {
    const flow = onLoopback(loadExample("mqtt-alarm", { [DEMO_CAMERA_URL]: cameraUrl }));
    onlyNode(flow, "mqtt-broker").port = String(broker.port);
    // The shipped 60 s, shortened so the test sees the gate close.
    onlyNode(flow, "rtp-fanout").gates[0].autoClose = 4;
    await helper.load(exampleNodes(), flow);
    const server = await serveHttpNode();

    await waitFor(
      () => states.some((s) => s.topic === "cameras/door/state" && s.state === "playing"),
      15_000,
      "playing on MQTT",
    );
    assert.ok(
      states.find((s) => s.state === "playing")?.retain === false,
      "live publication (retained ones come on subscribe)",
    );

    // Gate closed: the page at /door has no stream.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const before = await request(server).get("/door/stats");
    assert.equal(before.body.stream.sourceState, "waiting", "no stream before the alarm");

    await client.publishAsync("alarms/door", "open", { qos: 1 });
    await streamArrives(server, "/door");
    const viewer = await viewerOf(server, "/door");
    viewers.push(viewer);
    await assertViewerDecodes(viewer, { width: 640, height: 360 });

    // The gate closes 4 s after the alarm: packets stop, the connection stays.
    await waitFor(
      async () => (await request(server).get("/door/stats")).body.stream?.sourceState === "stalled",
      15_000,
      "the gate to close",
    );
    const stopped = viewer.packets.length;
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.ok(viewer.packets.length - stopped < 5, "no video while the gate is closed");
    assert.equal(viewer.pc.connectionState, "connected");

    // Another alarm: the same viewer gets video again, at once, from the pre-roll keyframe.
    await client.publishAsync("alarms/door", "open", { qos: 1 });
    await waitFor(() => viewer.packets.length > stopped + 50, 10_000, "video after the second alarm");
    // "close" closes early.
    await client.publishAsync("alarms/door", "close", { qos: 1 });
    await waitFor(
      async () => (await request(server).get("/door/stats")).body.stream?.sourceState === "stalled",
      15_000,
      "the gate to close on close",
    );

    // The camera goes away: its state on MQTT says so.
    await camera.close();
    await waitFor(() => states.some((s) => s.state === "retrying"), 15_000, "retrying on MQTT");
    camera = new DemoCamera({ port: Number(new URL(cameraUrl).port) });
    await camera.start();
  });
});
