import { type MediaDescription, parse } from "sdp-transform";
import { RTCRtpCodecParameters } from "werift";
import type { MediaInfo } from "../rtp/stream-info";
import { WhipError } from "./errors";

/** What SFUs take when they take one H.264 profile only (Janus's VideoRoom default, Chrome's baseline). */
export const FALLBACK_H264_PROFILE = "42e01f";

const VIDEO_FEEDBACK = [
  { type: "nack" },
  { type: "nack", parameter: "pli" },
  { type: "ccm", parameter: "fir" },
] as const;

/** One codec entry of the offer: what werift is configured with, in plain data. */
export interface OfferedCodec {
  readonly mimeType: string;
  readonly clockRate: number;
  readonly payloadType: number;
  readonly channels?: number;
  readonly fmtp?: string;
  readonly rtcpFeedback: readonly { type: string; parameter?: string }[];
}

/** The codecs a publish offers for one stream; a media left out is not offered (AAC, G.726...). */
export interface CodecPlan {
  readonly video: readonly OfferedCodec[];
  readonly audio: readonly OfferedCodec[];
  /** "H264 640x480", "OPUS": for states and status. */
  readonly label: string;
}

function h264Entry(payloadType: number, profile: string): OfferedCodec {
  return {
    mimeType: "video/H264",
    clockRate: 90000,
    payloadType,
    fmtp: `level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=${profile}`,
    rtcpFeedback: VIDEO_FEEDBACK,
  };
}

/**
 * The video entries: H.264 with the stream's own profile-level-id, then 42e01f for an SFU that takes
 * only that one (the bitstream is sent as it is: decoders read the profile from the SPS); H.265 as
 * it is. Any other codec cannot be published without transcoding.
 */
function videoEntries(video: MediaInfo | undefined): OfferedCodec[] {
  if (video === undefined) return [];
  if (video.codec === "H264") {
    const own = (
      video.profileLevelId ??
      video.fmtp["profile-level-id"] ??
      FALLBACK_H264_PROFILE
    ).toLowerCase();
    const profile = /^[0-9a-f]{6}$/.test(own) ? own : FALLBACK_H264_PROFILE;
    return profile === FALLBACK_H264_PROFILE
      ? [h264Entry(96, profile)]
      : [h264Entry(96, profile), h264Entry(97, FALLBACK_H264_PROFILE)];
  }
  if (video.codec === "H265") {
    const profileId = /^\d+$/.test(video.fmtp["profile-id"] ?? "") ? video.fmtp["profile-id"] : "1";
    return [
      {
        mimeType: "video/H265",
        clockRate: 90000,
        payloadType: 98,
        fmtp: `profile-id=${profileId}`,
        rtcpFeedback: VIDEO_FEEDBACK,
      },
    ];
  }
  return [];
}

/** Opus, PCMA and PCMU go over WebRTC as the camera sends them; AAC and the rest do not. */
function audioEntries(audio: MediaInfo | undefined): OfferedCodec[] {
  if (audio === undefined) return [];
  switch (audio.codec) {
    case "OPUS":
      return [{ mimeType: "audio/opus", clockRate: 48000, channels: 2, payloadType: 111, rtcpFeedback: [] }];
    case "PCMA":
      return audio.clockRate === 8000
        ? [{ mimeType: "audio/PCMA", clockRate: 8000, payloadType: 8, rtcpFeedback: [] }]
        : [];
    case "PCMU":
      return audio.clockRate === 8000
        ? [{ mimeType: "audio/PCMU", clockRate: 8000, payloadType: 0, rtcpFeedback: [] }]
        : [];
    default:
      return [];
  }
}

/**
 * What to offer for a stream's video and audio.
 * @throws WhipError "no-media" when there is nothing WebRTC can carry (e.g. MJPEG with AAC).
 */
export function codecPlan(video: MediaInfo | undefined, audio: MediaInfo | undefined): CodecPlan {
  const videoCodecs = videoEntries(video);
  const audioCodecs = audioEntries(audio);
  if (videoCodecs.length === 0 && audioCodecs.length === 0) {
    const what = [video?.codec, audio?.codec].filter((c) => c !== undefined).join(" and ") || "no media";
    throw new WhipError("no-media", `the stream has ${what}: nothing WebRTC can carry without transcoding`);
  }
  const size = video?.width && video.height ? ` ${video.width}x${video.height}` : "";
  const label = videoCodecs.length > 0 ? `${video?.codec}${size}` : (audio?.codec ?? "");
  return { video: videoCodecs, audio: audioCodecs, label };
}

/** werift's codec objects (one set per peer connection: they carry negotiation state). */
export function weriftCodecs(codecs: readonly OfferedCodec[]): RTCRtpCodecParameters[] {
  return codecs.map(
    (codec) =>
      new RTCRtpCodecParameters({
        mimeType: codec.mimeType,
        clockRate: codec.clockRate,
        payloadType: codec.payloadType,
        ...(codec.channels !== undefined ? { channels: codec.channels } : {}),
        ...(codec.fmtp !== undefined ? { parameters: codec.fmtp } : {}),
        rtcpFeedback: codec.rtcpFeedback.map((fb) => ({ ...fb })),
      }),
  );
}

/** What the answer accepted: the entry of each media it took, or undefined when it rejected the media. */
export interface AnswerChoice {
  readonly video?: OfferedCodec;
  readonly audio?: OfferedCodec;
}

function chosen(
  media: MediaDescription | undefined,
  offered: readonly OfferedCodec[],
): OfferedCodec | undefined {
  if (media === undefined || media.port === 0) return undefined;
  for (const rtp of media.rtp) {
    const name = String(rtp.codec).toLowerCase();
    const match = offered.find(
      (codec) =>
        codec.mimeType.split("/")[1]?.toLowerCase() === name &&
        codec.clockRate === Number(rtp.rate) &&
        // An answer may renumber nothing: the payload type is the offer's (RFC 3264 §6.1).
        codec.payloadType === rtp.payload,
    );
    if (match !== undefined) return match;
  }
  return undefined;
}

/**
 * Checks a WHIP server's answer before werift applies it: an SDP with ICE credentials and a DTLS
 * fingerprint, accepting the video codec when video was offered.
 * @throws WhipError "bad-answer" for a body that is not such an SDP, "no-codec" when the video (or,
 *   audio-only, the audio) was refused.
 */
export function checkAnswer(sdp: string, plan: CodecPlan): AnswerChoice {
  if (!/^v=0\r?\n/.test(sdp.trimStart())) {
    const start = JSON.stringify(sdp.slice(0, 40));
    throw new WhipError("bad-answer", `the answer is not an SDP (it starts with ${start})`);
  }
  let media: MediaDescription[];
  let sessionIce = false;
  let sessionFingerprint = false;
  try {
    const session = parse(sdp);
    media = session.media;
    sessionIce = session.iceUfrag !== undefined && session.icePwd !== undefined;
    sessionFingerprint = session.fingerprint !== undefined;
  } catch (error) {
    throw new WhipError(
      "bad-answer",
      `the answer does not parse: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const video = plan.video.length > 0 ? media.find((m) => m.type === "video") : undefined;
  const audio = plan.audio.length > 0 ? media.find((m) => m.type === "audio") : undefined;
  const videoCodec = chosen(video, plan.video);
  const audioCodec = chosen(audio, plan.audio);
  const choice: AnswerChoice = {
    ...(videoCodec !== undefined ? { video: videoCodec } : {}),
    ...(audioCodec !== undefined ? { audio: audioCodec } : {}),
  };
  const offeredNames = (codecs: readonly OfferedCodec[]) =>
    [...new Set(codecs.map((c) => c.mimeType.split("/")[1]))].join("/");
  if (plan.video.length > 0 && choice.video === undefined)
    throw new WhipError("no-codec", `the answer does not accept the video (${offeredNames(plan.video)})`);
  if (plan.video.length === 0 && choice.audio === undefined)
    throw new WhipError("no-codec", `the answer does not accept the audio (${offeredNames(plan.audio)})`);
  for (const m of media.filter((m) => m.port !== 0)) {
    if (!sessionIce && (m.iceUfrag === undefined || m.icePwd === undefined))
      throw new WhipError("bad-answer", `the answer's ${m.type} m-line has no ice-ufrag/ice-pwd`);
    if (!sessionFingerprint && m.fingerprint === undefined)
      throw new WhipError("bad-answer", `the answer's ${m.type} m-line has no DTLS fingerprint`);
  }
  return choice;
}
