import assert from "node:assert/strict";
import type { AccessUnit, StreamInfo } from "../../src/rtp/stream-info";
import { decodeVideo } from "../helpers/decode";
import { annexB, depacketizeH264, depacketizeH265 } from "../helpers/depacketize";
import { GstRtspServer, type GstServerOptions } from "../helpers/gst-server";
import { SourceHarness } from "../helpers/source-harness";

const FRAMES = 40;

/** Decodes what rtsp-in emitted, the way a viewer would: parameter sets from the SDP first, then the frames. */
async function decodeUnits(units: AccessUnit[], stream: StreamInfo) {
  const video = stream.media.find((m) => m.kind === "video")!;
  const packets = units.flatMap((u) => u.packets);
  const codec = video.codec === "H265" ? "h265" : "h264";
  const body = codec === "h265" ? depacketizeH265(packets) : depacketizeH264(packets);
  return decodeVideo(Buffer.concat([annexB([...(video.parameterSets ?? [])]), body]), codec);
}

describe("RTSP client against gst-rtsp-server", function () {
  this.timeout(60_000);
  let server: GstRtspServer | undefined;
  let harness: SourceHarness | undefined;

  afterEach(async () => {
    await harness?.close();
    await server?.stop();
    harness = undefined;
    server = undefined;
  });

  const cases: {
    title: string;
    server: GstServerOptions;
    transport: "tcp" | "udp" | "auto";
    size: [number, number];
  }[] = [
    { title: "H.264 over TCP", server: { codec: "h264" }, transport: "tcp", size: [640, 360] },
    { title: "H.264 over UDP", server: { codec: "h264" }, transport: "udp", size: [640, 360] },
    { title: "H.264 over auto (UDP works)", server: { codec: "h264" }, transport: "auto", size: [640, 360] },
    {
      title: "H.264 High 1280x720",
      server: { codec: "h264", profile: "high", width: 1280, height: 720 },
      transport: "tcp",
      size: [1280, 720],
    },
    { title: "H.265 over TCP", server: { codec: "h265" }, transport: "tcp", size: [640, 360] },
    {
      title: "H.264 with SPS/PPS only in the SDP",
      server: { codec: "h264", spsInSdpOnly: true },
      transport: "tcp",
      size: [640, 360],
    },
  ];

  for (const c of cases) {
    it(`${c.title}: every emitted frame decodes`, async () => {
      server = await GstRtspServer.start(c.server);
      harness = new SourceHarness({ url: server.url, transport: c.transport, media: "video" });
      harness.source.start();
      const units = await harness.videoFromKeyframe(FRAMES);
      const stream = harness.video()[0]!.stream;
      const decoded = await decodeUnits(units, stream);
      assert.deepEqual(decoded.decodeErrors, []);
      assert.equal(decoded.frames, FRAMES);
      assert.deepEqual([decoded.width, decoded.height], c.size);
      assert.deepEqual([harness.source.videoSize?.width, harness.source.videoSize?.height], c.size);
      assert.equal(harness.states.at(-1)?.state, "playing");
      assert.equal(harness.source.transport, c.transport === "auto" ? "udp" : c.transport);
      for (const { unit } of harness.units) {
        for (const packet of unit.packets)
          assert.equal(packet.buffer.byteLength, packet.length, "packet owns its bytes");
      }
    });
  }

  it("reports the High profile and parameter sets in the stream description", async () => {
    server = await GstRtspServer.start({ codec: "h264", profile: "high", width: 1280, height: 720 });
    harness = new SourceHarness({ url: server.url, media: "video" });
    harness.source.start();
    await harness.videoFromKeyframe(1);
    const video = harness.video()[0]!.stream.media[0]!;
    assert.equal(video.codec, "H264");
    assert.equal(video.clockRate, 90000);
    assert.match(video.profileLevelId ?? "", /^64/);
    assert.ok(Object.isFrozen(harness.video()[0]!.stream));
  });

  it("auto falls back to TCP when the camera refuses UDP", async () => {
    server = await GstRtspServer.start({ codec: "h264", protocols: "tcp" });
    harness = new SourceHarness({ url: server.url, transport: "auto", media: "video" });
    harness.source.start();
    const units = await harness.videoFromKeyframe(10);
    assert.equal(units.length, 10);
    assert.equal(harness.source.transport, "tcp");
    assert.equal(
      harness.states.filter((s) => s.state === "retrying").length,
      0,
      "no backoff for the fallback",
    );
  });

  it("receives PCMA audio beside the video", async () => {
    server = await GstRtspServer.start({ codec: "h264", audio: "pcma" });
    harness = new SourceHarness({ url: server.url, media: "both" });
    harness.source.start();
    await harness.until(
      () => harness!.units.filter((u) => u.unit.kind === "audio").length >= 25,
      20_000,
      "audio",
    );
    const stream = harness.units[0]!.stream;
    const audio = stream.media.find((m) => m.kind === "audio")!;
    assert.equal(audio.codec, "PCMA");
    assert.equal(audio.clockRate, 8000);
    assert.equal(audio.relayable, true);
    const audioUnits = harness.units.filter((u) => u.unit.kind === "audio");
    assert.ok(audioUnits.every((u) => u.unit.packets.length === 1 && u.unit.mid === audio.mid));
  });

  it("takes audio alone when asked", async () => {
    server = await GstRtspServer.start({ codec: "h264", audio: "pcma" });
    harness = new SourceHarness({ url: server.url, media: "audio" });
    harness.source.start();
    await harness.until(() => harness!.units.length >= 10, 20_000, "audio");
    assert.ok(harness.units.every((u) => u.unit.kind === "audio"));
    assert.deepEqual(
      harness.units[0]!.stream.media.map((m) => m.kind),
      ["audio"],
    );
  });

  for (const auth of ["basic", "digest"] as const) {
    it(`authenticates with ${auth}`, async () => {
      server = await GstRtspServer.start({ codec: "h264", auth, user: "admin", password: "p@ss:w0rd" });
      harness = new SourceHarness({
        url: server.url,
        username: "admin",
        password: "p@ss:w0rd",
        media: "video",
      });
      harness.source.start();
      const units = await harness.videoFromKeyframe(5);
      assert.equal(units.length, 5);
    });

    it(`takes ${auth} credentials from the URL, percent-encoded`, async () => {
      server = await GstRtspServer.start({ codec: "h264", auth, user: "admin", password: "p@ss:w0rd" });
      const url = server.url.replace("rtsp://", `rtsp://admin:${encodeURIComponent("p@ss:w0rd")}@`);
      harness = new SourceHarness({ url, media: "video" });
      harness.source.start();
      await harness.videoFromKeyframe(5);
    });

    it(`${auth}: a wrong password is a clear error and a retry, not a loop`, async () => {
      server = await GstRtspServer.start({ codec: "h264", auth, user: "admin", password: "right" });
      harness = new SourceHarness({
        url: server.url,
        username: "admin",
        password: "wrong-secret",
        backoff: { delaysMs: [200, 400], jitter: 0 },
      });
      harness.source.start();
      await harness.until(
        () => harness!.states.filter((s) => s.state === "retrying").length >= 2,
        10_000,
        "retries",
      );
      const retries = harness.states.filter((s) => s.state === "retrying");
      assert.equal(retries[0]!.reason, "401 Unauthorized: wrong user or password");
      assert.deepEqual(
        retries.slice(0, 2).map((r) => r.retryInMs),
        [200, 400],
      );
      assert.ok(harness.states.every((s) => !JSON.stringify(s).includes("wrong-secret")));
    });
  }

  it("reconnects when the camera restarts, and the stream continues in a new session", async () => {
    server = await GstRtspServer.start({ codec: "h264" });
    harness = new SourceHarness({ url: server.url, media: "video", backoff: { delaysMs: [300], jitter: 0 } });
    harness.source.start();
    await harness.videoFromKeyframe(10);
    await server.restart();
    await harness.until(
      () => harness!.video().filter((v) => v.stream.session === 2 && v.unit.keyframe).length > 0,
      20_000,
      "frames of session 2",
    );
    const second = harness.video().filter((v) => v.stream.session === 2);
    const first = harness.video().find((v) => v.stream.session === 1)!;
    assert.equal(second[0]!.stream.id, first.stream.id, "the same stream id across sessions");
    assert.ok(harness.states.some((s) => s.state === "retrying"));
    assert.equal(harness.states.at(-1)?.state, "playing");
  });
});
