import type { GateOptions, MediaFilter, PreRoll } from "../rtp/fanout";
import type { PacketCodec } from "../rtp/packet-input";
import type { NodeDef } from "./red";

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
  readonly problems: readonly string[];
}

export const MAX_OUTPUTS = 8;
export const DEFAULT_STATS_INTERVAL_S = 10;
const MAX_PRE_ROLL_S = 60;
const FILTERS: readonly MediaFilter[] = ["all", "video", "audio"];

function seconds(value: unknown): number {
  if (value === undefined || value === null || value === "") return 0;
  return Number(value);
}

function gateFrom(def: GateDef, output: number, problems: string[]): GateOptions {
  const filter = FILTERS.includes(def.filter as MediaFilter) ? (def.filter as MediaFilter) : "all";
  if (def.filter !== undefined && def.filter !== filter) {
    problems.push(`output ${output}: media "${def.filter}" unknown; taking all`);
  }
  let autoCloseS = seconds(def.autoClose);
  if (!Number.isFinite(autoCloseS) || autoCloseS < 0) {
    problems.push(`output ${output}: close after must be 0 or more seconds; it stays open`);
    autoCloseS = 0;
  }
  let preRoll: PreRoll = { kind: "none" };
  if (def.preRoll === "gop") preRoll = { kind: "gop" };
  else if (def.preRoll === "seconds") {
    const s = seconds(def.preRollSeconds);
    if (Number.isFinite(s) && s > 0 && s <= MAX_PRE_ROLL_S) preRoll = { kind: "seconds", seconds: s };
    else {
      problems.push(`output ${output}: pre-roll must be 1–${MAX_PRE_ROLL_S} seconds; replaying the last GOP`);
      preRoll = { kind: "gop" };
    }
  }
  return { open: def.open !== false, filter, autoCloseS, preRoll };
}

/** The node's settings from its flow definition; never throws, reports problems instead. */
export function parseRtpFanoutConfig(def: RtpFanoutDef): RtpFanoutSettings {
  const problems: string[] = [];
  let gateDefs = Array.isArray(def.gates) && def.gates.length > 0 ? def.gates : [{}, {}];
  if (gateDefs.length > MAX_OUTPUTS) {
    problems.push(`at most ${MAX_OUTPUTS} outputs; the others are left out`);
    gateDefs = gateDefs.slice(0, MAX_OUTPUTS);
  }
  const gates = gateDefs.map((gate, i) => gateFrom(gate ?? {}, i + 1, problems));

  let statsInterval =
    def.statsInterval === undefined || def.statsInterval === ""
      ? DEFAULT_STATS_INTERVAL_S
      : Number(def.statsInterval);
  if (!Number.isFinite(statsInterval) || statsInterval < 0) {
    problems.push(`stats interval must be 0 or more seconds; using ${DEFAULT_STATS_INTERVAL_S}`);
    statsInterval = DEFAULT_STATS_INTERVAL_S;
  }

  let payloadType = def.payloadType === undefined || def.payloadType === "" ? 96 : Number(def.payloadType);
  if (!Number.isInteger(payloadType) || payloadType < 96 || payloadType > 127) {
    problems.push("payload type for single-packet input must be 96–127; using 96");
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
