import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { once } from "node:events";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type DemoClip, loadDemoClip } from "../../../src/demo/clip";
import { DemoCamera, type DemoCameraOptions } from "../../../src/demo/demo-camera";
import { type ClipSpec, checkClipSpec, clipName, ensureClip, probeClip } from "../../bench/clips";
import { RtspTestClient, type TestResponse } from "./rtsp-test-client";

/** The demo camera with a clip of its caller's (the bench's 720p ones): its size, rate and send hook. */

/** Small enough to make in a fraction of a second, unlike the shipped clip in every figure. */
const SPEC: ClipSpec = { width: 320, height: 240, fps: 15, kbps: 300, gop: 15, seconds: 2 };

interface Sent {
  readonly packet: Buffer;
  readonly atNs: bigint;
}

function sessionId(response: TestResponse): string {
  const id = response.headers.get("session")?.split(";")[0];
  assert.ok(id, "Session header");
  return id;
}

const isMarker = (packet: Buffer): boolean => (packet[1]! & 0x80) !== 0;
const timestamp = (packet: Buffer): number => packet.readUInt32BE(4);

/** Every packet the hook reported, in order, as the client received them (the hook may be ahead). */
function assertHookSawWhatArrived(sent: readonly Sent[], received: readonly Buffer[]): void {
  assert.ok(received.length > 0);
  assert.ok(sent.length >= received.length, `${sent.length} reported, ${received.length} received`);
  for (const [i, packet] of received.entries()) assert.deepEqual(sent[i]!.packet, packet, `packet ${i}`);
  for (let i = 1; i < sent.length; i++) assert.ok(sent[i]!.atNs >= sent[i - 1]!.atNs, `atNs at ${i}`);
}

function ffprobe(url: string): Promise<{ width?: number; height?: number; r_frame_rate?: string }> {
  const args = ["-v", "error", "-rtsp_transport", "tcp", "-show_streams", "-of", "json", url];
  return new Promise((resolve, reject) => {
    execFile("/usr/bin/ffprobe", args, { timeout: 10_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`ffprobe: ${error.message}\n${stderr}`));
      else resolve((JSON.parse(stdout) as { streams: [{ width?: number }] }).streams[0]);
    });
  });
}

describe("DemoCamera with a given clip (clipPath, fps, onPacketSent)", function () {
  this.timeout(30_000);
  let dir: string;
  let clipPath: string;
  let clip: DemoClip;
  const cameras: DemoCamera[] = [];
  const clients: RtspTestClient[] = [];
  const sockets: UdpSocket[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "bench-clip-"));
    clipPath = await ensureClip(SPEC, dir);
    clip = await loadDemoClip(clipPath);
  });

  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  afterEach(async () => {
    for (const rtsp of clients.splice(0)) rtsp.destroy();
    for (const socket of sockets.splice(0)) socket.close();
    await Promise.all(cameras.splice(0).map((camera) => camera.close()));
  });

  async function start(opts: DemoCameraOptions): Promise<{ url: string; rtsp: RtspTestClient }> {
    const camera = new DemoCamera({ clipPath, fps: SPEC.fps, startAt: "start", ...opts });
    cameras.push(camera);
    const { url, port } = await camera.start();
    const rtsp = await RtspTestClient.connect(port);
    clients.push(rtsp);
    return { url, rtsp };
  }

  it("makes the clip once, as specified: size, Main, no B-frames, an IDR every GOP, about the bitrate", async () => {
    assert.equal(clipPath, join(dir, `${clipName(SPEC)}.h264`));
    assert.equal(clipName(SPEC), "320x240-15fps-300k-g15-2s");
    const madeAt = statSync(clipPath).mtimeMs;
    assert.equal(await ensureClip(SPEC, dir), clipPath);
    assert.equal(statSync(clipPath).mtimeMs, madeAt, "the cached clip is not made again");
    const probe = await probeClip(clipPath, SPEC.fps);
    assert.deepEqual(
      {
        codec: probe.codec,
        profile: probe.profile,
        width: probe.width,
        height: probe.height,
        frameRate: probe.frameRate,
        hasBFrames: probe.hasBFrames,
        frames: probe.frames,
        keyframes: probe.keyframes,
        gops: probe.gops,
      },
      {
        codec: "h264",
        profile: "Main",
        width: 320,
        height: 240,
        frameRate: "15/1",
        hasBFrames: false,
        frames: 30,
        keyframes: 2,
        gops: [15],
      },
    );
    assert.ok(
      probe.averageKbps > SPEC.kbps * 0.6 && probe.averageKbps < SPEC.kbps * 1.4,
      `${probe.averageKbps} kbit/s`,
    );
    assert.equal(clip.frames.length, 30);
    assert.deepEqual(
      clip.frames.flatMap((frame, i) => (frame.keyframe ? [i] : [])),
      [0, 15],
    );
    assert.ok(
      clip.frames.every((frame) => !frame.keyframe || frame.nals.some((nal) => (nal[0]! & 0x1f) === 7)),
      "SPS in-band before each IDR",
    );
  });

  it("refuses specs that cannot loop at an IDR or be encoded", () => {
    assert.throws(() => checkClipSpec({ ...SPEC, seconds: 3, gop: 20 }), RangeError);
    assert.throws(() => checkClipSpec({ ...SPEC, width: 321 }), RangeError);
    assert.throws(() => checkClipSpec({ ...SPEC, kbps: 0 }), RangeError);
    assert.throws(() => checkClipSpec({ ...SPEC, fps: 29.97 }), RangeError);
    assert.doesNotThrow(() => checkClipSpec(SPEC));
  });

  it("describes the clip and plays it at its frame rate over TCP, reporting each packet it sends", async () => {
    const sent: Sent[] = [];
    const { url, rtsp } = await start({ onPacketSent: (packet, atNs) => sent.push({ packet, atNs }) });
    const sdp = (await rtsp.request("DESCRIBE", url)).body.toString();
    const sprop = `${clip.sps.toString("base64")},${clip.pps.toString("base64")}`;
    assert.ok(sdp.includes(`profile-level-id=${clip.profileLevelId};sprop-parameter-sets=${sprop}\r\n`), sdp);
    assert.match(sdp, /^a=framerate:15\r$/m);

    const setup = await rtsp.request("SETUP", `${url}/trackID=0`, {
      Transport: "RTP/AVP/TCP;interleaved=0-1",
    });
    const playedAt = process.hrtime.bigint();
    await rtsp.request("PLAY", url, { Session: sessionId(setup) });
    const video = (): Buffer[] => rtsp.packets.filter((p) => p.channel === 0).map((p) => p.data);
    await rtsp.until(() => video().filter(isMarker).length >= 18, 5000);
    const received = video();
    const frameTimes = received.filter(isMarker).map(timestamp);
    for (let i = 1; i < frameTimes.length; i++)
      assert.equal((frameTimes[i]! - frameTimes[i - 1]!) >>> 0, 6000);
    // The loop point (frame 30 = frame 0 again) has not come yet: 18 frames are the clip's first 18.
    assert.deepEqual(received[0]!.subarray(12), clip.sps);
    assertHookSawWhatArrived(sent, received);
    assert.ok(sent[0]!.atNs > playedAt);
    // 18 frames at 15 fps: the 18th leaves about 17/15 s after the first. Paced, not sent at once nor at
    // twice the rate (567 ms); the bounds leave room for timers a loaded machine delays.
    const lastFrame = sent.filter((s) => isMarker(s.packet))[17]!;
    const spreadMs = Number(lastFrame.atNs - sent[0]!.atNs) / 1e6;
    assert.ok(spreadMs > 700 && spreadMs < 3000, `${spreadMs} ms for 17 frame periods (1133 ms at 15 fps)`);
  });

  it("reports the packets it sends over UDP too", async () => {
    const sent: Sent[] = [];
    const { url, rtsp } = await start({ onPacketSent: (packet, atNs) => sent.push({ packet, atNs }) });
    const rtp = createSocket("udp4");
    const rtcp = createSocket("udp4");
    sockets.push(rtp, rtcp);
    rtp.bind(0, "127.0.0.1");
    rtcp.bind(0, "127.0.0.1");
    await Promise.all([once(rtp, "listening"), once(rtcp, "listening")]);
    const received: Buffer[] = [];
    rtp.on("message", (packet) => received.push(packet));
    const setup = await rtsp.request("SETUP", `${url}/trackID=0`, {
      Transport: `RTP/AVP;unicast;client_port=${rtp.address().port}-${rtcp.address().port}`,
    });
    await rtsp.request("PLAY", url, { Session: sessionId(setup) });
    await rtsp.until(() => received.filter(isMarker).length >= 5, 5000);
    assertHookSawWhatArrived(sent, received.slice());
  });

  it("is probed by ffprobe with the clip's size and frame rate", async () => {
    const { url } = await start({});
    const stream = await ffprobe(url);
    assert.deepEqual(
      { width: stream.width, height: stream.height, rate: stream.r_frame_rate },
      { width: 320, height: 240, rate: "15/1" },
    );
  });
});
