import { spawnSync } from "node:child_process";
import { createSocket } from "node:dgram";
import { accessSync, constants } from "node:fs";
import { createServer } from "node:net";
import { delimiter, isAbsolute, join } from "node:path";

/** Debian's interpreter: python3-gi is installed for it, not for a pyenv python3 earlier on PATH. */
const GI_PYTHON = "/usr/bin/python3";

const GI_CHECK =
  "import gi; gi.require_version('Gst', '1.0'); gi.require_version('GstRtspServer', '1.0'); " +
  "from gi.repository import Gst, GstRtspServer";

export class MissingToolError extends Error {
  constructor(readonly tool: string) {
    super(`${tool} not found: run test/setup-system.sh`);
    this.name = "MissingToolError";
  }
}

const found = new Map<string, string>();

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function searchPath(name: string): string | undefined {
  if (isAbsolute(name)) return isExecutable(name) ? name : undefined;
  const dirs = (process.env.PATH ?? "").split(delimiter).filter((d) => d !== "");
  // Debian's tools live in /usr/bin (ip and nft in /usr/sbin) even when a test runner trims PATH.
  for (const dir of [...dirs, "/usr/bin", "/bin", "/usr/sbin", "/sbin"]) {
    const file = join(dir, name);
    if (isExecutable(file)) return file;
  }
  return undefined;
}

function locate(name: string): string | undefined {
  if (name === "python3" || name === GI_PYTHON) {
    if (!isExecutable(GI_PYTHON)) return undefined;
    const check = spawnSync(GI_PYTHON, ["-c", GI_CHECK], { stdio: "ignore", timeout: 20_000 });
    return check.status === 0 ? GI_PYTHON : undefined;
  }
  return searchPath(name);
}

/**
 * The absolute path of a system tool the tests need: "ffmpeg", "ffprobe", "chromium",
 * "gst-launch-1.0", or "python3" (Debian's, with GStreamer's RTSP server importable through gi).
 * Throws MissingToolError when it is missing: in CI a missing tool fails the run, it never skips.
 */
export function requireTool(name: string): string {
  const cached = found.get(name);
  if (cached !== undefined) return cached;
  const file = locate(name);
  if (file === undefined) {
    throw new MissingToolError(name === "python3" ? "python3 with gi and GstRtspServer" : name);
  }
  found.set(name, file);
  return file;
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === "object") resolve(address.port);
        else reject(new Error("no port bound"));
      });
    });
  });
}

function udpPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket("udp4");
    socket.once("error", () => {
      socket.close();
      resolve(false);
    });
    socket.bind(port, "127.0.0.1", () => socket.close(() => resolve(true)));
  });
}

function udpEphemeralPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = createSocket("udp4");
    socket.once("error", reject);
    socket.bind(0, "127.0.0.1", () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}

/** An even UDP port on 127.0.0.1 whose odd neighbour is free too: an RTP / RTCP pair. */
export async function freeUdpPortPair(): Promise<[rtp: number, rtcp: number]> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await udpEphemeralPort();
    const rtp = port % 2 === 0 ? port : port - 1;
    if ((await udpPortFree(rtp)) && (await udpPortFree(rtp + 1))) return [rtp, rtp + 1];
  }
  throw new Error("no free UDP port pair on 127.0.0.1");
}
