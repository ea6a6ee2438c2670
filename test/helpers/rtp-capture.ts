import { spawn } from "node:child_process";
import { connect } from "node:net";
import { requireTool } from "./tools";

// Raw RTP off an RTSP server through GStreamer's own client (rtspsrc), so that tests can look at
// what a camera really puts on the wire without trusting the product's RTSP client.

/** RFC 4571 framing (a 16-bit length before each packet), as GStreamer's rtpstreampay writes it. */
export function splitRfc4571(stream: Buffer): { packets: Buffer[]; rest: Buffer } {
  const packets: Buffer[] = [];
  let offset = 0;
  while (offset + 2 <= stream.length) {
    const length = stream.readUInt16BE(offset);
    if (offset + 2 + length > stream.length) break;
    packets.push(Buffer.from(stream.subarray(offset + 2, offset + 2 + length)));
    offset += 2 + length;
  }
  return { packets, rest: stream.subarray(offset) };
}

export interface CaptureOptions {
  readonly transport?: "tcp" | "udp";
  readonly media?: "video" | "audio";
  /** Stop after this many packets with the marker bit set (video: whole frames). */
  readonly frames?: number;
  /** Stop after this long at the latest; default 10 s. */
  readonly timeoutMs?: number;
}

export interface Capture {
  /** RTP packets of the chosen media in arrival order, each its own Buffer. */
  readonly packets: Buffer[];
  readonly stderr: string;
}

/** Plays `url` with rtspsrc and collects the RTP packets of one media. */
export function captureRtp(url: string, opts: CaptureOptions = {}): Promise<Capture> {
  const media = opts.media ?? "video";
  const other = media === "video" ? "audio" : "video";
  const args = [
    ...["-q", "rtspsrc", `location=${url}`, `protocols=${opts.transport ?? "tcp"}`, "latency=0", "name=src"],
    ...[
      "src.",
      "!",
      `application/x-rtp,media=${media}`,
      "!",
      "rtpstreampay",
      "!",
      "fdsink",
      "fd=1",
      "sync=false",
      "async=false",
    ],
    ...["src.", "!", `application/x-rtp,media=${other}`, "!", "fakesink", "sync=false", "async=false"],
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(requireTool("gst-launch-1.0"), args, { stdio: ["ignore", "pipe", "pipe"] });
    const packets: Buffer[] = [];
    let pending: Buffer = Buffer.alloc(0);
    let frames = 0;
    let stderr = "";
    const timer = setTimeout(() => child.kill("SIGTERM"), opts.timeoutMs ?? 10_000);
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => {
      stderr += chunk;
    });
    child.stdout.on("data", (chunk: Buffer) => {
      const { packets: complete, rest } = splitRfc4571(Buffer.concat([pending, chunk]));
      pending = Buffer.from(rest);
      for (const packet of complete) {
        if (opts.frames !== undefined && frames >= opts.frames) break;
        packets.push(packet);
        if (packet.length >= 2 && (packet.readUInt8(1) & 0x80) !== 0) frames++;
      }
      if (opts.frames !== undefined && frames >= opts.frames) child.kill("SIGTERM");
    });
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once("close", () => {
      clearTimeout(timer);
      resolve({ packets, stderr });
    });
  });
}

export interface RtspResponse {
  readonly status: number;
  readonly reason: string;
  /** Header names lower-cased. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** One unauthenticated DESCRIBE on its own connection: the server's SDP as it is sent. */
export function describe(url: string, timeoutMs = 10_000): Promise<RtspResponse> {
  const { hostname, port } = new URL(url.replace(/^rtsp:/, "http:"));
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port || 554), hostname);
    let received: Buffer = Buffer.alloc(0);
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no DESCRIBE answer from ${url}`)));
    socket.once("error", reject);
    socket.once("connect", () => {
      socket.write(
        `DESCRIBE ${url} RTSP/1.0\r\nCSeq: 1\r\nAccept: application/sdp\r\nUser-Agent: test-describe\r\n\r\n`,
      );
    });
    socket.on("data", (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const headEnd = received.indexOf("\r\n\r\n");
      if (headEnd < 0) return;
      const [statusLine = "", ...headerLines] = received.subarray(0, headEnd).toString("utf8").split("\r\n");
      const headers: Record<string, string> = {};
      for (const line of headerLines) {
        const colon = line.indexOf(":");
        if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      const length = Number(headers["content-length"] ?? 0);
      if (received.length < headEnd + 4 + length) return;
      const status = /^RTSP\/1\.0 (\d{3}) ?(.*)$/.exec(statusLine);
      socket.destroy();
      if (status === null) {
        reject(new Error(`not an RTSP response: ${statusLine}`));
        return;
      }
      resolve({
        status: Number(status[1]),
        reason: status[2] ?? "",
        headers,
        body: received.subarray(headEnd + 4, headEnd + 4 + length).toString("utf8"),
      });
    });
  });
}
