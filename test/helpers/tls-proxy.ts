import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import tls from "node:tls";
import { requireTool } from "./tools";

/** A key and certificate in PEM, with the certificate's SHA-256 fingerprint as openssl prints it. */
export interface TestCertificate {
  readonly key: Buffer;
  readonly cert: Buffer;
  readonly certFile: string;
  /** `openssl x509 -fingerprint -sha256` output, e.g. "sha256 Fingerprint=AB:CD:…" (what a user pastes). */
  readonly opensslFingerprint: string;
  /** The "AB:CD:…" part of it. */
  readonly fingerprint: string;
}

function openssl(args: readonly string[]): string {
  return execFileSync(requireTool("openssl"), args, { stdio: ["ignore", "pipe", "pipe"] }).toString("utf8");
}

function fingerprintOf(certFile: string): { opensslFingerprint: string; fingerprint: string } {
  const line = openssl(["x509", "-noout", "-fingerprint", "-sha256", "-in", certFile]).trim();
  const fingerprint = line.slice(line.indexOf("=") + 1);
  return { opensslFingerprint: line, fingerprint };
}

function load(dir: string, name: string): TestCertificate {
  const certFile = join(dir, `${name}.pem`);
  return {
    key: readFileSync(join(dir, `${name}.key`)),
    cert: readFileSync(certFile),
    certFile,
    ...fingerprintOf(certFile),
  };
}

/** A self-signed certificate for 127.0.0.1, as most cameras have (made by `openssl req -x509`). */
export function makeSelfSigned(dir: string, name = "self-signed"): TestCertificate {
  openssl([
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "2",
    "-subj",
    `/CN=${name}.camera.test`,
    "-addext",
    "subjectAltName=IP:127.0.0.1",
    "-keyout",
    join(dir, `${name}.key`),
    "-out",
    join(dir, `${name}.pem`),
  ]);
  return load(dir, name);
}

/** A tiny certificate authority and a server certificate for 127.0.0.1 that it signed. */
export function makeCaSigned(dir: string): { ca: TestCertificate; server: TestCertificate } {
  openssl([
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "2",
    "-subj",
    "/CN=Test Camera CA",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
    "-keyout",
    join(dir, "ca.key"),
    "-out",
    join(dir, "ca.pem"),
  ]);
  openssl([
    "req",
    "-new",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-subj",
    "/CN=ca-signed.camera.test",
    "-keyout",
    join(dir, "server.key"),
    "-out",
    join(dir, "server.csr"),
  ]);
  const extensions = join(dir, "server.ext");
  writeFileSync(
    extensions,
    "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
  );
  openssl([
    "x509",
    "-req",
    "-in",
    join(dir, "server.csr"),
    "-CA",
    join(dir, "ca.pem"),
    "-CAkey",
    join(dir, "ca.key"),
    "-CAcreateserial",
    "-days",
    "2",
    "-sha256",
    "-extfile",
    extensions,
    "-out",
    join(dir, "server.pem"),
  ]);
  return { ca: load(dir, "ca"), server: load(dir, "server") };
}

/**
 * A TLS terminator in front of a plain RTSP server (our DemoCamera or gst-rtsp-server): what a camera
 * with rtsps:// looks like. It opens the connection to the camera only when the client sends its first
 * byte, so `forwardedBytes` tells whether a client that refused the certificate sent anything.
 */
export class TlsProxy {
  /** TCP connections clients opened (a client that refuses the certificate may leave before the server sees its handshake end). */
  connections = 0;
  /** TLS handshakes the server saw complete. */
  handshakes = 0;
  /** Bytes clients sent through to the camera. */
  forwardedBytes = 0;
  private readonly sockets = new Set<net.Socket>();
  private server: tls.Server | undefined;

  constructor(
    private readonly certificate: { readonly key: Buffer; readonly cert: Buffer },
    private readonly targetPort: number,
  ) {}

  /** Listens on 127.0.0.1; the port. */
  async start(): Promise<number> {
    this.server = tls.createServer({ key: this.certificate.key, cert: this.certificate.cert }, (client) => {
      this.handshakes++;
      this.track(client);
      let upstream: net.Socket | undefined;
      client.on("data", (data: Buffer) => {
        this.forwardedBytes += data.length;
        if (!upstream) {
          upstream = this.track(net.connect(this.targetPort, "127.0.0.1"));
          upstream.pipe(client);
          upstream.on("close", () => client.destroy());
        }
        upstream.write(data);
      });
      client.on("close", () => upstream?.destroy());
    });
    this.server.on("connection", () => {
      this.connections++;
    });
    // A client refusing the certificate resets the handshake; that is the point of some tests.
    this.server.on("tlsClientError", () => {});
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    return (this.server.address() as net.AddressInfo).port;
  }

  get port(): number {
    return (this.server?.address() as net.AddressInfo | null)?.port ?? 0;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private track<T extends net.Socket>(socket: T): T {
    this.sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => this.sockets.delete(socket));
    return socket;
  }
}
