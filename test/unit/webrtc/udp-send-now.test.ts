import assert from "node:assert/strict";
import dgram, { type Socket } from "node:dgram";
import { once } from "node:events";
import { datagramSender, dgramHandle, sendIpLiteralsNow } from "../../../src/webrtc/udp-send-now";

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

/** Counts dgram's Socket.send() calls on `socket` while `during` runs. */
async function dgramSends(socket: Socket, during: () => Promise<void> | void): Promise<number> {
  const proto = dgram.Socket.prototype as unknown as { send: (...args: unknown[]) => void };
  const original = proto.send;
  let calls = 0;
  proto.send = function countedSend(this: Socket, ...args: unknown[]): void {
    if (this === socket) calls++;
    original.apply(this, args);
  };
  try {
    await during();
  } finally {
    proto.send = original;
  }
  return calls;
}

/** The next `count` datagrams `receiver` gets, as text. */
function received(receiver: Socket, count: number): Promise<string[]> {
  return new Promise((resolve) => {
    const got: string[] = [];
    const onMessage = (message: Buffer): void => {
      got.push(message.toString());
      if (got.length < count) return;
      receiver.off("message", onMessage);
      resolve(got);
    };
    receiver.on("message", onMessage);
  });
}

describe("datagramSender", () => {
  let receiver: Socket;
  beforeEach(async () => {
    receiver = await boundSocket();
  });
  afterEach(() => receiver.close());

  it("sends the first datagram through dgram, the rest straight to the UDP handle, all within the call", async () => {
    const sender = await boundSocket();
    const send = datagramSender(sender);
    assert.equal(datagramSender(sender), send, "one sender per socket");
    const port = receiver.address().port;
    const arriving = received(receiver, 4);
    const calls = await dgramSends(sender, () => {
      for (const text of ["a", "b", "c"]) send(Buffer.from(text), port, "127.0.0.1");
    });
    assert.equal(calls, 1, "dgram's send() only for the first datagram");
    // Handed over within the call: a close right after the send does not lose it.
    send(Buffer.from("d"), port, "127.0.0.1");
    sender.close();
    assert.deepEqual(await arriving, ["a", "b", "c", "d"]);
  });

  it("passes every datagram through the handle's own send(), so a wrapper of it sees them", async () => {
    const sender = await boundSocket();
    const handle = dgramHandle(sender);
    assert.ok(handle !== undefined);
    const prototype = Object.getPrototypeOf(handle) as { send: (...args: unknown[]) => unknown };
    const original = prototype.send;
    const seen: string[] = [];
    prototype.send = function wrappedSend(this: unknown, ...args: unknown[]): unknown {
      seen.push(String((args[1] as Buffer[])[0]));
      return original.apply(this, args);
    };
    try {
      const send = datagramSender(sender);
      const arriving = received(receiver, 2);
      send(Buffer.from("first"), receiver.address().port, "127.0.0.1");
      send(Buffer.from("second"), receiver.address().port, "127.0.0.1");
      assert.deepEqual(await arriving, ["first", "second"]);
      assert.deepEqual(seen, ["first", "second"]);
      assert.equal(Object.hasOwn(handle, "send"), false, "the handle is left as it was");
    } finally {
      prototype.send = original;
      sender.close();
    }
  });

  it("sends to host names through dgram's lookup, every time", async () => {
    const sender = await boundSocket();
    const send = datagramSender(sender);
    const port = receiver.address().port;
    const arriving = received(receiver, 3);
    send(Buffer.from("literal"), port, "127.0.0.1");
    const calls = await dgramSends(sender, async () => {
      send(Buffer.from("by name 1"), port, "localhost");
      send(Buffer.from("by name 2"), port, "localhost");
      await arriving;
    });
    assert.equal(calls, 2);
    assert.deepEqual((await arriving).sort(), ["by name 1", "by name 2", "literal"]);
    sender.close();
  });

  it("lets dgram bind a socket not bound yet on its first datagram, then sends straight to its handle", async () => {
    const sender = dgram.createSocket("udp4");
    const send = datagramSender(sender);
    const port = receiver.address().port;
    const arriving = received(receiver, 3);
    const calls = await dgramSends(sender, () => {
      send(Buffer.from("first"), port, "127.0.0.1");
      send(Buffer.from("second"), port, "127.0.0.1");
      send(Buffer.from("third"), port, "127.0.0.1");
    });
    assert.equal(calls, 1);
    assert.deepEqual(await arriving, ["first", "second", "third"]);
    sender.close();
  });

  it("drops a datagram the kernel refuses, or one sent after close, without throwing", async () => {
    const sender = await boundSocket();
    const send = datagramSender(sender);
    const port = receiver.address().port;
    const arriving = received(receiver, 2);
    send(Buffer.from("one"), port, "127.0.0.1");
    send(Buffer.from("to port 0"), 0, "127.0.0.1");
    send(Buffer.from("two"), port, "127.0.0.1");
    assert.deepEqual(await arriving, ["one", "two"]);
    sender.close();
    send(Buffer.from("after close"), port, "127.0.0.1");
  });
});
