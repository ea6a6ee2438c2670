import assert from "node:assert/strict";
import helper from "node-red-node-test-helper";
import { DemoCamera } from "../../src/demo/demo-camera";
import { dropMalformedPackets } from "../../src/rtp/packet-check";
import { decodeVideo } from "../helpers/decode";
import { depacketizeH264 } from "../helpers/depacketize";
import {
  exampleNodes,
  exampleTestHooks,
  type FlowNode,
  serveHttpNode,
  streamArrives,
  viewerOf,
} from "../helpers/example-flow";
import { framesByMarker, rtpPacket, videoMedia } from "../helpers/rtp-fixtures";
import { waitFor } from "../helpers/wait";
import { MALFORMED_CASES, type MalformedCase } from "./malformed-rtp-fixtures";

// Malformed RTP into the rtp-fanout and webrtc-out nodes, as single packets (msg.payload Buffer) and
// inside access-unit messages (msg.payload Buffer[]): dropped and counted, never an error, and a
// viewer playing at the time plays on. Run inside `unshare --net` (test/run-all.sh does).

const H264_CASES = MALFORMED_CASES.filter((c) => c.codec === "H264");
const DROPPED = H264_CASES.reduce((sum, c) => sum + c.packets.length - c.keep.length, 0);

/** This node's error calls (the helper's spy sits on the Node prototype and sees every node's). */
function errors(node: FlowNode): string[] {
  return node.error
    .getCalls()
    .filter((call: FlowNode) => call.thisValue === node)
    .map((call: FlowNode) => String(call.args[0]));
}

/** A case's packets with a timestamp of their own, so that each case is a frame of its own. */
function retimed(c: MalformedCase, timestamp: number): Buffer[] {
  return c.packets.map((packet) => {
    const copy = Buffer.from(packet);
    if (copy.length >= 8) copy.writeUInt32BE(timestamp, 4);
    return copy;
  });
}

/**
 * The malformed H.264 cases as media messages of `stream` (an rtsp-in message's StreamInfo). Those
 * with nothing usable only, for a live stream: a usable packet of a case holds made-up slice data.
 */
function malformedMessages(stream: unknown, cases = H264_CASES): FlowNode[] {
  return cases.map((c, i) => ({
    topic: "garbage",
    payload: retimed(c, 0x7000_0000 + i * 3000),
    rtp: { kind: "video", mid: "0", timestamp: 0x7000_0000 + i * 3000, keyframe: false },
    stream,
  }));
}

function fanoutNode(id: string, wires: string[][], fields: Record<string, unknown> = {}): FlowNode {
  return {
    id,
    type: "rtp-fanout",
    name: `${id} fanout`,
    statsInterval: 0.2,
    gates: [{ open: true }],
    wires,
    ...fields,
  };
}

/** Until the node's stats message (on `sink`) reports at least `count` malformed packets; returns the count. */
async function malformedReported(sink: FlowNode[], count: number): Promise<number> {
  const reported = () =>
    sink.filter((m) => m.payload?.event === "stats").at(-1)?.payload.stream.malformedPackets;
  await waitFor(
    () => (reported() ?? 0) >= count,
    5000,
    `stats with ${count} malformed packets (got ${reported()})`,
  );
  return reported();
}

describe("malformed RTP into the nodes", function () {
  this.timeout(60_000);
  const viewers = exampleTestHooks();

  it("rtp-fanout: malformed packets, single and in frames, are dropped, counted in its stats, never an error", async () => {
    await helper.load(exampleNodes(), [
      fanoutNode("frames", [["framesOut"], ["framesEvents"]]),
      fanoutNode("packets", [["packetsOut"], ["packetsEvents"]]),
      ...["framesOut", "framesEvents", "packetsOut", "packetsEvents"].map((id) => ({ id, type: "helper" })),
    ]);
    const got: Record<string, FlowNode[]> = {};
    for (const id of ["framesOut", "framesEvents", "packetsOut", "packetsEvents"]) {
      const list: FlowNode[] = [];
      got[id] = list;
      helper.getNode(id).on("input", (msg: FlowNode) => list.push(msg));
    }
    const stream = Object.freeze({ id: "cam", session: 1, media: [videoMedia("H264")] });
    const key = rtpPacket({ seq: 1, ts: 0, payload: "6588 0011", marker: true, ssrc: 0xcafe });
    const frames = helper.getNode("frames");
    frames.receive({
      topic: "cam",
      payload: [key],
      rtp: { kind: "video", mid: "0", timestamp: 0, keyframe: true },
      stream,
    });
    for (const msg of malformedMessages(stream)) frames.receive(msg);

    const packets = helper.getNode("packets");
    packets.receive({
      payload: rtpPacket({ seq: 1, ts: 0, payload: "6588 0011", marker: true, ssrc: 0xcafe }),
    });
    for (const [i, c] of H264_CASES.entries())
      for (const packet of retimed(c, 3000 + i * 3000)) packets.receive({ payload: packet });
    packets.receive({ payload: rtpPacket({ seq: 9, ts: 999_999, payload: "4188", ssrc: 0xcafe }) }); // ends the last frame

    assert.equal(await malformedReported(got.framesEvents!, DROPPED), DROPPED);
    assert.equal(await malformedReported(got.packetsEvents!, DROPPED), DROPPED);
    const kept = H264_CASES.reduce((sum, c) => sum + c.keep.length, 0);
    const delivered = (id: string) => got[id]!.flatMap((m) => m.payload as Buffer[]);
    assert.equal(delivered("framesOut").length, 1 + kept, "the keyframe and the usable packets");
    assert.equal(delivered("packetsOut").length, 1 + kept);
    for (const id of ["framesOut", "packetsOut"]) {
      assert.equal(
        dropMalformedPackets(delivered(id).slice(1), "H264").malformed,
        0,
        `${id}: only usable packets`,
      );
    }
    assert.deepEqual(errors(frames), []);
    assert.deepEqual(errors(packets), []);
  });

  it("a werift viewer of webrtc-out plays on after malformed RTP into rtp-fanout and webrtc-out", async () => {
    const camera = new DemoCamera({ port: 0 });
    const { url } = await camera.start();
    try {
      await helper.load(exampleNodes(), [
        {
          id: "cam",
          type: "rtsp-in",
          name: "demo",
          url,
          transport: "tcp",
          media: "video",
          startMode: "deploy",
          wires: [["fan", "tap"], []],
        },
        fanoutNode("fan", [["out"], ["fanEvents"]]),
        {
          id: "out",
          type: "webrtc-out",
          name: "",
          path: "cam1",
          statsInterval: 0,
          hostAddresses: "127.0.0.1",
          wires: [[]],
        },
        { id: "tap", type: "helper" },
        { id: "fanEvents", type: "helper" },
      ]);
      const tapped: FlowNode[] = [];
      helper.getNode("tap").on("input", (msg: FlowNode) => tapped.push(msg));
      const fanEvents: FlowNode[] = [];
      helper.getNode("fanEvents").on("input", (msg: FlowNode) => fanEvents.push(msg));
      const server = await serveHttpNode();
      await streamArrives(server, "/cam1");
      const viewer = await viewerOf(server, "/cam1");
      viewers.push(viewer);
      await waitFor(() => viewer.packets.length >= 100, 15_000, "video before the garbage");

      // The live stream's own StreamInfo (as a deep clone, as Node-RED hands it to a second wire).
      const live = tapped.at(-1)!.stream;
      const fan = helper.getNode("fan");
      const out = helper.getNode("out");
      const unusable = H264_CASES.filter((c) => c.keep.length === 0);
      for (const msg of malformedMessages(live, unusable)) {
        fan.receive(msg);
        out.receive({ ...msg, payload: (msg.payload as Buffer[]).map((b) => Buffer.from(b)) });
      }
      for (const c of unusable) {
        for (const packet of c.packets.filter((p) => p.length < 12 || p[0]! >> 6 !== 2)) {
          fan.receive({ payload: packet });
          out.receive({ payload: packet });
        }
      }
      const before = viewer.packets.length;
      await waitFor(() => viewer.packets.length >= before + 150, 15_000, "video after the garbage");

      const dropped = unusable.reduce((sum, c) => sum + c.packets.length, 0);
      assert.ok((await malformedReported(fanEvents, dropped)) >= dropped);
      assert.deepEqual(errors(fan), []);
      assert.deepEqual(errors(out), []);
      // Nothing malformed reached the viewer, and what it got decodes without an error.
      for (const frame of framesByMarker(viewer.packets)) {
        assert.equal(
          dropMalformedPackets(frame, "H264").malformed,
          0,
          "a malformed packet reached the viewer",
        );
      }
      const decoded = await decodeVideo(depacketizeH264(viewer.packets), "h264");
      assert.deepEqual(decoded.decodeErrors, []);
      assert.ok(decoded.frames >= 20, `${decoded.frames} frames decoded`);
    } finally {
      await helper.unload();
      await camera.close();
    }
  });
});
