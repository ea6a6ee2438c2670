import { execFile } from "node:child_process";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { packageRoot } from "../helpers/node-red-process";

// The bench's camera clips: raw Annex B H.264 that the demo camera loops (DemoCamera clipPath), made
// once with ffmpeg and cached under .test-artifacts/bench-clips/ (git-ignored).

export interface ClipSpec {
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  /** Target bitrate, kbit/s. */
  readonly kbps: number;
  /** Frames from one IDR to the next. */
  readonly gop: number;
  /** Length of the loop; seconds × fps must be a whole number of GOPs, so the loop point is an IDR. */
  readonly seconds: number;
}

/** The camera: 1280x720, 30 fps, ~2 Mbit/s, an IDR every 2 s. */
export const CAMERA_720P: Readonly<ClipSpec> = Object.freeze({
  width: 1280,
  height: 720,
  fps: 30,
  kbps: 2000,
  gop: 60,
  seconds: 10,
});

/** The many-cameras row's streams: the same picture at ~4 Mbit/s. */
export const CAMERA_720P_4M: Readonly<ClipSpec> = Object.freeze({ ...CAMERA_720P, kbps: 4000 });

/** What ffprobe finds in a clip, with the bitrate worked out from its size at the spec's frame rate. */
export interface ClipProbe {
  readonly path: string;
  readonly codec: string;
  readonly profile: string;
  readonly width: number;
  readonly height: number;
  /** From the SPS timing info, e.g. "30/1". */
  readonly frameRate: string;
  readonly hasBFrames: boolean;
  readonly frames: number;
  readonly keyframes: number;
  /** Distinct distances between consecutive keyframes, in frames (one value for a fixed GOP). */
  readonly gops: readonly number[];
  readonly bytes: number;
  readonly seconds: number;
  readonly averageKbps: number;
  /** Lowest and highest bitrate over the clip's whole seconds. */
  readonly minSecondKbps: number;
  readonly maxSecondKbps: number;
}

/** "1280x720-30fps-2000k-g60-10s": the cache file's name without extension. */
export function clipName(spec: ClipSpec): string {
  return `${spec.width}x${spec.height}-${spec.fps}fps-${spec.kbps}k-g${spec.gop}-${spec.seconds}s`;
}

/** @throws RangeError for a spec ffmpeg cannot make or the demo camera cannot loop. */
export function checkClipSpec(spec: ClipSpec): void {
  const positiveInteger = (name: keyof ClipSpec, max: number): void => {
    const value = spec[name];
    if (!Number.isInteger(value) || value <= 0 || value > max) {
      throw new RangeError(`clip spec: ${name} must be an integer in 1..${max}, got ${value}`);
    }
  };
  positiveInteger("width", 7680);
  positiveInteger("height", 4320);
  positiveInteger("fps", 240);
  positiveInteger("kbps", 100_000);
  positiveInteger("gop", 10_000);
  positiveInteger("seconds", 3600);
  if (spec.width % 2 !== 0 || spec.height % 2 !== 0) {
    throw new RangeError(`clip spec: 4:2:0 needs an even size, got ${spec.width}x${spec.height}`);
  }
  if ((spec.seconds * spec.fps) % spec.gop !== 0) {
    throw new RangeError(
      `clip spec: ${spec.seconds} s at ${spec.fps} fps is not a whole number of ${spec.gop}-frame GOPs`,
    );
  }
}

/** .test-artifacts/bench-clips under the package root. */
export function defaultClipDir(): string {
  return join(packageRoot(), ".test-artifacts", "bench-clips");
}

/**
 * The ffmpeg arguments for a spec: testsrc2 (moving shapes and a counter) with light temporal noise,
 * like a sensor's, so the encoder really spends the bitrate; x264 Main, no B-frames, an IDR exactly
 * every `gop` frames (no scene-cut IDRs), SPS/PPS before each IDR, ABR held to the target by a
 * one-second VBV: a steady stream like a camera's CBR, without filler NAL units.
 */
export function ffmpegArgs(spec: ClipSpec, output: string): string[] {
  const kbps = `${spec.kbps}k`;
  return [
    "-nostdin",
    "-v",
    "error",
    "-y",
    "-f",
    "lavfi",
    "-i",
    `testsrc2=size=${spec.width}x${spec.height}:rate=${spec.fps}`,
    "-vf",
    "noise=alls=10:allf=t+u",
    "-frames:v",
    String(spec.seconds * spec.fps),
    "-an",
    "-c:v",
    "libx264",
    "-profile:v",
    "main",
    "-preset",
    "veryfast",
    "-g",
    String(spec.gop),
    "-keyint_min",
    String(spec.gop),
    "-sc_threshold",
    "0",
    "-bf",
    "0",
    "-b:v",
    kbps,
    "-maxrate",
    kbps,
    "-bufsize",
    kbps,
    "-pix_fmt",
    "yuv420p",
    "-x264-params",
    "repeat-headers=1",
    "-f",
    "h264",
    output,
  ];
}

function run(command: string, args: readonly string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: timeoutMs, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} failed: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/** Clips being made by this process, by path: two callers asking at once share one ffmpeg run. */
const making = new Map<string, Promise<string>>();

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).size > 0;
  } catch {
    return false;
  }
}

/**
 * The path of the clip for `spec`, made with ffmpeg when it is not cached yet (a few seconds for 10 s
 * of 720p). Written to a temporary name and renamed, so an interrupted run leaves no half clip behind.
 * @throws RangeError for a bad spec; Error when ffmpeg fails
 */
export function ensureClip(spec: ClipSpec, dir: string = defaultClipDir()): Promise<string> {
  checkClipSpec(spec);
  const path = join(dir, `${clipName(spec)}.h264`);
  const pending = making.get(path);
  if (pending) return pending;
  const made = (async () => {
    if (await isFile(path)) return path;
    await mkdir(dir, { recursive: true });
    const partial = `${path}.${process.pid}.partial`;
    try {
      await run("ffmpeg", ffmpegArgs(spec, partial), 600_000);
      await rename(partial, path);
    } finally {
      await rm(partial, { force: true });
    }
    return path;
  })();
  making.set(path, made);
  made.catch(() => making.delete(path));
  return made;
}

interface ProbedStream {
  codec_name?: string;
  profile?: string;
  width?: number;
  height?: number;
  r_frame_rate?: string;
  has_b_frames?: number;
}

/**
 * ffprobe's view of a clip: its stream, and the size and keyframe flag of every frame. A raw H.264
 * file has no timing of its own: bitrates are worked out at `fps`.
 * @throws Error when ffprobe fails or finds no video
 */
export async function probeClip(path: string, fps: number): Promise<ClipProbe> {
  const streamJson = await run(
    "ffprobe",
    ["-v", "error", "-select_streams", "v:0", "-show_streams", "-of", "json", path],
    60_000,
  );
  const stream = (JSON.parse(streamJson) as { streams?: ProbedStream[] }).streams?.[0];
  if (stream === undefined) throw new Error(`ffprobe found no video in ${path}`);
  const packetCsv = await run(
    "ffprobe",
    ["-v", "error", "-select_streams", "v:0", "-show_entries", "packet=size,flags", "-of", "csv=p=0", path],
    60_000,
  );
  const packets = packetCsv
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => {
      const [size, flags] = line.split(",");
      return { size: Number(size), keyframe: (flags ?? "").includes("K") };
    });
  const keyframeAt = packets.flatMap((packet, i) => (packet.keyframe ? [i] : []));
  const gops = new Set<number>();
  for (let i = 1; i < keyframeAt.length; i++) gops.add(keyframeAt[i]! - keyframeAt[i - 1]!);
  const secondKbps: number[] = [];
  for (let start = 0; start + fps <= packets.length; start += fps) {
    const bytes = packets.slice(start, start + fps).reduce((sum, packet) => sum + packet.size, 0);
    secondKbps.push((bytes * 8) / 1000);
  }
  const bytes = (await stat(path)).size;
  const seconds = packets.length / fps;
  return {
    path,
    codec: stream.codec_name ?? "",
    profile: stream.profile ?? "",
    width: stream.width ?? 0,
    height: stream.height ?? 0,
    frameRate: stream.r_frame_rate ?? "",
    hasBFrames: (stream.has_b_frames ?? 0) > 0,
    frames: packets.length,
    keyframes: keyframeAt.length,
    gops: [...gops].sort((a, b) => a - b),
    bytes,
    seconds,
    averageKbps: seconds > 0 ? (bytes * 8) / seconds / 1000 : 0,
    minSecondKbps: secondKbps.length > 0 ? Math.min(...secondKbps) : 0,
    maxSecondKbps: secondKbps.length > 0 ? Math.max(...secondKbps) : 0,
  };
}

/** One line for the bench's log: "1280x720 Main 30/1 fps, 300 frames, GOP 60, 2058 kbit/s (1916..2223)". */
export function describeProbe(probe: ClipProbe): string {
  const round = (kbps: number): number => Math.round(kbps);
  return (
    `${probe.width}x${probe.height} ${probe.codec} ${probe.profile} ${probe.frameRate} fps, ` +
    `${probe.frames} frames, ${probe.keyframes} keyframes, GOP ${probe.gops.join("/") || "-"}, ` +
    `${probe.hasBFrames ? "B-frames" : "no B-frames"}, ${round(probe.averageKbps)} kbit/s average ` +
    `(per second ${round(probe.minSecondKbps)}..${round(probe.maxSecondKbps)})`
  );
}

/** Makes (or finds) the clip, probes it, prints what it holds; the path and the probe. */
export async function ensureProbedClip(
  spec: ClipSpec,
  log: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
  dir?: string,
): Promise<{ path: string; probe: ClipProbe }> {
  const path = await ensureClip(spec, dir);
  const probe = await probeClip(path, spec.fps);
  log(`clip ${clipName(spec)}: ${describeProbe(probe)}`);
  return { path, probe };
}

/** For a look by hand: `node dist/test/bench/clips.js` makes and probes the bench's clips. */
async function main(): Promise<void> {
  for (const spec of [CAMERA_720P, CAMERA_720P_4M]) await ensureProbedClip(spec);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
