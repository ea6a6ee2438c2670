import { randomBytes } from "node:crypto";
import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import { createServer, isIPv4, type Server } from "node:net";
import type { RTCPeerConnection } from "werift";
import { receiverReportIntakeOf } from "../receiver-report-intake";
import { datagramSender, type SendDatagram } from "../udp-send-now";
import { authenticateCheck, type CheckTarget, type DropReason, readStunOrDrop } from "./check-auth";
import { type FirstFrameVerdict, type IceTcpLimits, IceTcpListener } from "./ice-tcp-listener";
import { bindingSuccess, type StunMessageInfo } from "./stun-check";
import {
  type Address,
  type IceConnectionInternals,
  iceConnections,
  SharedTcpPassiveProtocol,
  SharedUdpTransport,
  type StunProtocolInternals,
  sharedStunProtocol,
} from "./werift-ice";

// One UDP port (and one ICE-TCP port) for every werift viewer of the process. werift has no such
// mode: see werift-ice.ts for the private members this leans on. Routing:
//  - a STUN binding request goes to the viewer whose (long, random) ufrag starts its USERNAME,
//    only once its FINGERPRINT and its MESSAGE-INTEGRITY (that viewer's password) hold; it then
//    binds its source address to that viewer (it moves to another viewer only on another valid check);
//    one that arrives on the viewer's selected pair (a consent check, every few seconds) is answered
//    here, as werift would answer it;
//  - a STUN response goes to the viewer bound to its sender, or the one that sent a check there,
//    when that viewer has a pending transaction of that id (werift then checks the sender and the
//    integrity itself);
//  - DTLS, SRTP/SRTCP and STUN indications go by the bound source address (a viewer's receiver
//    reports to its ReceiverReportIntake first, when its sink made one);
//  - anything else is dropped and counted, never answered: werift answers authenticated checks only.

export interface SharedIcePortOptions {
  port: number;
  /** The local address to bind; all IPv4 addresses by default. */
  bindAddress?: string;
  /** Also accept ICE-TCP (RFC 6544 passive candidates) on the same port number. */
  tcp?: boolean;
  /** Limits on not-yet-authenticated ICE-TCP connections. */
  tcpLimits?: IceTcpLimits;
}

/** The port (UDP, or TCP with tcp) is in use by something else. */
export class PortTakenError extends Error {
  constructor(
    readonly port: number,
    readonly transport: "udp" | "tcp",
  ) {
    super(`${transport.toUpperCase()} port ${port} is already in use`);
    this.name = "PortTakenError";
  }
}

export interface SharedIcePortStats {
  readonly port: number;
  readonly tcp: boolean;
  /** Attached ICE connections (one per viewer with BUNDLE). */
  readonly viewers: number;
  /** Remote addresses bound to a viewer by a valid check. */
  readonly routes: number;
  readonly datagramsReceived: number;
  readonly checksDelivered: number;
  /** Checks on a viewer's selected pair, answered by the port itself. */
  readonly checksAnswered: number;
  readonly responsesDelivered: number;
  readonly dataDelivered: number;
  readonly dropped: Readonly<Partial<Record<DropReason, number>>>;
  readonly tcpAccepted: number;
  readonly tcpAdopted: number;
  readonly tcpPending: number;
  readonly tcpOpen: number;
}

/** At most this many remote addresses per viewer stay bound (a browser uses a handful). */
const MAX_ROUTES_PER_VIEWER = 32;
/** At most this many addresses per viewer are remembered as sent a check (its remote candidates). */
const MAX_CHECK_TARGETS_PER_VIEWER = 64;

/** One attached ICE connection (one viewer). */
class Attachment implements CheckTarget<Attachment> {
  readonly owner = this;
  readonly key: Buffer;
  readonly udp: StunProtocolInternals[] = [];
  readonly tcp: SharedTcpPassiveProtocol[] = [];
  /** Remote "ip:port" keys bound to this viewer, oldest first. */
  readonly routes = new Set<string>();
  /** Remote "ip:port" keys this viewer sent checks to: where its responses come from. */
  readonly checkTargets = new Set<string>();
  detached = false;

  constructor(
    readonly ufrag: string,
    password: string,
    readonly connection: IceConnectionInternals,
  ) {
    this.key = Buffer.from(password, "utf8");
  }

  hasTransaction(id: string): StunProtocolInternals | undefined {
    for (const protocol of this.udp) if (protocol.transactions[id] !== undefined) return protocol;
    return undefined;
  }
}

interface Route {
  readonly attachment: Attachment;
  readonly protocol: StunProtocolInternals;
}

/** 24 hex digits (96 random bits): a ufrag nobody guesses, where werift's 4 digits are 65,536 values. */
function longUfrag(): string {
  return randomBytes(12).toString("hex");
}

export class SharedIcePort {
  private readonly byUfrag = new Map<string, Attachment>();
  private readonly routes = new Map<string, Route>();
  /** Remote "ip:port" → the viewer that last sent a check there (where a response may come from). */
  private readonly checkTargets = new Map<string, Attachment>();
  private readonly dropped: Partial<Record<DropReason, number>> = {};
  private datagramsReceived = 0;
  private checksDelivered = 0;
  private checksAnswered = 0;
  private responsesDelivered = 0;
  private dataDelivered = 0;
  private closing: Promise<void> | undefined;
  private readonly tcpListener: IceTcpListener | undefined;
  private readonly send: SendDatagram;

  private constructor(
    private readonly socket: Socket,
    readonly port: number,
    server: Server | undefined,
    tcpLimits: IceTcpLimits | undefined,
  ) {
    this.send = datagramSender(socket);
    socket.on("message", (data, rinfo) => this.onDatagram(data, rinfo));
    // An ICMP error for one viewer's peer must not end the port for all of them.
    socket.on("error", () => {});
    this.tcpListener =
      server === undefined
        ? undefined
        : new IceTcpListener(
            server,
            (frame) => this.judgeFirstFrame(frame),
            (reason) => this.count(reason),
            tcpLimits,
          );
  }

  get tcp(): boolean {
    return this.tcpListener !== undefined;
  }

  /**
   * Binds the UDP port (and, with tcp, a TCP listener on the same port number).
   * @throws PortTakenError when either is in use; nothing stays open then
   */
  static async open(opts: SharedIcePortOptions): Promise<SharedIcePort> {
    // Port 0 (any): the TCP port must match the UDP one the system picked, which may be taken.
    for (let attempt = 1; ; attempt++) {
      try {
        return await SharedIcePort.bindBoth(opts);
      } catch (error) {
        const retry = opts.port === 0 && error instanceof PortTakenError && error.transport === "tcp";
        if (!retry || attempt >= 10) throw error;
      }
    }
  }

  private static async bindBoth(opts: SharedIcePortOptions): Promise<SharedIcePort> {
    const socket = createSocket({ type: "udp4" });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once("error", reject);
        socket.bind({ port: opts.port, exclusive: true, ...bindAddress(opts) }, () => {
          socket.off("error", reject);
          resolve();
        });
      });
    } catch (error) {
      socket.close();
      throw portError(error, opts.port, "udp");
    }
    const port = socket.address().port;
    if (opts.tcp !== true) return new SharedIcePort(socket, port, undefined, undefined);
    const server = createServer();
    try {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen({ port, exclusive: true, host: opts.bindAddress ?? "0.0.0.0" }, () => {
          server.off("error", reject);
          resolve();
        });
      });
    } catch (error) {
      socket.close();
      throw portError(error, port, "tcp");
    }
    return new SharedIcePort(socket, port, server, opts.tcpLimits);
  }

  /**
   * Hooks a werift peer onto the shared port: call after setRemoteDescription(offer), before
   * createAnswer(); werift's own host gathering is switched off for it; `addresses` are the IPv4
   * addresses advertised as host candidates with this port (UDP, and TCP passive). Its local ufrag
   * becomes 24 random hex digits. TURN relay gathering (turn: servers) still works.
   * @throws Error when the port is closed or the peer has gathered already
   */
  attach(pc: RTCPeerConnection, addresses: readonly string[]): void {
    if (this.closing !== undefined) throw new Error("the shared ICE port is closed");
    const hosts = [...new Set(addresses.filter((address) => isIPv4(address)))];
    const connections = iceConnections(pc);
    for (const connection of connections) {
      if (connection.localCandidatesStart) {
        throw new Error("attach() must come before the peer gathers candidates (before createAnswer)");
      }
    }
    for (const connection of connections) this.attachConnection(connection, hosts);
  }

  private attachConnection(connection: IceConnectionInternals, hosts: readonly string[]): void {
    let ufrag = longUfrag();
    while (this.byUfrag.has(ufrag)) ufrag = longUfrag();
    connection.localUsername = ufrag;
    connection.userHistory[ufrag] = connection.localPassword;
    // A copy per connection already; werift's own host sockets stay unbound for this peer.
    connection.options = {
      ...connection.options,
      useIpv4: false,
      useIpv6: false,
      useTcp: false,
      additionalHostAddresses: [],
    };
    const attachment = new Attachment(ufrag, connection.localPassword, connection);
    const detach = (): void => this.detach(attachment);
    for (const host of hosts) {
      const transport = new SharedUdpTransport(this.socket, host, this.port, detach, (addr) =>
        this.sentCheck(attachment, addr),
      );
      const protocol = sharedStunProtocol(connection, transport, host, this.port);
      connection.ensureProtocol(protocol);
      connection.protocols.push(protocol);
      attachment.udp.push(protocol as unknown as StunProtocolInternals);
    }
    if (this.tcpListener !== undefined) {
      for (const host of hosts) {
        const protocol = new SharedTcpPassiveProtocol(connection, host, this.port, detach);
        connection.ensureProtocol(protocol);
        connection.protocols.push(protocol);
        attachment.tcp.push(protocol);
      }
    }
    this.byUfrag.set(ufrag, attachment);
  }

  /** A viewer's ICE connection closed (werift closes its protocols): forget everything of it. */
  private detach(attachment: Attachment): void {
    if (attachment.detached) return;
    attachment.detached = true;
    if (this.byUfrag.get(attachment.ufrag) === attachment) this.byUfrag.delete(attachment.ufrag);
    for (const key of attachment.routes) {
      if (this.routes.get(key)?.attachment === attachment) this.routes.delete(key);
    }
    attachment.routes.clear();
    for (const key of attachment.checkTargets) {
      if (this.checkTargets.get(key) === attachment) this.checkTargets.delete(key);
    }
    attachment.checkTargets.clear();
    for (const protocol of attachment.udp) (protocol.transport as SharedUdpTransport).closed = true;
    // Each closes its adopted TCP connections (werift's pruneForSelection); idempotent.
    for (const protocol of attachment.tcp) void protocol.close();
  }

  private count(reason: DropReason): void {
    this.dropped[reason] = (this.dropped[reason] ?? 0) + 1;
  }

  private lookup = (ufrag: string): Attachment | undefined => this.byUfrag.get(ufrag);

  private onDatagram(data: Buffer, rinfo: RemoteInfo): void {
    this.datagramsReceived++;
    const dropped = this.route(data, rinfo);
    if (dropped !== undefined) this.count(dropped);
  }

  /** Hands one datagram to the viewer it belongs to; the reason when it belongs to none. */
  private route(data: Buffer, rinfo: RemoteInfo): DropReason | undefined {
    if (data.length === 0) return "empty";
    const first = data[0] as number;
    const key = `${rinfo.address}:${rinfo.port}`;
    if (first < 4) return this.routeStun(data, key, rinfo);
    // RFC 7983: 20..63 DTLS, 128..191 RTP/RTCP. Only from an address a valid check bound.
    if ((first >= 20 && first <= 63) || (first >= 128 && first <= 191)) {
      const route = this.routes.get(key);
      if (route === undefined) return "unknown-address";
      this.dataDelivered++;
      // RFC 5761 §4: RTCP's packet type (second byte) is 192..223, where RTP's marker and type are not.
      const second = data[1] as number;
      if (first >= 128 && second >= 192 && second <= 223 && data.length >= 8) {
        if (receiverReportIntakeOf(route.attachment.connection)?.take(data) === true) return undefined;
      }
      route.protocol.datagramReceived(data, [rinfo.address, rinfo.port]);
      return undefined;
    }
    return "unknown-kind";
  }

  private routeStun(data: Buffer, key: string, rinfo: RemoteInfo): DropReason | undefined {
    const info = readStunOrDrop(data);
    if (typeof info === "string") return info;
    const addr: Address = [rinfo.address, rinfo.port];
    if (info.stunClass === "request") {
      const owner = authenticateCheck(data, info, this.lookup);
      if (typeof owner === "string") return owner;
      const route = this.bind(key, owner);
      if (route === undefined) return "unknown-address";
      if (this.answerOnSelectedPair(data, info, owner, route, rinfo)) return undefined;
      this.checksDelivered++;
      route.protocol.datagramReceived(data, addr);
      return undefined;
    }
    if (info.stunClass === "success" || info.stunClass === "error") {
      const protocol = this.transactionOwner(info.transactionId, key);
      if (protocol === undefined) return "stun-unknown-transaction";
      this.responsesDelivered++;
      protocol.datagramReceived(data, addr);
      return undefined;
    }
    const route = this.routes.get(key);
    if (route === undefined) return "unknown-address";
    this.dataDelivered++;
    route.protocol.datagramReceived(data, addr);
    return undefined;
  }

  /**
   * Answers an authenticated check that arrived on the viewer's selected pair: after nomination
   * that is all a check is (a consent check, RFC 7675, every 4–6 s per viewer), and all werift
   * would do is count it and answer it, in code run too rarely to be optimised (with the viewers'
   * receiver reports, most of what a connected viewer cost besides its media). A role conflict, or a
   * check on any other pair, still goes to werift.
   */
  private answerOnSelectedPair(
    data: Buffer,
    info: StunMessageInfo,
    owner: Attachment,
    route: Route,
    rinfo: RemoteInfo,
  ): boolean {
    const connection = owner.connection;
    const pair = connection.nominated;
    if (pair === undefined || !pair.nominated || pair.protocol !== route.protocol) return false;
    if (pair.remoteAddr[0] !== rinfo.address || pair.remoteAddr[1] !== rinfo.port) return false;
    if (connection.state !== "connected" && connection.state !== "completed") return false;
    // RFC 8445 §7.3.1.1: the peer claiming our own role is a conflict, werift's to resolve.
    if (info.iceRole === (connection.iceControlling ? "controlling" : "controlled")) return false;
    pair.requestsReceived++;
    pair.responsesSent++;
    this.checksAnswered++;
    this.send(bindingSuccess(data, rinfo.address, rinfo.port, owner.key), rinfo.port, rinfo.address);
    return true;
  }

  /**
   * The protocol waiting for a response with this transaction id: among the protocols of the
   * viewer bound to the sender, or of the viewer that last sent a check to it. Two map lookups,
   * never a scan of all viewers (a flood of made-up responses costs what any drop costs).
   */
  private transactionOwner(id: string, key: string): StunProtocolInternals | undefined {
    const bound = this.routes.get(key)?.attachment;
    const found = bound?.hasTransaction(id);
    if (found !== undefined) return found;
    const checked = this.checkTargets.get(key);
    return checked === bound ? undefined : checked?.hasTransaction(id);
  }

  /** A viewer's werift sent a STUN request (a check, or consent) to `addr`: its answer comes from there. */
  private sentCheck(attachment: Attachment, addr: Address): void {
    if (attachment.detached) return;
    const key = `${addr[0]}:${addr[1]}`;
    if (attachment.checkTargets.has(key) && this.checkTargets.get(key) === attachment) return;
    attachment.checkTargets.delete(key);
    attachment.checkTargets.add(key);
    this.checkTargets.set(key, attachment);
    if (attachment.checkTargets.size > MAX_CHECK_TARGETS_PER_VIEWER) {
      const oldest = attachment.checkTargets.values().next().value as string;
      attachment.checkTargets.delete(oldest);
      if (this.checkTargets.get(oldest) === attachment) this.checkTargets.delete(oldest);
    }
  }

  /** Binds a remote address to the viewer a valid check from it reached. */
  private bind(key: string, attachment: Attachment): Route | undefined {
    const current = this.routes.get(key);
    if (current?.attachment === attachment) return current;
    const protocol = attachment.udp[0];
    if (protocol === undefined) return undefined;
    if (current !== undefined) current.attachment.routes.delete(key);
    const route: Route = { attachment, protocol };
    this.routes.set(key, route);
    attachment.routes.add(key);
    if (attachment.routes.size > MAX_ROUTES_PER_VIEWER) {
      const oldest = attachment.routes.values().next().value as string;
      attachment.routes.delete(oldest);
      this.routes.delete(oldest);
    }
    return route;
  }

  /** Who gets an ICE-TCP connection whose first frame is `frame`. */
  private judgeFirstFrame(frame: Buffer): FirstFrameVerdict {
    if (this.closing !== undefined) return "closed";
    if (frame.length === 0 || (frame[0] as number) >= 4) return "tcp-not-stun-check";
    const info = readStunOrDrop(frame);
    if (typeof info === "string") return info;
    const owner = authenticateCheck(frame, info, this.lookup);
    if (typeof owner === "string") return owner;
    const protocol = owner.tcp[0];
    if (protocol === undefined) return "tcp-no-passive";
    this.checksDelivered++;
    return {
      adopt: (socket, remote, frames, rest) => protocol.adopt(socket, remote, frames, rest),
    };
  }

  stats(): SharedIcePortStats {
    const tcp = this.tcpListener?.counts;
    return {
      port: this.port,
      tcp: this.tcp,
      viewers: this.byUfrag.size,
      routes: this.routes.size,
      datagramsReceived: this.datagramsReceived,
      checksDelivered: this.checksDelivered,
      checksAnswered: this.checksAnswered,
      responsesDelivered: this.responsesDelivered,
      dataDelivered: this.dataDelivered,
      dropped: { ...this.dropped },
      tcpAccepted: this.tcpListener?.accepted ?? 0,
      tcpAdopted: this.tcpListener?.adopted ?? 0,
      tcpPending: tcp?.pending ?? 0,
      tcpOpen: tcp?.open ?? 0,
    };
  }

  /** Releases the port(s) and every connection; attached viewers can send nothing more. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const attachment of [...this.byUfrag.values()]) this.detach(attachment);
      await Promise.all([
        new Promise<void>((resolve) => this.socket.close(() => resolve())),
        this.tcpListener?.close(),
      ]);
    })();
    return this.closing;
  }
}

function bindAddress(opts: SharedIcePortOptions): { address?: string } {
  return opts.bindAddress === undefined ? {} : { address: opts.bindAddress };
}

function portError(error: unknown, port: number, transport: "udp" | "tcp"): Error {
  if ((error as NodeJS.ErrnoException)?.code === "EADDRINUSE") return new PortTakenError(port, transport);
  return error instanceof Error ? error : new Error(String(error));
}
