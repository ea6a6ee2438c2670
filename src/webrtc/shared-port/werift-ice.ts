import type { Socket as UdpSocket } from "node:dgram";
import { isIP, type Socket as TcpSocket } from "node:net";
import {
  Candidate,
  candidateFoundation,
  candidatePriority,
  type RTCPeerConnection,
  StunProtocol,
  TcpPassiveProtocol,
} from "werift";

/*
 * What the shared port relies on in werift 0.25.2. None of it is an option werift offers; it is the
 * ICE-restart path of its ICE `Connection`, used on purpose (docs: /work/shared/DESIGN.md §5):
 *
 *  Connection (werift/lib/ice/src/ice.js), reached as pc.iceTransports[i].connection:
 *   - `protocols` (private array): gatherCandidates() re-advertises the localCandidate of every
 *     protocol already in it, and binds no socket for an address whose protocol has that `localIp`;
 *     connect() pairs every protocol in it with the remote candidates.
 *   - `ensureProtocol(protocol)` (private): subscribes the connection to a protocol's requests
 *     (it answers binding requests itself, without checking their MESSAGE-INTEGRITY) and data.
 *   - `localUsername`, `localPassword`, `userHistory` (ufrag → password used to sign answers),
 *     `generation`: read by the answer's ice-ufrag (RTCIceGatherer.localParameters) and by the
 *     candidates.
 *   - `options.useIpv4/useIpv6/additionalHostAddresses/useTcp` (a per-connection copy): set off so
 *     getHostAddresses() yields nothing and werift binds no host socket; TURN gathering is separate.
 *   - `localCandidatesStart`: false until gathering began (attach must come before it).
 *   - `nominated` (the selected CandidatePair: `protocol`, `remoteAddr`, `nominated`, and its
 *     `requestsReceived`/`responsesSent` counts), `state` and `iceControlling`: read to answer a
 *     check on the selected pair without werift (SharedIcePort.answerOnSelectedPair; pinned by the
 *     consent test of test/integration/shared-port.test.ts, which fails if none is answered).
 *  StunProtocol (exported): `transport` (Transport shape: send(data, addr), close(), closed,
 *   address, addressFamily; plus `socket`, read by direct-rtp-sink/udp-send-now through
 *   CandidatePairInternals; every STUN request, checks and consent, goes out through send(), which
 *   is how the port learns where responses will come from), `localIp`, `localCandidate`,
 *   `transactions` (private: transaction id hex → pending request), `datagramReceived(data, addr)`
 *   (private: the socket's message handler), close() closing its transport.
 *  TcpPassiveProtocol (exported): `registerSocket(socket, remoteAddr)` (protected: adopts an
 *   accepted connection and returns its entry {socket, buffer, remoteAddr}), `handleFrame(frame,
 *   addr)` (private: one RFC 4571 frame), `sockets`, `transactions`, `pruneForSelection()`,
 *   `connectionMade()` and `listeningPort` (overridden: the shared listener does the listening).
 *
 * test/unit/webrtc/shared-port/werift-ice.test.ts pins every one of them, so a werift upgrade that
 * moves one fails the suite loudly instead of silently answering nothing (or everything).
 */

export type Address = readonly [string, number];

export interface IceOptionsInternals {
  useIpv4?: boolean;
  useIpv6?: boolean;
  useTcp?: boolean;
  additionalHostAddresses?: string[];
}

/** A werift CandidatePair, as far as the shared port reads or counts it. */
export interface SelectedPairInternals {
  readonly protocol: unknown;
  readonly remoteAddr: Address;
  readonly nominated: boolean;
  requestsReceived: number;
  responsesSent: number;
}

export interface IceConnectionInternals {
  localUsername: string;
  localPassword: string;
  userHistory: Record<string, string>;
  generation: number;
  options: IceOptionsInternals;
  protocols: unknown[];
  readonly localCandidatesStart: boolean;
  state: string;
  /** The selected pair, once ICE has nominated one. */
  readonly nominated?: SelectedPairInternals;
  readonly iceControlling: boolean;
  ensureProtocol(protocol: unknown): void;
}

export interface StunProtocolInternals {
  transport: unknown;
  localIp?: string;
  localCandidate?: Candidate;
  readonly transactions: Record<string, unknown>;
  datagramReceived(data: Buffer, addr: Address): void;
}

export interface TcpSocketEntry {
  socket: TcpSocket;
  buffer: Buffer;
  remoteAddr?: Address;
}

export interface TcpPassiveInternals {
  readonly transactions: Record<string, unknown>;
  registerSocket(socket: TcpSocket, remoteAddr?: Address): TcpSocketEntry;
  handleFrame(frame: Buffer, addr: Address): void;
}

/** The distinct ICE connections of a peer connection (one with BUNDLE). */
export function iceConnections(pc: RTCPeerConnection): IceConnectionInternals[] {
  const connections = new Set<IceConnectionInternals>();
  for (const transport of pc.iceTransports) {
    connections.add(transport.connection as unknown as IceConnectionInternals);
  }
  return [...connections];
}

/**
 * A werift Transport for one viewer on the shared UDP socket: sends go out of the shared socket,
 * receives come from the shared port's router (it calls the protocol's datagramReceived).
 * `socket` is the shared socket so the direct send path (udp-send-now) keeps working.
 */
export class SharedUdpTransport {
  readonly type = "udp";
  readonly addressFamily = 4;
  closed = false;
  /** werift sets it on its own transports; the router feeds the protocol directly instead. */
  onData: (data: Buffer, addr: Address) => void = () => {};

  constructor(
    readonly socket: UdpSocket,
    private readonly host: string,
    private readonly port: number,
    private readonly onClose: () => void,
    /** Told of every STUN request sent (first byte 0 or 1, class bits request), with its target. */
    private readonly onRequestSent: (addr: Address) => void = () => {},
  ) {}

  get address(): { address: string; family: string; port: number } {
    return { address: this.host, family: "IPv4", port: this.port };
  }

  send = async (data: Buffer, addr?: Address): Promise<void> => {
    if (this.closed || addr === undefined) return;
    // STUN request: message type 0x0000-0x3fff with both class bits (0x0110) clear.
    if (data.length >= 20 && (data[0] as number) < 0x40 && (data.readUInt16BE(0) & 0x0110) === 0) {
      this.onRequestSent(addr);
    }
    if (isIP(addr[0]) === 0) {
      // A host name (werift resolves mDNS itself; anything else needs the lookup dgram does).
      await new Promise<void>((resolve, reject) => {
        this.socket.send(data, addr[1], addr[0], (error) => (error ? reject(error) : resolve()));
      });
      return;
    }
    this.socket.send(data, addr[1], addr[0]);
  };

  close = async (): Promise<void> => {
    if (this.closed) return;
    this.closed = true;
    this.onClose();
  };
}

/** A werift StunProtocol on the shared socket, advertised as a host candidate `host:port`. */
export function sharedStunProtocol(
  connection: IceConnectionInternals,
  transport: SharedUdpTransport,
  host: string,
  port: number,
): StunProtocol {
  const protocol = new StunProtocol();
  const internals = protocol as unknown as StunProtocolInternals;
  internals.transport = transport;
  internals.localIp = host;
  internals.localCandidate = new Candidate(
    candidateFoundation("host", "udp", host),
    1,
    "udp",
    candidatePriority("host", { transport: "udp" }),
    host,
    port,
    "host",
    undefined,
    undefined,
    undefined,
    connection.generation,
    connection.localUsername,
  );
  return protocol;
}

/**
 * A werift passive ICE-TCP protocol that does not listen: the shared listener accepts, checks the
 * first frame, and hands authenticated connections over (registerSocket).
 */
export class SharedTcpPassiveProtocol extends TcpPassiveProtocol {
  constructor(
    connection: IceConnectionInternals,
    host: string,
    private readonly sharedPort: number,
    private readonly onClose: () => void,
  ) {
    super();
    this.localIp = host;
    this.localCandidate = new Candidate(
      candidateFoundation("host", "tcp", host),
      1,
      "tcp",
      candidatePriority("host", { transport: "tcp", tcptype: "passive" }),
      host,
      sharedPort,
      "host",
      undefined,
      undefined,
      "passive",
      connection.generation,
      connection.localUsername,
    );
  }

  override async connectionMade(): Promise<void> {}

  override get listeningPort(): number {
    return this.sharedPort;
  }

  /** Adopts an authenticated connection, then feeds it the frames read so far. */
  adopt(socket: TcpSocket, remoteAddr: Address, frames: readonly Buffer[], rest: Buffer): void {
    const internals = this as unknown as TcpPassiveInternals;
    const entry = internals.registerSocket(socket, remoteAddr);
    entry.buffer = rest;
    for (const frame of frames) internals.handleFrame(frame, remoteAddr);
  }

  /** As werift's close, without closing a server that never listened. */
  override async close(): Promise<void> {
    for (const transaction of Object.values(this.transactions)) transaction.cancel();
    await this.pruneForSelection();
    this.onRequestReceived.complete();
    this.onDataReceived.complete();
    this.onConnectionClosed.complete();
    this.onClose();
  }
}
