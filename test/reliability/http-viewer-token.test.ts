import assert from "node:assert/strict";
import helper from "node-red-node-test-helper";
import request from "supertest";
import type { NodeAPI } from "../../src/nodes/red";
import { closeLocalServers, type ExpressApp, listenLocal } from "../helpers/express-app";
import { readOffer } from "../helpers/offer-fixtures";

// The viewer token as Node-RED gives it to the node: from its credentials store (a password field,
// never in the flow), with the real webrtc-out module and its real viewer set.

const webrtcOutNode = require("../../../nodes/webrtc-out.js") as (RED: NodeAPI) => void;
const TOKEN = "node-red-stored-token";
const OFFER = readOffer("chromium-156.sdp");

let httpNode: ExpressApp | undefined;
function capturing(RED: NodeAPI): void {
  httpNode = RED.httpNode as ExpressApp;
  webrtcOutNode(RED);
}

interface Message {
  payload: { event?: string };
}

describe("reliability: a webrtc-out node's viewer token from Node-RED's credentials", function () {
  this.timeout(30_000);

  before(async () => {
    helper.init(require.resolve("node-red"));
    await new Promise<void>((resolve) => helper.startServer(() => resolve()));
  });

  after(async () => {
    await new Promise<void>((resolve) => helper.stopServer(() => resolve()));
  });

  afterEach(async () => {
    await closeLocalServers();
    await helper.unload();
    httpNode = undefined;
  });

  it("refuses requests without the token before they reach the viewer set; admits them with it", async () => {
    const flow = [
      { id: "n1", type: "webrtc-out", name: "door", path: "door", statsInterval: 0, wires: [["out"]] },
      { id: "out", type: "helper" },
    ];
    await helper.load(capturing, flow, { n1: { viewerToken: TOKEN } });
    assert.ok(httpNode);
    const events: string[] = [];
    helper.getNode("out").on("input", (msg: Message) => events.push(msg.payload.event ?? ""));
    const server = await listenLocal(httpNode);

    // Without the token: 401 everywhere, and the viewer set never sees the offer (it would answer
    // "no stream yet" and the node would send a "requested" event).
    const page = await request(server).get("/door").expect(401);
    assert.deepEqual(Object.keys(page.body).sort(), ["detail", "error"]);
    assert.match(page.headers["www-authenticate"] ?? "", /^Bearer /);
    await request(server).post("/door/offer").send({ type: "offer", sdp: OFFER }).expect(401);
    await request(server)
      .post("/door/whep")
      .set("Content-Type", "application/sdp")
      .set("Authorization", "Bearer wrong")
      .send(OFFER)
      .expect(401);
    await request(server).get("/door/stats").expect(401);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(events, [], "no refused request reached the viewer set");

    // With it: the page, and an offer that reaches the viewer set (503: nothing has arrived yet).
    const player = await request(server).get(`/door?token=${TOKEN}`).expect(200);
    assert.ok(player.text.includes(`"bearerToken":"${TOKEN}"`));
    const offer = await request(server)
      .post("/door/offer")
      .set("Authorization", `Bearer ${TOKEN}`)
      .send({ type: "offer", sdp: OFFER })
      .expect(503);
    assert.equal(offer.body.code, "no-stream");
    await request(server).get("/door/stats").set("Authorization", `Bearer ${TOKEN}`).expect(200);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(events, ["requested"]);

    // The wall lists it by name only.
    const wall = await request(server).get("/webrtc/streams").expect(200);
    assert.equal(wall.body[0].state, "protected");
    assert.ok(!wall.text.includes(TOKEN));
  });

  it("the token is a password credential: Node-RED keeps it in its credentials store, never in the flow", async () => {
    let credentials: Record<string, { type: string }> | undefined;
    const stub = {
      nodes: {
        createNode: () => {},
        registerType: (
          _type: string,
          _factory: unknown,
          options?: { credentials?: Record<string, { type: string }> },
        ) => {
          credentials = options?.credentials;
        },
      },
      events: { once: () => {}, off: () => {} },
      settings: {},
    } as unknown as NodeAPI;
    webrtcOutNode(stub);
    assert.deepEqual(credentials?.viewerToken, { type: "password" });
    const flow = [
      { id: "n1", type: "webrtc-out", name: "door", path: "door", statsInterval: 0, wires: [[]] },
    ];
    await helper.load(capturing, flow, { n1: { viewerToken: TOKEN } });
    const node = helper.getNode("n1") as { credentials?: { viewerToken?: string } };
    assert.equal(node.credentials?.viewerToken, TOKEN);
    assert.ok(!JSON.stringify(flow).includes(TOKEN));
  });
});
