import net from "node:net";
import tls from "node:tls";
import { DigestVerifier } from "../../src/rtsp/auth";
import { RtspHeaders } from "../../src/rtsp/headers";
import { encodeResponse, type RtspRequest, reasonPhrase } from "../../src/rtsp/message";
import { TcpDecoder } from "../../src/rtsp/tcp-decoder";

/** A request as the peer received it, with the number (from 1) of the connection it came on. */
export interface PeerRequest extends RtspRequest {
  readonly connection: number;
  /** The request's rank on its connection, from 1. */
  readonly rank: number;
}

export interface PeerReply {
  readonly status: number;
  readonly headers?: ReadonlyArray<readonly [name: string, value: string]>;
  readonly body?: string | Buffer;
}

/** How the peer answers one request; it may look at the peer itself (its port, earlier requests). */
export type Answer = (request: PeerRequest, peer: RtspPeer) => PeerReply | Promise<PeerReply>;

export interface RtspPeerOptions {
  /** Default 127.0.0.1 (127.0.0.2 and the rest of 127.0.0.0/8 are loopback too). */
  readonly host?: string;
  /** Default 0: a free port. */
  readonly port?: number;
  /** rtsps://: the key and certificate it presents. */
  readonly tls?: { readonly key: Buffer; readonly cert: Buffer };
}

/**
 * The other side of an RTSP connection for behaviours no camera at hand has on cue (redirects to
 * another host, Basic auth, huge SDPs): it reads real requests off the wire with the RTSP layer's
 * decoder in the server role, answers each as `answer` says, and keeps every request and its headers for the test to read.
 */
export class RtspPeer {
  readonly requests: PeerRequest[] = [];
  connections = 0;
  private readonly sockets = new Set<net.Socket>();
  private server: net.Server | undefined;

  private constructor(
    private readonly answer: Answer,
    private readonly options: RtspPeerOptions,
  ) {}

  static async start(answer: Answer, options: RtspPeerOptions = {}): Promise<RtspPeer> {
    const peer = new RtspPeer(answer, options);
    await peer.listen();
    return peer;
  }

  get host(): string {
    return this.options.host ?? "127.0.0.1";
  }

  get port(): number {
    return (this.server?.address() as net.AddressInfo | null)?.port ?? 0;
  }

  /** "host:port" as the client's messages name it. */
  get hostPort(): string {
    return `${this.host}:${this.port}`;
  }

  url(path = "/stream"): string {
    return `${this.options.tls ? "rtsps" : "rtsp"}://${this.hostPort}${path}`;
  }

  /** Requests that carried an Authorization header. */
  authorized(): PeerRequest[] {
    return this.requests.filter((r) => r.headers.has("authorization"));
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async listen(): Promise<void> {
    const onSocket = (socket: net.Socket) => this.serve(socket);
    const server = this.options.tls
      ? tls.createServer({ key: this.options.tls.key, cert: this.options.tls.cert }, onSocket)
      : net.createServer(onSocket);
    server.on("tlsClientError", () => {});
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.options.port ?? 0, this.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  }

  private serve(socket: net.Socket): void {
    const connection = ++this.connections;
    let rank = 0;
    this.sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => this.sockets.delete(socket));
    // A stream it cannot decode gets no answer: the peer stops reading it, the client times out.
    const decoder = new TcpDecoder({ role: "server" });
    let queue = Promise.resolve();
    socket.on("data", (chunk: Buffer) => {
      for (const item of decoder.pushUntilError(chunk).items) {
        if (item.type !== "request") continue;
        const request: PeerRequest = { ...item.request, connection, rank: ++rank };
        this.requests.push(request);
        queue = queue
          .then(async () => {
            const reply = await this.answer(request, this);
            const body = typeof reply.body === "string" ? Buffer.from(reply.body, "utf8") : reply.body;
            if (!socket.destroyed) socket.write(encodeReply(reply, request.headers.get("CSeq"), body));
          })
          // An answer that throws is a broken test peer: the client sees the connection drop.
          .catch(() => {
            socket.destroy();
          });
      }
    });
  }
}

function encodeReply(reply: PeerReply, cseq: string | undefined, body: Buffer | undefined): Buffer {
  return encodeResponse({
    statusCode: reply.status,
    statusText: reasonPhrase(reply.status),
    cseq,
    headers: new RtspHeaders((reply.headers ?? []).map(([name, value]): [string, string] => [name, value])),
    body: body ?? Buffer.alloc(0),
  });
}

/** One H.264 video: an SDP every RTSP client can set up. */
export const VIDEO_SDP =
  "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=peer\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n" +
  "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=control:track1\r\n";

/**
 * A camera that plays `sdp` (no media is sent: the client's play() resolves once PLAY is answered):
 * OPTIONS, DESCRIBE with a Content-Base, SETUP echoing the client's transport, PLAY, TEARDOWN.
 */
export function playing(sdp = VIDEO_SDP): Answer {
  return (request, peer) => {
    switch (request.method) {
      case "OPTIONS":
        return {
          status: 200,
          headers: [["Public", "OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER"]],
        };
      case "DESCRIBE":
        return {
          status: 200,
          headers: [
            ["Content-Type", "application/sdp"],
            ["Content-Base", `${peer.url(new URL(request.url).pathname)}/`],
          ],
          body: sdp,
        };
      case "SETUP":
        return {
          status: 200,
          headers: [
            ["Transport", request.headers.get("Transport") ?? ""],
            ["Session", "12345678;timeout=60"],
          ],
        };
      default:
        return { status: 200 };
    }
  };
}

/** `then` behind Basic authentication (OPTIONS is answered without, as most cameras do). */
export function basicAuth(user: string, password: string, then: Answer): Answer {
  const expected = `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
  return (request, peer) => {
    if (request.method === "OPTIONS" || request.headers.get("authorization") === expected) {
      return then(request, peer);
    }
    return { status: 401, headers: [["WWW-Authenticate", 'Basic realm="peer"']] };
  };
}

/** `then` behind Digest authentication (MD5, qop=auth; OPTIONS is answered without). */
export function digestAuth(user: string, password: string, then: Answer): Answer {
  const verifier = new DigestVerifier({ username: user, password, realm: "peer" });
  return (request, peer) => {
    if (
      request.method === "OPTIONS" ||
      verifier.verify(request.method, request.url, request.headers.get("Authorization")) === "ok"
    ) {
      return then(request, peer);
    }
    return { status: 401, headers: [["WWW-Authenticate", verifier.challenge()]] };
  };
}

/**
 * DESCRIBE is answered `status` (302 by default) with the Location `where` gives for it, or as
 * `otherwise` says when it gives none; any other request as `otherwise` says.
 */
export function redirecting(
  where: (request: PeerRequest) => string | undefined,
  otherwise: Answer = playing(),
  status = 302,
): Answer {
  return (request, peer) => {
    const location = request.method === "DESCRIBE" ? where(request) : undefined;
    return location === undefined ? otherwise(request, peer) : { status, headers: [["Location", location]] };
  };
}
