import "../helpers/loopback-namespace";
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { type LaunchedChromium, launchChromium } from "../helpers/chromium";
import { GstRtspServer } from "../helpers/gst-server";
import { NetnsLab } from "../helpers/netns";
import {
  cameraNode,
  playerState,
  relaySettings,
  type SelectedPair,
  selectedPair,
  startWeriftViewers,
  TAB,
  waitForPlaying,
  webrtcOutNode,
} from "../helpers/network-peers";
import { type NodeRedProcess, startNodeRed } from "../helpers/node-red-process";
import { waitFor } from "../helpers/wait";

// Issue 19, the one shared ICE port (settings.js `webrtcOut: { icePort: 8189, iceTcp: true }`) seen
// through firewalls and a port-forwarding router. Hosts are namespaces this file makes
// (test/helpers/netns.ts):
//
//   relay 10.78.0.2 ── r0 10.78.0.1 [router] r3 10.78.3.1 ── vport 10.78.3.2  only TCP and UDP 8189 to the relay
//   (Node-RED, camera)                       r4 10.78.4.1 ── vtcp  10.78.4.2  no UDP at all
//                                            r5 10.78.5.1 ── vout  10.78.5.2  outside a port-forwarding router
//
// r5 is the relay's "Docker host": it publishes 10.78.5.1:1880/tcp (Node-RED) and 10.78.5.1:8189/udp+tcp
// and nothing else (dnat), and forwards nothing the relay starts towards vout: neither vout's requests to
// 10.78.0.0/24 nor the relay's own checks to vout's address get through, only the published ports (and
// their replies) do.

const RELAY = "10.78.0.2";
const ROUTER = "10.78.0.1";
const PUBLISHED = "10.78.5.1";
const ICE_PORT = 8189;
const SIZE = { width: 640, height: 360 };

function routerRules(nodeRedPort: number): string {
  return `table ip nat {
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    iifname "r5" ip daddr ${PUBLISHED} tcp dport 1880 dnat to ${RELAY}:${nodeRedPort}
    iifname "r5" ip daddr ${PUBLISHED} udp dport ${ICE_PORT} dnat to ${RELAY}:${ICE_PORT}
    iifname "r5" ip daddr ${PUBLISHED} tcp dport ${ICE_PORT} dnat to ${RELAY}:${ICE_PORT}
  }
}
table inet filter {
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname "r3" oifname "r0" meta l4proto tcp accept
    iifname "r3" oifname "r0" udp dport ${ICE_PORT} accept
    iifname "r0" oifname "r3" udp sport ${ICE_PORT} accept
    iifname "r4" oifname "r0" meta l4proto tcp accept
    iifname "r5" oifname "r0" ct status dnat accept
  }
}`;
}

describe("network: every viewer on the one shared ICE port, through firewalls and port forwarding (namespaces, nftables)", function () {
  this.timeout(120_000);
  let lab: NetnsLab | undefined;
  let relay: string;
  let viewerPort: string;
  let viewerTcp: string;
  let viewerOut: string;
  let camera: GstRtspServer | undefined;
  let nodeRed: NodeRedProcess | undefined;
  let base: string;
  const browsers: LaunchedChromium[] = [];

  before(async () => {
    lab = NetnsLab.create("sp");
    relay = lab.namespace("relay");
    const router = lab.namespace("router");
    viewerPort = lab.namespace("vport");
    viewerTcp = lab.namespace("vtcp");
    viewerOut = lab.namespace("vout");
    lab.link(
      { ns: relay, ifname: "s0", address: `${RELAY}/24` },
      { ns: router, ifname: "r0", address: `${ROUTER}/24` },
    );
    lab.link(
      { ns: viewerPort, ifname: "v0", address: "10.78.3.2/24" },
      { ns: router, ifname: "r3", address: "10.78.3.1/24" },
    );
    lab.link(
      { ns: viewerTcp, ifname: "v0", address: "10.78.4.2/24" },
      { ns: router, ifname: "r4", address: "10.78.4.1/24" },
    );
    lab.link(
      { ns: viewerOut, ifname: "v0", address: "10.78.5.2/24" },
      { ns: router, ifname: "r5", address: `${PUBLISHED}/24` },
    );
    lab.route(relay, "default", ROUTER);
    lab.route(viewerPort, "default", "10.78.3.1");
    lab.route(viewerTcp, "default", "10.78.4.1");
    lab.route(viewerOut, "default", PUBLISHED);
    lab.forwarding(router);

    camera = await GstRtspServer.start({ ...SIZE, keyint: 25, joinPhase: 0 }, { namespace: relay });
    nodeRed = await startNodeRed({
      runtime: "node-red",
      namespace: relay,
      settings: relaySettings(`webrtcOut: { icePort: ${ICE_PORT}, iceTcp: true },`),
      flows: [
        TAB,
        cameraNode(camera.url, ["out-cam"]),
        // Six viewers from one address connect at once in the one-port case.
        webrtcOutNode("out-cam", "cam", { maxPending: 10 }),
      ],
    });
    base = `http://${RELAY}:${nodeRed.port}`;
    lab.nft(router, routerRules(nodeRed.port));
  });

  after(async () => {
    for (const browser of browsers.splice(0)) await browser.close().catch(() => {});
    if (nodeRed !== undefined) await nodeRed.stop();
    await camera?.stop();
    await lab?.destroy();
  });

  function failure(err: Error): Error {
    return new Error(`${err.message}\n--- Node-RED:\n${nodeRed?.output().slice(-4000)}`);
  }

  async function openPlayers(
    ns: string,
    url: string,
    count: number,
  ): Promise<{ pages: Page[]; pairs: SelectedPair[] }> {
    const chromium = await launchChromium({ namespace: ns });
    browsers.push(chromium);
    // Plain pages: camera permission cannot be granted to an http origin other than loopback, and
    // Chromium gathers the address of its default route without it.
    const pages = await Promise.all(
      Array.from({ length: count }, async () => {
        const page = await chromium.browser.newPage();
        await page.goto(url);
        return page;
      }),
    );
    await Promise.all(
      pages.map((page, i) =>
        waitForPlaying(page, SIZE, 60_000, `Chromium page ${i + 1} in ${ns} to play ${url}`).catch(
          (err: Error) => {
            throw failure(err);
          },
        ),
      ),
    );
    const pairs = await Promise.all(
      pages.map(async (page) => {
        const pair = await selectedPair(page);
        assert.ok(pair, "getStats has a selected candidate pair");
        return pair;
      }),
    );
    return { pages, pairs };
  }

  it("only TCP and UDP 8189 open: three Chromium and three werift viewers play at once, all on port 8189", async function () {
    this.timeout(180_000);
    // The werift viewers first (they connect one after another: see test/peers/werift-netns-viewer.ts),
    // then the pages; all six play together at the end.
    const werift = startWeriftViewers(lab as NetnsLab, viewerPort, `${base}/cam/offer`, 3);
    await werift
      .until(
        (viewers) => viewers.every((v) => v.state === "connected" && v.packets > 100 && v.pair !== undefined),
        90_000,
        "three werift viewers to receive video",
      )
      .catch((err: Error) => {
        throw failure(err);
      });
    for (const v of werift.latest()) {
      assert.equal(v.pair?.remote.address, RELAY, JSON.stringify(v));
      assert.equal(v.pair?.remote.port, ICE_PORT, JSON.stringify(v));
      assert.equal(v.pair?.local.address, "10.78.3.2", JSON.stringify(v));
    }
    const { pages, pairs } = await openPlayers(viewerPort, `${base}/cam`, 3);
    for (const pair of pairs) {
      assert.equal(pair.remote.address, RELAY, JSON.stringify(pair));
      assert.equal(pair.remote.port, ICE_PORT, JSON.stringify(pair));
      assert.equal(pair.remote.candidateType, "host", JSON.stringify(pair));
      assert.equal(pair.local.address, "10.78.3.2", JSON.stringify(pair));
    }
    const counts = werift.latest().map((v) => v.packets);
    await werift.until(
      (viewers) => viewers.every((v, i) => v.packets > (counts[i] ?? 0) + 100),
      30_000,
      "the werift viewers to keep receiving",
    );
    // All six at once, as the relay counts them, and the pages still playing.
    const stats = (await pages[0]?.evaluate(
      async (url) => (await fetch(url)).json(),
      `${base}/cam/stats`,
    )) as {
      viewers: { state: string }[];
    };
    assert.equal(stats.viewers.filter((v) => v.state === "connected").length, 6, JSON.stringify(stats));
    for (const [i, page] of pages.entries()) {
      const before = (await playerState(page)).stats.framesDecoded;
      await waitFor(
        async () => (await playerState(page)).stats.framesDecoded > before + 10,
        30_000,
        `Chromium page ${i + 1} to keep playing`,
      );
    }
  });

  it("all UDP dropped: Chromium plays over ICE-TCP", async () => {
    const [pair] = (await openPlayers(viewerTcp, `${base}/cam`, 1)).pairs;
    assert.ok(pair);
    assert.equal(pair.local.protocol, "tcp", JSON.stringify(pair));
    assert.equal(pair.remote.protocol, "tcp", JSON.stringify(pair));
    assert.equal(pair.remote.address, RELAY, JSON.stringify(pair));
    assert.equal(pair.remote.port, ICE_PORT, JSON.stringify(pair));
  });

  it("the relay behind a router publishing only 1880/tcp and 8189/udp+tcp: a viewer using the router's address plays", async () => {
    // The page's address is the router's: the relay finds it in the Host header and offers it with the
    // shared port, which the router forwards.
    const [pair] = (await openPlayers(viewerOut, `http://${PUBLISHED}:1880/cam`, 1)).pairs;
    assert.ok(pair);
    assert.equal(pair.remote.address, PUBLISHED, JSON.stringify(pair));
    assert.equal(pair.remote.port, ICE_PORT, JSON.stringify(pair));
    // A candidate of the answer (not one learnt from a check): the relay offered the Host header's address.
    assert.equal(pair.remote.candidateType, "host", JSON.stringify(pair));
  });
});
