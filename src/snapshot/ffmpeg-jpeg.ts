import { type ChildProcessByStdio, spawn } from "node:child_process";
import type { Readable, Writable } from "node:stream";
import { ffmpegMissing, SnapshotError } from "./errors";
import { lastJpeg } from "./jpeg-size";
import type { SnapshotCodec } from "./snapshot-codec";

/** One decode: an Annex-B byte stream from a keyframe on, whose last picture becomes a JPEG. */
export interface DecodeJob {
  readonly ffmpegPath: string;
  readonly codec: SnapshotCodec;
  /** The byte stream in pieces, written to ffmpeg's stdin in order. */
  readonly annexB: readonly Buffer[];
  /** Pictures in it: the last one, number frameCount - 1, is the one wanted. */
  readonly frameCount: number;
  /** 1 (smallest) .. 100 (best). */
  readonly quality: number;
  /** Scaled down (keeping the aspect) when wider; undefined: as decoded. */
  readonly maxWidth?: number | undefined;
  /** For both runs together (see decodeLastPicture). */
  readonly timeoutMs: number;
  /** Aborting kills ffmpeg at once; the promise rejects with code "closed". */
  readonly signal?: AbortSignal | undefined;
  /** Told of each ffmpeg started (tests count them). */
  readonly onSpawn?: ((pid: number | undefined) => void) | undefined;
}

/** More than any camera's GOP of JPEGs; past it ffmpeg is stopped rather than kept in memory. */
const MAX_OUTPUT_BYTES = 64 * 1024 * 1024;
const STDERR_KEPT = 2000;

/** ffmpeg's -q:v for a 1..100 quality: 2 (best) .. 31 (smallest). */
export function qscaleFor(quality: number): number {
  const q = Math.min(100, Math.max(1, Math.round(quality)));
  return Math.round(2 + ((100 - q) * 29) / 99);
}

/**
 * ffmpeg's arguments. With `lastOnly` a select filter passes only the last picture, so one JPEG is
 * encoded instead of one per frame (about half the time for a 2 s GOP); without it every picture comes
 * out and the caller keeps the last, for a stream where ffmpeg decodes fewer pictures than were fed.
 */
export function ffmpegArguments(job: DecodeJob, lastOnly: boolean): string[] {
  const filters: string[] = [];
  if (lastOnly) filters.push(`select=gte(n\\,${Math.max(0, job.frameCount - 1)})`);
  if (job.maxWidth !== undefined) filters.push(`scale=w=min(iw\\,${job.maxWidth}):h=-2`);
  return [
    "-hide_banner",
    "-loglevel",
    "error",
    "-f",
    job.codec === "H264" ? "h264" : "hevc",
    "-i",
    "pipe:0",
    "-an",
    ...(filters.length > 0 ? ["-vf", filters.join(",")] : []),
    ...(lastOnly ? ["-frames:v", "1"] : []),
    "-q:v",
    String(qscaleFor(job.quality)),
    "-f",
    "image2pipe",
    "-c:v",
    "mjpeg",
    "pipe:1",
  ];
}

/**
 * The JPEG of the last picture of `job.annexB`. ffmpeg runs with the last picture selected by its
 * number; if that gives none (a frame ffmpeg could not decode), once more keeping every picture.
 * @throws SnapshotError: "ffmpeg-missing", "timeout", "decode-failed", "closed".
 */
export async function decodeLastPicture(job: DecodeJob): Promise<Buffer> {
  const deadline = performance.now() + job.timeoutMs;
  const selected = await runFfmpeg(job, ffmpegArguments(job, true), deadline);
  if (selected.length > 0) return selected;
  const all = await runFfmpeg(job, ffmpegArguments(job, false), deadline);
  const last = lastJpeg(all);
  if (last === undefined)
    throw new SnapshotError("decode-failed", "ffmpeg decoded no picture from the frames");
  return last;
}

type Ffmpeg = ChildProcessByStdio<Writable, Readable, Readable>;

function runFfmpeg(job: DecodeJob, args: string[], deadline: number): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    if (job.signal?.aborted) {
      reject(new SnapshotError("closed", "the snapshot was cancelled"));
      return;
    }
    let child: Ffmpeg;
    try {
      child = spawn(job.ffmpegPath, args, { stdio: ["pipe", "pipe", "pipe"], windowsHide: true });
    } catch {
      // spawn throws only for arguments it cannot take, such as an empty path.
      reject(ffmpegMissing(job.ffmpegPath));
      return;
    }
    job.onSpawn?.(child.pid);
    const output: Buffer[] = [];
    let outputBytes = 0;
    let stderr = "";
    let failure: SnapshotError | undefined;
    const stop = (why: SnapshotError) => {
      failure ??= why;
      child.kill("SIGKILL");
    };
    const timer = setTimeout(
      () =>
        stop(new SnapshotError("timeout", `ffmpeg gave no picture within ${Math.round(job.timeoutMs)} ms`)),
      Math.max(0, deadline - performance.now()),
    );
    const onAbort = () => stop(new SnapshotError("closed", "the snapshot was cancelled"));
    job.signal?.addEventListener("abort", onAbort, { once: true });

    child.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT" || err.code === "EACCES" || err.code === "ENOTDIR")
        failure ??= ffmpegMissing(job.ffmpegPath);
      else failure ??= new SnapshotError("decode-failed", `ffmpeg could not run: ${err.message}`);
    });
    child.stdout.on("data", (chunk: Buffer) => {
      outputBytes += chunk.length;
      if (outputBytes > MAX_OUTPUT_BYTES) stop(new SnapshotError("decode-failed", "ffmpeg wrote too much"));
      else output.push(chunk);
    });
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_KEPT);
    });
    // ffmpeg may exit before it has read everything (a bad stream): EPIPE is its answer, not ours.
    child.stdin.on("error", () => {});
    child.on("close", (code) => {
      clearTimeout(timer);
      job.signal?.removeEventListener("abort", onAbort);
      if (failure) reject(failure);
      else if (code !== 0) {
        const why = stderr.trim().split("\n").slice(-3).join(" / ") || `exit code ${code}`;
        reject(new SnapshotError("decode-failed", `ffmpeg failed: ${why}`));
      } else resolve(Buffer.concat(output));
    });
    for (const chunk of job.annexB) child.stdin.write(chunk);
    child.stdin.end();
  });
}
