import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

// What /proc tells about a process the bench did not write (Janus: its CPU and RSS) and about the
// viewers' sockets (datagrams the kernel dropped because a viewer did not read in time).

/** utime and stime (clock ticks) of a /proc/PID/stat line: all threads of the process, living and ended. */
export function parseStatTimes(stat: string): { utimeTicks: number; stimeTicks: number } {
  // The command name (field 2) is in brackets and may hold spaces or brackets: count from the last ")".
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields 14 and 15 of proc(5); `rest` starts at field 3.
  const utimeTicks = Number(rest[11]);
  const stimeTicks = Number(rest[12]);
  if (!Number.isFinite(utimeTicks) || !Number.isFinite(stimeTicks))
    throw new Error(`not a /proc/PID/stat line: ${stat.slice(0, 80)}`);
  return { utimeTicks, stimeTicks };
}

/** VmRSS of a /proc/PID/status text, bytes. */
export function parseVmRssBytes(status: string): number {
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (m?.[1] === undefined) throw new Error("no VmRSS in /proc/PID/status");
  return Number(m[1]) * 1024;
}

/**
 * The `drops` column of /proc/net/udp for the sockets bound to 127.0.0.0/8 on these ports (the light
 * viewers' sockets), by port. Addresses are in the kernel's byte order: 127.0.0.2 is 0200007F.
 */
export function parseUdpDrops(procNetUdp: string, ports: ReadonlySet<number>): Map<number, number> {
  const drops = new Map<number, number>();
  for (const line of procNetUdp.split("\n").slice(1)) {
    const fields = line.trim().split(/\s+/);
    const local = fields[1];
    const count = fields[12];
    if (local === undefined || count === undefined) continue;
    const [hexAddress, hexPort] = local.split(":");
    if (hexAddress === undefined || !/^[0-9A-F]{6}7F$/.test(hexAddress) || hexPort === undefined) continue;
    const port = Number.parseInt(hexPort, 16);
    if (ports.has(port)) drops.set(port, (drops.get(port) ?? 0) + Number(count));
  }
  return drops;
}

/** parseUdpDrops of this network namespace's /proc/net/udp; undefined when it cannot be read. */
export function socketDrops(ports: ReadonlySet<number>): Map<number, number> | undefined {
  try {
    return parseUdpDrops(readFileSync("/proc/net/udp", "utf8"), ports);
  } catch {
    return undefined;
  }
}

let clockTicks: number | undefined;

/** sysconf(_SC_CLK_TCK): the unit of /proc/PID/stat's times. */
export function clockTicksPerSecond(): number {
  clockTicks ??= Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
  if (!Number.isFinite(clockTicks) || clockTicks <= 0) throw new Error("getconf CLK_TCK gave no number");
  return clockTicks;
}

/** A process's CPU time so far (user, system; µs) and its RSS (bytes), from /proc. */
export function processUsage(pid: number): { userUs: number; systemUs: number; rssBytes: number } {
  const { utimeTicks, stimeTicks } = parseStatTimes(readFileSync(`/proc/${pid}/stat`, "utf8"));
  const tick = 1e6 / clockTicksPerSecond();
  return {
    userUs: utimeTicks * tick,
    systemUs: stimeTicks * tick,
    rssBytes: parseVmRssBytes(readFileSync(`/proc/${pid}/status`, "utf8")),
  };
}
