import { isIPv4 } from "node:net";
import { isFrameAncestorSource } from "../http/html";
import { normalizeEndpointPath, slugPath } from "../http/router";
import type { PacketCodec } from "../rtp/packet-input";
import { type IceSettings, iceServersFromText } from "../webrtc/ice-config";
import type { NodeDef } from "./red";
import type { CatalogText } from "./text";

/** The editor's fields (nodes/webrtc-out.html); every one may be missing in a flow from an older version. */
export interface WebrtcOutDef extends NodeDef {
  path?: string;
  maxViewers?: number | string;
  maxPending?: number | string;
  maxPerAddress?: number | string;
  audio?: boolean;
  fastStart?: boolean;
  iceServers?: string;
  hostAddresses?: string;
  interfaceAddress?: string;
  portMin?: number | string;
  portMax?: number | string;
  fallbackCodec?: string;
  fallbackPayloadType?: number | string;
  statsInterval?: number | string;
  maxPacketSize?: number | string;
}

export interface WebrtcOutCredentials {
  turnUser?: string;
  turnPassword?: string;
  /** When set, viewers must present it (Authorization: Bearer, or ?token= on the player page). */
  viewerToken?: string;
}

export interface WebrtcOutSettings {
  /** Normalised path, or undefined when the configured one is unusable (see `problems`). */
  readonly path: string | undefined;
  readonly title: string;
  readonly topic: string;
  readonly maxViewers: number;
  /** Viewers one client address may have waiting to connect at once. */
  readonly maxPendingPerAddress: number;
  /** Viewers one client address may have at once, connected or not. */
  readonly maxViewersPerAddress: number;
  /** The viewer token, undefined when viewers need none. */
  readonly viewerToken: string | undefined;
  readonly audio: boolean;
  readonly fastStart: boolean;
  readonly ice: IceSettings;
  /** What single RTP packets on the input (a udp in node's output) carry. */
  readonly fallbackCodec: PacketCodec;
  /** 0: no stats messages. */
  readonly statsIntervalMs: number;
  /** Largest RTP packet sent to viewers, header included (MIN_MAX_PACKET_SIZE..MAX_MAX_PACKET_SIZE). */
  readonly maxPacketSize: number;
  /** What was wrong in the configuration and left out; the node warns about each. */
  readonly problems: readonly CatalogText[];
}

export const DEFAULT_MAX_VIEWERS = 20;
export const DEFAULT_STATS_INTERVAL_S = 10;
/** As src/webrtc/stream-viewers.ts DEFAULT_MAX_PENDING_PER_ADDRESS (not imported: this module stays free of werift). */
export const DEFAULT_MAX_PENDING = 4;
/**
 * A household's or an office's screens behind one NAT fit; one host cannot take every place of a stream.
 * Behind a reverse proxy every viewer comes from the proxy's address: raise it to Max viewers there.
 */
export const DEFAULT_MAX_PER_ADDRESS = 10;
/**
 * Largest RTP packet to viewers, header included. 1200 (src/webrtc/stream-normalizer.ts's default, and
 * browsers' own) leaves room on any path for SRTP's tag, TURN's and tunnels' headers. 1400 fits a
 * 1500-byte LAN with SRTP, UDP and an IPv4 or IPv6 header (1400 + 16 + 8 + 40 = 1464) and is what most
 * cameras send, so their packets pass through whole; above it a packet could outgrow the MTU.
 */
export const DEFAULT_MAX_PACKET_SIZE = 1200;
export const MIN_MAX_PACKET_SIZE = 1200;
export const MAX_MAX_PACKET_SIZE = 1400;

function integer(value: unknown, fallback: number): number {
  if (value === undefined || value === null || value === "") return fallback;
  const n = typeof value === "number" ? value : Number(String(value).trim());
  return Number.isInteger(n) ? n : Number.NaN;
}

function words(text: unknown): string[] {
  return typeof text === "string" ? text.split(/[\s,]+/).filter((word) => word !== "") : [];
}

/** The node's settings from its flow definition and credentials; never throws, reports problems instead. */
export function parseWebrtcOutConfig(
  def: WebrtcOutDef,
  credentials: WebrtcOutCredentials | undefined,
): WebrtcOutSettings {
  const problems: CatalogText[] = [];
  const name = (def.name ?? "").trim();

  const configured = (def.path ?? "").trim();
  let path: string | undefined;
  if (configured) {
    path = normalizeEndpointPath(configured);
    if (!path) {
      problems.push({ key: "webrtc-out.warnings.path", values: { path: configured } });
    }
  } else {
    path = slugPath(name) ?? normalizeEndpointPath(def.id) ?? slugPath(def.id);
  }

  let maxViewers = integer(def.maxViewers, DEFAULT_MAX_VIEWERS);
  if (!(maxViewers >= 1)) {
    problems.push({ key: "webrtc-out.warnings.max-viewers", values: { value: DEFAULT_MAX_VIEWERS } });
    maxViewers = DEFAULT_MAX_VIEWERS;
  }

  let maxPendingPerAddress = integer(def.maxPending, DEFAULT_MAX_PENDING);
  if (!(maxPendingPerAddress >= 1)) {
    problems.push({ key: "webrtc-out.warnings.max-pending", values: { value: DEFAULT_MAX_PENDING } });
    maxPendingPerAddress = DEFAULT_MAX_PENDING;
  }

  let maxViewersPerAddress = integer(def.maxPerAddress, DEFAULT_MAX_PER_ADDRESS);
  if (!(maxViewersPerAddress >= 1)) {
    problems.push({ key: "webrtc-out.warnings.max-per-address", values: { value: DEFAULT_MAX_PER_ADDRESS } });
    maxViewersPerAddress = DEFAULT_MAX_PER_ADDRESS;
  }

  // Surrounding spaces are a copy-and-paste accident, never part of a token a header could carry.
  const viewerToken = credentials?.viewerToken?.trim() || undefined;
  if (viewerToken !== undefined && !/^[\x21-\x7e]+$/.test(viewerToken)) {
    problems.push({ key: "webrtc-out.warnings.viewer-token" });
  }

  const turnUser = credentials?.turnUser || undefined;
  const turnPassword = credentials?.turnPassword || undefined;
  const { servers: iceServers, rejected } = iceServersFromText(def.iceServers, turnUser, turnPassword);
  for (const url of rejected) problems.push({ key: "webrtc-out.warnings.ice-server", values: { url } });

  const additionalHostAddresses: string[] = [];
  for (const address of words(def.hostAddresses)) {
    if (isIPv4(address)) additionalHostAddresses.push(address);
    else problems.push({ key: "webrtc-out.warnings.host-address", values: { address } });
  }

  const ice: IceSettings = { iceServers, additionalHostAddresses };
  const portMin = integer(def.portMin, 0);
  const portMax = integer(def.portMax, 0);
  if (portMin !== 0 || portMax !== 0) {
    if (portMin >= 1 && portMax <= 65535 && portMin < portMax) ice.portRange = [portMin, portMax];
    else
      problems.push({
        key: "webrtc-out.warnings.ports",
        values: { min: String(def.portMin ?? ""), max: String(def.portMax ?? "") },
      });
  }
  const interfaceAddress = (def.interfaceAddress ?? "").trim();
  if (interfaceAddress) {
    if (isIPv4(interfaceAddress)) ice.interfaceAddresses = { udp4: interfaceAddress };
    else problems.push({ key: "webrtc-out.warnings.interface", values: { address: interfaceAddress } });
  }

  const codec = def.fallbackCodec === "H265" ? "H265" : "H264";
  let payloadType = integer(def.fallbackPayloadType, 96);
  if (!(payloadType >= 96 && payloadType <= 127)) {
    problems.push({ key: "webrtc-out.warnings.payload-type" });
    payloadType = 96;
  }

  const rawInterval = def.statsInterval;
  let statsInterval =
    rawInterval === undefined || rawInterval === "" ? DEFAULT_STATS_INTERVAL_S : Number(rawInterval);
  if (!Number.isFinite(statsInterval) || statsInterval < 0) {
    problems.push({
      key: "webrtc-out.warnings.stats-interval",
      values: { seconds: DEFAULT_STATS_INTERVAL_S },
    });
    statsInterval = DEFAULT_STATS_INTERVAL_S;
  }

  let maxPacketSize = integer(def.maxPacketSize, DEFAULT_MAX_PACKET_SIZE);
  if (!(maxPacketSize >= MIN_MAX_PACKET_SIZE && maxPacketSize <= MAX_MAX_PACKET_SIZE)) {
    problems.push({
      key: "webrtc-out.warnings.max-packet-size",
      values: {
        value: String(def.maxPacketSize),
        min: MIN_MAX_PACKET_SIZE,
        max: MAX_MAX_PACKET_SIZE,
        fallback: DEFAULT_MAX_PACKET_SIZE,
      },
    });
    maxPacketSize = DEFAULT_MAX_PACKET_SIZE;
  }

  return {
    path,
    title: name || (path ? `webrtc-out ${path}` : "webrtc-out"),
    topic: name || path || "webrtc-out",
    maxViewers,
    maxPendingPerAddress,
    maxViewersPerAddress,
    viewerToken,
    audio: def.audio !== false,
    fastStart: def.fastStart !== false,
    ice,
    fallbackCodec: { codec, payloadType, clockRate: 90000 },
    statsIntervalMs: Math.round(statsInterval * 1000),
    maxPacketSize,
    problems,
  };
}

/**
 * Node-RED's `webrtcOut` setting (settings.js): what concerns every webrtc-out of the process alike,
 * so it is the administrator's to set, not each node's.
 */
export interface SiteSettings {
  /** Serve the camera wall at <httpNodeRoot>/webrtc. Default true. */
  readonly wall: boolean;
  /** Origins besides their own that may frame the player pages and the camera wall. */
  readonly frameAncestors: readonly string[];
  /**
   * The one UDP port (and ICE-TCP port) every viewer of every webrtc-out of the process shares; 0: none,
   * each viewer takes a UDP port of its own. Default DEFAULT_ICE_PORT.
   */
  readonly icePort: number;
  /** Passive ICE-TCP candidates on icePort too, for networks that drop UDP. Default true. */
  readonly iceTcp: boolean;
  /** The address the shared port binds to; undefined: every address. */
  readonly iceBindAddress: string | undefined;
  /** The ffmpeg that decodes P/snapshot.jpg: a name looked up in PATH, or a path. Default "ffmpeg". */
  readonly ffmpegPath: string;
  /** What was wrong in the setting and left out; each node warns about it. */
  readonly problems: readonly CatalogText[];
}

/** The shared ICE port when settings.js names none: the one go2rtc and mediamtx use, so firewalls know it. */
export const DEFAULT_ICE_PORT = 8189;

export const DEFAULT_FFMPEG_PATH = "ffmpeg";

const SITE_DEFAULTS = {
  wall: true,
  frameAncestors: [],
  icePort: DEFAULT_ICE_PORT,
  iceTcp: true,
  iceBindAddress: undefined,
  ffmpegPath: DEFAULT_FFMPEG_PATH,
} as const;

/** `icePort`: a port number, or false / 0 for none; anything else keeps the default and is reported. */
function parseIcePort(value: unknown, problems: CatalogText[]): number {
  if (value === undefined) return DEFAULT_ICE_PORT;
  if (value === false || value === 0) return 0;
  if (typeof value === "number" && Number.isInteger(value) && value >= 1 && value <= 65535) return value;
  problems.push({
    key: "webrtc-out.warnings.site-ice-port",
    values: { value: String(JSON.stringify(value)), port: DEFAULT_ICE_PORT },
  });
  return DEFAULT_ICE_PORT;
}

/**
 * `webrtcOut: { wall: false, frameAncestors: ["https://dash.example.net"], icePort: 8189, iceTcp: true,
 * iceBindAddress: "192.0.2.7" }`; never throws, reports problems instead.
 */
export function parseSiteSettings(setting: unknown): SiteSettings {
  const problems: CatalogText[] = [];
  if (setting === undefined || setting === null) return { ...SITE_DEFAULTS, problems };
  if (typeof setting !== "object" || Array.isArray(setting)) {
    return { ...SITE_DEFAULTS, problems: [{ key: "webrtc-out.warnings.site-setting" }] };
  }
  const {
    wall,
    frameAncestors: given,
    icePort: port,
    iceTcp: tcp,
    iceBindAddress: bind,
    ffmpegPath: ffmpeg,
  } = setting as {
    ffmpegPath?: unknown;
    wall?: unknown;
    frameAncestors?: unknown;
    icePort?: unknown;
    iceTcp?: unknown;
    iceBindAddress?: unknown;
  };
  const icePort = parseIcePort(port, problems);
  if (tcp !== undefined && typeof tcp !== "boolean") {
    problems.push({ key: "webrtc-out.warnings.site-ice-tcp" });
  }
  let iceBindAddress: string | undefined;
  if (bind !== undefined && bind !== "") {
    if (typeof bind === "string" && isIPv4(bind.trim())) iceBindAddress = bind.trim();
    else
      problems.push({
        key: "webrtc-out.warnings.site-ice-bind",
        values: { value: String(JSON.stringify(bind)) },
      });
  }
  let ffmpegPath: string = DEFAULT_FFMPEG_PATH;
  if (typeof ffmpeg === "string" && ffmpeg.trim() !== "") ffmpegPath = ffmpeg.trim();
  else if (ffmpeg !== undefined) problems.push({ key: "webrtc-out.warnings.site-ffmpeg-path" });
  if (wall !== undefined && typeof wall !== "boolean") {
    problems.push({ key: "webrtc-out.warnings.site-wall" });
  }
  const sources = Array.isArray(given) ? given : given === undefined ? [] : [given];
  const frameAncestors: string[] = [];
  for (const source of sources) {
    for (const word of typeof source === "string" ? words(source) : [undefined]) {
      if (word !== undefined && isFrameAncestorSource(word)) frameAncestors.push(word);
      else
        problems.push({
          key: "webrtc-out.warnings.site-frame-ancestor",
          values: { value: String(JSON.stringify(word ?? source)) },
        });
    }
  }
  return {
    // Anything but true or absent keeps the wall off: a typo must not publish it.
    wall: wall === undefined || wall === true,
    frameAncestors,
    icePort,
    // Anything but false keeps ICE-TCP on: it only adds a way in, on the port already open.
    iceTcp: tcp !== false,
    iceBindAddress,
    ffmpegPath,
    problems,
  };
}
