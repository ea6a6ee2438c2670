import { type GateCause, RtpFanout } from "../fanout/fanout";
import { PacketInput } from "../rtp/packet-input";
import type { AccessUnit, StreamInfo } from "../rtp/stream-info";
import { accessUnitFrom, mediaMessage, notMediaError, reportLimiter } from "./media-message";
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeStatus, TextValues } from "./red";
import { parseRtpFanoutConfig, type RtpFanoutDef } from "./rtp-fanout-config";
import type { CatalogText } from "./text";

const STATUS_INTERVAL_MS = 2000;
/** No frame for this long: the status says the input stopped. */
const STALLED_AFTER_MS = 5000;
const BAD_INPUT_REPORT_INTERVAL_MS = 10_000;

type Command = { open: boolean; outputs: number[]; seconds?: number } | { error: CatalogText };
type Translate = (key: string, values?: TextValues) => string;

/** A gate command: msg.topic "open"/"close", msg.output 1..N, a list of them, or none for all. */
function commandFrom(msg: NodeMessage, count: number): Command | undefined {
  const topic = typeof msg.topic === "string" ? msg.topic.trim().toLowerCase() : "";
  if (topic !== "open" && topic !== "close") return undefined;
  const wanted = msg.output;
  let outputs: number[];
  if (wanted === undefined || wanted === null || wanted === "" || wanted === "all") {
    outputs = Array.from({ length: count }, (_, i) => i + 1);
  } else {
    const list = Array.isArray(wanted) ? wanted : [wanted];
    outputs = list.map((o) => (typeof o === "string" && o.trim() !== "" ? Number(o) : o)) as number[];
    const bad = outputs.find((o) => !Number.isInteger(o) || o < 1 || o > count);
    if (bad !== undefined) {
      return {
        error: { key: "rtp-fanout.errors.output", values: { output: JSON.stringify(wanted), last: count } },
      };
    }
  }
  const seconds = msg.seconds;
  if (seconds !== undefined && (typeof seconds !== "number" || !Number.isFinite(seconds) || seconds < 0)) {
    return {
      error: { key: "rtp-fanout.errors.seconds", values: { seconds: String(JSON.stringify(seconds)) } },
    };
  }
  return { open: topic === "open", outputs, seconds: seconds as number | undefined };
}

function register(RED: NodeAPI): void {
  function RtpFanoutNode(this: Node, def: NodeDef): void {
    RED.nodes.createNode(this as Node<never>, def);
    const settings = parseRtpFanoutConfig(def as RtpFanoutDef);
    const text: Translate = (key, values) => RED._(key, values);
    for (const problem of settings.problems) this.warn(text(problem.key, problem.values));
    const count = settings.gates.length;
    const fanout = new RtpFanout<NodeMessage>({ gates: settings.gates });
    const packets = new PacketInput(settings.packetCodec, settings.topic);
    const shouldReport = reportLimiter(BAD_INPUT_REPORT_INTERVAL_MS);

    // One send per output: Node-RED clones every message after the first of one send() call, and a
    // clone would copy each Buffer's whole backing store.
    const slots: (NodeMessage | null)[][] = Array.from({ length: count + 1 }, () =>
      Array.from({ length: count + 1 }, () => null),
    );
    const sendOn = (output: number, msg: NodeMessage) => {
      const slot = slots[output]!;
      slot[output] = msg;
      this.send(slot);
      slot[output] = null;
    };

    fanout.on("deliver", (output: number, unit: AccessUnit, _stream: StreamInfo, carry: NodeMessage) => {
      sendOn(output, { ...carry, payload: unit.packets });
    });
    fanout.on("gate", (output: number, open: boolean, cause: GateCause) => {
      sendOn(count, {
        topic: settings.topic,
        payload: { event: open ? "opened" : "closed", output: output + 1, cause },
      });
      showStatus();
    });

    let shown = "";
    const showStatus = () => {
      const status = statusOf(fanout, text);
      const key = `${status.fill}|${status.text}`;
      if (key === shown) return;
      shown = key;
      this.status(status);
    };
    const statusTimer = setInterval(showStatus, STATUS_INTERVAL_MS);
    const statsTimer =
      settings.statsIntervalMs > 0
        ? setInterval(() => {
            const stats = fanout.stats();
            sendOn(count, {
              topic: settings.topic,
              payload: {
                event: "stats",
                // Single packets that were not RTP of the configured codec count as malformed too.
                stream: {
                  ...stats.stream,
                  malformedPackets: stats.stream.malformedPackets + packets.dropped,
                },
                outputs: stats.outputs.map((o) => ({ ...o, output: o.output + 1 })),
              },
            });
          }, settings.statsIntervalMs)
        : undefined;

    this.on("input", (msg, _send, done) => {
      if (Buffer.isBuffer(msg.payload)) {
        for (const { unit, stream } of packets.push(msg.payload)) {
          fanout.push(unit, stream, mediaMessage(settings.topic, unit, stream));
        }
        done();
        return;
      }
      const media = accessUnitFrom(msg);
      if (media) {
        fanout.push(media.unit, media.stream, msg);
        done();
        return;
      }
      const command = commandFrom(msg, count);
      if (command && "error" in command) {
        done(new Error(text(command.error.key, command.error.values)));
        return;
      }
      if (command) {
        for (const output of command.outputs) {
          if (command.open) fanout.open(output - 1, command.seconds);
          else fanout.close(output - 1);
        }
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
            notMedia: "rtp-fanout.errors.not-media",
            array: "rtp-fanout.errors.payload-array",
            missing: "rtp-fanout.errors.payload-missing",
            type: "rtp-fanout.errors.payload-type",
          },
          text,
        ),
      );
    });

    this.on("close", (_removed, done) => {
      clearInterval(statusTimer);
      clearInterval(statsTimer);
      fanout.dispose();
      done();
    });

    fanout.start();
    showStatus();
  }

  RED.nodes.registerType("rtp-fanout", RtpFanoutNode as (this: Node<never>, def: NodeDef) => void);
}

/** "2 of 3 open · 25 fps", or what is missing. */
function statusOf(fanout: RtpFanout<unknown>, text: Translate): NodeStatus {
  const now = performance.now();
  const stats = fanout.stats(now);
  const open = stats.outputs.filter((o) => o.open).length;
  const gates = text("rtp-fanout.status.gates", { open, total: stats.outputs.length });
  const last = stats.stream.lastFrameAt;
  if (last === undefined) {
    return { fill: "grey", shape: "ring", text: `${text("rtp-fanout.status.waiting")} · ${gates}` };
  }
  const silent = now - last;
  if (silent > STALLED_AFTER_MS) {
    const stalled = text("rtp-fanout.status.stalled", { seconds: Math.round(silent / 1000) });
    return { fill: "yellow", shape: "ring", text: `${stalled} · ${gates}` };
  }
  const parts = [gates];
  if (stats.stream.fps > 0) parts.push(text("rtp-fanout.status.fps", { fps: Math.round(stats.stream.fps) }));
  return { fill: open > 0 ? "green" : "grey", shape: "dot", text: parts.join(" · ") };
}

export = register;
