import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { MediaStreamTrack, RTCPeerConnection, RTCRtpCodecParameters, type RTCRtpSender } from "werift";
import { viewerErrorAnswer } from "../../src/http/viewer-errors";
import type { AccessUnit, MediaInfo, StreamInfo } from "../../src/rtp/stream-info";
import { RtspSource, type SourceTransport } from "../../src/rtsp/source";
import { type MatchedCodec, matchVideoCodec } from "../../src/webrtc/codec-match";
import { ViewerRequestError } from "../../src/webrtc/errors";
import { type IceSettings, peerIceConfig, withoutDefaultStun } from "../../src/webrtc/ice-config";
import { waitForGathering } from "../../src/webrtc/viewer";
import { answerMetrics, MetricsWindow } from "./bench-node-red";

// The bench's baseline row: the same viewers fed by a minimal werift loop with no Node-RED, so the
// table shows what Node-RED and the nodes cost on top of werift. Camera → RtspSource → every RTP
// packet of each access unit to every connected viewer's sender: no normalizer, no GOP cache, no
// pacing, no repacketization. A viewer starts at the first keyframe after it connected, as in the
// product, so both count the same packets.

export interface BaselineOptions {
  readonly cameraUrl: string;
  /** Default "tcp", as the bench's rtsp-in nodes. */
  readonly transport?: SourceTransport;
  /** How long start waits for the camera's first video frame. Default 20 s. */
  readonly firstFrameTimeoutMs?: number;
}

/** GET /stats: what the loop has seen and sent since it started. */
export interface BaselineStats {
  readonly sourceState: string;
  readonly viewers: number;
  readonly connected: number;
  readonly framesReceived: number;
  readonly packetsReceived: number;
  /** Packets handed to werift senders, all viewers together. */
  readonly packetsSent: number;
}

export interface Baseline {
  /** The HTTP port on 127.0.0.1: POST /offer, GET /stats, GET /metrics, POST /reset. */
  readonly port: number;
  readonly offerUrl: string;
  /** GET it for ServerMetrics; POST /reset beside it starts a new window. */
  readonly metricsUrl: string;
  /** http://127.0.0.1:port, for metricsClient(). */
  readonly metricsBase: string;
  stats(): BaselineStats;
  stop(): Promise<void>;
}

/** The product's ICE settings for a webrtc-out node with hostAddresses "127.0.0.1". */
const ICE: IceSettings = { iceServers: [], additionalHostAddresses: ["127.0.0.1"] };
const MAX_BODY_BYTES = 64 * 1024;
const GATHER_TIMEOUT_MS = 10_000;
const CONNECT_TIMEOUT_MS = 30_000;
const DISCONNECTED_TIMEOUT_MS = 10_000;
const USER_AGENT = "node-red-rtsp-webrtc bench baseline";

interface BaselineViewer {
  readonly pc: RTCPeerConnection;
  readonly sender: RTCRtpSender;
  connected: boolean;
  /** Set at the first keyframe after the connection came up; from then on every frame goes out. */
  started: boolean;
  timer: NodeJS.Timeout | undefined;
  closing: Promise<void> | undefined;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function ignore(): void {}

/** The body as text; an HttpError 413 past MAX_BODY_BYTES (read to the end, so the answer gets through). */
function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on("end", () => {
      if (size > MAX_BODY_BYTES) reject(new HttpError(413, "body too large"));
      else resolve(Buffer.concat(chunks).toString("utf8"));
    });
    req.on("error", reject);
  });
}

function codecParameters(codec: MatchedCodec): RTCRtpCodecParameters {
  return new RTCRtpCodecParameters({
    mimeType: codec.mimeType,
    clockRate: codec.clockRate,
    payloadType: codec.payloadType,
    rtcpFeedback: codec.rtcpFeedback.map((fb) => ({ ...fb })),
    ...(codec.fmtp !== "" ? { parameters: codec.fmtp } : {}),
  });
}

/** The relay loop and its HTTP server. */
class BaselineRelay {
  readonly viewers = new Set<BaselineViewer>();
  readonly metrics = new MetricsWindow();
  private video: MediaInfo | undefined;
  private framesReceived = 0;
  private packetsReceived = 0;
  private packetsSent = 0;

  constructor(readonly source: RtspSource) {
    source.on("frame", (unit, stream) => this.onFrame(unit, stream));
  }

  stats(): BaselineStats {
    let connected = 0;
    for (const viewer of this.viewers) if (viewer.connected) connected++;
    return {
      sourceState: this.source.state.state,
      viewers: this.viewers.size,
      connected,
      framesReceived: this.framesReceived,
      packetsReceived: this.packetsReceived,
      packetsSent: this.packetsSent,
    };
  }

  get hasVideo(): boolean {
    return this.video !== undefined;
  }

  private onFrame(unit: AccessUnit, stream: StreamInfo): void {
    if (unit.kind !== "video") return;
    this.video = stream.media.find((media) => media.kind === "video");
    this.framesReceived++;
    this.packetsReceived += unit.packets.length;
    for (const viewer of this.viewers) {
      if (!viewer.connected) continue;
      if (!viewer.started) {
        if (!unit.keyframe) continue;
        viewer.started = true;
      }
      for (const packet of unit.packets) {
        // werift parses the packet and sets its own SSRC and payload type; sequence numbers and
        // timestamps pass through as the camera sent them.
        viewer.sender.sendRtp(packet).catch(ignore);
      }
      this.packetsSent += unit.packets.length;
    }
  }

  /** Answers a JSON offer as webrtc-out's POST P/offer does. @throws HttpError */
  async answer(body: string): Promise<{ type: "answer"; sdp: string }> {
    let offer: { type?: unknown; sdp?: unknown };
    try {
      offer = JSON.parse(body) as typeof offer;
    } catch {
      throw new HttpError(400, "the body is not JSON");
    }
    if (offer.type !== "offer" || typeof offer.sdp !== "string") {
      throw new HttpError(400, 'expected {type: "offer", sdp}');
    }
    const video = this.video;
    if (video === undefined) throw new HttpError(503, "no stream yet");
    let codec: MatchedCodec;
    try {
      codec = matchVideoCodec(offer.sdp, video);
    } catch (error) {
      // 400 for an offer that is not SDP, 406 when it has no codec in common with the camera.
      if (error instanceof ViewerRequestError)
        throw new HttpError(viewerErrorAnswer(error).status, error.message);
      throw error;
    }
    const params = codecParameters(codec);
    const pc = new RTCPeerConnection({
      ...peerIceConfig(ICE),
      codecs: { video: [params], audio: [] },
      headerExtensions: { video: [], audio: [] },
    });
    const transceiver = pc.addTransceiver(new MediaStreamTrack({ kind: "video", codec: params }), {
      direction: "sendonly",
    });
    const viewer: BaselineViewer = {
      pc,
      sender: transceiver.sender,
      connected: false,
      started: false,
      timer: setTimeout(() => void this.drop(viewer), CONNECT_TIMEOUT_MS),
      closing: undefined,
    };
    this.viewers.add(viewer);
    pc.connectionStateChange.subscribe((state) => this.onState(viewer, state));
    try {
      await pc.setRemoteDescription({ type: "offer", sdp: offer.sdp });
      withoutDefaultStun(pc, ICE);
      await pc.setLocalDescription(await pc.createAnswer());
      await waitForGathering(pc, GATHER_TIMEOUT_MS);
      const sdp = pc.localDescription?.sdp;
      if (sdp === undefined) throw new HttpError(500, "no answer could be made");
      return { type: "answer", sdp };
    } catch (error) {
      await this.drop(viewer);
      if (error instanceof HttpError) throw error;
      throw new HttpError(400, error instanceof Error ? error.message : String(error));
    }
  }

  private onState(viewer: BaselineViewer, state: RTCPeerConnection["connectionState"]): void {
    if (viewer.closing !== undefined) return;
    if (state === "connected") {
      clearTimeout(viewer.timer);
      viewer.timer = undefined;
      viewer.connected = true;
    } else if (state === "disconnected") {
      viewer.timer ??= setTimeout(() => void this.drop(viewer), DISCONNECTED_TIMEOUT_MS);
    } else if (state === "failed" || state === "closed") {
      void this.drop(viewer);
    }
  }

  drop(viewer: BaselineViewer): Promise<void> {
    if (viewer.closing === undefined) {
      clearTimeout(viewer.timer);
      viewer.connected = false;
      this.viewers.delete(viewer);
      viewer.closing = viewer.pc.close().catch(ignore);
    }
    return viewer.closing;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const send = (status: number, body: unknown): void => {
      if (body === undefined) res.writeHead(status).end();
      else res.writeHead(status, { "Content-Type": "application/json" }).end(JSON.stringify(body));
    };
    try {
      const path = new URL(req.url ?? "/", "http://baseline.invalid").pathname;
      if (path === "/offer" && req.method === "POST") {
        send(200, await this.answer(await readBody(req)));
        return;
      }
      req.resume();
      if (path === "/stats" && req.method === "GET") send(200, this.stats());
      else if (!answerMetrics(this.metrics, req.method, req.url, send)) send(404, { error: "not found" });
    } catch (error) {
      const status = error instanceof HttpError ? error.status : 500;
      send(status, { error: error instanceof Error ? error.message : String(error) });
    }
  }
}

function waitForVideo(relay: BaselineRelay, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      relay.source.off("frame", check);
      const state = relay.source.state;
      reject(
        new Error(`no video from the camera in ${timeoutMs} ms (${state.state}: ${state.reason ?? ""})`),
      );
    }, timeoutMs);
    function check(): void {
      if (!relay.hasVideo) return;
      clearTimeout(timer);
      relay.source.off("frame", check);
      resolve();
    }
    relay.source.on("frame", check);
  });
}

/**
 * Starts pulling the camera and serving viewers on 127.0.0.1 at a free port; resolves once the
 * camera's video flows (so an offer can be answered at once).
 * @throws Error when no video arrives within firstFrameTimeoutMs
 */
export async function startBaseline(opts: BaselineOptions): Promise<Baseline> {
  const source = new RtspSource({
    url: opts.cameraUrl,
    transport: opts.transport ?? "tcp",
    media: "video",
    userAgent: USER_AGENT,
    connectTimeoutMs: 10_000,
    replyTimeoutMs: 10_000,
    noMediaTimeoutMs: 10_000,
  });
  const relay = new BaselineRelay(source);
  const server = createServer((req, res) => void relay.handle(req, res));
  const stop = async (): Promise<void> => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await Promise.all([...relay.viewers].map((viewer) => relay.drop(viewer)));
    await source.close();
    relay.metrics.close();
  };
  try {
    const port = await new Promise<number>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => {
        server.off("error", reject);
        resolve((server.address() as AddressInfo).port);
      });
    });
    const video = waitForVideo(relay, opts.firstFrameTimeoutMs ?? 20_000);
    source.start();
    await video;
    const base = `http://127.0.0.1:${port}`;
    return {
      port,
      offerUrl: `${base}/offer`,
      metricsUrl: `${base}/metrics`,
      metricsBase: base,
      stats: () => relay.stats(),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** What the forked baseline (baseline-process.ts) tells its parent. */
export type BaselineChildMessage =
  | { readonly type: "ready"; readonly port: number }
  | { readonly type: "error"; readonly message: string };

/** What the parent tells it. */
export type BaselineParentMessage = { readonly type: "stop" };

/** Run as a forked child: argv[2] is the BaselineOptions as JSON. */
async function runAsChild(): Promise<void> {
  const send = (message: BaselineChildMessage): void => {
    process.send?.(message);
  };
  let baseline: Baseline;
  try {
    baseline = await startBaseline(JSON.parse(process.argv[2] ?? "{}") as BaselineOptions);
  } catch (error) {
    send({ type: "error", message: error instanceof Error ? error.message : String(error) });
    process.exit(1);
  }
  let stopping = false;
  const stopAndExit = (): void => {
    if (stopping) return;
    stopping = true;
    void baseline
      .stop()
      .catch(ignore)
      .then(() => process.exit(0));
  };
  process.on("message", (message: BaselineParentMessage) => {
    if (message.type === "stop") stopAndExit();
  });
  // The parent died or let go: do not linger.
  process.on("disconnect", stopAndExit);
  process.on("SIGTERM", stopAndExit);
  process.on("SIGINT", stopAndExit);
  send({ type: "ready", port: baseline.port });
}

if (require.main === module) void runAsChild();
