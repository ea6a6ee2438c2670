import { setPriority } from "node:os";
import type { ViewerCounts } from "../../bench/protocol";
import { ViewerHostClient } from "../../bench/viewer-host-client";
import {
  mb,
  message,
  round,
  type ScenarioOptions,
  type ScenarioResult,
  serverSideConnected,
  sleep,
  startRelay,
  type ViewerSummary,
} from "./harness";

// One slow viewer among 20. The slow one is a full werift receiver (it sends NACKs, PLIs and
// receiver reports with loss, as a struggling browser does) in a process of its own that is stopped
// (SIGSTOP) most of the time and a tiny socket receive buffer: it reads at a fraction of the rate and
// the kernel drops the rest. The 19 others are measured twice over the same window length, first
// with that werift viewer reading normally, then with it slow: loss and interarrival jitter must not
// rise beyond noise. (The reference holds the werift viewer too: on two cores a full receiver takes
// CPU from the light ones' process, and their userland arrival stamps show that as jitter, slow or
// not.) The server's queue for the slow viewer must stay bounded: its RSS does not grow with the
// backlog.

export interface SlowViewerOptions extends ScenarioOptions {
  /** Viewers besides the slow one. Default 19. */
  readonly others?: number;
  /** The slow viewer's process runs this long... Default 50 ms. */
  readonly runMs?: number;
  /** ...then is stopped this long. Default 150 ms (it reads a quarter of the time). */
  readonly stopMs?: number;
  /** SO_RCVBUF of its sockets. Default 4 KiB (the kernel doubles it): a few packets. */
  readonly recvBufferBytes?: number;
}

interface Window {
  readonly lost: number;
  readonly packets: number;
  readonly jitterMeanMs: number;
  readonly jitterMaxMs: number;
}

function summarize(counts: readonly ViewerCounts[]): Window {
  const lost = counts.reduce((sum, c) => sum + c.lost, 0);
  const packets = counts.reduce((sum, c) => sum + c.packets, 0);
  const jitterMeanMs = counts.reduce((sum, c) => sum + (c.jitterMs ?? 0), 0) / Math.max(1, counts.length);
  const jitterMaxMs = Math.max(0, ...counts.map((c) => c.jitterMaxMs ?? 0));
  return { lost, packets, jitterMeanMs, jitterMaxMs };
}

/** Stops and continues a process by its id, `runMs` on and `stopMs` off, until stop() (which leaves it running). */
function throttle(pid: number, runMs: number, stopMs: number): { stop(): Promise<void> } {
  let running = true;
  const loop = (async () => {
    while (running) {
      process.kill(pid, "SIGSTOP");
      await sleep(stopMs);
      process.kill(pid, "SIGCONT");
      await sleep(runMs);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
    },
  };
}

export async function slowViewerScenario(opts: SlowViewerOptions): Promise<ScenarioResult> {
  const others = opts.others ?? 19;
  const name = `one slow viewer among ${others + 1}`;
  const windowMs = Math.max(3000, opts.durationMs / 2);
  const { log } = opts;
  const relay = await startRelay({ log });
  const host = new ViewerHostClient(log);
  const slowHost = new ViewerHostClient(log);
  const figures: Record<string, string | number> = {};
  const failures: string[] = [];
  const offer = `${relay.base}/cam1/offer`;
  /** A measurement window of the others and of the server's event loop. */
  const startWindow = () => Promise.all([host.reset(), relay.nodeRed.resetWindow()]);
  const readWindow = async () => ({
    others: summarize((await host.stats()).perViewer),
    loop: (await relay.nodeRed.metrics()).eventLoopDelayMs,
  });
  try {
    // The reference: the others, and the werift viewer while it still reads normally.
    const joined = await host.join(others, offer);
    if (joined !== others) throw new Error(`${joined} of ${others} viewers joined`);
    if ((await slowHost.join(1, offer, { kind: "werift" })) !== 1)
      throw new Error("the slow viewer did not join");
    const pid = slowHost.pid;
    if (pid === undefined) throw new Error("the slow viewer's process has no id");
    // Its own bursts of CPU after each SIGCONT are not the server's doing: lowest priority keeps
    // them from delaying the light viewers' arrival stamps on this two-core machine.
    setPriority(pid, 19);
    await serverSideConnected(relay, "cam1", 10_000);
    await sleep(2000);
    await startWindow();
    const rssBefore = (await relay.nodeRed.metrics()).rssBytes;
    await sleep(windowMs);
    const { others: reference, loop: referenceLoop } = await readWindow();

    await slowHost.setRecvBuffer(opts.recvBufferBytes ?? 4096);
    const throttling = throttle(pid, opts.runMs ?? 50, opts.stopMs ?? 150);
    let slowServerSide: ViewerSummary | undefined;
    let rssPeak = 0;
    let slow: ViewerCounts | undefined;
    try {
      await sleep(2000);
      // Two seconds into the throttle (its first NACKs answered): what grows from here on is what
      // its lag costs. Collected first, so that garbage is not counted as growth.
      const lagStart = await relay.nodeRed.metrics({ gc: true });
      await startWindow();
      const ends = performance.now() + windowMs;
      while (performance.now() < ends) {
        await sleep(Math.min(1000, Math.max(0, ends - performance.now())));
        rssPeak = Math.max(rssPeak, (await relay.nodeRed.metrics()).rssBytes);
      }
      const { others: withSlow, loop: withSlowLoop } = await readWindow();
      const lagEnd = await relay.nodeRed.metrics({ gc: true });
      const viewers = (await relay.viewers("cam1")) ?? [];
      // The werift viewer joined last; the light ones report no NACKs.
      slowServerSide = viewers.reduce<ViewerSummary | undefined>(
        (most, v) => (most === undefined || v.nacks + v.plis > most.nacks + most.plis ? v : most),
        undefined,
      );
      await throttling.stop();
      slow = (await slowHost.stats()).perViewer[0];

      Object.assign(figures, {
        windowS: round(windowMs / 1000),
        othersLostWithout: reference.lost,
        othersLostWith: withSlow.lost,
        othersPackets: `${reference.packets} / ${withSlow.packets}`,
        othersJitterMeanMs: `${round(reference.jitterMeanMs, 2)} → ${round(withSlow.jitterMeanMs, 2)}`,
        othersJitterMaxMs: `${round(reference.jitterMaxMs, 2)} → ${round(withSlow.jitterMaxMs, 2)}`,
        serverLoopP99Ms: `${round(referenceLoop.p99, 1)} → ${round(withSlowLoop.p99, 1)}`,
        slowReceivedPackets: slow?.packets ?? "?",
        slowServerState: slowServerSide?.state ?? "gone",
        slowNacks: slowServerSide?.nacks ?? 0,
        slowPlis: slowServerSide?.plis ?? 0,
        slowFramesDropped: slowServerSide?.framesDropped ?? 0,
        serverRssBeforeLagMB: mb(rssBefore),
        serverRssPeakMB: mb(rssPeak),
        serverRssWhileLaggingMB: `${mb(lagStart.rssBytes)} → ${mb(lagEnd.rssBytes)}`,
        serverHeapWhileLaggingMB: `${mb(lagStart.heapUsedBytes)} → ${mb(lagEnd.heapUsedBytes)}`,
      });
      if (withSlow.lost > reference.lost) {
        failures.push(
          `the others lost ${withSlow.lost} packets beside the slow viewer, ${reference.lost} without`,
        );
      }
      if (withSlow.lost > 0) failures.push(`the others lost ${withSlow.lost} packets`);
      // Jitter of a loopback stream is the camera's own pacing plus the stamping process's scheduling:
      // the slow viewer's stop-start alone moves the others' mean by 0.1–0.4 ms here (as much with
      // retransmissions turned off, so not the server's doing). Others held behind its 150 ms stops
      // would show tens of ms.
      if (withSlow.jitterMeanMs > reference.jitterMeanMs * 1.5 + 1) {
        failures.push(`the others' jitter rose: ${figures.othersJitterMeanMs} ms`);
      }
      if (withSlow.packets < reference.packets * 0.95) {
        failures.push(`the others received fewer packets: ${figures.othersPackets}`);
      }
      // Bounded: nothing queues for the slow viewer, so what its lag leaves behind is noise.
      const rssGrowth = lagEnd.rssBytes - lagStart.rssBytes;
      const heapGrowth = lagEnd.heapUsedBytes - lagStart.heapUsedBytes;
      if (rssGrowth > 20 * 1024 * 1024 || heapGrowth > 10 * 1024 * 1024) {
        failures.push(
          `the server grew ${mb(rssGrowth)} MB RSS, ${mb(heapGrowth)} MB heap while the slow viewer lagged`,
        );
      }
      if (slow === undefined || slow.packets === 0) failures.push("the slow viewer received nothing at all");
    } finally {
      await throttling.stop();
    }
  } catch (error) {
    failures.push(message(error));
    log(`Node-RED's output ends:\n${relay.nodeRed.output().slice(-3000)}`);
  } finally {
    await Promise.all([host.exit(), slowHost.exit()]);
    await relay.stop();
  }
  if (failures.length > 0) figures.failures = failures.join("; ");
  return { name, result: failures.length === 0 ? "pass" : "fail", figures };
}
