import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseDemoClip } from "../../src/demo/clip";
import { H264Packetizer } from "../../src/demo/h264-packetizer";
import { type ClipSummary, createClipWriter } from "../../src/mp4/clip-writer";
import { bufferOutput, fileOutput } from "../../src/mp4/outputs";
import type { AccessUnit, StreamInfo } from "../../src/rtp/stream-info";
import {
  clipAccessUnits,
  frameDueMs,
  type RecorderChildMessage,
  type RecorderRunOptions,
  type RecorderRunResult,
} from "./recorder";

// The recorder's process (forked by recorder.ts's measureRecorder): for each run, `streams` clip
// writers to files on disk, each fed the clip's access units at the frame rate; the process's CPU
// time over the run, finish() (the last fragment and fsync) included. Nothing else runs in it.

/** Frames written to memory before the runs, so that the windows measure warm code, as a recorder that runs for hours. */
const WARM_UP_FRAMES = 900;

function streamOf(sps: Buffer, pps: Buffer, id: string): StreamInfo {
  return {
    id,
    session: 1,
    media: [
      {
        mid: "0",
        kind: "video",
        codec: "H264",
        payloadType: 96,
        clockRate: 90000,
        fmtp: {},
        relayable: true,
        parameterSets: [sps, pps],
      },
    ],
  };
}

/**
 * `streams` loops waking at the frame rate, spread over a frame interval, each calling `add(stream,
 * frame)` when its frame is due; resolves after the last. The same schedule with and without writers.
 */
async function feed(
  streams: number,
  frames: number,
  fps: number,
  add: (stream: number, frame: number) => void,
): Promise<void> {
  const opened = performance.now();
  const one = async (stream: number): Promise<void> => {
    for (let frame = 0; frame < frames; frame++) {
      const wait = opened + frameDueMs(frame, stream, streams, fps) - performance.now();
      if (wait > 0) await sleep(wait);
      add(stream, frame);
    }
  };
  await Promise.all(Array.from({ length: streams }, (_, i) => one(i)));
}

/** The process's CPU (user, system; µs) and wall time (µs) over `work`. */
async function measured(
  work: () => Promise<void>,
): Promise<{ userUs: number; systemUs: number; wallUs: number }> {
  const cpu = process.cpuUsage();
  const opened = performance.now();
  await work();
  const used = process.cpuUsage(cpu);
  return { userUs: used.user, systemUs: used.system, wallUs: (performance.now() - opened) * 1000 };
}

async function run(
  index: number,
  opts: RecorderRunOptions,
  units: readonly AccessUnit[],
  stream: (id: string) => StreamInfo,
): Promise<RecorderRunResult> {
  // The control first: the same wake-ups with nothing to write. On this VM a timer's wake-up costs
  // hundreds of µs, more than a frame's writing; in Node-RED the socket's wake-up is rtsp-in's.
  const control = await measured(() => feed(opts.streams, opts.controlFrames, opts.fps, () => Date.now()));
  const writers = Array.from({ length: opts.streams }, (_, i) => {
    const path = join(opts.dir, `run${index + 1}-${opts.streams}-streams-${i + 1}.mp4`);
    return { path, writer: createClipWriter({ output: fileOutput(path), stream: stream(`rec${i + 1}`) }) };
  });
  let summaries: ClipSummary[] = [];
  const used = await measured(async () => {
    await feed(opts.streams, opts.frames, opts.fps, (i, frame) => {
      writers[i]!.writer.add(units[frame]!, Date.now());
    });
    summaries = await Promise.all(writers.map(({ writer }) => writer.finish()));
  });
  return {
    streams: opts.streams,
    frames: opts.frames,
    fps: opts.fps,
    cpuUserUs: used.userUs,
    cpuSystemUs: used.systemUs,
    wallUs: used.wallUs,
    controlFrames: opts.controlFrames,
    controlCpuUs: control.userUs + control.systemUs,
    files: writers.map(({ path, writer }, i) => ({
      path,
      bytes: summaries[i]!.bytes,
      durationS: summaries[i]!.durationS,
      dropped: writer.dropped,
    })),
  };
}

async function main(): Promise<void> {
  const runs = JSON.parse(process.argv[2] ?? "[]") as RecorderRunOptions[];
  const first = runs[0];
  if (first === undefined) throw new Error("no runs");
  const clip = parseDemoClip(await readFile(first.clipPath));
  if (typeof clip === "string") throw new Error(`${first.clipPath}: ${clip}`);
  const frames = Math.max(WARM_UP_FRAMES, ...runs.map((r) => r.frames));
  const units = clipAccessUnits(
    clip.frames,
    new H264Packetizer({ payloadType: 96, ssrc: 1 }),
    first.fps,
    frames,
  );
  const stream = (id: string) => streamOf(clip.sps, clip.pps, id);

  const warm = createClipWriter({ output: bufferOutput(1 << 30), stream: stream("warm-up") });
  for (const unit of units.slice(0, WARM_UP_FRAMES)) {
    warm.add(unit);
    await new Promise((resolve) => setImmediate(resolve));
  }
  await warm.finish();

  const results: RecorderRunResult[] = [];
  for (const [i, opts] of runs.entries()) results.push(await run(i, opts, units, stream));
  send({ type: "done", runs: results });
}

function send(message: RecorderChildMessage): void {
  process.send?.(message, () => process.disconnect());
}

main().catch((error: unknown) => {
  send({ type: "error", message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  process.exitCode = 1;
});
