import assert from "node:assert/strict";
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { once } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { DemoCamera, type DemoCameraOptions } from "../../../src/demo/demo-camera";
import type { DemoSessionStats } from "../../../src/demo/demo-session";
import { RtspTestClient, type TestResponse } from "./rtsp-test-client";

const CLIENT_SSRC = 0x0c11e171;

/** RR from CLIENT_SSRC with one block about `source`, then SDES CNAME (RFC 3550 6.4.2, 6.5.1). */
function receiverReport(source: number, extendedHighest: number, cname = "tester"): Buffer {
  const rr = Buffer.alloc(32);
  rr.writeUInt32BE(0x81c90007, 0);
  rr.writeUInt32BE(CLIENT_SSRC, 4);
  rr.writeUInt32BE(source, 8);
  rr.writeUInt32BE(0x02000003, 12); // 2/256 lost lately, 3 in all
  rr.writeUInt32BE(extendedHighest, 16);
  rr.writeUInt32BE(77, 20);
  rr.writeUInt32BE(0xabcd1234, 24);
  rr.writeUInt32BE(0x8000, 28);
  const text = Buffer.from(cname);
  const chunk = Math.ceil((4 + 2 + text.length + 1) / 4) * 4;
  const sdes = Buffer.alloc(4 + chunk);
  sdes.writeUInt32BE(0x81ca0000 + chunk / 4, 0);
  sdes.writeUInt32BE(CLIENT_SSRC, 4);
  sdes[8] = 1;
  sdes[9] = text.length;
  text.copy(sdes, 10);
  return Buffer.concat([rr, sdes]);
}

const EMPTY_RR = Buffer.from("80c900010c11e171", "hex");
const RTP_PUNCH = Buffer.from("800000000000000000000000", "hex");

function interleaved(channel: number, data: Buffer): Buffer {
  const header = Buffer.from([0x24, channel, 0, 0]);
  header.writeUInt16BE(data.length, 2);
  return Buffer.concat([header, data]);
}

function sessionOf(response: TestResponse): string {
  const id = response.headers.get("session")?.split(";")[0];
  assert.ok(id, "Session header");
  return id;
}

function ssrcOf(response: TestResponse): number {
  const hex = /ssrc=([0-9A-F]{8})/.exec(response.headers.get("transport") ?? "")?.[1];
  assert.ok(hex, "ssrc in Transport");
  return Number.parseInt(hex, 16);
}

async function until(done: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe("DemoCamera: what clients send back", function () {
  this.timeout(10000);
  const cameras: DemoCamera[] = [];
  const clients: RtspTestClient[] = [];
  const sockets: UdpSocket[] = [];

  async function startCamera(opts: DemoCameraOptions = {}): Promise<{ camera: DemoCamera; url: string }> {
    const camera = new DemoCamera(opts);
    cameras.push(camera);
    const { url, port } = await camera.start();
    const rtsp = await RtspTestClient.connect(port);
    clients.push(rtsp);
    return { camera, url };
  }

  function rtspOf(index = 0): RtspTestClient {
    return clients[index]!;
  }

  async function udpSocket(): Promise<UdpSocket> {
    const socket = createSocket("udp4");
    sockets.push(socket);
    socket.bind(0, "127.0.0.1");
    await once(socket, "listening");
    return socket;
  }

  /** SETUP over UDP from a fresh socket pair; returns the session and where to send to. */
  async function setupUdp(url: string, rtsp: RtspTestClient) {
    const rtp = await udpSocket();
    const rtcp = await udpSocket();
    const received: Buffer[] = [];
    rtp.on("message", (packet) => received.push(packet));
    const response = await rtsp.request("SETUP", `${url}/trackID=0`, {
      Transport: `RTP/AVP;unicast;client_port=${rtp.address().port}-${rtcp.address().port}`,
    });
    assert.equal(response.status, 200);
    const serverRtp = Number(/server_port=(\d+)-/.exec(response.headers.get("transport") ?? "")?.[1]);
    return { id: sessionOf(response), ssrc: ssrcOf(response), rtp, rtcp, serverRtp, received };
  }

  function statsOf(camera: DemoCamera, id: string): DemoSessionStats {
    const stats = camera.sessionStats().find((session) => session.id === id);
    assert.ok(stats, `stats of ${id}`);
    return stats;
  }

  afterEach(async () => {
    for (const rtsp of clients.splice(0)) rtsp.destroy();
    for (const socket of sockets.splice(0)) socket.close();
    await Promise.all(cameras.splice(0).map((camera) => camera.close()));
  });

  it("counts a UDP client's NAT punches and parses its receiver reports", async () => {
    const { camera, url } = await startCamera();
    const rtsp = rtspOf();
    const udp = await setupUdp(url, rtsp);
    assert.deepEqual(statsOf(camera, udp.id), {
      id: udp.id,
      transport: "udp",
      ssrc: udp.ssrc,
      state: "ready",
      ended: undefined,
      rtpPacketsSent: 0,
      lastSequenceSent: undefined,
      requests: {},
      rtcpPackets: 0,
      invalidRtcpPackets: 0,
      receiverReports: 0,
      lastReport: undefined,
      punchPackets: 0,
      beforePlay: { rtcpPackets: 0, punchPackets: 0 },
    });

    udp.rtp.send(RTP_PUNCH, udp.serverRtp, "127.0.0.1");
    udp.rtcp.send(EMPTY_RR, udp.serverRtp + 1, "127.0.0.1");
    await until(
      () => statsOf(camera, udp.id).rtcpPackets === 1 && statsOf(camera, udp.id).punchPackets === 1,
      "punches",
    );
    assert.equal((await rtsp.request("PLAY", url, { Session: udp.id })).status, 200);
    await until(() => udp.received.length > 0, "RTP");
    udp.rtcp.send(receiverReport(udp.ssrc, 0x10000 + 42), udp.serverRtp + 1, "127.0.0.1");
    udp.rtcp.send(receiverReport(0x12345678, 1), udp.serverRtp + 1, "127.0.0.1");
    udp.rtcp.send(Buffer.from("not rtcp"), udp.serverRtp + 1, "127.0.0.1");
    await until(() => statsOf(camera, udp.id).rtcpPackets === 4, "RTCP");

    const stats = statsOf(camera, udp.id);
    assert.equal(stats.state, "playing");
    assert.deepEqual(stats.beforePlay, { rtcpPackets: 1, punchPackets: 1 });
    assert.equal(stats.punchPackets, 1);
    assert.equal(stats.invalidRtcpPackets, 1);
    assert.equal(stats.receiverReports, 1, "only the block about the session's SSRC counts");
    assert.deepEqual(stats.requests, { PLAY: 1 });
    assert.ok(stats.rtpPacketsSent > 0);
    const report = stats.lastReport;
    assert.ok(report);
    assert.ok(Math.abs(report.receivedAtMs - Date.now()) < 2000);
    assert.equal(typeof report.lastSequenceSent, "number");
    assert.deepEqual(
      { ...report, receivedAtMs: 0, lastSequenceSent: 0 },
      {
        receivedAtMs: 0,
        type: "RR",
        reporterSsrc: CLIENT_SSRC,
        block: {
          ssrc: udp.ssrc,
          fractionLost: 2,
          cumulativeLost: 3,
          extendedHighestSequence: 0x10000 + 42,
          jitter: 77,
          lastSenderReport: 0xabcd1234,
          delaySinceLastSenderReport: 0x8000,
        },
        cname: "tester",
        lastSequenceSent: 0,
      },
    );

    assert.equal((await rtsp.request("TEARDOWN", url, { Session: udp.id })).status, 200);
    const ended = statsOf(camera, udp.id);
    assert.equal(ended.state, "ended");
    assert.equal(ended.ended, "teardown");
    assert.deepEqual(ended.requests, { PLAY: 1, TEARDOWN: 1 });
    assert.equal(camera.sessions, 0);
    assert.deepEqual(camera.requestCounts(), { SETUP: 1, PLAY: 1, TEARDOWN: 1 });
  });

  it("reads the RTCP a TCP client interleaves on the session's odd channel", async () => {
    const { camera, url } = await startCamera();
    const rtsp = rtspOf();
    const setups = [];
    for (let i = 0; i < 2; i++) {
      const response = await rtsp.request("SETUP", `${url}/trackID=0`, { Transport: "RTP/AVP/TCP;unicast" });
      setups.push({ id: sessionOf(response), ssrc: ssrcOf(response) });
      assert.equal((await rtsp.request("PLAY", url, { Session: setups[i]!.id })).status, 200);
    }
    const [first, second] = [setups[0]!, setups[1]!];
    // The second session took channels 2-3: its reports arrive on 3, whatever SSRC they are about.
    rtsp.writeRaw(
      Buffer.concat([
        interleaved(3, receiverReport(second.ssrc, 9, "second")),
        interleaved(1, receiverReport(first.ssrc, 7)),
        interleaved(3, receiverReport(first.ssrc, 8)),
        interleaved(7, receiverReport(first.ssrc, 6)),
        interleaved(0, RTP_PUNCH),
      ]),
    );
    assert.equal((await rtsp.request("GET_PARAMETER", url, { Session: first.id })).status, 200);
    const firstStats = statsOf(camera, first.id);
    const secondStats = statsOf(camera, second.id);
    assert.equal(firstStats.transport, "tcp");
    assert.equal(firstStats.rtcpPackets, 1);
    assert.equal(firstStats.receiverReports, 1);
    assert.equal(firstStats.lastReport?.block.extendedHighestSequence, 7);
    assert.equal(firstStats.punchPackets, 1);
    assert.deepEqual(firstStats.requests, { PLAY: 1, GET_PARAMETER: 1 });
    assert.equal(secondStats.rtcpPackets, 2);
    assert.equal(secondStats.receiverReports, 1);
    assert.equal(secondStats.lastReport?.cname, "second");
    assert.equal(secondStats.punchPackets, 0);
  });

  it("drops a playing UDP session without receiver reports, whatever requests it sends", async () => {
    // Reports every 100 ms against a 1 s limit: a loaded machine may delay a few without a drop.
    const { camera, url } = await startCamera({ requireReceiverReportsMs: 1000 });
    const rtsp = rtspOf();
    const silent = await setupUdp(url, rtsp);
    const reporting = await setupUdp(url, rtsp);
    const notPlaying = await setupUdp(url, rtsp);
    const tcp = sessionOf(
      await rtsp.request("SETUP", `${url}/trackID=0`, { Transport: "RTP/AVP/TCP;unicast" }),
    );
    for (const id of [silent.id, reporting.id, tcp]) {
      assert.equal((await rtsp.request("PLAY", url, { Session: id })).status, 200);
    }
    // Until the silent one is dropped, and for at least 1.2 s: the reporting one outlives the limit.
    const startedAt = Date.now();
    let reports = 0;
    while (statsOf(camera, silent.id).state !== "ended" || Date.now() - startedAt < 1200) {
      assert.ok(Date.now() - startedAt < 10_000, "the silent session was never dropped");
      reporting.rtcp.send(receiverReport(reporting.ssrc, 1), reporting.serverRtp + 1, "127.0.0.1");
      reports += 1;
      if (statsOf(camera, silent.id).state !== "ended") {
        assert.equal((await rtsp.request("GET_PARAMETER", url, { Session: silent.id })).status, 200);
      }
      await sleep(100);
    }
    const dropped = statsOf(camera, silent.id);
    assert.equal(dropped.ended, "no receiver reports");
    assert.ok(dropped.rtpPacketsSent > 0);
    assert.equal((await rtsp.request("GET_PARAMETER", url, { Session: silent.id })).status, 454);
    const count = silent.received.length;
    await sleep(150);
    assert.equal(silent.received.length, count, "no RTP after the drop");
    assert.equal(statsOf(camera, reporting.id).state, "playing");
    await until(
      () => statsOf(camera, reporting.id).receiverReports === reports,
      "every report counted",
      2000,
    );
    assert.equal(statsOf(camera, notPlaying.id).state, "ready", "only playing sessions must report");
    assert.equal(statsOf(camera, tcp).state, "playing", "the TCP connection shows the client is there");
    assert.equal(camera.sessions, 3);
  });

  it("waits for receiver reports again after PAUSE and PLAY", async () => {
    const { camera, url } = await startCamera({ requireReceiverReportsMs: 300 });
    const rtsp = rtspOf();
    const udp = await setupUdp(url, rtsp);
    assert.equal((await rtsp.request("PLAY", url, { Session: udp.id })).status, 200);
    assert.equal((await rtsp.request("PAUSE", url, { Session: udp.id })).status, 200);
    await sleep(500);
    assert.equal(statsOf(camera, udp.id).state, "paused", "a paused session is not waited on");
    assert.equal((await rtsp.request("PLAY", url, { Session: udp.id })).status, 200);
    await until(() => statsOf(camera, udp.id).state === "ended", "the drop", 5000);
    assert.equal(statsOf(camera, udp.id).ended, "no receiver reports");
  });

  it("without GET_PARAMETER support: leaves it out of Public, answers 501, still counts it as life", async () => {
    // A request every 250 ms for 2 s: longer than the 1 s timeout, each gap well under it.
    const { camera, url } = await startCamera({ supportGetParameter: false, sessionTimeoutSeconds: 1 });
    const rtsp = rtspOf();
    const options = await rtsp.request("OPTIONS", url);
    assert.equal(options.headers.get("public"), "OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN");
    const id = sessionOf(
      await rtsp.request("SETUP", `${url}/trackID=0`, { Transport: "RTP/AVP/TCP;unicast" }),
    );
    for (let i = 0; i < 8; i++) {
      const response = await rtsp.request("GET_PARAMETER", url, { Session: id });
      assert.equal(response.status, 501);
      assert.equal(response.headers.get("public"), "OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN");
      await sleep(250);
    }
    assert.equal(camera.sessions, 1);
    assert.equal((await rtsp.request("OPTIONS", url, { Session: id })).status, 200);
    assert.deepEqual(statsOf(camera, id).requests, { GET_PARAMETER: 8, OPTIONS: 1 });
    assert.deepEqual(camera.requestCounts(), { OPTIONS: 2, SETUP: 1, GET_PARAMETER: 8 });
    // Method names are the client's: even these are counted as plain names.
    assert.equal((await rtsp.request("__proto__", url, { Session: id })).status, 501);
    assert.equal((await rtsp.request("constructor", url)).status, 501);
    assert.deepEqual(
      { ...camera.requestCounts() },
      { OPTIONS: 2, SETUP: 1, GET_PARAMETER: 8, ["__proto__"]: 1, constructor: 1 },
    );
    assert.deepEqual(Object.entries(statsOf(camera, id).requests), [
      ["GET_PARAMETER", 8],
      ["OPTIONS", 1],
      ["__proto__", 1],
    ]);
  });

  it("refuses a bad receiver report limit", () => {
    for (const requireReceiverReportsMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(() => new DemoCamera({ requireReceiverReportsMs }), RangeError);
    }
  });
});
