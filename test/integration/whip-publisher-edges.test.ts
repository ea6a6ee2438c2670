import "../helpers/loopback-namespace";
import assert from "node:assert/strict";
import { WhipPublisher } from "../../src/whip/publisher";
import { parseRtp } from "../helpers/depacketize";
import { PCMA_AUDIO } from "../helpers/media-info-fixtures";
import { videoMedia } from "../helpers/rtp-fixtures";
import { waitFor } from "../helpers/wait";
import { whipPublisherRig } from "../helpers/whip-publisher-rig";

// Edges of a publish that need no real picture: synthetic frames (the endpoint does not decode).

describe("WhipPublisher edges (synthetic frames, werift endpoint)", function () {
  this.timeout(30_000);
  const rig = whipPublisherRig();

  it("H.265 is offered as H.265 and published", async () => {
    rig.publish({}, { codec: "H265" });
    await waitFor(() => rig.states.at(-1)?.state === "publishing", 10_000, "publishing");
    assert.match(rig.endpoint.latest?.offerSdp ?? "", /^a=rtpmap:98 H265\/90000/m);
    assert.doesNotMatch(rig.endpoint.latest?.offerSdp ?? "", /H264/);
    assert.equal(rig.states.at(-1)?.codecs, "H265");
    await waitFor(() => (rig.endpoint.latest?.packets.length ?? 0) > 20, 5000, "H.265 packets");
    const first = parseRtp(rig.endpoint.latest!.packets[0]!).payload;
    assert.equal((first[0]! >> 1) & 0x3f, 32, "starts with the VPS of the cached keyframe");
  });

  it("a codec change publishes again at once, with the new codec", async () => {
    rig.publish();
    await waitFor(() => rig.states.at(-1)?.state === "publishing", 10_000, "publishing");
    const first = rig.endpoint.latest;
    rig.camera?.switchTo("H265");
    await waitFor(
      () => rig.endpoint.publishes.length === 2 && rig.states.at(-1)?.state === "publishing",
      10_000,
      "a second publish",
    );
    assert.equal(first?.deleted, true);
    assert.match(rig.endpoint.latest?.offerSdp ?? "", /H265/);
    const retry = rig.states.find((s) => s.state === "retrying");
    assert.deepEqual([retry?.code, retry?.retryInMs], ["no-codec", 0]);
  });

  it("a stream WebRTC cannot carry: an error state, no retries, and publishing once it can", async () => {
    rig.publish();
    await waitFor(() => rig.states.at(-1)?.state === "publishing", 10_000, "publishing");
    rig.camera?.describe([{ ...videoMedia("H264"), codec: "JPEG" }]);
    await waitFor(() => rig.states.at(-1)?.state === "error", 5000, "the error");
    assert.match(rig.states.at(-1)?.reason ?? "", /JPEG: nothing WebRTC can carry/);
    const count = rig.states.length;
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.equal(rig.states.length, count, "no retries while the stream stays so");
    rig.camera?.switchTo("H264");
    await waitFor(() => rig.states.at(-1)?.state === "publishing", 10_000, "publishing again");
  });

  it("keeps the ICE servers the server announces in its Link headers", async () => {
    await rig.replaceEndpoint({
      links: ['<turn:127.0.0.1:3478?transport=udp>; rel="ice-server"; username="u"; credential="p"'],
    });
    const p = rig.publish();
    await waitFor(() => rig.states.at(-1)?.state === "publishing", 10_000, "publishing");
    assert.deepEqual(p.announcedIceServers, [
      { urls: "turn:127.0.0.1:3478?transport=udp", username: "u", credential: "p" },
    ]);
  });

  it("audio-only PCMA is published as audio", async () => {
    const pcma = PCMA_AUDIO;
    rig.publish({}, { media: [pcma] });
    await waitFor(() => rig.states.at(-1)?.state === "publishing", 10_000, "publishing");
    assert.equal(rig.states.at(-1)?.media, "PCMA");
    await waitFor(() => (rig.endpoint.latest?.audioPackets.length ?? 0) > 10, 5000, "audio");
    assert.doesNotMatch(rig.endpoint.latest?.offerSdp ?? "", /m=video/);
  });

  it("ICE that cannot connect ends in a retry with the reason", async () => {
    rig.endpoint.behaviour = "dead-peer";
    rig.publish({ timeouts: { connectMs: 1500 } });
    await waitFor(() => rig.states.some((s) => s.state === "retrying"), 10_000, "a retry");
    const retry = rig.states.find((s) => s.state === "retrying");
    assert.equal(retry?.code, "ice-failed");
    assert.match(retry?.reason ?? "", /not connected within 2 s|ICE failed/);
    assert.equal(rig.endpoint.latest?.deleted, true, "the resource is deleted");
  });

  it("close() during a POST that is never answered completes at once and leaves nothing", async () => {
    rig.endpoint.behaviour = "never-answer";
    const p = rig.publish();
    await waitFor(() => rig.endpoint.requests.some((r) => r.method === "POST"), 5000, "the POST");
    const started = performance.now();
    await p.close();
    assert.ok(performance.now() - started < 2000);
    assert.equal(p.state.state, "stopped");
  });

  it("a bad endpoint is an error at start, the host empty; stop() before start() does nothing", async () => {
    const p = new WhipPublisher({ endpoint: "ftp://x/whip" });
    p.on("state", (event) => rig.states.push(event));
    assert.equal(p.host, "");
    await p.stop();
    p.start();
    assert.deepEqual(rig.states, [
      { state: "error", reason: "the WHIP endpoint must be http: or https:, not ftp:", code: "bad-endpoint" },
    ]);
    await p.close();
    p.start();
    assert.equal(rig.states.length, 1, "a closed publisher does not start");
    assert.equal(new WhipPublisher({ endpoint: rig.endpoint.url() }).host, `127.0.0.1:${rig.endpoint.port}`);
  });
});
