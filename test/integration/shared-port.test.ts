import "../helpers/loopback-namespace";
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import { once } from "node:events";
import { connect, createServer } from "node:net";
import { parse } from "sdp-transform";
import { GenericNack, type RtcpPacket, RtcpTransportLayerFeedback } from "werift";
import { ReceiverReportIntake, type ReportedSenderInternals } from "../../src/webrtc/receiver-report-intake";
import { PortTakenError, SharedIcePort } from "../../src/webrtc/shared-port";
import type { DtlsInternals } from "../../src/webrtc/werift-internals";
import {
  decodeReceived,
  frameCount,
  nominated,
  receivedFrames,
  SharedPortRig,
} from "../helpers/shared-port-rig";
import { freePort, requireTool } from "../helpers/tools";
import { waitFor } from "../helpers/wait";

/** coturn on 127.0.0.1 (relaying on 127.0.0.1 too), long-term credentials user:secret. */
async function startTurn(): Promise<{ port: number; process: ChildProcess }> {
  const port = await freePort();
  const child = spawn(
    requireTool("turnserver"),
    [
      "-n",
      "--listening-ip=127.0.0.1",
      `--listening-port=${port}`,
      "--relay-ip=127.0.0.1",
      "--min-port=49160",
      "--max-port=49200",
      "--user=user:secret",
      "--realm=test",
      "--lt-cred-mech",
      "--no-cli",
      "--no-tls",
      "--no-dtls",
      "--allow-loopback-peers",
      "--log-file=stdout",
    ],
    { stdio: "ignore" },
  );
  // It listens on TCP too: up once a connection is accepted.
  await waitFor(
    () =>
      new Promise<boolean>((resolve) => {
        const socket = connect(port, "127.0.0.1");
        socket.once("connect", () => {
          socket.destroy();
          resolve(true);
        });
        socket.once("error", () => resolve(false));
      }),
    10_000,
    "turnserver listening",
  );
  return { port, process: child };
}

// Several werift viewers at once on one SharedIcePort (the demo camera as the source, StreamViewers
// making the server-side peers), UDP and ICE-TCP; what each received is decoded by FFmpeg. Every
// packet stays on loopback: run inside `unshare --net`.

describe("SharedIcePort with werift viewers (loopback)", function () {
  this.timeout(120_000);
  let rig: SharedPortRig | undefined;

  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });

  it("three viewers play at once through one UDP port, each decodes, and leave no route behind", async () => {
    rig = await SharedPortRig.start({ bindAddress: "127.0.0.1" });
    const shared = rig.port;
    const viewers = await Promise.all([rig.viewer(), rig.viewer(), rig.viewer()]);
    await Promise.all(viewers.map((v) => v.connected));
    for (const viewer of viewers) {
      const answer = viewer.pc.remoteDescription?.sdp ?? "";
      const candidates = parse(answer).media.flatMap((m) => m.candidates ?? []);
      assert.ok(candidates.length > 0);
      assert.ok(
        candidates.every((c) => c.port === shared.port && c.transport.toLowerCase() === "udp"),
        JSON.stringify(candidates),
      );
      const ufrag = /^a=ice-ufrag:(\S+)/m.exec(answer)?.[1] ?? "";
      assert.match(ufrag, /^[0-9a-f]{24}$/);
      // The server's selected pair is on the shared socket, the client's points at the shared port.
      const server = nominated(rig.serverPeer(viewer));
      assert.equal(server?.protocol.localCandidate?.port, shared.port);
      assert.equal(nominated(viewer.pc)?.remoteCandidate.port, shared.port);
    }
    const sockets = new Set(
      viewers.map((v) => nominated(rig?.serverPeer(v) as never)?.protocol.transport?.socket),
    );
    assert.equal(sockets.size, 1, "one socket under all three server-side peers");
    await Promise.all(viewers.map((v) => receivedFrames(v, 40)));
    for (const viewer of viewers) {
      const decoded = await decodeReceived(viewer);
      assert.deepEqual(decoded.decodeErrors, []);
      assert.ok(decoded.frames >= 40, `${decoded.frames} frames decoded`);
    }
    const during = shared.stats();
    assert.equal(during.viewers, 3);
    assert.ok(during.routes >= 3, JSON.stringify(during));
    assert.ok(during.dataDelivered > 0 && during.checksDelivered >= 3);
    for (const viewer of viewers) await rig.leave(viewer);
    await waitFor(() => shared.stats().viewers === 0, 10_000, "no viewer left on the port");
    assert.equal(shared.stats().routes, 0);
    console.log(`      stats after three viewers: ${JSON.stringify(shared.stats())}`);
  });

  it("answers consent checks on a viewer's selected pair itself; the viewer's consent stays fresh", async () => {
    rig = await SharedPortRig.start({ bindAddress: "127.0.0.1" });
    const shared = rig.port;
    const viewer = await rig.viewer();
    await viewer.connected;
    await receivedFrames(viewer, 10);
    const client = nominated(viewer.pc) as unknown as {
      responsesReceived: number;
      consentRequestsSent: number;
    };
    const server = nominated(rig.serverPeer(viewer)) as unknown as {
      requestsReceived: number;
      responsesSent: number;
    };
    const before = {
      ...shared.stats(),
      responses: client.responsesReceived,
      requests: server.requestsReceived,
    };
    // werift's consent checks come every 4-6 s.
    await waitFor(
      () => shared.stats().checksAnswered >= before.checksAnswered + 1,
      10_000,
      "a consent check answered",
    );
    await waitFor(() => client.responsesReceived > before.responses, 5_000, "the viewer took the answer");
    const after = shared.stats();
    assert.equal(after.checksDelivered, before.checksDelivered, "no check went to werift once connected");
    assert.ok(server.requestsReceived > before.requests, "werift's pair counts the check it did not see");
    assert.equal(server.responsesSent, server.requestsReceived);
    assert.equal(viewer.pc.iceConnectionState, "connected");
    // The media still flows.
    await receivedFrames(viewer, frameCount(viewer) + 30);
    console.log(
      `      consent: ${after.checksAnswered} answered by the port, client sent ${client.consentRequestsSent}`,
    );
  });

  it("reads a viewer's receiver reports before werift (loss, RTT on the sender) and leaves its NACKs to werift", async () => {
    rig = await SharedPortRig.start({ bindAddress: "127.0.0.1" });
    const viewer = await rig.viewer();
    await viewer.connected;
    await receivedFrames(viewer, 10);
    const server = rig.serverPeer(viewer);
    const sender = server.getSenders()[0];
    assert.ok(sender !== undefined);
    const reported = sender as unknown as ReportedSenderInternals & {
      handleRtcpPacket(packet: RtcpPacket): void;
      nackCount: number;
    };
    const toWerift: number[] = [];
    const handle = reported.handleRtcpPacket.bind(sender);
    reported.handleRtcpPacket = (packet) => {
      toWerift.push(packet.type);
      handle(packet);
    };
    const intake = ReceiverReportIntake.for(server.dtlsTransports[0] as unknown as DtlsInternals);
    const readBefore = intake.read;
    await waitFor(
      () => intake.read >= readBefore + 2 && reported.roundTripTimeMeasurements > 0,
      10_000,
      "two receiver reports read, one with an RTT",
    );
    assert.deepEqual(toWerift, [], "no receiver report reached werift");
    assert.ok(reported.rtt !== undefined && reported.rtt >= 0 && reported.rtt < 0.5, `RTT ${reported.rtt} s`);
    assert.equal(reported.remoteFractionLost, 0);
    assert.equal(reported.remotePacketsLost, 0);
    const remote = (sender.collectStats(Date.now()) as unknown as Record<string, unknown>[]).find(
      (stat) => stat.type === "remote-inbound-rtp",
    );
    assert.equal(remote?.roundTripTime, reported.rtt);
    // A NACK for the newest packet: werift's path, and the sink answers it from its history.
    const newest = viewer.packets[viewer.packets.length - 1] as Buffer;
    const resentBefore = reported.retransmittedPacketsSent;
    await viewer.pc.dtlsTransports[0]?.sendRtcp([
      new RtcpTransportLayerFeedback({
        feedback: new GenericNack({
          senderSsrc: 1,
          mediaSourceSsrc: reported.ssrc,
          lost: [newest.readUInt16BE(2)],
        }),
      }),
    ]);
    await waitFor(
      () => reported.retransmittedPacketsSent > resentBefore,
      5_000,
      "the NACKed packet sent again",
    );
    assert.deepEqual(toWerift, [RtcpTransportLayerFeedback.type]);
    assert.equal(reported.nackCount, 1);
  });

  it("a viewer over ICE-TCP only (werift TCP active) plays through the shared TCP port", async () => {
    rig = await SharedPortRig.start({ bindAddress: "127.0.0.1", tcp: true });
    const shared = rig.port;
    const udpViewer = await rig.viewer();
    const tcpViewer = await rig.viewer({
      peerConfig: {
        iceUseTcp: true,
        iceTcpPassive: false,
        // The client checks, answers (and so nominates) TCP pairs only: a UDP-blocking network.
        iceFilterCandidatePair: (pair) => pair.protocol.type === "tcp",
        iceFilterStunResponse: (_message, _addr, protocol) => protocol.type === "tcp",
      },
    });
    await Promise.all([udpViewer.connected, tcpViewer.connected]);
    const answer = tcpViewer.pc.remoteDescription?.sdp ?? "";
    const tcpCandidates = parse(answer)
      .media.flatMap((m) => m.candidates ?? [])
      .filter((c) => c.transport.toLowerCase() === "tcp");
    assert.ok(
      tcpCandidates.length > 0 &&
        tcpCandidates.every((c) => c.port === shared.port && c.tcptype === "passive"),
      JSON.stringify(tcpCandidates),
    );
    const server = nominated(rig.serverPeer(tcpViewer));
    assert.equal(server?.protocol.type, "tcp");
    assert.equal(server?.protocol.localCandidate?.port, shared.port);
    assert.equal(nominated(rig.serverPeer(udpViewer))?.protocol.type, "stun");
    await Promise.all([receivedFrames(tcpViewer, 40), receivedFrames(udpViewer, 40)]);
    for (const viewer of [tcpViewer, udpViewer]) {
      const decoded = await decodeReceived(viewer);
      assert.deepEqual(decoded.decodeErrors, []);
      assert.ok(decoded.frames >= 40, `${decoded.frames} frames decoded`);
    }
    assert.ok(shared.stats().tcpAdopted >= 1);
    await rig.leave(tcpViewer);
    await rig.leave(udpViewer);
    await waitFor(
      () => shared.stats().viewers === 0 && shared.stats().tcpOpen === 0,
      10_000,
      "no viewer and no TCP connection left",
    );
    console.log(`      stats after the ICE-TCP viewer: ${JSON.stringify(shared.stats())}`);
  });

  it("still gathers a TURN relay candidate for a viewer on the shared port", async () => {
    const turn = await startTurn();
    try {
      rig = await SharedPortRig.start({ bindAddress: "127.0.0.1" }, [
        { urls: `turn:127.0.0.1:${turn.port}`, username: "user", credential: "secret" },
      ]);
      const viewer = await rig.viewer();
      await viewer.connected;
      const candidates = parse(viewer.pc.remoteDescription?.sdp ?? "").media[0]?.candidates ?? [];
      const relay = candidates.filter((c) => c.type === "relay");
      const host = candidates.filter((c) => c.type === "host");
      assert.ok(relay.length === 1 && relay[0]?.ip === "127.0.0.1", JSON.stringify(candidates));
      assert.ok(host.length > 0 && host.every((c) => c.port === rig?.port.port), JSON.stringify(candidates));
      await receivedFrames(viewer, 25);
    } finally {
      await rig?.close();
      rig = undefined;
      turn.process.kill();
      if (turn.process.exitCode === null) await once(turn.process, "exit");
    }
  });

  it("close() releases the UDP and TCP port: the same port opens again", async () => {
    const first = await SharedIcePort.open({ port: 0, bindAddress: "127.0.0.1", tcp: true });
    const port = first.port;
    await first.close();
    const again = await SharedIcePort.open({ port, bindAddress: "127.0.0.1", tcp: true });
    assert.equal(again.port, port);
    await again.close();
  });

  it("rejects with PortTakenError when the UDP or the TCP port is taken, and keeps nothing open", async () => {
    const udp = createSocket("udp4");
    await new Promise<void>((resolve) => udp.bind(0, "127.0.0.1", resolve));
    const port = udp.address().port;
    try {
      await assert.rejects(SharedIcePort.open({ port, bindAddress: "127.0.0.1" }), (error: unknown) => {
        assert.ok(error instanceof PortTakenError);
        assert.equal(error.port, port);
        return true;
      });
    } finally {
      await new Promise<void>((resolve) => udp.close(() => resolve()));
    }
    const tcp = createServer();
    await new Promise<void>((resolve) => tcp.listen(0, "127.0.0.1", resolve));
    const tcpPort = (tcp.address() as { port: number }).port;
    try {
      await assert.rejects(
        SharedIcePort.open({ port: tcpPort, bindAddress: "127.0.0.1", tcp: true }),
        PortTakenError,
      );
      // The UDP socket it had bound was closed again: UDP alone opens on that port now.
      const udpOnly = await SharedIcePort.open({ port: tcpPort, bindAddress: "127.0.0.1" });
      await udpOnly.close();
    } finally {
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
    }
  });
});
