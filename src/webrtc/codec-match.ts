import { parseH264Sps } from "../rtp/h264";
import { parseH265Sps } from "../rtp/h265";
import type { MediaInfo } from "../rtp/stream-info";
import { NoCommonCodecError } from "./errors";
import { type OfferedCodec, type OfferedMedia, parseOffer } from "./offer";

export { NoCommonCodecError } from "./errors";

/** The offered codec entry to answer with, in the shape werift's RTCRtpCodecParameters takes. */
export interface MatchedCodec {
  readonly payloadType: number;
  /** "video/H264", "audio/opus"... with the offer's spelling of the name. */
  readonly mimeType: string;
  readonly clockRate: number;
  readonly channels?: number;
  /** The offer's own fmtp string for this payload type, unchanged (werift compares its parameters). */
  readonly fmtp: string;
  readonly rtcpFeedback: { type: string; parameter?: string }[];
}

/** Feedback a relay can act on: NACKs (answered from the send history), PLI and FIR (counted). */
const USEFUL_FEEDBACK = new Set(["nack", "nack pli", "ccm fir"]);

function matched(codec: OfferedCodec, kind: "video" | "audio"): MatchedCodec {
  return {
    payloadType: codec.payloadType,
    mimeType: `${kind}/${codec.name}`,
    clockRate: codec.clockRate,
    ...(codec.channels !== undefined ? { channels: codec.channels } : {}),
    fmtp: codec.fmtp,
    rtcpFeedback: codec.rtcpFeedback
      .filter((fb) =>
        USEFUL_FEEDBACK.has(fb.parameter === undefined ? fb.type : `${fb.type} ${fb.parameter}`),
      )
      .map((fb) => ({ ...fb })),
  };
}

const isName = (codec: OfferedCodec, name: string): boolean => codec.name.toUpperCase() === name;

// --- H.264 ---------------------------------------------------------------------------------

interface H264Profile {
  readonly profileIdc: number;
  readonly constraints: number;
  readonly levelIdc: number;
}

/** RFC 6184 §8.1: profile-level-id is 3 bytes in hex; absent means 420010 (Baseline, level 1). */
function parseProfileLevelId(value: string | undefined): H264Profile | undefined {
  const text = value ?? "420010";
  if (!/^[0-9a-fA-F]{6}$/.test(text)) return undefined;
  const n = Number.parseInt(text, 16);
  return { profileIdc: n >> 16, constraints: (n >> 8) & 0xff, levelIdc: n & 0xff };
}

/**
 * How much a decoder of this profile can decode, as a rank: each profile's decoders take the
 * streams of the ranks below it (H.264 Annex A; in practice browsers decode Main under a Baseline
 * label: docs/ARCHITECTURE.md, "Facts that shaped the design"). Unknown profiles rank by their
 * profile_idc above Main.
 */
function capabilityRank(p: H264Profile): number {
  const set0 = (p.constraints & 0x80) !== 0;
  const set1 = (p.constraints & 0x40) !== 0;
  const set4 = (p.constraints & 0x08) !== 0;
  const set5 = (p.constraints & 0x04) !== 0;
  switch (p.profileIdc) {
    case 66:
      return set1 ? 0 : 1; // Constrained Baseline, Baseline
    case 77:
      return set0 ? 0 : 2; // Main with constraint_set0 is Constrained Baseline
    case 88:
      return set0 && set1 ? 0 : 2; // Extended
    case 100:
      return set4 && set5 ? 3 : 4; // Constrained High, High
    case 110:
      return 5; // High 10
    case 122:
      return 6; // High 4:2:2
    case 244:
      return 7; // High 4:4:4 Predictive
    default:
      return 2 + p.profileIdc / 1000;
  }
}

function profileHex(p: H264Profile): string {
  return [p.profileIdc, p.constraints, p.levelIdc].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The camera's profile: from its SPS when one is known, else MediaInfo.profileLevelId / fmtp. */
function cameraH264Profile(video: MediaInfo): H264Profile | undefined {
  for (const nal of video.parameterSets ?? []) {
    const sps = parseH264Sps(nal);
    if (sps !== undefined)
      return { profileIdc: sps.profileIdc, constraints: sps.constraintFlags, levelIdc: sps.levelIdc };
  }
  const declared = video.profileLevelId ?? video.fmtp["profile-level-id"];
  return declared === undefined ? undefined : parseProfileLevelId(declared);
}

interface H264Candidate {
  readonly codec: OfferedCodec;
  readonly profile: H264Profile;
}

/** Prefers the lowest level that still covers the camera's, else the highest level offered. */
function byLevel(camera: H264Profile | undefined): (a: H264Candidate, b: H264Candidate) => number {
  return (a, b) => {
    const want = camera?.levelIdc ?? Number.POSITIVE_INFINITY;
    const aCovers = a.profile.levelIdc >= want;
    const bCovers = b.profile.levelIdc >= want;
    if (aCovers !== bCovers) return aCovers ? -1 : 1;
    return aCovers ? a.profile.levelIdc - b.profile.levelIdc : b.profile.levelIdc - a.profile.levelIdc;
  };
}

function chooseH264(
  offered: readonly OfferedCodec[],
  camera: H264Profile | undefined,
): OfferedCodec | undefined {
  // packetization-mode 0 allows single NAL unit packets only; a camera's frames need FU-A.
  const candidates: H264Candidate[] = offered
    .filter((c) => isName(c, "H264") && c.clockRate === 90000 && c.parameters["packetization-mode"] === "1")
    .flatMap((codec) => {
      const profile = parseProfileLevelId(codec.parameters["profile-level-id"]);
      return profile === undefined ? [] : [{ codec, profile }];
    });
  if (candidates.length === 0) return undefined;
  if (camera !== undefined) {
    const sameProfile = candidates.filter((c) => c.profile.profileIdc === camera.profileIdc);
    const exact = sameProfile.filter((c) => capabilityRank(c.profile) === capabilityRank(camera));
    const pick = exact.length > 0 ? exact : sameProfile;
    if (pick.length > 0) return [...pick].sort(byLevel(camera))[0]?.codec;
  }
  // Nothing with the camera's profile: the closest one that decodes more, else the most capable.
  const rank = camera === undefined ? Number.POSITIVE_INFINITY : capabilityRank(camera);
  const above = candidates.filter((c) => capabilityRank(c.profile) > rank);
  const pool = above.length > 0 ? above : candidates;
  const target =
    above.length > 0
      ? Math.min(...pool.map((c) => capabilityRank(c.profile)))
      : Math.max(...pool.map((c) => capabilityRank(c.profile)));
  return pool.filter((c) => capabilityRank(c.profile) === target).sort(byLevel(camera))[0]?.codec;
}

// --- H.265 ---------------------------------------------------------------------------------

function cameraH265ProfileId(video: MediaInfo): number | undefined {
  for (const nal of video.parameterSets ?? []) {
    const sps = parseH265Sps(nal);
    if (sps !== undefined) return sps.profileIdc;
  }
  const declared = video.fmtp["profile-id"];
  return declared === undefined ? undefined : Number(declared);
}

function chooseH265(offered: readonly OfferedCodec[], video: MediaInfo): OfferedCodec | undefined {
  const candidates = offered.filter((c) => isName(c, "H265") && c.clockRate === 90000);
  // RFC 7798 §7.1: profile-id defaults to 1 (Main).
  const profileOf = (c: OfferedCodec): number => Number(c.parameters["profile-id"] ?? "1");
  const camera = cameraH265ProfileId(video);
  return candidates.find((c) => profileOf(c) === camera) ?? candidates[0];
}

// --- descriptions for NoCommonCodecError -------------------------------------------------------

const AUXILIARY = new Set(["RTX", "RED", "ULPFEC", "FLEXFEC-03", "CN", "TELEPHONE-EVENT"]);

/**
 * "VP8, VP9, H264 (42001f, 42e01f), AV1": each codec once, auxiliary formats left out, H.264 with
 * the profiles it can be sent with (packetization-mode=1).
 */
export function describeOffered(media: OfferedMedia | undefined): string[] {
  if (media === undefined) return [];
  const names: string[] = [];
  const profiles = new Set<string>();
  for (const codec of media.codecs) {
    const name = codec.name.toUpperCase();
    if (AUXILIARY.has(name)) continue;
    if (!names.includes(name)) names.push(name);
    if (name === "H264" && codec.parameters["packetization-mode"] === "1") {
      profiles.add((codec.parameters["profile-level-id"] ?? "420010").toLowerCase());
    }
  }
  return names.map((name) => {
    if (name !== "H264") return name;
    return profiles.size > 0 ? `H264 (${[...profiles].join(", ")})` : "H264 (packetization-mode=0 only)";
  });
}

/** "H264 (profile 4d401e)", "PCMA/8000". */
export function describeMedia(media: MediaInfo): string {
  if (media.kind === "video") {
    if (media.codec === "H264") {
      const profile = cameraH264Profile(media);
      return profile === undefined ? "H264" : `H264 (profile ${profileHex(profile)})`;
    }
    return media.codec;
  }
  return `${media.codec}/${media.clockRate}${media.channels !== undefined && media.channels > 1 ? `/${media.channels}` : ""}`;
}

// --- public --------------------------------------------------------------------------------------

function videoChoice(media: OfferedMedia | undefined, video: MediaInfo): OfferedCodec | undefined {
  if (media === undefined) return undefined;
  if (video.codec === "H264") return chooseH264(media.codecs, cameraH264Profile(video));
  if (video.codec === "H265") return chooseH265(media.codecs, video);
  return undefined;
}

/**
 * The offered video codec to answer with for this stream. H.264: the offered entry with
 * packetization-mode=1 whose profile matches the camera's SPS, else the closest offered one (the
 * next more capable profile, else the most capable; then the level) — never one not offered.
 * H.265: the offered entry with the camera's profile-id, else the first one offered.
 * @throws BadSdpError for an offer that is not usable SDP
 * @throws NoCommonCodecError naming both sides when nothing fits
 */
export function matchVideoCodec(offerSdp: string, video: MediaInfo): MatchedCodec {
  const offer = parseOffer(offerSdp);
  const choice = videoChoice(offer.video, video);
  if (choice === undefined) {
    throw new NoCommonCodecError(
      [describeMedia(video)],
      offer.video === undefined ? ["no video"] : describeOffered(offer.video),
    );
  }
  return matched(choice, "video");
}

const AUDIO_NAMES: Readonly<Record<string, { name: string; clockRate: number }>> = {
  PCMU: { name: "PCMU", clockRate: 8000 },
  PCMA: { name: "PCMA", clockRate: 8000 },
  G722: { name: "G722", clockRate: 8000 },
  OPUS: { name: "OPUS", clockRate: 48000 },
};

/** The offered codec that carries this audio as it is, or undefined (AAC, or not offered). */
export function matchAudioCodec(offerSdp: string, audio: MediaInfo): MatchedCodec | undefined {
  const wanted = AUDIO_NAMES[audio.codec.toUpperCase()];
  if (wanted === undefined || !audio.relayable || audio.clockRate !== wanted.clockRate) return undefined;
  const offer = parseOffer(offerSdp);
  const codec = offer.audio?.codecs.find((c) => isName(c, wanted.name) && c.clockRate === wanted.clockRate);
  return codec === undefined ? undefined : matched(codec, "audio");
}
