import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { requireTool } from "./tools";

/** Options of test/peers/gst-rtsp-server.py; anything left out takes the script's default. */
export interface GstServerOptions {
  codec?: "h264" | "h265";
  /** H.264 only; default main. */
  profile?: "baseline" | "main" | "high";
  width?: number;
  height?: number;
  fps?: number;
  /** GOP length in frames; default 50. */
  keyint?: number;
  /** kbit/s; default 1000. */
  bitrate?: number;
  /** H.264 B-frames; default 0. */
  bframes?: number;
  /** Slices per frame; default 1. */
  slices?: number;
  audio?: "none" | "pcma" | "pcmu" | "opus" | "aac";
  auth?: "none" | "basic" | "digest";
  /** Default "admin". */
  user?: string;
  /** Default "secret". */
  password?: string;
  /** Default "IP Camera". */
  realm?: string;
  /** Parameter sets only in the SDP's sprop-*, never in-band. */
  spsInSdpOnly?: boolean;
  /** Whole NAL units in one RTP packet (up to ~64 KB). */
  bigNal?: boolean;
  /** Parameter sets aggregated in STAP-A (H.264) / AP (H.265) packets. */
  aggregate?: boolean;
  protocols?: "tcp" | "udp" | "both";
  /**
   * Access units dropped at the start of each session: a number, or "random" (0..keyint-1, the
   * default; 1..keyint with spsInSdpOnly) so a client joins mid-GOP like with a real camera.
   */
  joinPhase?: number | "random";
  /**
   * RTSP session timeout in seconds, announced as `Session: id;timeout=N`; default 60. gst-rtsp-server
   * 1.22 does not expire a session while its RTSP connection stays open, with or without keepalives.
   */
  sessionTimeout?: number;
  /**
   * Drop the join-phase access units only after SETUP's flush, so that DESCRIBE is answered at once
   * (by default it waits for them to go by, like the start of a live encoder). Default false.
   */
  quickDescribe?: boolean;
  /** TCP port; default 0: the server picks a free one. */
  port?: number;
  /** Default "/stream". */
  path?: string;
}

/** Where the server runs (not a flag of the script). */
export interface GstServerPlace {
  /**
   * A named network namespace (test/helpers/netns.ts) to run the server in, on that namespace's
   * 127.0.0.1, through `ip netns exec`. Default this process's namespace.
   */
  readonly namespace?: string;
}

const READY_TIMEOUT_MS = 10_000;
const KILL_AFTER_MS = 3_000;
const LOG_LINES = 500;

/** The absolute path of test/peers/gst-rtsp-server.py. */
export function peerScript(): string {
  // Works from test/helpers (ts source) and dist/test/helpers (compiled) alike.
  for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) {
    const script = join(dir, "test", "peers", "gst-rtsp-server.py");
    if (existsSync(script)) return script;
  }
  throw new Error(`test/peers/gst-rtsp-server.py not found above ${__dirname}`);
}

const FLAGS: ReadonlyArray<[keyof GstServerOptions, string]> = [
  ["codec", "--codec"],
  ["profile", "--profile"],
  ["width", "--width"],
  ["height", "--height"],
  ["fps", "--fps"],
  ["keyint", "--keyint"],
  ["bitrate", "--bitrate"],
  ["bframes", "--bframes"],
  ["slices", "--slices"],
  ["audio", "--audio"],
  ["auth", "--auth"],
  ["user", "--user"],
  ["password", "--password"],
  ["realm", "--realm"],
  ["protocols", "--protocols"],
  ["joinPhase", "--join-phase"],
  ["sessionTimeout", "--session-timeout"],
  ["path", "--path"],
];

/** The script's command line for these options. */
export function peerArguments(opts: GstServerOptions, port: number): string[] {
  const args = ["--host", "127.0.0.1", "--port", String(port), "--exit-on-stdin-close"];
  for (const [key, flag] of FLAGS) {
    const value = opts[key];
    if (value !== undefined) args.push(flag, String(value));
  }
  if (opts.spsInSdpOnly === true) args.push("--sps-in-sdp-only");
  if (opts.bigNal === true) args.push("--big-nal");
  if (opts.aggregate === true) args.push("--aggregate");
  if (opts.quickDescribe === true) args.push("--quick-describe");
  return args;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function killAllOnExit(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A crashed test runner must not leave cameras behind. The peers also exit when their stdin
  // closes, which covers a runner killed with SIGKILL.
  process.on("exit", () => {
    for (const child of running) child.kill("SIGKILL");
  });
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** A camera stand-in: gst-rtsp-server on 127.0.0.1, one live encoder per RTSP session. */
export class GstRtspServer {
  /** stderr lines of every run of this server (restarts included), the last LOG_LINES only. */
  readonly log: string[] = [];
  private child: ChildProcess | undefined;
  private boundPort = 0;

  private constructor(
    readonly options: Readonly<GstServerOptions>,
    private readonly place: GstServerPlace,
  ) {}

  static async start(opts: GstServerOptions = {}, place: GstServerPlace = {}): Promise<GstRtspServer> {
    const server = new GstRtspServer({ ...opts }, { ...place });
    await server.launch(opts.port ?? 0);
    return server;
  }

  get port(): number {
    return this.boundPort;
  }

  /** rtsp://127.0.0.1:PORT/PATH, without credentials. */
  get url(): string {
    return `rtsp://127.0.0.1:${this.boundPort}${this.options.path ?? "/stream"}`;
  }

  /** The URL with this server's credentials in it (for ffprobe and other clients). */
  get urlWithCredentials(): string {
    const user = encodeURIComponent(this.options.user ?? "admin");
    const password = encodeURIComponent(this.options.password ?? "secret");
    return this.url.replace("rtsp://", `rtsp://${user}:${password}@`);
  }

  /** The process is running. */
  get running(): boolean {
    return this.child !== undefined && !exited(this.child);
  }

  /** SIGTERM, then SIGKILL after 3 s; resolves once the process has exited. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child === undefined) return;
    if (!exited(child)) {
      const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), KILL_AFTER_MS);
      await gone;
      clearTimeout(timer);
    }
    running.delete(child);
  }

  /** A camera reboot: stop, then start again on the same port. */
  async restart(): Promise<void> {
    await this.stop();
    await this.launch(this.boundPort);
  }

  private record(line: string): void {
    this.log.push(line);
    if (this.log.length > LOG_LINES) this.log.splice(0, this.log.length - LOG_LINES);
  }

  private launch(port: number): Promise<void> {
    const python = requireTool("python3");
    const args = [peerScript(), ...peerArguments(this.options, port)];
    const namespace = this.place.namespace;
    const child =
      namespace === undefined
        ? spawn(python, args, { stdio: ["pipe", "pipe", "pipe"] })
        : spawn(requireTool("ip"), ["netns", "exec", namespace, python, ...args], {
            stdio: ["pipe", "pipe", "pipe"],
          });
    this.child = child;
    running.add(child);
    killAllOnExit();
    child.once("exit", () => running.delete(child));
    // The pipe stays open for the child's lifetime: its end tells the peer that we are gone.
    child.stdin.on("error", () => {});

    let stderrRest = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => {
      const lines = (stderrRest + chunk).split("\n");
      stderrRest = lines.pop() ?? "";
      for (const line of lines) this.record(line);
    });

    return new Promise<void>((resolve, reject) => {
      let stdoutRest = "";
      let settled = false;
      const fail = (why: string): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        child.kill("SIGKILL");
        const tail = [...this.log.slice(-20), stderrRest].filter((l) => l !== "").join("\n");
        reject(new Error(`gst-rtsp-server ${why}\n${python} ${args.join(" ")}\n${tail}`));
      };
      const timer = setTimeout(() => fail(`not READY within ${READY_TIMEOUT_MS} ms`), READY_TIMEOUT_MS);
      child.once("error", (err) => fail(`failed to spawn: ${err.message}`));
      // "close", not "exit": by then stderr has been read to its end, last words included.
      child.once("close", (code, signal) => fail(`exited before READY (code ${code}, signal ${signal})`));
      child.stdout.setEncoding("utf8");
      child.stdout.on("data", (chunk: string) => {
        if (settled) return;
        stdoutRest += chunk;
        const ready = /^READY (\d+)$/m.exec(stdoutRest);
        if (ready === null) return;
        settled = true;
        clearTimeout(timer);
        this.boundPort = Number(ready[1]);
        resolve();
      });
    });
  }
}
