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

/** Sends one datagram to `address` (an IP literal, or a host name Node looks up) and `port`. */
export type SendDatagram = (datagram: Buffer, port: number, address: string) => void;

/** handle.send(req, list, count, port, address, hasCallback) of a socket with no connected peer (Node 22). */
type HandleSend = (
  req: object,
  list: readonly Buffer[],
  count: number,
  port: number,
  address: string,
  hasCallback: boolean,
) => number;

type SendRequest = { list?: readonly Buffer[] };
type SendRequestType = new () => SendRequest;

const senders = new WeakMap<Socket, SendDatagram>();

/**
 * A sender for `socket` that hands datagrams to IP literals straight to its UDP handle, as
 * `socket.send(datagram, port, address)` with no callback would in the end, without what dgram does
 * on the way for every datagram: argument checks, a list array, a closure and the lookup above, and a
 * request object that is only needed when the kernel cannot take the datagram at once. Those were
 * about a fifth of what the relay allocated per packet, and so of its young collections.
 *
 * The first datagram goes through dgram, with the handle's send watched: that is where the request
 * type comes from, and where the arguments are checked to be in the order this relies on (Node 22's
 * private dgram). Until then, and for good where they are not, every datagram goes through dgram
 * (made to send IP literals at once). A socket not bound yet sends through dgram (which binds it)
 * until its first datagram reached the handle.
 */
export function datagramSender(socket: Socket): SendDatagram {
  let sender = senders.get(socket);
  if (sender === undefined) {
    sender = immediateSender(socket);
    senders.set(socket, sender);
  }
  return sender;
}

function immediateSender(socket: Socket): SendDatagram {
  sendIpLiteralsNow(socket);
  const viaDgram: SendDatagram = (datagram, port, address) => {
    socket.send(datagram, port, address);
  };
  const handle = dgramHandle(socket);
  if (handle === undefined || typeof handle.send !== "function") return viaDgram;
  let direct: SendDatagram | undefined;
  let learning = true;
  return (datagram, port, address) => {
    if (direct !== undefined) {
      direct(datagram, port, address);
      return;
    }
    if (!learning || net.isIP(address) === 0) {
      viaDgram(datagram, port, address);
      return;
    }
    const type = watchOneSend(handle, () => viaDgram(datagram, port, address), datagram, port, address);
    if (type === "mismatch") learning = false;
    else if (type !== undefined) direct = directSender(handle, type, viaDgram);
  };
}

/**
 * Runs `send` with the handle's send watched for one call: the request's type when that call had the
 * expected arguments, "mismatch" when it had others, undefined when none came (not bound yet).
 */
function watchOneSend(
  handle: DgramHandle,
  send: () => void,
  datagram: Buffer,
  port: number,
  address: string,
): SendRequestType | "mismatch" | undefined {
  const hadOwn = Object.hasOwn(handle, "send");
  const own = handle.send;
  const original = handle.send as HandleSend;
  let seen: SendRequestType | "mismatch" | undefined;
  handle.send = function watchedSend(this: unknown, ...args: Parameters<HandleSend>): number {
    if (seen === undefined) {
      const [req, list, count, toPort, toAddress, hasCallback] = args;
      const expected =
        typeof req === "object" &&
        req !== null &&
        Array.isArray(list) &&
        list[0] === datagram &&
        count === 1 &&
        toPort === port &&
        toAddress === address &&
        hasCallback === false;
      seen = expected ? (req.constructor as SendRequestType) : "mismatch";
    }
    return original.apply(this, args);
  };
  try {
    send();
  } finally {
    if (hadOwn) handle.send = own;
    else delete handle.send;
  }
  return seen;
}

function directSender(handle: DgramHandle, Request: SendRequestType, viaDgram: SendDatagram): SendDatagram {
  let request = new Request();
  const list: Buffer[] = [];
  let lastAddress = "";
  let lastIsIp = false;
  return (datagram, port, address) => {
    if (address !== lastAddress) {
      lastIsIp = net.isIP(address) !== 0;
      lastAddress = address;
    }
    if (!lastIsIp) {
      viaDgram(datagram, port, address);
      return;
    }
    list[0] = datagram;
    // Read from the handle at each call: whoever wraps it (the bench's send trace) sees every datagram.
    const result = (handle.send as HandleSend)(request, list, 1, port, address, false);
    // msg_size + 1: the kernel took it within the call, and the request was not used.
    if (result >= 1) return;
    // Queued (0): the request now stands for the pending send and must hold the datagram, as dgram's
    // does. Failed (< 0): dropped, as dgram drops it without a callback. Either way, a fresh request.
    if (result === 0) request.list = [datagram];
    request = new Request();
  };
}
