import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { DemoCamera } from "../../src/demo/demo-camera";
import type { AccessUnit, StreamInfo } from "../../src/rtp/stream-info";
import {
  BadSdpError,
  IceRestartError,
  MaxViewersError,
  NoCommonCodecError,
  NoIceCandidateError,
  NoStreamError,
  UnknownViewerError,
  ViewerRequestError,
} from "../../src/webrtc/errors";
import { StreamViewers, type StreamViewersOptions } from "../../src/webrtc/stream-viewers";
import { type DecodeResult, decodeVideo } from "../helpers/decode";
import {
  depacketizeH264,
  depacketizeH265,
  h264NalType,
  h264NalUnits,
  parseRtp,
} from "../helpers/depacketize";
import { GstRtspServer, type GstServerOptions } from "../helpers/gst-server";
import { readOffer } from "../helpers/offer-fixtures";
import { framesByMarker, H264_IDR, H264_PPS, H264_SPS, rtpPacket, videoMedia } from "../helpers/rtp-fixtures";
import { SourceHarness } from "../helpers/source-harness";
import { waitFor } from "../helpers/wait";
import { connectViewer, type ViewerOptions, type WeriftViewer } from "../helpers/werift-viewer";

// StreamViewers between a real RTSP source (the demo camera or gst-rtsp-server) and werift viewers
// in this process; what a viewer received is depacketized and decoded by FFmpeg. Every packet stays
// on loopback: run inside `unshare --net` (test/run-all.sh does).

const MAX_PACKET = 1200;
const FAST_BACKOFF = { delaysMs: [200, 500, 1000], jitter: 0 };

function options(overrides: Partial<StreamViewersOptions> = {}): StreamViewersOptions {
  return {
    maxViewers: 25,
    // The tests connect up to 20 viewers at once, all from 127.0.0.1.
    maxPendingPerAddress: 25,
    ice: { iceServers: [], additionalHostAddresses: ["127.0.0.1"] },
    audio: true,
    fastStart: true,
    ...overrides,
  };
}

/** A source feeding a StreamViewers, and everything to tear down after the test. */
class Rig {
  readonly viewers: WeriftViewer[] = [];
  /** The StreamViewers id of each client. */
  readonly ids = new Map<WeriftViewer, string>();
  /** The WHEP resource of each client: the secret viewerOf takes. */
  readonly resources = new Map<WeriftViewer, string>();
  readonly units: { unit: AccessUnit; stream: StreamInfo; at: number }[] = [];

  private constructor(
    readonly set: StreamViewers,
    readonly harness: SourceHarness,
    private readonly stopCamera: () => Promise<void>,
  ) {}

  static async demo(overrides: Partial<StreamViewersOptions> = {}): Promise<Rig> {
    const camera = new DemoCamera({ port: 0 });
    const { url } = await camera.start();
    return Rig.feed(url, overrides, () => camera.close());
  }

  static async gst(
    server: GstServerOptions,
    overrides: Partial<StreamViewersOptions> = {},
  ): Promise<Rig & { server: GstRtspServer }> {
    const gst = await GstRtspServer.start(server);
    const rig = await Rig.feed(gst.url, overrides, () => gst.stop());
    return Object.assign(rig, { server: gst });
  }

  private static async feed(
    url: string,
    overrides: Partial<StreamViewersOptions>,
    stop: () => Promise<void>,
  ): Promise<Rig> {
    const harness = new SourceHarness({ url, media: "both", backoff: FAST_BACKOFF });
    const rig = new Rig(new StreamViewers(options(overrides)), harness, stop);
    harness.source.on("frame", (unit, stream) => {
      rig.units.push({ unit, stream, at: performance.now() });
      rig.set.push(unit, stream);
    });
    harness.source.start();
    await harness.until(
      () => rig.set.stream !== undefined && harness.video().length > 0,
      20_000,
      "first frame",
    );
    return rig;
  }

  async viewer(opts: Partial<ViewerOptions> & { vanilla?: boolean } = {}): Promise<WeriftViewer> {
    let id = "";
    let resource = "";
    const viewer = await connectViewer({
      offer: async (sdp) => {
        const answer = await this.set.addViewer(sdp, "127.0.0.1", opts.vanilla ?? true);
        id = answer.id;
        resource = answer.resource;
        return answer.answerSdp;
      },
      ...opts,
    });
    this.viewers.push(viewer);
    this.ids.set(viewer, id);
    this.resources.set(viewer, resource);
    return viewer;
  }

  /** Ends a viewer on both sides (werift sends no DTLS close_notify a server could notice). */
  async leave(viewer: WeriftViewer): Promise<void> {
    const id = this.ids.get(viewer);
    if (id !== undefined) await this.set.removeViewer(id);
    await viewer.close();
  }

  /** Resolves once a video keyframe was pushed less than `withinMs` ago. */
  async justAfterKeyframe(withinMs: number): Promise<void> {
    const start = this.units.length;
    await waitFor(
      () =>
        this.units
          .slice(start)
          .some((u) => u.unit.kind === "video" && u.unit.keyframe && performance.now() - u.at < withinMs),
      20_000,
      "a keyframe",
    );
  }

  async close(): Promise<void> {
    await this.set.close();
    await Promise.all(this.viewers.map((v) => v.close()));
    await this.harness.close();
    await this.stopCamera();
  }
}

function frameCount(viewer: WeriftViewer): number {
  return viewer.packets.filter((p) => parseRtp(p).marker).length;
}

async function receivedFrames(viewer: WeriftViewer, count: number, ms = 20_000): Promise<void> {
  await waitFor(
    () => frameCount(viewer) >= count,
    ms,
    `${count} frames at the viewer (got ${frameCount(viewer)})`,
  );
}

function nalTypes(frame: readonly Buffer[]): number[] {
  return h264NalUnits(frame).map(h264NalType);
}

/** Decodes what the viewer received, as received: nothing prepended. */
async function decodeH264(viewer: WeriftViewer): Promise<DecodeResult> {
  return decodeVideo(depacketizeH264(inSequenceOrder(viewer.packets)), "h264");
}

function assertCleanDecode(
  result: DecodeResult,
  minFrames: number,
  size: { width: number; height: number },
): void {
  assert.deepEqual(result.decodeErrors, []);
  assert.ok(result.frames >= minFrames, `${result.frames} frames decoded, expected at least ${minFrames}`);
  assert.equal(result.width, size.width);
  assert.equal(result.height, size.height);
}

/**
 * The packets as a receiver's jitter buffer orders them: by (unwrapped) sequence number, each once.
 * Retransmissions answering a NACK arrive late and out of order; they count as received.
 */
function inSequenceOrder(packets: readonly Buffer[]): Buffer[] {
  const bySequence = new Map<number, Buffer>();
  let last: number | undefined;
  for (const packet of packets) {
    const sequence = parseRtp(packet).sequenceNumber;
    // Unwrapped relative to the previous packet: within ±32768 of it.
    const extended =
      last === undefined ? sequence : last + ((((sequence - last) & 0xffff) ^ 0x8000) - 0x8000);
    last = extended;
    if (!bySequence.has(extended)) bySequence.set(extended, packet);
  }
  return [...bySequence.entries()].sort(([a], [b]) => a - b).map(([, packet]) => packet);
}

/** No sequence number missing between the first and the last packet received. */
function assertContinuousSequence(packets: readonly Buffer[]): void {
  const ordered = inSequenceOrder(packets);
  for (let i = 1; i < ordered.length; i++) {
    const previous = parseRtp(ordered[i - 1] as Buffer).sequenceNumber;
    const current = parseRtp(ordered[i] as Buffer).sequenceNumber;
    assert.equal(
      current,
      (previous + 1) & 0xffff,
      `sequence break after packet ${i - 1}: ${previous} → ${current}`,
    );
  }
}

/** One H.264 IDR access unit (SPS, PPS, IDR slice as single-NAL packets) and its StreamInfo. */
function demoUnit(): [AccessUnit, StreamInfo] {
  const sps = "6742c01e8c8d40a02ff2c03c2211a8";
  const packets = [sps, "68ce3c80", "65888040"].map((payload, i) =>
    rtpPacket({ seq: i, ts: 1000, ssrc: 0x1234, marker: i === 2, payload }),
  );
  const stream: StreamInfo = { id: "test", session: 1, media: [videoMedia("H264")] };
  return [{ kind: "video", mid: "0", timestamp: 1000, keyframe: true, packets }, stream];
}

describe("StreamViewers with werift viewers (loopback)", function () {
  this.timeout(90_000);
  let rig: Rig | undefined;

  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });

  it("relays the demo camera (H.264, parameter sets in-band): starts at a keyframe, decodes cleanly", async () => {
    rig = await Rig.demo();
    const viewer = await rig.viewer();
    await viewer.connected;
    await receivedFrames(viewer, 50);
    const first = framesByMarker(viewer.packets)[0];
    assert.ok(first !== undefined);
    const types = nalTypes(first);
    assert.ok(types.includes(H264_IDR), `first frame has NAL types ${types}`);
    assert.ok(types.indexOf(H264_SPS) < types.indexOf(H264_IDR) && types.includes(H264_PPS));
    assertContinuousSequence(viewer.packets);
    assertCleanDecode(await decodeH264(viewer), 50, { width: 640, height: 360 });
    const ssrcs = new Set(viewer.packets.map((p) => parseRtp(p).ssrc));
    assert.equal(ssrcs.size, 1);
  });

  it("puts SDP-only parameter sets in-band before each keyframe of a High-profile camera", async () => {
    rig = await Rig.gst({
      spsInSdpOnly: true,
      profile: "high",
      keyint: 25,
      fps: 25,
      width: 640,
      height: 480,
    });
    const viewer = await rig.viewer();
    await viewer.connected;
    await receivedFrames(viewer, 60);
    const all = framesByMarker(viewer.packets);
    const keyframes = all.filter((f) => nalTypes(f).includes(H264_IDR));
    assert.ok(keyframes.length >= 2, `${keyframes.length} keyframes`);
    for (const frame of keyframes) assert.deepEqual(nalTypes(frame).slice(0, 2), [H264_SPS, H264_PPS]);
    // Chromium 156 offers no High profile: the answer names an offered one, never 64xxxx.
    const answer = viewer.pc.remoteDescription?.sdp ?? "";
    assert.match(answer, /profile-level-id=f4001f/);
    assert.doesNotMatch(answer, /profile-level-id=64/);
    assertCleanDecode(await decodeH264(viewer), 60, { width: 640, height: 480 });
  });

  it("re-fragments 20 KB single-NAL packets: every packet it sends is at most 1200 bytes", async () => {
    rig = await Rig.gst({ bigNal: true, bitrate: 4000, width: 1280, height: 720, keyint: 25 });
    const viewer = await rig.viewer();
    await viewer.connected;
    await receivedFrames(viewer, 50);
    const sourceMax = Math.max(...rig.units.flatMap((u) => u.unit.packets.map((p) => p.length)));
    assert.ok(sourceMax > 10_000, `the camera's largest packet is only ${sourceMax} bytes`);
    const largest = Math.max(...viewer.packets.map((p) => p.length));
    assert.ok(largest <= MAX_PACKET, `a ${largest}-byte packet reached the viewer`);
    assertContinuousSequence(viewer.packets);
    assertCleanDecode(await decodeH264(viewer), 50, { width: 1280, height: 720 });
  });

  describe("a camera sending 1400-byte packets (GStreamer's rtph264pay mtu=1400)", () => {
    /** The camera's video packets so far, and its FU-A fragments (RFC 6184 type 28). */
    function cameraPackets(): Buffer[] {
      return rig!.units.filter((u) => u.unit.kind === "video").flatMap((u) => u.unit.packets);
    }
    const isFuA = (packet: Buffer) => (parseRtp(packet).payload[0]! & 0x1f) === 28;
    const isEnd = (packet: Buffer) => (parseRtp(packet).payload[1]! & 0x40) !== 0;
    const videoOf = (viewer: WeriftViewer) => inSequenceOrder(viewer.packets);

    async function watch(maxPacketSize?: number): Promise<{ viewer: Buffer[]; camera: Buffer[] }> {
      rig = await Rig.gst(
        { bitrate: 2000, width: 1280, height: 720, keyint: 25 },
        maxPacketSize === undefined ? {} : { maxPacketSize },
      );
      const viewer = await rig.viewer();
      await viewer.connected;
      await receivedFrames(viewer, 50);
      // The viewer's first: every packet it holds then came from a unit the camera had sent.
      const received = videoOf(viewer);
      const camera = cameraPackets();
      assert.equal(Math.max(...camera.map((p) => p.length)), 1400, "the camera's largest packet");
      assert.ok(camera.filter(isFuA).length > 100, "the camera fragments its NAL units in FU-A");
      assertCleanDecode(await decodeH264(viewer), 50, { width: 1280, height: 720 });
      return { viewer: received, camera };
    }

    function perFrame(packets: readonly Buffer[]): number {
      return packets.length / packets.filter((p) => parseRtp(p).marker).length;
    }

    it("at the default 1200 bytes: each NAL unit cut once into full packets, far fewer than two per camera packet", async () => {
      const { viewer, camera } = await watch();
      assert.ok(Math.max(...viewer.map((p) => p.length)) <= MAX_PACKET);
      // Every fragment but a NAL unit's last is a full 1200-byte packet: cut once, not packet by packet.
      const fragments = viewer.filter(isFuA);
      assert.ok(fragments.length > 100);
      for (const packet of fragments.filter((p) => !isEnd(p))) assert.equal(packet.length, MAX_PACKET);
      // Before issue 20 each packet over 1200 bytes became two.
      const splitEach =
        perFrame(camera) + camera.filter((p) => p.length > MAX_PACKET).length / framesByMarker(camera).length;
      const relayed = perFrame(viewer);
      console.log(
        `      packets per frame: camera ${perFrame(camera).toFixed(2)}, relayed ${relayed.toFixed(2)}, split one by one ${splitEach.toFixed(2)}`,
      );
      assert.ok(relayed < 0.8 * splitEach, `${relayed} packets per frame, ${splitEach} split one by one`);
    });

    it("at 1400 bytes: the camera's packets pass through whole", async () => {
      const { viewer, camera } = await watch(1400);
      const sent = new Set(camera.map((p) => parseRtp(p).payload.toString("hex")));
      const passed = viewer.filter((p) => sent.has(parseRtp(p).payload.toString("hex")));
      // Only parameter sets put before a keyframe may be the relay's own.
      const own = viewer.filter((p) => !sent.has(parseRtp(p).payload.toString("hex")));
      for (const packet of own)
        assert.equal(parseRtp(packet).payload[0]! & 0x1f, 24, "a STAP-A of SPS and PPS");
      assert.ok(passed.length > 0.95 * viewer.length);
      for (const packet of viewer.filter((p) => isFuA(p) && !isEnd(p))) assert.equal(packet.length, 1400);
      console.log(
        `      packets per frame: camera ${perFrame(camera).toFixed(2)}, relayed ${perFrame(viewer).toFixed(2)}`,
      );
    });
  });

  it("keeps a viewer through a camera restart: same connection, continuous sequence numbers, clean decode", async () => {
    const gstRig = await Rig.gst({ keyint: 25, fps: 25, width: 640, height: 360 });
    rig = gstRig;
    const viewer = await rig.viewer();
    await viewer.connected;
    await receivedFrames(viewer, 30);
    const before = viewer.packets.length;
    const sessionBefore = rig.set.stream?.session;
    await gstRig.server.restart();
    await waitFor(() => (rig?.set.stream?.session ?? 0) !== sessionBefore, 20_000, "a new source session");
    await waitFor(
      () => framesByMarker(viewer.packets.slice(before)).length >= 40,
      20_000,
      "frames after the restart",
    );
    assert.equal(viewer.pc.connectionState, "connected");
    assert.equal(rig.set.size, 1);
    assertContinuousSequence(viewer.packets);
    // Timestamps move on by the wall-clock gap, and the new session (joined mid-GOP, like a real
    // camera) reaches the viewer from its first keyframe on.
    const all = framesByMarker(viewer.packets);
    const steps = all.map((f, i) =>
      i === 0
        ? 0
        : (parseRtp(f[0] as Buffer).timestamp - parseRtp((all[i - 1] as Buffer[])[0] as Buffer).timestamp) >>>
          0,
    );
    const gapAt = steps.indexOf(Math.max(...steps));
    const gapMs = (steps[gapAt] ?? 0) / 90;
    assert.ok(gapMs > 300 && gapMs < 30_000, `largest timestamp step ${gapMs} ms`);
    assert.ok(
      nalTypes(all[gapAt] as Buffer[]).includes(H264_IDR),
      "the first frame after the restart is not a keyframe",
    );
    for (const [i, step] of steps.entries()) {
      if (i > 0 && i !== gapAt)
        assert.ok(step > 0 && step <= 90_000 / 5, `timestamp step ${step} at frame ${i}`);
    }
    assertCleanDecode(await decodeH264(viewer), 70, { width: 640, height: 360 });
  });

  describe("a late joiner", () => {
    const joins = 3;
    const measured: Record<string, number[]> = {};

    after(() => {
      const line = (name: string) =>
        `${name}: ${(measured[name] ?? []).map((ms) => Math.round(ms)).join(", ")} ms`;
      console.log(
        `      time from connected to the first complete keyframe — ${line("fast start")}; ${line("without")}`,
      );
    });

    /**
     * Joins `joins` times, each ~0.8 s into a 2 s GOP; returns each viewer's time to its first frame
     * and how many frames came before the first one on the regular 25 fps spacing (the replay).
     */
    async function lateJoins(
      current: Rig,
      anchor: WeriftViewer,
    ): Promise<{ times: number[]; replayed: number[] }> {
      const replayed: number[] = [];
      const times: number[] = [];
      for (let i = 0; i < joins; i++) {
        await current.justAfterKeyframe(200);
        await sleep(800);
        const viewer = await current.viewer();
        await viewer.connected;
        await receivedFrames(viewer, 40);
        const all = framesByMarker(viewer.packets);
        assert.ok(nalTypes(all[0] as Buffer[]).includes(H264_IDR), "the first frame is not a keyframe");
        const firstMarker = viewer.packets.findIndex((p) => parseRtp(p).marker);
        times.push((viewer.arrivals[firstMarker] as number) - (viewer.connectedAt() as number));
        assertContinuousSequence(viewer.packets);
        assertCleanDecode(await decodeH264(viewer), 40, { width: 640, height: 360 });
        // At live afterwards: its last frames carry the timestamps the first viewer's do.
        const stamps = (v: WeriftViewer) =>
          framesByMarker(inSequenceOrder(v.packets)).map((f) => parseRtp(f[0] as Buffer).timestamp);
        const own = stamps(viewer);
        const steps = own.slice(1).map((t, k) => (t - (own[k] as number)) >>> 0);
        const squeezed = steps.findIndex((step) => step !== 1);
        replayed.push(squeezed);
        assert.ok(
          steps.slice(squeezed).every((step) => step === 3600),
          `frame steps ${steps.slice(squeezed, squeezed + 10)}`,
        );
        const recent = own.slice(-10);
        const anchorStamps = new Set(stamps(anchor));
        assert.ok(
          recent.every((t) => anchorStamps.has(t)),
          "the late joiner's frames are not on the live timeline",
        );
        await current.leave(viewer);
      }
      return { times, replayed };
    }

    it("with fast start gets a picture at once, from the cached GOP, and is live afterwards", async () => {
      rig = await Rig.gst({ keyint: 50, fps: 25, width: 640, height: 360 }, { fastStart: true });
      const anchor = await rig.viewer();
      await anchor.connected;
      const { times, replayed } = await lateJoins(rig, anchor);
      measured["fast start"] = times;
      for (const ms of times) assert.ok(ms < 400, `first frame ${Math.round(ms)} ms after connecting`);
      // The cached frames (~20 at 0.8 s into the GOP) came squeezed one tick apart, ending at live.
      for (const count of replayed) assert.ok(count >= 10 && count < 50, `${count} frames replayed`);
    });

    it("without fast start waits for the next keyframe", async () => {
      rig = await Rig.gst({ keyint: 50, fps: 25, width: 640, height: 360 }, { fastStart: false });
      const anchor = await rig.viewer();
      await anchor.connected;
      const { times, replayed } = await lateJoins(rig, anchor);
      measured.without = times;
      for (const ms of times) assert.ok(ms > 400, `first frame ${Math.round(ms)} ms after connecting`);
      assert.deepEqual(replayed, [0, 0, 0]);
    });
  });

  it("serves 20 viewers at once, each with its own SSRC and sequence space, all decoding", async () => {
    rig = await Rig.demo();
    const viewers = await Promise.all(
      Array.from({ length: 20 }, () => rig?.viewer() as Promise<WeriftViewer>),
    );
    await Promise.all(viewers.map((v) => v.connected));
    assert.equal(rig.set.size, 20);
    await Promise.all(viewers.map((v) => receivedFrames(v, 50)));
    const ssrcs = new Set(viewers.map((v) => parseRtp(v.packets[0] as Buffer).ssrc));
    assert.equal(ssrcs.size, 20);
    const results = await Promise.all(viewers.map((v) => decodeH264(v)));
    for (const [i, viewer] of viewers.entries()) {
      assertContinuousSequence(viewer.packets);
      assertCleanDecode(results[i] as DecodeResult, 50, { width: 640, height: 360 });
    }
    const stats = rig.set.stats();
    assert.equal(stats.viewers.length, 20);
    for (const v of stats.viewers) {
      assert.equal(v.state, "connected");
      assert.ok(v.packetsSent > 0 && v.bytesSent > v.packetsSent * 12, JSON.stringify(v));
    }
  });

  it("does not let a viewer that stopped reading slow the others down", async () => {
    rig = await Rig.demo();
    const [stuck, a, b] = await Promise.all([rig.viewer(), rig.viewer(), rig.viewer()]);
    if (stuck === undefined || a === undefined || b === undefined) throw new Error("three viewers");
    await Promise.all([stuck.connected, a.connected, b.connected]);
    await Promise.all([a, b].map((v) => receivedFrames(v, 25)));
    stuck.stopReading();
    const stuckFrames = frameCount(stuck);
    const from = performance.now();
    const counts = [a, b].map((v) => frameCount(v));
    const pushedBefore = rig.units.filter((u) => u.unit.kind === "video").length;
    await sleep(4000);
    const pushed = rig.units.filter((u) => u.unit.kind === "video").length - pushedBefore;
    assert.ok(pushed >= 50, `the camera sent only ${pushed} frames in 4 s`);
    // The camera's own longest pause in the same window: a loaded machine pauses it and the viewers alike.
    const pushedAt = rig.units.filter((u) => u.unit.kind === "video" && u.at >= from).map((u) => u.at);
    const cameraWorst = Math.max(...pushedAt.slice(1).map((t, k) => t - (pushedAt[k] as number)));
    for (const [i, viewer] of [a, b].entries()) {
      const got = frameCount(viewer) - (counts[i] as number);
      assert.ok(got >= pushed - 3, `a healthy viewer got ${got} of ${pushed} frames`);
      // Frames keep coming at the camera's pace: no stall a quarter second longer than the camera's own.
      const markers = viewer.arrivals.filter(
        (t, k) => t >= from && parseRtp(viewer.packets[k] as Buffer).marker,
      );
      const worst = Math.max(...markers.slice(1).map((t, k) => t - (markers[k] as number)));
      assert.ok(
        worst < cameraWorst + 250,
        `a ${Math.round(worst)} ms pause between frames; the camera's longest was ${Math.round(cameraWorst)} ms`,
      );
      assertContinuousSequence(viewer.packets);
    }
    assert.ok(frameCount(stuck) <= stuckFrames + 1, "the stuck viewer kept reading");
    assert.equal(rig.set.size, 3);
  });

  it("refuses viewer max + 1 with MaxViewersError (503), the others unaffected", async () => {
    rig = await Rig.demo({ maxViewers: 2 });
    const [a, b] = await Promise.all([rig.viewer(), rig.viewer()]);
    if (a === undefined || b === undefined) throw new Error("two viewers");
    await Promise.all([a.connected, b.connected]);
    const error = await rig.viewer().then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(error instanceof MaxViewersError, String(error));
    assert.equal(error.code, "max-viewers");
    assert.match(error.detail, /at most 2 viewers/);
    assert.equal(rig.set.size, 2);
    const before = [a, b].map((v) => frameCount(v));
    await Promise.all([a, b].map((v, i) => receivedFrames(v, (before[i] as number) + 25)));
    // A slot frees up when a viewer leaves.
    await rig.leave(a);
    const c = await rig.viewer();
    await c.connected;
    assert.equal(rig.set.size, 2);
  });

  it("refuses an address past its viewers, connected or not, with 429 and Retry-After; others come in", async () => {
    rig = await Rig.demo({ maxViewersPerAddress: 2 });
    const current = rig;
    const [a, b] = await Promise.all([current.viewer(), current.viewer()]);
    if (a === undefined || b === undefined) throw new Error("two viewers");
    await Promise.all([a.connected, b.connected]);
    await waitFor(() => current.set.pendingViewers("127.0.0.1") === 0, 5000, "both connected: none pending");
    const error = await current.viewer().then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(error instanceof ViewerRequestError, String(error));
    assert.equal(error.code, "max-viewers-per-address");
    assert.match(error.detail, /127\.0\.0\.1 already has 2 viewers/);
    assert.equal(error.retryAfterS, 10);
    assert.equal(current.set.size, 2);
    // Another address has an allowance of its own.
    const other = await connectViewer({
      offer: async (sdp) => (await current.set.addViewer(sdp, "127.0.0.2", true)).answerSdp,
    });
    current.viewers.push(other);
    await other.connected;
    // A place of the address frees up when one of its viewers leaves.
    await current.leave(a);
    const c = await current.viewer();
    await c.connected;
    assert.equal(current.set.size, 3);
  });

  it("names each viewer's WHEP resource, a secret apart from its id, to viewerOf and to nothing else", async () => {
    rig = await Rig.demo();
    const joined: string[] = [];
    rig.set.on("joined", (info) => joined.push(JSON.stringify(info)));
    const [a, b] = await Promise.all([rig.viewer(), rig.viewer()]);
    if (a === undefined || b === undefined) throw new Error("two viewers");
    await Promise.all([a.connected, b.connected]);
    const [idA, idB] = [rig.ids.get(a) ?? "", rig.ids.get(b) ?? ""];
    const [resourceA, resourceB] = [rig.resources.get(a) ?? "", rig.resources.get(b) ?? ""];
    for (const resource of [resourceA, resourceB]) assert.match(resource, /^[\w-]{43}$/, "256 random bits");
    assert.notEqual(resourceA, resourceB);
    assert.equal(rig.set.viewerOf(resourceA), idA);
    assert.equal(rig.set.viewerOf(resourceB), idB);
    // What events and stats show names nothing.
    const shown = `${joined.join("\n")}\n${JSON.stringify(rig.set.stats())}`;
    assert.ok(shown.includes(idA) && !shown.includes(resourceA) && !shown.includes(resourceB));
    for (const other of [idA, idB, "127.0.0.1", resourceA.slice(0, -1), `${resourceA}x`, ""]) {
      assert.equal(rig.set.viewerOf(other), undefined, other);
    }
    await rig.leave(a);
    assert.equal(rig.set.viewerOf(resourceA), undefined, "an ended viewer's resource names nothing");
    assert.equal(rig.set.viewerOf(resourceB), idB);
  });

  it("remembers the resource of a viewer that ended on its own, for one late DELETE, and not one removed", async () => {
    rig = await Rig.demo({ viewerTimeouts: { connectMs: 300 } });
    const left: string[] = [];
    rig.set.on("left", (info) => left.push(info.reason));
    // Chromium's offer names no reachable candidate: the viewer ends on its own, as when its client
    // closes the connection before its DELETE.
    const lost = await rig.set.addViewer(readOffer("chromium-156.sdp"), "127.0.0.1", false);
    await waitFor(() => left.length === 1, 10_000, "the unconnected viewer to end");
    assert.match(left[0] ?? "", /not connected within/);
    assert.equal(rig.set.viewerOf(lost.resource), undefined);
    assert.equal(rig.set.takeEnded(lost.resource), true);
    assert.equal(rig.set.takeEnded(lost.resource), false, "once");
    const viewer = await rig.viewer();
    await viewer.connected;
    const resource = rig.resources.get(viewer) ?? "";
    await rig.leave(viewer);
    assert.equal(rig.set.takeEnded(resource), false, "a DELETE's viewer is forgotten at once");
    for (const other of ["", "x", lost.id]) assert.equal(rig.set.takeEnded(other), false, other);
  });

  it("close() closes every peer connection: their UDP sockets are gone and each viewer left", async () => {
    rig = await Rig.demo();
    const udpSockets = () => process.getActiveResourcesInfo().filter((r) => r === "UDPWrap").length;
    const baseline = udpSockets();
    const clients = await Promise.all([rig.viewer(), rig.viewer(), rig.viewer(), rig.viewer()]);
    await Promise.all(clients.map((v) => v.connected));
    const clientSockets = clients.reduce((sum, v) => sum + v.udpSocketCount(), 0);
    const serverSockets = udpSockets() - baseline - clientSockets;
    assert.ok(serverSockets >= 4, `${serverSockets} server-side UDP sockets for 4 viewers`);
    const left: string[] = [];
    rig.set.on("left", (info) => left.push(info.reason));
    await rig.set.close();
    assert.equal(rig.set.size, 0);
    assert.deepEqual(left, Array(4).fill("the stream was closed"));
    await waitFor(() => udpSockets() === baseline + clientSockets, 2000, "the server's sockets to close");
    await Promise.all(clients.map((v) => v.close()));
    await waitFor(() => udpSockets() === baseline, 2000, "the clients' sockets to close");
    await assert.rejects(rig.set.addViewer("v=0", "127.0.0.1", true), NoStreamError);
  });

  it("no extra host address: offers the address the request came in on, and refuses an answer with no candidate", async () => {
    rig = await Rig.demo({ ice: { iceServers: [], additionalHostAddresses: [] } });
    const set = rig.set;
    const udpSockets = () => process.getActiveResourcesInfo().filter((r) => r === "UDPWrap").length;
    const offer = readOffer("chromium-156.sdp");
    // This namespace has loopback only, which werift does not gather on: nothing to offer.
    const before = udpSockets();
    await assert.rejects(set.addViewer(offer, "127.0.0.1", true), (err: unknown) => {
      assert.ok(err instanceof NoIceCandidateError);
      assert.match(err.detail, /set extra host addresses .* or a TURN server/);
      return true;
    });
    assert.equal(set.size, 0);
    assert.equal(udpSockets(), before, "no socket was opened for it");
    // A TURN server that never answers: gathering ends with nothing, and the vanilla answer is refused.
    const turnless = new StreamViewers({
      ...options({
        ice: {
          iceServers: [{ urls: "turn:127.0.0.1:9", username: "u", credential: "p" }],
          additionalHostAddresses: [],
        },
      }),
      viewerTimeouts: { gatherMs: 3000 },
    });
    try {
      for (const [unit, stream] of [demoUnit()]) turnless.push(unit, stream);
      await assert.rejects(turnless.addViewer(offer, "127.0.0.1", true), NoIceCandidateError);
      assert.equal(turnless.size, 0);
    } finally {
      await turnless.close();
    }
    // The request came in on 127.0.0.1: offered, and the viewer plays.
    let answerSdp = "";
    const viewer = await connectViewer({
      offer: async (sdp) => {
        answerSdp = (await set.addViewer(sdp, "127.0.0.1", true, ["127.0.0.1"])).answerSdp;
        return answerSdp;
      },
    });
    rig.viewers.push(viewer);
    assert.match(answerSdp, /^a=candidate:\S+ \d+ udp \d+ 127\.0\.0\.1 \d+ typ host/m);
    await viewer.connected;
    await receivedFrames(viewer, 10);
  });

  it("takes trickled candidates (WHEP PATCH) and refuses an ICE restart", async () => {
    rig = await Rig.demo();
    const set = rig.set;
    let id = "";
    let candidates: string[] = [];
    const viewer = await connectViewer({
      offer: async (sdp) => {
        const lines = sdp.split("\r\n");
        // A trickling browser's offer: no candidates yet, and no end-of-candidates.
        const trickled = (line: string) => line.startsWith("a=candidate:") || line === "a=end-of-candidates";
        candidates = lines.filter((line) => line.startsWith("a=candidate:"));
        const answer = await set.addViewer(
          lines.filter((line) => !trickled(line)).join("\r\n"),
          "127.0.0.1",
          false,
        );
        id = answer.id;
        return answer.answerSdp;
      },
    });
    rig.viewers.push(viewer);
    assert.ok(candidates.length > 0);
    const ufrag = /a=ice-ufrag:(\S+)/.exec(viewer.pc.localDescription?.sdp ?? "")?.[1];
    await set.addIceCandidates(
      id,
      `a=ice-ufrag:${ufrag}\r\nm=video 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\n${candidates.join("\r\n")}\r\na=end-of-candidates\r\n`,
    );
    await viewer.connected;
    await receivedFrames(viewer, 25);
    await assert.rejects(
      set.addIceCandidates(id, "a=ice-ufrag:other\r\na=ice-pwd:changedchangedchangedchang\r\n"),
      (e: unknown) =>
        e instanceof IceRestartError && e.message === "ice restart not supported" && e.code === "ice-restart",
    );
    await assert.rejects(set.addIceCandidates(id, "this is not sdp"), BadSdpError);
    await assert.rejects(set.addIceCandidates("no-such-viewer", "a=end-of-candidates"), UnknownViewerError);
  });

  it("passes PCMA audio through to a browser that offers it", async () => {
    rig = await Rig.gst({ audio: "pcma", keyint: 25 });
    const viewer = await rig.viewer({ audio: true });
    await viewer.connected;
    await waitFor(() => viewer.audioPackets.length >= 50, 20_000, "audio packets");
    const audio = viewer.audioPackets.map(parseRtp);
    assert.ok(audio.every((p) => p.payloadType === 8 && p.payload.length === 160));
    assertContinuousSequence(viewer.audioPackets);
    assert.match(viewer.pc.remoteDescription?.sdp ?? "", /a=rtpmap:8 PCMA\/8000/);
    const stats = rig.set.stats().stream;
    assert.equal(stats.audioRelayed, true);
    assert.equal(stats.audioCodec, "PCMA/8000");
    assert.equal(rig.set.stats().viewers[0]?.audioCodec, "PCMA/8000");
  });

  it("sends video alone when the camera's audio is AAC", async () => {
    rig = await Rig.gst({ audio: "aac", keyint: 25 });
    await waitFor(
      () => rig?.set.stream?.media.some((m) => m.kind === "audio") === true,
      10_000,
      "the audio media",
    );
    const viewer = await rig.viewer({ audio: true });
    await viewer.connected;
    await receivedFrames(viewer, 25);
    assert.equal(viewer.audioPackets.length, 0);
    assert.match(viewer.pc.remoteDescription?.sdp ?? "", /m=audio 0 /);
    assert.equal(rig.set.stats().stream.audioRelayed, false);
    assert.match(rig.set.stats().stream.audioCodec ?? "", /MPEG4-GENERIC/);
  });

  it("relays H.265 to a browser that offers it, and answers 406 to one that does not", async () => {
    rig = await Rig.gst({ codec: "h265", keyint: 25, width: 640, height: 360 });
    const viewer = await rig.viewer({ h265: true });
    await viewer.connected;
    await receivedFrames(viewer, 40);
    assert.match(viewer.pc.remoteDescription?.sdp ?? "", /a=rtpmap:100 H265\/90000/);
    assert.ok(Math.max(...viewer.packets.map((p) => p.length)) <= MAX_PACKET);
    const result = await decodeVideo(depacketizeH265(inSequenceOrder(viewer.packets)), "h265");
    assertCleanDecode(result, 40, { width: 640, height: 360 });
    const error = await rig.viewer().then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(error instanceof NoCommonCodecError, String(error));
    assert.equal(error.code, "no-common-codec");
    assert.match(
      error.message,
      /the stream has H265; the browser offered H264 \(42001f, 42e01f, 4d001f, f4001f\)/,
    );
    assert.equal(rig.set.size, 1);
  });

  it("relays single RTP packets (udp-in) with the fallback codec", async () => {
    rig = await Rig.demo();
    const payloadType = rig.set.stream?.media.find((m) => m.kind === "video")?.payloadType ?? -1;
    const packetSet = new StreamViewers(
      options({ fallbackCodec: { codec: "H264", payloadType, clockRate: 90000 } }),
    );
    const unfed = new StreamViewers(options());
    try {
      rig.harness.source.on("frame", (unit) => {
        if (unit.kind !== "video") return;
        for (const packet of unit.packets) {
          packetSet.pushPacket(packet);
          unfed.pushPacket(packet);
        }
      });
      await waitFor(() => packetSet.stream !== undefined, 5000, "a stream from packets");
      assert.equal(unfed.stream, undefined);
      const viewer = await connectViewer({
        offer: async (sdp) => (await packetSet.addViewer(sdp, "127.0.0.1", true)).answerSdp,
      });
      rig.viewers.push(viewer);
      await viewer.connected;
      await receivedFrames(viewer, 40);
      assertCleanDecode(await decodeH264(viewer), 40, { width: 640, height: 360 });
    } finally {
      await packetSet.close();
      await unfed.close();
    }
  });

  it("reports the stream: codec, profile, size, rates, keyframe interval", async () => {
    rig = await Rig.gst({ keyint: 25, fps: 25, width: 640, height: 480, profile: "main" });
    await sleep(3500);
    const { stream } = rig.set.stats();
    assert.equal(stream.codec, "H264");
    assert.match(stream.profile ?? "", /^4d/);
    assert.equal(stream.width, 640);
    assert.equal(stream.height, 480);
    assert.ok(Math.abs(stream.fps - 25) <= 3, `fps ${stream.fps}`);
    assert.ok(stream.kbps > 200 && stream.kbps < 3000, `kbps ${stream.kbps}`);
    assert.ok(stream.packetsPerSecond >= 25, `packets/s ${stream.packetsPerSecond}`);
    assert.ok(
      Math.abs((stream.keyframeIntervalS ?? 0) - 1) < 0.2,
      `keyframe interval ${stream.keyframeIntervalS}`,
    );
    assert.equal(stream.sourceState, "receiving");
    assert.equal(stream.bFrames, false);
  });
});

describe("StreamViewers refusals", () => {
  const offer = readOffer("chromium-156.sdp");

  it("answers NoStreamError (503) before any media arrived", async () => {
    const set = new StreamViewers(options());
    const error = await set.addViewer(offer, "127.0.0.1", true).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(error instanceof NoStreamError);
    assert.equal(error.code, "no-stream");
    assert.equal(set.size, 0);
    await set.close();
  });

  it("answers BadSdpError (400) for empty, non-SDP and truncated offers", async () => {
    const set = new StreamViewers(options());
    set.push(...demoUnit());
    for (const bad of ["", "hello", offer.slice(0, offer.indexOf("a=fingerprint")), "v=0\r\ns=-\r\n"]) {
      const error = await set.addViewer(bad, "127.0.0.1", true).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(error instanceof BadSdpError, `${JSON.stringify(bad.slice(0, 30))}: ${String(error)}`);
      assert.equal(error.code, "bad-sdp");
    }
    assert.equal(set.size, 0);
    await set.close();
  });

  it("tells source sessions apart by id and session number, not by object (Node-RED clones messages)", async () => {
    const set = new StreamViewers(options());
    const [unit, stream] = demoUnit();
    for (let i = 0; i < 3; i++) set.push(unit, structuredClone(stream));
    assert.equal(set.stats().stream.sourceSessions, 1);
    set.push(unit, { ...structuredClone(stream), session: 2 });
    assert.equal(set.stats().stream.sourceSessions, 2);
    assert.equal(set.stream?.session, 2);
    await set.close();
  });

  it("answers UnknownViewerError (404) for ids it does not hold", async () => {
    const set = new StreamViewers(options());
    await assert.rejects(
      set.removeViewer("nope"),
      (e: unknown) => e instanceof UnknownViewerError && e.code === "unknown-viewer",
    );
    await set.close();
  });
});
