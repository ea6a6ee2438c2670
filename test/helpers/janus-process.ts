import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, openSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";

// Debian's Janus 1.1.2 as a process of the bench's or a test's own. Its plugins and transports are
// links in a folder of ours, not Debian's folders: Janus loads every library it finds there, and each
// user wants only its own few (and no admin API, events or loggers).

const SYSTEM_LIBS = "/usr/lib/x86_64-linux-gnu/janus";
const START_TIMEOUT_MS = 20_000;
const POLL_MS = 100;

export interface JanusDirOptions {
  /** Made afresh: conf/, plugins/, transports/ and none/ (for events and loggers) go in it. */
  readonly dir: string;
  /** As in libjanus_<name>.so: "streaming", "videoroom". */
  readonly plugins: readonly string[];
  /** As in libjanus_<name>.so: "http", "websockets". */
  readonly transports: readonly string[];
  /** The configuration files for conf/ (name → text). */
  readonly files: Readonly<Record<string, string>>;
}

export function prepareJanusDir(opts: JanusDirOptions): void {
  rmSync(opts.dir, { recursive: true, force: true });
  for (const sub of ["conf", "plugins", "transports", "none"])
    mkdirSync(path.join(opts.dir, sub), { recursive: true });
  const link = (kind: "plugins" | "transports", name: string): void => {
    const file = `${kind}/libjanus_${name}.so`;
    symlinkSync(path.join(SYSTEM_LIBS, file), path.join(opts.dir, file));
  };
  for (const name of opts.plugins) link("plugins", name);
  for (const name of opts.transports) link("transports", name);
  for (const [name, text] of Object.entries(opts.files))
    writeFileSync(path.join(opts.dir, "conf", name), text);
}

export interface JanusProcess {
  readonly pid: number | undefined;
  /** Rejects once Janus has exited or could not be spawned; never resolves. */
  readonly exited: Promise<never>;
  running(): boolean;
  /** SIGINT, then SIGKILL after 10 s; resolves once it has exited. */
  stop(): Promise<void>;
}

/**
 * Spawns Janus on the configuration prepareJanusDir() wrote in `dir`, its output in `logFile`.
 * @param opts.command "janus" from PATH unless given
 * @param opts.append keep the log's earlier runs (a restart's reasons stay next to the first run's)
 */
export function spawnJanus(opts: {
  dir: string;
  logFile: string;
  command?: string;
  append?: boolean;
}): JanusProcess {
  const log = openSync(opts.logFile, opts.append ? "a" : "w");
  const child: ChildProcess = spawn(
    opts.command ?? "janus",
    ["-F", path.join(opts.dir, "conf"), "-C", path.join(opts.dir, "conf/janus.jcfg"), "-o"],
    { stdio: ["ignore", log, log] },
  );
  // A bench or test run that dies must not leave Janus behind (it would hold its ports, and the
  // bench's its camera session).
  const killOnExit = (): void => {
    child.kill("SIGKILL");
  };
  process.once("exit", killOnExit);
  child.once("exit", () => process.off("exit", killOnExit));
  const exited = new Promise<never>((_, reject) => {
    child.once("error", (error) =>
      reject(new Error(`janus could not start (${error.message}): run test/setup-system.sh`)),
    );
    child.once("exit", (code, signal) =>
      reject(new Error(`janus exited (${code ?? signal}); see ${opts.logFile}`)),
    );
  });
  // Callers race it; an exit nobody is waiting for is no error.
  exited.catch(() => {});
  const running = (): boolean => child.exitCode === null && child.signalCode === null;
  const stop = async (): Promise<void> => {
    if (!running()) return;
    const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    // SIGINT lets Janus end cleanly (the streaming plugin tears its RTSP session down).
    child.kill("SIGINT");
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await gone;
    clearTimeout(timer);
  };
  return { pid: child.pid, exited, running, stop };
}

/**
 * Resolves once Janus's HTTP API (`apiBase`, http://127.0.0.1:port/janus) answers. When Janus
 * exits first or never answers, stops it and throws: a half-started Janus would hold its ports.
 */
export async function untilJanusServes(janus: JanusProcess, apiBase: string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  const poll = async (): Promise<void> => {
    for (;;) {
      const up = await fetch(`${apiBase}/info`)
        .then((r) => r.ok)
        .catch(() => false);
      if (up) return;
      if (Date.now() > deadline) throw new Error(`Janus's HTTP API did not answer in ${START_TIMEOUT_MS} ms`);
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  };
  try {
    await Promise.race([janus.exited, poll()]);
  } catch (error) {
    await janus.stop();
    throw error;
  }
}
