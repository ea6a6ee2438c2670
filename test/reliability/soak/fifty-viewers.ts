import { ViewerHostClient } from "../../bench/viewer-host-client";
import {
  MemoryTrend,
  mb,
  message,
  round,
  type ScenarioOptions,
  type ScenarioResult,
  serverSideConnected,
  sleep,
  startRelay,
} from "./harness";

// The long one: a camera relayed to 50 light viewers for `durationMs`. The server's RSS and heap
// after gc are sampled all along (slopes in MB/h); delivery is what the viewers received against
// what they should have (by RTP sequence numbers, and against the camera's own count).

export interface SteadyViewersOptions extends ScenarioOptions {
  /** Default 50. */
  readonly viewers?: number;
  /** Between memory samples. Default durationMs / 60, at least 1 s. */
  readonly sampleEveryMs?: number;
}

/** Delivery the issue asks for. */
const MIN_DELIVERY = 0.995;
/** Heap after gc at the end against the first sample: flat within 10 %. */
const MAX_HEAP_GROWTH = 0.1;

export async function steadyViewersScenario(opts: SteadyViewersOptions): Promise<ScenarioResult> {
  const count = opts.viewers ?? 50;
  const name = `${count} viewers for ${round(opts.durationMs / 60_000)} min`;
  const every = opts.sampleEveryMs ?? Math.max(1000, opts.durationMs / 60);
  const { log } = opts;
  const relay = await startRelay({ log });
  const host = new ViewerHostClient(log);
  const figures: Record<string, string | number> = {};
  const failures: string[] = [];
  try {
    const joined = await host.join(count, `${relay.base}/cam1/offer`);
    if (joined !== count) throw new Error(`${joined} of ${count} viewers joined`);
    await serverSideConnected(relay, "cam1", 10_000);
    await sleep(3000);
    await host.reset();
    await relay.nodeRed.resetWindow();
    const sentBefore = relay.sentPackets();
    const trend = new MemoryTrend();
    const first = await relay.nodeRed.metrics({ gc: true });
    trend.add(first);
    const started = performance.now();
    let last = first;
    while (performance.now() - started < opts.durationMs) {
      await sleep(Math.min(every, Math.max(0, opts.durationMs - (performance.now() - started))));
      last = await relay.nodeRed.metrics({ gc: true });
      trend.add(last);
      if (trend.samples % 10 === 0) {
        log(
          `${round((performance.now() - started) / 60_000)} min: RSS ${mb(last.rssBytes)} MB, heap ${mb(last.heapUsedBytes)} MB, ${last.udpSockets} UDP sockets`,
        );
      }
    }
    const [stats, window] = await Promise.all([host.stats(), relay.nodeRed.metrics()]);
    const sent = relay.sentPackets() - sentBefore;
    const expectedBySequence = stats.total.packets + stats.total.lost;
    const bySequence = expectedBySequence > 0 ? stats.total.packets / expectedBySequence : 0;
    const byCamera = sent > 0 ? stats.total.packets / (sent * count) : 0;
    const heapGrowth = (last.heapUsedBytes - first.heapUsedBytes) / first.heapUsedBytes;
    Object.assign(figures, {
      minutes: round((performance.now() - started) / 60_000),
      viewersConnected: stats.connected,
      deliveryBySequence: `${round(bySequence * 100, 3)} %`,
      deliveryVsCamera: `${round(byCamera * 100, 3)} %`,
      packetsLost: stats.total.lost,
      rssSlopeMBPerHour: trend.rssSlopeMBPerHour(),
      heapSlopeMBPerHour: trend.heapSlopeMBPerHour(),
      rssMB: `${mb(first.rssBytes)} → ${mb(last.rssBytes)}`,
      heapMB: `${mb(first.heapUsedBytes)} → ${mb(last.heapUsedBytes)}`,
      serverCores: round(window.cpuCores, 3),
      eventLoopP99Ms: round(window.eventLoopDelayMs.p99, 1),
    });
    if (stats.connected !== count) failures.push(`${stats.connected} of ${count} viewers still connected`);
    if (bySequence < MIN_DELIVERY)
      failures.push(`delivery ${figures.deliveryBySequence} by sequence numbers`);
    // The relay may add packets (parameter sets before keyframes, re-fragmented NAL units): not fewer.
    if (byCamera < MIN_DELIVERY)
      failures.push(`delivery ${figures.deliveryVsCamera} of the camera's packets`);
    if (heapGrowth > MAX_HEAP_GROWTH) failures.push(`heap after gc grew ${round(heapGrowth * 100)} %`);
  } catch (error) {
    failures.push(message(error));
    log(`Node-RED's output ends:\n${relay.nodeRed.output().slice(-3000)}`);
  } finally {
    await host.exit();
    await relay.stop();
  }
  if (failures.length > 0) figures.failures = failures.join("; ");
  return { name, result: failures.length === 0 ? "pass" : "fail", figures };
}
