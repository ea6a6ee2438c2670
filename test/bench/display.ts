import type { Page } from "playwright-core";
import { launchChromium } from "../helpers/chromium";
import { waitFor } from "../helpers/wait";
import {
  type ArrivalSnapshot,
  anchorsOnKeyframe,
  bufferedAheadMs,
  type DisplaySummary,
  displaySummary,
  type FrameDelays,
  firstDecodeTime,
  frameDelays,
  mseTimestamp,
  type PageFrames,
  webrtcTimestamp,
} from "./display-stats";

export interface DisplayDelayOptions {
  /** Node-RED's HTTP origin plus httpNodeRoot, e.g. "http://127.0.0.1:1880". */
  readonly baseUrl: string;
  /** The webrtc-out node's path, e.g. "/cam1". */
  readonly path: string;
  /** When webrtc-out received each frame (the bench's probe in Node-RED, recordArrivals). */
  readonly arrivals: () => Promise<ArrivalSnapshot>;
  /** Both pages playing this long before frames are counted (the fMP4 player's catch-up settles). */
  readonly warmupSeconds: number;
  /** How long frames are counted. */
  readonly seconds: number;
  readonly log?: (line: string) => void;
}

export interface PathDelay {
  /** Arrival at webrtc-out → expected on screen (rVFC expectedDisplayTime). */
  readonly toDisplay: DisplaySummary;
  /** Arrival at webrtc-out → handed to the compositor (rVFC presentationTime). */
  readonly toPresented: DisplaySummary;
  /** Frames displayed in the window, and of them those whose arrival was not found. */
  readonly displayed: number;
  readonly unmatched: number;
  /** MSE only: how far the newest buffered frame was ahead of the one shown, ms (the player's live lag). */
  readonly bufferedAheadMs?: DisplaySummary;
}

export interface DisplayDelayResult {
  readonly webrtc: PathDelay;
  readonly mse: PathDelay;
  readonly seconds: number;
  /** Each process's performance clock less Date.now(), ms: what the delays were corrected by. */
  readonly clockOffsetsMs: {
    readonly nodeRed: number;
    readonly webrtcPage: number;
    readonly msePage: number;
  };
}

/*
 * Browser code, kept as text (this project compiles without the DOM library), run in the player page
 * itself: a requestVideoFrameCallback loop on its <video>, which the renderer calls for each frame it
 * composites, with the frame's RTP timestamp (WebRTC) or media time (MSE) and its display times on the
 * page's performance clock.
 */
const PAGE_SCRIPT = `(() => {
  const video = document.getElementById("video");
  const frames = [];
  let on = false;
  const onFrame = (now, meta) => {
    if (!on) return;
    frames.push({
      rtpTimestamp: meta.rtpTimestamp,
      mediaTime: meta.mediaTime,
      expectedDisplayTime: meta.expectedDisplayTime,
      presentationTime: meta.presentationTime,
      bufferedAhead: video.buffered.length > 0 ? video.buffered.end(video.buffered.length - 1) - meta.mediaTime : undefined,
    });
    video.requestVideoFrameCallback(onFrame);
  };
  window.__display = {
    start() {
      on = true;
      video.requestVideoFrameCallback(onFrame);
    },
    // As display-stats.ts clockOffsetMs: the performance clock less Date.now(), read as Date.now() ticks.
    stop() {
      on = false;
      const offsets = [];
      let last = Date.now();
      while (offsets.length < 9) {
        const now = Date.now();
        if (now === last) continue;
        offsets.push(performance.timeOrigin + performance.now() - now);
        last = now;
      }
      offsets.sort((a, b) => a - b);
      return { timeOrigin: performance.timeOrigin, clockOffsetMs: offsets[4], frames: frames.splice(0) };
    },
  };
})()`;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Until the player page says it plays, on the path asked for. */
async function playing(page: Page, mode: "webrtc" | "mse"): Promise<void> {
  await waitFor(
    async () =>
      (await page.evaluate(`window.__player.state === "playing" && window.__player.mode === "${mode}"`)) ===
      true,
    20_000,
    `the player page playing over ${mode}`,
  );
}

/** The decode time of the first fragment webrtc-out's P/live.mp4 serves a new viewer now. */
async function liveDecodeTime(url: string): Promise<number> {
  const abort = new AbortController();
  try {
    const res = await fetch(url, { signal: abort.signal });
    if (!res.ok || res.body === null) throw new Error(`GET ${url}: ${res.status}`);
    const reader = res.body.getReader();
    let bytes = Buffer.alloc(0);
    for (;;) {
      const step = await reader.read();
      if (step.done) throw new Error(`GET ${url}: the stream ended before a fragment`);
      bytes = Buffer.concat([bytes, step.value]);
      const time = firstDecodeTime(bytes);
      if (time !== undefined) return time;
    }
  } finally {
    abort.abort();
  }
}

function pathDelay(delays: FrameDelays, page: PageFrames): PathDelay {
  const ahead = bufferedAheadMs(page);
  return {
    toDisplay: displaySummary(delays.toDisplayMs),
    toPresented: displaySummary(delays.toPresentedMs),
    displayed: delays.displayed,
    unmatched: delays.unmatched,
    ...(ahead.length > 0 ? { bufferedAheadMs: displaySummary(ahead) } : {}),
  };
}

/**
 * The player page twice in headless Chromium against a running Node-RED whose webrtc-out at `path` has
 * its stream, one page on WebRTC and one on the fMP4 fallback (?mode=mse), at once: per frame shown,
 * the time from its arrival at webrtc-out's input to its display.
 */
export async function measureDisplayDelay(opts: DisplayDelayOptions): Promise<DisplayDelayResult> {
  const log = opts.log ?? (() => {});
  const base = opts.baseUrl.replace(/\/+$/, "");
  const path = opts.path.startsWith("/") ? opts.path : `/${opts.path}`;
  const chromium = await launchChromium();
  try {
    const webrtc = (await chromium.open(`${base}${path}`)).page;
    const mse = (await chromium.open(`${base}${path}?mode=mse`)).page;
    await Promise.all([playing(webrtc, "webrtc"), playing(mse, "mse")]);
    log(`display: both pages playing; ${opts.warmupSeconds} s before counting`);
    await sleep(opts.warmupSeconds * 1000);
    await Promise.all([webrtc, mse].map((page) => page.evaluate(PAGE_SCRIPT)));
    await Promise.all([webrtc, mse].map((page) => page.evaluate("window.__display.start()")));
    await sleep(opts.seconds * 1000);
    const [webrtcFrames, mseFrames] = (await Promise.all(
      [webrtc, mse].map((page) => page.evaluate("window.__display.stop()")),
    )) as [PageFrames, PageFrames];
    // The newest frames shown arrived a few hundred ms before: they are in the record by now; and so is
    // the keyframe a new fMP4 viewer starts at, which checks how the page's media times are mapped.
    const decodeTime = await liveDecodeTime(`${base}${path}/live.mp4`);
    const arrivals = await opts.arrivals();
    if (arrivals.firstKeyframe === undefined) throw new Error("no keyframe reached webrtc-out");
    if (!anchorsOnKeyframe(decodeTime, arrivals))
      throw new Error(
        `live.mp4's first fragment (decode time ${decodeTime}) maps to no keyframe that reached webrtc-out: ` +
          "the MSE frames cannot be matched to their arrivals",
      );
    const result: DisplayDelayResult = {
      webrtc: pathDelay(frameDelays(webrtcFrames, arrivals, webrtcTimestamp), webrtcFrames),
      mse: pathDelay(frameDelays(mseFrames, arrivals, mseTimestamp), mseFrames),
      seconds: opts.seconds,
      clockOffsetsMs: {
        nodeRed: arrivals.clockOffsetMs,
        webrtcPage: webrtcFrames.clockOffsetMs,
        msePage: mseFrames.clockOffsetMs,
      },
    };
    log(`display: clocks' offsets from Date.now() ${JSON.stringify(result.clockOffsetsMs)} ms`);
    for (const [name, delay] of [
      ["webrtc", result.webrtc],
      ["mse", result.mse],
    ] as const) {
      log(`display ${name}: ${JSON.stringify(delay)}`);
      // A mapping gone wrong matches almost nothing: that must not read as a figure.
      if (delay.displayed === 0 || delay.unmatched > delay.displayed / 10)
        throw new Error(
          `display ${name}: ${delay.unmatched} of ${delay.displayed} frames shown have no arrival at webrtc-out`,
        );
    }
    return result;
  } finally {
    await chromium.close();
  }
}
