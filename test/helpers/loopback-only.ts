import { networkInterfaces } from "node:os";

/** What a test file that must stay on loopback is told to run with instead. */
export const NAMESPACE_COMMAND =
  "unshare --net -- bash -c 'ip link set lo up && exec mocha --no-package --timeout 60000 --exit <file>'";

type Interfaces = ReturnType<typeof networkInterfaces>;

/**
 * Why this process may not send a test packet, or undefined when it may: it must see only loopback
 * addresses (a network namespace of its own), and loopback must be up. WebRTC (werift, Chromium) gathers
 * candidates on every interface it sees, so outside such a namespace a test would offer, and send to,
 * this machine's real addresses.
 */
export function loopbackOnlyProblem(interfaces: Interfaces = networkInterfaces()): string | undefined {
  const addresses = Object.entries(interfaces).flatMap(([name, list]) =>
    (list ?? []).map((a) => ({ name, address: a.address, internal: a.internal })),
  );
  const outside = addresses.filter((a) => !a.internal);
  if (outside.length > 0) {
    const seen = outside.map((a) => `${a.name} ${a.address}`).join(", ");
    return `this process sees network interfaces besides loopback (${seen})`;
  }
  if (!addresses.some((a) => a.address === "127.0.0.1")) return "loopback (127.0.0.1) is not up";
  return undefined;
}
