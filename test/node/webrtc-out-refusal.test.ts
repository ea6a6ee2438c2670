import assert from "node:assert/strict";
import type { Server } from "node:http";
import helper from "node-red-node-test-helper";
import request from "supertest";
import type { NodeAPI, NodeStatus } from "../../src/nodes/red";
import { closeLocalServers, type ExpressApp, listenLocal } from "../helpers/express-app";
import { GstRtspServer } from "../helpers/gst-server";
import { withCatalog } from "../helpers/node-catalog";
import { waitFor } from "../helpers/wait";
import { connectViewer, type WeriftViewer } from "../helpers/werift-viewer";

// biome-ignore lint/suspicious/noExplicitAny: Node-RED's runtime objects are untyped in tests
type AnyNode = any;

const rtspInNode = withCatalog("rtsp-in", require("../../../nodes/rtsp-in.js"));
const webrtcOutNode = withCatalog("webrtc-out", require("../../../nodes/webrtc-out.js"));

let httpNode: ExpressApp | undefined;

/** webrtc-out as Node-RED loads it, keeping hold of RED.httpNode, which the test helper does not expose. */
function capturing(RED: NodeAPI): Promise<void> {
  httpNode = RED.httpNode as ExpressApp;
  return webrtcOutNode(RED);
}

/** A refused offer, as the viewer's side sees it. */
class Refused extends Error {
  constructor(
    readonly status: number,
    readonly body: { code?: string },
  ) {
    super(`offer refused: ${status} ${JSON.stringify(body)}`);
  }
}

/**
 * A viewer refused for something the user can fix (here: an H.265 camera, a browser without H.265)
 * turns webrtc-out's status yellow with the reason, instead of green; a viewer that joins turns it
 * green again.
 */
describe("webrtc-out says in its status that it refused a viewer (H.265 camera, werift viewers)", function () {
  this.timeout(60_000);
  let camera: GstRtspServer;
  const viewers: WeriftViewer[] = [];

  before(async () => {
    helper.init(require.resolve("node-red"));
    camera = await GstRtspServer.start({ codec: "h265", keyint: 10 });
    await new Promise<void>((resolve) => helper.startServer(() => resolve()));
  });

  after(async () => {
    await camera?.stop();
    await new Promise<void>((resolve) => helper.stopServer(() => resolve()));
  });

  afterEach(async () => {
    await Promise.all(viewers.splice(0).map((v) => v.close()));
    await closeLocalServers();
    await helper.unload();
  });

  it("a browser without H.265: yellow, saying why; a viewer that joins: green", async () => {
    await helper.load(
      [rtspInNode, capturing],
      [
        {
          id: "cam",
          type: "rtsp-in",
          name: "h265",
          url: camera.url,
          transport: "tcp",
          media: "video",
          startMode: "deploy",
          wires: [["n1"], []],
        },
        {
          id: "n1",
          type: "webrtc-out",
          name: "",
          path: "cam1",
          statsInterval: 0,
          hostAddresses: "127.0.0.1",
          wires: [[]],
        },
      ],
    );
    assert.ok(httpNode, "webrtc-out was given RED.httpNode");
    const server: Server = await listenLocal(httpNode);
    const node = helper.getNode("n1");
    // The helper's spy sits on the Node prototype: it sees rtsp-in's statuses too.
    const status = (): NodeStatus =>
      node.status
        .getCalls()
        .filter((call: AnyNode) => call.thisValue === node)
        .at(-1)?.args[0] ?? {};
    await waitFor(
      async () => (await request(server).get("/cam1/stats")).body.stream?.sourceState === "receiving",
      20_000,
      "the stream",
    );
    await waitFor(() => status().fill === "green", 10_000, "a green status with the stream");

    const offer = async (sdp: string): Promise<string> => {
      const res = await request(server).post("/cam1/offer").send({ type: "offer", sdp });
      if (res.status !== 200) throw new Refused(res.status, res.body);
      return res.body.sdp;
    };
    const refused = await connectViewer({ offer, h265: false }).then(
      (v) => {
        viewers.push(v);
        return undefined;
      },
      (err: unknown) => err,
    );
    assert.ok(refused instanceof Refused, String(refused));
    assert.equal(refused.status, 406);
    assert.equal(refused.body.code, "no-common-codec");

    await waitFor(() => status().fill === "yellow", 5000, "a yellow status");
    assert.equal(status().shape, "dot");
    assert.match(
      status().text ?? "",
      /^0 viewers · H265( · [\d.]+ [kM]bps)? · a viewer was refused: its browser cannot play H265$/,
    );
    // The status timer does not turn it green by itself.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    assert.equal(status().fill, "yellow");

    const watching = await connectViewer({ offer, h265: true });
    viewers.push(watching);
    await watching.connected;
    await waitFor(() => status().fill === "green", 5000, "green again");
    assert.match(status().text ?? "", /^1 viewer · H265/);
    assert.doesNotMatch(status().text ?? "", /refused/);
  });
});
