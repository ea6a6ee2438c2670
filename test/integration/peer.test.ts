import assert from "node:assert/strict";
import { connect } from "node:net";
import { decodeVideo, probeRtsp, type RtspProbe, runTool } from "../helpers/decode";
import {
  depacketizeH264,
  depacketizeH265,
  h264NalType,
  h264NalUnits,
  h265NalType,
  h265NalUnits,
  parseRtp,
} from "../helpers/depacketize";
import { GstRtspServer, type GstServerOptions, peerArguments, peerScript } from "../helpers/gst-server";
import { captureRtp, describe as rtspDescribe, splitRfc4571 } from "../helpers/rtp-capture";
import {
  framesByMarker,
  H264_IDR,
  H264_PPS,
  H264_SPS,
  H265_PPS,
  H265_SPS,
  H265_VPS,
} from "../helpers/rtp-fixtures";
import { requireTool } from "../helpers/tools";

// Proves the camera stand-in and the decode helpers before the product's own client exists:
// ffprobe and GStreamer's rtspsrc are the clients here.

function video(probe: RtspProbe) {
  const stream = probe.streams.find((s) => s.codec_type === "video");
  assert.ok(stream, `no video stream in ${JSON.stringify(probe.streams)}`);
  return stream;
}

function audio(probe: RtspProbe) {
  const stream = probe.streams.find((s) => s.codec_type === "audio");
  assert.ok(stream, `no audio stream in ${JSON.stringify(probe.streams)}`);
  return stream;
}

function h264Types(frame: readonly Buffer[]): number[] {
  return h264NalUnits(frame).map(h264NalType);
}

function h265Types(frame: readonly Buffer[]): number[] {
  return h265NalUnits(frame).map(h265NalType);
}

/** The payload type of the first packet of an RTP packet: H.264 STAP-A is 24, FU-A 28. */
function firstPayloadByte(packet: Buffer): number {
  return parseRtp(packet).payload.readUInt8(0);
}

function fmtpParameter(sdp: string, name: string): Buffer[] {
  const match = new RegExp(`${name}=([^;\\s]+)`).exec(sdp);
  assert.ok(match?.[1], `no ${name} in the SDP:\n${sdp}`);
  return match[1].split(",").map((b64) => Buffer.from(b64, "base64"));
}

function indexesOf(types: number[][], type: number): number[] {
  return types.flatMap((frame, index) => (frame.includes(type) ? [index] : []));
}

function tcpRefused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", () => resolve(true));
  });
}

describe("camera stand-in test/peers/gst-rtsp-server.py", function () {
  this.timeout(30_000);
  const started: GstRtspServer[] = [];

  async function serve(opts: GstServerOptions): Promise<GstRtspServer> {
    const server = await GstRtspServer.start({ width: 320, height: 240, keyint: 25, joinPhase: 0, ...opts });
    started.push(server);
    return server;
  }

  afterEach(async () => {
    await Promise.all(started.splice(0).map((server) => server.stop()));
  });

  it("knows every flag the helper passes", async () => {
    const everyOption: Required<GstServerOptions> = {
      ...{ codec: "h264", profile: "high", width: 1, height: 1, fps: 1, keyint: 1, bitrate: 1, bframes: 0 },
      ...{ slices: 1, audio: "none", auth: "none", user: "u", password: "p", realm: "r" },
      ...{
        spsInSdpOnly: true,
        bigNal: true,
        aggregate: true,
        protocols: "both",
        joinPhase: 1,
        sessionTimeout: 1,
        quickDescribe: true,
      },
      ...{ port: 0, path: "/p" },
    };
    const help = await runTool(requireTool("python3"), [peerScript(), "--help"]);
    assert.equal(help.code, 0, help.stderr);
    const text = help.stdout.toString("utf8");
    for (const flag of peerArguments(everyOption, 0).filter((arg) => arg.startsWith("--"))) {
      assert.ok(text.includes(flag), `${flag} missing from --help`);
    }
  });

  describe("seen by ffprobe", () => {
    it("serves H.264 in the profile asked for, B-frames when asked", async () => {
      const [baseline, main, high] = await Promise.all([
        serve({ profile: "baseline" }),
        serve({ profile: "main", bframes: 2 }),
        serve({ profile: "high" }),
      ]);
      const probes = await Promise.all([baseline, main, high].map((s) => probeRtsp(s.url, "tcp")));
      assert.deepEqual(
        probes.map(video).map((s) => [s.codec_name, s.profile, s.width, s.height, s.has_b_frames]),
        [
          ["h264", "Constrained Baseline", 320, 240, 0],
          ["h264", "Main", 320, 240, 2],
          ["h264", "High", 320, 240, 0],
        ],
      );
    });

    it("serves H.265 Main", async () => {
      const server = await serve({ codec: "h265" });
      const stream = video(await probeRtsp(server.url, "tcp"));
      assert.deepEqual(
        [stream.codec_name, stream.profile, stream.width, stream.height],
        ["hevc", "Main", 320, 240],
      );
    });

    it("serves each audio codec beside the video, over UDP as well as TCP", async () => {
      const servers = await Promise.all(
        (["pcma", "pcmu", "opus", "aac"] as const).map((codec) => serve({ audio: codec })),
      );
      const probes = await Promise.all(servers.map((s, i) => probeRtsp(s.url, i === 0 ? "udp" : "tcp")));
      assert.deepEqual(
        probes.map(audio).map((s) => [s.codec_name, s.sample_rate, s.channels]),
        [
          ["pcm_alaw", "8000", 1],
          ["pcm_mulaw", "8000", 1],
          ["opus", "48000", 2],
          ["aac", "16000", 1],
        ],
      );
      assert.deepEqual(
        probes.map((p) => video(p).codec_name),
        ["h264", "h264", "h264", "h264"],
      );
    });

    it("asks for Digest credentials and lets the right ones in", async () => {
      const server = await serve({ auth: "digest", user: "cam", password: "s3cret" });
      const challenge = await rtspDescribe(server.url);
      assert.equal(challenge.status, 401);
      assert.match(
        challenge.headers["www-authenticate"] ?? "",
        /^Digest realm="IP Camera", nonce="[0-9a-f]+"$/,
      );
      assert.equal(video(await probeRtsp(server.urlWithCredentials, "tcp")).codec_name, "h264");
      const wrong = server.urlWithCredentials.replace("s3cret", "wrong");
      await assert.rejects(probeRtsp(wrong, "tcp"), /401 Unauthorized/);
    });

    it("asks for Basic credentials and lets the right ones in", async () => {
      const server = await serve({ auth: "basic", user: "cam", password: "s3cret" });
      const challenge = await rtspDescribe(server.url);
      assert.equal(challenge.status, 401);
      assert.equal(challenge.headers["www-authenticate"], 'Basic realm="IP Camera"');
      assert.equal(video(await probeRtsp(server.urlWithCredentials, "tcp")).codec_name, "h264");
    });

    it("refuses UDP transport when restricted to TCP", async () => {
      const server = await serve({ protocols: "tcp" });
      await assert.rejects(probeRtsp(server.url, "udp"), /461 Unsupported transport/);
      assert.equal(video(await probeRtsp(server.url, "tcp")).codec_name, "h264");
    });

    it("restarts on the same port like a rebooting camera, and stops for good", async () => {
      const server = await serve({});
      const port = server.port;
      assert.equal(video(await probeRtsp(server.url, "tcp")).codec_name, "h264");
      await server.restart();
      assert.equal(server.port, port);
      assert.equal(video(await probeRtsp(server.url, "tcp")).codec_name, "h264");
      assert.equal(server.log.filter((line) => line.includes("listening on")).length, 2);
      await server.stop();
      assert.equal(server.running, false);
      assert.equal(await tcpRefused(port), true);
    });
  });

  describe("on the wire (GStreamer's rtspsrc as the client)", () => {
    it("answers the first DESCRIBE of a fresh server with 200 and the SDP", async () => {
      const server = await serve({});
      const answer = await rtspDescribe(server.url);
      assert.equal(answer.status, 200, `${answer.status} ${answer.reason}`);
      assert.match(answer.body, /^m=video 0 RTP\/AVP 96$/m);
    });

    it("puts SPS and PPS in-band before every IDR by default", async () => {
      const server = await serve({ keyint: 10 });
      const { packets } = await captureRtp(server.url, { frames: 25 });
      const types = framesByMarker(packets).map(h264Types);
      assert.equal(types.length, 25);
      assert.deepEqual(indexesOf(types, H264_IDR), [0, 10, 20]);
      for (const index of [0, 10, 20]) assert.deepEqual(types[index], [H264_SPS, H264_PPS, H264_IDR]);
      const decoded = await decodeVideo(depacketizeH264(packets), "h264");
      assert.deepEqual(decoded, { frames: 25, width: 320, height: 240, decodeErrors: [] });
    });

    it("sends H.264 parameter sets only in the SDP with spsInSdpOnly", async () => {
      const server = await serve({ spsInSdpOnly: true, keyint: 10, joinPhase: 10 });
      const sdp = (await rtspDescribe(server.url)).body;
      const [sps, pps] = fmtpParameter(sdp, "sprop-parameter-sets");
      assert.ok(sps && pps);
      assert.deepEqual([h264NalType(sps), h264NalType(pps)], [H264_SPS, H264_PPS]);
      const { packets } = await captureRtp(server.url, { frames: 15 });
      const types = framesByMarker(packets).map(h264Types);
      assert.deepEqual(indexesOf(types, H264_IDR), [0, 10]);
      assert.deepEqual(
        types.flat().filter((t) => t === H264_SPS || t === H264_PPS),
        [],
      );
      // Without the SDP's parameter sets nothing decodes; with them, every frame does.
      assert.equal((await decodeVideo(depacketizeH264(packets), "h264")).frames, 0);
      const decoded = await decodeVideo(depacketizeH264(packets, { prepend: [sps, pps] }), "h264");
      assert.deepEqual(decoded, { frames: 15, width: 320, height: 240, decodeErrors: [] });
    });

    it("sends H.265 parameter sets only in the SDP with spsInSdpOnly", async () => {
      const server = await serve({ codec: "h265", spsInSdpOnly: true, keyint: 10, joinPhase: 10 });
      const sdp = (await rtspDescribe(server.url)).body;
      const sets = ["sprop-vps", "sprop-sps", "sprop-pps"].flatMap((name) => fmtpParameter(sdp, name));
      assert.deepEqual(sets.map(h265NalType), [H265_VPS, H265_SPS, H265_PPS]);
      const { packets } = await captureRtp(server.url, { frames: 15 });
      const types = framesByMarker(packets).map(h265Types);
      assert.equal(types.length, 15);
      assert.deepEqual(
        types.flat().filter((t) => t >= H265_VPS && t <= H265_PPS),
        [],
      );
      const decoded = await decodeVideo(depacketizeH265(packets, { prepend: sets }), "h265");
      assert.deepEqual(decoded, { frames: 15, width: 320, height: 240, decodeErrors: [] });
    });

    it("starts a session mid-GOP at the join phase asked for", async () => {
      const server = await serve({ keyint: 25, joinPhase: 10 });
      const { packets } = await captureRtp(server.url, { frames: 20 });
      assert.deepEqual(indexesOf(framesByMarker(packets).map(h264Types), H264_IDR), [15]);
    });

    it("sends whole NAL units of tens of KB in one packet with bigNal", async () => {
      const server = await serve({ bigNal: true, width: 640, height: 360, bitrate: 3000 });
      const { packets } = await captureRtp(server.url, { frames: 5 });
      assert.equal(packets.filter((p) => (firstPayloadByte(p) & 0x1f) === 28).length, 0, "FU-A seen");
      assert.ok(Math.max(...packets.map((p) => p.length)) > 10_000, "no big packet");
      const decoded = await decodeVideo(depacketizeH264(packets), "h264");
      assert.deepEqual(decoded, { frames: 5, width: 640, height: 360, decodeErrors: [] });
    });

    it("aggregates parameter sets into STAP-A and AP packets with aggregate", async () => {
      const [avc, hevc] = await Promise.all([
        serve({ aggregate: true }),
        serve({ codec: "h265", aggregate: true }),
      ]);
      const [avcCapture, hevcCapture] = await Promise.all([
        captureRtp(avc.url, { frames: 3 }),
        captureRtp(hevc.url, { frames: 3 }),
      ]);
      const [firstAvc] = avcCapture.packets;
      const [firstHevc] = hevcCapture.packets;
      assert.ok(firstAvc && firstHevc);
      assert.equal(firstPayloadByte(firstAvc) & 0x1f, 24);
      assert.deepEqual(h264Types([firstAvc]).slice(0, 2), [H264_SPS, H264_PPS]);
      assert.equal((firstPayloadByte(firstHevc) >> 1) & 0x3f, 48);
      assert.deepEqual(h265Types([firstHevc]).slice(0, 3), [H265_VPS, H265_SPS, H265_PPS]);
      assert.equal((await decodeVideo(depacketizeH264(avcCapture.packets), "h264")).frames, 3);
      assert.equal((await decodeVideo(depacketizeH265(hevcCapture.packets), "h265")).frames, 3);
    });

    it("cuts frames into the number of slices asked for", async () => {
      const server = await serve({ slices: 4 });
      const { packets } = await captureRtp(server.url, { frames: 2 });
      assert.deepEqual(framesByMarker(packets).map(h264Types), [
        [H264_SPS, H264_PPS, 5, 5, 5, 5],
        [1, 1, 1, 1],
      ]);
    });
  });
});

describe("test helpers on GStreamer payloader output (no RTSP)", function () {
  this.timeout(20_000);

  async function payload(encoder: string, payloader: string): Promise<Buffer[]> {
    const pipeline = [
      ...["-q", "videotestsrc", "num-buffers=30", "pattern=smpte", "!"],
      ...["video/x-raw,format=I420,width=320,height=240,framerate=25/1", "!"],
      ...encoder.split(" "),
      ...["!", ...payloader.split(" "), "!", "rtpstreampay", "!", "fdsink", "fd=1"],
    ];
    const result = await runTool(requireTool("gst-launch-1.0"), pipeline);
    assert.equal(result.code, 0, result.stderr);
    const { packets, rest } = splitRfc4571(result.stdout);
    assert.equal(rest.length, 0);
    return packets;
  }

  it("depacketizes single NAL, STAP-A and FU-A packets into 30 decodable frames", async () => {
    const packets = await payload(
      "x264enc speed-preset=ultrafast tune=zerolatency threads=1 key-int-max=10",
      "rtph264pay mtu=400 config-interval=-1 aggregate-mode=zero-latency",
    );
    const kinds = new Set(packets.map((p) => firstPayloadByte(p) & 0x1f));
    assert.ok(kinds.has(24) && kinds.has(28), `packet types ${[...kinds]}`);
    const decoded = await decodeVideo(depacketizeH264(packets), "h264");
    assert.deepEqual(decoded, { frames: 30, width: 320, height: 240, decodeErrors: [] });
  });

  it("depacketizes H.265 AP and FU packets into 30 decodable frames", async () => {
    const packets = await payload(
      "x265enc speed-preset=ultrafast tune=zerolatency key-int-max=10",
      "rtph265pay mtu=400 config-interval=-1 aggregate-mode=zero-latency",
    );
    const kinds = new Set(packets.map((p) => (firstPayloadByte(p) >> 1) & 0x3f));
    assert.ok(kinds.has(48) && kinds.has(49), `packet types ${[...kinds]}`);
    const decoded = await decodeVideo(depacketizeH265(packets), "h265");
    assert.deepEqual(decoded, { frames: 30, width: 320, height: 240, decodeErrors: [] });
  });
});

describe("test helper decodeVideo", function () {
  this.timeout(20_000);

  async function clip(encoder: "libx264" | "libx265", format: "h264" | "hevc"): Promise<Buffer> {
    const args = [
      ...["-v", "error", "-f", "lavfi", "-i", "testsrc=size=352x288:rate=25", "-frames:v", "40"],
      ...["-c:v", encoder, ...(encoder === "libx265" ? ["-x265-params", "log-level=error"] : [])],
      ...["-f", format, "pipe:1"],
    ];
    const result = await runTool(requireTool("ffmpeg"), args);
    assert.equal(result.code, 0, result.stderr);
    return result.stdout;
  }

  it("counts every frame of a clean H.264 clip and its size", async () => {
    const decoded = await decodeVideo(await clip("libx264", "h264"), "h264");
    assert.deepEqual(decoded, { frames: 40, width: 352, height: 288, decodeErrors: [] });
  });

  it("counts every frame of a clean H.265 clip and its size", async () => {
    const decoded = await decodeVideo(await clip("libx265", "hevc"), "h265");
    assert.deepEqual(decoded, { frames: 40, width: 352, height: 288, decodeErrors: [] });
  });

  it("reports decode errors for a damaged stream", async () => {
    const stream = await clip("libx264", "h264");
    // Zero a stretch in the middle of the stream: slices there fail to parse.
    const damaged = Buffer.from(stream);
    damaged.fill(0x5a, Math.floor(stream.length / 3), Math.floor(stream.length / 3) + 2000);
    const decoded = await decodeVideo(damaged, "h264");
    assert.ok(decoded.decodeErrors.length > 0, "no decode error reported");
  });

  it("reports a stream that is not video at all", async () => {
    const decoded = await decodeVideo(Buffer.from("not a video stream"), "h264");
    assert.equal(decoded.frames, 0);
    assert.ok(decoded.decodeErrors.length > 0);
  });
});
