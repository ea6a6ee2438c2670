import { type ChildProcess, fork } from "node:child_process";
import { join } from "node:path";
import type { BaselineChildMessage, BaselineOptions, BaselineParentMessage, BaselineStats } from "./baseline";
import { type MetricsClient, metricsClient } from "./bench-node-red";

// The baseline (baseline.ts) in a child process of its own, so that its CPU and memory are its own
// and are measured as the Node-RED process's are: through the same /metrics and /reset.

export interface BaselineProcessOptions extends BaselineOptions {
  /** Run node with --expose-gc, so that metrics({ gc: true }) can force a collection. Default true. */
  readonly exposeGc?: boolean;
  /** Further options for node (V8's heap sizes, for one). */
  readonly nodeFlags?: readonly string[];
  /** Default 30 s (the child waits up to firstFrameTimeoutMs for the camera within it). */
  readonly startTimeoutMs?: number;
}

export interface BaselineProcess extends MetricsClient {
  readonly pid: number | undefined;
  /** The child's HTTP port on 127.0.0.1. */
  readonly port: number;
  /** POST {type:"offer", sdp} → {type:"answer", sdp}, as webrtc-out's P/offer. */
  readonly offerUrl: string;
  readonly metricsUrl: string;
  readonly metricsBase: string;
  stats(): Promise<BaselineStats>;
  /** Everything the child printed so far. */
  output(): string;
  /** Asks the child to close its viewers and camera session and exit (SIGKILL after 10 s); its exit code. */
  stop(): Promise<number | null>;
}

/** Forks dist/test/bench/baseline.js; resolves once its camera's video flows. */
export async function forkBaseline(opts: BaselineProcessOptions): Promise<BaselineProcess> {
  const { exposeGc, nodeFlags, startTimeoutMs, ...baselineOptions } = opts;
  const child: ChildProcess = fork(join(__dirname, "baseline.js"), [JSON.stringify(baselineOptions)], {
    execArgv: [...(exposeGc === false ? [] : ["--expose-gc"]), ...(nodeFlags ?? [])],
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  let output = "";
  const collect = (chunk: Buffer): void => {
    output += chunk.toString("utf8");
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));

  const timeoutMs = startTimeoutMs ?? 30_000;
  let port: number;
  try {
    port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`baseline not ready in ${timeoutMs} ms:\n${output}`)),
        timeoutMs,
      );
      child.on("message", (message: BaselineChildMessage) => {
        clearTimeout(timer);
        if (message.type === "ready") resolve(message.port);
        else reject(new Error(`baseline failed: ${message.message}\n${output}`));
      });
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`baseline exited with ${code}:\n${output}`));
      });
    });
  } catch (error) {
    child.kill("SIGKILL");
    await exited;
    throw error;
  }

  const base = `http://127.0.0.1:${port}`;
  return {
    ...metricsClient(base),
    pid: child.pid,
    port,
    offerUrl: `${base}/offer`,
    metricsUrl: `${base}/metrics`,
    metricsBase: base,
    async stats() {
      const res = await fetch(`${base}/stats`);
      if (!res.ok) throw new Error(`GET ${base}/stats: ${res.status}`);
      return (await res.json()) as BaselineStats;
    },
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const stop: BaselineParentMessage = { type: "stop" };
        if (child.connected) child.send(stop);
        else child.kill("SIGTERM");
      }
      const killer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      const code = await exited;
      clearTimeout(killer);
      return code;
    },
  };
}
