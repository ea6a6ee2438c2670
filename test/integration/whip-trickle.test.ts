import "../helpers/loopback-namespace";
import assert from "node:assert/strict";
import { startLoopbackTurnServer, type TurnServer } from "../helpers/network-peers";
import { type SlowUdpPath, startSlowUdpPath } from "../helpers/slow-udp-path";
import { freePort } from "../helpers/tools";
import { waitFor } from "../helpers/wait";
import type { Publish } from "../helpers/whip-endpoint";
import { whipPublisherRig } from "../helpers/whip-publisher-rig";

// Trickle ICE by PATCH (RFC 9725 §4.3.1). The publisher's STUN server is coturn on loopback behind a
// path that holds each datagram 300 ms each way, as a far STUN server is: its host candidate is ready at
// once, its server-reflexive one some 600 ms later, after the offer has gone.

const DELAY_MS = 300;

function candidates(sdp: string): string[] {
  return sdp.split(/\r?\n/).filter((line) => line.startsWith("a=candidate:"));
}

function attribute(sdp: string, name: string): string | undefined {
  return new RegExp(`^a=${name}:(\\S+)`, "m").exec(sdp)?.[1];
}

describe("WhipPublisher trickle ICE by PATCH (coturn as STUN server, 300 ms away)", function () {
  this.timeout(40_000);
  let turn: TurnServer & { stop(): Promise<void> };
  let path: SlowUdpPath;

  before(async () => {
    const port = await freePort();
    turn = await startLoopbackTurnServer("127.0.0.1", port);
    path = await startSlowUdpPath({ address: "127.0.0.1", port }, DELAY_MS);
  });

  after(async () => {
    await path?.close();
    await turn?.stop();
  });

  const rig = whipPublisherRig({
    defaults: () => ({ iceServers: [{ urls: `stun:127.0.0.1:${path.port}` }] }),
  });

  async function endOfCandidates(publish: Publish): Promise<void> {
    await waitFor(
      () => publish.patches.some((body) => body.includes("a=end-of-candidates")),
      10_000,
      "end-of-candidates by PATCH",
    );
  }

  it("the offer goes with the host candidate; the server-reflexive one and end-of-candidates follow by PATCH, with If-Match", async () => {
    rig.publish();
    await waitFor(() => rig.states.at(-1)?.state === "publishing", 15_000, "publishing");
    const first = rig.endpoint.latest as Publish;
    await endOfCandidates(first);
    await waitFor(() => first.packets.length > 20, 10_000, "video at the server");

    const offered = candidates(first.offerSdp);
    assert.ok(
      offered.some((c) => / 127\.0\.0\.1 \d+ typ host/.test(c)),
      first.offerSdp,
    );
    assert.ok(!offered.some((c) => / typ srflx/.test(c)), "the offer left before the STUN answer");
    assert.doesNotMatch(first.offerSdp, /^a=end-of-candidates/m);
    assert.match(first.offerSdp, /^a=ice-options:trickle/m);

    const trickled = first.patches.flatMap(candidates);
    assert.ok(
      trickled.some((c) => / typ srflx raddr 127\.0\.0\.1 /.test(c)),
      `a server-reflexive candidate came by PATCH: ${JSON.stringify(first.patches)}`,
    );
    assert.ok(!trickled.some((c) => offered.includes(c)), "no candidate twice");
    assert.match(first.patches.at(-1) ?? "", /a=end-of-candidates\r\n$/);
    for (const [i, body] of first.patches.entries()) {
      const headers = first.patchRequests[i]?.headers;
      assert.equal(headers?.["content-type"], "application/trickle-ice-sdpfrag");
      assert.equal(headers?.["if-match"], `"${first.id}"`, "If-Match is the 201's ETag");
      assert.equal(attribute(body, "ice-ufrag"), attribute(first.offerSdp, "ice-ufrag"));
      assert.equal(attribute(body, "ice-pwd"), attribute(first.offerSdp, "ice-pwd"));
      assert.equal(attribute(body, "mid"), attribute(first.offerSdp, "mid"));
      assert.match(body, /^m=video 9 UDP\/TLS\/RTP\/SAVPF [\d ]+$/m);
    }
    assert.equal(rig.endpoint.publishes.length, 1, "one publish");
    assert.equal(rig.publisher?.trickling, true);
  });

  it("trickle off: every candidate and end-of-candidates in the offer, no PATCH", async () => {
    rig.publish({ trickle: false });
    await waitFor(() => rig.states.at(-1)?.state === "publishing", 15_000, "publishing");
    const first = rig.endpoint.latest as Publish;
    assert.ok(
      candidates(first.offerSdp).some((c) => / typ srflx /.test(c)),
      first.offerSdp,
    );
    assert.match(first.offerSdp, /^a=end-of-candidates/m);
    await waitFor(() => first.packets.length > 20, 10_000, "video at the server");
    assert.equal(first.patches.length, 0);
  });

  it("a 404 to a PATCH (the server forgot the publish) ends it and publishes again", async () => {
    rig.endpoint.patchStatus = 404;
    rig.publish();
    await waitFor(() => rig.endpoint.publishes[0]?.patches.length === 1, 15_000, "the first PATCH");
    rig.endpoint.patchStatus = 204;
    await waitFor(() => rig.endpoint.publishes.length >= 2, 15_000, "a second publish");
    const retry = rig.states.find((s) => s.state === "retrying");
    assert.equal(retry?.code, "gone");
    assert.equal(retry?.reason, "the server no longer knows this publish (PATCH: 404 Not Found)");
    const second = rig.endpoint.publishes[1] as Publish;
    await endOfCandidates(second);
    await waitFor(() => second.packets.length > 20, 15_000, "video to the second publish");
    assert.equal(rig.states.at(-1)?.state, "publishing");
    assert.equal(rig.endpoint.publishes[0]?.patches.length, 1, "no PATCH after the 404");
    assert.equal(rig.publisher?.trickling, true, "a 404 is no reason to stop trickling");
  });

  it("a 405 to a PATCH: the publish goes on, and the next ones send every candidate in the offer", async () => {
    rig.endpoint.patchStatus = 405;
    const p = rig.publish();
    await waitFor(() => !p.trickling, 15_000, "trickling turned off");
    const first = rig.endpoint.latest as Publish;
    await waitFor(() => first.packets.length > 20, 15_000, "video at the server");
    assert.equal(first.patches.length, 1, "no PATCH after the 405");
    assert.equal(rig.states.at(-1)?.state, "publishing");
    await p.stop();
    p.start();
    await waitFor(
      () => rig.endpoint.publishes.length === 2 && rig.states.at(-1)?.state === "publishing",
      15_000,
      "again",
    );
    const second = rig.endpoint.publishes[1] as Publish;
    assert.ok(
      candidates(second.offerSdp).some((c) => / typ srflx /.test(c)),
      second.offerSdp,
    );
    assert.match(second.offerSdp, /^a=end-of-candidates/m);
    assert.equal(second.patches.length, 0);
  });

  it("a trickled publish that never connects: the next sends every candidate in its offer; when that fails too, trickle comes back", async () => {
    rig.endpoint.behaviour = "dead-peer";
    rig.publish({ timeouts: { connectMs: 2000 } });
    await waitFor(() => rig.endpoint.publishes.length >= 3, 30_000, "a third publish");
    const retry = rig.states.find((s) => s.state === "retrying");
    assert.equal(retry?.code, "ice-failed");
    const offers = rig.endpoint.publishes.map((p) => p.offerSdp);
    assert.doesNotMatch(offers[0] ?? "", /^a=end-of-candidates/m, "the first trickled");
    assert.match(offers[1] ?? "", /^a=end-of-candidates/m, "the second did not");
    assert.doesNotMatch(offers[2] ?? "", /^a=end-of-candidates/m, "the third trickled again");
  });
});
