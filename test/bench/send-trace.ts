import dgram from "node:dgram";
import { type DgramHandle, dgramHandle } from "../../src/webrtc/udp-send-now";
import { isRtcp, isRtpOrRtcp } from "./media-datagram";
import { MAX_TRACED_PACKETS, type TracedPacket } from "./protocol";

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
 * with 99 other viewers, or answering the bench) reads it. While on, the send() of Node's UDP handles
 * (their prototype's, which both dgram and the relay's own sender call) is wrapped, and each RTP
 * datagram handed to libuv for those ports is stamped then: after Node's address lookup, which for a
 * socket left as Node made it (werift's, in the baseline) waits for the next tick, and so for the rest
 * of a synchronous fan-out.
 * Bench instrumentation: the product knows nothing of it, and it is off outside a traced window.
 */
export class SendTrace {
  private handlePrototype: { send: HandleSend } | undefined;
  private originalSend: HandleSend | undefined;
  private traces: TracedPacket[][] = [];

  /** Starts a trace per port (restarting any trace running). */
  start(ports: readonly number[]): void {
    this.stop();
    const traces = ports.map((): TracedPacket[] => []);
    const byPort = new Map(ports.map((port, i) => [port, traces[i] as TracedPacket[]]));
    // Every UDP handle's send (dgram's, and the relay's datagramSender) is its prototype's.
    const probe = dgram.createSocket("udp4");
    const handle = dgramHandle(probe);
    probe.close();
    const prototype =
      handle === undefined ? undefined : (Object.getPrototypeOf(handle) as { send?: unknown });
    if (prototype === undefined || typeof prototype.send !== "function") {
      throw new Error("SendTrace: no UDP handle send() found on this Node");
    }
    const handleSend = prototype.send as HandleSend;
    // handle.send(req, list, count, port, address, hasCallback) on a socket without a connected peer.
    prototype.send = function tracedHandleSend(this: DgramHandle, ...args: unknown[]): unknown {
      const trace = typeof args[3] === "number" ? byPort.get(args[3]) : undefined;
      if (trace !== undefined && trace.length < MAX_TRACED_PACKETS && Array.isArray(args[1])) {
        const atNs = process.hrtime.bigint();
        const fields = rtpFields(args[1][0]);
        if (fields !== undefined) trace.push({ ...fields, atNs: atNs.toString() });
      }
      return handleSend.apply(this, args);
    };
    this.handlePrototype = prototype as { send: HandleSend };
    this.originalSend = handleSend;
    this.traces = traces;
  }

  /** Stops and hands over the traces, in the order of the ports given to start(). */
  stop(): TracedPacket[][] {
    if (this.handlePrototype !== undefined && this.originalSend !== undefined) {
      this.handlePrototype.send = this.originalSend;
    }
    this.handlePrototype = undefined;
    this.originalSend = undefined;
    const traces = this.traces;
    this.traces = [];
    return traces;
  }
}
