import "../helpers/loopback-namespace";
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { type LaunchedChromium, launchChromium } from "../helpers/chromium";
import { GstRtspServer } from "../helpers/gst-server";
import { loopbackOnlyProblem } from "../helpers/loopback-only";
import { NetnsLab } from "../helpers/netns";
import {
  cameraNode,
  type ReverseProxy,
  relaySettings,
  startNginx,
  TAB,
  waitForPlaying,
  webrtcOutNode,
} from "../helpers/network-peers";
import { type NodeRedProcess, startNodeRed } from "../helpers/node-red-process";
import { requireTool } from "../helpers/tools";

// Issue 21, the HTTP fallback where WebRTC cannot pass: the viewer reaches nothing but a reverse proxy's
// HTTP port. Hosts are namespaces this file makes (test/helpers/netns.ts):
//
//   relay 10.80.0.2 ── r0 10.80.0.1 [router] r1 10.80.1.1 ── viewer 10.80.1.2
//   (camera, Node-RED with the shared ICE port 8189 UDP + TCP, nginx in front of it)
//
// The router forwards from the viewer only TCP to nginx's port (and the replies): no UDP, no ICE-TCP
// on 8189, no Node-RED port, no TURN. The player page, opened at nginx's address, tries WebRTC with the
// relay's real candidates, finds no path and falls back to P/live.mp4 through the same nginx.
// Every namespace's packets to anywhere but 127/8 and the lab's 10.80/16 are counted and dropped: none
// may be seen (IPv6 has link-local addresses alone here, which reach only the lab's own links).

const RELAY = "10.80.0.2";
const ROUTER = "10.80.0.1";
const VIEWER = "10.80.1.2";
const ICE_PORT = 8189;
const PROXY_PORT = 8080;
const SIZE = { width: 1280, height: 720 };
const LAB_NET = "10.80.0.0/16";

/**
 * Counts (and drops) what would leave for an address outside loopback and the lab, in `hook`: what a
 * namespace's processes send (output), what reaches the router from the others (prerouting).
 */
function outsideCounter(hook: "output" | "prerouting"): string {
  return `table inet outside {
  counter escaped {}
  set where { type ipv4_addr . inet_proto . inet_service; flags dynamic; }
  chain guard {
    type filter hook ${hook} priority -10; policy accept;
    meta nfproto ipv4 ip daddr != { 127.0.0.0/8, ${LAB_NET} } add @where { ip daddr . meta l4proto . th dport } counter name escaped drop
  }
}`;
}

function routerRules(proxyPort: number): string {
  return `${outsideCounter("prerouting")}
table inet filter {
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname "r1" oifname "r0" ip daddr ${RELAY} tcp dport ${proxyPort} accept
  }
  chain input {
    type filter hook input priority filter; policy accept;
    iifname "r1" drop
  }
}`;
}

/** The page's RTCPeerConnection states and the answers it got, recorded beside the player's own handlers. */
const RECORD_PEER_STATES = `{
  const Original = RTCPeerConnection;
  window.__pcStates = [];
  window.__answers = [];
  window.RTCPeerConnection = function (config) {
    const pc = new Original(config);
    const setRemote = pc.setRemoteDescription.bind(pc);
    pc.setRemoteDescription = (description) => {
      window.__answers.push((description && description.sdp) || "");
      return setRemote(description);
    };
    pc.addEventListener("iceconnectionstatechange", () => window.__pcStates.push("ice:" + pc.iceConnectionState));
    pc.addEventListener("connectionstatechange", () => window.__pcStates.push(pc.connectionState));
    return pc;
  };
  window.RTCPeerConnection.prototype = Original.prototype;
}`;

/**
 * Times on the page's own clock (performance.now(), polled every 20 ms): when the player fell back to
 * fMP4 and when it then played (state "playing" with frames decoded).
 */
const TIME_FALLBACK = `{
  window.__probe = {};
  const timer = setInterval(() => {
    const p = window.__player;
    if (!p) return;
    const now = performance.now();
    if (window.__probe.fellBackAt === undefined && p.mode === "mse") window.__probe.fellBackAt = now;
    if (window.__probe.fellBackAt !== undefined && p.state === "playing" && (p.stats.framesDecoded || 0) > 5) {
      window.__probe.playingAt = now;
      clearInterval(timer);
    }
  }, 20);
}`;

interface Probe {
  fellBackAt?: number;
  playingAt?: number;
}

interface StreamStatsBody {
  stream: { fmp4Viewers: number; sourceState: string };
  viewers: { state: string }[];
}

describe("network: only a reverse proxy's HTTP port reachable, the player falls back to fMP4 through nginx (namespaces, nftables, nginx)", function () {
  this.timeout(60_000);
  let lab: NetnsLab | undefined;
  let relay: string;
  let router: string;
  let viewer: string;
  let camera: GstRtspServer | undefined;
  let nodeRed: NodeRedProcess | undefined;
  let proxy: ReverseProxy | undefined;
  let chromium: LaunchedChromium | undefined;
  let base: string;

  before(async () => {
    requireTool("nginx");
    lab = NetnsLab.create("hf");
    relay = lab.namespace("relay");
    router = lab.namespace("router");
    viewer = lab.namespace("viewer");
    lab.link(
      { ns: relay, ifname: "s0", address: `${RELAY}/24` },
      { ns: router, ifname: "r0", address: `${ROUTER}/24` },
    );
    lab.link(
      { ns: viewer, ifname: "v0", address: `${VIEWER}/24` },
      { ns: router, ifname: "r1", address: "10.80.1.1/24" },
    );
    lab.route(relay, "default", ROUTER);
    lab.route(viewer, "default", "10.80.1.1");
    lab.forwarding(router);
    lab.nft(relay, outsideCounter("output"));
    lab.nft(viewer, outsideCounter("output"));

    camera = await GstRtspServer.start({ ...SIZE, keyint: 25, joinPhase: 0 }, { namespace: relay });
    nodeRed = await startNodeRed({
      runtime: "node-red",
      namespace: relay,
      // WebRTC as open as it gets (the shared port over UDP and ICE-TCP): only the network stops it.
      settings: relaySettings(`webrtcOut: { icePort: ${ICE_PORT}, iceTcp: true },`),
      flows: [TAB, cameraNode(camera.url, ["out-cam"]), webrtcOutNode("out-cam", "cam")],
    });
    // Free in the relay's new namespace, where the camera and Node-RED took ephemeral ports (32768 up).
    const proxyPort = PROXY_PORT;
    proxy = await startNginx(lab, relay, proxyPort, `http://127.0.0.1:${nodeRed.port}`);
    lab.nft(router, routerRules(proxyPort));
    base = `http://${RELAY}:${proxyPort}`;
  });

  after(async () => {
    await chromium?.close().catch(() => {});
    if (nodeRed !== undefined) await nodeRed.stop();
    await camera?.stop();
    await lab?.destroy();
  });

  function failure(err: Error): Error {
    return new Error(
      `${err.message}\n--- nginx:\n${proxy?.output().slice(-2000)}\n--- Node-RED:\n${nodeRed?.output().slice(-4000)}`,
    );
  }

  function stats(page: Page): Promise<StreamStatsBody> {
    return page.evaluate(
      async (url) => (await fetch(url)).json(),
      `${base}/cam/stats`,
    ) as Promise<StreamStatsBody>;
  }

  it("the page at nginx's address: WebRTC finds no path, the fMP4 fallback plays within 3 s of falling back", async () => {
    chromium = await launchChromium({ namespace: viewer });
    const context = await chromium.browser.newContext();
    await context.addInitScript(RECORD_PEER_STATES);
    await context.addInitScript(TIME_FALLBACK);
    const page = await context.newPage();

    // The viewer's network first: nginx answers, Node-RED's own port does not (an opaque no-cors
    // response would say it answered).
    await page.goto(`${base}/cam/stats`);
    const direct = await page.evaluate(
      async (url) =>
        fetch(url, { mode: "no-cors", signal: AbortSignal.timeout(1500) }).then(
          () => "answered",
          () => "blocked",
        ),
      `http://${RELAY}:${nodeRed?.port}/cam/stats`,
    );
    assert.equal(direct, "blocked");

    await page.goto(`${base}/cam`);
    await page
      .waitForFunction(
        () => (globalThis as unknown as { __probe: Probe }).__probe.playingAt !== undefined,
        undefined,
        {
          timeout: 20_000,
        },
      )
      .catch(async (err: Error) => {
        const seen = await page.evaluate(() =>
          JSON.stringify((globalThis as unknown as { __player: unknown }).__player),
        );
        throw failure(new Error(`${err.message}\nplayer: ${seen}`));
      });
    const probe = await page.evaluate(() => (globalThis as unknown as { __probe: Probe }).__probe);
    const playingAfterMs = (probe.playingAt ?? 0) - (probe.fellBackAt ?? 0);
    assert.ok(playingAfterMs < 3000, `playing ${Math.round(playingAfterMs)} ms after falling back`);

    // Frames advancing at the camera's size, over HTTP.
    const playing = await waitForPlaying(page, SIZE, 15_000, "the fMP4 fallback to keep playing").catch(
      (err: Error) => {
        throw failure(err);
      },
    );
    assert.equal(playing.state, "playing");
    assert.equal(
      await page.evaluate(() => (globalThis as unknown as { __player: { mode: string } }).__player.mode),
      "mse",
    );
    assert.match((await page.textContent("#stats")) ?? "", /^HTTP · 1280×720/);

    // WebRTC was tried and never connected: the answer offered the shared port over UDP and TCP, the
    // browser's peer connection got no further than checking, and the relay has one fMP4 viewer and no
    // connected WebRTC viewer.
    const [answer] = await page.evaluate(() => (globalThis as unknown as { __answers: string[] }).__answers);
    assert.match(
      answer ?? "",
      new RegExp(`^a=candidate:.* udp .* ${RELAY.replaceAll(".", "\\.")} ${ICE_PORT} typ host`, "im"),
      answer,
    );
    assert.match(
      answer ?? "",
      new RegExp(`^a=candidate:.* tcp .* ${RELAY.replaceAll(".", "\\.")} ${ICE_PORT} typ host`, "im"),
      answer,
    );
    const states = await page.evaluate(() => (globalThis as unknown as { __pcStates: string[] }).__pcStates);
    assert.ok(states.includes("ice:checking"), `peer connection states: ${states.join(", ")}`);
    assert.ok(!states.includes("connected") && !states.includes("ice:connected"), states.join(", "));
    const relayStats = await stats(page);
    assert.equal(relayStats.stream.fmp4Viewers, 1, JSON.stringify(relayStats));
    assert.deepEqual(
      relayStats.viewers.filter((v) => v.state === "connected"),
      [],
      JSON.stringify(relayStats),
    );

    // All of it went through nginx, from the viewer's address: the page and the offer (the stream is
    // logged when it ends).
    const log = proxy?.accessLog() ?? "";
    const viewerAddress = VIEWER.replaceAll(".", "\\.");
    assert.match(log, new RegExp(`^${viewerAddress} .*"GET /cam HTTP/1\\.1" 200 `, "m"), log);
    assert.match(log, new RegExp(`^${viewerAddress} .*"POST /cam/offer HTTP/1\\.1" 200 `, "m"), log);
  });

  it("nothing left the lab: no packet for an address outside loopback and the lab's namespaces", () => {
    assert.equal(loopbackOnlyProblem(), undefined, "the mocha process sees loopback alone");
    for (const ns of [relay, router, viewer]) {
      const ruleset = lab?.ruleset(ns) ?? "";
      const counted = /counter escaped \{\s*packets (\d+) bytes/.exec(ruleset);
      assert.ok(counted, ruleset);
      assert.equal(counted[1], "0", `${ns}:\n${ruleset}`);
      // Its interfaces: loopback and the lab's veth ends, nothing else.
      const links = (lab?.run(ns, requireTool("ip"), ["-o", "link"]) ?? "")
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => line.split(": ")[1]?.split("@")[0]);
      for (const name of links)
        assert.ok(["lo", "s0", "r0", "r1", "v0"].includes(name ?? ""), `${ns}: ${name}`);
    }
  });
});
