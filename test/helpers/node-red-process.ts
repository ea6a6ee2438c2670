import "./loopback-namespace";
import { type ChildProcess, spawn } from "node:child_process";
import { createDecipheriv, createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { requireTool } from "./tools";

/** This package's name on npm: Node-RED's module name, examples menu and i18n namespaces follow it. */
export const PACKAGE_NAME = "@rtsp-webrtc/node-red-rtsp-webrtc";

/** This package's root: the folder above dist/ (dist/test/helpers/…) with our package.json. */
export function packageRoot(): string {
  let dir = __dirname;
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: string };
      if (pkg.name === PACKAGE_NAME) return dir;
    } catch {
      // not here: look further up
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no ${PACKAGE_NAME} package.json above ${__dirname}`);
    dir = parent;
  }
}

export interface NodeRedProcessOptions {
  /**
   * "node-red" (5) or "node-red-4": the installed runtime whose red.js to run; or the absolute path of a
   * Node-RED installed elsewhere (the folder with its package.json).
   */
  readonly runtime: string;
  /** The node binary to run it with. Default this process's. */
  readonly node?: string;
  /**
   * Puts this package into the new user directory, before Node-RED starts. Default: a symlink to this
   * checkout in its node_modules.
   */
  readonly installPackage?: (userDir: string) => void | Promise<void>;
  /** The settings file's source: `module.exports = {…}`; it may hold functions (httpNodeAuth…). */
  readonly settings: string;
  readonly flows: readonly object[];
  /**
   * Node credentials by node id, written as flows_cred.json in clear: the settings must say
   * `credentialSecret: false`. Default none.
   */
  readonly credentials?: Readonly<Record<string, object>>;
  /** Flags for the node binary before red.js (e.g. "--expose-gc"). Default none. */
  readonly nodeArgs?: readonly string[];
  /** Variables added to (or replacing) this process's environment for the child. */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * A named network namespace (test/helpers/netns.ts) to run Node-RED in, through `ip netns exec`, which
   * execs node: the pid is Node-RED's. Default this process's namespace.
   */
  readonly namespace?: string;
}

export interface NodeRedProcess {
  /** The child's process id (undefined only when it could not be spawned, which start reports). */
  readonly pid: number | undefined;
  /** The port Node-RED's HTTP server listens on, on 127.0.0.1 (in its namespace: uiHost may widen it). */
  readonly port: number;
  /** Its user directory (flows.json and flows_cred.json unless the settings say otherwise); removed by stop(). */
  readonly userDir: string;
  /** Everything it printed so far. */
  output(): string;
  /** SIGINT (Node-RED stops its flows, awaiting their close handlers, then exits); the exit code. */
  stop(): Promise<number | null>;
}

/** "Server now running at http://127.0.0.1:PORT/" (no "/" without an admin root), in the runtime's language (settings.js lang). */
const RUNNING = /\[info\] [^\n]*http:\/\/127\.0\.0\.1:(\d+)(?!\d)/;

/**
 * Node-RED as users run it: its own red.js in a child process, with a settings file and a user
 * directory that has this package installed (a symlink to this checkout unless `installPackage` says
 * otherwise), listening on 127.0.0.1.
 */
export async function startNodeRed(opts: NodeRedProcessOptions, timeoutMs = 30_000): Promise<NodeRedProcess> {
  const userDir = mkdtempSync(join(tmpdir(), "webrtc-out-nr-"));
  if (opts.installPackage === undefined) {
    const link = join(userDir, "node_modules", PACKAGE_NAME);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(packageRoot(), link, "dir");
  } else {
    try {
      await opts.installPackage(userDir);
    } catch (err) {
      rmSync(userDir, { recursive: true, force: true });
      throw err;
    }
  }
  const settingsFile = join(userDir, "settings.js");
  writeFileSync(settingsFile, opts.settings);
  writeFileSync(join(userDir, "flows.json"), JSON.stringify(opts.flows));
  if (opts.credentials !== undefined) {
    writeFileSync(join(userDir, "flows_cred.json"), JSON.stringify(opts.credentials));
  }
  const runtimeDir = isAbsolute(opts.runtime)
    ? opts.runtime
    : dirname(require.resolve(`${opts.runtime}/package.json`));
  const redJs = resolve(runtimeDir, "red.js");
  const args = [...(opts.nodeArgs ?? []), redJs, "-u", userDir, "-s", settingsFile, "-p", "0"];
  const node = opts.node ?? process.execPath;
  const [command, commandArgs] =
    opts.namespace === undefined
      ? [node, args]
      : [requireTool("ip"), ["netns", "exec", opts.namespace, node, ...args]];
  const child: ChildProcess = spawn(command, commandArgs, {
    stdio: ["ignore", "pipe", "pipe"],
    ...(opts.env === undefined ? {} : { env: { ...process.env, ...opts.env } }),
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString("utf8");
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString("utf8");
  });
  const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
  const cleanUp = () => rmSync(userDir, { recursive: true, force: true });

  const port = await new Promise<number>((done, fail) => {
    const timer = setTimeout(
      () => fail(new Error(`Node-RED did not start in ${timeoutMs} ms:\n${output}`)),
      timeoutMs,
    );
    const look = () => {
      const match = RUNNING.exec(output);
      if (!match) return;
      clearTimeout(timer);
      child.stdout?.off("data", look);
      done(Number(match[1]));
    };
    child.stdout?.on("data", look);
    void exited.then((code) => {
      clearTimeout(timer);
      fail(new Error(`Node-RED exited with ${code}:\n${output}`));
    });
  }).catch(async (err: unknown) => {
    child.kill("SIGKILL");
    await exited;
    cleanUp();
    throw err;
  });

  return {
    pid: child.pid,
    port,
    userDir,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGINT");
      const killer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      const code = await exited;
      clearTimeout(killer);
      cleanUp();
      return code;
    },
  };
}

/**
 * A credentials file as Node-RED wrote it, decrypted the way Node-RED does (aes-256-ctr, key
 * sha256(credentialSecret), the IV in the first 32 hex characters): node id → its credentials.
 */
export function decryptCredentials(
  file: string,
  credentialSecret: string,
): Record<string, Record<string, string>> {
  const text = (JSON.parse(readFileSync(file, "utf8")) as { $: string }).$;
  const key = createHash("sha256").update(credentialSecret).digest();
  const decipher = createDecipheriv("aes-256-ctr", key, Buffer.from(text.slice(0, 32), "hex"));
  return JSON.parse(decipher.update(text.slice(32), "base64", "utf8") + decipher.final("utf8"));
}
