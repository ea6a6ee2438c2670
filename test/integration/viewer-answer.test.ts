import "../helpers/loopback-namespace";
import assert from "node:assert/strict";
import { once } from "node:events";
import { parse } from "sdp-transform";
import type { MediaInfo } from "../../src/rtp/stream-info";
import { BadSdpError, NoCommonCodecError } from "../../src/webrtc/errors";
import { Viewer } from "../../src/webrtc/viewer";
import { PCMA_AUDIO } from "../helpers/media-info-fixtures";
import { readOffer } from "../helpers/offer-fixtures";

// The answers werift makes through Viewer for real browser offers: exactly the matched codec, and
// candidates on the configured addresses only. Binds UDP sockets: run inside `unshare --net`.

const ICE = { iceServers: [], additionalHostAddresses: ["127.0.0.1"] };

const highCamera: MediaInfo = {
  mid: "0",
  kind: "video",
  codec: "H264",
  payloadType: 96,
  clockRate: 90000,
  fmtp: {},
  relayable: true,
  parameterSets: [Buffer.from("Z2QAM6zZQCgAtbARAAADAAEAAAMAMg8YMZY=", "base64")],
};

const h265Camera: MediaInfo = {
  ...highCamera,
  codec: "H265",
  parameterSets: [],
  fmtp: { "profile-id": "1" },
};

const pcma = PCMA_AUDIO;

const aac: MediaInfo = {
  ...pcma,
  codec: "MPEG4-GENERIC",
  payloadType: 97,
  clockRate: 16000,
  relayable: false,
};

function media(answer: string, kind: "video" | "audio") {
  const found = parse(answer).media.find((m) => m.type === kind);
  assert.ok(found, `no ${kind} m-line in the answer`);
  return found;
}

describe("Viewer answers", function () {
  this.timeout(20_000);
  const open: Viewer[] = [];

  afterEach(async () => {
    await Promise.all(open.splice(0).map((v) => v.close()));
  });

  async function answer(offerSdp: string, video: MediaInfo | undefined, audio?: MediaInfo): Promise<string> {
    const created = await Viewer.create({
      offerSdp,
      ...(video !== undefined ? { video } : {}),
      ...(audio !== undefined ? { audio } : {}),
      ice: ICE,
      remoteAddress: "127.0.0.1",
      vanilla: true,
    });
    open.push(created.viewer);
    return created.answerSdp;
  }

  it("answers Chromium 156 for a High camera with f4001f only, PCMA audio, send-only, loopback candidates", async () => {
    const sdp = await answer(readOffer("chromium-156.sdp"), highCamera, pcma);
    const video = media(sdp, "video");
    assert.deepEqual(
      video.rtp.map((r) => [r.payload, r.codec, r.rate]),
      [[41, "H264", 90000]],
    );
    assert.deepEqual(
      video.fmtp.map((f) => [f.payload, f.config]),
      [[41, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=f4001f"]],
    );
    assert.equal(video.direction, "sendonly");
    assert.ok(video.port !== 0);
    const audio = media(sdp, "audio");
    assert.deepEqual(
      audio.rtp.map((r) => [r.payload, r.codec]),
      [[8, "PCMA"]],
    );
    const candidates = parse(sdp).media.flatMap((m) => m.candidates ?? []);
    assert.ok(candidates.length > 0, "the vanilla answer carries candidates");
    assert.ok(
      candidates.every((c) => c.ip === "127.0.0.1"),
      JSON.stringify(candidates),
    );
    const viewer = open[0];
    assert.equal(viewer?.videoCodec, "H264 f4001f");
    assert.equal(viewer?.audioCodec, "PCMA/8000");
  });

  it("answers Safari's H.265 entry for an H.265 camera, and rejects the audio m-line for AAC", async () => {
    const sdp = await answer(readOffer("safari-18.sdp"), h265Camera, aac);
    assert.deepEqual(
      media(sdp, "video").rtp.map((r) => [r.payload, r.codec]),
      [[100, "H265"]],
    );
    assert.equal(media(sdp, "audio").port, 0);
    // aiortc refuses an answer with a rejected section that does not say it (DESIGN.md §6).
    assert.equal(media(sdp, "audio").rtcpMux, "rtcp-mux");
    assert.equal(open[0]?.audioCodec, undefined);
  });

  it("answers Firefox with the fmtp string exactly as offered", async () => {
    const sdp = await answer(readOffer("firefox-140.sdp"), {
      ...highCamera,
      parameterSets: [],
      profileLevelId: "42e01f",
    });
    assert.deepEqual(
      media(sdp, "video").fmtp.map((f) => f.config),
      ["profile-level-id=42e01f;level-asymmetry-allowed=1;packetization-mode=1"],
    );
  });

  it("throws NoCommonCodecError and BadSdpError before opening anything", async () => {
    await assert.rejects(answer(readOffer("chromium-156.sdp"), h265Camera), NoCommonCodecError);
    await assert.rejects(answer("v=0\r\n", highCamera), BadSdpError);
    assert.equal(open.length, 0);
  });

  it("closes a viewer that does not connect in time, once, with the reason", async () => {
    const { viewer } = await Viewer.create({
      offerSdp: readOffer("chromium-156.sdp"),
      video: highCamera,
      ice: ICE,
      remoteAddress: "127.0.0.1",
      vanilla: true,
      timeouts: { connectMs: 300 },
    });
    const states: string[] = [];
    viewer.on("state", (s) => states.push(s));
    await once(viewer, "closed");
    assert.equal(viewer.closeReason, "not connected within 0.3 s");
    assert.equal(viewer.state, "closed");
    assert.deepEqual(states.at(-1), "closed");
    await viewer.close();
    await viewer.close("again");
    assert.equal(viewer.closeReason, "not connected within 0.3 s");
    assert.equal(viewer.stats().state, "closed");
  });
});
