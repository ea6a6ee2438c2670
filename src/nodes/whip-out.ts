import type { WhipStateEvent } from "../whip/publisher";
import { WhipPublisher } from "../whip/publisher";
import { accessUnitFrom, reportLimiter } from "./media-message";
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeStatus, TextValues } from "./red";
import { redact } from "./redact";
import { describeRate } from "./text";
import { parseWhipOutConfig, type WhipOutCredentials, type WhipOutDef } from "./whip-out-config";

type Translate = (key: string, values?: TextValues) => string;

const STATUS_INTERVAL_MS = 2000;
const BAD_INPUT_REPORT_INTERVAL_MS = 10_000;

function register(RED: NodeAPI): void {
  function WhipOutNode(this: Node<WhipOutCredentials>, def: NodeDef): void {
    RED.nodes.createNode(this as Node<never>, def);
    const text: Translate = (key, values) => RED._(key, values);
    const settings = parseWhipOutConfig(def as WhipOutDef, this.credentials);
    const safe = (line: string): string => redact(line, ...settings.secrets);
    const { topic } = settings;
    for (const warning of settings.warnings) this.warn(`${topic}: ${text(warning.key, warning.values)}`);
    const shouldReport = reportLimiter(BAD_INPUT_REPORT_INTERVAL_MS);

    let statusTimer: NodeJS.Timeout | undefined;
    let publisher: WhipPublisher | undefined;
    let lastLoggedReason: string | undefined;

    this.on("close", (_removed, done) => {
      clearInterval(statusTimer);
      const closing = publisher?.close() ?? Promise.resolve();
      closing.then(
        () => done(),
        () => done(),
      );
    });

    if (settings.problem !== undefined || settings.endpoint === undefined) {
      const problem = settings.problem ?? { key: "whip-out.status.no-endpoint" };
      this.status({ fill: "red", shape: "dot", text: text(problem.key, problem.values) });
      this.on("input", (_msg, _send, done) => done());
      return;
    }

    const p = new WhipPublisher({
      endpoint: settings.endpoint,
      ...(settings.token !== undefined ? { token: settings.token } : {}),
      iceServers: settings.iceServers,
    });
    publisher = p;
    let waitingForStream = true;

    p.on("state", (event) => {
      clearInterval(statusTimer);
      statusTimer = undefined;
      this.status(statusFor(event, settings.host, safe, text));
      if (event.state === "publishing") {
        statusTimer = setInterval(
          () =>
            this.status({
              fill: "green",
              shape: "dot",
              text: publishingText(text, settings.host, event.media, describeRate(p.bitrateBps)),
            }),
          STATUS_INTERVAL_MS,
        );
      }
      const reason = event.reason === undefined ? undefined : safe(event.reason);
      if (event.state === "retrying" && reason !== undefined && reason !== lastLoggedReason) {
        this.warn(`${topic}: ${text("whip-out.errors.publish-failed", { host: settings.host, reason })}`);
      } else if (event.state === "error" && reason !== undefined) {
        this.error(`${topic}: ${reason}`);
      }
      if (event.state === "publishing" || event.state === "stopped") lastLoggedReason = undefined;
      else if (reason !== undefined) lastLoggedReason = reason;
      this.send(stateMessage(topic, event, safe));
    });

    this.on("input", (msg, _send, done) => {
      const media = accessUnitFrom(msg);
      if (media) {
        waitingForStream = false;
        p.push(media.unit, media.stream);
        done();
        return;
      }
      const command = typeof msg.payload === "string" ? msg.payload.trim().toLowerCase() : "";
      if (command === "start") {
        start();
        done();
      } else if (command === "stop") {
        p.stop().then(
          () => done(),
          () => done(),
        );
      } else if (Buffer.isBuffer(msg.payload)) {
        done(shouldReport() ? new Error(text("whip-out.errors.packet")) : undefined);
      } else {
        done(
          new Error(
            text("whip-out.errors.unknown-command", { command: String(JSON.stringify(msg.payload)) }),
          ),
        );
      }
    });

    // Nothing is offered before the stream's first message says what it carries.
    const start = (): void => {
      const wasRunning = p.state.state !== "stopped";
      p.start();
      if (!wasRunning && waitingForStream && p.state.state === "stopped")
        this.status({ fill: "grey", shape: "ring", text: text("whip-out.status.waiting-stream") });
    };

    if (settings.startOnDeploy) start();
    else this.status({ fill: "grey", shape: "ring", text: text("whip-out.status.waiting-command") });
  }

  RED.nodes.registerType("whip-out", WhipOutNode as (this: Node<never>, def: NodeDef) => void, {
    credentials: {
      token: { type: "password" },
      turnUser: { type: "text" },
      turnPassword: { type: "password" },
    },
  });
}

/** "publishing to host · media · rate", the parts that are known. */
function publishingText(text: Translate, host: string, media?: string, rate?: string): string {
  return [text("whip-out.status.publishing", { host }), media, rate].filter(Boolean).join(" · ");
}

function statusFor(
  event: WhipStateEvent,
  host: string,
  safe: (text: string) => string,
  text: Translate,
): NodeStatus {
  const reason = event.reason ? safe(event.reason) : "";
  switch (event.state) {
    case "connecting":
      return { fill: "yellow", shape: "ring", text: text("whip-out.status.connecting", { host }) };
    case "publishing":
      return {
        fill: "green",
        shape: "dot",
        text: publishingText(text, host, event.media),
      };
    case "retrying":
      return {
        fill: "red",
        shape: "ring",
        text: text("whip-out.status.retrying", {
          seconds: Math.max(1, Math.round((event.retryInMs ?? 0) / 1000)),
          reason,
        }),
      };
    case "error":
      return { fill: "red", shape: "dot", text: reason || text("whip-out.status.error") };
    default:
      return { fill: "grey", shape: "ring", text: text("whip-out.status.stopped") };
  }
}

function stateMessage(topic: string, event: WhipStateEvent, safe: (text: string) => string): NodeMessage {
  const payload: Record<string, unknown> = { state: event.state };
  if (event.reason) payload.reason = safe(event.reason);
  if (event.code) payload.code = event.code;
  if (event.retryInMs !== undefined) payload.retryInMs = event.retryInMs;
  if (event.media) payload.media = event.media;
  if (event.codecs) payload.codecs = event.codecs;
  return { topic, payload };
}

export = register;
