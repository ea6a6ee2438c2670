import { isIPv4 } from "node:net";
import { type NetworkInterfaceInfo, networkInterfaces } from "node:os";
import type { IceSettings } from "./ice-config";

/**
 * The IPv4 addresses werift 0.25.2 gathers host candidates on by itself (its `getHostAddresses` and
 * `selectAddressesFromInterfaces`, not exported): every interface's address but loopback, link-local
 * and interfaces named like tunnels or container veths. Kept in step with werift by hand: a werift
 * upgrade should be checked against node_modules/werift/lib/ice/src/internal/selectAddresses.js.
 */
export function weriftHostAddresses(
  interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces(),
): string[] {
  const skipped = ["ipsec", "tun", "utun", "tap", "vmnet", "veth"];
  return Object.keys(interfaces)
    .sort((a, b) => a.localeCompare(b))
    .filter((nic) => !skipped.some((word) => nic.startsWith(word)))
    .flatMap((nic) =>
      (interfaces[nic] ?? [])
        .filter((info) => info.family === "IPv4" && !info.internal && !info.address.startsWith("169.254."))
        .map((info) => info.address),
    );
}

/** The addresses werift advertises for these settings, as its gathering picks them. */
function configuredAddresses(ice: IceSettings, hostAddresses: readonly string[]): string[] {
  const pinned = ice.interfaceAddresses?.udp4;
  // werift keeps to the pinned interface when the host has it, and falls back to all when not.
  const own = pinned !== undefined && hostAddresses.includes(pinned) ? [pinned] : hostAddresses;
  return [...new Set([...ice.additionalHostAddresses, ...own])];
}

/**
 * The request addresses (where the viewer's HTTP request reached us) that the configured candidates do
 * not cover: loopback on a host that has nothing else, or the IPv4 literal of a `Host` header that a
 * port forward (`docker run -p`) or a 1:1 NAT put in front of us. A viewer that reached us there can
 * most likely reach our ICE port there too. The Host header is the client's to choose, but a candidate
 * only tells that client where to send its own checks, so a made-up one hurts no one else.
 * When the sockets are bound to one address (Interface, or the shared port's bind address), only that
 * one: a candidate elsewhere could not be reached.
 */
export function uncoveredAddresses(
  ice: IceSettings,
  localAddresses: readonly string[],
  hostAddresses: readonly string[] = weriftHostAddresses(),
): string[] {
  const pinned = ice.interfaceAddresses?.udp4;
  const bound = pinned !== undefined && pinned !== "0.0.0.0" ? pinned : undefined;
  const covered = new Set(configuredAddresses(ice, hostAddresses));
  const uncovered: string[] = [];
  for (const given of localAddresses) {
    // An HTTP server listening on "::" sees IPv4 clients at IPv4-mapped addresses (::ffff:a.b.c.d).
    const address = given.replace(/^::ffff:/i, "");
    if (!isIPv4(address) || address === "0.0.0.0" || covered.has(address)) continue;
    if (bound !== undefined && address !== bound) continue;
    covered.add(address);
    uncovered.push(address);
  }
  return uncovered;
}

/**
 * Every IPv4 address a viewer's answer offers host candidates on: the interfaces' own addresses werift
 * would use, the configured extra host addresses, and the request addresses those do not cover.
 * `hostAddresses` is for tests; by default the host's interfaces.
 */
export function candidateAddresses(
  ice: IceSettings,
  localAddresses: readonly string[],
  hostAddresses: readonly string[] = weriftHostAddresses(),
): string[] {
  return [
    ...configuredAddresses(ice, hostAddresses),
    ...uncoveredAddresses(ice, localAddresses, hostAddresses),
  ];
}
