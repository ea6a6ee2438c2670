import { randomBytes } from "node:crypto";
import type dgram from "node:dgram";
import { EventEmitter } from "node:events";
import net from "node:net";
import { type AuthChallenge, Authenticator, parseWwwAuthenticate, pickChallenge } from "./auth";
import { RtspConnection } from "./connection";
import { type DescribedMedia, describeSession, type SessionDescription } from "./description";
import { RtspError } from "./errors";
import {
  formatTransportHeader,
  parsePublic,
  parseSessionHeader,
  parseTransportHeader,
  RtspHeaders,
  type TransportHeader,
} from "./headers";
import { chooseMedia, describeOffer, type MediaSelection } from "./media-choice";
import type { RtspResponse } from "./message";
import { RtpReceiverStats } from "./rtcp-receiver";
import { openUdpPair, type UdpPair } from "./udp-pair";
import { formatRtspUrl, parseRtspUrl, type RtspUrl, resolveControl } from "./url";

export type TransportMode = "tcp" | "udp";
export type { MediaSelection };

export interface SessionOptions {
  /** The camera URL; user and password in it are used when none are given apart. */
  readonly url: string;
  readonly username?: string;
  readonly password?: string;
  readonly transport: TransportMode;
  readonly media: MediaSelection;
  readonly userAgent: string;
  readonly connectTimeoutMs: number;
  readonly replyTimeoutMs: number;
  /** A playing session with no RTP for this long is dead. */
  readonly noMediaTimeoutMs: number;
  /** Before the first packet: a shorter wait, so that `auto` can fall back to TCP quickly. */
  readonly firstPacketTimeoutMs?: number;
  readonly rejectUnauthorized?: boolean;
  /** rtsps:// only: the SHA-256 fingerprint of the one certificate to accept. */
  readonly certificateFingerprint?: string;
  readonly udpPortRange?: readonly [number, number];
  readonly receiverReportIntervalMs?: number;
}

export interface SessionTrack {
  readonly media: DescribedMedia;
  readonly stats: RtpReceiverStats;
}

export interface RtspSessionEvents {
  /** Every track is set up and PLAY is about to go out: packets may follow before play() resolves. */
  ready: [tracks: readonly SessionTrack[]];
  rtp: [trackIndex: number, packet: Buffer];
  /** The camera ("host:port") asked for Basic authentication over rtsp://: the password goes out unencrypted. */
  plaintextPassword: [server: string];
  close: [error: RtspError | undefined];
}

/** How a session ends: no TEARDOWN (the connection is gone), one sent, or one sent and its reply awaited. */
type Teardown = "none" | "send" | "wait";

const MAX_REDIRECTS = 5;
const DEFAULT_SESSION_TIMEOUT_S = 60;
const TEARDOWN_WAIT_MS = 1000;

/**
 * One RTSP session from connect to teardown: OPTIONS, DESCRIBE (auth, redirects), SETUP for the media
 * chosen (one video and one audio at most), PLAY, then keepalives, receiver reports and a no-media
 * watchdog. It ends once; reconnecting is the caller's job (see RtspSource).
 */
export class RtspSession extends EventEmitter<RtspSessionEvents> {
  private connection: RtspConnection | undefined;
  private authenticator: Authenticator | undefined;
  private sessionId: string | undefined;
  private sessionTimeoutS = DEFAULT_SESSION_TIMEOUT_S;
  private keepaliveMethod: "OPTIONS" | "GET_PARAMETER" = "OPTIONS";
  private baseUrl = "";
  private sessionControl = "";
  private readonly udpRtcpTargets = new Map<number, { port: number; address: string }>();
  private readonly udpPairs: UdpPair[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly channelToTrack = new Map<number, { track: number; rtcp: boolean }>();
  private readonly ownSsrc = randomBytes(4).readUInt32BE(0);
  private tracksPlaying: SessionTrack[] = [];
  private lastPacketAt = 0;
  private packetsReceived = 0;
  private ended = false;
  private warnedPlaintext = false;
  private readonly target: RtspUrl;
  /** Where the session lives: the target, or where a redirect sent us. */
  private server: RtspUrl;
  private readonly user: string | undefined;
  private readonly pass: string | undefined;

  constructor(private readonly options: SessionOptions) {
    super();
    this.target = parseRtspUrl(options.url);
    this.server = this.target;
    this.user = options.username || this.target.username;
    this.pass = options.password || this.target.password;
  }

  get tracks(): readonly SessionTrack[] {
    return this.tracksPlaying;
  }

  get packets(): number {
    return this.packetsReceived;
  }

  /** Connects and plays; resolves with the tracks being received, rejects with an RtspError. */
  async play(): Promise<readonly SessionTrack[]> {
    try {
      const description = await this.describe();
      const wanted = chooseMedia(description.media, this.options.media);
      if (wanted.length === 0) {
        const has = describeOffer(description.media);
        throw new RtspError(`the camera offers no ${this.options.media} (it has ${has})`, "no-media");
      }
      for (const [index, media] of wanted.entries()) await this.setup(media, index);
      this.tracksPlaying = wanted.map((media) => ({ media, stats: new RtpReceiverStats(media.clockRate) }));
      this.emit("ready", this.tracksPlaying);
      await this.sendPlay();
      this.startTimers();
      return this.tracksPlaying;
    } catch (err) {
      const error = toRtspError(err);
      await this.end(error, "none");
      throw error;
    }
  }

  /** Sends TEARDOWN (bounded wait) and releases every socket and timer. Safe to call at any time. */
  async close(): Promise<void> {
    await this.end(undefined, "wait");
  }

  private async describe(): Promise<SessionDescription> {
    let url = this.target;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      await this.connect(url);
      const requestUrl = formatRtspUrl(url);
      await this.options_(requestUrl);
      const response = await this.send(
        "DESCRIBE",
        requestUrl,
        new RtspHeaders([["Accept", "application/sdp"]]),
      );
      if (response.statusCode === 301 || response.statusCode === 302) {
        const location = response.headers.get("Location");
        if (!location) throw new RtspError(`${statusLine(response)} without a Location`, "redirect");
        // Credentials in a Location are the redirecting server's idea; ours are this.user and this.pass.
        const { username: _user, password: _pass, ...next } = parseRtspUrl(location);
        if ((url.secure || this.target.secure) && !next.secure) {
          throw new RtspError(
            `the camera redirected from rtsps:// to rtsp://${hostPort(next)}, which is not encrypted: refused`,
            "redirect",
          );
        }
        url = next;
        const old = this.connection;
        this.connection = undefined;
        old?.close();
        continue;
      }
      expectOk(response, "DESCRIBE");
      this.baseUrl =
        response.headers.get("Content-Base") ?? response.headers.get("Content-Location") ?? requestUrl;
      try {
        const description = describeSession(response.body.toString("utf8"), this.baseUrl, resolveControl);
        this.sessionControl = description.sessionControl;
        return description;
      } catch (err) {
        throw new RtspError(`bad SDP from the camera: ${(err as Error).message}`, "protocol");
      }
    }
    throw new RtspError(`more than ${MAX_REDIRECTS} redirects`, "redirect");
  }

  private async connect(url: RtspUrl): Promise<void> {
    this.server = url;
    // A new connection answers its own server's challenge, never one from the connection before.
    this.authenticator = undefined;
    this.connection = await RtspConnection.open(url, {
      connectTimeoutMs: this.options.connectTimeoutMs,
      rejectUnauthorized: this.options.rejectUnauthorized,
      certificateFingerprint: this.options.certificateFingerprint,
    });
    const connection = this.connection;
    connection.on("interleaved", (channel, data) => this.onInterleaved(channel, data));
    connection.on("close", (error) => {
      if (connection === this.connection)
        void this.end(error ?? new RtspError("connection closed", "network"), "none");
    });
  }

  /**
   * OPTIONS tells which keepalive the server takes; a server that refuses OPTIONS is not fatal, and
   * is kept alive with GET_PARAMETER instead.
   */
  private async options_(url: string): Promise<void> {
    const response = await this.send("OPTIONS", url, new RtspHeaders());
    if (response.statusCode >= 200 && response.statusCode < 300) {
      const methods = parsePublic(response.headers.get("Public"));
      if (methods.has("GET_PARAMETER")) this.keepaliveMethod = "GET_PARAMETER";
    } else {
      this.keepaliveMethod = "GET_PARAMETER";
    }
  }

  private async setup(media: DescribedMedia, index: number): Promise<void> {
    const request: TransportHeader =
      this.options.transport === "tcp"
        ? { protocol: "RTP/AVP/TCP", unicast: true, interleaved: [2 * index, 2 * index + 1] }
        : await this.udpRequest();
    const response = await this.send(
      "SETUP",
      media.control,
      new RtspHeaders([["Transport", formatTransportHeader(request)]]),
    );
    if (response.statusCode === 461) {
      throw new RtspError(
        `461 Unsupported Transport: the camera refuses ${this.options.transport.toUpperCase()}`,
        "unsupported",
        461,
      );
    }
    expectOk(response, "SETUP");
    const sessionHeader = response.headers.get("Session");
    if (sessionHeader && !this.sessionId) {
      const session = parseSessionHeader(sessionHeader);
      this.sessionId = session.id;
      if (session.timeoutSec) this.sessionTimeoutS = session.timeoutSec;
    }
    const transportHeader = response.headers.get("Transport");
    const reply = transportHeader ? parseTransportHeader(transportHeader) : request;
    if (this.options.transport === "tcp") {
      const [rtp, rtcp] = reply.interleaved ?? request.interleaved!;
      this.channelToTrack.set(rtp, { track: index, rtcp: false });
      this.channelToTrack.set(rtcp, { track: index, rtcp: true });
    } else {
      await this.bindUdp(index, reply);
    }
  }

  private async udpRequest(): Promise<TransportHeader> {
    const pair = await openUdpPair({
      ipv6: net.isIPv6(this.connection?.remoteAddress ?? ""),
      portRange: this.options.udpPortRange,
    });
    this.udpPairs.push(pair);
    return { protocol: "RTP/AVP", unicast: true, clientPort: [pair.rtpPort, pair.rtcpPort] };
  }

  private async bindUdp(index: number, reply: TransportHeader): Promise<void> {
    const pair = this.udpPairs[index]!;
    const server = sameAddress(reply.source) ?? this.connection?.remoteAddress ?? "";
    const fromServer = (address: string) =>
      normalizeAddress(address) === normalizeAddress(server) ||
      normalizeAddress(address) === normalizeAddress(this.connection?.remoteAddress ?? "");
    pair.rtp.on("message", (packet, from) => {
      if (fromServer(from.address)) this.onRtp(index, ownBytes(packet));
    });
    pair.rtcp.on("message", (packet, from) => {
      if (fromServer(from.address)) this.tracksPlaying[index]?.stats.onRtcp(packet, Date.now());
    });
    const serverPort = reply.serverPort;
    if (!serverPort) return;
    // Open the path through a NAT or firewall before media starts (what gortsplib and ffmpeg do too).
    const rtpPunch = Buffer.from([0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    const rtcpPunch = Buffer.alloc(8);
    rtcpPunch.writeUInt32BE(0x80c90001, 0);
    rtcpPunch.writeUInt32BE(this.ownSsrc, 4);
    this.udpRtcpTargets.set(index, { port: serverPort[1], address: server });
    // Sent before PLAY goes out (dgram resolves addresses asynchronously), so the path is open for media.
    const send = (socket: dgram.Socket, packet: Buffer, port: number) =>
      new Promise<void>((resolve) => socket.send(packet, port, server, () => resolve()));
    await Promise.all([send(pair.rtp, rtpPunch, serverPort[0]), send(pair.rtcp, rtcpPunch, serverPort[1])]);
  }

  private async sendPlay(): Promise<void> {
    const response = await this.send("PLAY", this.sessionUrl(), new RtspHeaders([["Range", "npt=0.000-"]]));
    expectOk(response, "PLAY");
  }

  /** Aggregate control URL for PLAY, TEARDOWN and GET_PARAMETER. */
  private sessionUrl(): string {
    return this.sessionControl || this.baseUrl;
  }

  private startTimers(): void {
    // Closed while PLAY was answered (a redeploy): nothing may run on after the session's end.
    if (this.ended) return;
    const started = Date.now();
    this.lastPacketAt = started;
    const keepaliveMs = Math.max(this.sessionTimeoutS - 5, 1) * 1000;
    this.timers.push(setInterval(() => this.keepalive(), keepaliveMs));
    this.timers.push(
      setInterval(() => this.sendReceiverReports(), this.options.receiverReportIntervalMs ?? 5000),
    );
    this.timers.push(
      setInterval(() => {
        const silentFor = Date.now() - this.lastPacketAt;
        const limit =
          this.packetsReceived === 0
            ? (this.options.firstPacketTimeoutMs ?? this.options.noMediaTimeoutMs)
            : this.options.noMediaTimeoutMs;
        if (silentFor >= limit) {
          const what = this.packetsReceived === 0 ? "no media arrived" : "media stopped";
          // TEARDOWN goes out, but nobody waits for the reply of a server that may be frozen.
          void this.end(new RtspError(`${what} for ${Math.round(silentFor / 1000)} s`, "no-media"), "send");
        }
      }, 250),
    );
  }

  /**
   * Sent without waiting: a slow reply must not hold up anything, and a dead server shows as no media.
   * A refused keepalive may not have counted as a sign of life (cameras that take only OPTIONS, or only
   * GET_PARAMETER, whatever their Public header says): the other method goes out at once, and stays
   * the keepalive while the server takes it. An error reply never ends the session; only 454 does.
   */
  private keepalive(retryRefused = true): void {
    if (this.ended) return;
    const method = this.keepaliveMethod;
    const url = method === "OPTIONS" ? formatRtspUrl(this.server) : this.sessionUrl();
    this.send(method, url, new RtspHeaders()).then(
      (response) => {
        if (response.statusCode === 454) {
          void this.end(
            new RtspError("454 Session Not Found: the camera dropped the session", "status", 454),
            "none",
          );
        } else if (response.statusCode < 200 || response.statusCode >= 300) {
          if (this.keepaliveMethod === method) {
            this.keepaliveMethod = method === "OPTIONS" ? "GET_PARAMETER" : "OPTIONS";
          }
          if (retryRefused) this.keepalive(false);
        }
      },
      () => {},
    );
  }

  private sendReceiverReports(): void {
    const now = Date.now();
    for (const [index, track] of this.tracksPlaying.entries()) {
      const report = track.stats.buildReport(this.ownSsrc, "node-red-rtsp-webrtc", now);
      if (!report) continue;
      if (this.options.transport === "tcp") {
        const channel = [...this.channelToTrack].find(([, t]) => t.track === index && t.rtcp)?.[0];
        if (channel !== undefined) this.connection?.sendInterleaved(channel, report);
      } else {
        const target = this.udpRtcpTargets.get(index);
        if (target) this.udpPairs[index]?.rtcp.send(report, target.port, target.address);
      }
    }
  }

  private onInterleaved(channel: number, data: Buffer): void {
    const target = this.channelToTrack.get(channel);
    if (!target) return;
    if (target.rtcp) this.tracksPlaying[target.track]?.stats.onRtcp(data, Date.now());
    else this.onRtp(target.track, data);
  }

  private onRtp(track: number, packet: Buffer): void {
    const stats = this.tracksPlaying[track]?.stats;
    if (!stats || packet.length < 12 || packet[0]! >> 6 !== 2) return;
    this.lastPacketAt = Date.now();
    this.packetsReceived++;
    stats.onRtp(packet, this.lastPacketAt);
    this.emit("rtp", track, packet);
  }

  /**
   * Sends a request with User-Agent, Session and Authorization; answers one 401 with credentials, but
   * only from the host, port and scheme they were configured for (a redirect may lead elsewhere).
   */
  private async send(method: string, url: string, headers: RtspHeaders): Promise<RtspResponse> {
    const first = await this.sendOnce(method, url, headers);
    if (first.statusCode !== 401) return first;
    if (!this.user) {
      throw new RtspError("401 Unauthorized: the camera needs a user and password", "auth", 401);
    }
    if (!sameOrigin(this.server, this.target)) {
      throw new RtspError(
        `401 Unauthorized: the camera redirected to ${hostPort(this.server)} which asks for a password; ` +
          `credentials are only sent to ${hostPort(this.target)}`,
        "auth",
        401,
      );
    }
    const challenge = pickChallenge(parseWwwAuthenticate(first.headers.getAll("WWW-Authenticate")));
    if (!challenge) {
      const offered = first.headers.getAll("WWW-Authenticate").join("; ") || "nothing";
      throw new RtspError(`401 Unauthorized: unsupported authentication (${offered})`, "auth", 401);
    }
    this.authenticator = new Authenticator(this.user, this.pass ?? "", challenge as AuthChallenge);
    if (challenge.scheme === "basic" && !this.server.secure && !this.warnedPlaintext) {
      this.warnedPlaintext = true;
      this.emit("plaintextPassword", hostPort(this.server));
    }
    const second = await this.sendOnce(method, url, headers);
    if (second.statusCode === 401)
      throw new RtspError("401 Unauthorized: wrong user or password", "auth", 401);
    return second;
  }

  private sendOnce(method: string, url: string, headers: RtspHeaders): Promise<RtspResponse> {
    const connection = this.connection;
    if (!connection) return Promise.reject(new RtspError("not connected", "network"));
    const all = new RtspHeaders(headers.entries());
    all.set("User-Agent", this.options.userAgent);
    if (this.sessionId) all.set("Session", this.sessionId);
    if (this.authenticator) all.set("Authorization", this.authenticator.authorization(method, url));
    return connection.request(method, url, all, this.options.replyTimeoutMs);
  }

  private async end(error: RtspError | undefined, teardown: Teardown): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    for (const timer of this.timers) clearInterval(timer);
    this.timers.length = 0;
    const connection = this.connection;
    if (teardown !== "none" && connection && !connection.isClosed && this.sessionId) {
      const sent = this.sendOnce("TEARDOWN", this.sessionUrl(), new RtspHeaders()).catch(() => undefined);
      if (teardown === "wait") {
        // The reply mostly wins the race: the timer must not outlive the session.
        let wait: NodeJS.Timeout | undefined;
        await Promise.race([
          sent,
          new Promise((resolve) => (wait = setTimeout(resolve, TEARDOWN_WAIT_MS).unref())),
        ]);
        clearTimeout(wait);
      }
    }
    connection?.close();
    for (const pair of this.udpPairs) pair.close();
    this.udpPairs.length = 0;
    this.emit("close", error);
  }
}

function expectOk(response: RtspResponse, method: string): void {
  if (response.statusCode >= 200 && response.statusCode < 300) return;
  const hints: Record<number, string> = {
    400: "the camera did not understand the request",
    403: "access denied for this user",
    404: "no stream at this path",
    405: `the camera does not allow ${method}`,
    453: "the camera has no capacity for another client",
    454: "the camera forgot the session",
    455: `${method} not valid now`,
    457: "bad range",
    500: "the camera failed internally",
    501: `the camera does not implement ${method}`,
    503: "the camera is busy",
  };
  const hint = hints[response.statusCode];
  throw new RtspError(
    `${statusLine(response)}${hint ? `: ${hint}` : ""} (${method})`,
    "status",
    response.statusCode,
  );
}

function statusLine(response: RtspResponse): string {
  return `${response.statusCode} ${response.statusText}`.trim();
}

function toRtspError(err: unknown): RtspError {
  if (err instanceof RtspError) return err;
  return new RtspError(err instanceof Error ? err.message : String(err), "protocol");
}

/** "host:port", IPv6 in brackets, as people write it. */
function hostPort(url: RtspUrl): string {
  return `${url.hostname.includes(":") ? `[${url.hostname}]` : url.hostname}:${url.port}`;
}

/** Host names compare without case and without a trailing dot; addresses as written. */
function normalizeHost(hostname: string): string {
  return hostname.toLowerCase().replace(/\.$/, "");
}

/** Whether credentials configured for `configured` may go to `server`: same scheme, host and port. */
function sameOrigin(server: RtspUrl, configured: RtspUrl): boolean {
  return (
    server.secure === configured.secure &&
    server.port === configured.port &&
    normalizeHost(server.hostname) === normalizeHost(configured.hostname)
  );
}

function normalizeAddress(address: string): string {
  return address.startsWith("::ffff:") ? address.slice(7) : address;
}

function sameAddress(source: string | undefined): string | undefined {
  return source && net.isIP(source) ? source : undefined;
}

/** dgram hands out Buffers that may sit in a larger allocation; a message must own exactly its bytes. */
function ownBytes(packet: Buffer): Buffer {
  return packet.byteOffset === 0 && packet.buffer.byteLength === packet.length ? packet : Buffer.from(packet);
}
