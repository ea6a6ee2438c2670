import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import type { RtpPacket } from "werift";
import { type FramePacket, framePackets } from "../../../src/webrtc/frame-packets";
import type { OutputFrame } from "../../../src/webrtc/stream-normalizer";
import { type PacketWriter, type RtpSink, ViewerTrack } from "../../../src/webrtc/viewer-track";

/** A normalized packet: 12-byte header (PT 96, SSRC 0), then `size` payload bytes. */
function packet(sequence: number, timestamp: number, marker: boolean, size = 100): Buffer {
  const out = Buffer.alloc(12 + size, 0xab);
  out.writeUInt8(0x80, 0);
  out.writeUInt8((marker ? 0x80 : 0) | 96, 1);
  out.writeUInt16BE(sequence, 2);
  out.writeUInt32BE(timestamp, 4);
  out.writeUInt32BE(0, 8);
  return out;
}

let nextSequence = 1000;
function frame(timestamp: number, keyframe: boolean, packets = 3, size = 100): OutputFrame {
  return {
    kind: "video",
    mid: "0",
    keyframe,
    timestamp,
    packets: Array.from({ length: packets }, (_, i) =>
      packet(nextSequence++, timestamp, i === packets - 1, size),
    ),
    receivedAt: 0,
    sourceSession: 1,
  };
}

/** Records what werift would be given; `hold` keeps every send pending (a socket that does not drain). */
class Sink implements RtpSink {
  readonly sent: RtpPacket[] = [];
  constructor(private readonly hold = false) {}
  sendRtp(p: RtpPacket): Promise<void> {
    // As werift does: the object is the track's to reuse, so what is sent is a clone taken now.
    this.sent.push(p.clone());
    return this.hold ? new Promise(() => {}) : Promise.resolve();
  }
}

describe("ViewerTrack", () => {
  it("starts at a keyframe and numbers its packets itself, continuously", () => {
    const sink = new Sink();
    const track = new ViewerTrack(sink, "video");
    assert.equal(track.send(frame(3000, false)), false);
    assert.equal(sink.sent.length, 0);
    assert.equal(track.send(frame(6000, true)), true);
    nextSequence += 50; // frames the stream skipped: the viewer must not see the hole
    assert.equal(track.send(frame(9000, false)), true);
    const sequences = sink.sent.map((p) => p.header.sequenceNumber);
    for (let i = 1; i < sequences.length; i++)
      assert.equal(sequences[i], ((sequences[i - 1] as number) + 1) & 0xffff);
    assert.deepEqual(
      sink.sent.map((p) => [p.header.timestamp, p.header.marker, p.payload.length]),
      [
        [6000, false, 100],
        [6000, false, 100],
        [6000, true, 100],
        [9000, false, 100],
        [9000, false, 100],
        [9000, true, 100],
      ],
    );
    assert.equal(track.counters.framesSent, 2);
    assert.equal(track.counters.packetsSent, 6);
    assert.equal(track.counters.bytesSent, 6 * 112);
  });

  it("gives a frame the timestamp it is told to", () => {
    const sink = new Sink();
    const track = new ViewerTrack(sink, "video");
    track.send(frame(90_000, true), 4242);
    assert.deepEqual(
      sink.sent.map((p) => p.header.timestamp),
      [4242, 4242, 4242],
    );
  });

  it("drops a frame that does not fit in its queue, then waits for the next keyframe", () => {
    const sink = new Sink(true);
    const track = new ViewerTrack(sink, "video", { maxQueuedPackets: 7 });
    assert.equal(track.send(frame(0, true)), true);
    assert.equal(track.send(frame(3000, false)), true);
    assert.equal(track.packetsPending, 6);
    assert.equal(track.send(frame(6000, false)), false, "9 packets would be pending");
    assert.equal(track.counters.framesDropped, 1);
    assert.equal(track.waitingForKeyframe, true);
    assert.equal(track.fits(1), true);
    assert.equal(track.send(frame(6000, false, 1)), false, "after a drop only a keyframe restarts it");
    assert.equal(sink.sent.length, 6);
  });

  it("sends a live frame at once, however big", () => {
    const sink = new Sink();
    const track = new ViewerTrack(sink, "video", { burstBytes: 3000, bytesPerSecond: 1_000_000 });
    track.send(frame(0, true, 20, 988));
    assert.equal(sink.sent.length, 20);
  });

  it("paces a replayed burst: what exceeds the burst size goes out later, in order", async () => {
    const sink = new Sink();
    const track = new ViewerTrack(sink, "video", { burstBytes: 3000, bytesPerSecond: 1_000_000 });
    track.send(frame(0, true, 20, 988), 0, true); // 20 packets of 1000 bytes
    // A live frame behind the replay keeps its place.
    track.send(frame(3000, false, 1, 988));
    const immediately = sink.sent.length;
    assert.ok(immediately >= 2 && immediately <= 3, `${immediately} packets at once`);
    // 17 KB more at 1 MB/s: about 17 ms; a loaded machine may take longer, not shorter.
    const deadline = performance.now() + 2000;
    while (sink.sent.length < 21 && performance.now() < deadline) await sleep(5);
    assert.equal(sink.sent.length, 21);
    assert.equal(sink.sent[20]?.header.timestamp, 3000);
    const sequences = sink.sent.map((p) => p.header.sequenceNumber);
    assert.deepEqual(
      sequences,
      sequences.map((_, i) => ((sequences[0] as number) + i) & 0xffff),
    );
  });

  it("sends nothing after stop()", async () => {
    const sink = new Sink();
    const track = new ViewerTrack(sink, "video", { burstBytes: 1500, bytesPerSecond: 1_000_000 });
    track.send(frame(0, true, 10, 988), 0, true);
    const before = sink.sent.length;
    track.stop();
    await sleep(30);
    assert.equal(sink.sent.length, before);
    assert.equal(track.send(frame(3000, true)), false);
  });

  it("closes its writer when it stops, once", () => {
    let closes = 0;
    const writer: PacketWriter = {
      write: () => true,
      close: () => {
        closes++;
      },
    };
    const track = new ViewerTrack(new Sink(), "video", {}, writer);
    track.send(frame(0, true, 2));
    assert.equal(closes, 0);
    track.stop();
    track.stop();
    assert.equal(closes, 1);
  });

  it("hands packets to its writer first, and to werift's sender only when the writer declines", async () => {
    const sink = new Sink();
    const written: { packet: FramePacket; sequence: number; timestamp: number }[] = [];
    let accept = false;
    const writer: PacketWriter = {
      write(packet, sequence, timestamp) {
        if (accept) written.push({ packet, sequence, timestamp });
        return accept;
      },
    };
    const track = new ViewerTrack(sink, "video", {}, writer);
    track.send(frame(0, true, 2));
    accept = true;
    track.send(frame(3000, false, 3));
    assert.equal(sink.sent.length, 2);
    assert.equal(written.length, 3);
    await sleep(0);
    assert.equal(track.packetsPending, 0, "a written packet is not in flight");
    const first = written[0];
    assert.ok(first);
    assert.equal(first.sequence, ((sink.sent[1]?.header.sequenceNumber ?? 0) + 1) & 0xffff);
    assert.equal(first.timestamp, 3000);
    assert.equal(first.packet.payload.length, 100);
    assert.equal(first.packet.payload[0], 0xab);
    assert.equal(first.packet.payload.buffer, first.packet.wire.buffer, "a view, not a copy");
    assert.deepEqual(
      written.map((p) => p.packet.marker),
      [false, false, true],
    );
  });

  it("parses a frame once: every viewer's writer gets the same packet objects, each its own numbers", () => {
    const seen: { packet: FramePacket; sequence: number }[][] = [[], []];
    const tracks = seen.map(
      (into) =>
        new ViewerTrack(
          new Sink(),
          "video",
          {},
          {
            write(packet, sequence) {
              into.push({ packet, sequence });
              return true;
            },
          },
        ),
    );
    const shared = frame(9000, true, 4);
    for (const track of tracks) assert.equal(track.send(shared), true);
    const [a, b] = seen as [
      { packet: FramePacket; sequence: number }[],
      { packet: FramePacket; sequence: number }[],
    ];
    assert.equal(a.length, 4);
    for (const [i, entry] of a.entries()) assert.equal(entry.packet, b[i]?.packet);
    assert.deepEqual(
      framePackets(shared),
      a.map((entry) => entry.packet),
    );
    assert.equal(
      a.every((entry, i) => entry.packet.wire === shared.packets[i]),
      true,
    );
  });

  it("leaves out packets without a payload and unparsable ones, and keeps each packet's timestamp offset", () => {
    const audio: OutputFrame = {
      ...frame(1000, false, 1),
      kind: "audio",
      packets: [packet(1, 1000, false, 0), Buffer.from([0x00, 0x01]), packet(2, 1160, false, 20)],
    };
    const packets = framePackets(audio);
    assert.equal(packets.length, 1);
    assert.equal(packets[0]?.timestampDelta, 160);
    assert.equal(packets[0]?.payload.length, 20);
    const sink = new Sink();
    const track = new ViewerTrack(sink, "audio");
    assert.equal(track.send(audio, 50_000), true);
    assert.deepEqual(
      sink.sent.map((p) => p.header.timestamp),
      [50_160],
    );
  });

  it("sends audio without waiting for anything", () => {
    const sink = new Sink();
    const track = new ViewerTrack(sink, "audio");
    const audio: OutputFrame = { ...frame(160, false, 1), kind: "audio" };
    assert.equal(track.send(audio), true);
    assert.equal(sink.sent.length, 1);
  });
});
