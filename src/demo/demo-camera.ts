import { randomInt } from "node:crypto";
import { createServer, isIPv6, type Server, type Socket } from "node:net";
import { DigestVerifier } from "../rtsp/auth";
import type { RtspError } from "../rtsp/errors";
import { formatRtpInfo, formatSessionHeader, parseSessionHeader, RtspHeaders } from "../rtsp/headers";
import { encodeResponse, type RtspRequest, reasonPhrase } from "../rtsp/message";
import { TcpDecoder, type TcpItem } from "../rtsp/tcp-decoder";
import { DEMO_CLIP_FPS, type DemoClip, loadDemoClip } from "./clip";
import { DemoSession, type DemoSessionEnd, type DemoSessionStats } from "./demo-session";
import { bindUdpPair, InterleavedSink, type MediaSink, UdpSink } from "./media-sink";
import { buildDemoSdp, DEMO_TRACK_CONTROL } from "./sdp";
import { chooseTransport, type TransportChoice } from "./transport-choice";

export interface DemoCameraOptions {
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** 0 (the default) picks a free port. */
  readonly port?: number;
  /** Default "/demo". */
  readonly path?: string;
  /** With password: Digest (MD5, qop=auth) is required for every method but OPTIONS. */
  readonly username?: string;
  readonly password?: string;
  /** An Annex-B H.264 file to loop instead of the shipped clip; it must start with an IDR. */
  readonly clipPath?: string;
  /** Frame rate of clipPath. Default 25, the shipped clip's. */
  readonly fps?: number;
  /** Seconds without a request before a session ends. Default 60. */
  readonly sessionTimeoutSeconds?: number;
  /** Where sessions start in the loop: "random" (default, like a camera joined mid-GOP) or "start" (an IDR). */
  readonly startAt?: "random" | "start";
  /**
   * Ends a playing UDP session when no RTCP receiver report about it arrives for this long, as some
   * NVRs do (requests keep the session alive, but not this). Default: reports are not required.
   */
  readonly requireReceiverReportsMs?: number;
  /**
   * Default true. When false, GET_PARAMETER is left out of Public and answered 501, like cameras that
   * take only OPTIONS as a keepalive (the request still counts as a sign of life).
   */
  readonly supportGetParameter?: boolean;
  /**
   * Which requests count as a sign of life, for tests of clients against cameras' quirks (default "any"):
   * - "options-only": GET_PARAMETER is answered 405 and does not count, though Public still lists it;
   * - "get-parameter-only": OPTIONS is answered 405 and does not count, even before a session;
   * - "errors": OPTIONS and GET_PARAMETER naming a session are answered 500 and do not count, RTCP
   *   receiver reports do (gst-rtsp-server counts RTCP from the client too);
   * - "rtcp-only": keepalives are answered 200 but do not count; only RTCP receiver reports keep a session.
   */
  readonly keepalive?: KeepaliveBehaviour;
  /**
   * The largest RTP packet sent, header included. Default 1200 (what fits a WebRTC path); 1400 is what
   * GStreamer's payloaders and many cameras send.
   */
  readonly maxPacketSize?: number;
  /** One line per notable event (sessions, bad requests). */
  readonly log?: (line: string) => void;
  /**
   * Called right after each video RTP packet (without interleaved framing) is handed to a session's
   * socket, TCP or UDP, with process.hrtime.bigint() then: the start of a relay-delay measurement.
   * What it throws is ignored.
   */
  readonly onPacketSent?: (packet: Buffer, atNs: bigint) => void;
}

export type KeepaliveBehaviour = "any" | "options-only" | "get-parameter-only" | "errors" | "rtcp-only";

export interface DemoCameraAddress {
  readonly port: number;
  /** rtsp://host:port/path, without credentials. */
  readonly url: string;
}

const BASE_METHODS = "OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN";
const SERVER_NAME = "node-red-rtsp-webrtc demo camera";
/** What a client's request may bring; more is answered 400 (header) or 413 (body) and the connection closed. */
const REQUEST_LIMITS = { maxHeaderBytes: 16 * 1024, maxBodyBytes: 64 * 1024 };
const MAX_SESSIONS = 64;
/** Ended sessions whose stats are kept for sessionStats(). */
const ENDED_SESSIONS_KEPT = 64;

interface Connection {
  readonly socket: Socket;
  readonly decoder: TcpDecoder;
  /** Set once the stream could not be decoded: its refusal is on the way and nothing more is read. */
  refused: boolean;
  readonly sessions: Set<DemoSession>;
  /** Requests are answered one at a time, in order, even when one of them waits (UDP port binding). */
  queue: Promise<void>;
}

type HeaderList = Array<[name: string, value: string]>;

interface Reply {
  readonly status: number;
  readonly headers?: HeaderList;
  readonly body?: Buffer;
}

/** CSeq first, as clients expect, then Server, Date and the reply's headers. */
function encodeReply(reply: Reply, cseq: string | undefined): Buffer {
  return encodeResponse({
    statusCode: reply.status,
    statusText: reasonPhrase(reply.status),
    cseq,
    headers: new RtspHeaders([
      ["Server", SERVER_NAME],
      ["Date", new Date().toUTCString()],
      ...(reply.headers ?? []),
    ]),
    body: reply.body ?? Buffer.alloc(0),
  });
}

/** The session a request names; "" for a Session header without an id, which names no session. */
function namedSession(request: RtspRequest): string | undefined {
  const value = request.headers.get("Session");
  if (value === undefined) return undefined;
  try {
    return parseSessionHeader(value).id;
  } catch {
    return "";
  }
}

/** "/demo" for "demo", "/demo/" or "/demo"; "" for the root. */
function normalizePath(path: string): string {
  const trimmed = path.replace(/\/+$/, "");
  return trimmed === "" || trimmed.startsWith("/") ? trimmed : `/${trimmed}`;
}

/** Path of a request-URI (absolute rtsp URL or bare path); undefined when it does not parse. */
function requestPath(uri: string): string | undefined {
  try {
    return decodeURIComponent(new URL(uri, "rtsp://camera.invalid").pathname).replace(/\/+$/, "");
  } catch {
    return undefined;
  }
}

function urlHost(host: string): string {
  if (host === "0.0.0.0" || host === "::" || host === "") return "127.0.0.1";
  return isIPv6(host) ? `[${host}]` : host;
}

/**
 * An RTSP 1.0 camera that loops an H.264 clip at its frame rate, to every client its own session,
 * over TCP interleaved or UDP unicast.
 */
export class DemoCamera {
  private readonly host: string;
  private readonly port: number;
  private readonly path: string;
  private readonly fps: number;
  private readonly timeoutMs: number;
  private readonly verifier: DigestVerifier | undefined;
  private readonly log: (line: string) => void;
  private readonly connections = new Set<Connection>();
  private readonly sessionsById = new Map<string, DemoSession>();
  private readonly endedSessions: DemoSession[] = [];
  /** A Map, not an object: method names come from clients ("__proto__" is a valid token). */
  private readonly requestsByMethod = new Map<string, number>();
  private readonly publicMethods: string;
  private readonly sdpSessionId = String(randomInt(1, 2 ** 47));
  private server: Server | undefined;
  private starting: Promise<DemoCameraAddress> | undefined;
  private clip: DemoClip | undefined;

  /** @throws RangeError for a bad port, fps, session timeout or receiver report limit. */
  constructor(private readonly opts: DemoCameraOptions = {}) {
    const positive = (value: number | undefined): boolean =>
      value === undefined || (Number.isFinite(value) && value > 0);
    if (opts.port !== undefined && !(Number.isInteger(opts.port) && opts.port >= 0 && opts.port <= 65535)) {
      throw new RangeError(`DemoCamera: bad port ${opts.port}`);
    }
    if (!positive(opts.fps)) throw new RangeError(`DemoCamera: bad fps ${opts.fps}`);
    if (!positive(opts.sessionTimeoutSeconds)) {
      throw new RangeError(`DemoCamera: bad sessionTimeoutSeconds ${opts.sessionTimeoutSeconds}`);
    }
    if (!positive(opts.requireReceiverReportsMs)) {
      throw new RangeError(`DemoCamera: bad requireReceiverReportsMs ${opts.requireReceiverReportsMs}`);
    }
    this.host = opts.host ?? "127.0.0.1";
    this.port = opts.port ?? 0;
    this.path = normalizePath(opts.path ?? "/demo");
    this.fps = opts.fps ?? DEMO_CLIP_FPS;
    this.timeoutMs = (opts.sessionTimeoutSeconds ?? 60) * 1000;
    this.log = opts.log ?? (() => {});
    this.publicMethods = opts.supportGetParameter === false ? BASE_METHODS : `${BASE_METHODS}, GET_PARAMETER`;
    const { username, password } = opts;
    this.verifier =
      username !== undefined && password !== undefined
        ? new DigestVerifier({ username, password, realm: SERVER_NAME })
        : undefined;
  }

  /** Live sessions (set up and not torn down or timed out). */
  get sessions(): number {
    return this.sessionsById.size;
  }

  /** Live sessions in the order they were set up, then the most recently ended ones, oldest first. */
  sessionStats(): DemoSessionStats[] {
    return [...this.sessionsById.values(), ...this.endedSessions].map((session) => session.stats);
  }

  /**
   * Media stops on every live session; the sessions stay set up and requests are still answered, as
   * from a camera whose encoder hung. Sessions set up later play normally. Returns how many went silent.
   */
  silenceSessions(): number {
    for (const session of this.sessionsById.values()) session.pause();
    return this.sessionsById.size;
  }

  /** Every request received since start, by method (including ones answered 401, 454 or 501). */
  requestCounts(): Readonly<Record<string, number>> {
    return Object.fromEntries(this.requestsByMethod);
  }

  /** Loads the clip and listens. @throws when the clip cannot be loaded or the port is taken. */
  start(): Promise<DemoCameraAddress> {
    this.starting ??= this.listen().catch((error: unknown) => {
      this.starting = undefined;
      throw error;
    });
    return this.starting;
  }

  private async listen(): Promise<DemoCameraAddress> {
    this.clip = await loadDemoClip(this.opts.clipPath);
    const server = createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, this.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    server.on("error", (error) => this.log(`server error: ${error.message}`));
    this.server = server;
    const bound = server.address();
    const port = typeof bound === "object" && bound ? bound.port : this.port;
    return { port, url: `rtsp://${urlHost(this.host)}:${port}${this.path}` };
  }

  /** Ends every session and connection and stops listening. */
  async close(): Promise<void> {
    await this.starting?.catch(() => {});
    const server = this.server;
    this.server = undefined;
    this.starting = undefined;
    for (const session of [...this.sessionsById.values()]) this.endSession(session, "camera closed");
    for (const connection of this.connections) connection.socket.destroy();
    this.connections.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    const connection: Connection = {
      socket,
      decoder: new TcpDecoder({ role: "server", ...REQUEST_LIMITS }),
      refused: false,
      sessions: new Set(),
      queue: Promise.resolve(),
    };
    this.connections.add(connection);
    socket.setNoDelay(true);
    socket.setTimeout(this.timeoutMs);
    socket.on("timeout", () => {
      // An idle connection without sessions is dropped; with sessions (UDP ones keep it quiet) their
      // own timeouts decide, and the idle timer is armed again for when they are gone.
      if (connection.sessions.size === 0) socket.destroy();
      else socket.setTimeout(this.timeoutMs);
    });
    socket.on("error", () => {});
    socket.on("close", () => this.drop(connection));
    socket.on("data", (chunk: Buffer) => {
      if (connection.refused) return;
      const { items, error } = connection.decoder.pushUntilError(chunk);
      for (const item of items) this.enqueue(connection, item);
      if (error) {
        connection.refused = true;
        this.enqueueRefusal(connection, error);
      }
    });
  }

  private drop(connection: Connection): void {
    this.connections.delete(connection);
    for (const session of connection.sessions) this.endSession(session, "connection closed");
  }

  private endSession(session: DemoSession, why: DemoSessionEnd): void {
    session.close(why);
    if (this.sessionsById.delete(session.id)) {
      this.log(`session ${session.id} ended: ${why}`);
      this.endedSessions.push(session);
      if (this.endedSessions.length > ENDED_SESSIONS_KEPT) this.endedSessions.shift();
    }
    for (const connection of this.connections) connection.sessions.delete(session);
  }

  private enqueue(connection: Connection, item: TcpItem): void {
    if (item.type === "interleaved") {
      // RTCP from a TCP client, on the odd channel of the session it reports on.
      for (const session of connection.sessions) {
        if (session.sink instanceof InterleavedSink && session.sink.deliver(item.channel, item.data)) return;
      }
      return;
    }
    if (item.type === "response") return; // the server role refuses replies: never here
    this.inTurn(connection, () => this.answer(connection, item.request, item.version));
  }

  /** The client's stream cannot be read on: answer the decoder's status (400 or 413) and close. */
  private enqueueRefusal(connection: Connection, error: RtspError): void {
    this.inTurn(connection, () => {
      if (connection.socket.destroyed) return;
      this.log(`bad request from ${connection.socket.remoteAddress}: ${error.message}`);
      connection.socket.end(encodeReply({ status: error.statusCode ?? 400 }, undefined));
    });
  }

  private inTurn(connection: Connection, task: () => void | Promise<void>): void {
    connection.queue = connection.queue.then(task).catch((error: unknown) => {
      this.log(`connection dropped: ${error instanceof Error ? error.message : String(error)}`);
      connection.socket.destroy();
    });
  }

  private async answer(connection: Connection, request: RtspRequest, version: string): Promise<void> {
    if (connection.socket.destroyed) return;
    const cseq = request.headers.get("CSeq");
    const refusal = !cseq || !/^\d{1,10}$/.test(cseq) ? "missing or bad CSeq" : undefined;
    const unsupported = version !== "RTSP/1.0" ? `unsupported version ${version}` : undefined;
    if (refusal !== undefined || unsupported !== undefined) {
      this.log(`bad request from ${connection.socket.remoteAddress}: ${refusal ?? unsupported}`);
      connection.socket.write(
        refusal !== undefined ? encodeReply({ status: 400 }, undefined) : encodeReply({ status: 505 }, cseq),
      );
      return;
    }
    let reply: Reply;
    try {
      reply = await this.handle(connection, request);
    } catch (error) {
      this.log(`${request.method} failed: ${error instanceof Error ? error.message : String(error)}`);
      reply = { status: 500 };
    }
    if (connection.socket.destroyed) return;
    connection.socket.write(encodeReply(reply, cseq));
  }

  private async handle(connection: Connection, request: RtspRequest): Promise<Reply> {
    const sessionHeader = namedSession(request);
    const session = sessionHeader === undefined ? undefined : this.sessionsById.get(sessionHeader);
    this.requestsByMethod.set(request.method, (this.requestsByMethod.get(request.method) ?? 0) + 1);
    session?.countRequest(request.method);
    if (this.isSignOfLife(request.method)) {
      session?.touch();
      for (const owned of connection.sessions) owned.touch();
    }
    const refusal = this.keepaliveRefusal(request.method, sessionHeader !== undefined);
    if (refusal) return refusal;
    if (request.method === "OPTIONS") return { status: 200, headers: [["Public", this.publicMethods]] };
    if (this.verifier) {
      const verdict = this.verifier.verify(request.method, request.url, request.headers.get("Authorization"));
      if (verdict !== "ok") {
        if (verdict === "invalid")
          this.log(`${request.method}: bad credentials from ${connection.socket.remoteAddress}`);
        return { status: 401, headers: [["WWW-Authenticate", this.verifier.challenge()]] };
      }
    }
    if (sessionHeader !== undefined && !session) return { status: 454 };
    switch (request.method) {
      case "DESCRIBE":
        return this.describe(connection, request);
      case "SETUP":
        return this.setup(connection, request, session);
      case "PLAY":
        return this.play(session);
      case "PAUSE":
        if (!session) return { status: 454 };
        session.pause();
        return { status: 200, headers: [["Session", this.sessionHeader(session)]] };
      case "TEARDOWN":
        if (!session) return { status: 454 };
        this.endSession(session, "teardown");
        return { status: 200 };
      case "GET_PARAMETER":
        if (this.opts.supportGetParameter === false)
          return { status: 501, headers: [["Public", this.publicMethods]] };
        return { status: 200, headers: session ? [["Session", this.sessionHeader(session)]] : [] };
      default:
        return { status: 501, headers: [["Public", this.publicMethods]] };
    }
  }

  private isSignOfLife(method: string): boolean {
    const behaviour = this.opts.keepalive ?? "any";
    if (method === "OPTIONS") return behaviour === "any" || behaviour === "options-only";
    if (method === "GET_PARAMETER") return behaviour === "any" || behaviour === "get-parameter-only";
    return true;
  }

  /** The error a quirky camera answers a keepalive with (see DemoCameraOptions.keepalive). */
  private keepaliveRefusal(method: string, namesSession: boolean): Reply | undefined {
    const behaviour = this.opts.keepalive ?? "any";
    const allow: HeaderList = [["Public", this.publicMethods]];
    if (behaviour === "options-only" && method === "GET_PARAMETER") return { status: 405, headers: allow };
    if (behaviour === "get-parameter-only" && method === "OPTIONS") return { status: 405, headers: allow };
    if (behaviour === "errors" && namesSession && (method === "OPTIONS" || method === "GET_PARAMETER")) {
      return { status: 500 };
    }
    return undefined;
  }

  private describe(connection: Connection, request: RtspRequest): Reply {
    if (requestPath(request.url) !== this.path) return { status: 404 };
    const base = new URL(request.url, `rtsp://${urlHost(this.host)}`);
    base.search = "";
    base.username = "";
    base.password = "";
    const contentBase = base.href.endsWith("/") ? base.href : `${base.href}/`;
    const sdp = buildDemoSdp({
      clip: this.clip!,
      fps: this.fps,
      address: connection.socket.localAddress?.replace(/^::ffff:/, "") ?? this.host,
      sessionId: this.sdpSessionId,
    });
    return {
      status: 200,
      headers: [
        ["Content-Base", contentBase],
        ["Content-Type", "application/sdp"],
      ],
      body: Buffer.from(sdp, "utf8"),
    };
  }

  private async setup(
    connection: Connection,
    request: RtspRequest,
    existing: DemoSession | undefined,
  ): Promise<Reply> {
    const path = requestPath(request.url);
    if (path !== this.path && path !== `${this.path}/${DEMO_TRACK_CONTROL}`) return { status: 404 };
    if (existing) return { status: 459 };
    if (this.sessionsById.size >= MAX_SESSIONS) return { status: 453 };
    const transport = chooseTransport(request.headers.get("Transport"));
    if (!transport) return { status: 461 };
    const sink = await this.openSink(connection, transport);
    if (!sink) return { status: 461 };
    if (connection.socket.destroyed) {
      sink.close();
      return { status: 500 };
    }
    const session = new DemoSession({
      clip: this.clip!,
      fps: this.fps,
      sink,
      trackUrl: request.url,
      timeoutMs: this.timeoutMs,
      receiverReportTimeoutMs: sink.kind === "udp" ? this.opts.requireReceiverReportsMs : undefined,
      onExpire: (ended, why) => this.endSession(ended, why),
      startFrame: this.opts.startAt === "start" ? 0 : undefined,
      onPacketSent: this.opts.onPacketSent,
      ...(this.opts.maxPacketSize === undefined ? {} : { maxPacketSize: this.opts.maxPacketSize }),
      receiverReportsKeepAlive: this.opts.keepalive === "errors" || this.opts.keepalive === "rtcp-only",
    });
    this.sessionsById.set(session.id, session);
    connection.sessions.add(session);
    this.log(`session ${session.id} set up for ${connection.socket.remoteAddress} over ${transport.kind}`);
    return {
      status: 200,
      headers: [
        ["Transport", session.transportHeader],
        ["Session", this.sessionHeader(session)],
      ],
    };
  }

  private async openSink(connection: Connection, transport: TransportChoice): Promise<MediaSink | undefined> {
    if (transport.kind === "tcp") {
      return new InterleavedSink(connection.socket, transport.interleaved ?? this.freeChannels(connection));
    }
    const clientAddress = connection.socket.remoteAddress?.replace(/^::ffff:/, "");
    const localAddress = connection.socket.localAddress?.replace(/^::ffff:/, "");
    if (clientAddress === undefined || localAddress === undefined) return undefined;
    const pair = await bindUdpPair(localAddress);
    return pair ? new UdpSink(pair, clientAddress, transport.clientPorts) : undefined;
  }

  /** Lowest even channel pair not used by the connection's other sessions. */
  private freeChannels(connection: Connection): readonly [number, number] {
    const used = new Set<number>();
    for (const session of connection.sessions) {
      if (session.sink instanceof InterleavedSink) used.add(session.sink.channels[0]);
    }
    let channel = 0;
    while (used.has(channel) && channel < 254) channel += 2;
    return [channel, channel + 1];
  }

  private play(session: DemoSession | undefined): Reply {
    if (!session) return { status: 454 };
    const wasPlaying = session.playing;
    const info = session.play();
    if (!wasPlaying) this.log(`session ${session.id} playing`);
    return {
      status: 200,
      headers: [
        ["Session", this.sessionHeader(session)],
        ["Range", "npt=0.000-"],
        ["RTP-Info", formatRtpInfo([{ url: session.trackUrl, seq: info.sequence, rtptime: info.rtpTime }])],
      ],
    };
  }

  private sessionHeader(session: DemoSession): string {
    return formatSessionHeader({ id: session.id, timeoutSec: Math.round(this.timeoutMs / 1000) });
  }
}
