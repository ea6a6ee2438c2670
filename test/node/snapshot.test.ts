import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import helper from "node-red-node-test-helper";
import { runTool } from "../helpers/decode";
import { GstRtspServer } from "../helpers/gst-server";
import { withCatalog } from "../helpers/node-catalog";
import { TimerLedger } from "../helpers/timer-ledger";
import { requireTool } from "../helpers/tools";
import { waitFor } from "../helpers/wait";

// biome-ignore lint/suspicious/noExplicitAny: Node-RED's runtime objects are untyped in tests
type AnyNode = any;

const snapshotNode = withCatalog("snapshot", require("../../../nodes/snapshot.js"));
const rtspInNode = withCatalog("rtsp-in", require("../../../nodes/rtsp-in.js"));

const WIDTH = 480;
const HEIGHT = 270;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The runtime's error log lines (level 20): what node.error and done(err) report. */
function loggedErrors(): string[] {
  return helper
    .log()
    .args.filter((a: AnyNode[]) => a[0]?.level === 20)
    .map((a: AnyNode[]) => String(a[0].msg));
}

/** This node's latest status text (the helper's spy sits on the Node prototype and sees every node's). */
function statusText(node: AnyNode): string {
  const own = node.status.getCalls().filter((call: AnyNode) => call.thisValue === node);
  return own.at(-1)?.args[0]?.text ?? "";
}

describe("snapshot node (rtsp-in → snapshot, against GStreamer's RTSP server, SPS/PPS only in the SDP)", function () {
  this.timeout(60_000);
  let camera: GstRtspServer;
  let dir: string;

  before(async () => {
    requireTool("ffmpeg");
    dir = mkdtempSync(path.join(tmpdir(), "snapshot-node-"));
    helper.init(require.resolve("node-red"));
    camera = await GstRtspServer.start({
      codec: "h264",
      width: WIDTH,
      height: HEIGHT,
      spsInSdpOnly: true,
      keyint: 25,
    });
    await new Promise<void>((resolve) => helper.startServer(() => resolve()));
  });

  after(async () => {
    await camera?.stop();
    await new Promise<void>((resolve) => helper.stopServer(() => resolve()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  afterEach(async () => {
    await helper.unload();
  });

  /** rtsp-in → each snapshot node given; each node's answers collected. */
  async function load(snapshots: Record<string, unknown>[]): Promise<Map<string, AnyNode[]>> {
    const answers = new Map<string, AnyNode[]>();
    await helper.load(
      [rtspInNode, snapshotNode],
      [
        {
          id: "cam",
          type: "rtsp-in",
          name: "camera",
          url: camera.url,
          transport: "tcp",
          media: "video",
          startMode: "deploy",
          wires: [snapshots.map((s) => s.id), []],
        },
        ...snapshots.map((s) => ({ type: "snapshot", wires: [[`${s.id}-out`]], ...s })),
        ...snapshots.map((s) => ({ id: `${s.id}-out`, type: "helper" })),
      ],
    );
    for (const s of snapshots) {
      const list: AnyNode[] = [];
      answers.set(String(s.id), list);
      helper.getNode(`${s.id}-out`).on("input", (msg: AnyNode) => list.push(msg));
    }
    return answers;
  }

  it("answers any other message with the newest picture as a JPEG, keeping the request's properties", async () => {
    const answers = await load([{ id: "snap", name: "door" }]);
    const node = helper.getNode("snap");
    await waitFor(() => statusText(node).startsWith("ready"), 20_000, "ready");
    node.receive({ payload: "snapshot", chatId: 42, topic: "door" });
    await waitFor(() => answers.get("snap")!.length === 1, 10_000, "the JPEG");
    const msg = answers.get("snap")![0];
    assert.ok(Buffer.isBuffer(msg.payload));
    assert.equal(msg.chatId, 42);
    assert.equal(msg.topic, "door");
    assert.equal(msg.filename, undefined);
    assert.equal(msg.snapshot.width, WIDTH);
    assert.equal(msg.snapshot.height, HEIGHT);
    assert.ok(msg.snapshot.decodeMs > 0 && msg.snapshot.frameAgeMs >= 0, JSON.stringify(msg.snapshot));
    assert.equal(typeof msg.snapshot.stream, "string");
    const probe = await runTool(
      requireTool("ffprobe"),
      [
        "-v",
        "error",
        "-f",
        "image2pipe",
        "-i",
        "pipe:0",
        "-show_entries",
        "stream=codec_name,width,height",
        "-of",
        "csv=p=0",
      ],
      msg.payload,
    );
    assert.equal(probe.stdout.toString().trim(), `mjpeg,${WIDTH},${HEIGHT}`);
    await waitFor(() => statusText(node) === `ready · ${WIDTH}x${HEIGHT}`, 3000, "the size in the status");
  });

  it("a missing ffmpeg: the status says so at deploy, each request errors clearly, the flow runs on", async () => {
    const missing = path.join(dir, "no-ffmpeg-here");
    const answers = await load([
      { id: "bad", ffmpegPath: missing },
      { id: "good", quality: 50, maxWidth: 240 },
    ]);
    const bad = helper.getNode("bad");
    const good = helper.getNode("good");
    assert.equal(statusText(bad), "ffmpeg not found");
    await waitFor(() => statusText(good).startsWith("ready"), 20_000, "the other node ready");
    bad.receive({ payload: "snapshot" });
    const expected = `ffmpeg not found at "${missing}": install ffmpeg or set the path`;
    await waitFor(() => loggedErrors().some((m) => m.endsWith(expected)), 5000, "the error");
    assert.equal(statusText(bad), "ffmpeg not found");
    good.receive({ payload: "snapshot" });
    await waitFor(() => answers.get("good")!.length === 1, 10_000, "the other node's JPEG");
    assert.equal(answers.get("good")![0].snapshot.width, 240);
    assert.equal(answers.get("bad")!.length, 0);
  });

  it("coalesces a burst of requests into one ffmpeg, each request answered", async () => {
    const counter = path.join(dir, "spawns");
    const wrapper = path.join(dir, "counting-ffmpeg");
    writeFileSync(wrapper, `#!/bin/sh\necho run >> "${counter}"\nexec "${requireTool("ffmpeg")}" "$@"\n`);
    chmodSync(wrapper, 0o755);
    const answers = await load([{ id: "snap", ffmpegPath: wrapper }]);
    const node = helper.getNode("snap");
    await waitFor(() => statusText(node).startsWith("ready"), 20_000, "ready");
    for (let i = 0; i < 10; i++) node.receive({ payload: i });
    await waitFor(() => answers.get("snap")!.length === 10, 10_000, "ten answers");
    const spawns = readFileSync(counter, "utf8").trim().split("\n").length;
    assert.ok(spawns <= 2, `${spawns} ffmpeg runs for 10 requests`);
    assert.deepEqual(
      answers.get("snap")!.map((m: AnyNode) => m.snapshot !== undefined),
      Array(10).fill(true),
    );
  });

  it("redeploy leaves nothing: a running ffmpeg is killed, no timer stays", async () => {
    const pidFile = path.join(dir, "pid");
    const slow = path.join(dir, "slow-ffmpeg");
    writeFileSync(slow, `#!/bin/sh\necho $$ > "${pidFile}"\nexec sleep 30\n`);
    chmodSync(slow, 0o755);
    const timers = TimerLedger.open();
    try {
      await load([{ id: "snap", ffmpegPath: slow }]);
      const node = helper.getNode("snap");
      await waitFor(() => statusText(node).startsWith("ready"), 20_000, "ready");
      node.receive({ payload: "snapshot" });
      await waitFor(() => existsSync(pidFile), 5000, "the stand-in to start");
      const pid = Number(readFileSync(pidFile, "utf8"));
      await helper.unload();
      await waitFor(() => !alive(pid), 3000, "the child gone");
      assert.deepEqual(
        timers.pending().filter((t) => /snapshot/.test(t)),
        [],
      );
    } finally {
      timers.close();
    }
  });

  it("a slow or failing ffmpeg: the error says which, and so does the status", async () => {
    const slow = path.join(dir, "slower-ffmpeg");
    writeFileSync(slow, "#!/bin/sh\nexec sleep 30\n");
    chmodSync(slow, 0o755);
    const failing = path.join(dir, "failing-ffmpeg");
    writeFileSync(failing, "#!/bin/sh\necho 'Invalid data found when processing input' >&2\nexit 1\n");
    chmodSync(failing, 0o755);
    await load([
      { id: "slow", ffmpegPath: slow, timeout: 0.5 },
      { id: "failing", ffmpegPath: failing },
    ]);
    const slowNode = helper.getNode("slow");
    const failingNode = helper.getNode("failing");
    await waitFor(() => statusText(slowNode).startsWith("ready"), 20_000, "ready");
    await waitFor(() => statusText(failingNode).startsWith("ready"), 20_000, "ready");
    slowNode.receive({ payload: "snapshot" });
    failingNode.receive({ payload: "snapshot" });
    await waitFor(
      () => loggedErrors().some((m) => m.endsWith("ffmpeg gave no picture within 0.5 s and was stopped")),
      5000,
      "the timeout",
    );
    await waitFor(
      () =>
        loggedErrors().some((m) =>
          m.endsWith(
            "the picture could not be decoded: ffmpeg failed: Invalid data found when processing input",
          ),
        ),
      5000,
      "the failure",
    );
    await waitFor(() => statusText(slowNode) === "last snapshot timed out", 3000, "the timeout status");
    await waitFor(
      () => statusText(failingNode) === "last snapshot could not be decoded",
      3000,
      "the failure status",
    );
  });

  it("says what it waits for, and refuses single RTP packets", async () => {
    await helper.load(snapshotNode, [{ id: "snap", type: "snapshot", wires: [[]] }]);
    const node = helper.getNode("snap");
    assert.equal(statusText(node), "waiting for a stream");
    node.receive({ payload: "snapshot" });
    await waitFor(
      () => loggedErrors().some((m) => /no picture yet: waiting for the camera's first keyframe/.test(m)),
      5000,
      "no-keyframe",
    );
    node.receive({ payload: Buffer.from([0x80, 0x60, 0, 1]) });
    await waitFor(
      () => loggedErrors().some((m) => /single RTP packets are not taken/.test(m)),
      5000,
      "packet",
    );
  });

  it("warns about bad settings and takes the defaults", async () => {
    await helper.load(snapshotNode, [
      { id: "snap", type: "snapshot", quality: 0, maxWidth: 5, timeout: 99, ffmpegPath: "  ", wires: [[]] },
    ]);
    const node = helper.getNode("snap");
    const warned = node.warn
      .getCalls()
      .filter((c: AnyNode) => c.thisValue === node)
      .map((c: AnyNode) => String(c.args[0]));
    assert.deepEqual(warned, [
      "JPEG quality must be 1–100; using 80",
      "max width must be 16–8192 pixels; the picture keeps the camera's size",
      "timeout must be more than 0 and at most 60 seconds; using 5",
    ]);
  });
});
