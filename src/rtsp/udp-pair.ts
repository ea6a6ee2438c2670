import dgram from "node:dgram";
import { RtspError } from "./errors";

/** An RTP socket on an even port and its RTCP socket on the next odd one (RFC 3550 §11). */
export interface UdpPair {
  readonly rtp: dgram.Socket;
  readonly rtcp: dgram.Socket;
  readonly rtpPort: number;
  readonly rtcpPort: number;
  close(): void;
}

export interface UdpPairOptions {
  /** Address family of the server: the sockets must match it. */
  readonly ipv6: boolean;
  /** Lowest and highest port to try (firewall rules); ephemeral range by default. */
  readonly portRange?: readonly [number, number];
  readonly attempts?: number;
}

export async function openUdpPair(options: UdpPairOptions): Promise<UdpPair> {
  const [low, high] = options.portRange ?? [20000, 59998];
  const attempts = options.attempts ?? 50;
  for (let i = 0; i < attempts; i++) {
    const even = low + 2 * Math.floor((Math.random() * (high - low)) / 2);
    const rtpPort = even % 2 === 0 ? even : even + 1;
    const pair = await tryBind(rtpPort, options.ipv6);
    if (pair) return pair;
  }
  throw new RtspError(`no free UDP port pair in ${low}-${high}`, "network");
}

async function tryBind(rtpPort: number, ipv6: boolean): Promise<UdpPair | undefined> {
  const type = ipv6 ? "udp6" : "udp4";
  const rtp = dgram.createSocket({ type, reuseAddr: false });
  const rtcp = dgram.createSocket({ type, reuseAddr: false });
  const closeBoth = () => {
    for (const socket of [rtp, rtcp]) {
      try {
        socket.close();
      } catch {
        // already closed
      }
    }
  };
  const ok = (await bind(rtp, rtpPort)) && (await bind(rtcp, rtpPort + 1));
  if (!ok) {
    closeBoth();
    return undefined;
  }
  return { rtp, rtcp, rtpPort, rtcpPort: rtpPort + 1, close: closeBoth };
}

function bind(socket: dgram.Socket, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const onError = () => resolve(false);
    socket.once("error", onError);
    socket.bind(port, () => {
      socket.off("error", onError);
      // Late errors (ICMP unreachable surfacing as send errors) must not crash the process.
      socket.on("error", () => {});
      resolve(true);
    });
  });
}
