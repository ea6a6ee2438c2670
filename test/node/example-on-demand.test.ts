import assert from "node:assert/strict";
import type { Server } from "node:http";
import helper from "node-red-node-test-helper";
import request from "supertest";
import { DemoCamera } from "../../src/demo/demo-camera";
import {
  assertViewerDecodes,
  DEMO_CAMERA_URL,
  exampleNodes,
  exampleTestHooks,
  type FlowNode,
  loadExample,
  onLoopback,
  onlyNode,
  serveHttpNode,
} from "../helpers/example-flow";
import { waitFor } from "../helpers/wait";
import { connectViewer, type WeriftViewer } from "../helpers/werift-viewer";

const PAGE = "/on-demand";
const SIZE = { width: 640, height: 360 };
/** The shipped flow stops the camera 10 s after the last viewer leaves; the tests wait 2 s. */
const SHIPPED_DELAY = '"duration": "10"';
const DELAY_MS = 2000;

interface Watching {
  readonly viewer: WeriftViewer;
  /** The viewer's WHEP resource (the offer's answer names it), for DELETE. */
  readonly location: string;
  /** Every status the offer was answered with, the player page's retries included. */
  readonly statuses: number[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("example flow: on-demand", function () {
  this.timeout(90_000);
  let camera: DemoCamera;
  let cameraUrl: string;
  const viewers = exampleTestHooks();

  /** PLAY and TEARDOWN requests the camera got. */
  function cameraRequests(): { play: number; teardown: number } {
    const counts = camera.requestCounts();
    return { play: counts.PLAY ?? 0, teardown: counts.TEARDOWN ?? 0 };
  }

  function playingSessions(): number {
    return camera.sessionStats().filter((s) => s.state === "playing").length;
  }

  /** The example with the test's camera and a 2 s delay, deployed; its page served on 127.0.0.1. */
  async function deploy(): Promise<{ flow: FlowNode[]; server: Server }> {
    const flow = onLoopback(
      loadExample("on-demand", {
        [DEMO_CAMERA_URL]: cameraUrl,
        [SHIPPED_DELAY]: `"duration": "${DELAY_MS / 1000}"`,
      }),
    );
    assert.equal(onlyNode(flow, "trigger").duration, String(DELAY_MS / 1000));
    await helper.load(exampleNodes(), flow);
    return { flow, server: await serveHttpNode() };
  }

  /** A viewer that offers the way the player page does: again after each 503, until it is answered. */
  async function watch(server: Server): Promise<Watching> {
    const statuses: number[] = [];
    let location = "";
    const viewer = await connectViewer({
      connectTimeoutMs: 30_000,
      offer: async (sdp) => {
        for (let attempt = 0; attempt < 40; attempt++) {
          const res = await request(server).post(`${PAGE}/offer`).send({ type: "offer", sdp });
          statuses.push(res.status);
          if (res.status === 200) {
            location = res.body.location;
            return res.body.sdp;
          }
          assert.equal(res.status, 503, JSON.stringify(res.body));
          await sleep(500);
        }
        throw new Error(`no answer: ${statuses.join(", ")}`);
      },
    });
    viewers.push(viewer);
    await viewer.connected;
    return { viewer, location, statuses };
  }

  async function leave(server: Server, watching: Watching): Promise<void> {
    await request(server).delete(watching.location).expect(200);
  }

  beforeEach(async () => {
    camera = new DemoCamera({ port: 0 });
    cameraUrl = (await camera.start()).url;
  });

  afterEach(() => camera.close());

  it("imports as it is: the demo camera started on command, the page at /on-demand, a stop 10 s later", () => {
    const flow = loadExample("on-demand");
    assert.equal(onlyNode(flow, "tab").label, "Camera on demand");
    const rtspIn = onlyNode(flow, "rtsp-in");
    assert.deepEqual(
      { name: rtspIn.name, url: rtspIn.url, startMode: rtspIn.startMode },
      { name: "camera", url: DEMO_CAMERA_URL, startMode: "command" },
    );
    assert.equal(onlyNode(flow, "webrtc-out").path, "on-demand");
    const trigger = onlyNode(flow, "trigger");
    assert.deepEqual(
      { duration: trigger.duration, units: trigger.units, op2: trigger.op2, reset: trigger.reset },
      { duration: "10", units: "s", op2: "stop", reset: "start" },
    );
    assert.deepEqual(trigger.wires, [[rtspIn.id]]);
    assert.match(onlyNode(flow, "comment").name, /\/on-demand/);
    for (const node of flow) assert.match(node.id, /^0dde[0-9a-f]{12}$/);
  });

  it("the camera is not pulled until asked: the first offer gets 503 and starts it, a retry plays", async () => {
    const { flow, server } = await deploy();
    await sleep(1500);
    assert.deepEqual(camera.requestCounts(), {}, "no request at all reached the camera after deploy");
    const first = await request(server).post(`${PAGE}/offer`).send({ type: "offer", sdp: "v=0" });
    assert.equal(first.status, 400, "a bad offer asks for nothing");
    await sleep(1000);
    assert.equal(cameraRequests().play, 0);

    const watching = await watch(server);
    assert.equal(watching.statuses[0], 503, "the first offer finds no stream");
    assert.equal(watching.statuses.at(-1), 200);
    assert.equal(cameraRequests().play, 1);
    await assertViewerDecodes(watching.viewer, SIZE);
    const statuses: string[] = helper
      .getNode(onlyNode(flow, "rtsp-in").id)
      .status.args.map((a: [{ text?: string }]) => a[0].text ?? "");
    assert.ok(
      statuses.some((t) => t.startsWith("playing H264 640x360")),
      statuses.join(" | "),
    );
  });

  it("the last viewer leaving stops the camera after the delay, not before", async () => {
    const { server } = await deploy();
    const first = await watch(server);
    const second = await watch(server);
    await waitFor(() => second.viewer.packets.length > 50, 15_000, "video at the second viewer");
    await leave(server, first);
    await sleep(DELAY_MS + 1000);
    assert.deepEqual(cameraRequests(), { play: 1, teardown: 0 }, "one viewer still watches");

    const left = performance.now();
    await leave(server, second);
    await sleep(DELAY_MS / 2);
    assert.equal(cameraRequests().teardown, 0, "not stopped before the delay");
    assert.equal(playingSessions(), 1);
    await waitFor(() => cameraRequests().teardown === 1, DELAY_MS + 5000, "the TEARDOWN");
    const stoppedAfter = performance.now() - left;
    assert.ok(stoppedAfter >= DELAY_MS, `stopped ${Math.round(stoppedAfter)} ms after the last viewer left`);
    assert.equal(playingSessions(), 0);
    assert.equal(camera.sessionStats()[0]?.ended, "teardown");

    // And pulled again for the next viewer.
    const again = await watch(server);
    await waitFor(() => cameraRequests().play === 2, 10_000, "a second PLAY");
    await assertViewerDecodes(again.viewer, SIZE);
  });

  it("a viewer who comes back within the delay cancels the stop", async () => {
    const { server } = await deploy();
    const first = await watch(server);
    await waitFor(() => first.viewer.packets.length > 50, 15_000, "video at the first viewer");
    await leave(server, first);
    await sleep(300);
    const back = await watch(server);
    assert.deepEqual(back.statuses, [200], "the stream is still there");
    await sleep(DELAY_MS + 1500);
    assert.deepEqual(cameraRequests(), { play: 1, teardown: 0 }, "the camera kept running");
    assert.equal(playingSessions(), 1);
    await assertViewerDecodes(back.viewer, SIZE);
  });
});
