import "../helpers/loopback-namespace";
import assert from "node:assert/strict";
import path from "node:path";
import { addJanusInterface, removeJanusInterface } from "../helpers/janus-interface";
import { type RoomViewer, subscribeRoom } from "../helpers/janus-room-viewer";
import { type JanusSfu, startJanusSfu } from "../helpers/janus-sfu";
import { type SimpleWhipServer, startSimpleWhipServer } from "../helpers/simple-whip-server";
import { publishTestPattern, type TestPublisher, WhipPostError } from "../helpers/whip-test-publisher";

// The WHIP test rig by itself, with a publisher written in the test (no product code): Debian's Janus
// (VideoRoom) behind meetecho's simple-whip-server, and a subscriber through Janus's HTTP API whose
// packets decode at the publisher's size. If this fails, whip-out's tests against Janus cannot pass.

const ARTIFACTS = path.resolve(__dirname, "../../../.test-artifacts/janus-whip-rig");
const ROOM = 1234;
const TOKEN = "rig-token-6f1c";

describe("Janus WHIP rig (simple-whip-server → VideoRoom → subscriber)", function () {
  this.timeout(60_000);
  let janus: JanusSfu | undefined;
  let whip: SimpleWhipServer | undefined;
  let publisher: TestPublisher | undefined;
  let viewer: RoomViewer | undefined;

  before(async () => {
    addJanusInterface();
    janus = await startJanusSfu({
      dir: path.join(ARTIFACTS, "janus"),
      rooms: [{ id: ROOM, description: "rig" }],
    });
    whip = await startSimpleWhipServer({ dir: path.join(ARTIFACTS, "whip"), janusWsUrl: janus.wsUrl });
    await whip.createEndpoint({ id: "rig", room: ROOM, token: TOKEN });
  });

  after(async () => {
    try {
      await viewer?.close();
      await publisher?.close();
      await whip?.stop();
      await janus?.stop();
    } finally {
      // Whatever failed: the next test file's WebRTC peers must not gather on it.
      removeJanusInterface();
    }
  });

  it("a wrong token is refused with 403 before Janus is asked", async () => {
    const endpointUrl = whip?.endpointUrl("rig") ?? "";
    await assert.rejects(
      publishTestPattern({ endpointUrl, token: "wrong", width: 640, height: 360 }),
      (error: unknown) => error instanceof WhipPostError && error.status === 403,
    );
  });

  it("a published test pattern reaches a subscriber through Janus and decodes at its size", async () => {
    const apiBase = janus?.apiBase ?? "";
    publisher = await publishTestPattern({
      endpointUrl: whip?.endpointUrl("rig") ?? "",
      token: TOKEN,
      width: 640,
      height: 360,
    });
    await publisher.connected;
    viewer = await subscribeRoom(apiBase, ROOM);
    await viewer.connected;
    // Janus asks the publisher for a keyframe (PLI), which this one ignores: its next comes within a
    // second (a 25-frame GOP).
    const decoded = await viewer.decodedFrames(10, 15_000);
    assert.equal(decoded.width, 640);
    assert.equal(decoded.height, 360);
    assert.ok(decoded.frames >= 10, `decoded ${decoded.frames} frames`);
  });

  it("after Janus restarts, simple-whip-server takes a new publish and a new subscriber plays", async () => {
    const sfu = janus as JanusSfu;
    const server = whip as SimpleWhipServer;
    await viewer?.close();
    viewer = undefined;
    const connections = server.connectionsToJanus();
    await sfu.stop();
    await sfu.start();
    await server.waitForJanus(connections);
    // The old publisher's session died with Janus; it never sent DELETE.
    await publisher?.close();
    publisher = await publishTestPattern({
      endpointUrl: server.endpointUrl("rig"),
      token: TOKEN,
      width: 320,
      height: 240,
    });
    await publisher.connected;
    viewer = await subscribeRoom(sfu.apiBase, ROOM);
    await viewer.connected;
    const decoded = await viewer.decodedFrames(10, 15_000);
    assert.equal(decoded.width, 320);
    assert.equal(decoded.height, 240);
  });
});
