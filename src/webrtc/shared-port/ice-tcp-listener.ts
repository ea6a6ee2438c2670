import type { Server, Socket } from "node:net";
import type { DropReason } from "./check-auth";

// The shared ICE-TCP port (RFC 6544 passive candidates, RFC 4571 framing: a 2-byte length before
// each STUN message or DTLS/SRTP packet). A connection is nobody's until its first frame is an
// authenticated binding request for one of our viewers; until then it is held to a size limit,
// an idle timeout and a per-address cap, and gets no byte back. Then it is handed, with whatever
// it sent after that frame, to the viewer's werift passive protocol.

export interface IceTcpLimits {
  /** A connection that has not authenticated by then is closed. Default 5000 ms. */
  readonly idleMs?: number;
  /** The largest first frame accepted (its 2-byte length prefix not counted). Default 1500. */
  readonly maxFirstFrame?: number;
  /** Open connections (authenticated or not) from one remote IP address. Default 8. */
  readonly maxPerAddress?: number;
  /** Unauthenticated connections at once, all addresses together. Default 256. */
  readonly maxPending?: number;
}

/** What the listener asks about a connection's first frame. */
export type FirstFrameVerdict =
  | DropReason
  | { adopt(socket: Socket, remote: readonly [string, number], frames: Buffer[], rest: Buffer): void };

/** Complete RFC 4571 frames at the start of `buffer`, and the bytes after them. */
export function splitFrames(buffer: Buffer): { frames: Buffer[]; rest: Buffer } {
  const frames: Buffer[] = [];
  let offset = 0;
  while (buffer.length - offset >= 2) {
    const length = buffer.readUInt16BE(offset);
    if (buffer.length - offset - 2 < length) break;
    frames.push(buffer.subarray(offset + 2, offset + 2 + length));
    offset += 2 + length;
  }
  return { frames, rest: Buffer.from(buffer.subarray(offset)) };
}

export class IceTcpListener {
  private readonly idleMs: number;
  private readonly maxFirstFrame: number;
  private readonly maxPerAddress: number;
  private readonly maxPending: number;
  private readonly perAddress = new Map<string, number>();
  private readonly pending = new Set<Socket>();
  private readonly sockets = new Set<Socket>();
  accepted = 0;
  adopted = 0;

  constructor(
    private readonly server: Server,
    private readonly judge: (firstFrame: Buffer) => FirstFrameVerdict,
    private readonly drop: (reason: DropReason) => void,
    limits: IceTcpLimits = {},
  ) {
    this.idleMs = limits.idleMs ?? 5000;
    this.maxFirstFrame = limits.maxFirstFrame ?? 1500;
    this.maxPerAddress = limits.maxPerAddress ?? 8;
    this.maxPending = limits.maxPending ?? 256;
    server.on("connection", (socket) => this.onConnection(socket));
  }

  /** Open connections: [unauthenticated, all]. */
  get counts(): { pending: number; open: number; addresses: number } {
    return { pending: this.pending.size, open: this.sockets.size, addresses: this.perAddress.size };
  }

  private onConnection(socket: Socket): void {
    this.accepted++;
    const ip = socket.remoteAddress;
    const port = socket.remotePort;
    if (ip === undefined || port === undefined) {
      socket.destroy();
      return;
    }
    const count = this.perAddress.get(ip) ?? 0;
    if (count >= this.maxPerAddress) {
      this.drop("tcp-ip-cap");
      socket.destroy();
      return;
    }
    if (this.pending.size >= this.maxPending) {
      this.drop("tcp-pending-cap");
      socket.destroy();
      return;
    }
    this.perAddress.set(ip, count + 1);
    this.sockets.add(socket);
    this.pending.add(socket);
    socket.on("error", () => {});
    socket.once("close", () => {
      clearTimeout(timer);
      // Gone before its first frame was complete: nobody's, counted like the others.
      if (this.pending.delete(socket)) this.drop("tcp-closed-early");
      this.sockets.delete(socket);
      const left = (this.perAddress.get(ip) ?? 1) - 1;
      if (left > 0) this.perAddress.set(ip, left);
      else this.perAddress.delete(ip);
    });
    const timer = setTimeout(() => reject("tcp-idle"), this.idleMs);
    let buffer: Buffer = Buffer.alloc(0);
    const reject = (reason: DropReason): void => {
      if (!this.pending.has(socket)) return;
      this.pending.delete(socket);
      clearTimeout(timer);
      socket.off("data", onData);
      this.drop(reason);
      socket.destroy();
    };
    const onData = (chunk: Buffer): void => {
      buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
      if (buffer.length < 2) return;
      const length = buffer.readUInt16BE(0);
      if (length > this.maxFirstFrame) {
        reject("tcp-oversize");
        return;
      }
      if (buffer.length < 2 + length) return;
      const verdict = this.judge(buffer.subarray(2, 2 + length));
      if (typeof verdict === "string") {
        reject(verdict);
        return;
      }
      clearTimeout(timer);
      this.pending.delete(socket);
      socket.off("data", onData);
      const { frames, rest } = splitFrames(buffer);
      this.adopted++;
      verdict.adopt(socket, [ip, port], frames, rest);
    };
    socket.on("data", onData);
  }

  /** Closes the listener and every connection it accepted (adopted ones included). */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }
}
