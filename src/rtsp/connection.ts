import { EventEmitter } from "node:events";
import net from "node:net";
import tls from "node:tls";
import { RtspError } from "./errors";
import { RtspHeaders } from "./headers";
import { encodeRequest, encodeResponse, type RtspRequest, type RtspResponse } from "./message";
import { TcpDecoder } from "./tcp-decoder";
import { checkServerCertificate, tlsConnectOptions } from "./tls-options";
import type { RtspUrl } from "./url";

export interface ConnectionOptions {
  readonly connectTimeoutMs: number;
  /** rtsps:// only: false accepts a certificate no trusted authority signed (default true). */
  readonly rejectUnauthorized?: boolean;
  /** rtsps:// only: the SHA-256 fingerprint ("AB:CD:…") of the one certificate to accept (see TlsTrust). */
  readonly certificateFingerprint?: string;
}

interface Pending {
  readonly method: string;
  readonly resolve: (response: RtspResponse) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

export interface RtspConnectionEvents {
  interleaved: [channel: number, data: Buffer];
  close: [error: RtspError | undefined];
}

/**
 * One TCP (or TLS) connection to an RTSP server: requests matched to replies by CSeq, interleaved
 * binary frames handed out as they arrive, server-sent requests answered so the server does not wait.
 */
export class RtspConnection extends EventEmitter<RtspConnectionEvents> {
  private readonly decoder = new TcpDecoder();
  private readonly pending = new Map<number, Pending>();
  private nextCseq = 1;
  private closed = false;

  private constructor(private readonly socket: net.Socket) {
    super();
    socket.setNoDelay(true);
    socket.on("data", (chunk) => this.onData(chunk));
    socket.on("error", (err) => this.destroy(networkError(err)));
    socket.on("close", () => this.destroy(new RtspError("server closed the connection", "network")));
  }

  static open(url: RtspUrl, options: ConnectionOptions): Promise<RtspConnection> {
    return new Promise((resolve, reject) => {
      const socket = url.secure
        ? tls.connect(tlsConnectOptions(url))
        : net.connect({ host: url.hostname, port: url.port });
      const readyEvent = url.secure ? "secureConnect" : "connect";
      const timer = setTimeout(() => {
        socket.destroy();
        reject(
          new RtspError(
            `no answer from ${url.hostname}:${url.port} within ${options.connectTimeoutMs / 1000} s`,
            "timeout",
          ),
        );
      }, options.connectTimeoutMs);
      const onError = (err: Error) => {
        clearTimeout(timer);
        socket.destroy();
        reject(networkError(err));
      };
      socket.once("error", onError);
      socket.once(readyEvent, () => {
        clearTimeout(timer);
        socket.off("error", onError);
        const refused = url.secure
          ? checkServerCertificate(socket as tls.TLSSocket, {
              acceptSelfSigned: options.rejectUnauthorized === false,
              fingerprint: options.certificateFingerprint,
            })
          : undefined;
        if (refused) {
          socket.on("error", () => {}).destroy();
          reject(refused);
          return;
        }
        resolve(new RtspConnection(socket));
      });
    });
  }

  get localAddress(): string | undefined {
    return this.socket.localAddress;
  }

  get remoteAddress(): string | undefined {
    return this.socket.remoteAddress;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  request(
    method: string,
    url: string,
    headers: RtspHeaders,
    timeoutMs: number,
    body?: Buffer,
  ): Promise<RtspResponse> {
    if (this.closed) return Promise.reject(new RtspError("connection is closed", "network"));
    const cseq = this.nextCseq++;
    const all = new RtspHeaders([["CSeq", String(cseq)], ...headers.entries()]);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(cseq);
        reject(new RtspError(`no reply to ${method} within ${timeoutMs / 1000} s`, "timeout"));
      }, timeoutMs);
      this.pending.set(cseq, { method, resolve, reject, timer });
      this.socket.write(encodeRequest({ method, url, headers: all, body }));
    });
  }

  /** Writes one interleaved frame ($, channel, length, data); dropped silently when the frame cannot fit. */
  sendInterleaved(channel: number, data: Buffer): void {
    if (this.closed || data.length > 0xffff) return;
    const header = Buffer.allocUnsafe(4);
    header[0] = 0x24;
    header[1] = channel;
    header.writeUInt16BE(data.length, 2);
    this.socket.write(Buffer.concat([header, data]));
  }

  close(): void {
    this.destroy(undefined);
  }

  private onData(chunk: Buffer): void {
    let items: ReturnType<TcpDecoder["push"]>;
    try {
      items = this.decoder.push(chunk);
    } catch (err) {
      this.destroy(err instanceof RtspError ? err : new RtspError(String(err), "protocol"));
      return;
    }
    for (const item of items) {
      if (this.closed) return;
      if (item.type === "interleaved") this.emit("interleaved", item.channel, item.data);
      else if (item.type === "response") this.onResponse(item.response);
      else this.answerServerRequest(item.request);
    }
  }

  private onResponse(response: RtspResponse): void {
    const cseq = Number(response.headers.get("CSeq"));
    // Some cameras leave CSeq out: the oldest request waiting is the best match.
    const key = this.pending.has(cseq) ? cseq : this.pending.keys().next().value;
    if (key === undefined) return;
    const waiting = this.pending.get(key)!;
    this.pending.delete(key);
    clearTimeout(waiting.timer);
    waiting.resolve(response);
  }

  private answerServerRequest(request: RtspRequest): void {
    // Servers may send GET_PARAMETER or OPTIONS as their own keepalive, or ANNOUNCE; a reply keeps them happy.
    const cseq = request.headers.get("CSeq");
    const supported = request.method === "GET_PARAMETER" || request.method === "OPTIONS";
    const headers = new RtspHeaders();
    if (cseq !== undefined) headers.set("CSeq", cseq);
    this.socket.write(
      encodeResponse({
        statusCode: supported ? 200 : 501,
        statusText: supported ? "OK" : "Not Implemented",
        headers,
        body: Buffer.alloc(0),
      }),
    );
  }

  private destroy(error: RtspError | undefined): void {
    if (this.closed) return;
    this.closed = true;
    const reason = error ?? new RtspError("connection closed", "network");
    for (const waiting of this.pending.values()) {
      clearTimeout(waiting.timer);
      waiting.reject(reason);
    }
    this.pending.clear();
    this.socket.destroy();
    this.emit("close", error);
  }
}

function networkError(err: Error & { code?: string }): RtspError {
  const messages: Record<string, string> = {
    ECONNREFUSED: "connection refused: nothing listens at that port",
    ENOTFOUND: "host not found",
    EAI_AGAIN: "host name lookup failed",
    EHOSTUNREACH: "host unreachable",
    ENETUNREACH: "network unreachable",
    ECONNRESET: "connection reset by the server",
    ETIMEDOUT: "connection timed out",
    EPIPE: "connection closed by the server",
  };
  const text = (err.code && messages[err.code]) ?? err.message;
  return new RtspError(text, "network");
}
