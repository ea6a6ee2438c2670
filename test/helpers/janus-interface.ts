import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";

// libnice (Janus's ICE) gathers no candidate on a loopback interface, so Janus gets an address of its
// own in the test's (or the bench's) network namespace: a veth pair whose one end holds 127.0.0.2/8
// (only this namespace's local routes reach it; nothing leaves 127.0.0.0/8), and its ICE is held to
// that end (ice_enforce_list).

/** The interface Janus gathers on (ice_enforce_list), and its peer. */
export const JANUS_INTERFACE = "jbench0";
const PEER_INTERFACE = "jbench1";
export const JANUS_ADDRESS = "127.0.0.2";

/**
 * The veth pair with 127.0.0.2/8 on Janus's end. Only in a namespace of the bench's or the test run's own: one that
 * holds nothing but loopback (`unshare --net`), never the machine's.
 *
 * libnice pins each host candidate's socket to its interface (IP_UNICAST_IF): from 127.0.0.2 it cannot
 * send to 127.0.0.1 (the kernel refuses a loopback source on a device that is not loopback, EINVAL).
 * So Janus's viewers take 127.0.0.2 too: a local address, reached through lo like the product's
 * viewers, and nothing crosses the pair (it only holds the address). Nothing leaves the namespace.
 * @throws Error in a namespace with other interfaces, or when `ip` fails
 */
export function addJanusInterface(): void {
  // /proc/net/dev is this process's namespace's (/sys/class/net is the one sysfs was mounted in).
  const others = readFileSync("/proc/net/dev", "utf8")
    .split("\n")
    .slice(2)
    .map((line) => line.split(":")[0]?.trim() ?? "")
    .filter((name) => name !== "" && name !== "lo");
  if (others.length > 0)
    throw new Error(
      `Janus's interface goes only into the bench's own network namespace (this one has ${others.join(", ")}): run it through npm run bench, or mocha under unshare --net`,
    );
  const ip = (...args: string[]) =>
    execFileSync("ip", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  const sysctl = (key: string, value: string) => writeFileSync(`/proc/sys/net/${key}`, value);
  ip("link", "add", JANUS_INTERFACE, "type", "veth", "peer", "name", PEER_INTERFACE);
  // No IPv6 on the pair: no link-local addresses, no router solicitations or address checks on it.
  for (const name of [JANUS_INTERFACE, PEER_INTERFACE]) sysctl(`ipv6/conf/${name}/disable_ipv6`, "1");
  ip("addr", "add", `${JANUS_ADDRESS}/8`, "dev", JANUS_INTERFACE);
  ip("link", "set", JANUS_INTERFACE, "up");
  ip("link", "set", PEER_INTERFACE, "up");
}

export function removeJanusInterface(): void {
  try {
    execFileSync("ip", ["link", "del", JANUS_INTERFACE], { stdio: "ignore" });
  } catch {
    // already gone
  }
}
