import { parse as parseSdp } from "sdp-transform";
import { H264, parseH264Sps, parseSpropParameterSets } from "../rtp/h264";
import { H265, parseH265ParameterSets, parseH265Sps } from "../rtp/h265";
import type { CodecName, MediaInfo, MediaKind } from "../rtp/stream-info";

export interface DescribedMedia extends MediaInfo {
  /** Absolute URL to SETUP this media with. */
  readonly control: string;
}

export interface SessionDescription {
  /** The media that can be set up, in SDP order. */
  media: DescribedMedia[];
  /** Human-readable notes on the media left out, e.g. "audio 97 (backchannel, sendonly)". */
  ignored: string[];
  /** Absolute URL for session-wide requests (aggregate PLAY, TEARDOWN...). */
  sessionControl: string;
}

/** How long an SdpError's message may grow with the SDP text it quotes. */
const MAX_MESSAGE = 300;

/**
 * Thrown by describeSession when the SDP cannot be used at all. The message quotes the camera's
 * text, so it is kept printable ASCII and short: it ends up in a node's status and the log.
 */
export class SdpError extends Error {
  constructor(message: string) {
    const clean = message.replace(/[^\x20-\x7e]/g, "?");
    super(clean.length > MAX_MESSAGE ? `${clean.slice(0, MAX_MESSAGE)}…` : clean);
    this.name = "SdpError";
  }
}

interface Rtpmap {
  readonly codec: CodecName;
  readonly clockRate: number;
  readonly channels?: number;
}

/** RFC 3551 static payload types: SDPs may list them without an rtpmap. */
const STATIC_PAYLOAD_TYPES: ReadonlyMap<number, Rtpmap> = new Map([
  [0, { codec: "PCMU", clockRate: 8000, channels: 1 }],
  [3, { codec: "GSM", clockRate: 8000, channels: 1 }],
  [4, { codec: "G723", clockRate: 8000, channels: 1 }],
  [8, { codec: "PCMA", clockRate: 8000, channels: 1 }],
  [9, { codec: "G722", clockRate: 8000, channels: 1 }],
  [10, { codec: "L16", clockRate: 44100, channels: 2 }],
  [11, { codec: "L16", clockRate: 44100, channels: 1 }],
  [14, { codec: "MPA", clockRate: 90000 }],
  [15, { codec: "G728", clockRate: 8000, channels: 1 }],
  [18, { codec: "G729", clockRate: 8000, channels: 1 }],
  [26, { codec: "JPEG", clockRate: 90000 }],
  [31, { codec: "H261", clockRate: 90000 }],
  [32, { codec: "MPV", clockRate: 90000 }],
  [33, { codec: "MP2T", clockRate: 90000 }],
  [34, { codec: "H263", clockRate: 90000 }],
]);

const KNOWN_CODECS: Readonly<Record<MediaKind, ReadonlySet<string>>> = {
  video: new Set(["H264", "H265"]),
  audio: new Set(["PCMU", "PCMA", "OPUS", "G722", "MPEG4-GENERIC", "MP4A-LATM"]),
};

/** AAC cannot be carried over WebRTC: described so the status can say why there is no audio. */
const NOT_RELAYABLE = new Set(["MPEG4-GENERIC", "MP4A-LATM"]);

const ABSOLUTE_URL = /^[a-z][a-z0-9+.-]*:\/\//i;

type ParsedSdp = ReturnType<typeof parseSdp>;
type ParsedMedia = ParsedSdp["media"][number];

/**
 * Turns a DESCRIBE answer into the media to set up. `baseUrl` is the URL relative controls resolve
 * against (Content-Base, Content-Location or the request URL, as the caller chose); `resolveControl`
 * joins a base and an a=control value (relative, absolute, "*" or "" when absent). When the
 * session-level control is an absolute URL, media controls resolve against it. Throws SdpError
 * when the SDP is not parsable or nothing in it can be relayed.
 */
export function describeSession(
  sdp: string,
  baseUrl: string,
  resolveControl: (base: string, control: string) => string,
): SessionDescription {
  let parsed: ParsedSdp;
  try {
    parsed = parseSdp(sdp);
  } catch (error) {
    throw new SdpError(`SDP is not parsable: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (parsed.media.length === 0 && !/^v=/m.test(sdp)) {
    throw new SdpError(`SDP is not parsable: no v= line in "${sdp.slice(0, 60)}"`);
  }

  // resolveControl sees every control, absolute ones too, so the caller decides how URLs are cleaned.
  const sessionAttr = parsed.control === undefined ? "" : String(parsed.control).trim();
  const sessionControl = resolveControl(baseUrl, sessionAttr);
  const mediaBase = ABSOLUTE_URL.test(sessionAttr) ? sessionControl : baseUrl;

  const media: DescribedMedia[] = [];
  const ignored: string[] = [];
  parsed.media.forEach((m, index) => {
    const described = describeMedia(m, index);
    if (typeof described === "string") {
      ignored.push(described);
      return;
    }
    const control = resolveControl(mediaBase, m.control === undefined ? "" : String(m.control).trim());
    media.push({ ...described, control });
  });

  if (media.length === 0) {
    const why = ignored.length > 0 ? ` (ignored: ${ignored.join("; ")})` : "";
    throw new SdpError(`SDP has no video or audio media${why}`);
  }
  return { media, ignored, sessionControl };
}

/**
 * A media section's rtpmap and fmtp entries by payload type, each list read once: a hostile SDP may
 * hold tens of thousands of them, and looking each payload type up by a scan was quadratic. The first
 * entry for a payload type wins, as it did with the scan.
 */
interface PayloadIndex {
  readonly rtp: ReadonlyMap<number, ParsedMedia["rtp"][number]>;
  readonly fmtp: ReadonlyMap<number, ParsedMedia["fmtp"][number]>;
}

function indexPayloads(m: ParsedMedia): PayloadIndex {
  const byPayload = <T extends { payload: number | string }>(entries: readonly T[]): Map<number, T> => {
    const map = new Map<number, T>();
    for (const entry of entries) {
      const pt = Number(entry.payload);
      if (!map.has(pt)) map.set(pt, entry);
    }
    return map;
  };
  return { rtp: byPayload(m.rtp ?? []), fmtp: byPayload(m.fmtp ?? []) };
}

/** The m= line's payload types (0 to 127), each once, in the order first listed. */
function payloadTypesOf(m: ParsedMedia): number[] {
  const types = new Set<number>();
  for (const text of String(m.payloads ?? "").split(/\s+/)) {
    if (!/^\d+$/.test(text)) continue;
    const pt = Number(text);
    if (pt <= 127) types.add(pt);
  }
  return [...types];
}

/** The media's description, or why it is left out. */
function describeMedia(m: ParsedMedia, index: number): MediaInfo | string {
  const type = m.type === undefined || String(m.type) === "" ? "unnamed media" : String(m.type).toLowerCase();
  const payloadTypes = payloadTypesOf(m);
  const label = payloadTypes.length > 0 ? `${type} ${payloadTypes.join(" ")}` : type;
  const payloads = indexPayloads(m);
  const rtpmapOf = (pt: number): Rtpmap | undefined => rtpmapFor(payloads, pt);

  if (type !== "video" && type !== "audio") {
    const first = payloadTypes[0];
    const rtpmap = first === undefined ? undefined : rtpmapOf(first);
    return rtpmap ? `${type}/${rtpmap.codec} (not relayed)` : `${label} (not relayed)`;
  }
  if (m.direction === "sendonly") return `${label} (backchannel, sendonly)`;
  if (m.direction === "inactive") return `${label} (inactive)`;

  const kind: MediaKind = type;
  const payloadType = payloadTypes.find((pt) => {
    const rtpmap = rtpmapOf(pt);
    return rtpmap !== undefined && KNOWN_CODECS[kind].has(rtpmap.codec);
  });
  if (payloadType === undefined) {
    const first = payloadTypes[0];
    const rtpmap = first === undefined ? undefined : rtpmapOf(first);
    if (rtpmap) return `${type}/${rtpmap.codec} (unsupported codec)`;
    return `${label} (no rtpmap)`;
  }

  const rtpmap = rtpmapOf(payloadType)!;
  const fmtp = fmtpFor(payloads, payloadType);
  const base = {
    mid: m.mid === undefined ? String(index) : String(m.mid),
    kind,
    codec: rtpmap.codec,
    payloadType,
    clockRate: rtpmap.clockRate,
    fmtp,
    relayable: !NOT_RELAYABLE.has(rtpmap.codec),
  };
  if (kind === "audio") return { ...base, channels: rtpmap.channels ?? 1 };
  if (rtpmap.codec === "H264") return { ...base, ...describeH264(fmtp) };
  return { ...base, ...describeH265(fmtp) };
}

function rtpmapFor(payloads: PayloadIndex, pt: number): Rtpmap | undefined {
  const entry = payloads.rtp.get(pt);
  const fallback = STATIC_PAYLOAD_TYPES.get(pt);
  if (entry === undefined || entry.codec === undefined || String(entry.codec) === "") return fallback;
  const codec = String(entry.codec).toUpperCase();
  const clockRate = Number(entry.rate);
  const channels = Number(entry.encoding);
  return {
    codec,
    clockRate: Number.isInteger(clockRate) && clockRate > 0 ? clockRate : (fallback?.clockRate ?? 90000),
    ...(Number.isInteger(channels) && channels > 0 ? { channels } : {}),
  };
}

/** fmtp parameters with lower-cased keys and values as written. */
function fmtpFor(payloads: PayloadIndex, pt: number): Record<string, string> {
  const params: Record<string, string> = {};
  const entry = payloads.fmtp.get(pt);
  if (entry === undefined) return params;
  for (const part of String(entry.config).split(";")) {
    const text = part.trim();
    if (text === "") continue;
    const eq = text.indexOf("=");
    const key = (eq < 0 ? text : text.slice(0, eq)).trim().toLowerCase();
    if (key !== "") params[key] = eq < 0 ? "" : text.slice(eq + 1).trim();
  }
  return params;
}

type VideoDetails = Pick<MediaInfo, "parameterSets" | "width" | "height" | "profileLevelId">;

function nalTypesOf(sets: Buffer[], typeOf: (nal: Buffer) => number, wanted: number): Buffer[] {
  return sets.filter((nal) => typeOf(nal) === wanted);
}

function describeH264(fmtp: Readonly<Record<string, string>>): VideoDetails {
  const h264Type = (nal: Buffer): number => (nal[0] ?? 0) & 0x1f;
  const sets = parseSpropParameterSets(fmtp["sprop-parameter-sets"] ?? "");
  const spsList = nalTypesOf(sets, h264Type, H264.SPS);
  const parameterSets = [...spsList, ...nalTypesOf(sets, h264Type, H264.PPS)];
  const sps = spsList.map(parseH264Sps).find((parsed) => parsed !== undefined);
  const fmtpProfile = fmtp["profile-level-id"];
  const profileLevelId =
    sps?.profileLevelId ??
    (fmtpProfile !== undefined && /^[0-9a-f]{6}$/i.test(fmtpProfile) ? fmtpProfile.toLowerCase() : undefined);
  return {
    ...(parameterSets.length > 0 ? { parameterSets } : {}),
    ...(sps ? { width: sps.width, height: sps.height } : {}),
    ...(profileLevelId !== undefined ? { profileLevelId } : {}),
  };
}

function describeH265(fmtp: Readonly<Record<string, string>>): VideoDetails {
  const h265Type = (nal: Buffer): number => ((nal[0] ?? 0) >> 1) & 0x3f;
  const sets = parseH265ParameterSets(fmtp);
  const spsList = nalTypesOf(sets, h265Type, H265.SPS);
  const parameterSets = [
    ...nalTypesOf(sets, h265Type, H265.VPS),
    ...spsList,
    ...nalTypesOf(sets, h265Type, H265.PPS),
  ];
  const sps = spsList.map(parseH265Sps).find((parsed) => parsed !== undefined);
  return {
    ...(parameterSets.length > 0 ? { parameterSets } : {}),
    ...(sps ? { width: sps.width, height: sps.height } : {}),
  };
}
