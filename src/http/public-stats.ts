import type { ViewerStats } from "../webrtc/viewer";
import type { ViewerSetStats } from "./stream-summary";

/**
 * What GET P/stats tells of each viewer: how its connection fares, never who it is. Listed by name, so
 * that a field added to the viewer's stats later stays off the HTTP answer until it is put here.
 */
const ANONYMOUS_VIEWER_FIELDS = [
  "state",
  "secondsConnected",
  "packetsSent",
  "bytesSent",
  "rttMs",
  "fractionLost",
  "nacks",
  "plis",
  "framesDropped",
  "videoCodec",
  "audioCodec",
] as const satisfies readonly (keyof ViewerStats)[];

function anonymous(viewer: unknown): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  if (!viewer || typeof viewer !== "object") return fields;
  for (const name of ANONYMOUS_VIEWER_FIELDS) {
    const value = (viewer as Record<string, unknown>)[name];
    if (value !== undefined) fields[name] = value;
  }
  return fields;
}

/**
 * A viewer set's stats as any client allowed on the route may read them: the stream whole, each viewer
 * without its id (with which it could be named) or its address. The node's own output messages keep both.
 */
export function publicStats<T extends ViewerSetStats>(
  stats: T,
): Omit<T, "viewers"> & { viewers: Record<string, unknown>[] } {
  return { ...stats, viewers: (stats.viewers ?? []).map(anonymous) };
}
