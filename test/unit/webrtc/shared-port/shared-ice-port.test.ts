import "../../../helpers/loopback-namespace";
import assert from "node:assert/strict";
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { once } from "node:events";
import { connect, type Socket } from "node:net";
import { classes, Message, methods } from "werift";
import { SharedIcePort } from "../../../../src/webrtc/shared-port";
import { readStun } from "../../../../src/webrtc/shared-port/stun-check";
import { Viewer } from "../../../../src/webrtc/viewer";
import { readOffer } from "../../../helpers/offer-fixtures";
import { videoMedia } from "../../../helpers/rtp-fixtures";
import { type Credentials, check, credentials, frame } from "../../../helpers/shared-port-rig";
import { waitFor } from "../../../helpers/wait";

// The shared port's gate at the byte level: real STUN checks (signed by werift's own Message) from
// raw UDP and TCP sockets on loopback, against a real Viewer attached to the port. The offer
// (Chromium's, captured) carries no candidate: the viewer itself checks nobody.

/** A STUN success or error response (werift also sends its own checks back to a valid sender). */
function isResponse(data: Buffer): boolean {
  const read = readStun(data);
  return typeof read !== "string" && read.stunClass !== "request";
}

/** A UDP socket on loopback; `replies` are the responses it got, `all` everything. */
async function udpClient(): Promise<{ socket: UdpSocket; replies: Buffer[]; all: Buffer[] }> {
  const socket = createSocket("udp4");
  const replies: Buffer[] = [];
  const all: Buffer[] = [];
  socket.on("message", (data) => {
    all.push(data);
    if (isResponse(data)) replies.push(data);
  });
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  return { socket, replies, all };
}

async function tcpClient(
  port: number,
): Promise<{ socket: Socket; received: Buffer[]; closed: Promise<void> }> {
  const socket = connect(port, "127.0.0.1");
  const received: Buffer[] = [];
  socket.on("data", (data) => received.push(data));
  socket.on("error", () => {});
  const closed = once(socket, "close").then(() => undefined);
  await once(socket, "connect");
  return { socket, received, closed };
}

describe("SharedIcePort gate (raw UDP and TCP, loopback)", function () {
  this.timeout(30_000);
  let port: SharedIcePort;
  let viewer: Viewer;
  let creds: Credentials;
  const udpSockets: UdpSocket[] = [];
  const tcpSockets: Socket[] = [];

  beforeEach(async () => {
    port = await SharedIcePort.open({
      port: 0,
      bindAddress: "127.0.0.1",
      tcp: true,
      tcpLimits: { idleMs: 300, maxPerAddress: 4 },
    });
    const created = await Viewer.create({
      offerSdp: readOffer("chromium-156.sdp"),
      video: videoMedia("H264"),
      ice: { iceServers: [], additionalHostAddresses: ["127.0.0.1"], sharedPort: port },
      remoteAddress: "127.0.0.1",
      vanilla: true,
    });
    viewer = created.viewer;
    creds = credentials(created.answerSdp);
  });

  afterEach(async () => {
    for (const socket of udpSockets.splice(0)) socket.close();
    for (const socket of tcpSockets.splice(0)) socket.destroy();
    await viewer.close();
    await port.close();
  });

  it("answers a valid UDP check with werift's signed response, no larger than the check", async () => {
    assert.match(creds.ufrag, /^[0-9a-f]{24}$/);
    const { socket, replies } = await udpClient();
    udpSockets.push(socket);
    const request = check(creds.ufrag, creds.password);
    socket.send(request.bytes, port.port, "127.0.0.1");
    await waitFor(() => replies.length === 1, 5000, "the binding response");
    const reply = replies[0] as Buffer;
    const read = readStun(reply);
    assert.ok(typeof read !== "string");
    assert.equal(read.stunClass, "success");
    assert.equal(read.transactionId, request.transactionIdHex);
    assert.ok(reply.length <= request.bytes.length, `${reply.length} > ${request.bytes.length}`);
    assert.equal(port.stats().routes, 1);
  });

  it("answers nothing unauthenticated over UDP, and counts why", async () => {
    const { socket, replies, all } = await udpClient();
    udpSockets.push(socket);
    const send = (data: Buffer): void => void socket.send(data, port.port, "127.0.0.1");
    send(check(creds.ufrag, "not-the-password").bytes);
    send(check("0123456789abcdef01234567", creds.password).bytes);
    send(new Message(methods.BINDING, classes.REQUEST).bytes);
    const badFingerprint = Buffer.from(check(creds.ufrag, creds.password).bytes);
    badFingerprint[badFingerprint.length - 1] = (badFingerprint[badFingerprint.length - 1] as number) ^ 1;
    send(badFingerprint);
    send(Buffer.from([22, 254, 253, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0]));
    send(Buffer.from([0x80, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1]));
    send(Buffer.from("hello"));
    // Order kept on loopback: the valid check after them is the only one answered.
    const valid = check(creds.ufrag, creds.password);
    send(valid.bytes);
    await waitFor(() => replies.length >= 1, 5000, "the answer to the valid check");
    // Nothing came before the answer to the valid check.
    assert.equal(isResponse(all[0] as Buffer), true);
    const read = readStun(replies[0] as Buffer);
    assert.ok(typeof read !== "string");
    assert.equal(read.transactionId, valid.transactionIdHex);
    assert.equal(replies.length, 1);
    assert.deepEqual(port.stats().dropped, {
      "stun-bad-integrity": 1,
      "stun-unknown-ufrag": 1,
      "stun-no-username": 1,
      "stun-bad-fingerprint": 1,
      "unknown-address": 2,
      "unknown-kind": 1,
    });
  });

  it("hands an authenticated ICE-TCP connection to the viewer with the frames sent behind the first", async () => {
    const client = await tcpClient(port.port);
    tcpSockets.push(client.socket);
    const first = check(creds.ufrag, creds.password);
    const second = check(creds.ufrag, creds.password);
    client.socket.write(Buffer.concat([frame(first.bytes), frame(second.bytes)]));
    const ids = (): string[] => {
      const all = Buffer.concat(client.received);
      const found: string[] = [];
      for (let at = 0; at + 2 <= all.length; ) {
        const length = all.readUInt16BE(at);
        if (at + 2 + length > all.length) break;
        const read = readStun(all.subarray(at + 2, at + 2 + length));
        if (typeof read !== "string" && read.stunClass === "success") found.push(read.transactionId);
        at += 2 + length;
      }
      return found;
    };
    await waitFor(() => ids().length >= 2, 5000, "two framed responses");
    assert.deepEqual(ids(), [first.transactionIdHex, second.transactionIdHex]);
    assert.equal(port.stats().tcpAdopted, 1);
  });

  it("closes ICE-TCP connections that fail the check, send too much, stay silent, or exceed the per-address cap", async () => {
    const wrong = await tcpClient(port.port);
    wrong.socket.write(frame(check(creds.ufrag, "not-the-password").bytes));
    await wrong.closed;
    assert.equal(Buffer.concat(wrong.received).length, 0);

    const oversize = await tcpClient(port.port);
    oversize.socket.write(Buffer.from([0xff, 0xff, 0, 1]));
    await oversize.closed;

    const notStun = await tcpClient(port.port);
    notStun.socket.write(frame(Buffer.from([22, 254, 253, 0])));
    await notStun.closed;

    const silent = await tcpClient(port.port);
    await silent.closed;
    assert.equal(Buffer.concat(silent.received).length, 0);

    const held: Awaited<ReturnType<typeof tcpClient>>[] = [];
    for (let i = 0; i < 5; i++) held.push(await tcpClient(port.port));
    await held[4]?.closed;
    for (const client of held) client.socket.destroy();
    const dropped = port.stats().dropped;
    assert.equal(dropped["stun-bad-integrity"], 1);
    assert.equal(dropped["tcp-oversize"], 1);
    assert.equal(dropped["tcp-not-stun-check"], 1);
    assert.ok((dropped["tcp-idle"] ?? 0) >= 1);
    assert.equal(dropped["tcp-ip-cap"], 1);
    await waitFor(() => port.stats().tcpOpen === 0, 5000, "every TCP connection closed");
  });

  it("forgets a closed viewer: its ufrag, routes and TCP connections", async () => {
    const { socket, replies } = await udpClient();
    udpSockets.push(socket);
    socket.send(check(creds.ufrag, creds.password).bytes, port.port, "127.0.0.1");
    await waitFor(() => replies.length === 1, 5000, "the binding response");
    const client = await tcpClient(port.port);
    client.socket.write(frame(check(creds.ufrag, creds.password).bytes));
    await waitFor(() => client.received.length > 0, 5000, "the TCP response");
    assert.deepEqual([port.stats().viewers, port.stats().routes, port.stats().tcpOpen], [1, 1, 1]);
    await viewer.close();
    await client.closed;
    await waitFor(() => port.stats().tcpOpen === 0, 5000, "the server side of the TCP connection closed");
    assert.deepEqual([port.stats().viewers, port.stats().routes, port.stats().tcpOpen], [0, 0, 0]);
    socket.send(check(creds.ufrag, creds.password).bytes, port.port, "127.0.0.1");
    await waitFor(() => port.stats().dropped["stun-unknown-ufrag"] === 1, 5000, "the check dropped");
    assert.equal(replies.length, 1);
  });

  it("binds at most 32 addresses to one viewer (the oldest goes), and passes indications from bound ones", async () => {
    const clients = await Promise.all(Array.from({ length: 33 }, () => udpClient()));
    udpSockets.push(...clients.map((c) => c.socket));
    for (const client of clients) {
      client.socket.send(check(creds.ufrag, creds.password).bytes, port.port, "127.0.0.1");
      await waitFor(() => client.replies.length === 1, 5000, "the binding response");
    }
    assert.equal(port.stats().routes, 32);
    const indication = new Message(methods.BINDING, classes.INDICATION).bytes;
    const delivered = port.stats().dataDelivered;
    clients[32]?.socket.send(indication, port.port, "127.0.0.1");
    await waitFor(() => port.stats().dataDelivered === delivered + 1, 5000, "the indication delivered");
    const unknown = port.stats().dropped["unknown-address"] ?? 0;
    clients[0]?.socket.send(indication, port.port, "127.0.0.1");
    await waitFor(
      () => port.stats().dropped["unknown-address"] === unknown + 1,
      5000,
      "the evicted address dropped",
    );
  });

  it("holds at most maxPending unauthenticated ICE-TCP connections at once", async () => {
    const small = await SharedIcePort.open({
      port: 0,
      bindAddress: "127.0.0.1",
      tcp: true,
      tcpLimits: { maxPending: 2, maxPerAddress: 100 },
    });
    try {
      const first = await tcpClient(small.port);
      const second = await tcpClient(small.port);
      tcpSockets.push(first.socket, second.socket);
      await waitFor(() => small.stats().tcpPending === 2, 5000, "two pending connections");
      const third = await tcpClient(small.port);
      await third.closed;
      assert.equal(small.stats().dropped["tcp-pending-cap"], 1);
    } finally {
      await small.close();
    }
  });

  it("advertises the configured addresses and the ones the request came in on, all with the shared port", async () => {
    const created = await Viewer.create({
      offerSdp: readOffer("chromium-156.sdp"),
      video: videoMedia("H264"),
      ice: { iceServers: [], additionalHostAddresses: ["127.0.0.1"], sharedPort: port },
      remoteAddress: "127.0.0.1",
      localAddresses: ["::ffff:127.0.0.5", "127.0.0.1", "::1"],
      vanilla: true,
    });
    try {
      const candidates = [
        ...created.answerSdp.matchAll(/^a=candidate:\S+ 1 udp \d+ (\S+) (\d+) typ host/gm),
      ].map((m) => `${m[1]}:${m[2]}`);
      assert.deepEqual(candidates.sort(), [`127.0.0.1:${port.port}`, `127.0.0.5:${port.port}`]);
    } finally {
      await created.viewer.close();
    }
  });

  it("refuses to attach once the port is closed", async () => {
    await port.close();
    await assert.rejects(
      Viewer.create({
        offerSdp: readOffer("chromium-156.sdp"),
        video: videoMedia("H264"),
        ice: { iceServers: [], additionalHostAddresses: ["127.0.0.1"], sharedPort: port },
        remoteAddress: "127.0.0.1",
        vanilla: true,
      }),
      /shared ICE port is closed/,
    );
  });
});
