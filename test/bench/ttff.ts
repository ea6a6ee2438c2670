import type { Page } from "playwright-core";
import { launchChromium } from "../helpers/chromium";
import { quantile } from "./stats";

export interface TimeToFirstFrameOptions {
  /** Node-RED's HTTP origin plus httpNodeRoot, e.g. "http://127.0.0.1:1880" (no trailing slash needed). */
  readonly baseUrl: string;
  /** The webrtc-out node's path, e.g. "/cam1". */
  readonly path: string;
  /** Joins measured one after another, each at a random GOP phase. */
  readonly joins: number;
  /** How long the steady-state connection is kept before its stats are read. */
  readonly steadySeconds: number;
  /** How the node under test is configured; only echoed in the result (the server decides, not us). */
  readonly fastStart: boolean;
  /** The stream's keyframe interval: each join first waits a random 0..gopMs. Default 2000 (60 frames at 30 fps). */
  readonly gopMs?: number;
  /** A join that shows no frame within this long fails the measurement. Default 15 000. */
  readonly frameTimeoutMs?: number;
  /** One line per join and for the steady state, for progress. */
  readonly log?: (line: string) => void;
}

export interface SteadyState {
  /** inbound-rtp jitterBufferDelay / jitterBufferEmittedCount, over the whole connection, ms. */
  readonly jitterBufferDelayMsPerFrame: number;
  readonly framesDecoded: number;
  readonly freezeCount: number;
  readonly totalFreezesDurationS: number;
  /** The same ratio over the second half of the window only: the buffer's delay once the start is behind it. */
  readonly jitterBufferDelayMsPerFrameSecondHalf: number;
  readonly seconds: number;
}

export interface TimeToFirstFrameResult {
  readonly fastStart: boolean;
  /** Per join: offer POSTed → first frame presented (requestVideoFrameCallback presentationTime), ms. */
  readonly ttffMs: number[];
  /** Per join, where the time went: offer POSTed → answer received, and → peer connection "connected" (ICE + DTLS). */
  readonly answerMs: number[];
  readonly connectedMs: number[];
  /** Nearest-rank quantiles of ttffMs. */
  readonly p50: number;
  readonly p95: number;
  readonly steady: SteadyState;
}

/** What the page's inbound-rtp video entry holds (Chromium's names; jitter buffer and freezes in seconds). */
interface InboundVideo {
  readonly framesDecoded: number;
  readonly jitterBufferDelay: number;
  readonly jitterBufferEmittedCount: number;
  readonly freezeCount: number;
  readonly totalFreezesDuration: number;
}

interface JoinTiming {
  readonly ttffMs: number;
  readonly answerMs: number;
  readonly connectedMs: number;
  readonly viewerId: string | null;
}

/*
 * Browser code, kept as text: this project compiles without the DOM library. It mirrors the player
 * page's offer (vanilla ICE, JSON POST to P/offer) but recvonly video alone, and times it itself:
 * t0 right before the POST, t1 the presentationTime of the first requestVideoFrameCallback — the
 * first frame decoded and handed to the compositor, on the same performance.now() clock. Polling
 * getStats() for framesDecoded > 0 would add up to one poll period and a stats-collection round trip
 * to every sample; rVFC is pushed by the renderer at the frame itself.
 */
const PAGE_SCRIPT = `(() => {
  const GATHER_TIMEOUT_MS = 3000;
  let current = null;

  function gathered(pc) {
    return new Promise((resolve) => {
      if (pc.iceGatheringState === "complete") return resolve();
      const timer = setTimeout(resolve, GATHER_TIMEOUT_MS);
      pc.addEventListener("icegatheringstatechange", () => {
        if (pc.iceGatheringState === "complete") {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  }

  async function join(offerUrl, timeoutMs) {
    const pc = new RTCPeerConnection({ iceServers: [] });
    const video = document.createElement("video");
    video.muted = true;
    video.autoplay = true;
    video.playsInline = true;
    video.width = 320;
    video.height = 180;
    document.body.appendChild(video);
    current = { pc, video, viewerId: null, session: null };
    const connected = new Promise((resolve) => {
      pc.addEventListener("connectionstatechange", () => {
        if (pc.connectionState === "connected") resolve(performance.now());
      });
    });
    const firstFrame = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no frame within " + timeoutMs + " ms")), timeoutMs);
      pc.ontrack = (event) => {
        video.srcObject = new MediaStream([event.track]);
        video.requestVideoFrameCallback((now, meta) => {
          clearTimeout(timer);
          resolve(meta.presentationTime);
        });
        video.play().catch(() => {});
      };
    });
    pc.addTransceiver("video", { direction: "recvonly" });
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    const t0 = performance.now();
    const response = await fetch(offerUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ type: "offer", sdp: pc.localDescription.sdp }),
      cache: "no-store",
    });
    const body = await response.json().catch(() => ({}));
    const answered = performance.now();
    if (response.status !== 200 || typeof body.sdp !== "string") {
      throw new Error("offer answered " + response.status + ": " + JSON.stringify(body));
    }
    current.viewerId = body.id || null;
    current.session = body.location || null;
    await pc.setRemoteDescription({ type: "answer", sdp: body.sdp });
    const t1 = await firstFrame;
    return { ttffMs: t1 - t0, answerMs: answered - t0, connectedMs: (await connected) - t0, viewerId: current.viewerId };
  }

  async function inbound() {
    if (!current) throw new Error("no connection");
    let found = null;
    (await current.pc.getStats()).forEach((entry) => {
      if (entry.type === "inbound-rtp" && entry.kind === "video") found = entry;
    });
    if (!found) throw new Error("no inbound-rtp video entry");
    return {
      framesDecoded: found.framesDecoded,
      jitterBufferDelay: found.jitterBufferDelay,
      jitterBufferEmittedCount: found.jitterBufferEmittedCount,
      freezeCount: found.freezeCount,
      totalFreezesDuration: found.totalFreezesDuration,
    };
  }

  async function leave() {
    if (!current) return;
    const { pc, video, viewerId, session } = current;
    current = null;
    let status = 0;
    if (session) status = (await fetch(session, { method: "DELETE" })).status;
    pc.close();
    video.srcObject = null;
    video.remove();
    if (session && status !== 200) throw new Error("DELETE viewer " + viewerId + " answered " + status);
  }

  window.__ttff = { join, inbound, leave };
})()`;

function call<T>(page: Page, method: string, ...args: unknown[]): Promise<T> {
  return page.evaluate(
    `window.__ttff.${method}(${args.map((a) => JSON.stringify(a)).join(", ")})`,
  ) as Promise<T>;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Chromium leaves a stat out rather than reporting 0 when it does not keep it: that must not pass as 0. */
function checkInbound(stats: InboundVideo): InboundVideo {
  for (const [name, value] of Object.entries(stats)) {
    if (typeof value !== "number") throw new Error(`Chromium's inbound-rtp has no ${name}`);
  }
  return stats;
}

function msPerFrame(delayS: number, emitted: number): number {
  return emitted > 0 ? (delayS * 1000) / emitted : Number.NaN;
}

/**
 * Time to first frame in headless Chromium against a running Node-RED whose webrtc-out at `path`
 * has its stream: `joins` sequential joins at random GOP phases (each closed and DELETEd before the
 * next), then one connection held `steadySeconds` for Chromium's own jitter-buffer and freeze stats.
 */
export async function measureTimeToFirstFrame(
  opts: TimeToFirstFrameOptions,
): Promise<TimeToFirstFrameResult> {
  const gopMs = opts.gopMs ?? 2000;
  const frameTimeoutMs = opts.frameTimeoutMs ?? 15_000;
  const log = opts.log ?? (() => {});
  const base = opts.baseUrl.replace(/\/+$/, "");
  const path = opts.path.startsWith("/") ? opts.path : `/${opts.path}`;
  const offerUrl = `${base}${path}/offer`;
  const chromium = await launchChromium();
  try {
    // Any same-origin document will do for the offer and DELETE fetches, and loopback candidates are
    // granted per origin: the stats JSON is one that opens no viewer of its own (the player page would).
    const { page } = await chromium.open(`${base}${path}/stats`);
    await page.evaluate(PAGE_SCRIPT);

    const ttffMs: number[] = [];
    const answerMs: number[] = [];
    const connectedMs: number[] = [];
    for (let i = 0; i < opts.joins; i++) {
      await sleep(Math.random() * gopMs);
      // A failed join still frees its seat on the server before the error goes up.
      try {
        const timing = await call<JoinTiming>(page, "join", offerUrl, frameTimeoutMs);
        ttffMs.push(timing.ttffMs);
        answerMs.push(timing.answerMs);
        connectedMs.push(timing.connectedMs);
        log(
          `join ${i + 1}/${opts.joins}: first frame ${timing.ttffMs.toFixed(1)} ms ` +
            `(answer ${timing.answerMs.toFixed(1)}, connected ${timing.connectedMs.toFixed(1)})`,
        );
      } finally {
        await call<void>(page, "leave");
      }
    }

    await sleep(Math.random() * gopMs);
    const halfMs = (opts.steadySeconds * 1000) / 2;
    let middle: InboundVideo;
    let end: InboundVideo;
    try {
      await call<JoinTiming>(page, "join", offerUrl, frameTimeoutMs);
      await sleep(halfMs);
      middle = checkInbound(await call<InboundVideo>(page, "inbound"));
      await sleep(halfMs);
      end = checkInbound(await call<InboundVideo>(page, "inbound"));
    } finally {
      await call<void>(page, "leave");
    }
    const steady: SteadyState = {
      jitterBufferDelayMsPerFrame: msPerFrame(end.jitterBufferDelay, end.jitterBufferEmittedCount),
      framesDecoded: end.framesDecoded,
      freezeCount: end.freezeCount,
      totalFreezesDurationS: end.totalFreezesDuration,
      jitterBufferDelayMsPerFrameSecondHalf: msPerFrame(
        end.jitterBufferDelay - middle.jitterBufferDelay,
        end.jitterBufferEmittedCount - middle.jitterBufferEmittedCount,
      ),
      seconds: opts.steadySeconds,
    };
    log(
      `steady ${opts.steadySeconds} s: ${steady.jitterBufferDelayMsPerFrame.toFixed(1)} ms/frame in the jitter buffer ` +
        `(second half ${steady.jitterBufferDelayMsPerFrameSecondHalf.toFixed(1)}), ${steady.framesDecoded} frames, ` +
        `${steady.freezeCount} freezes (${steady.totalFreezesDurationS.toFixed(2)} s)`,
    );
    return {
      fastStart: opts.fastStart,
      ttffMs,
      answerMs,
      connectedMs,
      p50: quantile(ttffMs, 0.5),
      p95: quantile(ttffMs, 0.95),
      steady,
    };
  } finally {
    await chromium.close();
  }
}
