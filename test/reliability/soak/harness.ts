import { DemoCamera } from "../../../src/demo/demo-camera";
import { type BenchNodeRed, type ServerMetrics, startBenchNodeRed } from "../../bench/bench-node-red";
import { slope } from "../../bench/stats";
import { waitFor } from "../../helpers/wait";

// What the long scenarios share: the summary row they resolve to, and the relay under test: demo
// cameras (in this process) feeding rtsp-in → webrtc-out in a real Node-RED process that has the
// bench's metrics probe (RSS, heap after gc, active resources by kind).

export interface ScenarioOptions {
  /** How long the scenario runs (those that count cycles instead scale from their own options). */
  readonly durationMs: number;
  readonly log: (line: string) => void;
}

export interface ScenarioResult {
  readonly name: string;
  readonly result: "pass" | "fail";
  readonly figures: Record<string, string | number>;
}

export type Scenario = (opts: ScenarioOptions) => Promise<ScenarioResult>;

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
export const mb = (bytes: number): number => Math.round((bytes / 1024 / 1024) * 10) / 10;
export const round = (n: number, digits = 1): number =>
  Number.isFinite(n) ? Number(n.toFixed(digits)) : Number.NaN;

/** One webrtc-out node of the relay: its HTTP paths under Node-RED's root. */
export interface Output {
  readonly path: string;
  readonly camera: number;
}

export interface RelayOptions {
  /** Cameras, each an rtsp-in. Default 1. */
  readonly cameras?: number;
  /** webrtc-out nodes; default one per camera at /cam1, /cam2… */
  readonly outputs?: readonly Output[];
  readonly maxViewers?: number;
  readonly log?: (line: string) => void;
  readonly env?: Readonly<Record<string, string>>;
}

export interface ViewerSummary {
  readonly id: string;
  readonly state: string;
  readonly packetsSent: number;
  readonly nacks: number;
  readonly plis: number;
  readonly framesDropped: number;
  readonly fractionLost?: number;
}

export interface Relay {
  /** http://127.0.0.1:port (Node-RED's root: admin API and httpNode routes). */
  readonly base: string;
  readonly nodeRed: BenchNodeRed;
  readonly cameraUrls: readonly string[];
  /** Video packets the cameras have sent so far. */
  sentPackets(): number;
  /** The viewers a path's /stats lists (undefined when the path does not answer 200). */
  viewers(path: string): Promise<readonly ViewerSummary[] | undefined>;
  /** Deploys `flow` through the admin API (POST /flows, full deployment), as the editor's Deploy does. */
  deploy(flow: readonly object[]): Promise<void>;
  /** Until every path's stream is arriving. */
  streamsArriving(paths: readonly string[], timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** rtsp-in per camera, a webrtc-out per output: the product as users wire it. */
export function relayFlow(
  cameraUrls: readonly string[],
  outputs: readonly Output[],
  opts: { maxViewers?: number; tab?: string } = {},
): object[] {
  const tab = opts.tab ?? "soak";
  const nodes: object[] = [{ id: `${tab}-tab`, type: "tab", label: tab }];
  cameraUrls.forEach((url, i) => {
    const wires = outputs.flatMap((o, j) => (o.camera === i ? [`${tab}-out${j}`] : []));
    nodes.push({
      id: `${tab}-cam${i}`,
      z: `${tab}-tab`,
      type: "rtsp-in",
      name: `camera ${i + 1}`,
      url,
      transport: "tcp",
      media: "video",
      wires: [wires, []],
    });
  });
  outputs.forEach((o, j) => {
    nodes.push({
      id: `${tab}-out${j}`,
      z: `${tab}-tab`,
      type: "webrtc-out",
      name: o.path,
      path: o.path,
      maxViewers: opts.maxViewers ?? 500,
      // Every test viewer comes from 127.0.0.1, joining in batches.
      maxPending: 500,
      maxPerAddress: 500,
      hostAddresses: "127.0.0.1",
      statsInterval: 0,
      wires: [[]],
    });
  });
  return nodes;
}

/** Demo cameras and a Node-RED process relaying them (see relayFlow). */
export async function startRelay(opts: RelayOptions = {}): Promise<Relay> {
  const count = opts.cameras ?? 1;
  const outputs =
    opts.outputs ?? Array.from({ length: count }, (_, i) => ({ path: `cam${i + 1}`, camera: i }));
  let sent = 0;
  const onPacketSent = (): void => {
    sent++;
  };
  const cameras = Array.from({ length: count }, () => new DemoCamera({ port: 0, onPacketSent }));
  const cameraUrls: string[] = [];
  let nodeRed: BenchNodeRed | undefined;
  try {
    for (const camera of cameras) cameraUrls.push((await camera.start()).url);
    nodeRed = await startBenchNodeRed({
      flows: relayFlow(
        cameraUrls,
        outputs,
        opts.maxViewers === undefined ? {} : { maxViewers: opts.maxViewers },
      ),
      ...(opts.env === undefined ? {} : { env: opts.env }),
    });
  } catch (error) {
    await Promise.all(cameras.map((c) => c.close()));
    throw error;
  }
  const server = nodeRed;
  const base = `http://127.0.0.1:${server.port}`;
  const relay: Relay = {
    base,
    nodeRed: server,
    cameraUrls,
    sentPackets: () => sent,
    async viewers(path) {
      const res = await fetch(`${base}/${path}/stats`).catch(() => undefined);
      if (res?.status !== 200) {
        await res?.arrayBuffer();
        return undefined;
      }
      const body = (await res.json()) as { viewers?: ViewerSummary[] };
      return body.viewers ?? [];
    },
    async deploy(flow) {
      const res = await fetch(`${base}/flows`, {
        method: "POST",
        headers: { "Content-Type": "application/json", "Node-RED-Deployment-Type": "full" },
        body: JSON.stringify(flow),
      });
      const text = await res.text();
      if (res.status !== 204 && res.status !== 200) throw new Error(`POST /flows: ${res.status} ${text}`);
    },
    async streamsArriving(paths, timeoutMs = 30_000) {
      await waitFor(
        async () => {
          for (const p of paths) {
            const body = (await fetch(`${base}/${p}/stats`)
              .then((r) => r.json())
              .catch(() => undefined)) as { stream?: { sourceState?: string } } | undefined;
            if (body?.stream?.sourceState !== "receiving") return false;
          }
          return true;
        },
        timeoutMs,
        `the streams at ${paths.join(", ")}`,
      );
    },
    async stop() {
      await server.stop();
      await Promise.all(cameras.map((c) => c.close()));
    },
  };
  try {
    await relay.streamsArriving(outputs.map((o) => o.path));
  } catch (error) {
    const output = server.output().slice(-2000);
    await relay.stop();
    throw new Error(`${message(error)}; Node-RED's output ends:\n${output}`);
  }
  return relay;
}

/** Until `path` holds `count` viewers (or fewer, with `atMost`); resolves with the ms it took. */
export async function viewersSettle(
  relay: Relay,
  path: string,
  count: number,
  timeoutMs: number,
  atMost = false,
): Promise<number> {
  const started = performance.now();
  const deadline = started + timeoutMs;
  for (;;) {
    const held = (await relay.viewers(path))?.length;
    if (held !== undefined && (atMost ? held <= count : held === count)) break;
    if (performance.now() > deadline) {
      throw new Error(`/${path} holds ${held ?? "(no answer)"} viewers, not ${count}, after ${timeoutMs} ms`);
    }
    await sleep(50);
  }
  return Math.round(performance.now() - started);
}

/**
 * Until every viewer `path` holds is connected on the server's side too: a viewer that leaves the
 * moment its own DTLS handshake ends may beat the server's last handshake step, and its close_notify
 * is then lost (the server lets it go at consent expiry instead).
 */
export async function serverSideConnected(relay: Relay, path: string, timeoutMs: number): Promise<void> {
  await waitFor(
    async () => (await relay.viewers(path))?.every((v) => v.state === "connected") === true,
    timeoutMs,
    `every viewer at /${path} connected on the server's side`,
  );
}

/**
 * The server's figures after gc once its resource counts hold still (two readings a second apart
 * agree, at most `tries` readings): closing peer connections and HTTP keep-alives settle meanwhile.
 */
export async function quietMetrics(relay: Relay, tries = 8): Promise<ServerMetrics> {
  let previous = await relay.nodeRed.metrics({ gc: true });
  for (let i = 1; i < tries; i++) {
    await sleep(1000);
    const next = await relay.nodeRed.metrics({ gc: true });
    if (
      next.udpSockets === previous.udpSockets &&
      next.timers === previous.timers &&
      next.tcpOutbound === previous.tcpOutbound
    ) {
      return next;
    }
    previous = next;
  }
  return previous;
}

/** A count back to its baseline: within 10 %, and never more than 1 off for small counts. */
export function countBack(base: number, after: number): boolean {
  return Math.abs(after - base) <= Math.max(1, Math.ceil(base * 0.1));
}

/** A size back to its baseline: at most 10 % above it (below is memory given back, not a leak). */
export function sizeBack(base: number, after: number): boolean {
  return after <= base * 1.1;
}

export interface ResourceComparison {
  readonly figures: Record<string, string | number>;
  /** What is not back, one phrase each. */
  readonly failures: readonly string[];
}

/**
 * RSS, heap after gc, UDP sockets, outbound TCP connections, timers: after against base, as figures
 * and failures.
 */
export function compareResources(base: ServerMetrics, after: ServerMetrics): ResourceComparison {
  const failures: string[] = [];
  const pct = (b: number, a: number): string => `${b > 0 ? round(((a - b) / b) * 100) : 0} %`;
  const figures: Record<string, string | number> = {
    rssMB: `${mb(base.rssBytes)} → ${mb(after.rssBytes)} (${pct(base.rssBytes, after.rssBytes)})`,
    heapMB: `${mb(base.heapUsedBytes)} → ${mb(after.heapUsedBytes)} (${pct(base.heapUsedBytes, after.heapUsedBytes)})`,
    udpSockets: `${base.udpSockets} → ${after.udpSockets}`,
    tcpSockets: `${base.tcpSockets} → ${after.tcpSockets}`,
    tcpOutbound: `${base.tcpOutbound} → ${after.tcpOutbound}`,
    timers: `${base.timers} → ${after.timers}`,
  };
  if (!sizeBack(base.rssBytes, after.rssBytes)) failures.push(`RSS ${figures.rssMB}`);
  if (!sizeBack(base.heapUsedBytes, after.heapUsedBytes)) failures.push(`heap ${figures.heapMB}`);
  if (!countBack(base.udpSockets, after.udpSockets)) failures.push(`UDP sockets ${figures.udpSockets}`);
  // All TCP sockets are reported; HTTP keep-alive connections make that count drift, so the test is on
  // the connections the process opened itself (a camera's).
  if (base.tcpOutbound !== after.tcpOutbound) failures.push(`outbound TCP sockets ${figures.tcpOutbound}`);
  if (!countBack(base.timers, after.timers)) failures.push(`timers ${figures.timers}`);
  return { figures, failures };
}

/** Memory samples over time: slopes in MB per hour. */
export class MemoryTrend {
  private readonly rss: { x: number; y: number }[] = [];
  private readonly heap: { x: number; y: number }[] = [];
  private readonly start = performance.now();

  add(metrics: ServerMetrics): void {
    const hours = (performance.now() - this.start) / 3_600_000;
    this.rss.push({ x: hours, y: metrics.rssBytes / 1024 / 1024 });
    this.heap.push({ x: hours, y: metrics.heapUsedBytes / 1024 / 1024 });
  }

  get samples(): number {
    return this.rss.length;
  }

  rssSlopeMBPerHour(): number {
    return round(slope(this.rss), 2);
  }

  heapSlopeMBPerHour(): number {
    return round(slope(this.heap), 2);
  }
}

/** The error's message, for a figure. */
export function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
