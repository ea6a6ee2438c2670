import { spawn } from "node:child_process";
import { requireTool } from "./tools";

export interface RunResult {
  readonly code: number | null;
  readonly stdout: Buffer;
  readonly stderr: string;
}

/** Runs a tool to completion, feeding `input` on stdin; SIGKILL after `timeoutMs`. */
export function runTool(
  file: string,
  args: readonly string[],
  input?: Buffer,
  timeoutMs = 30_000,
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ["pipe", "pipe", "pipe"] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
    // A tool that gives up early closes its stdin: its exit status and stderr tell why, not EPIPE.
    child.stdin.on("error", () => {});
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr).toString("utf8") });
    });
    child.stdin.end(input);
  });
}

export interface DecodeResult {
  /** Pictures the decoder output. */
  readonly frames: number;
  readonly width: number;
  readonly height: number;
  /** ffprobe's error lines (missing references, corrupt slices...), at most 51; empty for a clean stream. */
  readonly decodeErrors: string[];
}

interface ProbedStream {
  width?: number;
  height?: number;
  nb_read_frames?: string;
}

const MAX_ERRORS = 50;

/** Non-empty lines, the first MAX_ERRORS of them and a count of the rest. */
function errorLines(text: string): string[] {
  const all = text.split("\n").filter((line) => line.trim() !== "");
  if (all.length <= MAX_ERRORS) return all;
  return [...all.slice(0, MAX_ERRORS), `... ${all.length - MAX_ERRORS} more lines`];
}

/** Really decodes an Annex-B elementary stream with FFmpeg and counts the pictures it yields. */
export async function decodeVideo(annexB: Buffer, codec: "h264" | "h265"): Promise<DecodeResult> {
  const args = [
    ...["-v", "error", "-f", codec === "h264" ? "h264" : "hevc", "-i", "pipe:0"],
    ...["-select_streams", "v:0", "-count_frames", "-show_entries", "stream=width,height,nb_read_frames"],
    ...["-of", "json"],
  ];
  const result = await runTool(requireTool("ffprobe"), args, annexB);
  const errors = errorLines(result.stderr);
  let stream: ProbedStream | undefined;
  try {
    stream = (JSON.parse(result.stdout.toString("utf8")) as { streams?: ProbedStream[] }).streams?.[0];
  } catch {
    errors.push(`ffprobe output is not JSON: ${result.stdout.toString("utf8").slice(0, 200)}`);
  }
  if (result.code !== 0) errors.push(`ffprobe exited with ${result.code}`);
  return {
    frames: Number(stream?.nb_read_frames ?? 0) || 0,
    width: stream?.width ?? 0,
    height: stream?.height ?? 0,
    decodeErrors: errors,
  };
}

/** One stream of ffprobe's -show_streams (the fields the tests read; ffprobe gives more). */
export interface ProbedRtspStream {
  index: number;
  codec_type: "video" | "audio" | string;
  codec_name: string;
  profile?: string;
  width?: number;
  height?: number;
  sample_rate?: string;
  channels?: number;
  [field: string]: unknown;
}

export interface RtspProbe {
  streams: ProbedRtspStream[];
  format: { format_name: string; nb_streams: number; [field: string]: unknown };
}

/** ffprobe's JSON (-show_streams -show_format) of an RTSP URL; rejects with ffprobe's stderr. */
export async function probeRtsp(url: string, transport: "tcp" | "udp"): Promise<RtspProbe> {
  const args = [
    ...["-v", "error", "-rtsp_transport", transport],
    // Socket I/O timeout in microseconds: a server that stops answering fails the probe quickly.
    ...["-timeout", "5000000", "-show_streams", "-show_format", "-of", "json", url],
  ];
  const result = await runTool(requireTool("ffprobe"), args, undefined, 20_000);
  if (result.code !== 0) {
    throw new Error(`ffprobe ${url} over ${transport} failed (${result.code}): ${result.stderr.trim()}`);
  }
  return JSON.parse(result.stdout.toString("utf8")) as RtspProbe;
}
