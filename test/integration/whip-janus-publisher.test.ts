import "../helpers/loopback-namespace";
import assert from "node:assert/strict";
import path from "node:path";
import { WhipPublisher, type WhipStateEvent } from "../../src/whip/publisher";
import { GstRtspServer } from "../helpers/gst-server";
import { addJanusInterface, removeJanusInterface } from "../helpers/janus-interface";
import { type RoomViewer, subscribeRoom } from "../helpers/janus-room-viewer";
import { type JanusSfu, startJanusSfu } from "../helpers/janus-sfu";
import { type SimpleWhipServer, startSimpleWhipServer } from "../helpers/simple-whip-server";
import { SourceHarness } from "../helpers/source-harness";
import { waitFor } from "../helpers/wait";

// src/whip's publisher against a real SFU: Debian's Janus 1.1.2 (VideoRoom) behind meetecho's
// simple-whip-server, a camera pulled by the RTSP source, and a viewer subscribed through Janus whose
// packets decode at the camera's size. The whip-out node's own tests (test/node/whip-janus.test.ts)
// go through Node-RED; these pin the library to what Janus does.

const ARTIFACTS = path.resolve(__dirname, "../../../.test-artifacts/whip-janus-publisher");
const ROOM = 2001;
const TOKEN = "janus-token-8d2e41";
const FAST_RETRY = { delaysMs: [300, 600], jitter: 0 };

describe("WhipPublisher → simple-whip-server → Janus VideoRoom → subscriber", function () {
  this.timeout(60_000);
  let janus: JanusSfu;
  let whip: SimpleWhipServer;
  let camera: GstRtspServer;
  let harness: SourceHarness;
  let publisher: WhipPublisher | undefined;
  let viewer: RoomViewer | undefined;
  let states: WhipStateEvent[] = [];

  before(async () => {
    addJanusInterface();
    janus = await startJanusSfu({
      dir: path.join(ARTIFACTS, "janus"),
      rooms: [{ id: ROOM, description: "cam" }],
    });
    whip = await startSimpleWhipServer({ dir: path.join(ARTIFACTS, "whip"), janusWsUrl: janus.wsUrl });
    await whip.createEndpoint({ id: "cam", room: ROOM, token: TOKEN });
    camera = await GstRtspServer.start({
      codec: "h264",
      width: 640,
      height: 480,
      fps: 25,
      keyint: 50,
      audio: "pcma",
    });
    harness = new SourceHarness({ url: camera.url });
    harness.source.start();
    await harness.until(() => harness.video().some((v) => v.unit.keyframe), 20_000, "a keyframe");
  });

  after(async () => {
    await viewer?.close();
    await publisher?.close();
    await harness?.close();
    await camera?.stop();
    await whip?.stop();
    await janus?.stop();
    removeJanusInterface();
  });

  afterEach(async () => {
    await viewer?.close();
    viewer = undefined;
    await publisher?.close();
    publisher = undefined;
  });

  function publish(token = TOKEN): WhipPublisher {
    states = [];
    const p = new WhipPublisher({ endpoint: whip.endpointUrl("cam"), token, backoff: FAST_RETRY });
    p.on("state", (event) => states.push(event));
    const feed = (unit: Parameters<WhipPublisher["push"]>[0], stream: Parameters<WhipPublisher["push"]>[1]) =>
      p.push(unit, stream);
    harness.source.on("frame", feed);
    const close = p.close.bind(p);
    p.close = async () => {
      harness.source.off("frame", feed);
      await close();
    };
    p.start();
    publisher = p;
    return p;
  }

  const publishingCount = (): number => states.filter((s) => s.state === "publishing").length;

  async function viewerPlays(width: number, height: number): Promise<RoomViewer> {
    const v = await subscribeRoom(janus.apiBase, ROOM);
    viewer = v;
    await v.connected;
    const decoded = await v.decodedFrames(10, 15_000);
    assert.deepEqual([decoded.width, decoded.height], [width, height]);
    return v;
  }

  it("publishes the camera: a viewer through Janus decodes it at the camera's size, and gets its audio", async () => {
    publish();
    await waitFor(() => publishingCount() === 1, 20_000, "publishing");
    assert.equal(states.at(-1)?.media, "H264 640x480");
    const v = await viewerPlays(640, 480);
    await waitFor(() => v.audioPackets.length > 25, 10_000, "PCMA through Janus");
  });

  it("a wrong token: retrying with Janus's 403, the token nowhere in what it says", async () => {
    publish("not-the-token");
    await waitFor(() => states.filter((s) => s.state === "retrying").length >= 2, 20_000, "two retries");
    const retry = states.find((s) => s.state === "retrying");
    assert.match(retry?.reason ?? "", /403/);
    assert.ok((retry?.retryInMs ?? 0) > 0);
    for (const s of states) assert.doesNotMatch(JSON.stringify(s), /not-the-token|janus-token/);
  });

  it("a camera restart: the same publish goes on, and the viewer through Janus plays again", async () => {
    publish();
    await waitFor(() => publishingCount() === 1, 20_000, "publishing");
    const v = await viewerPlays(640, 480);
    const sessions = new Set(harness.units.map((u) => u.stream.session)).size;
    await camera.restart();
    await waitFor(
      () => new Set(harness.units.map((u) => u.stream.session)).size > sessions,
      20_000,
      "a new RTSP session",
    );
    v.clear();
    const decoded = await v.decodedFrames(10, 15_000);
    assert.deepEqual([decoded.width, decoded.height], [640, 480]);
    assert.equal(publishingCount(), 1, `no new publish: ${JSON.stringify(states.map((s) => s.state))}`);
  });

  it("a Janus restart: it publishes again, and a viewer subscribed afresh plays", async () => {
    publish();
    await waitFor(() => publishingCount() === 1, 20_000, "publishing");
    await viewerPlays(640, 480);
    await viewer?.close();
    viewer = undefined;
    const connections = whip.connectionsToJanus();
    await janus.stop();
    await janus.start();
    await whip.waitForJanus(connections);
    // Janus's end of the session is gone. Janus stopped by SIGINT mostly closes DTLS (the publisher
    // retries at once, 503 until simple-whip-server is back on Janus); about one run in four nothing
    // arrives and the publisher waits for ICE consent to expire (~30 s): the bound covers both.
    await waitFor(() => publishingCount() >= 2, 45_000, "a second publish");
    await viewerPlays(640, 480);
  });
});
