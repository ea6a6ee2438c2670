import { type ChildProcess, type SpawnOptions, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { requireTool } from "./tools";

// Hosts of the network tests: named network namespaces (`ip netns add`) joined by veth pairs, with
// addresses from test-private ranges, routes and nftables rulesets of their own. The mocha process never
// joins one and never gets a veth end: it stays loopback-only (test/helpers/loopback-namespace.ts), and
// the tests' packets go only between the namespaces a test made. Processes run inside them through
// `ip netns exec`, which execs the command (the pid is the command's).

/** Every namespace a lab makes is named `rtcw<pid of the mocha process>-<lab>-<role>`. */
export const NAMESPACE_PREFIX = "rtcw";

const STALE = new RegExp(`^${NAMESPACE_PREFIX}(\\d+)-`);
const KILL_AFTER_MS = 3_000;

/** One end of a veth pair: its namespace, its interface name (≤ 15 characters) and its address/prefix. */
export interface LinkEnd {
  readonly ns: string;
  readonly ifname: string;
  /** e.g. "10.77.0.1/24"; none leaves the end without an address. */
  readonly address?: string;
}

function ip(): string {
  return requireTool("ip");
}

/** Runs a command to its end; throws with its stderr when it fails. Its stdout. */
function runChecked(command: string, args: readonly string[], input?: string): string {
  const result = spawnSync(command, args, { encoding: "utf8", input, timeout: 20_000 });
  if (result.error !== undefined) throw new Error(`${command} ${args.join(" ")}: ${result.error.message}`);
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(" ")} exited with ${result.status}: ${result.stderr.trim()}`);
  }
  return result.stdout;
}

/** The named network namespaces on this machine (`ip netns list`), names only. */
export function listNamespaces(): string[] {
  return runChecked(ip(), ["netns", "list"])
    .split("\n")
    .map((line) => line.split(" ")[0] ?? "")
    .filter((name) => name !== "");
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Deletes the namespaces a test run left behind when it was killed before its after() hooks: those of
 * a mocha process that no longer runs (the pid is in the name). Others' namespaces are never touched.
 */
export function removeStaleNamespaces(): string[] {
  const removed: string[] = [];
  for (const name of listNamespaces()) {
    const owner = STALE.exec(name);
    if (owner === null || alive(Number(owner[1]))) continue;
    spawnSync(ip(), ["netns", "del", name], { stdio: "ignore" });
    removed.push(name);
  }
  return removed;
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

const labs = new Set<NetnsLab>();
let exitHookInstalled = false;

/**
 * A set of namespaces made for one test file, torn down together by destroy() (processes first, then
 * the namespaces, which takes their interfaces and routes with them).
 */
export class NetnsLab {
  /** Prefix of this lab's namespace names. */
  readonly id: string;
  private readonly namespaces: string[] = [];
  private readonly processes = new Set<ChildProcess>();

  private constructor(label: string) {
    this.id = `${NAMESPACE_PREFIX}${process.pid}-${label}${randomBytes(3).toString("hex")}`;
  }

  /** A new lab; `label` (a few letters) says whose namespaces these are in `ip netns list`. */
  static create(label = "t"): NetnsLab {
    removeStaleNamespaces();
    const lab = new NetnsLab(label);
    labs.add(lab);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      // A runner that exits without after() (an uncaught error) still leaves nothing behind.
      process.on("exit", () => {
        for (const each of labs) {
          try {
            each.destroySync();
          } catch {
            // nothing more can be done while exiting; the next run's removeStaleNamespaces() will
          }
        }
      });
    }
    return lab;
  }

  /** The namespaces made so far, in order. */
  get names(): readonly string[] {
    return [...this.namespaces];
  }

  /** A new namespace for `role` with its loopback up; its full name. */
  namespace(role: string): string {
    const name = `${this.id}-${role}`;
    runChecked(ip(), ["netns", "add", name]);
    this.namespaces.push(name);
    runChecked(ip(), ["-n", name, "link", "set", "lo", "up"]);
    return name;
  }

  /** A veth pair between two of this lab's namespaces, both ends up, with their addresses. */
  link(a: LinkEnd, b: LinkEnd): void {
    this.own(a.ns);
    this.own(b.ns);
    // Made in a's namespace with its peer straight in b's: no end ever exists in the mocha process's namespace.
    runChecked(ip(), [
      "-n",
      a.ns,
      "link",
      "add",
      a.ifname,
      "type",
      "veth",
      "peer",
      "name",
      b.ifname,
      "netns",
      b.ns,
    ]);
    for (const end of [a, b]) {
      if (end.address !== undefined)
        runChecked(ip(), ["-n", end.ns, "addr", "add", end.address, "dev", end.ifname]);
      runChecked(ip(), ["-n", end.ns, "link", "set", end.ifname, "up"]);
    }
  }

  /** A route in `ns`: "default" or a prefix, through a gateway. */
  route(ns: string, destination: string, via: string): void {
    this.own(ns);
    runChecked(ip(), ["-n", ns, "route", "add", destination, "via", via]);
  }

  /** IPv4 forwarding on in `ns` (a router); it is off in a new namespace. */
  forwarding(ns: string): void {
    this.run(ns, "sysctl", ["-q", "-w", "net.ipv4.ip_forward=1"]);
  }

  /** Loads an nftables ruleset (`nft -f` syntax) into `ns`, flushing what was there. */
  nft(ns: string, ruleset: string): void {
    this.own(ns);
    runChecked(ip(), ["netns", "exec", ns, requireTool("nft"), "-f", "-"], `flush ruleset\n${ruleset}\n`);
  }

  /** `nft list ruleset` in `ns` (for a failing test's message). */
  ruleset(ns: string): string {
    return this.run(ns, requireTool("nft"), ["list", "ruleset"]);
  }

  /** Runs a command in `ns` to its end; its stdout; throws with its stderr when it fails. */
  run(ns: string, command: string, args: readonly string[] = []): string {
    this.own(ns);
    return runChecked(ip(), ["netns", "exec", ns, command, ...args]);
  }

  /**
   * Starts a command in `ns`; destroy() ends it (SIGTERM, SIGKILL after 3 s) unless it has exited.
   * The child's pid is the command's: `ip netns exec` execs it.
   */
  spawn(ns: string, command: string, args: readonly string[] = [], options: SpawnOptions = {}): ChildProcess {
    this.own(ns);
    const child = spawn(ip(), ["netns", "exec", ns, command, ...args], options);
    this.processes.add(child);
    child.once("exit", () => this.processes.delete(child));
    child.once("error", () => this.processes.delete(child));
    return child;
  }

  /** Ends this lab's processes, then deletes its namespaces. Safe to call twice and after a failed setup. */
  async destroy(): Promise<void> {
    await Promise.all(
      [...this.processes].map(async (child) => {
        if (exited(child)) return;
        const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), KILL_AFTER_MS);
        await gone;
        clearTimeout(timer);
      }),
    );
    this.processes.clear();
    this.deleteNamespaces();
    labs.delete(this);
  }

  private destroySync(): void {
    for (const child of this.processes) if (!exited(child)) child.kill("SIGKILL");
    this.processes.clear();
    this.deleteNamespaces();
  }

  private deleteNamespaces(): void {
    const failed: string[] = [];
    for (const name of this.namespaces.splice(0).reverse()) {
      const result = spawnSync(ip(), ["netns", "del", name], { encoding: "utf8" });
      if (result.status !== 0) failed.push(`${name}: ${result.stderr.trim()}`);
    }
    if (failed.length > 0) throw new Error(`could not delete namespaces: ${failed.join("; ")}`);
  }

  private own(ns: string): void {
    if (!this.namespaces.includes(ns)) throw new Error(`${ns} is not a namespace of lab ${this.id}`);
  }
}
