import { corsOptionsFrom } from "../http/cors";
import { HttpError, sendError } from "../http/http-error";
import { middlewareFrom } from "../http/middleware";
import { type HttpNodeApp, type Registration, registerEndpoint } from "../http/router";
import { StreamEndpoint, type ViewerHost } from "../http/stream-endpoint";
import type { MediaInfo } from "../rtp/stream-info";
import { snapshotInputOf } from "../snapshot/snapshot-cache";
import { type SnapshotFrame, SnapshotTaker } from "../snapshot/snapshot-taker";
import {
  MaxViewersError,
  NoCommonCodecError,
  NoIceCandidateError,
  NoStreamError,
  TooManyFromAddressError,
} from "../webrtc/errors";
import type { IceSettings } from "../webrtc/ice-config";
import { type SharedPortLease, SharedPortLeases } from "../webrtc/shared-port-leases";
import type { StreamViewersOptions } from "../webrtc/stream-viewers";
import type { ViewerStats } from "../webrtc/viewer";
import type { StreamStats, ViewerSet } from "../webrtc/viewer-set";
import { accessUnitFrom, notMediaError, reportLimiter } from "./media-message";
import type { Node, NodeAPI, NodeDef, NodeStatus, TextValues } from "./red";
import { type CatalogText, codecLabel, describeRate } from "./text";
import {
  parseSiteSettings,
  parseWebrtcOutConfig,
  type SiteSettings,
  type WebrtcOutCredentials,
  type WebrtcOutDef,
  type WebrtcOutSettings,
} from "./webrtc-out-config";

/** The options the node builds its viewer set with (src/webrtc/stream-viewers.ts StreamViewers). */
export type ViewerSetOptions = Pick<
  StreamViewersOptions,
  | "maxViewers"
  | "ice"
  | "audio"
  | "fastStart"
  | "fallbackCodec"
  | "maxPendingPerAddress"
  | "maxViewersPerAddress"
  | "maxPacketSize"
>;

/** The stream half of a viewer set's stats, as far as the status line reads it. */
export type StreamStatsView = Partial<Pick<StreamStats, "codec" | "kbps" | "bFrames" | "audioRelayed">>;

/** The part of a viewer set (src/webrtc/viewer-set.ts) the node uses; the node test also drives it with fakes. */
export interface ViewerSetView
  extends ViewerHost,
    Pick<ViewerSet, "push" | "pushPacket" | "stream" | "size" | "close" | "on"> {
  stats(): { readonly stream: StreamStatsView; readonly viewers: readonly Partial<ViewerStats>[] };
  /** Its GOP cache's video (StreamViewers.videoSinceKeyframe), for P/snapshot.jpg; without it, no snapshot. */
  videoSinceKeyframe?(): { readonly media: MediaInfo; readonly frames: readonly SnapshotFrame[] } | undefined;
}

export type ViewerSetFactory = (options: ViewerSetOptions) => ViewerSetView;

const STATUS_INTERVAL_MS = 2000;
const BAD_INPUT_REPORT_INTERVAL_MS = 10_000;
/** A player page retries a refused offer with backoff: one "requested" event a second is plenty. */
const REQUESTED_EVENT_INTERVAL_MS = 1000;

/** Puts a key of the node's message catalog in words (RED._). */
export type Translate = (key: string, values?: TextValues) => string;

function viewerCount(count: number, text: Translate): string {
  return count === 1
    ? text("webrtc-out.status.one-viewer")
    : text("webrtc-out.status.viewers", { viewers: count });
}

/**
 * "3 viewers · H264 · 2.1 Mbps", with what is wrong appended; yellow with the reason when a viewer was
 * refused for something the user can fix (`refused`), or with `notice` (the shared ICE port could not
 * be had), which stays for as long as the node runs.
 */
export function statusFor(
  viewers: ViewerSetView,
  audio: boolean,
  text: Translate,
  refused?: CatalogText,
  notice?: CatalogText,
): NodeStatus {
  const stream = viewers.stream;
  const noticed = notice === undefined ? [] : [text(notice.key, notice.values)];
  if (!stream) {
    const parts = [text("webrtc-out.status.waiting")];
    if (viewers.size > 0) parts.push(viewerCount(viewers.size, text));
    return { fill: "yellow", shape: "ring", text: [...parts, ...noticed].join(" · ") };
  }
  const { stream: info } = viewers.stats();
  const video = stream.media.find((m) => m.kind === "video");
  const sound = stream.media.find((m) => m.kind === "audio");
  const parts = [viewerCount(viewers.size, text)];
  const codec = info.codec ?? video?.codec ?? sound?.codec;
  if (codec) parts.push(codec);
  if (typeof info.kbps === "number" && info.kbps > 0) parts.push(describeRate(info.kbps * 1000));
  if (audio && sound && (!sound.relayable || info.audioRelayed === false)) {
    parts.push(text("webrtc-out.status.audio-not-sent", { codec: codecLabel(sound.codec) }));
  }
  if (info.bFrames) parts.push(text("webrtc-out.status.b-frames"));
  if (refused) parts.push(text(refused.key, refused.values));
  parts.push(...noticed);
  return { fill: refused || notice ? "yellow" : "green", shape: "dot", text: parts.join(" · ") };
}

/** Why a viewer was refused, when the user can do something about it (the camera's codec, the limits). */
function fixableRefusal(err: unknown): CatalogText | undefined {
  if (err instanceof NoCommonCodecError) {
    const codecs = err.streamCodecs.length > 0 ? err.streamCodecs.join(", ") : "?";
    return { key: "webrtc-out.status.refused-codec", values: { codecs } };
  }
  if (err instanceof MaxViewersError) {
    return { key: "webrtc-out.status.refused-max-viewers", values: { max: err.maxViewers } };
  }
  if (err instanceof TooManyFromAddressError) {
    return { key: "webrtc-out.status.refused-per-address", values: { max: err.maxPerAddress } };
  }
  if (err instanceof NoIceCandidateError) return { key: "webrtc-out.status.no-candidate" };
  return undefined;
}

interface Served {
  readonly viewers: ViewerSetView;
}

function httpNodeOf(RED: NodeAPI): HttpNodeApp | undefined {
  const app = RED.httpNode as Partial<HttpNodeApp> | undefined;
  if (RED.settings?.httpNodeRoot === false) return undefined;
  return app && typeof app.use === "function" ? (app as HttpNodeApp) : undefined;
}

/**
 * The viewer set as the HTTP routes see it, telling the node why offers are refused. `onNoStream`: no
 * stream has arrived yet; a flow that pulls the camera only on demand starts it then, since no viewer
 * can join (and so no "joined" event comes) before it does. `onRefused`: refused for a reason the
 * user can fix, which the status then shows.
 */
function reportingRefusals(
  viewers: ViewerHost,
  onNoStream: () => void,
  onRefused: (why: CatalogText) => void,
  ready: Promise<unknown>,
): ViewerHost {
  return {
    addViewer: async (offerSdp, remoteAddress, vanilla, localAddresses) => {
      // The shared port is being opened (the node's first moments): a viewer takes it, not a port of its own.
      await ready;
      try {
        return await viewers.addViewer(offerSdp, remoteAddress, vanilla, localAddresses);
      } catch (err) {
        if (err instanceof NoStreamError) onNoStream();
        const fixable = fixableRefusal(err);
        if (fixable) onRefused(fixable);
        throw err;
      }
    },
    addLiveViewer: (remoteAddress, open) => {
      try {
        return viewers.addLiveViewer(remoteAddress, open);
      } catch (err) {
        if (err instanceof NoStreamError) onNoStream();
        const fixable = fixableRefusal(err);
        if (fixable) onRefused(fixable);
        throw err;
      }
    },
    viewerOf: (resource) => viewers.viewerOf(resource),
    takeEnded: (resource) => viewers.takeEnded(resource),
    addIceCandidates: (id, sdpfrag) => viewers.addIceCandidates(id, sdpfrag),
    removeViewer: (id) => viewers.removeViewer(id),
    stats: () => viewers.stats(),
  };
}

/** The process's one set of shared ICE ports, for every webrtc-out node of every flow. */
const processPorts = new SharedPortLeases();

/**
 * Registers the webrtc-out type, building each node's viewer set with `createViewers`; the nodes take
 * the shared ICE port from `ports` (by default the process's own).
 */
export function registerWebrtcOut(
  RED: NodeAPI,
  createViewers: ViewerSetFactory,
  ports: SharedPortLeases = processPorts,
): void {
  function WebrtcOutNode(this: Node<WebrtcOutCredentials>, def: NodeDef): void {
    RED.nodes.createNode(this as Node<never>, def);
    const settings = parseWebrtcOutConfig(def as WebrtcOutDef, this.credentials);
    const site = parseSiteSettings(RED.settings?.webrtcOut);
    const text: Translate = (key, values) => RED._(key, values);
    for (const problem of [...settings.problems, ...site.problems])
      this.warn(text(problem.key, problem.values));

    const served = serve(this, settings, site, text);
    const shouldReport = reportLimiter(BAD_INPUT_REPORT_INTERVAL_MS);

    this.on("input", (msg, _send, done) => {
      if (!served) {
        done();
        return;
      }
      if (Buffer.isBuffer(msg.payload)) {
        served.viewers.pushPacket(msg.payload);
        done();
        return;
      }
      const media = accessUnitFrom(msg);
      if (media) {
        served.viewers.push(media.unit, media.stream);
        done();
        return;
      }
      if (!shouldReport()) {
        done();
        return;
      }
      done(
        notMediaError(
          msg,
          {
            notMedia: "webrtc-out.errors.not-media",
            array: "webrtc-out.errors.payload-array",
            missing: "webrtc-out.errors.payload-missing",
            type: "webrtc-out.errors.payload-type",
          },
          text,
        ),
      );
    });
  }

  /** Claims the path and starts the viewer set; undefined (with the reason in the status) when it cannot. */
  function serve(
    node: Node<WebrtcOutCredentials>,
    settings: WebrtcOutSettings,
    site: SiteSettings,
    text: Translate,
  ): Served | undefined {
    if (!settings.path) {
      node.status({ fill: "red", shape: "dot", text: text("webrtc-out.status.invalid-path") });
      return undefined;
    }
    const httpNode = httpNodeOf(RED);
    if (!httpNode) {
      node.status({ fill: "red", shape: "dot", text: text("webrtc-out.status.no-http") });
      return undefined;
    }
    // Claimed first, served once the viewer set exists: nothing is built for a path that is taken. No
    // request can come in between: both happen in this same turn of the event loop.
    let endpoint: StreamEndpoint | undefined;
    const access = {
      cors: corsOptionsFrom(RED.settings?.httpNodeCors),
      middleware: middlewareFrom(RED.settings?.httpNodeMiddleware),
      nodeAuth: Boolean(RED.settings?.httpNodeAuth),
    };
    const registration: Registration = registerEndpoint(httpNode, settings.path, {
      handle: (req, res, subpath) => {
        if (endpoint) endpoint.handle(req, res, subpath);
        else
          sendError(res, new HttpError(503, "not ready", "this webrtc-out node could not start its viewers"));
      },
      describe: () => endpoint?.describe(),
      access,
      wall: { enabled: site.wall, frameAncestors: site.frameAncestors },
    });
    if (!("unregister" in registration)) {
      node.status({
        fill: "red",
        shape: "ring",
        text: text("webrtc-out.status.path-taken", { path: settings.path }),
      });
      node.warn(text("webrtc-out.warnings.path-taken", { path: settings.path }));
      return undefined;
    }
    // This node's own copy: the shared port is put into it once open.
    const ice: IceSettings = { ...settings.ice };
    let viewers: ViewerSetView;
    try {
      viewers = createViewers({
        maxViewers: settings.maxViewers,
        ice,
        audio: settings.audio,
        fastStart: settings.fastStart,
        fallbackCodec: settings.fallbackCodec,
        maxPendingPerAddress: settings.maxPendingPerAddress,
        maxViewersPerAddress: settings.maxViewersPerAddress,
        maxPacketSize: settings.maxPacketSize,
      });
    } catch (err) {
      registration.unregister();
      const reason = err instanceof Error ? err.message : String(err);
      node.status({ fill: "red", shape: "dot", text: text("webrtc-out.status.cannot-start", { reason }) });
      node.error(text("webrtc-out.errors.cannot-start", { reason }));
      return undefined;
    }
    let closing = false;
    // The last refusal the user can fix; the status stays yellow with it until a viewer joins.
    let refused: CatalogText | undefined;
    // Why there is no shared port although settings.js asks for one.
    let notice: CatalogText | undefined;
    const lease = leaseSharedPort(settings, site, ports);
    const ready = (lease?.ready ?? Promise.resolve(undefined)).then((outcome) => {
      if (outcome === undefined || closing) return;
      if (outcome.port !== undefined) {
        ice.sharedPort = outcome.port;
        // Candidates only where the shared port listens.
        if (site.iceBindAddress !== undefined && ice.interfaceAddresses?.udp4 === undefined)
          ice.interfaceAddresses = { udp4: site.iceBindAddress };
        return;
      }
      const port = site.icePort;
      notice = outcome.taken
        ? { key: "webrtc-out.status.port-taken", values: { port } }
        : { key: "webrtc-out.status.port-failed", values: { port } };
      node.warn(
        outcome.taken
          ? text("webrtc-out.warnings.port-taken", { port })
          : text("webrtc-out.warnings.port-failed", { port, reason: outcome.error.message }),
      );
      showStatus();
    });
    const mayWarnNoCandidate = reportLimiter(BAD_INPUT_REPORT_INTERVAL_MS);
    const mayRequest = reportLimiter(REQUESTED_EVENT_INTERVAL_MS);
    const requested = () => {
      if (closing || !mayRequest()) return;
      node.send({ topic: settings.topic, payload: { event: "requested", viewers: viewers.size } });
    };
    // Decoded from the viewer set's own GOP cache: no second copy of the stream is kept for it.
    const snapshots = viewers.videoSinceKeyframe
      ? new SnapshotTaker(
          () => {
            const video = viewers.videoSinceKeyframe?.();
            return video && snapshotInputOf(video.media, video.frames, viewers.stream?.id);
          },
          { ffmpegPath: site.ffmpegPath },
        )
      : undefined;
    endpoint = new StreamEndpoint({
      path: settings.path,
      ...(snapshots ? { snapshot: () => snapshots.take() } : {}),
      title: settings.title,
      viewers: reportingRefusals(
        viewers,
        requested,
        (why) => {
          refused = why;
          if (why.key === "webrtc-out.status.no-candidate" && mayWarnNoCandidate())
            node.warn(text("webrtc-out.warnings.no-candidate"));
          showStatus();
        },
        ready,
      ),
      iceServers: settings.ice.iceServers,
      viewerToken: settings.viewerToken,
      frameAncestors: site.frameAncestors,
      ...access,
    });

    let shown = "";
    const showStatus = () => {
      const status = statusFor(viewers, settings.audio, text, refused, notice);
      // Every status goes to every open editor: send changes only.
      const key = `${status.fill}|${status.text}`;
      if (key === shown) return;
      shown = key;
      node.status(status);
    };
    const statusTimer = setInterval(showStatus, STATUS_INTERVAL_MS);
    const statsTimer =
      settings.statsIntervalMs > 0
        ? setInterval(
            () => node.send({ topic: settings.topic, payload: { event: "stats", ...viewers.stats() } }),
            settings.statsIntervalMs,
          )
        : undefined;
    viewers.on("joined", (viewer) => {
      node.send({ topic: settings.topic, payload: { event: "joined", viewer, viewers: viewers.size } });
      refused = undefined;
      showStatus();
    });
    viewers.on("left", (viewer) => {
      node.send({ topic: settings.topic, payload: { event: "left", viewer, viewers: viewers.size } });
      showStatus();
    });
    showStatus();

    node.on("close", (_removed, done) => {
      closing = true;
      const snapshotEnded = snapshots?.close();
      clearInterval(statusTimer);
      clearInterval(statsTimer);
      registration.unregister();
      viewers
        .close()
        .catch((err: unknown) => {
          const reason = err instanceof Error ? err.message : String(err);
          node.warn(text("webrtc-out.warnings.closing", { reason }));
        })
        // After the viewers: the last node to close closes the shared port, with nothing left on it.
        .then(() => lease?.release())
        .then(() => snapshotEnded)
        .then(
          () => done(),
          () => done(),
        );
    });
    return { viewers };
  }

  /**
   * The shared ICE port for a node that uses one: settings.js names a port and the node has no UDP port
   * range of its own (a range keeps its per-viewer ports, for firewalls opened for that range).
   */
  function leaseSharedPort(
    settings: WebrtcOutSettings,
    site: SiteSettings,
    leases: SharedPortLeases,
  ): SharedPortLease | undefined {
    if (site.icePort === 0 || settings.ice.portRange !== undefined) return undefined;
    return leases.acquire({
      port: site.icePort,
      tcp: site.iceTcp,
      ...(site.iceBindAddress !== undefined ? { bindAddress: site.iceBindAddress } : {}),
    });
  }

  RED.nodes.registerType("webrtc-out", WebrtcOutNode as (this: Node<never>, def: NodeDef) => void, {
    credentials: {
      turnUser: { type: "text" },
      turnPassword: { type: "password" },
      viewerToken: { type: "password" },
    },
  });
}
