import type { ServerMetrics } from "../../bench/bench-node-red";
import { slope } from "../../bench/stats";
import { ViewerHostClient } from "../../bench/viewer-host-client";
import {
  compareResources,
  mb,
  message,
  quietMetrics,
  type Relay,
  type ScenarioOptions,
  type ScenarioResult,
  serverSideConnected,
  startRelay,
  viewersSettle,
} from "./harness";

// Viewers that come and go: join/leave cycles in every way a viewer leaves (WHEP DELETE as the player
// page does; a DTLS close_notify without DELETE, as a browser's pc.close(); a vanished socket, as a
// killed tab), then RSS, heap after gc, UDP and TCP sockets and timers back to baseline once the
// server has reaped them all. How long each kind of leave takes to be reaped is measured on a
// second webrtc-out node of the same camera, so that the cycles' own viewers do not blur it.

export interface ViewerCyclesOptions extends ScenarioOptions {
  /** Join/leave cycles (one viewer each). */
  readonly cycles: number;
  /** Viewers joining (and then leaving) together. Default 10. */
  readonly batch?: number;
  /**
   * Most viewers the server may hold at once, vanished ones included (they stay 30 s): the cycles wait
   * for reaping past it. Default 50.
   */
  readonly maxHeld?: number;
  /**
   * Cycles of the same pattern before the baseline: the allocator's high-water mark (RSS seldom
   * shrinks back, and it follows the most viewers held at once) belongs in it, so that RSS measures
   * what the cycles leave behind. Default a fifth of `cycles`, and enough to reach `maxHeld` held
   * (three times it: one batch in three leaves abruptly), but never more than `cycles`.
   */
  readonly warmupCycles?: number;
  /**
   * How the warm-up's viewers leave. Default all three ways; the suite leaves out "abrupt" so that it
   * waits out consent expiry once (in the measured cycles), not twice.
   */
  readonly warmupLeaves?: readonly Leave[];
}

export type Leave = "delete" | "notify" | "abrupt";
const LEAVES: readonly Leave[] = ["abrupt", "delete", "notify"];

/** RFC 7675's 30 s consent expiry, and the server's own sweeps on top. */
const ABRUPT_REAP_LIMIT_MS = 40_000;
/** A leave the server is told of (DELETE, close_notify) is reaped at once. */
const TOLD_REAP_LIMIT_MS = 2000;

const round2 = (n: number): number => (Number.isFinite(n) ? Math.round(n * 100) / 100 : Number.NaN);

const CYCLES_PATH = "cycles";
const PROBE_PATH = "probe";

/** One viewer on the probe path, left in `how`; the ms until the server no longer holds it. */
async function reapTime(relay: Relay, host: ViewerHostClient, how: Leave): Promise<number> {
  const whep = `${relay.base}/${PROBE_PATH}/whep`;
  if ((await host.join(1, whep, { whep: true })) !== 1) throw new Error("the probe viewer did not connect");
  await viewersSettle(relay, PROBE_PATH, 1, 5000);
  await serverSideConnected(relay, PROBE_PATH, 5000);
  await host.leave(1, { abrupt: how === "abrupt", delete: how === "delete" });
  return viewersSettle(relay, PROBE_PATH, 0, ABRUPT_REAP_LIMIT_MS + 10_000);
}

interface PassFigures {
  joined: number;
  failedJoins: number;
  peak: number;
  ms: number;
  /** RSS (MB) by cycles done. */
  rss: { x: number; y: number }[];
}

/**
 * `cycles` join/leave cycles in batches, each batch leaving in the next way of LEAVES (vanished
 * first: their reaping takes longest), then until the server holds none.
 */
async function cyclePass(
  relay: Relay,
  host: ViewerHostClient,
  cycles: number,
  batch: number,
  maxHeld: number,
  log: (line: string) => void,
  leaves: readonly Leave[] = LEAVES,
): Promise<PassFigures> {
  const whep = `${relay.base}/${CYCLES_PATH}/whep`;
  const offer = `${relay.base}/${CYCLES_PATH}/offer`;
  const pass: PassFigures = { joined: 0, failedJoins: 0, peak: 0, ms: 0, rss: [] };
  const started = performance.now();
  for (let done = 0, round = 0; done < cycles; round++) {
    const n = Math.min(batch, cycles - done);
    const how = leaves[round % leaves.length] as Leave;
    // The offer form and WHEP both: only a WHEP viewer can be DELETEd.
    const viaWhep = how === "delete" || round % 2 === 0;
    await viewersSettle(relay, CYCLES_PATH, maxHeld - n, ABRUPT_REAP_LIMIT_MS + 10_000, true);
    const got = await host.join(n, viaWhep ? whep : offer, { whep: viaWhep });
    pass.joined += got;
    pass.failedJoins += n - got;
    await serverSideConnected(relay, CYCLES_PATH, 10_000);
    pass.peak = Math.max(pass.peak, (await relay.viewers(CYCLES_PATH))?.length ?? 0);
    await host.leave("all", { abrupt: how === "abrupt", delete: how === "delete" });
    done += n;
    if (round % 5 === 4) {
      const { rssBytes } = await relay.nodeRed.metrics();
      pass.rss.push({ x: done, y: rssBytes / 1024 / 1024 });
      log(`${done} cycles, ${pass.peak} viewers held at most so far, RSS ${mb(rssBytes)} MB`);
    }
  }
  pass.ms = performance.now() - started;
  await viewersSettle(relay, CYCLES_PATH, 0, ABRUPT_REAP_LIMIT_MS + 20_000);
  return pass;
}

function describe(label: string, m: ServerMetrics): string {
  return `${label}: RSS ${mb(m.rssBytes)} MB, heap ${mb(m.heapUsedBytes)}/${mb(m.heapTotalBytes)} MB, external ${mb(m.externalBytes)} MB, ${JSON.stringify(m.resources)}`;
}

export async function viewerCyclesScenario(opts: ViewerCyclesOptions): Promise<ScenarioResult> {
  const name = `viewers: ${opts.cycles} join/leave cycles`;
  const batch = opts.batch ?? 10;
  const maxHeld = Math.max(batch, opts.maxHeld ?? 50);
  const warmup =
    opts.warmupCycles ?? Math.min(opts.cycles, Math.max(3 * maxHeld, Math.round(opts.cycles / 5)));
  const { log } = opts;
  const relay = await startRelay({
    outputs: [
      { path: CYCLES_PATH, camera: 0 },
      { path: PROBE_PATH, camera: 0 },
    ],
    log,
  });
  const host = new ViewerHostClient(log);
  const probeHost = new ViewerHostClient(log);
  const figures: Record<string, string | number> = {};
  const failures: string[] = [];
  try {
    const cold = await quietMetrics(relay);
    log(describe("before any viewer", cold));
    const warm = await cyclePass(relay, host, warmup, batch, maxHeld, log, opts.warmupLeaves);
    await probeHost.join(1, `${relay.base}/${PROBE_PATH}/offer`);
    await serverSideConnected(relay, PROBE_PATH, 5000);
    await probeHost.leave("all");
    await viewersSettle(relay, PROBE_PATH, 0, 5000);
    const base = await quietMetrics(relay);
    log(describe(`baseline after ${warm.joined} warm-up cycles`, base));

    // The reap probes run beside the cycles: the abrupt one waits out consent expiry meanwhile.
    const probes = (async () => {
      const delete_ = await reapTime(relay, probeHost, "delete");
      const notify = await reapTime(relay, probeHost, "notify");
      const abrupt = await reapTime(relay, probeHost, "abrupt");
      return { delete: delete_, notify, abrupt };
    })();
    probes.catch(() => {});
    const pass = await cyclePass(relay, host, opts.cycles, batch, maxHeld, log);
    const reap = await probes;
    await viewersSettle(relay, PROBE_PATH, 0, 5000);
    const after = await quietMetrics(relay);
    log(describe("after", after));

    const comparison = compareResources(base, after);
    Object.assign(figures, {
      cycles: pass.joined,
      warmupCycles: warm.joined,
      failedJoins: pass.failedJoins + warm.failedJoins,
      cyclesPerSecond: round2((pass.joined / pass.ms) * 1000),
      peakViewersHeld: pass.peak,
      reapDeleteMs: reap.delete,
      reapCloseNotifyMs: reap.notify,
      reapAbruptS: round2(reap.abrupt / 1000),
      ...comparison.figures,
      rssSlopeMBPer100Cycles: round2(slope(pass.rss) * 100),
      rssBeforeAnyViewerMB: mb(cold.rssBytes),
    });
    failures.push(...comparison.failures);
    // The warm-up's first viewers pay for werift's code and certificates: against the cold process,
    // only what must come back exactly.
    if (after.udpSockets !== cold.udpSockets)
      failures.push(`UDP sockets ${cold.udpSockets} → ${after.udpSockets} from the start`);
    if (figures.failedJoins !== 0) failures.push(`${figures.failedJoins} joins failed`);
    if (reap.delete > TOLD_REAP_LIMIT_MS) failures.push(`a DELETEd viewer took ${reap.delete} ms to go`);
    if (reap.notify > TOLD_REAP_LIMIT_MS) failures.push(`a close_notify took ${reap.notify} ms to reap`);
    if (reap.abrupt > ABRUPT_REAP_LIMIT_MS) failures.push(`a vanished viewer took ${reap.abrupt} ms to reap`);
  } catch (error) {
    failures.push(message(error));
    log(`Node-RED's output ends:\n${relay.nodeRed.output().slice(-3000)}`);
  } finally {
    await Promise.all([host.exit(), probeHost.exit()]);
    await relay.stop();
  }
  if (failures.length > 0) figures.failures = failures.join("; ");
  return { name, result: failures.length === 0 ? "pass" : "fail", figures };
}
