import type { IncomingMessage, ServerResponse } from "node:http";
import type { Snapshot } from "../snapshot/snapshot-taker";
import { ViewerRequestError } from "../webrtc/errors";
import type { IceServer } from "../webrtc/ice-config";
import type { ViewerSet } from "../webrtc/viewer-set";
import { type HttpAccess, withAccess } from "./access";
import { BODY_LIMIT_BYTES, BODY_TIMEOUT_MS, readTextBody, requireMediaType } from "./body";
import type { CorsOptions } from "./cors";
import { HttpError, sendError, sendHtml, sendJson } from "./http-error";
import { iceServerLinks } from "./ice-links";
import type { RequestHandler } from "./middleware";
import { playerPage, playerPagePolicy } from "./player-page";
import { publicStats } from "./public-stats";
import { requestLocalAddresses, unmapped } from "./request-address";
import { baseUrl } from "./request-base";
import type { Endpoint } from "./router";
import { snapshotHttpError } from "./snapshot-error";
import { type StreamSummary, summarizeStream, type ViewerSetStats } from "./stream-summary";
import { WrongTokenThrottle } from "./token-throttle";
import { ViewerTokenGate } from "./viewer-token";

/**
 * What the endpoint needs of a stream's viewer set (src/webrtc/viewer-set.ts): the signaling calls, and
 * the stats served, without viewer ids and addresses, as JSON at P/stats, whose state and size the
 * camera wall reads.
 */
export interface ViewerHost
  extends Pick<
    ViewerSet,
    "addViewer" | "viewerOf" | "takeEnded" | "addIceCandidates" | "removeViewer" | "addLiveViewer"
  > {
  stats(): ViewerSetStats;
}

export interface StreamEndpointOptions {
  /** Normalised: leading "/", no trailing "/". */
  readonly path: string;
  /** The player page's title. */
  readonly title: string;
  readonly viewers: ViewerHost;
  readonly iceServers?: readonly IceServer[];
  /** Node-RED's httpNodeCors, applied to every route. */
  readonly cors?: CorsOptions;
  /** Node-RED's httpNodeMiddleware, run before every route (not before CORS preflights). */
  readonly middleware?: readonly RequestHandler[];
  /**
   * Node-RED's httpNodeAuth is set: it checks every request but OPTIONS, so an OPTIONS answer names
   * no ICE server credentials (a WHEP client gets them in the 201 of its POST).
   */
  readonly nodeAuth?: boolean;
  /**
   * When set, every route (OPTIONS too) but CORS preflights needs `Authorization: Bearer <token>` (the
   * player page also takes `?token=<token>`), and the camera wall does not list the stream.
   */
  readonly viewerToken?: string | undefined;
  /** Origins besides its own that may frame the player page (CSP frame-ancestors). Default none. */
  readonly frameAncestors?: readonly string[];
  /** Who guessed the viewer token wrong, and how long they wait. Default: 5 a minute, then 10 s, doubling. */
  readonly tokenThrottle?: WrongTokenThrottle;
  /** How long a request body may take to arrive before a 408. Default BODY_TIMEOUT_MS (10 s). */
  readonly bodyTimeoutMs?: number;
  /** A JPEG of the stream's newest picture, served at P/snapshot.jpg; without it that is a 404. */
  readonly snapshot?: () => Promise<Snapshot>;
}

const SDP = "application/sdp";
const SDPFRAG = "application/trickle-ice-sdpfrag";
const JSON_TYPE = "application/json";
const RESOURCE = /^[A-Za-z0-9_-]{1,128}$/;
const SNAPSHOT_PATH = "/snapshot.jpg";
/** The stream as fragmented MP4 for Media Source Extensions: the player's way where WebRTC cannot connect. */
export const LIVE_MP4_PATH = "/live.mp4";

interface Route {
  readonly methods: readonly string[];
  run(req: IncomingMessage, res: ServerResponse, method: string): Promise<void>;
}

function remoteAddress(req: IncomingMessage): string {
  return unmapped(req.socket.remoteAddress ?? "");
}

function methodNotAllowed(method: string, allowed: readonly string[]): HttpError {
  return new HttpError(405, "method not allowed", `${method} is not served here; use ${allowed.join(", ")}`, {
    Allow: allowed.join(", "),
  });
}

function etagFor(id: string): string {
  return `"${id}"`;
}

/** RFC 9110 If-Match: "*" or a list of entity tags. A WHEP client sends the one the POST returned. */
function ifMatchFails(req: IncomingMessage, id: string): boolean {
  const header = req.headers["if-match"];
  if (header === undefined) return false;
  const tags = header.split(",").map((tag) => tag.trim());
  return !tags.includes("*") && !tags.includes(etagFor(id)) && !tags.includes(`W/${etagFor(id)}`);
}

/**
 * A viewer set that refuses new ICE credentials in a PATCH with a plain Error("ice restart not
 * supported") rather than IceRestartError: WHEP answers a PATCH kind it does not support with 422, as
 * RFC 9725 does for WHIP.
 */
function asIceRestartRefusal(err: unknown): unknown {
  if (!(err instanceof Error) || err instanceof HttpError || err instanceof ViewerRequestError) return err;
  if (!/ice restart/i.test(err.message)) return err;
  return new HttpError(
    422,
    "ice restart not supported",
    "this server takes trickled candidates only; start a new session (POST) instead of restarting ICE",
  );
}

async function readJsonOffer(req: IncomingMessage, timeoutMs: number): Promise<string> {
  requireMediaType(req, JSON_TYPE);
  const text = await readTextBody(req, BODY_LIMIT_BYTES, timeoutMs);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new HttpError(400, "bad JSON", 'the body must be JSON: {"type":"offer","sdp":"v=0…"}');
  }
  if (!body || typeof body !== "object" || Array.isArray(body)) {
    throw new HttpError(400, "bad JSON", 'the body must be a JSON object: {"type":"offer","sdp":"v=0…"}');
  }
  const { type, sdp } = body as { type?: unknown; sdp?: unknown };
  if (type !== "offer") {
    throw new HttpError(
      400,
      "not an offer",
      `"type" must be "offer", got ${JSON.stringify(type) ?? "nothing"}`,
    );
  }
  if (typeof sdp !== "string" || sdp.trim() === "") {
    throw new HttpError(400, "bad SDP", '"sdp" must be the offer\'s session description, a non-empty string');
  }
  return sdp;
}

async function readSdpOffer(req: IncomingMessage, timeoutMs: number): Promise<string> {
  requireMediaType(req, SDP);
  const sdp = await readTextBody(req, BODY_LIMIT_BYTES, timeoutMs);
  if (sdp.trim() === "") throw new HttpError(400, "bad SDP", "the body is empty: send the SDP offer");
  return sdp;
}

/**
 * Every route of one webrtc-out node (docs/ARCHITECTURE.md, "The HTTP interface"): the player page,
 * the JSON offer, WHEP with trickle and DELETE, and stats. Errors answer as JSON `{ error, detail }`
 * with their status.
 */
export class StreamEndpoint implements Endpoint {
  readonly access: HttpAccess;
  private readonly opts: StreamEndpointOptions;
  /** Every ICE server, credentials included: for requests that passed every access rule. */
  private readonly links: string[];
  /** What OPTIONS P/whep announces: without credentials when httpNodeAuth cannot have checked it. */
  private readonly optionsLinks: string[];
  /** The viewer token's check; undefined when the stream has none. */
  private readonly gate: ViewerTokenGate | undefined;
  private readonly bodyTimeoutMs: number;

  constructor(opts: StreamEndpointOptions) {
    this.opts = opts;
    this.gate =
      opts.viewerToken === undefined
        ? undefined
        : new ViewerTokenGate(opts.viewerToken, opts.tokenThrottle ?? new WrongTokenThrottle());
    this.bodyTimeoutMs = opts.bodyTimeoutMs ?? BODY_TIMEOUT_MS;
    this.access = { cors: opts.cors, middleware: opts.middleware, nodeAuth: opts.nodeAuth };
    const servers = opts.iceServers ?? [];
    this.links = iceServerLinks(servers);
    this.optionsLinks = opts.nodeAuth
      ? iceServerLinks(servers.filter((s) => s.username === undefined && s.credential === undefined))
      : this.links;
  }

  handle(req: IncomingMessage, res: ServerResponse, subpath: string): void {
    const method = (req.method ?? "GET").toUpperCase();
    withAccess(this.access, req, res, () => this.route(req, res, method, subpath));
  }

  /**
   * This stream's line in the camera wall's list; none for a stream behind a viewer token: its path and
   * title would tell whoever reaches the wall where a guarded camera is.
   */
  describe(): StreamSummary | undefined {
    if (this.opts.viewerToken !== undefined) return undefined;
    return summarizeStream(this.opts.path, this.opts.title, this.opts.viewers.stats());
  }

  private route(req: IncomingMessage, res: ServerResponse, method: string, subpath: string): void {
    const found = this.find(subpath);
    if (!found) {
      sendError(res, new HttpError(404, "not found", `nothing at ${this.opts.path}${subpath}`));
      return;
    }
    const allowed = [...found.methods, "OPTIONS"];
    // A preflight, here only when httpNodeCors is unset: it carries no credentials, so it learns nothing.
    if (method === "OPTIONS" && req.headers["access-control-request-method"] !== undefined) {
      res.statusCode = 204;
      res.setHeader("Allow", allowed.join(", "));
      res.end();
      return;
    }
    // Before anything is read or built: a refused request never reaches the viewer set.
    // The player page and the snapshot take ?token= too: a browser's address bar and an <img> send no header.
    const query = subpath === "" || subpath === SNAPSHOT_PATH || subpath === LIVE_MP4_PATH;
    const refusal = this.gate?.refusal(req, remoteAddress(req), { query });
    if (refusal) {
      sendError(res, refusal);
      return;
    }
    if (method === "OPTIONS") {
      res.statusCode = 204;
      res.setHeader("Allow", allowed.join(", "));
      if (subpath === "/whep") {
        res.setHeader("Accept-Post", SDP);
        for (const link of this.optionsLinks) res.appendHeader("Link", link);
      }
      res.end();
      return;
    }
    const effective = method === "HEAD" && found.methods.includes("GET") ? "GET" : method;
    if (!found.methods.includes(effective)) {
      sendError(res, methodNotAllowed(method, allowed));
      return;
    }
    found.run(req, res, effective).catch((err: unknown) => sendError(res, err));
  }

  private find(subpath: string): Route | undefined {
    if (subpath === "") return { methods: ["GET", "HEAD"], run: async (req, res) => this.page(req, res) };
    if (subpath === "/offer") return { methods: ["POST"], run: (req, res) => this.offer(req, res) };
    if (subpath === "/whep") return { methods: ["POST"], run: (req, res) => this.whep(req, res) };
    if (subpath === "/stats") return { methods: ["GET", "HEAD"], run: async (_req, res) => this.stats(res) };
    const snapshot = this.opts.snapshot;
    if (subpath === SNAPSHOT_PATH && snapshot) {
      return { methods: ["GET"], run: (_req, res) => this.snapshot(res, snapshot) };
    }
    if (subpath === LIVE_MP4_PATH)
      return { methods: ["GET"], run: async (req, res) => this.liveMp4(req, res) };
    const whep = /^\/whep\/([^/]+)$/.exec(subpath);
    if (whep) {
      const resource = whep[1] ?? "";
      return {
        methods: ["PATCH", "DELETE"],
        run: (req, res, method) =>
          method === "PATCH" ? this.trickle(req, res, resource) : this.end(res, resource),
      };
    }
    return undefined;
  }

  private urls(req: IncomingMessage) {
    const base = `${baseUrl(req)}${this.opts.path}`;
    return {
      base,
      offer: `${base}/offer`,
      stats: `${base}/stats`,
      whep: `${base}/whep`,
      live: `${base}${LIVE_MP4_PATH}`,
    };
  }

  private page(req: IncomingMessage, res: ServerResponse): void {
    const query = new URLSearchParams((req.url ?? "").split("?")[1] ?? "");
    const embed = ["1", "true", "yes"].includes((query.get("embed") ?? "").toLowerCase());
    const urls = this.urls(req);
    const html = playerPage({
      title: this.opts.title,
      offerUrl: urls.offer,
      statsUrl: urls.stats,
      liveUrl: urls.live,
      mode: query.get("mode") === "mse" ? "mse" : "auto",
      embed,
      iceServers: this.opts.iceServers,
      ...(this.opts.viewerToken !== undefined
        ? {
            bearerToken: this.opts.viewerToken,
            tokenBesideBasicAuth: /^Basic /i.test(req.headers.authorization ?? ""),
          }
        : {}),
    });
    // The page's own URL may carry ?token=: no Referer is to take it anywhere.
    if (this.opts.viewerToken !== undefined) res.setHeader("Referrer-Policy", "no-referrer");
    sendHtml(res, html, playerPagePolicy(this.opts.frameAncestors));
  }

  private async offer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const sdp = await readJsonOffer(req, this.bodyTimeoutMs);
    const { id, resource, answerSdp } = await this.opts.viewers.addViewer(
      sdp,
      remoteAddress(req),
      true,
      requestLocalAddresses(req),
    );
    // `location` is the session's WHEP resource, as a WHEP POST's Location: only this client learns it.
    sendJson(res, 200, {
      type: "answer",
      sdp: answerSdp,
      id,
      location: `${this.urls(req).whep}/${resource}`,
    });
  }

  private async whep(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const sdp = await readSdpOffer(req, this.bodyTimeoutMs);
    const { id, resource, answerSdp } = await this.opts.viewers.addViewer(
      sdp,
      remoteAddress(req),
      false,
      requestLocalAddresses(req),
    );
    res.statusCode = 201;
    res.setHeader("Location", `${this.urls(req).whep}/${resource}`);
    res.setHeader("ETag", etagFor(id));
    res.setHeader("Accept-Patch", SDPFRAG);
    for (const link of this.links) res.appendHeader("Link", link);
    res.setHeader("Content-Type", SDP);
    res.setHeader("Content-Length", Buffer.byteLength(answerSdp));
    res.setHeader("Cache-Control", "no-store");
    res.end(answerSdp);
  }

  /** The viewer a WHEP resource names; a 404 for anything but a live viewer's resource. */
  private viewerOf(resource: string): string {
    const id = RESOURCE.test(resource) ? this.opts.viewers.viewerOf(resource) : undefined;
    if (id === undefined) {
      throw new HttpError(404, "unknown viewer", "no session at this URL: it has ended, or never existed");
    }
    return id;
  }

  private async trickle(req: IncomingMessage, res: ServerResponse, resource: string): Promise<void> {
    requireMediaType(req, SDPFRAG);
    const id = this.viewerOf(resource);
    const fragment = await readTextBody(req, BODY_LIMIT_BYTES, this.bodyTimeoutMs);
    if (ifMatchFails(req, id)) {
      throw new HttpError(
        412,
        "precondition failed",
        `If-Match does not name this session's ETag ${etagFor(id)}`,
      );
    }
    try {
      await this.opts.viewers.addIceCandidates(id, fragment);
    } catch (err) {
      throw asIceRestartRefusal(err);
    }
    res.statusCode = 204;
    res.setHeader("ETag", etagFor(id));
    res.end();
  }

  private async end(res: ServerResponse, resource: string): Promise<void> {
    const viewers = this.opts.viewers;
    // A session its client closed just before this DELETE (whip-whep's stop() does it in that order)
    // has ended already: nothing is left to do, and that is what the client asked for.
    const endedAlready =
      RESOURCE.test(resource) && viewers.viewerOf(resource) === undefined && viewers.takeEnded(resource);
    if (!endedAlready) await viewers.removeViewer(this.viewerOf(resource));
    res.statusCode = 200;
    res.setHeader("Content-Length", "0");
    res.end();
  }

  private async snapshot(res: ServerResponse, take: () => Promise<Snapshot>): Promise<void> {
    let snapshot: Snapshot;
    try {
      snapshot = await take();
    } catch (err) {
      throw snapshotHttpError(err);
    }
    res.statusCode = 200;
    res.setHeader("Content-Type", "image/jpeg");
    res.setHeader("Content-Length", snapshot.jpeg.length);
    // Each request is a new picture: no cache between here and the viewer may keep one.
    res.setHeader("Cache-Control", "no-store");
    res.end(snapshot.jpeg);
  }

  /**
   * A streaming response of the stream as fMP4, one fragment per frame, for as long as the client
   * stays. A plain HTTP response, not a WebSocket: it passes any reverse proxy that passes the player
   * page (a WebSocket needs the proxy's Upgrade configured), and X-Accel-Buffering tells nginx to
   * forward each fragment as it comes.
   */
  private liveMp4(req: IncomingMessage, res: ServerResponse): void {
    const remove = this.opts.viewers.addLiveViewer(remoteAddress(req), (mime) => {
      res.statusCode = 200;
      res.setHeader("Content-Type", mime);
      res.setHeader("Cache-Control", "no-store");
      res.setHeader("X-Accel-Buffering", "no");
      res.setHeader("X-Content-Type-Options", "nosniff");
      res.flushHeaders();
      return res;
    });
    res.once("close", remove);
    if (res.destroyed) remove();
  }

  private stats(res: ServerResponse): void {
    sendJson(res, 200, publicStats(this.opts.viewers.stats()));
  }
}
