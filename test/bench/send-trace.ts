import dgram from "node:dgram";
import { type DgramHandle, dgramHandle } from "../../src/webrtc/udp-send-now";
import { isRtcp, isRtpOrRtcp } from "./media-datagram";
import { MAX_TRACED_PACKETS, type TracedPacket } from "./protocol";

type Send = (this: dgram.Socket, ...args: unknown[]) => void;
type HandleSend = (this: DgramHandle, ...args: unknown[]) => unknown;

/** An RTP packet's header fields (clear in SRTP); undefined for anything else. */
function rtpFields(packet: unknown): Omit<TracedPacket, "atNs"> | undefined {
  if (!Buffer.isBuffer(packet) || packet.length < 12 || !isRtpOrRtcp(packet) || isRtcp(packet))
    return undefined;
  return {
    seq: packet.readUInt16BE(2),
    timestamp: packet.readUInt32BE(4),
    marker: ((packet[1] as number) & 0x80) !== 0,
  };
}

/**
 * When this process hands RTP for given viewers to the kernel: the relay delay as the issue defines it
 * ends when "the same packet leaves for the viewer", in the server, before the viewer's process (busy
 * with 99 other viewers, or answering the bench) reads it. While on, the UDP handle of every socket
 * that sends to one of the ports is wrapped, and each RTP datagram it hands to libuv for those ports is
 * stamped then: after Node's address lookup, which for a socket left as Node made it (werift's, in the
 * baseline) waits for the next tick, and so for the rest of a synchronous fan-out.
 * Bench instrumentation: the product knows nothing of it, and it is off outside a traced window.
 */
export class SendTrace {
  private originalSend: Send | undefined;
  private readonly wrapped = new Map<DgramHandle, HandleSend>();
  private traces: TracedPacket[][] = [];

  /** Starts a trace per port (restarting any trace running). */
  start(ports: readonly number[]): void {
    this.stop();
    const traces = ports.map((): TracedPacket[] => []);
    const byPort = new Map(ports.map((port, i) => [port, traces[i] as TracedPacket[]]));
    const wrapped = this.wrapped;
    // handle.send(req, list, count, port, address, hasCallback) on a socket without a connected peer.
    const stamp = (handleSend: HandleSend): HandleSend =>
      function tracedHandleSend(this: DgramHandle, ...args: unknown[]): unknown {
        const trace = typeof args[3] === "number" ? byPort.get(args[3]) : undefined;
        if (trace !== undefined && trace.length < MAX_TRACED_PACKETS && Array.isArray(args[1])) {
          const atNs = process.hrtime.bigint();
          const fields = rtpFields(args[1][0]);
          if (fields !== undefined) trace.push({ ...fields, atNs: atNs.toString() });
        }
        return handleSend.apply(this, args);
      };
    // Looked at once per socket: finding the state symbol on every send would cost the row it measures.
    const seen = new WeakSet<dgram.Socket>();
    const proto = dgram.Socket.prototype as unknown as { send: Send };
    const originalSend = proto.send;
    proto.send = function tracedSend(this: dgram.Socket, ...args: unknown[]): void {
      if (!seen.has(this)) {
        seen.add(this);
        const handle = dgramHandle(this);
        if (handle !== undefined && typeof handle.send === "function") {
          const send = handle.send as HandleSend;
          wrapped.set(handle, send);
          handle.send = stamp(send);
        }
      }
      originalSend.apply(this, args);
    };
    this.originalSend = originalSend;
    this.traces = traces;
  }

  /** Stops and hands over the traces, in the order of the ports given to start(). */
  stop(): TracedPacket[][] {
    if (this.originalSend !== undefined) {
      (dgram.Socket.prototype as unknown as { send: Send }).send = this.originalSend;
      this.originalSend = undefined;
    }
    for (const [handle, send] of this.wrapped) handle.send = send;
    this.wrapped.clear();
    const traces = this.traces;
    this.traces = [];
    return traces;
  }
}
