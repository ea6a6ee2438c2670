import path from "node:path";
import { JANUS_INTERFACE } from "../helpers/janus-interface";
import { prepareJanusDir, spawnJanus, untilJanusServes } from "../helpers/janus-process";
import { freePort } from "../helpers/tools";
import type { MetricsClient, ServerMetrics } from "./bench-node-red";
import { attach, createSession, pluginRequest } from "./janus-api";
import { processUsage } from "./proc-stats";

export {
  addJanusInterface,
  JANUS_ADDRESS,
  JANUS_INTERFACE,
  removeJanusInterface,
} from "../helpers/janus-interface";

// Janus (Debian's `janus` 1.1.2) beside the product in the bench: its own process with its own
// config folder under .test-artifacts: the core, the streaming plugin (one RTSP mountpoint on the
// bench's camera, video only) and the HTTP transport; no admin API, no STUN, no 1:1 NAT.
//
// libnice gathers no candidate on a loopback interface, so Janus gets an address of its own in the
// bench's network namespace: a veth pair whose one end holds 127.0.0.2/8 (only this namespace's
// local routes reach it; nothing leaves 127.0.0.0/8), and its ICE is held to that end.

export const JANUS_MOUNTPOINT = 1;
const MOUNTPOINT_TIMEOUT_MS = 30_000;

export interface JanusConfigOptions {
  /** Where the configuration, the plugin and transport folders and the log go. */
  readonly dir: string;
  readonly httpPort: number;
  readonly cameraUrl: string;
  /** Janus's ICE ports (and its RTSP client's RTP ports), "min-max". */
  readonly rtpPortRange?: string;
}

/** The configuration files (name → text) of a Janus with only what the bench uses. */
export function janusConfigFiles(opts: JanusConfigOptions): Record<string, string> {
  const folder = (name: string) => JSON.stringify(path.join(opts.dir, name));
  return {
    "janus.jcfg": `general: {
	configs_folder = ${folder("conf")}
	plugins_folder = ${folder("plugins")}
	transports_folder = ${folder("transports")}
	events_folder = ${folder("none")}
	loggers_folder = ${folder("none")}
	debug_level = 4
	session_timeout = 60
	server_name = "bench"
}
certificates: {
}
media: {
	rtp_port_range = ${JSON.stringify(opts.rtpPortRange ?? "20000-40000")}
}
nat: {
	nice_debug = false
	full_trickle = false
	ice_lite = false
	ice_tcp = false
	ice_enforce_list = ${JSON.stringify(JANUS_INTERFACE)}
	ignore_mdns = true
	ice_keepalive_conncheck = false
}
plugins: {
}
transports: {
}
events: {
	broadcast = false
}
loggers: {
}
`,
    "janus.transport.http.jcfg": `general: {
	base_path = "/janus"
	http = true
	port = ${opts.httpPort}
	ip = "127.0.0.1"
	https = false
}
admin: {
	admin_http = false
	admin_https = false
}
cors: {
}
`,
    "janus.plugin.streaming.jcfg": `general: {
}
bench: {
	type = "rtsp"
	id = ${JANUS_MOUNTPOINT}
	description = "bench camera"
	audio = false
	video = true
	url = ${JSON.stringify(opts.cameraUrl)}
	rtsp_reconnect_delay = 5
	rtsp_failcheck = false
}
`,
  };
}

export interface BenchJanus extends MetricsClient {
  /** Janus's HTTP API, http://127.0.0.1:port/janus. */
  readonly apiBase: string;
  readonly pid: number;
  readonly logFile: string;
  stop(): Promise<void>;
}

/** Janus's figures in the shape of the Node-RED probe's: CPU and RSS from /proc; the rest does not apply. */
class ProcMetrics {
  private base = { userUs: 0, systemUs: 0, atUs: 0 };
  constructor(private readonly pid: number) {
    this.reset();
  }

  reset(): void {
    const usage = processUsage(this.pid);
    this.base = { userUs: usage.userUs, systemUs: usage.systemUs, atUs: nowUs() };
  }

  metrics(): ServerMetrics {
    const usage = processUsage(this.pid);
    const elapsedUs = nowUs() - this.base.atUs;
    const cpuUserUs = usage.userUs - this.base.userUs;
    const cpuSystemUs = usage.systemUs - this.base.systemUs;
    return {
      cpuUserUs,
      cpuSystemUs,
      elapsedUs,
      cpuCores: (cpuUserUs + cpuSystemUs) / elapsedUs,
      rssBytes: usage.rssBytes,
      heapUsedBytes: Number.NaN,
      heapTotalBytes: Number.NaN,
      externalBytes: Number.NaN,
      gcForced: false,
      gc: { full: 0, young: 0, pauseMs: 0 },
      eventLoopDelayMs: { p50: Number.NaN, p99: Number.NaN, max: Number.NaN },
      udpSockets: 0,
      activeResources: 0,
      timers: 0,
      tcpSockets: 0,
      tcpOutbound: 0,
      resources: {},
    } as ServerMetrics;
  }
}

const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);

/** Until the mountpoint has pulled the camera's video (its `info` lists a video codec). */
async function mountpointReady(apiBase: string, deadline: number): Promise<void> {
  const session = await createSession(apiBase);
  const handle = await attach(apiBase, session, "janus.plugin.streaming");
  let last: unknown;
  while (Date.now() < deadline) {
    last = await pluginRequest(apiBase, session, handle, { request: "info", id: JANUS_MOUNTPOINT });
    const media = (last as { info?: { media?: { type?: string; codec?: string }[] } }).info?.media ?? [];
    if (media.some((m) => m.type === "video" && typeof m.codec === "string")) {
      await fetch(`${apiBase}/${session}`, {
        method: "POST",
        body: JSON.stringify({ janus: "destroy", transaction: "ready" }),
      }).catch(() => undefined);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(
    `Janus's mountpoint has no video after ${MOUNTPOINT_TIMEOUT_MS} ms: ${JSON.stringify(last)}`,
  );
}

/**
 * Starts Janus with its configuration in `dir` (made afresh), pulling `cameraUrl`; resolves once its
 * mountpoint has the camera's video. Call addJanusInterface() first.
 * @throws Error when `janus` is not installed (test/setup-system.sh installs it), exits, or never serves
 */
export async function startJanus(opts: { dir: string; cameraUrl: string }): Promise<BenchJanus> {
  const httpPort = await freePort();
  prepareJanusDir({
    dir: opts.dir,
    plugins: ["streaming"],
    transports: ["http"],
    files: janusConfigFiles({ dir: opts.dir, httpPort, cameraUrl: opts.cameraUrl }),
  });
  const logFile = path.join(opts.dir, "janus.log");
  const janus = spawnJanus({ dir: opts.dir, logFile });
  const apiBase = `http://127.0.0.1:${httpPort}/janus`;
  await untilJanusServes(janus, apiBase);
  try {
    await Promise.race([janus.exited, mountpointReady(apiBase, Date.now() + MOUNTPOINT_TIMEOUT_MS)]);
  } catch (error) {
    await janus.stop();
    throw error;
  }
  const pid = janus.pid as number;
  const proc = new ProcMetrics(pid);
  const unsupported = async (): Promise<never> => {
    throw new Error("Janus has no CPU profile in the bench");
  };
  return {
    apiBase,
    pid,
    logFile,
    stop: janus.stop,
    metrics: async () => proc.metrics(),
    resetWindow: async () => proc.reset(),
    startProfile: unsupported,
    stopProfile: unsupported,
    // Janus's sends cannot be stamped from outside: its rows trace the viewers' receive side only.
    startSendTrace: async () => {},
    stopSendTrace: async () => [],
  };
}
