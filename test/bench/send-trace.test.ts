import assert from "node:assert/strict";
import dgram from "node:dgram";
import { once } from "node:events";
import { datagramSender, dgramHandle } from "../../src/webrtc/udp-send-now";
import { SendTrace } from "./send-trace";

// The bench's relay delay ends where the server hands a viewer's packet to the kernel.

function rtp(seq: number, timestamp: number, secondByte = 0x60): Buffer {
  const packet = Buffer.alloc(100);
  packet[0] = 0x80;
  packet[1] = secondByte;
  packet.writeUInt16BE(seq, 2);
  packet.writeUInt32BE(timestamp, 4);
  return packet;
}

async function boundSocket(): Promise<dgram.Socket> {
  const socket = dgram.createSocket("udp4");
  socket.bind(0, "127.0.0.1");
  await once(socket, "listening");
  return socket;
}

describe("SendTrace", () => {
  it("stamps the RTP sent to traced ports as it goes to the kernel, and leaves sockets as they were", async () => {
    const [traced, other, sender, relay] = await Promise.all([
      boundSocket(),
      boundSocket(),
      boundSocket(),
      boundSocket(),
    ]);
    const send = dgram.Socket.prototype.send;
    const handlePrototype = Object.getPrototypeOf(dgramHandle(sender)) as { send: unknown };
    const handleSend = handlePrototype.send;
    const relaySend = datagramSender(relay);
    const trace = new SendTrace();
    try {
      trace.start([traced.address().port]);
      sender.send(rtp(1, 3000), traced.address().port, "127.0.0.1");
      sender.send(rtp(2, 3000, 0x80 | 96), traced.address().port, "127.0.0.1");
      sender.send(rtp(3, 6000, 200), traced.address().port, "127.0.0.1"); // RTCP SR
      sender.send(rtp(4, 6000), other.address().port, "127.0.0.1");
      // The relay's own sender (its first datagram through dgram, the next straight to the handle).
      relaySend(rtp(10, 9000), traced.address().port, "127.0.0.1");
      relaySend(rtp(11, 9000), traced.address().port, "127.0.0.1");
      // Node resolves the address of a socket without a connected peer on the next tick: the stamp
      // is taken after that, when the datagram is handed over, not in the send() call.
      const afterCalls = process.hrtime.bigint();
      await new Promise((resolve) => setImmediate(resolve));
      const [packets] = trace.stop();
      assert.deepEqual(
        packets?.map(({ seq, timestamp, marker }) => ({ seq, timestamp, marker })),
        [
          // The relay's datagrams left within their calls, before dgram's of the calls above them.
          { seq: 10, timestamp: 9000, marker: false },
          { seq: 11, timestamp: 9000, marker: false },
          { seq: 1, timestamp: 3000, marker: false },
          { seq: 2, timestamp: 3000, marker: true },
        ],
      );
      // dgram's own path stamps on the next tick; the relay's within its call.
      for (const packet of packets ?? []) {
        assert.equal(BigInt(packet.atNs) > afterCalls, packet.seq < 10, `packet ${packet.seq}`);
      }
      assert.equal(dgram.Socket.prototype.send, send);
      assert.equal(handlePrototype.send, handleSend);
      sender.send(rtp(5, 9000), traced.address().port, "127.0.0.1");
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(trace.stop(), []);
    } finally {
      trace.stop();
      for (const socket of [traced, other, sender, relay]) socket.close();
    }
  });
});
