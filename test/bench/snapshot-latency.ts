import { setTimeout as sleep } from "node:timers/promises";
import { RtspSource } from "../../src/rtsp/source";
import { SnapshotCache } from "../../src/snapshot/snapshot-cache";
import { type Snapshot, SnapshotTaker } from "../../src/snapshot/snapshot-taker";
import type { SeededRandom } from "../helpers/seeded-random";
import { TEST_TIMEOUTS } from "../helpers/source-harness";
import { waitFor } from "../helpers/wait";

export interface SnapshotLatency {
  /** Request → JPEG, ms, in request order. */
  readonly samples: readonly number[];
  readonly p50: number;
  readonly p95: number;
  /** Access units decoded per request (1: the keyframe itself), in request order. */
  readonly frames: readonly number[];
  readonly width: number;
  readonly height: number;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export interface SnapshotLatencyOptions {
  /** An RTSP URL (credentials in it if needed). */
  readonly url: string;
  readonly requests?: number;
  /** The longest pause between requests: a random part of it puts each at another GOP phase. Default 2000 ms. */
  readonly maxGapMs?: number;
  readonly ffmpegPath?: string;
  readonly random?: SeededRandom | { next(): number };
}

/**
 * The snapshot's request → JPEG time against a camera, one request at a time at random GOP phases (a
 * random pause before each): an RtspSource feeds a SnapshotCache, a SnapshotTaker decodes with ffmpeg.
 * For the bench's row and the integration test alike.
 */
export async function snapshotLatency(opts: SnapshotLatencyOptions): Promise<SnapshotLatency> {
  const source = new RtspSource({
    url: opts.url,
    transport: "tcp",
    media: "video",
    userAgent: "node-red-rtsp-webrtc-bench",
    ...TEST_TIMEOUTS,
  });
  const cache = new SnapshotCache();
  source.on("frame", (unit, stream) => cache.push(unit, stream));
  const taker = new SnapshotTaker(() => cache.input(), { ffmpegPath: opts.ffmpegPath ?? "ffmpeg" });
  const random = opts.random ?? { next: Math.random };
  const samples: number[] = [];
  const frames: number[] = [];
  let last: Snapshot | undefined;
  try {
    source.start();
    await waitFor(() => cache.state.state === "ready", 20_000, "the first keyframe");
    for (let i = 0; i < (opts.requests ?? 20); i++) {
      await sleep(random.next() * (opts.maxGapMs ?? 2000));
      const asked = performance.now();
      last = await taker.take();
      samples.push(performance.now() - asked);
      frames.push(last.frames);
    }
  } finally {
    taker.close();
    await source.close();
  }
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    samples,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    frames,
    width: last?.width ?? 0,
    height: last?.height ?? 0,
  };
}

/** The bench's row of a run: request → JPEG p50 / p95 / max, ms, and the access units decoded per request. */
export interface SnapshotRow {
  readonly requests: number;
  readonly p50: number;
  readonly p95: number;
  readonly max: number;
  readonly framesMean: number;
  readonly framesMax: number;
  readonly width: number;
  readonly height: number;
}

const largest = (values: readonly number[]): number =>
  values.length === 0 ? Number.NaN : values.reduce((a, b) => Math.max(a, b));

export function snapshotRow(latency: SnapshotLatency): SnapshotRow {
  const n = latency.frames.length;
  return {
    requests: latency.samples.length,
    p50: latency.p50,
    p95: latency.p95,
    max: largest(latency.samples),
    framesMean: n > 0 ? latency.frames.reduce((a, b) => a + b, 0) / n : Number.NaN,
    framesMax: largest(latency.frames),
    width: latency.width,
    height: latency.height,
  };
}
