import type { Socket } from "node:dgram";
import net from "node:net";

type LookupCallback = (error: Error | null, address: string, family: number) => void;
type Lookup = (address: string, callback: LookupCallback) => void;

/** Node's UDP handle under a dgram socket: what its send() ends in. */
export type DgramHandle = Record<string, unknown>;

/**
 * The UDP handle under `socket`, from Node's private socket state (Node 22); undefined where that is
 * not found (another Node, or a socket not bound yet).
 */
export function dgramHandle(socket: Socket): DgramHandle | undefined {
  const key = Object.getOwnPropertySymbols(socket).find((symbol) => symbol.description === "state symbol");
  if (key === undefined) return undefined;
  return (
    (socket as unknown as Record<symbol, { handle?: DgramHandle | null } | undefined>)[key]?.handle ??
    undefined
  );
}

const sendingNow = new WeakSet<Socket>();

/**
 * Node's `send(datagram, port, address)` on a socket with no connected peer first resolves `address`
 * with dns.lookup, which answers even an IP literal on the next tick: a closure and a tick per
 * datagram, and every datagram of a fan-out slice leaves after the slice instead of within it. This
 * answers IP literals at once (host names still go to the original lookup), so the datagram is handed
 * to the kernel inside the send() call. It relies on Node's private socket state (Node 22); where that
 * is not found it changes nothing and returns false, and sends still work, one tick later.
 * test/unit/webrtc/udp-send-now.test.ts checks it takes effect on the Node this package runs on.
 */
export function sendIpLiteralsNow(socket: Socket): boolean {
  if (sendingNow.has(socket)) return true;
  const handle = dgramHandle(socket);
  if (handle === undefined || typeof handle.lookup !== "function") return false;
  const resolve = handle.lookup as Lookup;
  // A frame's packets to one viewer leave one after another: remembering the last answer spares
  // net.isIP's regular expression for all but a viewer's first.
  let lastAddress = "";
  let lastFamily = 0;
  handle.lookup = ((address, callback) => {
    if (address !== lastAddress) {
      lastFamily = net.isIP(address);
      lastAddress = address;
    }
    if (lastFamily !== 0) callback(null, address, lastFamily);
    else resolve(address, callback);
  }) satisfies Lookup;
  sendingNow.add(socket);
  return true;
}
