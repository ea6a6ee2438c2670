import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import helper from "node-red-node-test-helper";
import request from "supertest";
import type { NodeAPI } from "../../src/nodes/red";
import { closeLocalServers, type ExpressApp, listenLocal } from "../helpers/express-app";
import { decryptCredentials, type NodeRedProcess, startNodeRed } from "../helpers/node-red-process";
import { readOffer } from "../helpers/offer-fixtures";
import { waitFor } from "../helpers/wait";

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
    await waitFor(() => events.length > 0, 5000, "the requested event");
    assert.deepEqual(events, ["requested"]);

    // The wall lists nothing of it: neither its path nor its name, let alone the token.
    const wall = await request(server).get("/webrtc/streams").expect(200);
    assert.deepEqual(wall.body, []);
    assert.ok(!/door/i.test(wall.text) && !wall.text.includes(TOKEN), wall.text);
  });
});

/** Characters that percent-encoding changes, so that both spellings are searched for. */
const STORED_TOKEN = "deployed-T0ken/with+marks";
const CREDENTIAL_SECRET = "the test's own credential secret";

/** Every spelling in which the token could be written: as typed, percent-encoded (either hex case). */
function assertNoToken(what: string, text: string): void {
  for (const spelling of [
    STORED_TOKEN,
    encodeURIComponent(STORED_TOKEN),
    encodeURIComponent(STORED_TOKEN).toLowerCase(),
  ]) {
    const at = text.indexOf(spelling);
    assert.equal(
      at,
      -1,
      `${what} holds the viewer token as "${spelling}": …${text.slice(Math.max(0, at - 80), at + 40)}…`,
    );
  }
}

describe("reliability: a viewer token deployed to a real Node-RED is kept in its credentials store, never in the flow", function () {
  this.timeout(60_000);
  let nodeRed: NodeRedProcess | undefined;

  after(async () => {
    await nodeRed?.stop();
  });

  it("the flow file and GET /flows have no token; the encrypted credentials file has it, and the node uses it", async () => {
    nodeRed = await startNodeRed({
      runtime: "node-red",
      settings: `module.exports = {
  uiHost: "127.0.0.1",
  flowFile: "flows.json",
  credentialSecret: ${JSON.stringify(CREDENTIAL_SECRET)},
  telemetry: { enabled: false },
  editorTheme: { tours: false, projects: { enabled: false } },
};`,
      flows: [],
    });
    const base = `http://127.0.0.1:${nodeRed.port}`;
    // What the editor sends on deploy: the credentials ride along inside the node, the runtime takes them out.
    const deployed = await fetch(`${base}/flows`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Node-RED-Deployment-Type": "full" },
      body: JSON.stringify([
        { id: "t1", type: "tab", label: "viewers" },
        {
          id: "n1",
          z: "t1",
          type: "webrtc-out",
          name: "door",
          path: "door",
          statsInterval: 0,
          wires: [[]],
          credentials: { viewerToken: STORED_TOKEN },
        },
      ]),
    });
    assert.equal(deployed.status, 204, await deployed.text());
    await waitFor(
      async () => (await fetch(`${base}/door`)).status === 401,
      20_000,
      "the node guarding /door",
    );
    const withToken = await fetch(`${base}/door?token=${encodeURIComponent(STORED_TOKEN)}`);
    assert.equal(withToken.status, 200, "the node got the token the runtime stored");

    const flowsFile = join(nodeRed.userDir, "flows.json");
    const written = readFileSync(flowsFile, "utf8");
    assert.ok(written.includes('"webrtc-out"'), `the runtime wrote the deployed flow: ${written}`);
    assertNoToken("flows.json as the runtime wrote it", written);
    const credentialsFile = join(nodeRed.userDir, "flows_cred.json");
    assertNoToken("flows_cred.json as stored", readFileSync(credentialsFile, "utf8"));
    assert.equal(decryptCredentials(credentialsFile, CREDENTIAL_SECRET).n1?.viewerToken, STORED_TOKEN);

    const flows = await (await fetch(`${base}/flows`, { headers: { "Node-RED-API-Version": "v2" } })).text();
    assert.ok(flows.includes('"webrtc-out"'));
    assertNoToken("GET /flows", flows);
    const credentials = (await (await fetch(`${base}/credentials/webrtc-out/n1`)).json()) as Record<
      string,
      unknown
    >;
    assert.equal(credentials.has_viewerToken, true);
    assertNoToken("GET /credentials/webrtc-out/n1", JSON.stringify(credentials));
    assertNoToken("Node-RED's log", nodeRed.output());
  });
});
