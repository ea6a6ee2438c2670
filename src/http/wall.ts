import type { IncomingMessage, ServerResponse } from "node:http";
import { type HttpAccess, withAccess } from "./access";
import { HttpError, sendError, sendHtml, sendJson } from "./http-error";
import { baseUrl } from "./request-base";
import type { LiveState, StreamSummary } from "./stream-summary";
import { wallPage, wallPagePolicy } from "./wall-page";

/** Where the camera wall is served under httpNodeRoot, unless a webrtc-out node holds this path. */
export const WALL_PATH = "/webrtc";
const LIST_SUBPATH = "/streams";
const REFRESH_MS = 2000;
const ALLOWED = ["GET", "HEAD", "OPTIONS"];

/** How Node-RED's settings have the camera wall served. */
export interface WallSettings {
  /** False: /webrtc and /webrtc/streams pass on to the rest of httpNode, as any path no node holds. */
  readonly enabled: boolean;
  /** Origins besides its own that may frame the wall page (CSP frame-ancestors). */
  readonly frameAncestors: readonly string[];
}

/** One line of GET <root>/webrtc/streams: every key always present, null when unknown. */
export interface WallStream {
  readonly path: string;
  /** The stream's player page under httpNodeRoot ("/api/cam1"); `?embed=1` gives the video alone. */
  readonly url: string;
  readonly title: string;
  readonly state: LiveState;
  readonly viewers: number;
  readonly codec: string | null;
  readonly width: number | null;
  readonly height: number | null;
  readonly kbps: number | null;
}

/**
 * "" for the wall page, "/streams" for its list, undefined for every other path (which then passes on
 * to the rest of httpNode). Case-insensitive, as Express and the router match paths.
 */
export function wallSubpath(pathname: string): string | undefined {
  const lower = pathname.toLowerCase();
  if (lower === WALL_PATH) return "";
  if (lower === `${WALL_PATH}${LIST_SUBPATH}`) return LIST_SUBPATH;
  return undefined;
}

/** One line of the list. */
function wallStream(summary: StreamSummary, base: string): WallStream {
  return {
    path: summary.path,
    url: `${base}${summary.path}`,
    title: summary.title,
    state: summary.state,
    viewers: summary.viewers,
    codec: summary.codec ?? null,
    width: summary.width ?? null,
    height: summary.height ?? null,
    kbps: summary.kbps ?? null,
  };
}

/** The list as the wall page reads it, ordered by path ("cam2" before "cam10"); links start with `base`. */
export function wallStreams(summaries: readonly StreamSummary[], base: string): WallStream[] {
  return [...summaries]
    .sort((a, b) => a.path.localeCompare(b.path, "en", { numeric: true }))
    .map((summary) => wallStream(summary, base));
}

function sendPage(req: IncomingMessage, res: ServerResponse, settings: WallSettings): void {
  const html = wallPage({
    title: "Camera wall",
    listUrl: `${baseUrl(req)}${WALL_PATH}${LIST_SUBPATH}`,
    refreshMs: REFRESH_MS,
  });
  sendHtml(res, html, wallPagePolicy(settings.frameAncestors));
}

function route(
  req: IncomingMessage,
  res: ServerResponse,
  subpath: string,
  settings: WallSettings,
  summaries: () => readonly StreamSummary[],
): void {
  const method = req.method ?? "GET";
  if (method === "OPTIONS") {
    res.statusCode = 204;
    res.setHeader("Allow", ALLOWED.join(", "));
    res.end();
    return;
  }
  if (method !== "GET" && method !== "HEAD") {
    sendError(
      res,
      new HttpError(405, "method not allowed", `${method} is not served here; use ${ALLOWED.join(", ")}`, {
        Allow: ALLOWED.join(", "),
      }),
    );
    return;
  }
  if (subpath === LIST_SUBPATH) sendJson(res, 200, wallStreams(summaries(), baseUrl(req)));
  else sendPage(req, res, settings);
}

/**
 * Answers a request for the wall (`subpath` from wallSubpath) behind `access`, the same httpNodeCors
 * and httpNodeMiddleware every webrtc-out route runs behind.
 */
export function serveWall(
  req: IncomingMessage,
  res: ServerResponse,
  subpath: string,
  access: HttpAccess,
  settings: WallSettings,
  summaries: () => readonly StreamSummary[],
): void {
  withAccess(access, req, res, () => route(req, res, subpath, settings, summaries));
}
