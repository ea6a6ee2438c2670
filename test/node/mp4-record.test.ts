import "../helpers/loopback-namespace";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  createReadStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import helper from "node-red-node-test-helper";
import { launchChromium } from "../helpers/chromium";
import { runTool } from "../helpers/decode";
import { GstRtspServer } from "../helpers/gst-server";
import { withCatalog } from "../helpers/node-catalog";
import { TimerLedger } from "../helpers/timer-ledger";
import { requireTool } from "../helpers/tools";
import { waitFor } from "../helpers/wait";

// biome-ignore lint/suspicious/noExplicitAny: Node-RED's runtime objects are untyped in tests
type AnyNode = any;

const mp4RecordNode = withCatalog("mp4-record", require("../../../nodes/mp4-record.js"));
const rtpFanoutNode = withCatalog("rtp-fanout", require("../../../nodes/rtp-fanout.js"));
const rtspInNode = withCatalog("rtsp-in", require("../../../nodes/rtsp-in.js"));

const FPS = 25;

interface Probe {
  durationS: number;
  frames: number;
  firstKey: boolean;
  codecs: string[];
}

/** The clip's video as ffprobe reads it: duration from the packets, frame count, whether it starts at a keyframe. */
async function probe(file: string): Promise<Probe> {
  const args = [
    "-v",
    "error",
    "-select_streams",
    "v:0",
    "-show_packets",
    "-show_entries",
    "packet=pts_time,duration_time,flags",
    "-of",
    "json",
    file,
  ];
  const result = await runTool(requireTool("ffprobe"), args);
  assert.equal(result.stderr.toString(), "", "ffprobe reads the file without complaint");
  const packets = (
    JSON.parse(result.stdout.toString("utf8")) as {
      packets: { pts_time: string; duration_time?: string; flags: string }[];
    }
  ).packets;
  assert.ok(packets.length > 0, "video packets in the file");
  const pts = packets.map((p) => Number(p.pts_time));
  const last = packets.at(-1)!;
  const durationS = Math.max(...pts) + Number(last.duration_time ?? 1 / FPS) - Math.min(...pts);
  const streams = await runTool(requireTool("ffprobe"), [
    "-v",
    "error",
    "-show_entries",
    "stream=codec_name",
    "-of",
    "csv=p=0",
    file,
  ]);
  return {
    durationS,
    frames: packets.length,
    firstKey: packets[0]!.flags.startsWith("K"),
    codecs: streams.stdout.toString("utf8").trim().split("\n"),
  };
}

/** ffmpeg decodes every stream of the file; its complaints, empty for a clean file. */
async function decodeErrors(file: string): Promise<string> {
  const result = await runTool(requireTool("ffmpeg"), ["-v", "error", "-i", file, "-f", "null", "-"]);
  return `${result.stderr}${result.code === 0 ? "" : `exit ${result.code}`}`;
}

interface Played {
  error: number | null;
  width: number;
  height: number;
  currentTime: number;
}

/** Chromium plays the file in a <video> from a local HTTP server until 1 s of it has played. */
async function playInChromium(file: string): Promise<Played> {
  const server = createServer((req, res) => {
    if (req.url === "/clip.mp4") {
      res.writeHead(200, { "content-type": "video/mp4", "content-length": statSync(file).size });
      createReadStream(file).pipe(res);
      return;
    }
    res.writeHead(200, { "content-type": "text/html" });
    res.end('<!doctype html><video id="v" src="/clip.mp4" muted autoplay playsinline></video>');
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const chromium = await launchChromium();
  try {
    const { port } = server.address() as AddressInfo;
    const { page } = await chromium.open(`http://127.0.0.1:${port}/`);
    const state = () =>
      page.evaluate<Played>(
        "(() => { const v = document.getElementById('v'); return { error: v.error && v.error.code, width: v.videoWidth, height: v.videoHeight, currentTime: v.currentTime }; })()",
      );
    let last = await state();
    await waitFor(
      async () => {
        last = await state();
        return last.error !== null || last.currentTime >= 1;
      },
      15_000,
      "Chromium to play 1 s of the clip",
    ).catch(() => undefined);
    return last;
  } finally {
    await chromium.close();
    server.close();
  }
}

/** The node's own last status: Node-RED's test helper spies on status() of every node at once. */
function lastStatus(node: AnyNode): { text?: string; fill?: string } {
  const calls = node.status.getCalls().filter((call: AnyNode) => call.thisValue === node);
  return calls.at(-1)?.args[0] ?? {};
}

/** Texts the nodes logged as errors (what a catch node sees). */
function loggedErrors(): string[] {
  return helper
    .log()
    .args.filter((a: AnyNode[]) => a[0]?.level === 20)
    .map((a: AnyNode[]) => String(a[0].msg));
}

function collect(id: string): AnyNode[] {
  const messages: AnyNode[] = [];
  helper.getNode(id).on("input", (msg: AnyNode) => messages.push(msg));
  return messages;
}

function recordNode(fields: Record<string, unknown>) {
  return {
    id: "rec",
    type: "mp4-record",
    name: "door",
    mode: "activity",
    idle: 2,
    minFree: 0,
    retainSize: 0,
    retainDays: 0,
    ...fields,
    wires: [["out"]],
  };
}

describe("mp4-record with the real clip writer (gst-rtsp-server camera)", function () {
  this.timeout(90_000);
  let camera: GstRtspServer;
  let dir: string;

  before(async () => {
    helper.init(require.resolve("node-red"));
    camera = await GstRtspServer.start({ codec: "h264", audio: "pcma", keyint: FPS, fps: FPS, joinPhase: 0 });
    await new Promise<void>((resolve) => helper.startServer(() => resolve()));
  });

  after(async () => {
    await camera.stop();
    await new Promise<void>((resolve) => helper.stopServer(() => resolve()));
  });

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), "mp4-record-"));
  });

  afterEach(async () => {
    await helper.unload();
    rmSync(dir, { recursive: true, force: true });
  });

  it("rtsp-in → rtp-fanout (pre-roll 5 s) → mp4-record: an alarm opening the gate for 10 s makes a 15 s clip that ffmpeg decodes and Chromium plays", async () => {
    await helper.load(
      [rtspInNode, rtpFanoutNode, mp4RecordNode],
      [
        {
          id: "cam",
          type: "rtsp-in",
          url: camera.url,
          transport: "tcp",
          media: "both",
          wires: [["fan", "tap"], []],
        },
        {
          id: "fan",
          type: "rtp-fanout",
          name: "alarm",
          statsInterval: 0,
          gates: [{ open: false, filter: "all", autoClose: 10, preRoll: "seconds", preRollSeconds: 5 }],
          wires: [["rec"], []],
        },
        recordNode({ directory: dir }),
        { id: "tap", type: "helper" },
        { id: "out", type: "helper" },
      ],
    );
    const clips = collect("out");
    const tap = helper.getNode("tap");
    let keyframes = 0;
    let alarmed = false;
    // The alarm comes 20 ms after a keyframe that has 5 s of history before it: the pre-roll then
    // starts at the keyframe exactly 5 s earlier, so the clip is 5 s + 10 s.
    const alarm = new Promise<void>((resolve) => {
      tap.on("input", (msg: AnyNode) => {
        if (alarmed || msg.rtp.kind !== "video" || !msg.rtp.keyframe) return;
        if (++keyframes < 7) return;
        alarmed = true;
        setTimeout(() => {
          helper.getNode("fan").receive({ topic: "open", output: 1 });
          resolve();
        }, 20);
      });
    });
    await alarm;
    await waitFor(() => clips.length === 1, 25_000, "the clip 10 s + idle after the alarm");
    const msg = clips[0];
    assert.equal(typeof msg.payload, "string");
    assert.equal(msg.file.path, msg.payload);
    assert.equal(path.dirname(msg.payload), dir);
    assert.match(path.basename(msg.payload), /^door-\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}\.mp4$/);
    assert.equal(msg.file.bytes, statSync(msg.payload).size);
    assert.equal(msg.file.reason, "idle");
    assert.deepEqual(msg.file.video, { codec: "H264", width: 640, height: 360 });
    assert.equal(msg.file.audio.codec, "PCMA");
    assert.ok(msg.file.start instanceof Date && msg.file.end > msg.file.start);
    const probed = await probe(msg.payload);
    assert.ok(probed.firstKey, "the clip starts at a keyframe");
    assert.deepEqual(probed.codecs.sort(), ["h264", "pcm_alaw"]);
    assert.ok(
      Math.abs(probed.durationS - 15) <= 1 / FPS + 0.001,
      `15 s within one frame: ffprobe reads ${probed.durationS.toFixed(3)} s (${probed.frames} frames)`,
    );
    assert.ok(
      Math.abs(msg.file.durationS - probed.durationS) <= 2 / FPS,
      `msg.file.durationS ${msg.file.durationS}`,
    );
    assert.equal(await decodeErrors(msg.payload), "", "ffmpeg decodes it with no error");
    const played = await playInChromium(msg.payload);
    assert.equal(played.error, null, "Chromium has no media error");
    assert.deepEqual([played.width, played.height], [640, 360]);
    assert.ok(played.currentTime >= 1, `Chromium plays it: at ${played.currentTime} s`);
    const status = lastStatus(helper.getNode("rec")).text ?? "";
    assert.match(status, /^idle · 1 clips · [\d.]+ (kB|MB)$/);
  });

  it("refuses msg.filename that tries to leave the directory, with a clear error, and records on", async () => {
    await helper.load(
      [rtspInNode, mp4RecordNode],
      [
        {
          id: "cam",
          type: "rtsp-in",
          url: camera.url,
          transport: "tcp",
          media: "video",
          wires: [["rec"], []],
        },
        recordNode({ directory: dir, mode: "command", idle: 30 }),
        { id: "out", type: "helper" },
      ],
    );
    const rec = helper.getNode("rec");
    const clips = collect("out");
    rec.receive({ payload: "start", filename: "../../etc/escape" });
    rec.receive({ payload: "start", filename: "/tmp/escape.mp4" });
    writeFileSync(path.join(dir, "a-file"), "");
    rec.receive({ payload: "start", filename: "a-file/clip" });
    await waitFor(() => loggedErrors().length >= 3, 3000, "three errors");
    const errors = loggedErrors();
    assert.ok(
      errors.some((e) =>
        /msg\.filename "\.\.\/\.\.\/etc\/escape" refused: it climbs out of the directory with \.\./.test(e),
      ),
      errors.join("\n"),
    );
    assert.ok(
      errors.some((e) => /msg\.filename "\/tmp\/escape\.mp4" refused: it is an absolute path/.test(e)),
      errors.join("\n"),
    );
    assert.ok(
      errors.some((e) => /cannot record into .*: ENOTDIR/.test(e)),
      errors.join("\n"),
    );
    // Still running: a good name records.
    rec.receive({ payload: "start", filename: "alarm/kitchen" });
    await waitFor(() => /^recording/.test(lastStatus(rec).text ?? ""), 10_000, "recording");
    await new Promise((resolve) => setTimeout(resolve, 1500));
    rec.receive({ payload: "stop" });
    await waitFor(() => clips.length === 1, 10_000, "the named clip");
    assert.equal(clips[0].payload, path.join(dir, "alarm/kitchen.mp4"));
    assert.equal(await decodeErrors(clips[0].payload), "");
    assert.ok(!existsSync("/tmp/escape.mp4"));
  });

  it("a full disk (1 MB tmpfs) ends the clip with a clear error and a status in words; the flow keeps running", async () => {
    // The suite runs as root (inside `unshare --net`): a tmpfs can be mounted.
    assert.equal(process.getuid?.(), 0, "mounting a tmpfs needs root");
    const small = path.join(dir, "small");
    mkdirSync(small);
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", small]);
    try {
      await helper.load(
        [rtspInNode, mp4RecordNode],
        [
          {
            id: "cam",
            type: "rtsp-in",
            url: camera.url,
            transport: "tcp",
            media: "both",
            wires: [["rec", "tap"], []],
          },
          recordNode({ directory: small, idle: 30 }),
          { id: "out", type: "helper" },
          { id: "tap", type: "helper" },
        ],
      );
      const rec = helper.getNode("rec");
      const clips = collect("out");
      await waitFor(
        () => loggedErrors().some((e) => /the disk is full/.test(e)),
        30_000,
        "the full-disk error",
      );
      const error = loggedErrors().find((e) => /the disk is full/.test(e))!;
      assert.match(
        error,
        new RegExp(`^writing ${small}/door-[\\d-]+\\.mp4 failed: the disk is full\\. The clip was ended`),
      );
      await waitFor(() => /the disk is full/.test(lastStatus(rec).text ?? ""), 3000, "status in words");
      assert.equal(lastStatus(rec).fill, "red");
      // What was written before the disk filled plays, and was sent on.
      assert.match(error, /what was written plays and was sent on/);
      await waitFor(() => clips.length === 1, 5000, "the kept clip");
      assert.equal(clips[0].file.reason, "write-error");
      assert.equal(clips[0].file.bytes, statSync(clips[0].payload).size);
      assert.equal(await decodeErrors(clips[0].payload), "", "the kept part decodes");
      // The flow runs on: rtsp-in still delivers.
      const tapped = collect("tap");
      await waitFor(() => tapped.length > 25, 5000, "frames after the error");
    } finally {
      await helper.unload();
      execFileSync("umount", ["-l", small]);
    }
  });

  it("segments (of a camera with AAC audio) rotate at keyframes and retention deletes the oldest", async () => {
    const aacCamera = await GstRtspServer.start({
      codec: "h264",
      audio: "aac",
      keyint: FPS,
      fps: FPS,
      joinPhase: 0,
    });
    try {
      await helper.load(
        [rtspInNode, mp4RecordNode],
        [
          {
            id: "cam",
            type: "rtsp-in",
            url: aacCamera.url,
            transport: "tcp",
            media: "both",
            wires: [["rec"], []],
          },
          // 2 s segments; about 250 kB each at 1 Mbit/s, keep at most 0.6 MB.
          recordNode({ directory: dir, mode: "segments", segment: 2 / 60, retainSize: 0.6 }),
          { id: "out", type: "helper" },
        ],
      );
      const clips = collect("out");
      await waitFor(() => clips.length >= 4, 30_000, "four segments");
      const files = clips.slice(0, 4).map((m) => m.payload as string);
      for (const m of clips.slice(0, 4)) assert.equal(m.file.reason, "segment");
      assert.ok(!existsSync(files[0]!), "the oldest segment deleted");
      assert.ok(existsSync(files[3]!), "the newest kept");
      const left = readdirSync(dir).filter((f) => f.endsWith(".mp4"));
      const total = left.reduce((sum, f) => sum + statSync(path.join(dir, f)).size, 0);
      assert.ok(left.length >= 2, `files left: ${left}`);
      // The clip being written is on top of the limit while it grows.
      assert.ok(
        total - statSync(path.join(dir, left.sort().at(-1)!)).size <= 0.6 * 1024 * 1024,
        `${total} bytes left`,
      );
      for (const file of files.slice(1, 4).filter(existsSync)) {
        const probed = await probe(file);
        assert.ok(probed.firstKey, `${file} starts at a keyframe`);
        assert.ok(Math.abs(probed.durationS - 2) <= 1 / FPS + 0.001, `a 2 s segment: ${probed.durationS}`);
        assert.deepEqual(probed.codecs.sort(), ["aac", "h264"]);
        assert.equal(await decodeErrors(file), "");
      }
    } finally {
      await helper.unload();
      await aacCamera.stop();
    }
  });
  it("a Buffer clip in msg.payload; bad input and the free-space floor are clear errors; the flow keeps running", async () => {
    await helper.load(
      [rtspInNode, mp4RecordNode],
      [
        {
          id: "cam",
          type: "rtsp-in",
          url: camera.url,
          transport: "tcp",
          media: "both",
          wires: [["rec", "floor"], []],
        },
        recordNode({ mode: "command", output: "buffer", maxBuffer: 5, idle: "-1" }),
        { id: "floor", type: "mp4-record", name: "low disk", directory: dir, minFree: 1e7, wires: [[]] },
        { id: "out", type: "helper" },
      ],
    );
    const rec = helper.getNode("rec");
    const full = helper.getNode("floor");
    const clips = collect("out");
    rec.receive({ payload: 42 });
    // A wrong wire delivers 25 of those a second: one error per 10 s.
    rec.receive({ payload: 43 });
    rec.receive({ payload: "start", filename: 5 });
    await waitFor(
      () => loggedErrors().some((e) => /only [\d.]+ [kMGT]B free in .*, under the floor of 10\.5 TB/.test(e)),
      10_000,
      "the floor's error",
    );
    const errors = loggedErrors();
    assert.ok(
      errors.some((e) => /neither media nor a command: msg\.payload is a number/.test(e)),
      errors.join("\n"),
    );
    assert.ok(
      errors.some((e) => /msg\.filename must be a string .*not a number/.test(e)),
      errors.join("\n"),
    );
    await waitFor(
      () => /disk under the free-space floor|only .* free/.test(lastStatus(full).text ?? ""),
      5000,
      "floor status",
    );
    full.receive({ payload: "start" });
    rec.receive({ payload: "start" });
    await waitFor(
      () => /^recording \d\d:\d\d · [\d.]+ (kB|MB)$/.test(lastStatus(rec).text ?? ""),
      10_000,
      "recording",
    );
    await new Promise((resolve) => setTimeout(resolve, 1500));
    rec.receive({ payload: "stop" });
    await waitFor(() => clips.length === 1, 10_000, "the clip");
    assert.ok(Buffer.isBuffer(clips[0].payload));
    assert.equal(clips[0].file.path, undefined);
    assert.equal(clips[0].file.bytes, clips[0].payload.length);
    const file = path.join(dir, "buffer.mp4");
    writeFileSync(file, clips[0].payload);
    assert.equal(await decodeErrors(file), "");
    await waitFor(
      () => /^stopped · 1 clips sent · /.test(lastStatus(rec).text ?? ""),
      3000,
      "stopped status",
    );
    assert.ok(
      helper
        .log()
        .args.some(
          (a: AnyNode[]) =>
            a[0]?.level === 30 && /close after must be more than 0 seconds, not -1/.test(a[0].msg),
        ),
      "the bad setting is warned about",
    );
    assert.deepEqual(readdirSync(dir), ["buffer.mp4"], "nothing recorded under the floor");
    assert.equal(loggedErrors().filter((e) => /neither media nor a command/.test(e)).length, 1);
  });
  it("a redeploy mid-clip finishes the file and leaves no timer and no open file behind", async () => {
    const timers = TimerLedger.open();
    try {
      await helper.load(
        [rtspInNode, mp4RecordNode],
        [
          {
            id: "cam",
            type: "rtsp-in",
            url: camera.url,
            transport: "tcp",
            media: "both",
            wires: [["rec"], []],
          },
          recordNode({ directory: dir, idle: 30 }),
          { id: "out", type: "helper" },
        ],
      );
      const rec = helper.getNode("rec");
      await waitFor(() => /^recording/.test(lastStatus(rec).text ?? ""), 10_000, "recording");
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await helper.unload();
      assert.deepEqual(timers.pending(), [], "timers the unloaded nodes left armed");
      const open = readdirSync("/proc/self/fd").flatMap((fd) => {
        try {
          return [readlinkSync(`/proc/self/fd/${fd}`)];
        } catch {
          return [];
        }
      });
      assert.deepEqual(
        open.filter((target) => target.startsWith(dir)),
        [],
        "files left open",
      );
      const [file] = readdirSync(dir);
      assert.ok(file, "the clip under way was finished");
      assert.equal(await decodeErrors(path.join(dir, file)), "");
    } finally {
      timers.close();
    }
  });
});
