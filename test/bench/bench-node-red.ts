import { mkdirSync, symlinkSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { type AddressInfo, Socket } from "node:net";
import path from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { GCProfiler } from "node:v8";
import { type NodeRedProcess, PACKAGE_NAME, startNodeRed } from "../helpers/node-red-process";
import { ArrivalLog, type NodeRedHooks, recordWebrtcOutArrivals } from "./arrival-log";
import type { ArrivalSnapshot } from "./display-stats";
import type { ViewerTraces } from "./protocol";
import { SendTrace } from "./send-trace";

// A Node-RED process for the bench, and the probe inside it that reports what the process costs.
// The probe is the bench's own: its settings file starts it, the product knows nothing of it.

/** What a server process used over a measurement window (since the last reset) and holds now. */
export interface ServerMetrics {
  /** process.cpuUsage() delta over the window, µs. */
  readonly cpuUserUs: number;
  readonly cpuSystemUs: number;
  /** Wall-clock length of the window, µs. */
  readonly elapsedUs: number;
  /** (user + system) / elapsed: how many cores the process kept busy on average. */
  readonly cpuCores: number;
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
  /** V8's heap as reserved (used or not), and memory outside it that V8 knows of (Buffers...). */
  readonly heapTotalBytes: number;
  readonly externalBytes: number;
  /** True when a global.gc() ran just before heapUsed was read (asked for, and --expose-gc given). */
  readonly gcForced: boolean;
  /**
   * Garbage collections over the window, from V8's GC profiler: full (mark-compact) and young
   * (scavenge) ones, and their pauses on the main thread. A process that V8 keeps in back-to-back
   * full collections costs a third more per packet than one that only scavenges (see docs/BENCHMARKS.md).
   */
  readonly gc: { readonly full: number; readonly young: number; readonly pauseMs: number };
  /** Event-loop delay over the window (perf_hooks.monitorEventLoopDelay), ms; 0 without samples. */
  readonly eventLoopDelayMs: { readonly p50: number; readonly p99: number; readonly max: number };
  /** UDP sockets open now and not unref'd (each WebRTC viewer holds one). */
  readonly udpSockets: number;
  /** Resources keeping the event loop alive now (process.getActiveResourcesInfo()): sockets, timers... */
  readonly activeResources: number;
  /** Of those, timers ("Timeout") and TCP sockets ("TCPSocketWrap", "TCPServerWrap"). */
  readonly timers: number;
  readonly tcpSockets: number;
  /**
   * TCP connections this process opened (RTSP, MQTT...), leaving out those its servers accepted:
   * HTTP keep-alive connections come and go with the clients, a leaked camera connection stays.
   */
  readonly tcpOutbound: number;
  /** Every kind of active resource and how many (Node 22: "UDPWrap", "Timeout", "TCPSocketWrap"...). */
  readonly resources: Readonly<Record<string, number>>;
}

/** The probe's HTTP interface: GET /metrics (?gc=1 forces a collection first), POST /reset. */
export interface MetricsProbe {
  readonly port: number;
  close(): Promise<void>;
}

/** Sampling step of the event-loop delay histogram: fine enough for p99, cheap enough not to show. */
const LOOP_DELAY_RESOLUTION_MS = 10;

/** Connected TCP sockets without a server that accepted them (node:net sets `server` on those). */
function outboundTcpSockets(): number {
  // Undocumented but stable since Node 0.x; getActiveResourcesInfo() names kinds only.
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  return handles.filter(
    (h) => h instanceof Socket && (h as Socket & { server?: unknown }).server == null && !h.destroyed,
  ).length;
}

function countByName(names: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const name of names) counts[name] = (counts[name] ?? 0) + 1;
  return counts;
}

/** Takes the process's figures over windows that reset() starts. */
export class MetricsWindow {
  private readonly loopDelay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
  private cpuAtStart = process.cpuUsage();
  private startedAt = process.hrtime.bigint();
  private gcs = { full: 0, young: 0, pauseMs: 0 };
  /**
   * V8's GC profiler keeps its records outside the JS heap until stop(). perf_hooks "gc" entries, which
   * this used before, are JS objects made on every collection: at 100 viewers they were 12 % of the
   * bytes that outlived a scavenge in the window they counted.
   */
  private readonly gcProfiler = new GCProfiler();

  constructor() {
    this.loopDelay.enable();
    this.gcProfiler.start();
  }

  /** The collections since the profiler last started; it starts again at once. */
  private restartGcProfiler(): readonly { gcType: string; cost: number }[] {
    const record = this.gcProfiler.stop() as { statistics?: { gcType: string; cost: number }[] } | undefined;
    this.gcProfiler.start();
    return record?.statistics ?? [];
  }

  /** Adds the collections recorded since the last call to the window's counts. */
  private collectGcs(): void {
    for (const { gcType, cost } of this.restartGcProfiler()) {
      if (gcType === "MarkSweepCompact") this.gcs.full++;
      else if (gcType === "Scavenge" || gcType === "MinorMarkSweep") this.gcs.young++;
      this.gcs.pauseMs += cost / 1000;
    }
  }

  reset(): void {
    this.gcs = { full: 0, young: 0, pauseMs: 0 };
    this.loopDelay.reset();
    this.cpuAtStart = process.cpuUsage();
    this.startedAt = process.hrtime.bigint();
    this.restartGcProfiler();
  }

  read(opts: { gc?: boolean } = {}): ServerMetrics {
    const cpu = process.cpuUsage(this.cpuAtStart);
    this.collectGcs();
    const elapsedUs = Number(process.hrtime.bigint() - this.startedAt) / 1000;
    const gc = (globalThis as { gc?: () => void }).gc;
    const gcForced = opts.gc === true && typeof gc === "function";
    if (gcForced) gc();
    const memory = process.memoryUsage();
    const resources = process.getActiveResourcesInfo();
    const sampled = this.loopDelay.count > 0;
    // The histogram holds each sampling timer's whole interval (resolution + delay): keep the delay.
    const ms = (ns: number): number => (sampled ? Math.max(0, ns / 1e6 - LOOP_DELAY_RESOLUTION_MS) : 0);
    return {
      cpuUserUs: cpu.user,
      cpuSystemUs: cpu.system,
      elapsedUs,
      cpuCores: elapsedUs > 0 ? (cpu.user + cpu.system) / elapsedUs : 0,
      rssBytes: memory.rss,
      heapUsedBytes: memory.heapUsed,
      heapTotalBytes: memory.heapTotal,
      externalBytes: memory.external,
      gcForced,
      gc: { ...this.gcs },
      eventLoopDelayMs: {
        p50: ms(this.loopDelay.percentile(50)),
        p99: ms(this.loopDelay.percentile(99)),
        max: ms(this.loopDelay.max),
      },
      udpSockets: resources.filter((name) => name.toUpperCase() === "UDPWRAP").length,
      activeResources: resources.length,
      timers: resources.filter((name) => name === "Timeout").length,
      tcpSockets: resources.filter((name) => name.startsWith("TCP")).length,
      tcpOutbound: outboundTcpSockets(),
      resources: countByName(resources),
    };
  }

  close(): void {
    this.gcProfiler.stop();
    this.loopDelay.disable();
  }
}

/** This process's sends to traced viewers (one trace at a time per process). */
const sendTrace = new SendTrace();

/**
 * Answers GET /metrics and POST /reset for `window`, and POST /trace/start?ports=a,b and
 * POST /trace/stop for the process's send trace. Returns true when it answered.
 */
export function answerMetrics(
  metricsWindow: MetricsWindow,
  method: string | undefined,
  url: string | undefined,
  reply: (status: number, body: unknown) => void,
): boolean {
  const parsed = new URL(url ?? "/", "http://probe.invalid");
  if (parsed.pathname === "/trace/start" && method === "POST") {
    sendTrace.start((parsed.searchParams.get("ports") ?? "").split(",").filter(Boolean).map(Number));
    reply(204, undefined);
    return true;
  }
  if (parsed.pathname === "/trace/stop" && method === "POST") {
    reply(200, { traces: sendTrace.stop() });
    return true;
  }
  if (parsed.pathname === "/metrics" && method === "GET") {
    reply(200, metricsWindow.read({ gc: parsed.searchParams.get("gc") === "1" }));
    return true;
  }
  if (parsed.pathname === "/reset" && method === "POST") {
    metricsWindow.reset();
    reply(204, undefined);
    return true;
  }
  return false;
}

/** V8's sampling profiler in this process, through the inspector (what --cpu-prof writes, on demand). */
class CpuProfiler {
  private session: import("node:inspector").Session | undefined;

  private post(method: string, params?: object): Promise<unknown> {
    const session = this.session;
    if (!session) return Promise.reject(new Error("not profiling"));
    return new Promise((resolve, reject) =>
      session.post(method, params ?? {}, (error, result) => (error ? reject(error) : resolve(result))),
    );
  }

  async start(): Promise<void> {
    const { Session } = await import("node:inspector");
    this.session = new Session();
    this.session.connect();
    await this.post("Profiler.enable");
    await this.post("Profiler.setSamplingInterval", { interval: 200 });
    await this.post("Profiler.start");
  }

  async stop(): Promise<unknown> {
    const { profile } = (await this.post("Profiler.stop")) as { profile: unknown };
    this.session?.disconnect();
    this.session = undefined;
    return profile;
  }
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/**
 * Node-RED's hooks API in this process: red.js (the main module) loaded lib/red.js before it
 * read the settings file that starts the probe.
 */
function nodeRedHooks(): NodeRedHooks {
  const red = require.main?.require("./lib/red.js") as { hooks?: NodeRedHooks } | undefined;
  if (red?.hooks === undefined) throw new Error("not in a Node-RED process: no RED.hooks");
  return red.hooks;
}

/**
 * Starts the probe in this process on 127.0.0.1 at a free port. Its server is unref'd: it never
 * keeps the process alive (Node-RED exits on SIGINT as it would without it). With `arrivals`, it
 * records when webrtc-out receives each video frame (GET /arrivals): a messaging hook, which every
 * message then passes through, so only the sections that read it ask for it.
 */
export async function startMetricsProbe(opts: { arrivals?: boolean } = {}): Promise<MetricsProbe> {
  const metricsWindow = new MetricsWindow();
  const profiler = new CpuProfiler();
  const arrivals = opts.arrivals === true ? new ArrivalLog() : undefined;
  const stopArrivals = arrivals === undefined ? () => {} : recordWebrtcOutArrivals(nodeRedHooks(), arrivals);
  const server = createServer((req, res) => {
    const reply = (status: number, body: unknown): void => {
      if (body === undefined) {
        res.writeHead(status).end();
        return;
      }
      res.writeHead(status, { "Content-Type": "application/json" }).end(JSON.stringify(body));
    };
    // Drain the request body (POST /reset sends none, but a client may).
    req.resume();
    req.once("end", () => {
      if (answerMetrics(metricsWindow, req.method, req.url, reply)) return;
      if (req.method === "GET" && req.url === "/arrivals" && arrivals !== undefined) {
        reply(200, arrivals.snapshot());
        return;
      }
      if (req.method === "POST" && req.url === "/profile/start") {
        profiler.start().then(
          () => reply(204, undefined),
          (error: Error) => reply(500, { error: error.message }),
        );
        return;
      }
      if (req.method === "POST" && req.url === "/profile/stop") {
        profiler.stop().then(
          (profile) => reply(200, profile),
          (error: Error) => reply(500, { error: error.message }),
        );
        return;
      }
      reply(404, { error: "not found" });
    });
  });
  const port = await listen(server);
  server.unref();
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        metricsWindow.close();
        stopArrivals();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The line the probe prints on stdout inside Node-RED, and how the bench finds its port there. */
const PROBE_LINE = "bench metrics probe on http://127.0.0.1:";
const PROBE_PORT = /bench metrics probe on http:\/\/127\.0\.0\.1:(\d+)/;

/** Code for the settings file: starts the probe (compiled from this module) as Node-RED loads its settings. */
function probeStarter(arrivals: boolean): string {
  return (
    `require(${JSON.stringify(__filename)}).startMetricsProbe({ arrivals: ${arrivals} }).then(\n` +
    `  (probe) => console.log(${JSON.stringify(PROBE_LINE)} + probe.port),\n` +
    `  (error) => console.error("bench metrics probe failed: " + error.message),\n` +
    ");\n"
  );
}

/** A client of a probe (in Node-RED or in the baseline) at `base` ("http://127.0.0.1:port"). */
export interface MetricsClient {
  /** The window's figures; `gc: true` forces a garbage collection before heapUsed is read. */
  metrics(opts?: { gc?: boolean }): Promise<ServerMetrics>;
  /** Starts a new window: CPU, elapsed time and event-loop delay count from now. */
  resetWindow(): Promise<void>;
  /** Starts V8's CPU profiler in the process (Node-RED's probe only). */
  startProfile(): Promise<void>;
  /** Stops it; the profile, as a .cpuprofile file holds it. */
  stopProfile(): Promise<unknown>;
  /** Stamps the RTP the process sends to these UDP ports from now (see SendTrace). */
  startSendTrace(ports: readonly number[]): Promise<void>;
  /** Stops; a trace per port, in the order given. */
  stopSendTrace(): Promise<ViewerTraces>;
}

export function metricsClient(base: string): MetricsClient {
  return {
    async metrics(opts = {}) {
      const res = await fetch(`${base}/metrics${opts.gc === true ? "?gc=1" : ""}`);
      if (!res.ok) throw new Error(`GET ${base}/metrics: ${res.status}`);
      return (await res.json()) as ServerMetrics;
    },
    async resetWindow() {
      const res = await fetch(`${base}/reset`, { method: "POST" });
      if (!res.ok) throw new Error(`POST ${base}/reset: ${res.status}`);
    },
    async startProfile() {
      const res = await fetch(`${base}/profile/start`, { method: "POST" });
      if (!res.ok) throw new Error(`POST ${base}/profile/start: ${res.status}`);
    },
    async stopProfile() {
      const res = await fetch(`${base}/profile/stop`, { method: "POST" });
      if (!res.ok) throw new Error(`POST ${base}/profile/stop: ${res.status}`);
      return res.json();
    },
    async startSendTrace(ports) {
      const res = await fetch(`${base}/trace/start?ports=${ports.join(",")}`, { method: "POST" });
      if (!res.ok) throw new Error(`POST ${base}/trace/start: ${res.status}`);
    },
    async stopSendTrace() {
      const res = await fetch(`${base}/trace/stop`, { method: "POST" });
      if (!res.ok) throw new Error(`POST ${base}/trace/stop: ${res.status}`);
      return ((await res.json()) as { traces: ViewerTraces }).traces;
    },
  };
}

export interface BenchNodeRedOptions {
  /** The flows to deploy (a tab and its nodes). */
  readonly flows: readonly object[];
  /** Run node with --expose-gc, so that metrics({ gc: true }) can force a collection. Default true. */
  readonly exposeGc?: boolean;
  /** Further options for node (V8's heap sizes, for one). */
  readonly nodeFlags?: readonly string[];
  /** "node-red" (5, the default) or "node-red-4". */
  readonly runtime?: string;
  /** Node-RED's log level; "info" at least, since the start is found by its "Server now running" line. */
  readonly logLevel?: "info" | "debug" | "trace";
  readonly startTimeoutMs?: number;
  /** Variables added to Node-RED's environment (e.g. MALLOC_ARENA_MAX). */
  readonly env?: Readonly<Record<string, string>>;
  /** settings.js `webrtcOut` (the shared ICE port's settings, for one); Node-RED's defaults without. */
  readonly webrtcOut?: Readonly<Record<string, unknown>>;
  /** Record when webrtc-out receives each video frame, for arrivals(). Default false. */
  readonly recordArrivals?: boolean;
  /** Another built checkout of this package to install instead of this one (bench --compare). */
  readonly packageDir?: string;
}

export interface BenchNodeRed extends MetricsClient {
  /** Node-RED's HTTP port (editor, admin API, httpNode routes at the root), on 127.0.0.1. */
  readonly port: number;
  readonly pid: number | undefined;
  /** The probe's base URL: GET /metrics, POST /reset. */
  readonly metricsBase: string;
  /** When webrtc-out received each video frame (recordArrivals only). */
  arrivals(): Promise<ArrivalSnapshot>;
  /** Everything Node-RED printed so far. */
  output(): string;
  /** Stops Node-RED (flows closed, then exit); its exit code. */
  stop(): Promise<number | null>;
}

/** Settings as users have them (editor on, httpNode at the root), plus the probe. */
function benchSettings(
  logLevel: string,
  webrtcOut: Readonly<Record<string, unknown>> | undefined,
  arrivals: boolean,
): string {
  return `${probeStarter(arrivals)}
module.exports = {
  uiHost: "127.0.0.1",
  flowFile: "flows.json",
  credentialSecret: false,
  telemetry: { enabled: false },
  editorTheme: { tours: false, projects: { enabled: false } },
  logging: { console: { level: ${JSON.stringify(logLevel)}, metrics: false, audit: false } },${
    webrtcOut === undefined ? "" : `\n  webrtcOut: ${JSON.stringify(webrtcOut)},`
  }
};
`;
}

async function probePort(nodeRed: NodeRedProcess, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = PROBE_PORT.exec(nodeRed.output());
    if (match) return Number(match[1]);
    if (Date.now() > deadline) throw new Error(`no metrics probe in Node-RED's output:\n${nodeRed.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Installs the checkout at `dir` in a user directory, as a symlink (what startNodeRed does with this one). */
function linkPackage(dir: string): (userDir: string) => void {
  return (userDir) => {
    const link = path.join(userDir, "node_modules", PACKAGE_NAME);
    mkdirSync(path.dirname(link), { recursive: true });
    symlinkSync(path.resolve(dir), link, "dir");
  };
}

/**
 * A real Node-RED process (test/helpers/node-red-process.ts) with this package installed, the given
 * flows deployed, and the bench's metrics probe inside it.
 */
export async function startBenchNodeRed(opts: BenchNodeRedOptions): Promise<BenchNodeRed> {
  const nodeRed = await startNodeRed(
    {
      runtime: opts.runtime ?? "node-red",
      settings: benchSettings(opts.logLevel ?? "info", opts.webrtcOut, opts.recordArrivals === true),
      flows: opts.flows,
      nodeArgs: [...(opts.exposeGc === false ? [] : ["--expose-gc"]), ...(opts.nodeFlags ?? [])],
      ...(opts.env === undefined ? {} : { env: opts.env }),
      ...(opts.packageDir === undefined ? {} : { installPackage: linkPackage(opts.packageDir) }),
    },
    opts.startTimeoutMs,
  );
  let port: number;
  try {
    port = await probePort(nodeRed, 5000);
  } catch (error) {
    await nodeRed.stop();
    throw error;
  }
  const metricsBase = `http://127.0.0.1:${port}`;
  return {
    ...metricsClient(metricsBase),
    port: nodeRed.port,
    pid: nodeRed.pid,
    metricsBase,
    async arrivals() {
      const res = await fetch(`${metricsBase}/arrivals`);
      if (!res.ok) throw new Error(`GET ${metricsBase}/arrivals: ${res.status} (recordArrivals not set?)`);
      return (await res.json()) as ArrivalSnapshot;
    },
    output: () => nodeRed.output(),
    stop: () => nodeRed.stop(),
  };
}
