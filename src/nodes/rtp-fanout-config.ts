import type { GateOptions, MediaFilter, PreRoll } from "../fanout/fanout";
import type { PacketCodec } from "../rtp/packet-input";
import type { NodeDef } from "./red";
import type { CatalogText } from "./text";

/** One output's row in the editor (nodes/rtp-fanout.html). */
export interface GateDef {
  open?: boolean;
  filter?: string;
  autoClose?: number | string;
  preRoll?: string;
  preRollSeconds?: number | string;
}

export interface RtpFanoutDef extends NodeDef {
  gates?: GateDef[];
  statsInterval?: number | string;
  codec?: string;
  payloadType?: number | string;
}

export interface RtpFanoutSettings {
  readonly topic: string;
  readonly gates: readonly GateOptions[];
  /** 0: no stats messages. */
  readonly statsIntervalMs: number;
  readonly packetCodec: PacketCodec;
  /** What was wrong in the configuration and replaced; the node warns about each. */
  readonly problems: readonly CatalogText[];
}

export const MAX_OUTPUTS = 8;
export const DEFAULT_STATS_INTERVAL_S = 10;
const MAX_PRE_ROLL_S = 60;
const FILTERS: readonly MediaFilter[] = ["all", "video", "audio"];

function seconds(value: unknown): number {
  if (value === undefined || value === null || value === "") return 0;
  return Number(value);
}

function gateFrom(def: GateDef, output: number, problems: CatalogText[]): GateOptions {
  const filter = FILTERS.includes(def.filter as MediaFilter) ? (def.filter as MediaFilter) : "all";
  if (def.filter !== undefined && def.filter !== filter) {
    problems.push({ key: "rtp-fanout.warnings.media", values: { output, media: String(def.filter) } });
  }
  let autoCloseS = seconds(def.autoClose);
  if (!Number.isFinite(autoCloseS) || autoCloseS < 0) {
    problems.push({ key: "rtp-fanout.warnings.auto-close", values: { output } });
    autoCloseS = 0;
  }
  let preRoll: PreRoll = { kind: "none" };
  if (def.preRoll === "gop") preRoll = { kind: "gop" };
  else if (def.preRoll === "seconds") {
    const s = seconds(def.preRollSeconds);
    if (Number.isFinite(s) && s > 0 && s <= MAX_PRE_ROLL_S) preRoll = { kind: "seconds", seconds: s };
    else {
      problems.push({ key: "rtp-fanout.warnings.pre-roll", values: { output, max: MAX_PRE_ROLL_S } });
      preRoll = { kind: "gop" };
    }
  }
  return { open: def.open !== false, filter, autoCloseS, preRoll };
}

/** The node's settings from its flow definition; never throws, reports problems instead. */
export function parseRtpFanoutConfig(def: RtpFanoutDef): RtpFanoutSettings {
  const problems: CatalogText[] = [];
  let gateDefs = Array.isArray(def.gates) && def.gates.length > 0 ? def.gates : [{}, {}];
  if (gateDefs.length > MAX_OUTPUTS) {
    problems.push({ key: "rtp-fanout.warnings.outputs", values: { max: MAX_OUTPUTS } });
    gateDefs = gateDefs.slice(0, MAX_OUTPUTS);
  }
  const gates = gateDefs.map((gate, i) => gateFrom(gate ?? {}, i + 1, problems));

  let statsInterval =
    def.statsInterval === undefined || def.statsInterval === ""
      ? DEFAULT_STATS_INTERVAL_S
      : Number(def.statsInterval);
  if (!Number.isFinite(statsInterval) || statsInterval < 0) {
    problems.push({
      key: "rtp-fanout.warnings.stats-interval",
      values: { seconds: DEFAULT_STATS_INTERVAL_S },
    });
    statsInterval = DEFAULT_STATS_INTERVAL_S;
  }

  let payloadType = def.payloadType === undefined || def.payloadType === "" ? 96 : Number(def.payloadType);
  if (!Number.isInteger(payloadType) || payloadType < 96 || payloadType > 127) {
    problems.push({ key: "rtp-fanout.warnings.payload-type" });
    payloadType = 96;
  }

  return {
    topic: (def.name ?? "").trim() || "rtp-fanout",
    gates,
    statsIntervalMs: Math.round(statsInterval * 1000),
    packetCodec: { codec: def.codec === "H265" ? "H265" : "H264", payloadType, clockRate: 90000 },
    problems,
  };
}
