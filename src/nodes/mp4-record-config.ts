import os from "node:os";
import path from "node:path";
import { DEFAULT_PATTERN, FileNamePattern } from "../record/file-names";
import type { RecorderSettings, RecordMode } from "../record/recorder";
import type { NodeDef } from "./red";
import type { CatalogText } from "./text";

export interface Mp4RecordDef extends NodeDef {
  mode?: string;
  idle?: number | string;
  segment?: number | string;
  maxClip?: number | string;
  directory?: string;
  pattern?: string;
  output?: string;
  maxBuffer?: number | string;
  retainSize?: number | string;
  retainDays?: number | string;
  minFree?: number | string;
  audio?: boolean;
}

export interface Mp4RecordSettings {
  readonly topic: string;
  readonly recorder: RecorderSettings;
  readonly problems: readonly CatalogText[];
}

const MB = 1024 * 1024;
const MODES: readonly RecordMode[] = ["activity", "command", "segments"];

/** The defaults the editor shows, for a flow that leaves a field out. */
export const DEFAULTS = {
  mode: "activity" as RecordMode,
  idleS: 5,
  segmentMin: 10,
  maxClipS: 600,
  pattern: DEFAULT_PATTERN,
  maxBufferMB: 20,
  retainSizeMB: 2048,
  retainDays: 7,
  minFreeMB: 500,
};

type Field = "idle" | "segment" | "max-clip" | "max-buffer" | "retain-size" | "retain-days" | "min-free";

/** A number within [min, ∞) or the default, with a warning when the flow had something else. */
function numberOr(
  value: unknown,
  fallback: number,
  min: number,
  field: Field,
  problems: CatalogText[],
  exclusive = false,
): number {
  if (value === undefined || value === null || value === "") return fallback;
  const n = Number(value);
  if (Number.isFinite(n) && (exclusive ? n > min : n >= min)) return n;
  problems.push({ key: FIELD_WARNINGS[field], values: { value: String(value), fallback } });
  return fallback;
}

// Whole keys: the catalog test finds every key the code uses by its quotes.
const FIELD_WARNINGS: Record<Field, string> = {
  idle: "mp4-record.warnings.idle",
  segment: "mp4-record.warnings.segment",
  "max-clip": "mp4-record.warnings.max-clip",
  "max-buffer": "mp4-record.warnings.max-buffer",
  "retain-size": "mp4-record.warnings.retain-size",
  "retain-days": "mp4-record.warnings.retain-days",
  "min-free": "mp4-record.warnings.min-free",
};

/** The node's settings from its flow definition; never throws, reports problems instead. */
export function parseMp4RecordConfig(def: Mp4RecordDef, userDir?: string): Mp4RecordSettings {
  const problems: CatalogText[] = [];
  const name = (def.name ?? "").trim();
  let mode = DEFAULTS.mode;
  if (def.mode !== undefined && def.mode !== "") {
    if (MODES.includes(def.mode as RecordMode)) mode = def.mode as RecordMode;
    else problems.push({ key: "mp4-record.warnings.mode", values: { mode: String(def.mode) } });
  }
  const idleS = numberOr(def.idle, DEFAULTS.idleS, 0, "idle", problems, true);
  const segmentMin = numberOr(def.segment, DEFAULTS.segmentMin, 0, "segment", problems, true);
  const maxClipS = numberOr(def.maxClip, DEFAULTS.maxClipS, 0, "max-clip", problems);
  const maxBufferMB = numberOr(def.maxBuffer, DEFAULTS.maxBufferMB, 0, "max-buffer", problems, true);
  const retainSizeMB = numberOr(def.retainSize, DEFAULTS.retainSizeMB, 0, "retain-size", problems);
  const retainDays = numberOr(def.retainDays, DEFAULTS.retainDays, 0, "retain-days", problems);
  const minFreeMB = numberOr(def.minFree, DEFAULTS.minFreeMB, 0, "min-free", problems);
  const base = userDir || os.homedir();
  const written = (def.directory ?? "").trim();
  // A relative directory is Node-RED's user directory's, not the working directory of whoever started it.
  const directory = path.resolve(base, written || "recordings");
  return {
    topic: name || "mp4-record",
    recorder: {
      mode,
      idleS,
      segmentS: segmentMin * 60,
      maxClipS,
      directory,
      pattern: new FileNamePattern(def.pattern ?? "", name || "mp4-record"),
      output: def.output === "buffer" ? "buffer" : "file",
      maxBufferBytes: Math.round(maxBufferMB * MB),
      retention: { maxBytes: Math.round(retainSizeMB * MB), maxAgeMs: Math.round(retainDays * 86_400_000) },
      minFreeBytes: Math.round(minFreeMB * MB),
      audio: def.audio !== false,
    },
    problems,
  };
}
