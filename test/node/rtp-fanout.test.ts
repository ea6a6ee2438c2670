import assert from "node:assert/strict";
import helper from "node-red-node-test-helper";
import { decodeVideo } from "../helpers/decode";
import { depacketizeH264, h264NalType, h264NalUnits } from "../helpers/depacketize";
import { GstRtspServer } from "../helpers/gst-server";
import { withCatalog } from "../helpers/node-catalog";
import { rtpPacket, videoMedia } from "../helpers/rtp-fixtures";
import { TimerLedger } from "../helpers/timer-ledger";
import { waitFor } from "../helpers/wait";

// biome-ignore lint/suspicious/noExplicitAny: Node-RED's runtime objects are untyped in tests
type AnyNode = any;

const rtpFanoutNode = withCatalog("rtp-fanout", require("../../../nodes/rtp-fanout.js"));
const rtspInNode = withCatalog("rtsp-in", require("../../../nodes/rtsp-in.js"));

/** The package declares Node-RED >= 4.1: every node test runs on the oldest supported runtime and the newest. */
const RUNTIMES = ["node-red", "node-red-4"];

const SPS = Buffer.from("6742001f95a814016e40", "hex");
const PPS = Buffer.from("68ce3c80", "hex");

const rtp = (seq: number, ts: number, payload: Buffer, marker = true, pt = 96): Buffer =>
  rtpPacket({ seq, ts, payload, marker, pt, ssrc: 0xcafe });

const STREAM = Object.freeze({
  id: "cam",
  session: 1,
  media: [
    videoMedia("H264", [SPS, PPS]),
    { mid: "1", kind: "audio", codec: "PCMA", payloadType: 8, clockRate: 8000, fmtp: {}, relayable: true },
  ],
});

/** §2 media messages as rtsp-in sends them. */
class Frames {
  private seq = 0;
  private audioSeq = 0;
  private ts = 0;
  video(keyframe: boolean) {
    this.ts += 3600;
    const nal = keyframe ? Buffer.from("65888400", "hex") : Buffer.from("419a2438", "hex");
    return {
      topic: "cam",
      payload: [rtp(this.seq++, this.ts, nal)],
      rtp: { kind: "video", mid: "0", timestamp: this.ts, keyframe },
      stream: STREAM,
    };
  }
  audio() {
    return {
      topic: "cam",
      payload: [rtp(this.audioSeq++, this.ts, Buffer.from([0xd5]), true, 8)],
      rtp: { kind: "audio", mid: "1", timestamp: this.ts, keyframe: false },
      stream: STREAM,
    };
  }
}

function fanout(fields: Record<string, unknown> = {}, outputs = 3) {
  return {
    id: "fan",
    type: "rtp-fanout",
    name: "door",
    statsInterval: 0,
    ...fields,
    wires: Array.from({ length: outputs }, (_, i) => [`o${i + 1}`]),
  };
}

function sinks(count: number) {
  return Array.from({ length: count }, (_, i) => ({ id: `o${i + 1}`, type: "helper" }));
}

function collect(id: string): AnyNode[] {
  const messages: AnyNode[] = [];
  helper.getNode(id).on("input", (msg: AnyNode) => messages.push(msg));
  return messages;
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

for (const runtime of RUNTIMES) {
  describe(`rtp-fanout node (${runtime} ${require(`${runtime}/package.json`).version})`, function () {
    this.timeout(20_000);

    before(async () => {
      helper.init(require.resolve(runtime));
      await new Promise<void>((resolve) => helper.startServer(() => resolve()));
    });

    after(async () => {
      await new Promise<void>((resolve) => helper.stopServer(() => resolve()));
    });

    afterEach(async () => {
      await helper.unload();
    });

    it("hands two outputs the very same Buffers: a shallow message each, no copy", async () => {
      await helper.load(rtpFanoutNode, [fanout(), ...sinks(3)]);
      const one = collect("o1");
      const two = collect("o2");
      const frames = new Frames();
      const key = frames.video(true);
      const next = frames.video(false);
      helper.getNode("fan").receive(key);
      helper.getNode("fan").receive(next);
      await waitFor(() => one.length === 2 && two.length === 2, 2000, "both outputs");
      assert.notEqual(one[1], two[1], "each output its own message");
      assert.equal(one[1].payload[0], next.payload[0], "output 1 has the input's Buffer");
      assert.equal(two[1].payload[0], one[1].payload[0], "output 2 has the same Buffer object");
      assert.equal(
        one[0].payload.at(-1),
        key.payload[0],
        "the keyframe's own packet, after the parameter sets",
      );
      assert.equal(two[0].payload.at(-1), key.payload[0]);
      assert.equal(one[0].stream, two[0].stream);
      assert.equal(one[0].rtp.keyframe, true);
    });

    it("opens and closes gates by msg.topic and msg.output; a closed gate passes nothing", async () => {
      await helper.load(rtpFanoutNode, [fanout({ gates: [{ open: false }, { open: true }] }), ...sinks(3)]);
      const node = helper.getNode("fan");
      const one = collect("o1");
      const two = collect("o2");
      const events = collect("o3");
      const frames = new Frames();
      node.receive(frames.video(true));
      node.receive({ topic: "open", output: 1 });
      node.receive(frames.video(false)); // output 1 waits for a keyframe
      node.receive(frames.video(true));
      node.receive({ topic: "close", output: "2" });
      node.receive(frames.video(false));
      await settle();
      assert.deepEqual(
        one.map((m) => m.rtp.keyframe),
        [true, false],
      );
      assert.deepEqual(
        two.map((m) => m.rtp.keyframe),
        [true, false, true],
      );
      assert.deepEqual(
        events.map((m) => m.payload),
        [
          { event: "opened", output: 1, cause: "command" },
          { event: "closed", output: 2, cause: "command" },
        ],
      );
      await waitFor(() => /^1 of 2 open/.test(node.status.lastCall?.args[0]?.text ?? ""), 3000, "status");
    });

    it("closes a gate by itself after its seconds, or msg.seconds; all gates when msg.output is left out", async () => {
      await helper.load(rtpFanoutNode, [
        fanout({ gates: [{ open: false, autoClose: 0.2 }, { open: false }] }),
        ...sinks(3),
      ]);
      const node = helper.getNode("fan");
      const events = collect("o3");
      node.receive({ topic: "open" });
      await waitFor(() => events.length === 2, 2000, "two opens");
      node.receive({ topic: "open", output: [2], seconds: 0.4 });
      await waitFor(() => events.length === 4, 3000, "two closes");
      assert.deepEqual(
        events.map((m) => [m.payload.event, m.payload.output, m.payload.cause]),
        [
          ["opened", 1, "command"],
          ["opened", 2, "command"],
          ["closed", 1, "timer"],
          ["closed", 2, "timer"],
        ],
      );
    });

    it("filters media per output", async () => {
      await helper.load(rtpFanoutNode, [
        fanout({ gates: [{ filter: "video" }, { filter: "audio" }] }),
        ...sinks(3),
      ]);
      const node = helper.getNode("fan");
      const one = collect("o1");
      const two = collect("o2");
      const frames = new Frames();
      node.receive(frames.video(true));
      node.receive(frames.audio());
      node.receive(frames.video(false));
      await settle();
      assert.deepEqual(
        one.map((m) => m.rtp.kind),
        ["video", "video"],
      );
      assert.deepEqual(
        two.map((m) => m.rtp.kind),
        ["audio"],
      );
    });

    it("pre-roll: an opened gate gets the frames since the last keyframe first, in order", async () => {
      await helper.load(rtpFanoutNode, [
        fanout({ gates: [{ open: false, preRoll: "gop" }] }, 2),
        ...sinks(2),
      ]);
      const node = helper.getNode("fan");
      const one = collect("o1");
      const frames = new Frames();
      const sent = [
        frames.video(true),
        frames.video(false),
        frames.video(true),
        frames.audio(),
        frames.video(false),
      ];
      for (const msg of sent) node.receive(msg);
      await settle();
      node.receive({ topic: "open", output: 1 });
      const live = frames.video(false);
      node.receive(live);
      await waitFor(() => one.length === 4, 2000, "pre-roll and live");
      assert.deepEqual(
        one.map((m) => m.payload.at(-1)),
        [sent[2]!.payload[0], sent[3]!.payload[0], sent[4]!.payload[0], live.payload[0]],
      );
    });

    it("sends stats on its last output: fps, kbps, keyframe interval, gaps, per output", async () => {
      await helper.load(rtpFanoutNode, [fanout({ statsInterval: 0.3 }), ...sinks(3)]);
      const node = helper.getNode("fan");
      const events = collect("o3");
      const frames = new Frames();
      for (let i = 0; i < 5; i++) node.receive(frames.video(i === 0));
      await waitFor(() => events.some((m) => m.payload.event === "stats"), 3000, "stats");
      const stats = events.find((m) => m.payload.event === "stats").payload;
      assert.equal(stats.stream.frames, 5);
      assert.equal(stats.stream.gaps, 0);
      assert.deepEqual(
        stats.outputs.map((o: AnyNode) => [o.output, o.open, o.frames]),
        [
          [1, true, 5],
          [2, true, 5],
        ],
      );
    });

    it("answers a bad command with an error a catch node sees, and keeps running", async () => {
      await helper.load(rtpFanoutNode, [fanout(), ...sinks(3)]);
      const node = helper.getNode("fan");
      node.receive({ topic: "open", output: 7 });
      await settle();
      const errors = helper
        .log()
        .args.filter((a: AnyNode[]) => a[0]?.level === 20)
        .map((a: AnyNode[]) => String(a[0].msg));
      assert.ok(
        errors.some((m: string) => /msg\.output 7 is not an output of this node: give 1–2/.test(m)),
        errors.join("\n"),
      );
      const one = collect("o1");
      node.receive(new Frames().video(true));
      await waitFor(() => one.length === 1, 2000, "media after the error");
    });

    it("leaves no timer behind on redeploy: status, stats and a gate's close timer all end with the node", async () => {
      const timers = TimerLedger.open();
      try {
        await helper.load(rtpFanoutNode, [
          fanout({ statsInterval: 60, gates: [{ open: false, autoClose: 30 }] }, 2),
          ...sinks(2),
        ]);
        const events = collect("o2");
        helper.getNode("fan").receive({ topic: "open" });
        await waitFor(() => events.length === 1, 2000, "the open");
        assert.ok(
          timers.pending().length >= 3,
          `the status and stats intervals and the gate's close timer are armed: ${timers.pending().join("; ")}`,
        );
        await helper.unload();
        assert.deepEqual(timers.pending(), [], "timers the unloaded node left armed");
      } finally {
        timers.close();
      }
    });
  });
}

describe("rtp-fanout with a camera that sends SPS/PPS only in its SDP (gst-rtsp-server)", function () {
  this.timeout(40_000);
  let camera: GstRtspServer;

  before(async () => {
    helper.init(require.resolve("node-red"));
    camera = await GstRtspServer.start({ codec: "h264", spsInSdpOnly: true, keyint: 25 });
    await new Promise<void>((resolve) => helper.startServer(() => resolve()));
  });

  after(async () => {
    await camera.stop();
    await new Promise<void>((resolve) => helper.stopServer(() => resolve()));
  });

  afterEach(() => helper.unload());

  it("an output opened mid-stream starts at a keyframe with the parameter sets in-band, and decodes", async () => {
    await helper.load(
      [rtspInNode, rtpFanoutNode],
      [
        { id: "cam", type: "rtsp-in", url: camera.url, media: "video", wires: [["fan"], []] },
        fanout({ gates: [{ open: false }, { open: true }] }),
        ...sinks(3),
      ],
    );
    const node = helper.getNode("fan");
    const opened = collect("o1");
    const always = collect("o2");
    await waitFor(() => always.length >= 10, 20_000, "frames on the open output");
    node.receive({ topic: "open", output: 1 });
    await waitFor(() => opened.length >= 60, 20_000, "60 frames after the open");
    const first = opened[0];
    assert.equal(first.rtp.keyframe, true, "starts at a keyframe");
    const types = h264NalUnits(first.payload).map(h264NalType);
    assert.deepEqual(types.slice(0, 2), [7, 8], `SPS and PPS lead the keyframe, got ${types.join(",")}`);
    assert.ok(types.includes(5), "then the IDR");
    const decoded = await decodeVideo(depacketizeH264(opened.flatMap((m) => m.payload)), "h264");
    assert.deepEqual(decoded.decodeErrors, []);
    assert.ok(decoded.frames >= 50, `${decoded.frames} frames decoded`);
  });
});
