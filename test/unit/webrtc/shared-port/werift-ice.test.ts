import "../../../helpers/loopback-namespace";
import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { parse } from "sdp-transform";
import {
  classes,
  MediaStreamTrack,
  Message,
  methods,
  RTCPeerConnection,
  StunProtocol,
  TcpPassiveProtocol,
} from "werift";
import { SharedIcePort } from "../../../../src/webrtc/shared-port";
import { readStun } from "../../../../src/webrtc/shared-port/stun-check";
import {
  type Address,
  type IceConnectionInternals,
  iceConnections,
  SharedTcpPassiveProtocol,
  SharedUdpTransport,
  type StunProtocolInternals,
  sharedStunProtocol,
} from "../../../../src/webrtc/shared-port/werift-ice";
import { readOffer } from "../../../helpers/offer-fixtures";
import { waitFor } from "../../../helpers/wait";

// Pins every private werift 0.25.2 member the shared port relies on (listed at the top of
// src/webrtc/shared-port/werift-ice.ts): a werift upgrade that renames or changes one fails here,
// by name, instead of making the shared port answer nothing (or everything).

async function offeredPeer(): Promise<RTCPeerConnection> {
  const pc = new RTCPeerConnection({ iceServers: [], iceUseIpv6: false, iceUseTcp: false });
  pc.addTransceiver(new MediaStreamTrack({ kind: "video" }), { direction: "sendonly" });
  await pc.setRemoteDescription({ type: "offer", sdp: readOffer("chromium-156.sdp") });
  return pc;
}

function recordingTransport(sent: Buffer[]): SharedUdpTransport {
  const socket = createSocket("udp4");
  const transport = new SharedUdpTransport(socket, "127.0.0.1", 9, () => {});
  transport.send = async (data: Buffer) => {
    sent.push(data);
  };
  socket.close();
  return transport;
}

describe("werift 0.25.2 internals the shared port relies on", function () {
  this.timeout(20_000);
  const peers: RTCPeerConnection[] = [];

  afterEach(async () => {
    await Promise.all(peers.splice(0).map((pc) => pc.close()));
  });

  it("Connection: protocols, ensureProtocol, localUsername/localPassword/userHistory, generation, options, localCandidatesStart", async () => {
    const pc = await offeredPeer();
    peers.push(pc);
    const [connection, ...others] = iceConnections(pc);
    assert.equal(others.length, 0, "one ICE connection with BUNDLE");
    assert.ok(connection !== undefined);
    assert.ok(Array.isArray(connection.protocols));
    assert.equal(typeof connection.ensureProtocol, "function");
    assert.match(connection.localUsername, /^[0-9a-f]{4}$/, "werift's own ufrag: 4 hex digits");
    assert.equal(typeof connection.localPassword, "string");
    assert.equal(connection.userHistory[connection.localUsername], connection.localPassword);
    assert.equal(typeof connection.generation, "number");
    assert.equal(connection.options.useIpv4, true);
    assert.ok(
      "additionalHostAddresses" in connection.options ||
        connection.options.additionalHostAddresses === undefined,
    );
    assert.equal(connection.localCandidatesStart, false);
    // The answer's ice-ufrag is read from connection.localUsername (RTCIceGatherer.localParameters).
    connection.localUsername = "0123456789abcdef01234567";
    assert.equal(pc.iceTransports[0]?.localParameters.usernameFragment, "0123456789abcdef01234567");
  });

  it("gatherCandidates re-advertises a protocol already in `protocols` and binds nothing with host gathering off", async () => {
    const pc = await offeredPeer();
    peers.push(pc);
    const port = await SharedIcePort.open({ port: 0, bindAddress: "127.0.0.1" });
    try {
      port.attach(pc, ["127.0.0.1", "10.99.0.1"]);
      const connection = iceConnections(pc)[0] as IceConnectionInternals;
      assert.equal(connection.options.useIpv4, false);
      await pc.setLocalDescription(await pc.createAnswer());
      const answer = pc.localDescription?.sdp ?? "";
      const candidates = parse(answer).media[0]?.candidates ?? [];
      assert.deepEqual(
        candidates.map((c) => [c.ip, c.port, c.transport, c.type]),
        [
          ["127.0.0.1", port.port, "udp", "host"],
          ["10.99.0.1", port.port, "udp", "host"],
        ],
      );
      assert.equal(connection.protocols.length, 2, "no socket of werift's own");
      assert.match(answer, /^a=ice-ufrag:[0-9a-f]{24}\r?$/m);
      assert.equal(connection.localCandidatesStart, true);
      assert.throws(() => port.attach(pc, ["127.0.0.1"]), /before the peer gathers/);
    } finally {
      await pc.close();
      await port.close();
    }
  });

  it("StunProtocol: transport, localIp, localCandidate, transactions keyed by transaction id hex, datagramReceived", async () => {
    const protocol = new StunProtocol();
    const internals = protocol as unknown as StunProtocolInternals;
    assert.equal(typeof internals.datagramReceived, "function");
    assert.deepEqual(internals.transactions, {});
    assert.ok("transport" in protocol && "localIp" in protocol && "localCandidate" in protocol);
    const sent: Buffer[] = [];
    internals.transport = recordingTransport(sent);
    const request = new Message(methods.BINDING, classes.REQUEST);
    const pending = protocol
      .request(request, ["127.0.0.1", 9] as Address, undefined, { retransmissions: 0, responseTimeout: 50 })
      .catch(() => undefined);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(Object.keys(internals.transactions), [request.transactionIdHex]);
    assert.equal(sent.length, 1, "the request went out through transport.send");
    await pending;
    await protocol.close();
  });

  it("ensureProtocol answers a binding request without checking its MESSAGE-INTEGRITY (why the port checks first)", async () => {
    const pc = await offeredPeer();
    peers.push(pc);
    const connection = iceConnections(pc)[0] as IceConnectionInternals;
    const sent: Buffer[] = [];
    const transport = recordingTransport(sent);
    const protocol = sharedStunProtocol(connection, transport, "127.0.0.1", 9);
    connection.ensureProtocol(protocol);
    const forged = new Message(methods.BINDING, classes.REQUEST)
      .setAttribute("USERNAME", `${connection.localUsername}:hiCb`)
      .setAttribute("PRIORITY", 1)
      .addMessageIntegrity(Buffer.from("anything at all"))
      .addFingerprint();
    (protocol as unknown as StunProtocolInternals).datagramReceived(forged.bytes, ["127.0.0.1", 40000]);
    await new Promise((resolve) => setImmediate(resolve));
    const responses = sent.filter((data) => {
      const read = readStun(data);
      return typeof read !== "string" && read.stunClass === "success";
    });
    assert.equal(responses.length, 1, "werift answered the forged check itself");
  });

  it("the shared UDP transport sends on the shared socket, to IP literals and host names, and reports STUN requests", async () => {
    const shared = createSocket("udp4");
    const receiver = createSocket("udp4");
    const received: Buffer[] = [];
    receiver.on("message", (data) => received.push(data));
    await new Promise<void>((resolve) => shared.bind(0, "127.0.0.1", resolve));
    await new Promise<void>((resolve) => receiver.bind(0, "127.0.0.1", resolve));
    const requests: Address[] = [];
    let closed = 0;
    const transport = new SharedUdpTransport(
      shared,
      "127.0.0.1",
      shared.address().port,
      () => closed++,
      (addr) => requests.push(addr),
    );
    try {
      const to: Address = ["127.0.0.1", receiver.address().port];
      const request = new Message(methods.BINDING, classes.REQUEST).bytes;
      await transport.send(request, to);
      await transport.send(new Message(methods.BINDING, classes.RESPONSE).bytes, to);
      await transport.send(Buffer.from([0x80, 96, 0, 1]), ["localhost", receiver.address().port]);
      await waitFor(() => received.length === 3, 5000, "three datagrams");
      assert.deepEqual(requests, [to], "only the request was reported");
      assert.deepEqual(transport.address, {
        address: "127.0.0.1",
        family: "IPv4",
        port: shared.address().port,
      });
      await transport.close();
      await transport.close();
      assert.equal(closed, 1);
      await transport.send(request, to);
      assert.equal(requests.length, 1, "a closed transport sends nothing");
    } finally {
      shared.close();
      receiver.close();
    }
  });

  it("the shared passive protocol listens nowhere: its port is the shared one", async () => {
    const pc = await offeredPeer();
    peers.push(pc);
    const connection = iceConnections(pc)[0] as IceConnectionInternals;
    let closed = 0;
    const protocol = new SharedTcpPassiveProtocol(connection, "127.0.0.1", 4242, () => closed++);
    await protocol.connectionMade();
    assert.equal(protocol.listeningPort, 4242);
    assert.equal(protocol.localCandidate?.tcptype, "passive");
    assert.equal(protocol.localCandidate?.port, 4242);
    await protocol.close();
    assert.equal(closed, 1);
  });

  it("TcpPassiveProtocol: registerSocket, handleFrame, pruneForSelection, sockets, transactions", () => {
    const prototype = TcpPassiveProtocol.prototype as unknown as Record<string, unknown>;
    for (const name of ["registerSocket", "handleFrame", "pruneForSelection", "connectionMade", "close"]) {
      assert.equal(typeof prototype[name], "function", name);
    }
    const listening = Object.getOwnPropertyDescriptor(TcpPassiveProtocol.prototype, "listeningPort");
    assert.equal(typeof listening?.get, "function");
    const protocol = new TcpPassiveProtocol() as unknown as {
      sockets: unknown;
      transactions: unknown;
      server: { close(cb: () => void): void };
    };
    assert.ok(protocol.sockets instanceof Map);
    assert.deepEqual(protocol.transactions, {});
    protocol.server.close(() => {});
  });
});
