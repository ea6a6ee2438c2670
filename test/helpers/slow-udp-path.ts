import { createSocket, type RemoteInfo, type Socket } from "node:dgram";

// A slow road to one UDP server on loopback, as a far STUN server is: each datagram waits `delayMs`
// each way. Like a NAT, it sends a client's datagrams on from a socket of that client's own, so the
// server sees (and a STUN server reports) that socket's address.

export interface SlowUdpPath {
  /** The port clients send to (on 127.0.0.1). */
  readonly port: number;
  /** Datagrams carried towards the server so far. */
  readonly forwarded: number;
  close(): Promise<void>;
}

function bind(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket("udp4");
    socket.once("error", reject);
    socket.bind(0, "127.0.0.1", () => resolve(socket));
  });
}

export async function startSlowUdpPath(
  target: { address: string; port: number },
  delayMs: number,
): Promise<SlowUdpPath> {
  const front = await bind();
  const outer = new Map<string, Promise<Socket>>();
  const timers = new Set<NodeJS.Timeout>();
  let forwarded = 0;
  let closed = false;
  const later = (send: () => void): void => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!closed) send();
    }, delayMs);
    timers.add(timer);
  };
  const socketFor = (client: RemoteInfo): Promise<Socket> => {
    const key = `${client.address}:${client.port}`;
    let socket = outer.get(key);
    if (socket === undefined) {
      socket = bind().then((s) => {
        s.on("message", (data, from) => {
          if (from.address !== target.address || from.port !== target.port) return;
          later(() => front.send(data, client.port, client.address));
        });
        return s;
      });
      outer.set(key, socket);
    }
    return socket;
  };
  front.on("message", (data, client) => {
    if (closed) return;
    socketFor(client).then(
      (socket) =>
        later(() => {
          forwarded++;
          socket.send(data, target.port, target.address);
        }),
      () => undefined,
    );
  });
  return {
    port: front.address().port,
    get forwarded() {
      return forwarded;
    },
    close: async () => {
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      const bound = await Promise.allSettled(outer.values());
      const sockets = [front, ...bound.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []))];
      await Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    },
  };
}
