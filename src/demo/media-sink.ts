import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { isIPv6, type Socket } from "node:net";

/** Where a session's RTP and RTCP go: interleaved on the RTSP connection, or UDP datagrams. */
export interface MediaSink {
  /** Sends one frame's packets; false when the frame was dropped because the receiver lags. */
  sendRtp(packets: readonly Buffer[]): boolean;
  sendRtcp(packet: Buffer): void;
  /** The Transport header value that confirms this sink in a SETUP response. */
  transportHeader(ssrc: number): string;
  close(): void;
}

/** Frames are dropped while this much is queued on the socket: the client is not reading. */
const MAX_QUEUED_BYTES = 256 * 1024;

const ssrcHex = (ssrc: number): string => (ssrc >>> 0).toString(16).toUpperCase().padStart(8, "0");

export class InterleavedSink implements MediaSink {
  constructor(
    private readonly socket: Socket,
    readonly channels: readonly [rtp: number, rtcp: number],
  ) {}

  sendRtp(packets: readonly Buffer[]): boolean {
    if (this.socket.destroyed || this.socket.writableLength > MAX_QUEUED_BYTES) return false;
    this.socket.write(
      Buffer.concat(packets.flatMap((packet) => [this.frameHeader(this.channels[0], packet), packet])),
    );
    return true;
  }

  sendRtcp(packet: Buffer): void {
    if (this.socket.destroyed) return;
    this.socket.write(Buffer.concat([this.frameHeader(this.channels[1], packet), packet]));
  }

  transportHeader(ssrc: number): string {
    return `RTP/AVP/TCP;unicast;interleaved=${this.channels[0]}-${this.channels[1]};ssrc=${ssrcHex(ssrc)};mode="PLAY"`;
  }

  close(): void {
    // The RTSP connection outlives the session: nothing of its own to release.
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
      // Clients punch NAT holes and send receiver reports here; both are read and ignored.
      socket.on("error", () => {});
      socket.on("message", () => {});
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
  constructor(
    private readonly pair: UdpPair,
    private readonly clientAddress: string,
    private readonly clientPorts: readonly [rtp: number, rtcp: number],
  ) {}

  sendRtp(packets: readonly Buffer[]): boolean {
    for (const packet of packets) this.pair.rtp.send(packet, this.clientPorts[0], this.clientAddress, ignore);
    return true;
  }

  sendRtcp(packet: Buffer): void {
    this.pair.rtcp.send(packet, this.clientPorts[1], this.clientAddress, ignore);
  }

  transportHeader(ssrc: number): string {
    const serverPort = this.pair.rtp.address().port;
    return (
      `RTP/AVP;unicast;client_port=${this.clientPorts[0]}-${this.clientPorts[1]};` +
      `server_port=${serverPort}-${serverPort + 1};ssrc=${ssrcHex(ssrc)};mode="PLAY"`
    );
  }

  close(): void {
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
