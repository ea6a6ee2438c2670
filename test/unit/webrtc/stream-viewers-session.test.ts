import "../../helpers/loopback-namespace";
import assert from "node:assert/strict";
import type { AccessUnit, StreamInfo } from "../../../src/rtp/stream-info";
import { StreamViewers } from "../../../src/webrtc/stream-viewers";

const { cloneMessage } = (require("@node-red/util") as { util: { cloneMessage<T>(msg: T): T } }).util;

function stream(session: number): StreamInfo {
  return Object.freeze({
    id: "cam",
    session,
    media: Object.freeze([
      Object.freeze({
        mid: "0",
        kind: "video" as const,
        codec: "H264",
        payloadType: 96,
        clockRate: 90000,
        fmtp: Object.freeze({}),
        relayable: true,
      }),
    ]),
  });
}

/** One IDR slice in one RTP packet (marker set): a whole keyframe. */
function keyframe(sequence: number, timestamp: number): AccessUnit {
  const packet = Buffer.alloc(16);
  packet[0] = 0x80;
  packet[1] = 0x80 | 96;
  packet.writeUInt16BE(sequence, 2);
  packet.writeUInt32BE(timestamp, 4);
  packet.writeUInt32BE(0x1234, 8);
  packet.set([0x65, 0x88, 0x84, 0x00], 12);
  return { kind: "video", mid: "0", timestamp, keyframe: true, packets: [packet] };
}

describe("StreamViewers: source sessions", () => {
  it("takes a clone of the StreamInfo (Node-RED deep-clones messages on fan-out) as the same session", async () => {
    const viewers = new StreamViewers({
      maxViewers: 1,
      ice: { iceServers: [], additionalHostAddresses: [] },
      audio: false,
      fastStart: true,
    });
    const first = stream(1);
    viewers.push(keyframe(1, 3000), first);
    // What Node-RED does to a message sent down a second wire.
    const cloned = cloneMessage({ payload: [], stream: first }).stream;
    assert.notEqual(cloned, first);
    viewers.push(keyframe(2, 6000), cloned);
    viewers.push(keyframe(3, 9000), structuredClone(first));
    assert.equal(viewers.stats().stream.sourceSessions, 1);
    viewers.push(keyframe(4, 12000), stream(2));
    assert.equal(viewers.stats().stream.sourceSessions, 2, "a new session number is a new session");
    await viewers.close();
  });

  it("refuses a maxPacketSize the normaliser cannot take when built, not when the stream arrives", async () => {
    const base = {
      maxViewers: 1,
      ice: { iceServers: [], additionalHostAddresses: [] },
      audio: false,
    };
    for (const bad of [15, 1200.5, 70_000])
      assert.throws(() => new StreamViewers({ ...base, maxPacketSize: bad }), RangeError, String(bad));
    const viewers = new StreamViewers({ ...base, maxPacketSize: 1400 });
    viewers.push(keyframe(1, 3000), stream(1));
    assert.equal(viewers.stats().stream.sourceSessions, 1);
    await viewers.close();
  });
});
