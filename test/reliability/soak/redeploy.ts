import { slope } from "../../bench/stats";
import { ViewerHostClient } from "../../bench/viewer-host-client";
import {
  compareResources,
  mb,
  message,
  type Output,
  quietMetrics,
  type Relay,
  relayFlow,
  round,
  type ScenarioOptions,
  type ScenarioResult,
  serverSideConnected,
  startRelay,
} from "./harness";

// Full redeploys through the admin API (POST /flows, Node-RED-Deployment-Type: full, what the
// editor's Deploy button sends) of a flow with two cameras and two webrtc-out nodes, with viewers
// connected every time. One node moves to a new path at every deploy: each path left behind must
// answer 404 (its route is gone from the router's map). After every deploy the server holds exactly
// the viewers of that deploy, every one on the shared ICE port (Node-RED's default webrtcOut.icePort,
// closed and opened again by each full deploy): no UDP socket of their own; at the end, with the
// viewers gone, sockets, outbound TCP connections, timers, heap and RSS are back to the first deploy's.
// test/node/webrtc-out.test.ts redeploys one node in-process with node-red-node-test-helper; this
// runs Node-RED itself, as users do.

export interface RedeployOptions extends ScenarioOptions {
  readonly redeploys: number;
  /** Viewers connected to each webrtc-out during each deploy. Default 2. */
  readonly viewersPerOutput?: number;
}

const FIXED_PATH = "fixed";
const movingPath = (deploy: number): string => `moving-${deploy}`;

function outputs(deploy: number): Output[] {
  return [
    { path: movingPath(deploy), camera: 0 },
    { path: FIXED_PATH, camera: 1 },
  ];
}

async function status(url: string): Promise<number> {
  const res = await fetch(url);
  await res.arrayBuffer();
  return res.status;
}

/** Connects `perOutput` viewers to each output of `deploy`; throws unless all do. */
async function joinAll(
  relay: Relay,
  host: ViewerHostClient,
  deploy: number,
  perOutput: number,
): Promise<void> {
  for (const { path } of outputs(deploy)) {
    const joined = await host.join(perOutput, `${relay.base}/${path}/offer`);
    if (joined !== perOutput)
      throw new Error(`deploy ${deploy}: ${joined} of ${perOutput} viewers joined /${path}`);
    await serverSideConnected(relay, path, 10_000);
  }
}

export async function redeployScenario(opts: RedeployOptions): Promise<ScenarioResult> {
  const name = `redeploy ×${opts.redeploys} with viewers`;
  const perOutput = opts.viewersPerOutput ?? 2;
  const { log } = opts;
  const relay = await startRelay({ cameras: 2, outputs: outputs(0), log });
  const host = new ViewerHostClient(log);
  const figures: Record<string, string | number> = {};
  const failures: string[] = [];
  const flow = (deploy: number): object[] => relayFlow(relay.cameraUrls, outputs(deploy));
  let deployed = 0;
  try {
    // Deploy 0 warms up (werift, the JIT) with viewers; its redeploy gives the baseline.
    await joinAll(relay, host, 0, perOutput);
    await relay.deploy(flow(1));
    await host.leave("all", { abrupt: true });
    deployed = 1;
    await relay.streamsArriving(outputs(1).map((o) => o.path));
    const base = await quietMetrics(relay);
    log(
      `baseline: RSS ${mb(base.rssBytes)} MB, heap ${mb(base.heapUsedBytes)} MB, ${JSON.stringify(base.resources)}`,
    );

    const rss: { x: number; y: number }[] = [];
    const deployMs: number[] = [];
    for (let i = 1; i <= opts.redeploys; i++) {
      if (i > 1) {
        const started = performance.now();
        await relay.deploy(flow(i));
        deployed = i;
        // The previous deploy's viewers were closed by the server; their client ends go now.
        await host.leave("all", { abrupt: true });
        await relay.streamsArriving(outputs(i).map((o) => o.path));
        deployMs.push(performance.now() - started);
      }
      const gone = await status(`${relay.base}/${movingPath(i - 1)}/stats`);
      if (gone !== 404) failures.push(`deploy ${i}: /${movingPath(i - 1)} answers ${gone}, not 404`);
      await joinAll(relay, host, i, perOutput);
      const metrics = await relay.nodeRed.metrics({ gc: true });
      rss.push({ x: i, y: metrics.rssBytes / 1024 / 1024 });
      const held = await Promise.all(
        outputs(i).map(async (o) => (await relay.viewers(o.path))?.length ?? -1),
      );
      // The shared port is in the baseline already; viewers add no socket.
      const expectedUdp = base.udpSockets;
      if (held.some((n) => n !== perOutput) || metrics.udpSockets !== expectedUdp) {
        failures.push(
          `deploy ${i}: viewers ${held.join("+")} (want ${perOutput} each), UDP sockets ${metrics.udpSockets} (want ${expectedUdp})`,
        );
      }
      if (i % 10 === 0 || i === opts.redeploys) {
        log(
          `deploy ${i}: RSS ${mb(metrics.rssBytes)} MB, heap ${mb(metrics.heapUsedBytes)} MB, ${JSON.stringify(metrics.resources)}`,
        );
      }
      if (failures.length > 5) break;
    }

    // Every path ever left behind is gone; the last one still serves.
    const stale: string[] = [];
    for (let i = 0; i < deployed; i++) {
      if ((await status(`${relay.base}/${movingPath(i)}`)) !== 404) stale.push(movingPath(i));
    }
    if (stale.length > 0)
      failures.push(`paths still served after their node was removed: ${stale.join(", ")}`);
    const live = await status(`${relay.base}/${movingPath(deployed)}/stats`);
    if (live !== 200) failures.push(`the live path /${movingPath(deployed)} answers ${live}`);

    // One more deploy without viewers afterwards: what is left is what the redeploys left.
    await relay.deploy(flow(deployed + 1));
    await host.leave("all", { abrupt: true });
    await relay.streamsArriving(outputs(deployed + 1).map((o) => o.path));
    const after = await quietMetrics(relay);
    log(
      `after: RSS ${mb(after.rssBytes)} MB, heap ${mb(after.heapUsedBytes)} MB, ${JSON.stringify(after.resources)}`,
    );
    const comparison = compareResources(base, after);
    const sorted = [...deployMs].sort((a, b) => a - b);
    Object.assign(figures, {
      redeploys: deployed,
      viewersPerDeploy: 2 * perOutput,
      deployToStreamMsP50: Math.round(sorted[Math.floor(sorted.length / 2)] ?? Number.NaN),
      rssSlopeMBPer100Redeploys: round(slope(rss) * 100, 2),
      ...comparison.figures,
    });
    failures.push(...comparison.failures);
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
