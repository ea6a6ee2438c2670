import "../helpers/loopback-namespace";
import assert from "node:assert/strict";
import type { WhipPublisher, WhipPublisherOptions } from "../../src/whip/publisher";
import { decodeVideo } from "../helpers/decode";
import { depacketizeH264, h264NalType, h264NalUnits, parseRtp } from "../helpers/depacketize";
import { GstRtspServer } from "../helpers/gst-server";
import { SourceHarness } from "../helpers/source-harness";
import { waitFor } from "../helpers/wait";
import type { Publish } from "../helpers/whip-endpoint";
import { whipPublisherRig } from "../helpers/whip-publisher-rig";

/** Sequence numbers of `packets` in arrival order, unwrapped to a monotonic count. */
function sequenceGaps(packets: readonly Buffer[]): number {
  let gaps = 0;
  let previous: number | undefined;
  for (const packet of packets) {
    const sequence = parseRtp(packet).sequenceNumber;
    if (previous !== undefined && sequence !== ((previous + 1) & 0xffff)) gaps++;
    previous = sequence;
  }
  return gaps;
}

/** The packet carries (part of) an IDR slice: alone, in a STAP-A, or as an FU-A's start. */
function hasIdr(packet: Buffer): boolean {
  const payload = parseRtp(packet).payload;
  const type = payload[0]! & 0x1f;
  if (type === 5) return true;
  if (type === 28) return (payload[1]! & 0x80) !== 0 && (payload[1]! & 0x1f) === 5;
  if (type !== 24) return false;
  for (let offset = 1; offset + 2 < payload.length; offset += 2 + payload.readUInt16BE(offset)) {
    if ((payload[offset + 2]! & 0x1f) === 5) return true;
  }
  return false;
}

describe("WhipPublisher against a werift WHIP endpoint", function () {
  this.timeout(60_000);
  let camera: GstRtspServer;
  let harness: SourceHarness;

  before(async () => {
    camera = await GstRtspServer.start({
      codec: "h264",
      width: 640,
      height: 480,
      fps: 25,
      keyint: 100,
      audio: "pcma",
    });
    harness = new SourceHarness({ url: camera.url });
    harness.source.start();
    await harness.until(() => harness.video().some((v) => v.unit.keyframe), 20_000, "a keyframe");
  });

  after(async () => {
    await harness?.close();
    await camera?.stop();
  });

  const rig = whipPublisherRig({
    endpoint: { token: "s3cret-token" },
    defaults: () => ({ token: "s3cret-token", backoff: { delaysMs: [200], jitter: 0 } }),
  });

  function publish(opts: Partial<WhipPublisherOptions> = {}): WhipPublisher {
    return rig.publishFrom((push) => {
      harness.source.on("frame", push);
      return () => harness.source.off("frame", push);
    }, opts);
  }

  async function publishing(): Promise<Publish> {
    await waitFor(() => rig.states.some((s) => s.state === "publishing"), 20_000, "publishing");
    const latest = rig.endpoint.latest;
    assert.ok(latest);
    return latest;
  }

  it("publishes the camera: the POST as WHIP wants it, a send-only offer, frames that decode at the camera's size", async () => {
    publish();
    const pub = await publishing();
    const post = rig.endpoint.requests.find((r) => r.method === "POST");
    assert.equal(post?.headers["content-type"], "application/sdp");
    assert.equal(post?.headers.authorization, "Bearer s3cret-token");
    assert.match(pub.offerSdp, /^m=video .*\r?\n(?:.*\r?\n)*?a=sendonly/m);
    assert.match(pub.offerSdp, /profile-level-id=42e01f/);
    assert.match(pub.offerSdp, /packetization-mode=1/);
    assert.match(pub.offerSdp, /^a=rtpmap:8 PCMA\/8000/m);
    assert.deepEqual(
      rig.states.map((s) => s.state),
      ["connecting", "publishing"],
    );
    assert.equal(rig.states[1]?.media, "H264 640x480");
    await waitFor(() => pub.packets.length > 300 && pub.audioPackets.length > 50, 20_000, "video and audio");
    const decoded = await decodeVideo(depacketizeH264(pub.packets), "h264");
    assert.deepEqual([decoded.width, decoded.height], [640, 480]);
    assert.ok(decoded.frames >= 10, `${decoded.frames} frames decoded`);
    assert.deepEqual(decoded.decodeErrors, []);
    // Started from the cached GOP: the first packet already belongs to a keyframe's access unit.
    const firstNals = h264NalUnits(pub.packets.slice(0, 3)).map(h264NalType);
    assert.equal(firstNals[0], 7, `starts with the SPS, got NAL types ${firstNals}`);
  });

  it("answers a PLI with the cached keyframe at once, and a NACK from its history", async () => {
    publish();
    const pub = await publishing();
    await waitFor(() => pub.packets.length > 100, 10_000, "some video");
    const before = pub.packets.length;
    const askedAt = performance.now();
    await rig.endpoint.sendPli(pub);
    await waitFor(() => pub.packets.slice(before).some(hasIdr), 2_000, "a keyframe after the PLI");
    const index = pub.packets.findIndex((p, i) => i >= before && hasIdr(p));
    const delay = (pub.arrivals[index] ?? 0) - askedAt;
    // The camera's own keyframes are 4 s apart.
    assert.ok(delay < 1000, `keyframe ${Math.round(delay)} ms after the PLI`);
    // Not the camera's next keyframe (a frame interval, 3600 ticks, after the last frame): the cached
    // one, sent again one tick after the last frame that went out.
    const stamp = (i: number) => parseRtp(pub.packets[i]!).timestamp;
    let previous = index - 1;
    while (previous > 0 && stamp(previous) === stamp(index)) previous--;
    assert.equal((stamp(index) - stamp(previous)) >>> 0, 1);

    const target = parseRtp(pub.packets[pub.packets.length - 20]!).sequenceNumber;
    const count = () => pub.packets.filter((p) => parseRtp(p).sequenceNumber === target).length;
    assert.equal(count(), 1);
    await rig.endpoint.sendNack(pub, [target]);
    await waitFor(() => count() === 2, 2_000, "the retransmission");
    assert.ok((rig.publisher?.retransmitted ?? 0) >= 1);

    // A FIR, past the 500 ms between two answers, is answered the same way.
    await new Promise((resolve) => setTimeout(resolve, 600));
    const beforeFir = pub.packets.length;
    await rig.endpoint.sendFir(pub);
    await waitFor(() => pub.packets.slice(beforeFir).some(hasIdr), 2_000, "a keyframe after the FIR");
    // Replies to PLI and FIR go on in the same sequence space: the retransmitted copy is the one break.
    let copies = 0;
    const once = pub.packets.filter((p) => parseRtp(p).sequenceNumber !== target || copies++ === 0);
    assert.equal(sequenceGaps(once), 0);
  });

  it("goes on through a camera restart in the same session, sequence numbers continuous", async () => {
    publish();
    const pub = await publishing();
    await waitFor(() => pub.packets.length > 50, 10_000, "some video");
    const sessions = new Set(harness.units.map((u) => u.stream.session)).size;
    await camera.restart();
    await waitFor(
      () => new Set(harness.units.map((u) => u.stream.session)).size > sessions,
      20_000,
      "a new RTSP session",
    );
    const before = pub.packets.length;
    await waitFor(
      () => pub.packets.slice(before).some(hasIdr) && pub.packets.length > before + 50,
      20_000,
      "video after the restart",
    );
    assert.equal(rig.endpoint.publishes.length, 1, "no new publish");
    assert.equal(sequenceGaps(pub.packets), 0);
    const stamps = pub.packets.map((p) => parseRtp(p).timestamp);
    const backwards = stamps.filter((t, i) => i > 0 && (t - stamps[i - 1]!) >>> 0 > 0x80000000).length;
    assert.equal(backwards, 0, "timestamps never go back");
    assert.deepEqual(
      rig.states.map((s) => s.state),
      ["connecting", "publishing"],
    );
  });

  it("DELETEs its resource on stop, and publishes again on start", async () => {
    const p = publish();
    const pub = await publishing();
    await p.stop();
    assert.equal(pub.deleted, true);
    assert.equal(rig.states.at(-1)?.state, "stopped");
    const [deleted] = rig.endpoint.requests.filter((r) => r.method === "DELETE");
    assert.equal(
      deleted?.headers.authorization,
      "Bearer s3cret-token",
      "its own origin's DELETE carries the token",
    );
    p.start();
    await waitFor(
      () => rig.endpoint.publishes.length === 2 && rig.states.at(-1)?.state === "publishing",
      20_000,
      "a second publish",
    );
    await p.close();
    assert.equal(rig.endpoint.latest?.deleted, true);
  });

  it("a start while the stop's DELETE is on its way publishes once, after it, not beside the old publish", async () => {
    const p = publish();
    await publishing();
    const stopped = p.stop();
    p.start();
    await stopped;
    await waitFor(
      () => rig.endpoint.publishes.length === 2 && rig.states.at(-1)?.state === "publishing",
      20_000,
      "the publish after the stop",
    );
    // Long enough for a second loop's first retry (about 1 s) to have published beside it.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    assert.equal(rig.endpoint.publishes.filter((one) => !one.deleted).length, 1);
    assert.equal(rig.endpoint.publishes.length, 2);
    await p.close();
  });

  it("a Location on another origin gets its DELETE without the bearer token", async () => {
    await rig.replaceEndpoint({
      token: "s3cret-token",
      locationOrigin: (port) => `http://localhost:${port}`,
    });
    const p = publish();
    await publishing();
    await p.stop();
    const deletes = rig.endpoint.requests.filter((r) => r.method === "DELETE");
    assert.equal(deletes.length, 1);
    assert.equal(deletes[0]?.headers.host?.startsWith("localhost:"), true);
    assert.equal(deletes[0]?.headers.authorization, undefined);
    assert.equal(rig.endpoint.latest?.deleted, true);
  });

  it("401: retries with the status as the reason, a first delay of about 1 s, and no token in any state", async () => {
    publish({ token: "wrong-token", backoff: undefined });
    await waitFor(() => rig.states.some((s) => s.state === "retrying"), 10_000, "a retry");
    const retry = rig.states.find((s) => s.state === "retrying");
    assert.equal(retry?.reason, "401 Unauthorized");
    assert.equal(retry?.code, "http-status");
    assert.ok(
      retry?.retryInMs !== undefined && retry.retryInMs >= 800 && retry.retryInMs <= 1200,
      `${retry?.retryInMs}`,
    );
    assert.ok(!JSON.stringify(rig.states).includes("wrong-token"));
  });

  it("publishes again after the server vanished and came back", async () => {
    // The endpoint's receiver reports come every 0.5-1.5 s: 3 s of nothing means it is gone.
    publish({ timeouts: { silenceMs: 3000 } });
    await publishing();
    await rig.endpoint.vanish();
    await waitFor(() => rig.states.some((s) => s.state === "retrying"), 15_000, "the end noticed");
    await new Promise((resolve) => setTimeout(resolve, 500));
    await rig.endpoint.comeBack();
    await waitFor(
      () => rig.states.filter((s) => s.state === "publishing").length === 2,
      20_000,
      "publishing again",
    );
    const pub = rig.endpoint.latest;
    await waitFor(() => (pub?.packets.length ?? 0) > 50, 10_000, "video again");
    const reasons = rig.states.filter((s) => s.state === "retrying").map((s) => s.reason);
    assert.ok(reasons.length >= 1, JSON.stringify(rig.states));
  });

  for (const [behaviour, code, reason] of [
    ["status-503", "http-status", /^503 Service Unavailable$/],
    ["no-location", "no-location", /Location/],
    ["no-codec", "no-codec", /does not accept the video/],
    ["huge-body", "body-too-large", /larger than 64 KiB/],
    ["garbage", "bad-answer", /not an SDP/],
    ["never-answer", "timeout", /no answer to POST within 1 s/],
  ] as const) {
    it(`${behaviour}: a clear error and a retry`, async () => {
      rig.endpoint.behaviour = behaviour;
      publish({ timeouts: { requestMs: 1000 } });
      await waitFor(
        () => rig.states.filter((s) => s.state === "retrying").length >= 2,
        10_000,
        "two retries",
      );
      const retry = rig.states.find((s) => s.state === "retrying");
      assert.equal(retry?.code, code);
      assert.match(retry?.reason ?? "", reason);
      rig.endpoint.behaviour = "normal";
      await waitFor(
        () => rig.states.at(-1)?.state === "publishing",
        10_000,
        "publishing once the server behaves",
      );
    });
  }
});
