import assert from "node:assert/strict";
import dgram, { type Socket } from "node:dgram";
import { once } from "node:events";
import { sendIpLiteralsNow } from "../../../src/webrtc/udp-send-now";

async function boundSocket(): Promise<Socket> {
  const socket = dgram.createSocket("udp4");
  socket.bind(0, "127.0.0.1");
  await once(socket, "listening");
  return socket;
}

/** Datagrams `receiver` gets from one send() followed at once by close(): 1 only if send() sent. */
async function sentBeforeClose(receiver: Socket, sender: Socket): Promise<number> {
  let got = 0;
  const onMessage = (): void => {
    got++;
  };
  receiver.on("message", onMessage);
  sender.send(Buffer.from("rtp"), receiver.address().port, "127.0.0.1");
  sender.close();
  await new Promise((resolve) => setTimeout(resolve, 100));
  receiver.off("message", onMessage);
  return got;
}

describe("sendIpLiteralsNow", () => {
  let receiver: Socket;
  beforeEach(async () => {
    receiver = await boundSocket();
  });
  afterEach(() => receiver.close());

  it("Node's own send() to an IP literal leaves on the next tick (why this exists)", async () => {
    assert.equal(await sentBeforeClose(receiver, await boundSocket()), 0);
  });

  it("makes send() to an IP literal hand the datagram over within the call, on this Node", async () => {
    const sender = await boundSocket();
    assert.equal(sendIpLiteralsNow(sender), true);
    assert.equal(sendIpLiteralsNow(sender), true, "a second call is harmless");
    assert.equal(await sentBeforeClose(receiver, sender), 1);
  });

  it("still resolves host names through Node's lookup, and sends callbacks still run", async () => {
    const sender = await boundSocket();
    sendIpLiteralsNow(sender);
    const received = once(receiver, "message");
    const sent = new Promise<void>((resolve, reject) =>
      sender.send(Buffer.from("by name"), receiver.address().port, "localhost", (error) =>
        error ? reject(error) : resolve(),
      ),
    );
    await sent;
    const [message] = (await received) as [Buffer];
    assert.equal(message.toString(), "by name");
    sender.close();
  });
});
