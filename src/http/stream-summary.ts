import type { ViewerStats } from "../webrtc/viewer";
import type { StreamSourceState, StreamStats } from "../webrtc/viewer-set";

/** How a stream looks from the camera wall: "live" while video arrives from the source. */
export type LiveState = "waiting" | "live" | "stalled";

/** One webrtc-out as the camera wall lists it. */
export interface StreamSummary {
  /** The endpoint's path under httpNodeRoot, normalised: "/cam1". */
  readonly path: string;
  readonly title: string;
  readonly state: LiveState;
  readonly viewers: number;
  readonly codec?: string;
  readonly width?: number;
  readonly height?: number;
  readonly kbps?: number;
}

/**
 * The part of a viewer set's stats (src/webrtc/viewer-set.ts) the wall and P/stats read; every field
 * optional, so a viewer set that knows less fits.
 */
export interface ViewerSetStats {
  readonly stream?: Partial<Pick<StreamStats, "codec" | "width" | "height" | "kbps" | "sourceState">>;
  readonly viewers?: readonly Partial<ViewerStats>[];
}

function liveState(sourceState: StreamSourceState | undefined): LiveState {
  if (sourceState === "receiving") return "live";
  if (sourceState === "stalled") return "stalled";
  return "waiting";
}

function positive(value: number | undefined): number | undefined {
  return typeof value === "number" && Number.isFinite(value) && value > 0 ? value : undefined;
}

/** A webrtc-out's line in the wall's list, from its path, title and its viewer set's stats. */
export function summarizeStream(path: string, title: string, stats: ViewerSetStats): StreamSummary {
  const stream = stats.stream ?? {};
  const width = positive(stream.width);
  const height = positive(stream.height);
  const kbps = positive(stream.kbps);
  return {
    path,
    title,
    state: liveState(stream.sourceState),
    viewers: stats.viewers?.length ?? 0,
    ...(stream.codec ? { codec: stream.codec } : {}),
    ...(width !== undefined && height !== undefined ? { width, height } : {}),
    ...(kbps !== undefined ? { kbps: Math.round(kbps) } : {}),
  };
}
