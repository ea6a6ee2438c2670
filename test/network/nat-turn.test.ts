import "../helpers/loopback-namespace";
import assert from "node:assert/strict";
import { type LaunchedChromium, launchChromium } from "../helpers/chromium";
import { GstRtspServer } from "../helpers/gst-server";
import { NetnsLab } from "../helpers/netns";
import {
  cameraNode,
  relaySettings,
  type SelectedPair,
  selectedPair,
  startTurnServer,
  startWeriftViewers,
  TAB,
  type TurnServer,
  waitForPlaying,
  webrtcOutNode,
} from "../helpers/network-peers";
import { type NodeRedProcess, startNodeRed } from "../helpers/node-red-process";

// Issue 19, viewers through NAT and through TURN, with the relay as it is (per-viewer ports or the
// shared one alike). Hosts are namespaces this file makes (test/helpers/netns.ts):
//
//   relay 10.77.0.2 ── r0 10.77.0.1 [router] r1 10.77.1.1 ── viewer-nat  10.77.1.2 (masqueraded)
//   (Node-RED, camera)              [coturn] r2 10.77.2.1 ── viewer-turn 10.77.2.2 (nothing forwarded)
//
// The router forwards only what the viewer behind NAT starts (masqueraded to 10.77.0.1); between
// viewer-turn and the relay it forwards nothing, UDP or TCP, but the page's HTTP requests to Node-RED
// (its signalling): only the TURN server on the router
// (10.77.0.1:3478, reachable from both sides) carries media. For TURN over TCP, the router also drops
// every UDP datagram from viewer-turn's side.

const RELAY = "10.77.0.2";
const ROUTER = "10.77.0.1";
const SIZE = { width: 640, height: 360 };

/**
 * The router's rules: masquerade for viewer-nat; for viewer-turn, only HTTP to Node-RED (the signalling a
 * web page needs) is forwarded, no media; `turnViewerUdp` false drops its UDP to the router too.
 */
function routerRules(nodeRedPort: number, turnViewerUdp: boolean): string {
  return `table ip nat {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    iifname "r1" oifname "r0" masquerade
  }
}
table inet filter {
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname "r1" oifname "r0" accept
    iifname "r2" oifname "r0" ip daddr ${RELAY} tcp dport ${nodeRedPort} accept
  }
  chain input {
    type filter hook input priority filter; policy accept;
    ${turnViewerUdp ? "" : 'iifname "r2" meta l4proto udp drop'}
  }
}`;
}

describe("network: a viewer behind NAT, and viewers that only TURN reaches (namespaces, nftables, coturn)", function () {
  this.timeout(90_000);
  let lab: NetnsLab | undefined;
  let relay: string;
  let router: string;
  let viewerNat: string;
  let viewerTurn: string;
  let camera: GstRtspServer | undefined;
  let nodeRed: NodeRedProcess | undefined;
  let turn: TurnServer;
  let base: string;
  const browsers: LaunchedChromium[] = [];

  before(async () => {
    lab = NetnsLab.create("nt");
    relay = lab.namespace("relay");
    router = lab.namespace("router");
    viewerNat = lab.namespace("vnat");
    viewerTurn = lab.namespace("vturn");
    lab.link(
      { ns: relay, ifname: "s0", address: `${RELAY}/24` },
      { ns: router, ifname: "r0", address: `${ROUTER}/24` },
    );
    lab.link(
      { ns: viewerNat, ifname: "v0", address: "10.77.1.2/24" },
      { ns: router, ifname: "r1", address: "10.77.1.1/24" },
    );
    lab.link(
      { ns: viewerTurn, ifname: "v0", address: "10.77.2.2/24" },
      { ns: router, ifname: "r2", address: "10.77.2.1/24" },
    );
    lab.route(relay, "default", ROUTER);
    lab.route(viewerNat, "default", "10.77.1.1");
    lab.route(viewerTurn, "default", "10.77.2.1");
    lab.forwarding(router);

    turn = await startTurnServer(lab, router, ROUTER);
    camera = await GstRtspServer.start({ ...SIZE, keyint: 25, joinPhase: 0 }, { namespace: relay });
    const turnCredentials = { turnUser: turn.user, turnPassword: turn.password };
    nodeRed = await startNodeRed({
      runtime: "node-red",
      namespace: relay,
      settings: relaySettings(),
      flows: [
        TAB,
        cameraNode(camera.url, ["out-nat", "out-turn-udp", "out-turn-tcp"]),
        // The relay announces its address, as a user behind 1:1 NAT would set it.
        webrtcOutNode("out-nat", "nat", { hostAddresses: RELAY }),
        webrtcOutNode("out-turn-udp", "turn-udp", { iceServers: turn.url }),
        webrtcOutNode("out-turn-tcp", "turn-tcp", { iceServers: `${turn.url}?transport=tcp` }),
      ],
      credentials: { "out-turn-udp": turnCredentials, "out-turn-tcp": turnCredentials },
    });
    base = `http://${RELAY}:${nodeRed.port}`;
    lab.nft(router, routerRules(nodeRed.port, true));
  });

  after(async () => {
    for (const browser of browsers.splice(0)) await browser.close().catch(() => {});
    if (nodeRed !== undefined) await nodeRed.stop();
    await camera?.stop();
    await lab?.destroy();
  });

  async function play(ns: string, path: string): Promise<SelectedPair> {
    const chromium = await launchChromium({ namespace: ns });
    browsers.push(chromium);
    // A plain page: camera permission cannot be granted to an http origin other than loopback, and
    // Chromium gathers the address of its default route without it.
    const page = await chromium.browser.newPage();
    await page.goto(`${base}/${path}`);
    await waitForPlaying(page, SIZE, 40_000, `Chromium in ${ns} to play /${path}`).catch((err: Error) => {
      throw new Error(`${err.message}\n--- Node-RED:\n${nodeRed?.output().slice(-4000)}`);
    });
    const pair = await selectedPair(page);
    assert.ok(pair, "getStats has a selected candidate pair");
    return pair;
  }

  it("a viewer behind a masquerading router plays, the relay announcing its address", async () => {
    const pair = await play(viewerNat, "nat");
    // The relay answers the checks at the router's mapping (10.77.0.1, masqueraded), which Chromium
    // then knows as its own peer-reflexive address; or Chromium names its private host candidate. The
    // relay has no way into 10.77.1.0/24 but that mapping.
    const local = `${pair.local.candidateType} ${pair.local.address}`;
    assert.ok(local === "host 10.77.1.2" || local === `prflx ${ROUTER}`, JSON.stringify(pair));
    assert.equal(pair.remote.address, RELAY, JSON.stringify(pair));
    assert.equal(pair.remote.candidateType, "host");
    assert.equal(pair.local.protocol, "udp");
  });

  it("a werift viewer behind the same router plays too", async () => {
    const werift = startWeriftViewers(lab as NetnsLab, viewerNat, `${base}/nat/offer`, 1);
    await werift.until(
      ([v]) => v?.state === "connected" && v.packets > 100 && v.pair !== undefined,
      40_000,
      "the werift viewer to receive video",
    );
    const [v] = werift.latest();
    assert.equal(v?.pair?.remote.address, RELAY, JSON.stringify(v));
    assert.equal(v?.pair?.local.address, "10.77.1.2", JSON.stringify(v));
  });

  it("UDP and TCP between viewer and relay blocked: plays through TURN over UDP", async () => {
    const pair = await play(viewerTurn, "turn-udp");
    assert.ok(
      pair.local.candidateType === "relay" || pair.remote.candidateType === "relay",
      `a relay candidate in the selected pair: ${JSON.stringify(pair)}`,
    );
    assert.equal(pair.local.protocol, "udp", JSON.stringify(pair));
    if (pair.local.candidateType === "relay") assert.equal(pair.local.relayProtocol, "udp");
  });

  it("and with UDP dropped too on the viewer's side: plays through TURN over TCP", async () => {
    for (const browser of browsers.splice(0)) await browser.close();
    lab?.nft(router, routerRules(nodeRed?.port ?? 0, false));
    const pair = await play(viewerTurn, "turn-tcp");
    assert.equal(pair.local.candidateType, "relay", JSON.stringify(pair));
    assert.equal(pair.local.relayProtocol, "tcp", JSON.stringify(pair));
    assert.equal(pair.local.address, ROUTER, "the relayed address is the TURN server's");
  });

  it("the TURN password never reached Node-RED's log", () => {
    assert.ok(nodeRed);
    assert.ok(!nodeRed.output().includes(turn.password), nodeRed.output());
  });
});
