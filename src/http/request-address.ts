import type { IncomingMessage } from "node:http";
import { isIPv4 } from "node:net";

/** An IPv4-mapped IPv6 address ("::ffff:127.0.0.1") as the IPv4 address it is. */
export function unmapped(address: string): string {
  return address.toLowerCase().startsWith("::ffff:") && isIPv4(address.slice(7)) ? address.slice(7) : address;
}

/** The IPv4 literal a Host header names ("192.0.2.7:1880" → "192.0.2.7"); undefined for a name or IPv6. */
export function hostHeaderAddress(host: string | undefined): string | undefined {
  if (host === undefined) return undefined;
  const name = host.trim().replace(/:\d*$/, "");
  return isIPv4(name) ? name : undefined;
}

/**
 * The IPv4 addresses the request reached us at: the socket's local address, and the Host header's IPv4
 * literal (what the viewer dialled, which differs behind a port forward such as `docker run -p`).
 * Behind a reverse proxy both name the proxy's side; the configured host addresses cover that case.
 */
export function requestLocalAddresses(req: IncomingMessage): string[] {
  const found: string[] = [];
  const local = unmapped(req.socket.localAddress ?? "");
  if (isIPv4(local)) found.push(local);
  const host = hostHeaderAddress(req.headers.host);
  if (host !== undefined && !found.includes(host)) found.push(host);
  return found;
}
