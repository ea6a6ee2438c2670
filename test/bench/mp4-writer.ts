import { readFile } from "node:fs/promises";
import { parseDemoClip } from "../../src/demo/clip";
import { H264Packetizer } from "../../src/demo/h264-packetizer";
import { createClipWriter } from "../../src/mp4/clip-writer";
import { bufferOutput } from "../../src/mp4/outputs";
import type { AccessUnit, MediaInfo, StreamInfo } from "../../src/rtp/stream-info";
import { CAMERA_720P, ensureClip } from "./clips";

// What the fMP4 clip writer costs per video frame: the bench's 720p 2 Mbit/s 30 fps clip,
// packetized as a camera sends it (FU-A at 1188 bytes), fed to createClipWriter into memory,
// finish() included. CPU time of this process (user + system) over frames; prints, asserts nothing.
//   npm run build && node dist/test/bench/mp4-writer.js [rounds]

const ROUNDS = Number(process.argv[2] ?? 5);
const LOOPS = 3;

async function main(): Promise<void> {
  const path = await ensureClip(CAMERA_720P);
  const clip = parseDemoClip(await readFile(path));
  if (typeof clip === "string") throw new Error(clip);
  const packetizer = new H264Packetizer({ payloadType: 96, ssrc: 1 });
  const ticks = 90000 / CAMERA_720P.fps;
  const units: AccessUnit[] = [];
  for (let loop = 0; loop < LOOPS; loop++) {
    for (const frame of clip.frames) {
      const timestamp = units.length * ticks;
      const packets = packetizer.packetize(frame.nals, timestamp);
      units.push({ kind: "video", mid: "0", timestamp, keyframe: frame.keyframe, packets });
    }
  }
  const bytes = units.reduce((sum, u) => sum + u.packets.reduce((s, p) => s + p.length, 0), 0);
  const video: MediaInfo = {
    mid: "0",
    kind: "video",
    codec: "H264",
    payloadType: 96,
    clockRate: 90000,
    fmtp: {},
    relayable: true,
    parameterSets: [clip.sps, clip.pps],
  };
  const stream: StreamInfo = { id: "bench", session: 1, media: [video] };
  console.log(
    `${units.length} frames of ${CAMERA_720P.width}x${CAMERA_720P.height} at ${CAMERA_720P.fps} fps, ` +
      `${Math.round((bytes * 8 * CAMERA_720P.fps) / units.length / 1000)} kbit/s of RTP`,
  );
  const results: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const output = bufferOutput(1 << 30);
    const writer = createClipWriter({ output, stream });
    const before = process.cpuUsage();
    const wall = process.hrtime.bigint();
    let at = Date.now();
    for (const unit of units) {
      writer.add(unit, at);
      at += 1000 / CAMERA_720P.fps;
      // A turn of the event loop every frame, as frames come from a socket: mediabunny's work runs in between.
      await new Promise((resolve) => setImmediate(resolve));
    }
    const summary = await writer.finish();
    const cpu = process.cpuUsage(before);
    const wallMs = Number(process.hrtime.bigint() - wall) / 1e6;
    const perFrame = (cpu.user + cpu.system) / units.length;
    results.push(perFrame);
    console.log(
      `round ${round + 1}: ${perFrame.toFixed(1)} µs CPU per frame (${((wallMs * 1000) / units.length).toFixed(1)} µs wall), ` +
        `${summary.bytes} bytes, ${summary.durationS.toFixed(2)} s, dropped ${writer.dropped}`,
    );
  }
  const sorted = [...results].sort((a, b) => a - b);
  console.log(`median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(1)} µs CPU per video frame`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
