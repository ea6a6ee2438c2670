import { SnapshotError } from "../snapshot/errors";
import { findExecutable } from "../snapshot/executable";
import { SnapshotCache } from "../snapshot/snapshot-cache";
import { type Snapshot, SnapshotTaker } from "../snapshot/snapshot-taker";
import { accessUnitFrom, reportLimiter } from "./media-message";
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeStatus, TextValues } from "./red";
import { parseSnapshotConfig, type SnapshotDef, type SnapshotNodeSettings } from "./snapshot-config";
import { codecLabel } from "./text";

const STATUS_INTERVAL_MS = 1000;
const BAD_INPUT_REPORT_INTERVAL_MS = 10_000;

type Translate = (key: string, values?: TextValues) => string;

/** What the status shows of the last snapshot: its size, or why it failed. */
type Outcome =
  | { readonly ok: true; readonly width: number; readonly height: number }
  | { readonly ok: false; readonly error: SnapshotError };

/** A snapshot failure in the runtime's language; the catalog's key per SnapshotError code. */
function describeFailure(err: SnapshotError, settings: SnapshotNodeSettings, text: Translate): string {
  switch (err.code) {
    case "ffmpeg-missing":
      return text("snapshot.errors.ffmpeg-missing", { path: settings.ffmpegPath });
    case "no-keyframe":
      return text("snapshot.errors.no-keyframe");
    case "timeout":
      return text("snapshot.errors.timeout", { seconds: settings.timeoutMs / 1000 });
    case "busy":
      return text("snapshot.errors.busy");
    case "closed":
      return text("snapshot.errors.closed");
    default:
      return text("snapshot.errors.decode-failed", { detail: err.message });
  }
}

function register(RED: NodeAPI): void {
  function SnapshotNode(this: Node, def: NodeDef): void {
    RED.nodes.createNode(this as Node<never>, def);
    const settings = parseSnapshotConfig(def as SnapshotDef);
    const text: Translate = (key, values) => RED._(key, values);
    for (const problem of settings.problems) this.warn(text(problem.key, problem.values));
    const cache = new SnapshotCache();
    const taker = new SnapshotTaker(() => cache.input(), {
      ffmpegPath: settings.ffmpegPath,
      quality: settings.quality,
      maxWidth: settings.maxWidth,
      timeoutMs: settings.timeoutMs,
    });
    const shouldReport = reportLimiter(BAD_INPUT_REPORT_INTERVAL_MS);
    // Known at deploy, so the status says so before anyone asks for a picture.
    let outcome: Outcome | undefined = findExecutable(settings.ffmpegPath)
      ? undefined
      : { ok: false, error: new SnapshotError("ffmpeg-missing", "") };
    let closed = false;

    let shown = "";
    const showStatus = () => {
      const status = statusOf(cache, outcome, text);
      const key = `${status.fill}|${status.shape}|${status.text}`;
      if (key === shown) return;
      shown = key;
      this.status(status);
    };
    const statusTimer = setInterval(showStatus, STATUS_INTERVAL_MS);

    const answer = (msg: NodeMessage, snapshot: Snapshot) => {
      this.send({
        ...msg,
        payload: snapshot.jpeg,
        snapshot: {
          width: snapshot.width,
          height: snapshot.height,
          frameAgeMs: Math.round(snapshot.frameAgeMs),
          decodeMs: Math.round(snapshot.decodeMs),
          stream: snapshot.stream,
        },
      });
    };

    this.on("input", (msg, _send, done) => {
      const media = accessUnitFrom(msg);
      if (media) {
        cache.push(media.unit, media.stream);
        done();
        return;
      }
      if (Buffer.isBuffer(msg.payload)) {
        // A udp in's packets would each ask for a snapshot: say what is wrong, now and then.
        done(shouldReport() ? new Error(text("snapshot.errors.packet")) : undefined);
        return;
      }
      taker.take().then(
        (snapshot) => {
          outcome = { ok: true, width: snapshot.width, height: snapshot.height };
          showStatus();
          answer(msg, snapshot);
          done();
        },
        (err: unknown) => {
          if (closed) {
            done();
            return;
          }
          if (err instanceof SnapshotError) {
            outcome = { ok: false, error: err };
            showStatus();
            done(new Error(describeFailure(err, settings, text)));
          } else done(err instanceof Error ? err : new Error(String(err)));
        },
      );
    });

    this.on("close", (_removed, done) => {
      closed = true;
      clearInterval(statusTimer);
      // After its ffmpeg has ended: a redeploy finds none of this node's processes left.
      taker.close().then(
        () => done(),
        () => done(),
      );
    });
    showStatus();
  }

  RED.nodes.registerType("snapshot", SnapshotNode as (this: Node<never>, def: NodeDef) => void);
}

/** "ready · 1280x720", or what is missing. */
function statusOf(cache: SnapshotCache, outcome: Outcome | undefined, text: Translate): NodeStatus {
  if (outcome?.ok === false && outcome.error.code === "ffmpeg-missing") {
    return { fill: "red", shape: "ring", text: text("snapshot.status.ffmpeg-missing") };
  }
  const state = cache.state;
  switch (state.state) {
    case "no-stream":
      return { fill: "grey", shape: "ring", text: text("snapshot.status.no-stream") };
    case "no-video":
      return {
        fill: "red",
        shape: "ring",
        text: text("snapshot.status.no-video", { codecs: state.codecs.map(codecLabel).join(", ") || "–" }),
      };
    case "waiting":
      return { fill: "yellow", shape: "ring", text: text("snapshot.status.waiting") };
    default: {
      // A request that came too soon or too many at once says so in its error; the status stays ready.
      const code = outcome?.ok === false ? outcome.error.code : undefined;
      if (code === "timeout" || code === "decode-failed") {
        const why = text(code === "timeout" ? "snapshot.status.timeout" : "snapshot.status.decode-failed");
        return { fill: "yellow", shape: "dot", text: why };
      }
      const width = outcome?.ok ? outcome.width : state.width;
      const height = outcome?.ok ? outcome.height : state.height;
      const ready = text("snapshot.status.ready");
      return {
        fill: "green",
        shape: "dot",
        text: width !== undefined && height !== undefined ? `${ready} · ${width}x${height}` : ready,
      };
    }
  }
}

export = register;
