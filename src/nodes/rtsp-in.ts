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
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeStatus } from "./red";
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

const STATUS_INTERVAL_MS = 2000;
const PLAINTEXT_PASSWORD =
  "the camera asked for Basic authentication over rtsp://: the password travels unencrypted; use rtsps:// or Digest";
const PLAINTEXT_STATUS = "password sent unencrypted (Basic over rtsp://)";
const COMMANDS = new Set(["start", "stop", "restart"]);

function register(RED: NodeAPI): void {
  function RtspInNode(this: Node<RtspInCredentials>, def: NodeDef): void {
    RED.nodes.createNode(this as Node<never>, def);
    const config = def as RtspInConfig;
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
    let statusTimer: NodeJS.Timeout | undefined;

    // Set once the camera took the password in clear; the playing status keeps saying so.
    let plaintextPassword = false;
    const playingNotes = (text: string) => (plaintextPassword ? `${text} · ${PLAINTEXT_STATUS}` : text);

    const showPlaying = () => {
      const stream = source.stream;
      const rate = source.sampleStats();
      this.status({
        fill: "green",
        shape: "dot",
        text: playingNotes(playingText(stream, source.videoSize, rate.bitrateBps)),
      });
    };

    source.on("state", (event) => {
      clearInterval(statusTimer);
      statusTimer = undefined;
      const status = statusFor(event, safe);
      this.status(
        event.state === "playing" ? { ...status, text: playingNotes(String(status.text)) } : status,
      );
      if (event.state === "playing") {
        source.sampleStats();
        statusTimer = setInterval(showPlaying, STATUS_INTERVAL_MS);
      }
      if (event.reason && event.reason !== lastLoggedReason) {
        this.warn(`${topic}: ${safe(event.reason)}`);
      }
      lastLoggedReason = event.reason;
      this.send([null, stateMessage(topic, event, safe)]);
    });

    // Said once per deploy: every reconnect sends the password the same way, and the log would fill up.
    source.on("plaintextPassword", () => {
      if (plaintextPassword) return;
      plaintextPassword = true;
      this.warn(`${topic}: ${PLAINTEXT_PASSWORD}`);
    });

    source.on("frame", (unit: AccessUnit, stream: StreamInfo) => {
      this.send([mediaMessage(topic, unit, stream), null]);
    });

    this.on("input", (msg, _send, done) => {
      const command = typeof msg.payload === "string" ? msg.payload.trim().toLowerCase() : "";
      if (!COMMANDS.has(command)) {
        done(new Error(`unknown command ${JSON.stringify(msg.payload)}: send "start", "stop" or "restart"`));
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
      this.status({ fill: "red", shape: "dot", text: "no camera URL: open the node and paste one" });
      return;
    }
    if (pinText !== "" && pin === undefined) {
      this.status({
        fill: "red",
        shape: "dot",
        text: "certificate fingerprint: give the 32 bytes of a SHA-256 in hex",
      });
      this.error(
        `${topic}: the certificate fingerprint is not a SHA-256 fingerprint (32 bytes in hex, AB:CD:…); the node does not connect`,
      );
      return;
    }
    if (connectTo.missing.length > 0) {
      const names = connectTo.missing.map((name) => `${name}=`).join(", ");
      this.status({ fill: "red", shape: "dot", text: `no stored value for ${names} in the URL` });
      this.error(
        `${topic}: the URL's ${names} has no value in the credentials; open this node, type it into the URL again and click Done; the node does not connect`,
      );
      return;
    }
    const writtenOut = querySecretsIn(url).map((pair) => pair.slice(0, pair.indexOf("=") + 1));
    if (writtenOut.length > 0) {
      this.warn(
        `${topic}: the URL's ${writtenOut.join(", ")} holds a secret, saved in plain text in the flow file and in every export; open this node and click Done to move it into the encrypted credentials`,
      );
    }
    if (urlPassword !== undefined) {
      this.warn(
        `${topic}: the URL holds a password, saved in plain text in the flow file and in every export; open this node and click Done to move it into the encrypted credentials`,
      );
    }
    if (isDemoCameraUrl(connectTo.url)) {
      demoCamera = sharedDemoCamera.acquire();
      void demoCamera.then((lease) => {
        if (lease.startedHere) announceDemoCamera(this, RED, lease.outcome);
      });
    }
    if (config.startMode === "command") {
      this.status({ fill: "grey", shape: "ring", text: 'stopped: send "start" to connect' });
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

function statusFor(event: StateEvent, safe: (text: string) => string): NodeStatus {
  const reason = event.reason ? safe(event.reason) : "";
  switch (event.state) {
    case "connecting":
      return {
        fill: "yellow",
        shape: "ring",
        text: `connecting (${event.transport?.toUpperCase() ?? "TCP"})…`,
      };
    case "playing":
      return { fill: "green", shape: "dot", text: playingText(event.stream, undefined, 0) };
    case "retrying":
      return {
        fill: "red",
        shape: "ring",
        text: `retry in ${Math.max(1, Math.round((event.retryInMs ?? 0) / 1000))} s: ${reason}`,
      };
    case "error":
      return { fill: "red", shape: "dot", text: reason || "error" };
    default:
      return { fill: "grey", shape: "ring", text: "stopped" };
  }
}

function playingText(
  stream: StreamInfo | undefined,
  size: { width: number; height: number } | undefined,
  bitrateBps: number,
): string {
  const video = stream?.media.find((m) => m.kind === "video");
  const audio = stream?.media.find((m) => m.kind === "audio");
  const parts = [`playing ${video?.codec ?? audio?.codec ?? ""}`.trim()];
  const width = size?.width ?? video?.width;
  const height = size?.height ?? video?.height;
  if (width && height) parts[0] += ` ${width}x${height}`;
  if (bitrateBps > 0) parts.push(describeRate(bitrateBps));
  if (audio && !audio.relayable) parts.push(`${codecLabel(audio.codec)} audio not relayable to browsers`);
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
