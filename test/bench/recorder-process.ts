import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseDemoClip } from "../../src/demo/clip";
import { H264Packetizer } from "../../src/demo/h264-packetizer";
import { createClipWriter } from "../../src/mp4/clip-writer";
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
const WARM_UP_FRAMES = 120;

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

async function run(
  opts: RecorderRunOptions,
  units: readonly AccessUnit[],
  stream: (id: string) => StreamInfo,
): Promise<RecorderRunResult> {
  const writers = Array.from({ length: opts.streams }, (_, i) => {
    const path = join(opts.dir, `${opts.streams}-streams-${i + 1}.mp4`);
    return { path, writer: createClipWriter({ output: fileOutput(path), stream: stream(`rec${i + 1}`) }) };
  });
  const cpu = process.cpuUsage();
  const opened = performance.now();
  const feed = async (index: number): Promise<void> => {
    const { writer } = writers[index]!;
    for (let frame = 0; frame < opts.frames; frame++) {
      const wait = opened + frameDueMs(frame, index, opts.streams, opts.fps) - performance.now();
      if (wait > 0) await sleep(wait);
      writer.add(units[frame]!, Date.now());
    }
  };
  await Promise.all(writers.map((_, i) => feed(i)));
  const summaries = await Promise.all(writers.map(({ writer }) => writer.finish()));
  const used = process.cpuUsage(cpu);
  const wallUs = (performance.now() - opened) * 1000;
  return {
    streams: opts.streams,
    frames: opts.frames,
    cpuUserUs: used.user,
    cpuSystemUs: used.system,
    wallUs,
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
  for (const opts of runs) results.push(await run(opts, units, stream));
  send({ type: "done", runs: results });
}

function send(message: RecorderChildMessage): void {
  process.send?.(message, () => process.disconnect());
}

main().catch((error: unknown) => {
  send({ type: "error", message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  process.exitCode = 1;
});
