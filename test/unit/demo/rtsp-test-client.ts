import { once } from "node:events";
import { connect, type Socket } from "node:net";

export interface TestResponse {
  readonly status: number;
  /** Header names lower-cased. */
  readonly headers: ReadonlyMap<string, string>;
  readonly body: Buffer;
}

export interface InterleavedPacket {
  readonly channel: number;
  readonly data: Buffer;
}

/** A bare RTSP client for tests: writes what it is told and splits what comes back, nothing more. */
export class RtspTestClient {
  readonly packets: InterleavedPacket[] = [];
  readonly closed: Promise<void>;
  private pending = Buffer.alloc(0);
  private readonly responses: TestResponse[] = [];
  private waiters: Array<() => void> = [];
  private cseq = 0;

  private constructor(private readonly socket: Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.pending = Buffer.concat([this.pending, chunk]);
      this.parse();
      this.wake();
    });
    socket.on("error", () => {});
    this.closed = once(socket, "close").then(() => this.wake());
  }

  static async connect(port: number): Promise<RtspTestClient> {
    const socket = connect(port, "127.0.0.1");
    await once(socket, "connect");
    return new RtspTestClient(socket);
  }

  get isClosed(): boolean {
    return this.socket.destroyed || this.socket.readyState === "closed";
  }

  writeRaw(data: string | Buffer): void {
    this.socket.write(data);
  }

  async request(method: string, uri: string, headers: Record<string, string> = {}): Promise<TestResponse> {
    this.cseq += 1;
    const lines = [
      `${method} ${uri} RTSP/1.0`,
      `CSeq: ${this.cseq}`,
      ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    ];
    this.writeRaw(`${lines.join("\r\n")}\r\n\r\n`);
    const response = await this.nextResponse();
    if (response.headers.get("cseq") !== String(this.cseq))
      throw new Error(`CSeq ${response.headers.get("cseq")} != ${this.cseq}`);
    return response;
  }

  async nextResponse(timeoutMs = 3000): Promise<TestResponse> {
    await this.until(() => this.responses.length > 0, timeoutMs);
    return this.responses.shift()!;
  }

  /** Resolves once `done()` holds; rejects after timeoutMs. */
  async until(done: () => boolean, timeoutMs = 3000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (Date.now() > deadline) throw new Error("timed out waiting");
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 20);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Stops reading, so that the kernel buffers fill and the server sees back-pressure. */
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  private parse(): void {
    for (;;) {
      if (this.pending.length === 0) return;
      if (this.pending[0] === 0x24) {
        if (this.pending.length < 4) return;
        const length = this.pending.readUInt16BE(2);
        if (this.pending.length < 4 + length) return;
        this.packets.push({
          channel: this.pending[1]!,
          data: Buffer.from(this.pending.subarray(4, 4 + length)),
        });
        this.pending = this.pending.subarray(4 + length);
        continue;
      }
      const end = this.pending.indexOf("\r\n\r\n");
      if (end < 0) return;
      const lines = this.pending.subarray(0, end).toString("latin1").split("\r\n");
      const headers = new Map<string, string>();
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(":");
        headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
      }
      const length = Number(headers.get("content-length") ?? "0");
      if (this.pending.length < end + 4 + length) return;
      const status = Number(/^RTSP\/1\.0 (\d{3}) /.exec(lines[0] ?? "")?.[1] ?? "0");
      this.responses.push({
        status,
        headers,
        body: Buffer.from(this.pending.subarray(end + 4, end + 4 + length)),
      });
      this.pending = this.pending.subarray(end + 4 + length);
    }
  }
}
