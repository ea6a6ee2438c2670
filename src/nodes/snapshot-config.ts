import { DEFAULT_QUALITY, DEFAULT_TIMEOUT_MS } from "../snapshot/snapshot-taker";
import type { NodeDef } from "./red";
import type { CatalogText } from "./text";

/** The snapshot node's fields as the editor saves them (nodes/snapshot.html). */
export interface SnapshotDef extends NodeDef {
  ffmpegPath?: string;
  quality?: number | string;
  maxWidth?: number | string;
  timeout?: number | string;
}

export interface SnapshotNodeSettings {
  readonly topic: string;
  readonly ffmpegPath: string;
  /** 1..100. */
  readonly quality: number;
  /** undefined: as decoded. */
  readonly maxWidth: number | undefined;
  readonly timeoutMs: number;
  /** What was wrong in the configuration and replaced; the node warns about each. */
  readonly problems: readonly CatalogText[];
}

export const DEFAULT_FFMPEG = "ffmpeg";
const MAX_TIMEOUT_S = 60;

function numberOf(value: unknown): number | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : Number.NaN;
}

/** Never throws: a bad field takes its default and is reported. */
export function parseSnapshotConfig(def: SnapshotDef): SnapshotNodeSettings {
  const problems: CatalogText[] = [];
  const ffmpegPath =
    typeof def.ffmpegPath === "string" && def.ffmpegPath.trim() !== ""
      ? def.ffmpegPath.trim()
      : DEFAULT_FFMPEG;

  let quality = numberOf(def.quality) ?? DEFAULT_QUALITY;
  if (!Number.isInteger(quality) || quality < 1 || quality > 100) {
    problems.push({ key: "snapshot.warnings.quality", values: { quality: DEFAULT_QUALITY } });
    quality = DEFAULT_QUALITY;
  }

  let maxWidth = numberOf(def.maxWidth);
  if (maxWidth === 0) maxWidth = undefined;
  else if (maxWidth !== undefined && (!Number.isInteger(maxWidth) || maxWidth < 16 || maxWidth > 8192)) {
    problems.push({ key: "snapshot.warnings.max-width" });
    maxWidth = undefined;
  }

  let timeoutS = numberOf(def.timeout) ?? DEFAULT_TIMEOUT_MS / 1000;
  if (!(timeoutS > 0 && timeoutS <= MAX_TIMEOUT_S)) {
    problems.push({
      key: "snapshot.warnings.timeout",
      values: { max: MAX_TIMEOUT_S, seconds: DEFAULT_TIMEOUT_MS / 1000 },
    });
    timeoutS = DEFAULT_TIMEOUT_MS / 1000;
  }

  return {
    topic: def.name || "snapshot",
    ffmpegPath,
    quality,
    maxWidth,
    timeoutMs: Math.round(timeoutS * 1000),
    problems,
  };
}
