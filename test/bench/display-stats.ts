// Pure helpers of the display-delay section (display.ts): which camera frame a displayed frame is, and
// how long it took from its arrival at webrtc-out to the screen. No browser, no Node-RED in here.
import { quantile, round } from "./stats";

/** RTP video's clock: the live fMP4 track's timescale (src/mp4/live-muxer.ts). */
const VIDEO_CLOCK = 90_000;

/** When webrtc-out's input received each video access unit, by its RTP timestamp (the probe's record). */
export interface ArrivalSnapshot {
  /** RTP timestamp of the first keyframe that reached webrtc-out: the live muxer's time zero. */
  readonly firstKeyframe: number | undefined;
  /** [RTP timestamp, epoch ms (performance.timeOrigin + performance.now())], oldest first. */
  readonly arrivals: readonly (readonly [number, number])[];
  /** Of those, the keyframes' timestamps. */
  readonly keyframes: readonly number[];
  /** The process's performance clock (on the epoch) minus its Date.now(), ms (clockOffsetMs). */
  readonly clockOffsetMs: number;
}

/** What requestVideoFrameCallback told the page of one frame; times in the page's performance clock, ms. */
export interface DisplayedFrame {
  /** WebRTC frames only: the frame's RTP timestamp. */
  readonly rtpTimestamp?: number | undefined;
  /** The frame's presentation timestamp on the media timeline, s (the fragment's decode time for MSE). */
  readonly mediaTime: number;
  /** When the compositor expects the frame to be visible. */
  readonly expectedDisplayTime: number;
  /** When the frame was handed to the compositor. */
  readonly presentationTime: number;
  /** MSE: the end of the video's last buffered range less mediaTime, s. */
  readonly bufferedAhead?: number | undefined;
}

/** One page's frames, and its clock's origin (epoch ms) to bring them onto the probe's clock. */
export interface PageFrames {
  readonly timeOrigin: number;
  /** The page's performance clock (timeOrigin + now()) minus its Date.now(), ms (clockOffsetMs). */
  readonly clockOffsetMs: number;
  readonly frames: readonly DisplayedFrame[];
}

/**
 * How far a process's performance clock, put on the epoch with performance.timeOrigin, is from the
 * system's wall clock (Date.now()), ms. Each process fixes its timeOrigin once, and a browser's and
 * Node's can disagree by a millisecond or more: the delays are taken on Date.now()'s clock, which both
 * read from the one system clock. Read right after Date.now() ticks, where its truncation is nil; the
 * median of `ticks` such readings.
 */
export function clockOffsetMs(dateNow: () => number, performanceEpoch: () => number, ticks = 9): number {
  const offsets: number[] = [];
  let last = dateNow();
  while (offsets.length < ticks) {
    const now = dateNow();
    if (now === last) continue;
    offsets.push(performanceEpoch() - now);
    last = now;
  }
  return quantile(offsets, 0.5);
}

/**
 * The RTP timestamp of the fMP4 frame shown at `mediaTime`: the live muxer's decode time is the frame's
 * RTP timestamp carried past the 32-bit wrap (no B-frames: presentation = decode time).
 */
export function mseRtpTimestamp(mediaTime: number): number {
  return Math.round(mediaTime * VIDEO_CLOCK) >>> 0;
}

/** The RTP timestamp of a displayed frame, or undefined when the page did not say enough. */
export type FrameTimestamp = (frame: DisplayedFrame) => number | undefined;

export const webrtcTimestamp: FrameTimestamp = (frame) => frame.rtpTimestamp;

export const mseTimestamp: FrameTimestamp = (frame) => mseRtpTimestamp(frame.mediaTime);

export interface FrameDelays {
  /** Arrival at webrtc-out → expected display, ms, per frame matched. */
  readonly toDisplayMs: number[];
  /** Arrival at webrtc-out → handed to the compositor, ms. */
  readonly toPresentedMs: number[];
  /** Displayed frames (each RTP timestamp once). */
  readonly displayed: number;
  /** Of them, those with no arrival recorded under their timestamp (before the record, or a mapping wrong). */
  readonly unmatched: number;
}

/**
 * Each displayed frame's delay from its arrival. A frame the page reports twice (a repeated callback)
 * counts once, at its first display.
 */
export function frameDelays(
  page: PageFrames,
  arrivals: ArrivalSnapshot,
  timestampOf: FrameTimestamp,
): FrameDelays {
  const arrivedAt = new Map(arrivals.arrivals);
  const seen = new Set<number>();
  const toDisplayMs: number[] = [];
  const toPresentedMs: number[] = [];
  let unmatched = 0;
  for (const frame of page.frames) {
    const timestamp = timestampOf(frame);
    if (timestamp === undefined || seen.has(timestamp)) continue;
    seen.add(timestamp);
    const at = arrivedAt.get(timestamp);
    if (at === undefined) {
      unmatched++;
      continue;
    }
    // Both on Date.now()'s clock: each side's performance clock less its offset.
    const arrived = at - arrivals.clockOffsetMs;
    const origin = page.timeOrigin - page.clockOffsetMs;
    toDisplayMs.push(origin + frame.expectedDisplayTime - arrived);
    toPresentedMs.push(origin + frame.presentationTime - arrived);
  }
  return { toDisplayMs, toPresentedMs, displayed: seen.size, unmatched };
}

/** How far ahead of each frame shown the buffer reached, ms (frames the page gave it for). */
export function bufferedAheadMs(page: PageFrames): number[] {
  return page.frames.flatMap((frame) =>
    frame.bufferedAhead === undefined ? [] : [frame.bufferedAhead * 1000],
  );
}

/** Delays in ms: median, 95th percentile, largest, and how many. */
export interface DisplaySummary {
  readonly p50: number;
  readonly p95: number;
  readonly max: number;
  readonly samples: number;
}

export function displaySummary(delays: readonly number[]): DisplaySummary {
  return {
    p50: round(quantile(delays, 0.5), 1),
    p95: round(quantile(delays, 0.95), 1),
    max: round(
      delays.reduce((a, b) => Math.max(a, b), Number.NEGATIVE_INFINITY),
      1,
    ),
    samples: delays.length,
  };
}

/** The boxes inside `bytes` (a file's top level, or a box's payload): type and payload. */
function* boxes(bytes: Buffer): Generator<{ type: string; payload: Buffer }> {
  let at = 0;
  while (at + 8 <= bytes.length) {
    const size = bytes.readUInt32BE(at);
    if (size < 8 || at + size > bytes.length) return;
    yield { type: bytes.toString("latin1", at + 4, at + 8), payload: bytes.subarray(at + 8, at + size) };
    at += size;
  }
}

/**
 * The decode time (tfdt) of the first fragment in the first bytes of a live fMP4 stream, in the
 * track's timescale; undefined until a whole moof is there.
 */
export function firstDecodeTime(bytes: Buffer): number | undefined {
  for (const top of boxes(bytes)) {
    if (top.type !== "moof") continue;
    for (const traf of boxes(top.payload)) {
      if (traf.type !== "traf") continue;
      for (const inner of boxes(traf.payload)) {
        if (inner.type !== "tfdt") continue;
        const version = inner.payload[0];
        return version === 1 ? Number(inner.payload.readBigUInt64BE(4)) : inner.payload.readUInt32BE(4);
      }
    }
  }
  return undefined;
}

/**
 * Whether the MSE mapping holds: a viewer joining gets the current GOP from its keyframe, so the first
 * fragment's decode time, mapped as mseRtpTimestamp maps the page's frames, must be a keyframe that
 * reached webrtc-out. Off by any frame within a GOP, it is none.
 */
export function anchorsOnKeyframe(decodeTime: number, arrivals: ArrivalSnapshot): boolean {
  return arrivals.keyframes.includes(mseRtpTimestamp(decodeTime / VIDEO_CLOCK));
}
