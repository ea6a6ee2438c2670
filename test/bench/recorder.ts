import { type ChildProcess, fork } from "node:child_process";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { ClipFrame } from "../../src/demo/clip";
import type { H264Packetizer } from "../../src/demo/h264-packetizer";
import type { AccessUnit } from "../../src/rtp/stream-info";
import { runTool } from "../helpers/decode";

// The recorder's row: createClipWriter writing a camera's stream to disk in a process of its own
// (recorder-process.ts), fed at the real frame rate; its CPU time (user + system) over the window,
// then ffprobe decodes every file it wrote.

export interface RecorderRunOptions {
  /** Raw Annex B H.264 (a bench clip). */
  readonly clipPath: string;
  readonly fps: number;
  /** Streams written at once, one file each. */
  readonly streams: number;
  /** Frames fed to each stream (at `fps`, so the window lasts frames / fps seconds). */
  readonly frames: number;
  /** Frames of the control window before it: the same wake-ups, nothing written. */
  readonly controlFrames: number;
  /** Where the files go (one per stream, named by the run). */
  readonly dir: string;
}

/** What the child measured in one run. */
export interface RecorderRunResult {
  readonly streams: number;
  /** Frames fed to each stream. */
  readonly frames: number;
  readonly fps: number;
  readonly cpuUserUs: number;
  readonly cpuSystemUs: number;
  readonly wallUs: number;
  /** The control: its frames per stream, and the process's CPU (user + system) over it. */
  readonly controlFrames: number;
  readonly controlCpuUs: number;
  readonly files: readonly { path: string; bytes: number; durationS: number; dropped: number }[];
}

export type RecorderChildMessage =
  | { readonly type: "done"; readonly runs: readonly RecorderRunResult[] }
  | { readonly type: "error"; readonly message: string };

/** A row of the table: one run and what ffprobe found in its files. */
export interface RecorderRow {
  readonly streams: number;
  /** The whole process's cores over the window, divided by the streams. */
  readonly coresPerStream: number;
  /** CPU time per frame written (user + system), µs; the kernel's share in `systemUsPerFrame`. */
  readonly usPerFrame: number;
  readonly systemUsPerFrame: number;
  /** The control's CPU per frame: the feed loop's wake-ups alone, nothing written. */
  readonly controlUsPerFrame: number;
  /** What writing adds: µs per frame over the control's, and that at the frame rate in cores per stream. */
  readonly netUsPerFrame: number;
  readonly netCoresPerStream: number;
  /** Bytes written, all files, MB (2^20). */
  readonly mbWritten: number;
  /** Frames ffprobe decoded, summed over the files, against the frames fed. */
  readonly framesDecoded: number;
  readonly framesFed: number;
  /** Lines ffprobe printed at -v error: decode errors. */
  readonly decodeErrors: number;
  readonly dropped: number;
}

/**
 * The clip's frames as rtsp-in delivers them: each an access unit of RTP packets (the demo camera's
 * packetizer), RTP timestamps at 90 kHz, `count` of them, looping the clip from its start (an IDR).
 */
export function clipAccessUnits(
  frames: readonly ClipFrame[],
  packetizer: H264Packetizer,
  fps: number,
  count: number,
): AccessUnit[] {
  if (frames.length === 0) throw new RangeError("clipAccessUnits: the clip has no frames");
  const ticks = 90000 / fps;
  const units: AccessUnit[] = [];
  for (let i = 0; i < count; i++) {
    const frame = frames[i % frames.length]!;
    const timestamp = Math.round(i * ticks);
    units.push({
      kind: "video",
      mid: "0",
      timestamp,
      keyframe: frame.keyframe,
      packets: packetizer.packetize(frame.nals, timestamp),
    });
  }
  return units;
}

/**
 * When frame `frame` of stream `stream` is due, ms after the window opens: every stream at the frame
 * rate, the streams spread evenly over one frame interval, as cameras that do not share a clock.
 */
export function frameDueMs(frame: number, stream: number, streams: number, fps: number): number {
  const interval = 1000 / fps;
  return frame * interval + (stream * interval) / Math.max(1, streams);
}

/** nb_read_frames of `ffprobe -count_frames -show_entries stream=nb_read_frames -of json`; 0 when absent. */
export function parseReadFrames(json: string): number {
  const streams = (JSON.parse(json) as { streams?: { nb_read_frames?: string | number }[] }).streams;
  const frames = Number(streams?.[0]?.nb_read_frames ?? 0);
  return Number.isFinite(frames) ? frames : 0;
}

/** A run's figures: CPU over the window per stream and per frame, MB written, what decoded. */
export function recorderRow(
  run: RecorderRunResult,
  decoded: readonly { frames: number; errors: number }[],
): RecorderRow {
  const framesFed = run.frames * run.streams;
  const cpuUs = run.cpuUserUs + run.cpuSystemUs;
  const bytes = run.files.reduce((sum, file) => sum + file.bytes, 0);
  const usPerFrame = framesFed > 0 ? cpuUs / framesFed : Number.NaN;
  const controlFrames = run.controlFrames * run.streams;
  const controlUsPerFrame = controlFrames > 0 ? run.controlCpuUs / controlFrames : Number.NaN;
  const netUsPerFrame = usPerFrame - controlUsPerFrame;
  return {
    streams: run.streams,
    coresPerStream: run.wallUs > 0 ? cpuUs / run.wallUs / run.streams : Number.NaN,
    usPerFrame,
    systemUsPerFrame: framesFed > 0 ? run.cpuSystemUs / framesFed : Number.NaN,
    controlUsPerFrame,
    netUsPerFrame,
    netCoresPerStream: (netUsPerFrame * run.fps) / 1e6,
    mbWritten: bytes / 1024 / 1024,
    framesDecoded: decoded.reduce((sum, d) => sum + d.frames, 0),
    framesFed,
    decodeErrors: decoded.reduce((sum, d) => sum + d.errors, 0),
    dropped: run.files.reduce((sum, file) => sum + file.dropped, 0),
  };
}

/** Frames ffprobe decodes in a file, and the lines it printed at -v error. */
async function probeDecode(path: string): Promise<{ frames: number; errors: number }> {
  const run = await runTool(
    "ffprobe",
    [
      "-v",
      "error",
      "-count_frames",
      "-select_streams",
      "v:0",
      "-show_entries",
      "stream=nb_read_frames",
      "-of",
      "json",
      path,
    ],
    undefined,
    120_000,
  );
  if (run.code !== 0) throw new Error(`ffprobe ${path} exited with ${run.code}: ${run.stderr}`);
  const errors = run.stderr.split("\n").filter((line) => line.trim() !== "").length;
  return { frames: parseReadFrames(run.stdout.toString("utf8")), errors };
}

/**
 * Runs the recorder's process (recorder-process.js) over `runs` in turn (each a window of its own),
 * then decodes every file it wrote. `dir` is emptied first: the files of the last run stay there.
 */
export async function measureRecorder(
  base: Omit<RecorderRunOptions, "streams" | "dir">,
  streamCounts: readonly number[],
  dir: string,
  nodeFlags: readonly string[] = [],
): Promise<RecorderRow[]> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const runs: RecorderRunOptions[] = streamCounts.map((streams) => ({ ...base, streams, dir }));
  const child: ChildProcess = fork(join(__dirname, "recorder-process.js"), [JSON.stringify(runs)], {
    execArgv: [...nodeFlags],
    stdio: ["ignore", "inherit", "pipe", "ipc"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  const seconds = runs.reduce((sum, run) => sum + (run.frames + run.controlFrames) / run.fps, 0);
  const message = await new Promise<RecorderChildMessage>((resolve, reject) => {
    const timer = setTimeout(
      () => {
        child.kill("SIGKILL");
        reject(new Error(`the recorder's process did not finish in time:\n${stderr}`));
      },
      seconds * 1000 + 120_000,
    );
    child.once("message", (m: RecorderChildMessage) => {
      clearTimeout(timer);
      resolve(m);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the recorder's process exited with ${code}:\n${stderr}`));
    });
  });
  await new Promise((resolve) =>
    child.exitCode !== null ? resolve(undefined) : child.once("exit", resolve),
  );
  if (message.type === "error") throw new Error(`the recorder's process: ${message.message}`);
  const rows: RecorderRow[] = [];
  for (const run of message.runs) {
    const decoded: { frames: number; errors: number }[] = [];
    for (const file of run.files) decoded.push(await probeDecode(file.path));
    rows.push(recorderRow(run, decoded));
  }
  return rows;
}
