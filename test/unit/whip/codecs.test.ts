import "../../helpers/loopback-namespace";
import assert from "node:assert/strict";
import type { MediaInfo } from "../../../src/rtp/stream-info";
import { Backoff } from "../../../src/rtsp/backoff";
import { checkAnswer, codecPlan, weriftCodecs } from "../../../src/whip/codecs";
import { asWhipError, statusText, WhipError } from "../../../src/whip/errors";
import { parseEndpoint, WHIP_BACKOFF } from "../../../src/whip/publisher";

const h264 = (fields: Partial<MediaInfo> = {}): MediaInfo => ({
  mid: "0",
  kind: "video",
  codec: "H264",
  payloadType: 96,
  clockRate: 90000,
  fmtp: { "packetization-mode": "1", "profile-level-id": "4D001F" },
  relayable: true,
  width: 1280,
  height: 720,
  ...fields,
});

const audio = (codec: string, clockRate = 8000): MediaInfo => ({
  mid: "1",
  kind: "audio",
  codec,
  payloadType: 97,
  clockRate,
  fmtp: {},
  relayable: codec !== "MPEG4-GENERIC",
});

function answer(video: string, audioLine = ""): string {
  return [
    "v=0",
    "o=- 1 1 IN IP4 127.0.0.1",
    "s=-",
    "t=0 0",
    "a=ice-ufrag:abcd",
    "a=ice-pwd:0123456789012345678901",
    "a=fingerprint:sha-256 AA:BB",
    video,
    ...(audioLine === "" ? [] : [audioLine]),
    "",
  ].join("\r\n");
}

describe("whip: what is offered", () => {
  it("H.264: the stream's own profile-level-id first, then 42e01f, packetization-mode 1, NACK, PLI and FIR", () => {
    const plan = codecPlan(h264(), audio("PCMA"));
    assert.deepEqual(
      plan.video.map((c) => [c.mimeType, c.payloadType, c.fmtp]),
      [
        ["video/H264", 96, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f"],
        ["video/H264", 97, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"],
      ],
    );
    assert.deepEqual(plan.video[0]?.rtcpFeedback, [
      { type: "nack" },
      { type: "nack", parameter: "pli" },
      { type: "ccm", parameter: "fir" },
    ]);
    assert.deepEqual(
      plan.audio.map((c) => [c.mimeType, c.clockRate, c.payloadType]),
      [["audio/PCMA", 8000, 8]],
    );
    assert.equal(plan.label, "H264 1280x720");
  });

  it("one H.264 entry when the stream is 42e01f or has no usable profile", () => {
    assert.equal(codecPlan(h264({ profileLevelId: "42E01F" }), undefined).video.length, 1);
    const plan = codecPlan(h264({ fmtp: { "profile-level-id": "zz" } }), undefined);
    assert.deepEqual(
      plan.video.map((c) => c.fmtp),
      ["level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"],
    );
    assert.equal(codecPlan(h264({ fmtp: {} }), undefined).video.length, 1);
  });

  it("H.265 as it is; Opus, PCMU at their rates; AAC, 16 kHz PCMA and other codecs are left out", () => {
    const plan = codecPlan(
      h264({ codec: "H265", fmtp: { "profile-id": "2" }, width: undefined }),
      audio("OPUS", 48000),
    );
    assert.deepEqual(
      plan.video.map((c) => [c.mimeType, c.fmtp]),
      [["video/H265", "profile-id=2"]],
    );
    assert.deepEqual(
      plan.audio.map((c) => [c.mimeType, c.clockRate, c.channels]),
      [["audio/opus", 48000, 2]],
    );
    assert.equal(plan.label, "H265");
    assert.equal(codecPlan(h264({ codec: "H265", fmtp: {} }), undefined).video[0]?.fmtp, "profile-id=1");
    assert.deepEqual(
      codecPlan(h264(), audio("PCMU")).audio.map((c) => c.payloadType),
      [0],
    );
    assert.deepEqual(codecPlan(h264(), audio("MPEG4-GENERIC", 16000)).audio, []);
    assert.deepEqual(codecPlan(h264(), audio("PCMA", 16000)).audio, []);
    assert.deepEqual(codecPlan(h264(), audio("PCMU", 16000)).audio, []);
    const audioOnly = codecPlan(undefined, audio("PCMU"));
    assert.deepEqual([audioOnly.video, audioOnly.label], [[], "PCMU"]);
  });

  it("refuses a stream WebRTC cannot carry", () => {
    assert.throws(
      () => codecPlan(h264({ codec: "JPEG" }), audio("MPEG4-GENERIC", 16000)),
      (e: unknown) =>
        e instanceof WhipError && e.code === "no-media" && /JPEG and MPEG4-GENERIC/.test(e.message),
    );
    assert.throws(() => codecPlan(undefined, undefined), /no media/);
  });

  it("werift codec objects carry every field", () => {
    const [video, audioCodec] = weriftCodecs([
      ...codecPlan(h264(), audio("OPUS", 48000)).video.slice(0, 1),
      ...codecPlan(h264(), audio("OPUS", 48000)).audio,
    ]);
    assert.equal(video?.mimeType, "video/H264");
    assert.equal(video?.payloadType, 96);
    assert.match(video?.parameters ?? "", /profile-level-id=4d001f/);
    assert.equal(audioCodec?.channels, 2);
    assert.equal(audioCodec?.parameters, undefined);
  });
});

describe("whip: checking the answer", () => {
  const plan = codecPlan(h264(), audio("PCMA"));

  it("takes the entry the answer chose, by payload type and name", () => {
    const choice = checkAnswer(
      answer(
        "m=video 9 UDP/TLS/RTP/SAVPF 97\r\na=rtpmap:97 H264/90000",
        "m=audio 9 UDP/TLS/RTP/SAVPF 8\r\na=rtpmap:8 PCMA/8000",
      ),
      plan,
    );
    assert.equal(choice.video?.payloadType, 97);
    assert.equal(choice.audio?.mimeType, "audio/PCMA");
  });

  it("goes on without audio when the answer rejects it", () => {
    const choice = checkAnswer(
      answer("m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 H264/90000", "m=audio 0 UDP/TLS/RTP/SAVPF 8"),
      plan,
    );
    assert.equal(choice.video?.payloadType, 96);
    assert.equal(choice.audio, undefined);
  });

  it("no-codec: video rejected, renumbered, or another codec; audio-only refused", () => {
    const noCodec = (e: unknown) => e instanceof WhipError && e.code === "no-codec";
    assert.throws(() => checkAnswer(answer("m=video 0 UDP/TLS/RTP/SAVPF 96"), plan), noCodec);
    assert.throws(
      () => checkAnswer(answer("m=video 9 UDP/TLS/RTP/SAVPF 100\r\na=rtpmap:100 H264/90000"), plan),
      /does not accept the video \(H264\)/,
    );
    assert.throws(
      () => checkAnswer(answer("m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 VP8/90000"), plan),
      noCodec,
    );
    assert.throws(
      () => checkAnswer(answer("m=audio 9 UDP/TLS/RTP/SAVPF 8\r\na=rtpmap:8 PCMA/8000"), plan),
      noCodec,
    );
    const audioPlan = codecPlan(undefined, audio("PCMU"));
    assert.throws(
      () => checkAnswer(answer("m=audio 0 UDP/TLS/RTP/SAVPF 0"), audioPlan),
      /does not accept the audio \(PCMU\)/,
    );
  });

  it("bad-answer: not an SDP, no ICE credentials, no fingerprint", () => {
    const bad = (e: unknown) => e instanceof WhipError && e.code === "bad-answer";
    assert.throws(() => checkAnswer("<html></html>", plan), /not an SDP \(it starts with "<html><\/html>"\)/);
    const video = "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 H264/90000";
    assert.throws(
      () => checkAnswer(answer(video).replace(/a=ice-pwd.*\r\n/, ""), plan),
      /no ice-ufrag\/ice-pwd/,
    );
    assert.throws(() => checkAnswer(answer(video).replace(/a=fingerprint.*\r\n/, ""), plan), bad);
  });
});

describe("whip: errors, endpoint, backoff", () => {
  it("names HTTP statuses as people know them", () => {
    assert.equal(statusText(401, ""), "401 Unauthorized");
    assert.equal(statusText(401, "Go Away"), "401 Go Away");
    assert.equal(statusText(503, undefined), "503 Service Unavailable");
    assert.equal(statusText(599, ""), "599");
  });

  it("wraps anything else as a WhipError, keeps WhipErrors", () => {
    const kept = new WhipError("timeout", "t");
    assert.equal(asWhipError(kept), kept);
    assert.deepEqual(
      [asWhipError(new Error("x")).code, asWhipError(new Error("x")).message],
      ["bad-answer", "x"],
    );
    assert.equal(asWhipError("y", "dtls").code, "dtls");
  });

  it("takes http and https endpoints only", () => {
    assert.equal(parseEndpoint(" https://sfu.example.net/whip ").host, "sfu.example.net");
    assert.throws(() => parseEndpoint("sfu.example.net/whip"), /not a URL/);
    assert.throws(() => parseEndpoint("rtsp://sfu.example.net/whip"), /must be http: or https:, not rtsp:/);
  });

  it("retries 1 s doubling to 30 s, ±20 %, and starts over after a reset", () => {
    const steady = new Backoff({ ...WHIP_BACKOFF, random: () => 0.5 });
    assert.deepEqual(
      Array.from({ length: 8 }, () => steady.next()),
      [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000],
    );
    steady.reset();
    assert.equal(steady.next(), 1000);
    assert.equal(new Backoff({ ...WHIP_BACKOFF, random: () => 0 }).next(), 800);
    assert.equal(new Backoff({ ...WHIP_BACKOFF, random: () => 1 }).next(), 1200);
  });
});
