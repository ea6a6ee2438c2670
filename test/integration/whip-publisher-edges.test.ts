import "../helpers/loopback-namespace";
import assert from "node:assert/strict";
import type { MediaInfo } from "../../src/rtp/stream-info";
import { WhipPublisher, type WhipPublisherOptions, type WhipStateEvent } from "../../src/whip/publisher";
import { parseRtp } from "../helpers/depacketize";
import { videoMedia } from "../helpers/rtp-fixtures";
import { SyntheticCamera } from "../helpers/synthetic-camera";
import { waitFor } from "../helpers/wait";
import { WhipEndpoint } from "../helpers/whip-endpoint";

// Edges of a publish that need no real picture: synthetic frames (the endpoint does not decode).

const FAST_RETRY = { delaysMs: [100], jitter: 0 };

describe("WhipPublisher edges (synthetic frames, werift endpoint)", function () {
  this.timeout(30_000);
  let endpoint: WhipEndpoint;
  let publisher: WhipPublisher | undefined;
  let camera: SyntheticCamera | undefined;
  let states: WhipStateEvent[] = [];

  beforeEach(async () => {
    endpoint = await WhipEndpoint.start();
    states = [];
  });

  afterEach(async () => {
    camera?.stop();
    camera = undefined;
    await publisher?.close();
    publisher = undefined;
    await endpoint.stop();
  });

  function publish(
    opts: Partial<WhipPublisherOptions> = {},
    codec: "H264" | "H265" = "H264",
    audio?: MediaInfo,
  ) {
    const p = new WhipPublisher({ endpoint: endpoint.url(), backoff: FAST_RETRY, ...opts });
    p.on("state", (event) => states.push(event));
    camera = new SyntheticCamera(codec, (unit, stream) => p.push(unit, stream), audio);
    camera.start();
    p.start();
    publisher = p;
    return p;
  }

  it("H.265 is offered as H.265 and published", async () => {
    publish({}, "H265");
    await waitFor(() => states.at(-1)?.state === "publishing", 10_000, "publishing");
    assert.match(endpoint.latest?.offerSdp ?? "", /^a=rtpmap:98 H265\/90000/m);
    assert.doesNotMatch(endpoint.latest?.offerSdp ?? "", /H264/);
    assert.equal(states.at(-1)?.codecs, "H265");
    await waitFor(() => (endpoint.latest?.packets.length ?? 0) > 20, 5000, "H.265 packets");
    const first = parseRtp(endpoint.latest!.packets[0]!).payload;
    assert.equal((first[0]! >> 1) & 0x3f, 32, "starts with the VPS of the cached keyframe");
  });

  it("a codec change publishes again at once, with the new codec", async () => {
    publish();
    await waitFor(() => states.at(-1)?.state === "publishing", 10_000, "publishing");
    const first = endpoint.latest;
    camera?.switchTo("H265");
    await waitFor(
      () => endpoint.publishes.length === 2 && states.at(-1)?.state === "publishing",
      10_000,
      "a second publish",
    );
    assert.equal(first?.deleted, true);
    assert.match(endpoint.latest?.offerSdp ?? "", /H265/);
    const retry = states.find((s) => s.state === "retrying");
    assert.deepEqual([retry?.code, retry?.retryInMs], ["no-codec", 0]);
  });

  it("a stream WebRTC cannot carry: an error state, no retries, and publishing once it can", async () => {
    publish();
    await waitFor(() => states.at(-1)?.state === "publishing", 10_000, "publishing");
    camera?.describe([{ ...videoMedia("H264"), codec: "JPEG" }]);
    await waitFor(() => states.at(-1)?.state === "error", 5000, "the error");
    assert.match(states.at(-1)?.reason ?? "", /JPEG: nothing WebRTC can carry/);
    const count = states.length;
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.equal(states.length, count, "no retries while the stream stays so");
    camera?.switchTo("H264");
    await waitFor(() => states.at(-1)?.state === "publishing", 10_000, "publishing again");
  });

  it("keeps the ICE servers the server announces in its Link headers", async () => {
    await endpoint.stop();
    endpoint = await WhipEndpoint.start({
      links: ['<turn:127.0.0.1:3478?transport=udp>; rel="ice-server"; username="u"; credential="p"'],
    });
    const p = publish();
    await waitFor(() => states.at(-1)?.state === "publishing", 10_000, "publishing");
    assert.deepEqual(p.announcedIceServers, [
      { urls: "turn:127.0.0.1:3478?transport=udp", username: "u", credential: "p" },
    ]);
  });

  it("audio-only PCMA is published as audio", async () => {
    const pcma: MediaInfo = {
      mid: "1",
      kind: "audio",
      codec: "PCMA",
      payloadType: 8,
      clockRate: 8000,
      fmtp: {},
      relayable: true,
    };
    const p = new WhipPublisher({ endpoint: endpoint.url(), backoff: FAST_RETRY });
    publisher = p;
    p.on("state", (event) => states.push(event));
    camera = new SyntheticCamera("H264", (unit, stream) => p.push(unit, stream), pcma);
    camera.describe([pcma]);
    camera.start();
    p.start();
    await waitFor(() => states.at(-1)?.state === "publishing", 10_000, "publishing");
    assert.equal(states.at(-1)?.media, "PCMA");
    await waitFor(() => (endpoint.latest?.audioPackets.length ?? 0) > 10, 5000, "audio");
    assert.doesNotMatch(endpoint.latest?.offerSdp ?? "", /m=video/);
  });

  it("ICE that cannot connect ends in a retry with the reason", async () => {
    endpoint.behaviour = "dead-peer";
    publish({ timeouts: { connectMs: 1500 } });
    await waitFor(() => states.some((s) => s.state === "retrying"), 10_000, "a retry");
    const retry = states.find((s) => s.state === "retrying");
    assert.equal(retry?.code, "ice-failed");
    assert.match(retry?.reason ?? "", /not connected within 2 s|ICE failed/);
    assert.equal(endpoint.latest?.deleted, true, "the resource is deleted");
  });

  it("close() during a POST that is never answered completes at once and leaves nothing", async () => {
    endpoint.behaviour = "never-answer";
    const p = publish();
    await waitFor(() => endpoint.requests.some((r) => r.method === "POST"), 5000, "the POST");
    const started = performance.now();
    await p.close();
    assert.ok(performance.now() - started < 2000);
    assert.equal(p.state.state, "stopped");
    publisher = undefined;
  });

  it("a bad endpoint is an error at start, the host empty; stop() before start() does nothing", async () => {
    const p = new WhipPublisher({ endpoint: "ftp://x/whip" });
    p.on("state", (event) => states.push(event));
    assert.equal(p.host, "");
    await p.stop();
    p.start();
    assert.deepEqual(states, [
      { state: "error", reason: "the WHIP endpoint must be http: or https:, not ftp:", code: "bad-endpoint" },
    ]);
    await p.close();
    p.start();
    assert.equal(states.length, 1, "a closed publisher does not start");
    assert.equal(new WhipPublisher({ endpoint: endpoint.url() }).host, `127.0.0.1:${endpoint.port}`);
  });
});
