import { createSocket, type RemoteInfo, type Socket as UdpSocket } from "node:dgram";
import { isIPv6, type Socket } from "node:net";
import { formatTransportHeader } from "../rtsp/headers";

/** What a client sends back on a session's channels. */
export interface SinkInput {
  /** A packet on the RTCP channel: receiver reports, or an RTCP NAT punch. */
  rtcp(packet: Buffer): void;
  /** A packet on the RTP channel: over UDP, a NAT punch; TCP clients have no reason to send one. */
  rtp(packet: Buffer): void;
}

/** Where a session's RTP and RTCP go: interleaved on the RTSP connection, or UDP datagrams. */
export interface MediaSink {
  readonly kind: "tcp" | "udp";
  /**
   * Sends one frame's packets; false when the frame was dropped because the receiver lags.
   * `onSent` is called with each packet right after it was handed to the socket.
   */
  sendRtp(packets: readonly Buffer[], onSent?: (packet: Buffer) => void): boolean;
  sendRtcp(packet: Buffer): void;
  /** The Transport header value that confirms this sink in a SETUP response. */
  transportHeader(ssrc: number): string;
  /** Hands what the client sends on this session's channels to `input` (replacing an earlier one). */
  listen(input: SinkInput): void;
  close(): void;
}

/** Frames are dropped while this much is queued on the socket: the client is not reading. */
const MAX_QUEUED_BYTES = 256 * 1024;

/** Quoted, as gst-rtsp-server writes it too (RFC 2326 allows either). */
const PLAY_MODE = '"PLAY"';

const noInput: SinkInput = { rtcp: () => {}, rtp: () => {} };

export class InterleavedSink implements MediaSink {
  readonly kind = "tcp";
  private input = noInput;

  constructor(
    private readonly socket: Socket,
    readonly channels: readonly [rtp: number, rtcp: number],
  ) {}

  sendRtp(packets: readonly Buffer[], onSent?: (packet: Buffer) => void): boolean {
    if (this.socket.destroyed || this.socket.writableLength > MAX_QUEUED_BYTES) return false;
    this.socket.write(
      Buffer.concat(packets.flatMap((packet) => [this.frameHeader(this.channels[0], packet), packet])),
    );
    if (onSent) for (const packet of packets) onSent(packet);
    return true;
  }

  sendRtcp(packet: Buffer): void {
    if (this.socket.destroyed) return;
    this.socket.write(Buffer.concat([this.frameHeader(this.channels[1], packet), packet]));
  }

  transportHeader(ssrc: number): string {
    const interleaved: [number, number] = [this.channels[0], this.channels[1]];
    return formatTransportHeader({
      protocol: "RTP/AVP/TCP",
      unicast: true,
      interleaved,
      ssrc,
      mode: PLAY_MODE,
    });
  }

  listen(input: SinkInput): void {
    this.input = input;
  }

  /** An interleaved frame the client sent: true when it was on one of this sink's channels. */
  deliver(channel: number, data: Buffer): boolean {
    if (channel === this.channels[1]) this.input.rtcp(data);
    else if (channel === this.channels[0]) this.input.rtp(data);
    else return false;
    return true;
  }

  close(): void {
    this.input = noInput;
  }

  private frameHeader(channel: number, packet: Buffer): Buffer {
    const header = Buffer.alloc(4);
    header[0] = 0x24;
    header[1] = channel;
    header.writeUInt16BE(packet.length, 2);
    return header;
  }
}

export interface UdpPair {
  readonly rtp: UdpSocket;
  readonly rtcp: UdpSocket;
}

function bindSocket(type: "udp4" | "udp6", address: string, port: number): Promise<UdpSocket | undefined> {
  return new Promise((resolve) => {
    const socket = createSocket(type);
    const fail = (): void => {
      socket.close();
      resolve(undefined);
    };
    socket.once("error", fail);
    socket.bind(port, address, () => {
      socket.off("error", fail);
      socket.on("error", () => {});
      resolve(socket);
    });
  });
}

/** Binds an even RTP port and the odd port above it for RTCP, as RFC 3550 11 recommends. */
export async function bindUdpPair(address: string, attempts = 20): Promise<UdpPair | undefined> {
  const type = isIPv6(address) ? "udp6" : "udp4";
  for (let attempt = 0; attempt < attempts; attempt++) {
    const rtp = await bindSocket(type, address, 0);
    if (!rtp) return undefined;
    const port = rtp.address().port;
    const rtcp = port % 2 === 0 && port < 65535 ? await bindSocket(type, address, port + 1) : undefined;
    if (rtcp) return { rtp, rtcp };
    rtp.close();
  }
  return undefined;
}

export class UdpSink implements MediaSink {
  readonly kind = "udp";
  private input = noInput;

  constructor(
    private readonly pair: UdpPair,
    private readonly clientAddress: string,
    private readonly clientPorts: readonly [rtp: number, rtcp: number],
  ) {
    // Clients punch NAT holes at both ports and send receiver reports to the RTCP one. Datagrams are
    // taken from the client's address whatever their port: a NAT may have rewritten it.
    const fromClient = (from: RemoteInfo): boolean => from.address.replace(/^::ffff:/, "") === clientAddress;
    pair.rtp.on("message", (packet, from) => {
      if (fromClient(from)) this.input.rtp(packet);
    });
    pair.rtcp.on("message", (packet, from) => {
      if (fromClient(from)) this.input.rtcp(packet);
    });
  }

  sendRtp(packets: readonly Buffer[], onSent?: (packet: Buffer) => void): boolean {
    for (const packet of packets) {
      this.pair.rtp.send(packet, this.clientPorts[0], this.clientAddress, ignore);
      onSent?.(packet);
    }
    return true;
  }

  sendRtcp(packet: Buffer): void {
    this.pair.rtcp.send(packet, this.clientPorts[1], this.clientAddress, ignore);
  }

  transportHeader(ssrc: number): string {
    const serverPort = this.pair.rtp.address().port;
    return formatTransportHeader({
      protocol: "RTP/AVP",
      unicast: true,
      clientPort: [this.clientPorts[0], this.clientPorts[1]],
      serverPort: [serverPort, serverPort + 1],
      ssrc,
      mode: PLAY_MODE,
    });
  }

  listen(input: SinkInput): void {
    this.input = input;
  }

  close(): void {
    this.input = noInput;
    for (const socket of [this.pair.rtp, this.pair.rtcp]) {
      try {
        socket.close();
      } catch {
        // Already closed.
      }
    }
  }
}

/** Send errors (ICMP port unreachable once the client is gone) are expected; the session timeout ends it. */
function ignore(): void {}
