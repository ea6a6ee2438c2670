import type { IncomingMessage, ServerResponse } from "node:http";
import type { HttpAccess } from "./access";
import { sendError } from "./http-error";
import type { RequestHandler } from "./middleware";
import type { StreamSummary } from "./stream-summary";
import { serveWall, type WallSettings, wallSubpath } from "./wall";

export type { NextFunction, RequestHandler } from "./middleware";

/** The part of Node-RED's RED.httpNode (an Express app) the router needs. */
export interface HttpNodeApp {
  use(handler: RequestHandler): unknown;
}

/** What a live node serves under its path. `subpath` is "" for the path itself, else "/offer", "/whep/<id>"… */
export interface Endpoint {
  handle(req: IncomingMessage, res: ServerResponse, subpath: string): void;
  /** Its tile on the camera wall; an endpoint without it (or that answers undefined) is not on the wall. */
  describe?(): StreamSummary | undefined;
  /**
   * The httpNodeCors and httpNodeMiddleware its own routes run behind. The camera wall runs behind
   * the same; until an endpoint has told them, the router does not serve the wall.
   */
  readonly access?: HttpAccess;
  /** How the camera wall is served, from the same Node-RED settings: the latest registered says. */
  readonly wall?: WallSettings;
}

export type Registration = { readonly unregister: () => void } | { readonly conflict: true };

/** Each path segment: RFC 3986 unreserved characters, so a path needs no escaping in a URL. */
const SEGMENT = /^[A-Za-z0-9._~-]+$/;

/**
 * "/cam1" from "cam1", "/cam1/", " /site//door "; undefined when the path is empty or holds characters
 * outside letters, digits, "-", ".", "_", "~" and "/" (or "." / ".." segments).
 */
export function normalizeEndpointPath(input: string): string | undefined {
  const segments = input
    .trim()
    .split("/")
    .filter((segment) => segment !== "");
  if (segments.length === 0) return undefined;
  for (const segment of segments) {
    if (!SEGMENT.test(segment) || segment === "." || segment === "..") return undefined;
  }
  return `/${segments.join("/")}`;
}

/** A default path from a node's name: "Front door (4K)" → "/front-door-4k"; undefined when nothing is left. */
export function slugPath(name: string): string | undefined {
  const slug = name
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
  return slug ? `/${slug}` : undefined;
}

/**
 * Express matches paths case-insensitively by default; so do we, so "/Cam1" and "/cam1" collide. ASCII
 * only, which keeps the length: a match's subpath is cut from the request path at the same index.
 */
function routeKey(path: string): string {
  return path.replace(/[A-Z]/g, (letter) => letter.toLowerCase());
}

function requestPathname(req: IncomingMessage): string {
  const url = req.url ?? "/";
  const query = url.search(/[?#]/);
  const pathname = query >= 0 ? url.slice(0, query) : url;
  // Trailing slashes do not make another resource: "/cam1/" is the player page of "/cam1".
  return pathname.replace(/\/+$/, "");
}

/** Runs a request handler of ours; what it throws is answered as a JSON 500 (or its own status). */
function answer(res: ServerResponse, handle: () => void): void {
  try {
    handle();
  } catch (err) {
    sendError(res, err);
  }
}

interface Entry {
  readonly path: string;
  readonly endpoint: Endpoint;
}

/**
 * One per Node-RED process (per httpNode app): mounted once, it never changes Express's own route
 * table. Nodes come and go by adding and removing entries in a Map; a request for a path no live node
 * holds passes on to the rest of httpNode (http-in routes, 404).
 *
 * The camera wall (GET /webrtc, GET /webrtc/streams) is served by this same router, after the nodes,
 * unless Node-RED's settings switch it off (then those paths pass on like any other):
 * a webrtc-out whose path is "webrtc" (or "webrtc/streams") wins over it, as its player page was
 * there first. It runs behind the httpNodeCors and httpNodeMiddleware the endpoints told at their
 * registration (they all come from the same Node-RED settings), and stays served, empty, after the
 * last node is removed.
 */
class EndpointRouter {
  private readonly entries = new Map<string, Entry>();
  private access: HttpAccess | undefined;
  private wall: WallSettings = { enabled: true, frameAncestors: [] };

  readonly handler: RequestHandler = (req, res, next) => {
    if (this.entries.size === 0 && this.access === undefined) {
      next();
      return;
    }
    const pathname = requestPathname(req);
    const match = this.match(pathname);
    if (match) {
      answer(res, () => match.entry.endpoint.handle(req, res, match.subpath));
      return;
    }
    const access = this.access;
    const wall = access && this.wall.enabled ? wallSubpath(pathname) : undefined;
    if (!access || wall === undefined) {
      next();
      return;
    }
    const settings = this.wall;
    answer(res, () => serveWall(req, res, wall, access, settings, () => this.summaries()));
  };

  register(path: string, endpoint: Endpoint): Registration {
    const key = routeKey(path);
    if (this.entries.has(key)) return { conflict: true };
    const entry: Entry = { path, endpoint };
    this.entries.set(key, entry);
    if (endpoint.access) this.access = endpoint.access;
    if (endpoint.wall) this.wall = endpoint.wall;
    return {
      unregister: () => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
      },
    };
  }

  paths(): string[] {
    return [...this.entries.values()].map((entry) => entry.path);
  }

  /** The wall's tiles. An endpoint that fails to describe itself is left off rather than failing the wall. */
  private summaries(): StreamSummary[] {
    const summaries: StreamSummary[] = [];
    for (const { path, endpoint } of this.entries.values()) {
      try {
        const summary = endpoint.describe?.();
        if (summary) summaries.push({ ...summary, path });
      } catch {
        // Its own routes report what is wrong with it; the wall shows the others.
      }
    }
    return summaries;
  }

  /** The longest registered path that is the request path or one of its leading segment runs. */
  private match(pathname: string): { entry: Entry; subpath: string } | undefined {
    const lower = routeKey(pathname);
    let candidate = lower;
    while (candidate.length > 0) {
      const entry = this.entries.get(candidate);
      if (entry) return { entry, subpath: pathname.slice(candidate.length) };
      candidate = candidate.slice(0, candidate.lastIndexOf("/"));
    }
    return undefined;
  }
}

const routers = new WeakMap<HttpNodeApp, EndpointRouter>();

function routerFor(httpNode: HttpNodeApp): EndpointRouter {
  let router = routers.get(httpNode);
  if (!router) {
    router = new EndpointRouter();
    httpNode.use(router.handler);
    routers.set(httpNode, router);
  }
  return router;
}

/**
 * Serves `endpoint` at `path` (already normalised) and below it, on the router of `httpNode`; mounts
 * that router on first use. `{ conflict: true }` when another live endpoint holds the path.
 */
export function registerEndpoint(httpNode: HttpNodeApp, path: string, endpoint: Endpoint): Registration {
  return routerFor(httpNode).register(path, endpoint);
}

/** The paths live on `httpNode` now: a redeploy must leave none behind. */
export function registeredPaths(httpNode: HttpNodeApp): string[] {
  return routers.get(httpNode)?.paths() ?? [];
}
