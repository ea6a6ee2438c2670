import net from "node:net";

/** A loopback TCP relay that records what the client sent, so a test can see a TEARDOWN or a socket close. */
export class TcpProxy {
  readonly clientBytes: Buffer[] = [];
  connections = 0;
  /** While true, nothing more flows from the server to clients already connected (a camera gone silent). */
  private frozen = new Set<net.Socket>();
  closedConnections = 0;
  private readonly sockets = new Set<net.Socket>();
  private server: net.Server | undefined;
  port = 0;

  constructor(
    private readonly targetPort: number,
    private readonly targetHost = "127.0.0.1",
  ) {}

  async start(): Promise<number> {
    this.server = net.createServer((client) => {
      this.connections++;
      const upstream = net.connect(this.targetPort, this.targetHost);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on("error", () => {});
      }
      client.on("data", (data) => {
        this.clientBytes.push(Buffer.from(data));
        upstream.write(data);
      });
      upstream.on("data", (data) => {
        if (!this.frozen.has(client)) client.write(data);
      });
      client.on("close", () => {
        this.closedConnections++;
        upstream.destroy();
      });
      upstream.on("close", () => client.destroy());
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this.port;
  }

  /** The server goes silent on every connection open now; new connections flow normally. */
  freezeOpenConnections(): void {
    for (const socket of this.sockets) this.frozen.add(socket);
  }

  /** Every request line the client sent, e.g. "TEARDOWN rtsp://... RTSP/1.0". */
  requestLines(): string[] {
    const text = Buffer.concat(this.clientBytes).toString("latin1");
    return text.match(/^[A-Z_]+ \S+ RTSP\/1\.0$/gm) ?? [];
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
