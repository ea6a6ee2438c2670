import {
  type DemoCameraLease,
  type DemoCameraOutcome,
  isDemoCameraUrl,
  sharedDemoCamera,
} from "../demo/shared-demo-camera";
import type { AccessUnit, StreamInfo } from "../rtp/stream-info";
import { querySecretsIn, restoreQuerySecrets, secretValues } from "../rtsp/query-secrets";
import type { MediaSelection } from "../rtsp/session";
import { RtspSource, type SourceTransport, type StateEvent } from "../rtsp/source";
import { parseFingerprint } from "../rtsp/tls-options";
import { parseRtspUrl } from "../rtsp/url";
import { mediaMessage } from "./media-message";
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeStatus, TextValues } from "./red";
import { redact } from "./redact";
import { codecLabel, describeRate, USER_AGENT } from "./text";

interface RtspInConfig extends NodeDef {
  url?: string;
  transport?: SourceTransport;
  media?: MediaSelection;
  startMode?: "deploy" | "command";
  /** rtsps://: accept a certificate no trusted authority signed. */
  tlsAcceptSelfSigned?: boolean;
  /** rtsps://: SHA-256 fingerprint of the one certificate to accept. */
  tlsFingerprint?: string;
  /** Written by versions before tlsAcceptSelfSigned: false meant the same as tlsAcceptSelfSigned true. */
  rejectUnauthorized?: boolean;
}

interface RtspInCredentials {
  user?: string;
  password?: string;
  /** The secret query parameters of the URL ("token=…&key=…"), which the flow's URL holds as "***". */
  urlSecrets?: string;
}

type Translate = (key: string, values?: TextValues) => string;

const STATUS_INTERVAL_MS = 2000;
const COMMANDS = new Set(["start", "stop", "restart"]);

function register(RED: NodeAPI): void {
  function RtspInNode(this: Node<RtspInCredentials>, def: NodeDef): void {
    RED.nodes.createNode(this as Node<never>, def);
    const config = def as RtspInConfig;
    const text: Translate = (key, values) => RED._(key, values);
    const url = (config.url ?? "").trim();
    const user = this.credentials?.user || undefined;
    const password = this.credentials?.password || undefined;
    const urlPassword = safeUrlPassword(url);
    // The flow's URL holds "***" for the secret query parameters the editor moved into the credentials.
    const connectTo = restoreQuerySecrets(url, this.credentials?.urlSecrets);
    const querySecrets = secretValues(querySecretsIn(connectTo.url));
    const safe = (text: string) => redact(text, password, urlPassword, ...querySecrets);
    const topic = config.name || safe(url) || "rtsp-in";
    const pinText = (config.tlsFingerprint ?? "").trim();
    const pin = pinText === "" ? undefined : parseFingerprint(pinText);

    const source = new RtspSource({
      url: connectTo.url,
      username: user,
      password,
      transport: config.transport ?? "tcp",
      media: config.media ?? "both",
      userAgent: USER_AGENT,
      connectTimeoutMs: 10_000,
      replyTimeoutMs: 10_000,
      // Checked every 250 ms: 8 s keeps "detected within 10 s" with room for a loaded machine.
      noMediaTimeoutMs: 8_000,
      rejectUnauthorized: !(config.tlsAcceptSelfSigned === true || config.rejectUnauthorized === false),
      certificateFingerprint: pin,
    });

    // On the examples' URL the package runs its bundled camera; the source acts once that camera listens.
    let demoCamera: Promise<DemoCameraLease> | undefined;
    let closed = false;
    const whenCameraReady = (action: () => void): void => {
      if (!demoCamera) {
        action();
        return;
      }
      void demoCamera.then(() => {
        if (!closed) action();
      });
    };

    let lastLoggedReason: string | undefined;
    // Played since the node started, was stopped, or last raised the alarm.
    let played = false;
    let statusTimer: NodeJS.Timeout | undefined;

    // Set once the camera took the password in clear; the playing status keeps saying so.
    let plaintextPassword = false;
    const playingNotes = (playing: string) =>
      plaintextPassword ? `${playing} · ${text("rtsp-in.warnings.password-unencrypted-status")}` : playing;
    // A Catch node's alarm: one error when the camera stops playing (or never starts), none for the
    // retries that follow; playing again, or a stop, arms it again.
    let alarmArmed = true;

    const showPlaying = () => {
      const stream = source.stream;
      const rate = source.sampleStats();
      this.status({
        fill: "green",
        shape: "dot",
        text: playingNotes(playingText(stream, source.videoSize, rate.bitrateBps, text)),
      });
    };

    source.on("state", (event) => {
      clearInterval(statusTimer);
      statusTimer = undefined;
      const status = statusFor(event, safe, text);
      this.status(
        event.state === "playing" ? { ...status, text: playingNotes(String(status.text)) } : status,
      );
      if (event.state === "playing") {
        source.sampleStats();
        statusTimer = setInterval(showPlaying, STATUS_INTERVAL_MS);
      }
      const message = stateMessage(topic, event, safe);
      const failing = event.state === "retrying" || event.state === "error";
      if (failing && alarmArmed) {
        const reason = event.reason ? safe(event.reason) : text("rtsp-in.status.error");
        const key = played ? "rtsp-in.errors.stopped-playing" : "rtsp-in.errors.cannot-play";
        // Said once here; the warning below would say the same reason again.
        this.error(`${topic}: ${text(key, { reason })}`, { ...message });
      } else if (event.reason && event.reason !== lastLoggedReason) {
        this.warn(`${topic}: ${safe(event.reason)}`);
      }
      if (failing) {
        alarmArmed = false;
        played = false;
      } else if (event.state === "playing" || event.state === "stopped") {
        alarmArmed = true;
        played = event.state === "playing";
      }
      lastLoggedReason = event.reason;
      this.send([null, message]);
    });

    // Said once per deploy: every reconnect sends the password the same way, and the log would fill up.
    source.on("plaintextPassword", () => {
      if (plaintextPassword) return;
      plaintextPassword = true;
      this.warn(`${topic}: ${text("rtsp-in.warnings.password-unencrypted")}`);
    });

    source.on("frame", (unit: AccessUnit, stream: StreamInfo) => {
      this.send([mediaMessage(topic, unit, stream), null]);
    });

    this.on("input", (msg, _send, done) => {
      const command = typeof msg.payload === "string" ? msg.payload.trim().toLowerCase() : "";
      if (!COMMANDS.has(command)) {
        done(
          new Error(text("rtsp-in.errors.unknown-command", { command: String(JSON.stringify(msg.payload)) })),
        );
        return;
      }
      whenCameraReady(() => {
        if (command === "start") source.start();
        else if (command === "stop") void source.stop();
        else void source.restart();
      });
      done();
    });

    this.on("close", (_removed, done) => {
      closed = true;
      clearInterval(statusTimer);
      source
        .close()
        .then(() => demoCamera?.then((lease) => lease.release()))
        .then(
          () => done(),
          () => done(),
        );
    });

    if (!url) {
      this.status({ fill: "red", shape: "dot", text: text("rtsp-in.status.no-url") });
      return;
    }
    if (pinText !== "" && pin === undefined) {
      this.status({ fill: "red", shape: "dot", text: text("rtsp-in.status.bad-fingerprint") });
      this.error(`${topic}: ${text("rtsp-in.errors.bad-fingerprint")}`);
      return;
    }
    if (connectTo.missing.length > 0) {
      const names = connectTo.missing.map((name) => `${name}=`).join(", ");
      this.status({ fill: "red", shape: "dot", text: text("rtsp-in.status.secret-missing", { names }) });
      this.error(`${topic}: ${text("rtsp-in.errors.secret-missing", { names })}`);
      return;
    }
    const writtenOut = querySecretsIn(url).map((pair) => pair.slice(0, pair.indexOf("=") + 1));
    if (writtenOut.length > 0) {
      this.warn(`${topic}: ${text("rtsp-in.warnings.secret-in-url", { names: writtenOut.join(", ") })}`);
    }
    if (urlPassword !== undefined) {
      this.warn(`${topic}: ${text("rtsp-in.warnings.password-in-url")}`);
    }
    if (isDemoCameraUrl(connectTo.url)) {
      demoCamera = sharedDemoCamera.acquire();
      void demoCamera.then((lease) => {
        if (lease.startedHere) announceDemoCamera(this, RED, lease.outcome);
      });
    }
    if (config.startMode === "command") {
      this.status({ fill: "grey", shape: "ring", text: text("rtsp-in.status.waiting") });
    } else {
      whenCameraReady(() => source.start());
    }
  }

  RED.nodes.registerType("rtsp-in", RtspInNode as (this: Node<never>, def: NodeDef) => void, {
    credentials: {
      user: { type: "text" },
      password: { type: "password" },
      urlSecrets: { type: "password" },
    },
  });
}

/** Said by the node whose claim started the demo camera, or found its port taken: once per start. */
function announceDemoCamera(node: Node<RtspInCredentials>, RED: NodeAPI, outcome: DemoCameraOutcome): void {
  const { url } = outcome;
  if (outcome.kind === "bundled") node.log(RED._("rtsp-in.demo-camera.started", { url }));
  if (outcome.kind === "port-taken") node.log(RED._("rtsp-in.demo-camera.port-taken", { url }));
  if (outcome.kind === "failed")
    node.warn(RED._("rtsp-in.demo-camera.failed", { url, reason: outcome.reason }));
}

function statusFor(event: StateEvent, safe: (text: string) => string, text: Translate): NodeStatus {
  const reason = event.reason ? safe(event.reason) : "";
  switch (event.state) {
    case "connecting":
      return {
        fill: "yellow",
        shape: "ring",
        text: text("rtsp-in.status.connecting", { transport: event.transport?.toUpperCase() ?? "TCP" }),
      };
    case "playing":
      return { fill: "green", shape: "dot", text: playingText(event.stream, undefined, 0, text) };
    case "retrying":
      return {
        fill: "red",
        shape: "ring",
        text: text("rtsp-in.status.retrying", {
          seconds: Math.max(1, Math.round((event.retryInMs ?? 0) / 1000)),
          reason,
        }),
      };
    case "error":
      return { fill: "red", shape: "dot", text: reason || text("rtsp-in.status.error") };
    default:
      return { fill: "grey", shape: "ring", text: text("rtsp-in.status.stopped") };
  }
}

function playingText(
  stream: StreamInfo | undefined,
  size: { width: number; height: number } | undefined,
  bitrateBps: number,
  text: Translate,
): string {
  const video = stream?.media.find((m) => m.kind === "video");
  const audio = stream?.media.find((m) => m.kind === "audio");
  const width = size?.width ?? video?.width;
  const height = size?.height ?? video?.height;
  const detail = [video?.codec ?? audio?.codec, width && height ? `${width}x${height}` : undefined];
  const parts = [text("rtsp-in.status.playing", { detail: detail.filter(Boolean).join(" ") }).trim()];
  if (bitrateBps > 0) parts.push(describeRate(bitrateBps));
  if (audio && !audio.relayable) {
    parts.push(text("rtsp-in.status.not-relayable", { codec: codecLabel(audio.codec) }));
  }
  return parts.join(" · ");
}

function stateMessage(topic: string, event: StateEvent, safe: (text: string) => string): NodeMessage {
  const payload: Record<string, unknown> = { state: event.state };
  if (event.reason) payload.reason = safe(event.reason);
  if (event.retryInMs !== undefined) payload.retryInMs = event.retryInMs;
  if (event.transport) payload.transport = event.transport;
  return { topic, payload, stream: event.stream };
}

function safeUrlPassword(url: string): string | undefined {
  try {
    return parseRtspUrl(url).password;
  } catch {
    return undefined; // the source reports the bad URL through its state
  }
}

export = register;
