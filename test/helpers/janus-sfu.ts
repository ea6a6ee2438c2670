import path from "node:path";
import { JANUS_INTERFACE } from "./janus-interface";
import { type JanusProcess, prepareJanusDir, spawnJanus, untilJanusServes } from "./janus-process";
import { freePort, requireTool } from "./tools";

// Debian's Janus 1.1.2 as an SFU for the WHIP tests: its own process, its configuration in a folder
// of the test's, the VideoRoom plugin with the rooms the test asks for, the HTTP API (the subscribers'
// and the test's) and the WebSocket API (simple-whip-server's), both on 127.0.0.1. Its ICE is held to
// the veth end with 127.0.0.2 (test/helpers/janus-interface.ts: call addJanusInterface() first).

export interface SfuRoom {
  readonly id: number;
  readonly description: string;
}

export interface JanusSfuConfig {
  readonly dir: string;
  readonly httpPort: number;
  readonly wsPort: number;
  readonly rooms: readonly SfuRoom[];
  /** Janus's ICE ports, "min-max". */
  readonly rtpPortRange?: string;
}

/** The configuration files (name → text): core, VideoRoom, HTTP and WebSocket transports. */
export function janusSfuConfigFiles(opts: JanusSfuConfig): Record<string, string> {
  const folder = (name: string) => JSON.stringify(path.join(opts.dir, name));
  const rooms = opts.rooms
    .map(
      (room) => `room-${room.id}: {
	description = ${JSON.stringify(room.description)}
	publishers = 1
	bitrate = 0
	fir_freq = 10
	videocodec = "h264"
	audiocodec = "opus,pcma,pcmu"
	notify_joining = false
}
`,
    )
    .join("");
  return {
    "janus.jcfg": `general: {
	configs_folder = ${folder("conf")}
	plugins_folder = ${folder("plugins")}
	transports_folder = ${folder("transports")}
	events_folder = ${folder("none")}
	loggers_folder = ${folder("none")}
	debug_level = 4
	session_timeout = 60
	server_name = "whip-test"
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
    "janus.plugin.videoroom.jcfg": `general: {
	string_ids = false
}
${rooms}`,
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
    "janus.transport.websockets.jcfg": `general: {
	json = "compact"
	ws = true
	ws_port = ${opts.wsPort}
	ws_ip = "127.0.0.1"
	wss = false
}
admin: {
	admin_ws = false
	admin_wss = false
}
cors: {
}
`,
  };
}

export interface JanusSfu {
  /** http://127.0.0.1:port/janus */
  readonly apiBase: string;
  /** ws://127.0.0.1:port, for simple-whip-server. */
  readonly wsUrl: string;
  readonly logFile: string;
  running(): boolean;
  /** SIGINT, then SIGKILL after 10 s; resolves once it has exited. */
  stop(): Promise<void>;
  /** Starts it again on the same ports and rooms (after stop()). */
  start(): Promise<void>;
}

/**
 * Starts Janus with the VideoRoom plugin and `rooms`, its configuration in `dir` (made afresh);
 * resolves once its HTTP API answers.
 * @throws Error when `janus` is not installed (test/setup-system.sh installs it), exits, or never serves
 */
export async function startJanusSfu(opts: { dir: string; rooms: readonly SfuRoom[] }): Promise<JanusSfu> {
  const command = requireTool("janus");
  const config: JanusSfuConfig = {
    dir: opts.dir,
    httpPort: await freePort(),
    wsPort: await freePort(),
    rooms: opts.rooms,
  };
  prepareJanusDir({
    dir: opts.dir,
    plugins: ["videoroom"],
    transports: ["http", "websockets"],
    files: janusSfuConfigFiles(config),
  });
  const apiBase = `http://127.0.0.1:${config.httpPort}/janus`;
  const logFile = path.join(opts.dir, "janus.log");
  let janus: JanusProcess | undefined;

  const start = async (): Promise<void> => {
    if (janus?.running()) throw new Error("Janus is already running");
    // A restart appends to the log: its reasons stay next to the first run's.
    janus = spawnJanus({ dir: opts.dir, logFile, command, append: janus !== undefined });
    await untilJanusServes(janus, apiBase);
  };

  await start();
  return {
    apiBase,
    wsUrl: `ws://127.0.0.1:${config.wsPort}`,
    logFile,
    running: () => janus?.running() ?? false,
    stop: async () => {
      await janus?.stop();
    },
    start,
  };
}
