import "./loopback-namespace";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { Page } from "playwright-core";
import type { NetnsLab } from "./netns";
import { requireTool } from "./tools";
import { waitFor } from "./wait";

// The peers of the network tests (test/node/network-*.test.ts), each on a host of its own: a namespace
// of a NetnsLab. Chromium runs there through launchChromium({ namespace }), Node-RED through
// startNodeRed({ namespace }), the camera through GstRtspServer.start({ namespace }).

/** Node-RED's settings for a relay host: it listens on every address of its namespace. */
export function relaySettings(extra = ""): string {
  return `module.exports = {
  uiHost: "0.0.0.0",
  httpAdminRoot: false,
  flowFile: "flows.json",
  credentialSecret: false,
  telemetry: { enabled: false },
  logging: { console: { level: "info", metrics: false, audit: false } },
  ${extra}
};
`;
}

/** An rtsp-in node feeding `outputs` from `url` (on the relay's own 127.0.0.1). */
export function cameraNode(url: string, outputs: readonly string[]): Record<string, unknown> {
  return {
    id: "cam",
    z: "tab",
    type: "rtsp-in",
    name: "camera",
    url,
    transport: "tcp",
    media: "video",
    startMode: "deploy",
    wires: [[...outputs], []],
  };
}

/** A webrtc-out node; `fields` as the editor saves them. */
export function webrtcOutNode(
  id: string,
  path: string,
  fields: Record<string, unknown> = {},
): Record<string, unknown> {
  return { id, z: "tab", type: "webrtc-out", name: path, path, statsInterval: 0, wires: [[]], ...fields };
}

export const TAB = { id: "tab", type: "tab", label: "relay" };

// ---- coturn ----------------------------------------------------------------------------------------

export interface TurnServer {
  /** e.g. "turn:10.77.0.1:3478" (UDP); add "?transport=tcp" for TCP. */
  readonly url: string;
  readonly user: string;
  readonly password: string;
  output(): string;
}

/**
 * Debian's coturn as an ordinary process in `ns` (ended by the lab's destroy()): no configuration file
 * (-n), long-term credentials, no TLS/DTLS listeners, its database and pid file in a folder of its own.
 * Resolves once it listens on `address`:3478.
 */
export function startTurnServer(lab: NetnsLab, ns: string, address: string): Promise<TurnServer> {
  return startCoturn(
    address,
    3478,
    (command, args) => lab.spawn(ns, command, args, { stdio: ["ignore", "pipe", "pipe"] }),
    (command, args) => lab.run(ns, command, args),
  );
}

/**
 * coturn on this process's loopback (`address` in 127.0.0.0/8, a free `port`), as a STUN and TURN
 * server; stop() ends it.
 */
export async function startLoopbackTurnServer(
  address: string,
  port: number,
): Promise<TurnServer & { stop(): Promise<void> }> {
  let child: ChildProcess | undefined;
  const stop = async (): Promise<void> => {
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child?.once("exit", () => resolve()));
    child.kill("SIGTERM");
    await exited;
  };
  try {
    const server = await startCoturn(
      address,
      port,
      (command, args) => {
        child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
        return child;
      },
      (command, args) => execFileSync(command, args, { encoding: "utf8" }),
    );
    return { ...server, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function startCoturn(
  address: string,
  port: number,
  spawnIt: (command: string, args: string[]) => ChildProcess,
  run: (command: string, args: string[]) => string,
): Promise<TurnServer> {
  const folder = mkdtempSync(join(tmpdir(), "coturn-"));
  const user = "viewer";
  const password = "turn-secret";
  const child = spawnIt(requireTool("turnserver"), [
    "-n",
    `--listening-ip=${address}`,
    `--relay-ip=${address}`,
    `--listening-port=${port}`,
    "--min-port=49200",
    "--max-port=49300",
    `--user=${user}:${password}`,
    "--realm=netns.test",
    "--lt-cred-mech",
    "--no-tls",
    "--no-dtls",
    "--no-cli",
    "--no-stun-backward-compatibility",
    `--pidfile=${join(folder, "turnserver.pid")}`,
    `--userdb=${join(folder, "turndb")}`,
    "--log-file=stdout",
    "--simple-log",
  ]);
  child.once("exit", () => rmSync(folder, { recursive: true, force: true }));
  const output = collect(child);
  const listening = () => {
    try {
      return new RegExp(`:${port}\\b`).test(run(requireTool("ss"), ["-Hltn", `sport = :${port}`]));
    } catch {
      return false;
    }
  };
  await waitFor(listening, 10_000, "coturn to listen").catch((err: Error) => {
    throw new Error(`${err.message}\n${output()}`);
  });
  return { url: `turn:${address}:${port}`, user, password, output };
}

function collect(child: ChildProcess): () => string {
  let text = "";
  const take = (chunk: Buffer) => {
    text += chunk.toString("utf8");
    if (text.length > 200_000) text = text.slice(-100_000);
  };
  child.stdout?.on("data", take);
  child.stderr?.on("data", take);
  return () => text;
}

// ---- nginx ---------------------------------------------------------------------------------------------

export interface ReverseProxy {
  /** The port it listens on, on every address of its namespace. */
  readonly port: number;
  /** Its access log so far (the requests it passed on, with their status). */
  accessLog(): string;
  /** Its error log and what it printed. */
  output(): string;
}

/**
 * nginx's configuration as a user puts Node-RED behind it: proxy_pass with the Host and X-Forwarded-For
 * headers and nothing tuned for streaming (proxy_buffering stays on: the fMP4 response's
 * X-Accel-Buffering header turns it off for that response alone). Its pid, logs and temporary files
 * in `folder`, so that it needs nothing of the system's nginx.
 */
export function nginxConfig(folder: string, port: number, upstream: string): string {
  return `worker_processes 1;
pid ${folder}/nginx.pid;
error_log ${folder}/error.log info;
events { worker_connections 256; }
http {
  access_log ${folder}/access.log;
  client_body_temp_path ${folder}/client_body;
  proxy_temp_path ${folder}/proxy;
  fastcgi_temp_path ${folder}/fastcgi;
  uwsgi_temp_path ${folder}/uwsgi;
  scgi_temp_path ${folder}/scgi;
  server {
    listen ${port};
    location / {
      proxy_pass ${upstream};
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }
  }
}
`;
}

/**
 * Debian's nginx as an ordinary process in `ns` (ended by the lab's destroy(): SIGTERM, nginx's fast
 * shutdown), in front of `upstream` ("http://127.0.0.1:1880"), with its own prefix, configuration, pid
 * and logs in a folder of its own (`nginx -p DIR -c DIR/nginx.conf -e DIR/error.log`, no daemon).
 * Resolves once it listens on `port`.
 */
export async function startNginx(
  lab: NetnsLab,
  ns: string,
  port: number,
  upstream: string,
): Promise<ReverseProxy> {
  const folder = mkdtempSync(join(tmpdir(), "nginx-"));
  // Started as root, nginx runs its worker as nobody: it must reach the temporary folders in here.
  chmodSync(folder, 0o755);
  writeFileSync(join(folder, "nginx.conf"), nginxConfig(folder, port, upstream));
  const child = lab.spawn(
    ns,
    requireTool("nginx"),
    ["-p", folder, "-c", join(folder, "nginx.conf"), "-e", join(folder, "error.log"), "-g", "daemon off;"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  const printed = collect(child);
  const read = (file: string) => {
    try {
      return readFileSync(join(folder, file), "utf8");
    } catch {
      return "";
    }
  };
  const output = () => `${printed()}${read("error.log")}`;
  child.once("exit", () => rmSync(folder, { recursive: true, force: true }));
  const listening = () => {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}: ${output()}`);
    try {
      return new RegExp(`:${port}\\b`).test(lab.run(ns, requireTool("ss"), ["-Hltn", `sport = :${port}`]));
    } catch {
      return false;
    }
  };
  await waitFor(listening, 10_000, "nginx to listen").catch((err: Error) => {
    throw new Error(`${err.message}\n${output()}`);
  });
  return { port, accessLog: () => read("access.log"), output };
}

// ---- werift viewers in a child process ----------------------------------------------------------------

export interface CandidateSummary {
  address: string;
  port: number;
  protocol: string;
  type: string;
}

export interface WeriftViewerReport {
  state: string;
  /** State changes (peer connection, ICE, DTLS) with ms since the viewer's start. */
  history: string[];
  packets: number;
  pair?: { local: CandidateSummary; remote: CandidateSummary };
  error?: string;
}

export interface WeriftViewersInNamespace {
  /** The last report line (one entry per viewer). */
  latest(): WeriftViewerReport[];
  output(): string;
  /** Waits until `check` holds for the latest report. */
  until(check: (viewers: WeriftViewerReport[]) => boolean, ms: number, what: string): Promise<void>;
}

/** test/peers/werift-netns-viewer.js, compiled next to this helper's folder. */
function viewerScript(): string {
  return join(dirname(__dirname), "peers", "werift-netns-viewer.js");
}

/**
 * `count` werift viewers in a child node process inside `ns` (the mocha process may not join another
 * namespace), posting their offers to `offerUrl`; the lab ends it.
 */
export function startWeriftViewers(
  lab: NetnsLab,
  ns: string,
  offerUrl: string,
  count: number,
): WeriftViewersInNamespace {
  const child = lab.spawn(
    ns,
    process.execPath,
    [viewerScript(), JSON.stringify({ offerUrl, viewers: count })],
    {
      stdio: ["pipe", "pipe", "pipe"],
    },
  );
  child.stdin?.on("error", () => {});
  let latest: WeriftViewerReport[] = [];
  let rest = "";
  let log = "";
  child.stdout?.setEncoding("utf8");
  child.stdout?.on("data", (chunk: string) => {
    const lines = (rest + chunk).split("\n");
    rest = lines.pop() ?? "";
    for (const line of lines) {
      try {
        latest = (JSON.parse(line) as { viewers: WeriftViewerReport[] }).viewers;
      } catch {
        log += `${line}\n`;
      }
    }
  });
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (chunk: string) => {
    log += chunk;
  });
  return {
    latest: () => latest,
    output: () => `${log}\nlast report: ${JSON.stringify(latest)}`,
    async until(check, ms, what) {
      await waitFor(
        () => {
          if (child.exitCode !== null)
            throw new Error(`werift viewers exited with ${child.exitCode}: ${log}`);
          return latest.length === count && check(latest);
        },
        ms,
        what,
      ).catch((err: Error) => {
        throw new Error(`${err.message}\n${log}\nlast report: ${JSON.stringify(latest)}`);
      });
    },
  };
}

// ---- the player page in Chromium ----------------------------------------------------------------------

export interface PlayerState {
  state: string;
  stats: { framesDecoded: number; width: number; height: number };
}

export function playerState(page: Page): Promise<PlayerState> {
  return page.evaluate(() => {
    const player = (globalThis as unknown as { __player: PlayerState }).__player;
    return { state: player.state, stats: { ...player.stats } };
  });
}

/** One side of Chromium's selected candidate pair, as getStats() reports it. */
export interface StatsCandidate {
  candidateType: string;
  protocol: string;
  address: string;
  port: number;
  relayProtocol?: string;
}

export interface SelectedPair {
  local: StatsCandidate;
  remote: StatsCandidate;
}

/** The player's selected candidate pair (the transport's selectedCandidatePairId), from getStats(). */
export function selectedPair(page: Page): Promise<SelectedPair | undefined> {
  return page.evaluate(async () => {
    type Entry = Record<string, unknown> & { id: string; type: string };
    const pc = (
      globalThis as unknown as { __player: { pc: { getStats(): Promise<Map<string, Entry>> } | null } }
    ).__player.pc;
    if (pc === null) return undefined;
    const report = await pc.getStats();
    let pairId: string | undefined;
    for (const entry of report.values()) {
      if (entry.type === "transport" && typeof entry.selectedCandidatePairId === "string") {
        pairId = entry.selectedCandidatePairId;
      }
    }
    const pair = pairId === undefined ? undefined : report.get(pairId);
    if (pair === undefined) return undefined;
    const side = (id: unknown) => {
      const c = report.get(String(id));
      if (c === undefined) return undefined;
      return {
        candidateType: String(c.candidateType),
        protocol: String(c.protocol),
        address: String(c.address ?? c.ip),
        port: Number(c.port),
        ...(c.relayProtocol === undefined ? {} : { relayProtocol: String(c.relayProtocol) }),
      };
    };
    const local = side(pair.localCandidateId);
    const remote = side(pair.remoteCandidateId);
    return local === undefined || remote === undefined ? undefined : { local, remote };
  });
}

/**
 * Waits until the page plays: state "playing", more than 10 frames decoded, at the camera's size, and
 * frames still advancing a moment later. The last state seen, for the failure message.
 */
export async function waitForPlaying(
  page: Page,
  size: { width: number; height: number },
  ms: number,
  what: string,
): Promise<PlayerState> {
  let last: PlayerState | undefined;
  const describe = () => `${what} (last seen: ${JSON.stringify(last)})`;
  await waitFor(
    async () => {
      last = await playerState(page);
      return last.state === "playing" && last.stats.framesDecoded > 10 && last.stats.width === size.width;
    },
    ms,
    describe(),
  ).catch(() => {
    throw new Error(`timed out waiting for ${describe()}`);
  });
  const before = last?.stats.framesDecoded ?? 0;
  await waitFor(
    async () => {
      last = await playerState(page);
      return last.stats.framesDecoded > before + 10;
    },
    ms,
    `${what}: frames advancing`,
  );
  if (last === undefined) throw new Error(describe());
  if (last.stats.height !== size.height)
    throw new Error(`${what}: height ${last.stats.height}, not ${size.height}`);
  return last;
}
