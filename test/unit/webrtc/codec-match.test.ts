import assert from "node:assert/strict";
import type { MediaInfo } from "../../../src/rtp/stream-info";
import {
  describeMedia,
  matchAudioCodec,
  matchVideoCodec,
  NoCommonCodecError,
} from "../../../src/webrtc/codec-match";
import { BadSdpError } from "../../../src/webrtc/errors";
import { parseOffer } from "../../../src/webrtc/offer";
import { readOffer } from "../../helpers/offer-fixtures";

const chromium = readOffer("chromium-156.sdp");
const firefox = readOffer("firefox-140.sdp");
const safari = readOffer("safari-18.sdp");

function h264(profileLevelId: string | undefined, parameterSets?: Buffer[]): MediaInfo {
  return {
    mid: "0",
    kind: "video",
    codec: "H264",
    payloadType: 96,
    clockRate: 90000,
    fmtp: { "packetization-mode": "1" },
    relayable: true,
    ...(profileLevelId !== undefined ? { profileLevelId } : {}),
    ...(parameterSets !== undefined ? { parameterSets } : {}),
  };
}

const h265: MediaInfo = {
  mid: "0",
  kind: "video",
  codec: "H265",
  payloadType: 98,
  clockRate: 90000,
  fmtp: { "profile-id": "1" },
  relayable: true,
};

function audio(codec: string, clockRate: number, payloadType: number, channels?: number): MediaInfo {
  return {
    mid: "1",
    kind: "audio",
    codec,
    payloadType,
    clockRate,
    fmtp: {},
    relayable: codec !== "MPEG4-GENERIC",
    ...(channels !== undefined ? { channels } : {}),
  };
}

/** A High profile (640033) camera's SPS, from a Reolink SDP's sprop-parameter-sets. */
const HIGH_SPS = Buffer.from("Z2QAM6zZQCgAtbARAAADAAEAAAMAMg8YMZY=", "base64");
/** A Main profile (4d4029) camera's SPS, from a Hikvision SDP. */
const MAIN_SPS = Buffer.from("Z01AKeygPAET8uAiAAADAAIAAAMAZB4wYyw=", "base64");

const CHROMIUM_FEEDBACK = [
  { type: "ccm", parameter: "fir" },
  { type: "nack" },
  { type: "nack", parameter: "pli" },
];

function noCommonCodec(fn: () => unknown): NoCommonCodecError {
  try {
    fn();
  } catch (error) {
    if (error instanceof NoCommonCodecError) return error;
    throw error;
  }
  assert.fail("no NoCommonCodecError");
}

describe("matchVideoCodec, Chromium 156 (offers 42001f, 42e01f, 4d001f, f4001f, no High, no H.265)", () => {
  const fmtp = (profile: string) =>
    `level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=${profile}`;

  it("answers a Main camera with the offered Main entry, its fmtp string and useful feedback", () => {
    assert.deepEqual(matchVideoCodec(chromium, h264("4d001f")), {
      payloadType: 116,
      mimeType: "video/H264",
      clockRate: 90000,
      fmtp: fmtp("4d001f"),
      rtcpFeedback: CHROMIUM_FEEDBACK,
    });
  });

  it("takes the profile from the camera's SPS before any declared profile-level-id", () => {
    assert.equal(matchVideoCodec(chromium, h264(undefined, [MAIN_SPS])).payloadType, 116);
    assert.equal(matchVideoCodec(chromium, h264("42e01f", [MAIN_SPS])).payloadType, 116);
  });

  it("answers a High camera with the offered profile that decodes it (f4001f), never 64xxxx", () => {
    const match = matchVideoCodec(chromium, h264(undefined, [HIGH_SPS]));
    assert.equal(match.payloadType, 41);
    assert.equal(match.fmtp, fmtp("f4001f"));
    assert.equal(matchVideoCodec(chromium, h264("640028")).payloadType, 41);
  });

  it("tells Constrained Baseline from Baseline and ignores packetization-mode=0 entries", () => {
    assert.equal(matchVideoCodec(chromium, h264("42e01f")).payloadType, 108);
    assert.equal(matchVideoCodec(chromium, h264("42001f")).payloadType, 102);
    assert.equal(
      matchVideoCodec(chromium, h264("42c01e")).payloadType,
      108,
      "constraint_set1 makes it Constrained Baseline",
    );
    for (const pt of [104, 114, 39, 43]) {
      for (const camera of ["42001f", "42e01f", "4d001f", "640029"]) {
        assert.notEqual(matchVideoCodec(chromium, h264(camera)).payloadType, pt);
      }
    }
  });

  it("keeps the offered level when the camera's is higher (level-asymmetry-allowed)", () => {
    assert.equal(matchVideoCodec(chromium, h264("4d0033")).payloadType, 116);
  });

  it("falls back to the most capable offered profile when the camera's profile is unknown", () => {
    assert.equal(matchVideoCodec(chromium, h264(undefined)).payloadType, 41);
  });

  it("refuses an H.265 stream with a 406 naming both sides", () => {
    const error = noCommonCodec(() => matchVideoCodec(chromium, h265));
    assert.equal(error.code, "no-common-codec");
    assert.deepEqual(error.streamCodecs, ["H265"]);
    assert.deepEqual(error.offeredCodecs, ["VP8", "VP9", "H264 (42001f, 42e01f, 4d001f, f4001f)", "AV1"]);
    assert.equal(
      error.message,
      "no codec in common: the stream has H265; the browser offered VP8, VP9, H264 (42001f, 42e01f, 4d001f, f4001f), AV1",
    );
    assert.ok(error.detail.length > 0);
  });
});

describe("matchVideoCodec, Firefox (profile-level-id first in fmtp, Baseline only)", () => {
  it("answers a Constrained Baseline camera with 42e01f, the fmtp string as Firefox wrote it", () => {
    const match = matchVideoCodec(firefox, h264("42e01f"));
    assert.equal(match.payloadType, 126);
    assert.equal(match.fmtp, "profile-level-id=42e01f;level-asymmetry-allowed=1;packetization-mode=1");
    assert.deepEqual(match.rtcpFeedback, [
      { type: "nack" },
      { type: "nack", parameter: "pli" },
      { type: "ccm", parameter: "fir" },
    ]);
  });

  it("answers a Main or High camera with the most capable offered profile (Baseline 42001f)", () => {
    assert.equal(matchVideoCodec(firefox, h264("4d401f")).payloadType, 105);
    assert.equal(matchVideoCodec(firefox, h264(undefined, [HIGH_SPS])).payloadType, 105);
  });

  it("lists what Firefox offered when the stream is H.265", () => {
    const error = noCommonCodec(() => matchVideoCodec(firefox, h265));
    assert.deepEqual(error.offeredCodecs, ["VP8", "VP9", "H264 (42e01f, 42001f)", "AV1"]);
  });
});

describe("matchVideoCodec, Safari (H.265 and Constrained High)", () => {
  it("answers an H.265 camera with Safari's H265 entry", () => {
    assert.deepEqual(matchVideoCodec(safari, h265), {
      payloadType: 100,
      mimeType: "video/H265",
      clockRate: 90000,
      fmtp: "level-id=93;profile-id=1;tier-flag=0;tx-mode=SRST",
      rtcpFeedback: CHROMIUM_FEEDBACK,
    });
  });

  it("answers High and Main cameras with 640c1f, a Constrained Baseline one with 42e01f", () => {
    assert.equal(matchVideoCodec(safari, h264(undefined, [HIGH_SPS])).payloadType, 96);
    assert.equal(matchVideoCodec(safari, h264("4d001f")).payloadType, 96);
    assert.equal(matchVideoCodec(safari, h264("42e01f")).payloadType, 98);
  });
});

describe("matchVideoCodec, offers it cannot use", () => {
  const only = (lines: string[]) =>
    chromium
      .split("\r\n")
      .filter(
        (line) => !/^a=(rtpmap|fmtp|rtcp-fb):/.test(line) || lines.some((keep) => line.startsWith(keep)),
      )
      .join("\r\n");

  it("refuses H.264 offered with packetization-mode=0 only", () => {
    const offer = only(["a=rtpmap:96 ", "a=rtpmap:104 ", "a=fmtp:104 ", "a=rtpmap:111 ", "a=fmtp:111 "]);
    const error = noCommonCodec(() => matchVideoCodec(offer, h264("42e01f")));
    assert.deepEqual(error.offeredCodecs, ["VP8", "H264 (packetization-mode=0 only)"]);
  });

  it("refuses an offer without video", () => {
    const audioOnly =
      chromium.slice(0, chromium.indexOf("m=video")) + chromium.slice(chromium.indexOf("m=audio"));
    const error = noCommonCodec(() => matchVideoCodec(audioOnly, h264("42e01f")));
    assert.match(error.message, /the stream has H264 \(profile 42e01f\); the browser offered no video/);
  });

  it("throws BadSdpError for what is not an offer", () => {
    const truncated = chromium.slice(0, chromium.indexOf("a=fingerprint"));
    const noVideoOrAudio =
      "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n";
    for (const bad of ["", "   ", "not an sdp", truncated, noVideoOrAudio]) {
      assert.throws(
        () => matchVideoCodec(bad, h264("42e01f")),
        BadSdpError,
        JSON.stringify(bad.slice(0, 40)),
      );
    }
    assert.throws(() => parseOffer(truncated), /no DTLS fingerprint|no ice-ufrag/);
    assert.throws(() => parseOffer(42), /empty/);
  });
});

describe("matchAudioCodec", () => {
  it("passes PCMA, PCMU, G.722 and Opus through under the browser's payload types", () => {
    assert.deepEqual(matchAudioCodec(chromium, audio("PCMA", 8000, 8)), {
      payloadType: 8,
      mimeType: "audio/PCMA",
      clockRate: 8000,
      fmtp: "",
      rtcpFeedback: [],
    });
    assert.equal(matchAudioCodec(chromium, audio("PCMU", 8000, 0))?.payloadType, 0);
    assert.equal(matchAudioCodec(chromium, audio("G722", 8000, 9))?.payloadType, 9);
    assert.deepEqual(matchAudioCodec(chromium, audio("OPUS", 48000, 97, 2)), {
      payloadType: 111,
      mimeType: "audio/opus",
      clockRate: 48000,
      channels: 2,
      fmtp: "minptime=10;useinbandfec=1",
      rtcpFeedback: [],
    });
    assert.equal(matchAudioCodec(firefox, audio("OPUS", 48000, 97, 2))?.payloadType, 109);
    assert.equal(matchAudioCodec(firefox, audio("G722", 8000, 9))?.channels, 1);
  });

  it("leaves AAC, a clock rate browsers do not take, and unoffered codecs out", () => {
    assert.equal(matchAudioCodec(chromium, audio("MPEG4-GENERIC", 16000, 97)), undefined);
    assert.equal(matchAudioCodec(chromium, audio("PCMA", 16000, 97)), undefined);
    const noPcma = chromium.replace(/a=rtpmap:8 PCMA\/8000\r\n/, "");
    assert.equal(matchAudioCodec(noPcma, audio("PCMA", 8000, 8)), undefined);
  });
});

describe("describeMedia", () => {
  it("names what the stream has for a 406", () => {
    assert.equal(describeMedia(h264(undefined, [HIGH_SPS])), "H264 (profile 640033)");
    assert.equal(describeMedia(h264(undefined)), "H264");
    assert.equal(describeMedia(h265), "H265");
    assert.equal(describeMedia(audio("OPUS", 48000, 97, 2)), "OPUS/48000/2");
    assert.equal(describeMedia(audio("PCMA", 8000, 8)), "PCMA/8000");
  });
});
