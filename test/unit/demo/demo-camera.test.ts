import assert from "node:assert/strict";
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { once } from "node:events";
import { connect } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { loadDemoClip } from "../../../src/demo/clip";
import { DemoCamera, type DemoCameraOptions } from "../../../src/demo/demo-camera";
import { digestResponse, parseWwwAuthenticate } from "../../../src/rtsp/auth";
import { waitFor } from "../../helpers/wait";
import { RtspTestClient, type TestResponse } from "./rtsp-test-client";

interface Rtp {
  readonly marker: boolean;
  readonly payloadType: number;
  readonly sequence: number;
  readonly timestamp: number;
  readonly ssrc: number;
  readonly payload: Buffer;
}

function parseRtp(packet: Buffer): Rtp {
  assert.equal(packet[0], 0x80, "RTP version 2, no padding, extension or CSRC");
  return {
    marker: (packet[1]! & 0x80) !== 0,
    payloadType: packet[1]! & 0x7f,
    sequence: packet.readUInt16BE(2),
    timestamp: packet.readUInt32BE(4),
    ssrc: packet.readUInt32BE(8),
    payload: packet.subarray(12),
  };
}

/** RTP timestamps of the frames (marker packets), in order. */
function frameTimestamps(packets: readonly Rtp[]): number[] {
  return packets.filter((packet) => packet.marker).map((packet) => packet.timestamp);
}

function assertContinuous(packets: readonly Rtp[]): void {
  for (let i = 1; i < packets.length; i++) {
    assert.equal(packets[i]!.sequence, (packets[i - 1]!.sequence + 1) & 0xffff, `sequence at packet ${i}`);
  }
}

function sessionId(response: TestResponse): string {
  const header = response.headers.get("session");
  assert.ok(header, "Session header");
  assert.match(header, /^[0-9A-F]{16};timeout=\d+$/);
  return header.split(";")[0]!;
}

describe("DemoCamera (raw RTSP)", function () {
  this.timeout(10000);
  const cameras: DemoCamera[] = [];
  const clients: RtspTestClient[] = [];
  const udpSockets: UdpSocket[] = [];

  async function startCamera(
    opts: DemoCameraOptions = {},
  ): Promise<{ camera: DemoCamera; url: string; port: number }> {
    const camera = new DemoCamera(opts);
    cameras.push(camera);
    const { url, port } = await camera.start();
    return { camera, url, port };
  }

  async function client(port: number): Promise<RtspTestClient> {
    const connected = await RtspTestClient.connect(port);
    clients.push(connected);
    return connected;
  }

  afterEach(async () => {
    for (const connected of clients.splice(0)) connected.destroy();
    for (const socket of udpSockets.splice(0)) socket.close();
    await Promise.all(cameras.splice(0).map((camera) => camera.close()));
  });

  it("answers OPTIONS with its methods, echoing CSeq", async () => {
    const { url, port } = await startCamera();
    assert.match(url, /^rtsp:\/\/127\.0\.0\.1:\d+\/demo$/);
    const rtsp = await client(port);
    const response = await rtsp.request("OPTIONS", url);
    assert.equal(response.status, 200);
    assert.equal(
      response.headers.get("public"),
      "OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER",
    );
    assert.equal(response.headers.get("cseq"), "1");
  });

  it("describes the clip: Content-Base, H.264 with its parameter sets, 404 elsewhere", async () => {
    const { url, port } = await startCamera();
    const clip = await loadDemoClip();
    const rtsp = await client(port);
    const response = await rtsp.request("DESCRIBE", url, { Accept: "application/sdp" });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "application/sdp");
    assert.equal(response.headers.get("content-base"), `${url}/`);
    const sdp = response.body.toString();
    const sprop = `${clip.sps.toString("base64")},${clip.pps.toString("base64")}`;
    assert.match(sdp, /^m=video 0 RTP\/AVP 96\r$/m);
    assert.ok(
      sdp.includes(
        `a=fmtp:96 packetization-mode=1;profile-level-id=4d401e;sprop-parameter-sets=${sprop}\r\n`,
      ),
    );
    assert.match(sdp, /^a=control:trackID=0\r$/m);
    assert.match(sdp, /^a=framerate:25\r$/m);
    assert.equal((await rtsp.request("DESCRIBE", `${url}/`)).status, 200);
    assert.equal((await rtsp.request("DESCRIBE", url.replace("/demo", "/other"))).status, 404);
  });

  it("answers 501 to unknown methods, 400 to a request without CSeq, 454 to unknown sessions, 461 to bad transports", async () => {
    const { url, port } = await startCamera();
    const rtsp = await client(port);
    assert.equal((await rtsp.request("ANNOUNCE", url)).status, 501);
    assert.equal((await rtsp.request("FROBNICATE", url)).status, 501);
    rtsp.writeRaw(`OPTIONS ${url} RTSP/1.0\r\n\r\n`);
    assert.equal((await rtsp.nextResponse()).status, 400);
    assert.equal((await rtsp.request("PLAY", url, { Session: "0123456789ABCDEF" })).status, 454);
    assert.equal((await rtsp.request("PLAY", url)).status, 454);
    assert.equal((await rtsp.request("TEARDOWN", url)).status, 454);
    const track = `${url}/trackID=0`;
    assert.equal((await rtsp.request("SETUP", track, { Transport: "RTP/AVP;multicast" })).status, 461);
    assert.equal((await rtsp.request("SETUP", track)).status, 461);
    assert.equal(
      (await rtsp.request("SETUP", `${url}/trackID=1`, { Transport: "RTP/AVP/TCP;interleaved=0-1" })).status,
      404,
    );
    assert.equal((await rtsp.request("OPTIONS", url)).status, 200, "the connection is still usable");
  });

  it("answers garbage with 400 and closes the connection, and keeps serving others", async () => {
    const { url, port } = await startCamera();
    const bad = await client(port);
    bad.writeRaw(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x0d, 0x0a, 0x0d, 0x0a]));
    assert.equal((await bad.nextResponse()).status, 400);
    await bad.closed;
    const good = await client(port);
    assert.equal((await good.request("OPTIONS", url)).status, 200);
  });

  it("writes a reply byte for byte: status line, CSeq, Server, Date, then its headers", async () => {
    const { url, port } = await startCamera();
    const socket = connect(port, "127.0.0.1");
    socket.on("error", () => {});
    let text = "";
    socket.on("data", (chunk: Buffer) => {
      text += chunk.toString("latin1");
    });
    socket.write(`OPTIONS ${url} RTSP/1.0\r\nCSeq: 7\r\n\r\n`);
    try {
      await waitFor(() => text.endsWith("\r\n\r\n"), 3000, "the OPTIONS reply");
    } finally {
      socket.destroy();
    }
    assert.match(
      text,
      /^RTSP\/1\.0 200 OK\r\nCSeq: 7\r\nServer: node-red-rtsp-webrtc demo camera\r\nDate: [A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT\r\nPublic: OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER\r\n\r\n$/,
    );
  });

  it("answers another RTSP version 505 with its CSeq, and reads on", async () => {
    const { url, port } = await startCamera();
    const rtsp = await client(port);
    rtsp.writeRaw(`OPTIONS * RTSP/2.0\r\nCSeq: 4\r\n\r\nOPTIONS ${url} RTSP/1.0\r\nCSeq: 5\r\n\r\n`);
    const refused = await rtsp.nextResponse();
    assert.equal(refused.status, 505);
    assert.equal(refused.headers.get("cseq"), "4");
    const answered = await rtsp.nextResponse();
    assert.equal(answered.status, 200);
    assert.equal(answered.headers.get("cseq"), "5");
  });

  it("answers a body over 64 KiB 413, a header over 16 KiB 400, and closes", async () => {
    const { url, port } = await startCamera();
    const cases: ReadonlyArray<readonly [string, number]> = [
      [`OPTIONS ${url} RTSP/1.0\r\nCSeq: 1\r\nContent-Length: 70000\r\n\r\n`, 413],
      [`OPTIONS ${url} RTSP/1.0\r\nCSeq: 1\r\nX-Pad: ${"a".repeat(17 * 1024)}`, 400],
      [`OPTIONS ${url} RTSP/1.0\r\nCSeq: 1\r\nno colon here\r\n\r\n`, 400],
    ];
    for (const [wire, status] of cases) {
      const rtsp = await client(port);
      rtsp.writeRaw(wire);
      assert.equal((await rtsp.nextResponse()).status, status, wire.slice(0, 60));
      await rtsp.closed;
    }
  });

  it("answers the requests before garbage in the same read, then 400, and closes", async () => {
    const { url, port } = await startCamera();
    const rtsp = await client(port);
    rtsp.writeRaw(`OPTIONS ${url} RTSP/1.0\r\nCSeq: 1\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n`);
    const answered = await rtsp.nextResponse();
    assert.equal(answered.status, 200);
    assert.equal(answered.headers.get("cseq"), "1");
    assert.equal((await rtsp.nextResponse()).status, 400);
    await rtsp.closed;
  });

  it("plays over TCP interleaved at 25 fps: RTP-Info, own SSRC, continuous sequence, 3600-tick timestamps, SR", async () => {
    const { camera, url, port } = await startCamera();
    const rtsp = await client(port);
    const track = `${url}/trackID=0`;
    const setup = await rtsp.request("SETUP", track, { Transport: "RTP/AVP/TCP;unicast;interleaved=0-1" });
    assert.equal(setup.status, 200);
    const id = sessionId(setup);
    assert.match(setup.headers.get("session")!, /;timeout=60$/);
    const transport = setup.headers.get("transport")!;
    const ssrc = Number.parseInt(/ssrc=([0-9A-F]{8})/.exec(transport)![1]!, 16);
    assert.match(transport, /^RTP\/AVP\/TCP;unicast;interleaved=0-1;ssrc=[0-9A-F]{8};mode="PLAY"$/);
    assert.equal(camera.sessions, 1);

    const play = await rtsp.request("PLAY", url, { Session: id, Range: "npt=0.000-" });
    assert.equal(play.status, 200);
    assert.equal(play.headers.get("range"), "npt=0.000-");
    const info = /^url=(.+);seq=(\d+);rtptime=(\d+)$/.exec(play.headers.get("rtp-info") ?? "");
    assert.ok(info, play.headers.get("rtp-info"));
    assert.equal(info[1], track);
    const playedAt = Date.now();
    await sleep(1000);
    const elapsed = (Date.now() - playedAt) / 1000;
    const rtp = rtsp.packets.filter((packet) => packet.channel === 0).map((packet) => parseRtp(packet.data));
    assert.ok(rtp.length > 0);
    assert.equal(rtp[0]!.sequence, Number(info[2]));
    assert.equal(rtp[0]!.timestamp, Number(info[3]));
    assertContinuous(rtp);
    for (const packet of rtp) {
      assert.equal(packet.ssrc, ssrc);
      assert.equal(packet.payloadType, 96);
      assert.ok(packet.payload.length <= 1188);
    }
    const timestamps = frameTimestamps(rtp);
    const expected = elapsed * 25;
    assert.ok(Math.abs(timestamps.length - expected) <= 3, `${timestamps.length} frames in ${elapsed} s`);
    for (let i = 1; i < timestamps.length; i++)
      assert.equal((timestamps[i]! - timestamps[i - 1]! + 2 ** 32) % 2 ** 32, 3600);

    const reports = rtsp.packets.filter((packet) => packet.channel === 1).map((packet) => packet.data);
    assert.ok(reports.length >= 1, "an RTCP sender report after the first frame");
    assert.equal(reports[0]![1], 200);
    assert.equal(reports[0]!.readUInt32BE(4), ssrc);

    assert.equal((await rtsp.request("GET_PARAMETER", url, { Session: id })).status, 200);
    assert.equal((await rtsp.request("TEARDOWN", url, { Session: id })).status, 200);
    assert.equal(camera.sessions, 0);
    const count = rtsp.packets.length;
    await sleep(120);
    assert.equal(rtsp.packets.length, count, "no RTP after TEARDOWN");
  });

  it("sends packets up to maxPacketSize (1400, as GStreamer's payloaders do), fragments filled to it", async () => {
    const { url, port } = await startCamera({ maxPacketSize: 1400 });
    const rtsp = await client(port);
    const setup = await rtsp.request("SETUP", `${url}/trackID=0`, {
      Transport: "RTP/AVP/TCP;unicast;interleaved=0-1",
    });
    assert.equal((await rtsp.request("PLAY", url, { Session: sessionId(setup) })).status, 200);
    await sleep(1500);
    const sizes = rtsp.packets.filter((packet) => packet.channel === 0).map((packet) => packet.data.length);
    assert.ok(sizes.length > 0);
    assert.ok(Math.max(...sizes) <= 1400, `largest ${Math.max(...sizes)}`);
    // FU-A fragments but a NAL unit's last are filled to the limit: 1400 bytes exactly.
    assert.ok(sizes.filter((size) => size === 1400).length > 0, `no 1400-byte packet among ${sizes.length}`);
  });

  it("gives every session its own SSRC, sequence and timestamp bases", async () => {
    const { url, port } = await startCamera();
    const rtsp = await client(port);
    const starts: Array<{ ssrc: string; seq: string; rtptime: string }> = [];
    for (let i = 0; i < 3; i++) {
      const setup = await rtsp.request("SETUP", `${url}/trackID=0`, { Transport: "RTP/AVP/TCP;unicast" });
      assert.match(setup.headers.get("transport")!, new RegExp(`interleaved=${2 * i}-${2 * i + 1};`));
      const play = await rtsp.request("PLAY", url, { Session: sessionId(setup) });
      const [, seq = "", rtptime = ""] = /seq=(\d+);rtptime=(\d+)/.exec(play.headers.get("rtp-info")!)!;
      starts.push({ ssrc: /ssrc=(\w+)/.exec(setup.headers.get("transport")!)![1]!, seq, rtptime });
    }
    for (const key of ["ssrc", "seq", "rtptime"] as const) {
      assert.equal(new Set(starts.map((start) => start[key])).size, 3, key);
    }
  });

  it("loops the clip with timestamps and sequence running on across the loop point", async () => {
    // 500 fps plays the 250-frame clip in half a second.
    const { port, url } = await startCamera({ fps: 500, startAt: "start" });
    const clip = await loadDemoClip();
    const rtsp = await client(port);
    const setup = await rtsp.request("SETUP", `${url}/trackID=0`, {
      Transport: "RTP/AVP/TCP;interleaved=0-1",
    });
    await rtsp.request("PLAY", url, { Session: sessionId(setup) });
    await rtsp.until(
      () =>
        rtsp.packets.filter((packet) => packet.channel === 0 && (packet.data[1]! & 0x80) !== 0).length >= 260,
    );
    const rtp = rtsp.packets.filter((packet) => packet.channel === 0).map((packet) => parseRtp(packet.data));
    assertContinuous(rtp);
    const timestamps = frameTimestamps(rtp);
    for (let i = 1; i < timestamps.length; i++)
      assert.equal((timestamps[i]! - timestamps[i - 1]! + 2 ** 32) % 2 ** 32, 180);
    // The first packet of frames 0 and 250 (the loop point) is the SPS, sent whole.
    const firstPacketOfFrame = (frame: number): Rtp =>
      rtp.find((packet) => packet.timestamp === timestamps[frame])!;
    assert.deepEqual(firstPacketOfFrame(0).payload, clip.sps);
    assert.deepEqual(firstPacketOfFrame(250).payload, clip.sps);
    const { payload } = firstPacketOfFrame(1);
    const type = (payload[0]! & 0x1f) === 28 ? payload[1]! & 0x1f : payload[0]! & 0x1f;
    assert.equal(type, 1, "frame 1 is a P slice");
  });

  it("drops frames for a TCP client that stops reading, and starts it again at an IDR", async () => {
    // 5000 fps: about 11 MB/s, enough to fill the loopback buffers within a second.
    const { port, url } = await startCamera({ fps: 5000, startAt: "start" });
    const clip = await loadDemoClip();
    const rtsp = await client(port);
    const setup = await rtsp.request("SETUP", `${url}/trackID=0`, {
      Transport: "RTP/AVP/TCP;interleaved=0-1",
    });
    await rtsp.request("PLAY", url, { Session: sessionId(setup) });
    rtsp.pause();
    await sleep(1500);
    rtsp.resume();
    await sleep(300);
    const rtp = rtsp.packets.filter((packet) => packet.channel === 0).map((packet) => parseRtp(packet.data));
    const timestamps = frameTimestamps(rtp);
    const step = 90000 / 5000;
    const resumedAt = timestamps.findIndex(
      (timestamp, i) => i > 0 && (timestamp - timestamps[i - 1]!) >>> 0 !== step,
    );
    assert.ok(resumedAt > 0, "frames were dropped while the client did not read");
    const first = rtp.find((packet) => packet.timestamp === timestamps[resumedAt])!;
    assert.deepEqual(first.payload, clip.sps, "the first frame after the gap is an IDR with its SPS");
  });

  it("plays over UDP from an even/odd server port pair to the client's ports", async () => {
    const { camera, url, port } = await startCamera();
    const rtpSocket = createSocket("udp4");
    const rtcpSocket = createSocket("udp4");
    udpSockets.push(rtpSocket, rtcpSocket);
    rtpSocket.bind(0, "127.0.0.1");
    rtcpSocket.bind(0, "127.0.0.1");
    await Promise.all([once(rtpSocket, "listening"), once(rtcpSocket, "listening")]);
    const clientPorts = `${rtpSocket.address().port}-${rtcpSocket.address().port}`;
    const received: Array<{ data: Buffer; from: number }> = [];
    const reports: Buffer[] = [];
    rtpSocket.on("message", (data, from) => received.push({ data, from: from.port }));
    rtcpSocket.on("message", (data) => reports.push(data));

    const rtsp = await client(port);
    const setup = await rtsp.request("SETUP", `${url}/trackID=0`, {
      Transport: `RTP/AVP;unicast;client_port=${clientPorts}`,
    });
    assert.equal(setup.status, 200);
    const transport = setup.headers.get("transport")!;
    const serverPorts = /server_port=(\d+)-(\d+)/.exec(transport);
    assert.ok(serverPorts, transport);
    const serverRtp = Number(serverPorts[1]);
    assert.equal(serverRtp % 2, 0);
    assert.equal(Number(serverPorts[2]), serverRtp + 1);
    assert.ok(transport.startsWith(`RTP/AVP;unicast;client_port=${clientPorts};server_port=`));

    const id = sessionId(setup);
    const play = await rtsp.request("PLAY", url, { Session: id });
    const seq = Number(/seq=(\d+)/.exec(play.headers.get("rtp-info")!)![1]);
    await rtsp.until(
      () => received.filter((packet) => (packet.data[1]! & 0x80) !== 0).length >= 10 && reports.length > 0,
    );
    assert.ok(received.every((packet) => packet.from === serverRtp));
    const rtp = received.map((packet) => parseRtp(packet.data));
    assert.equal(rtp[0]!.sequence, seq);
    assertContinuous(rtp);
    assert.equal(reports[0]![1], 200);

    assert.equal((await rtsp.request("PAUSE", url, { Session: id })).status, 200);
    await sleep(60);
    const paused = received.length;
    await sleep(150);
    assert.equal(received.length, paused, "no RTP while paused");
    assert.equal((await rtsp.request("PLAY", url, { Session: id })).status, 200);
    await rtsp.until(() => received.length > paused);
    assert.equal((await rtsp.request("TEARDOWN", url, { Session: id })).status, 200);
    assert.equal(camera.sessions, 0);
  });

  it("ends the sessions of a client that vanishes", async () => {
    const { camera, url, port } = await startCamera();
    const rtsp = await client(port);
    const setup = await rtsp.request("SETUP", `${url}/trackID=0`, {
      Transport: "RTP/AVP/TCP;interleaved=0-1",
    });
    await rtsp.request("PLAY", url, { Session: sessionId(setup) });
    await rtsp.until(() => rtsp.packets.length > 5);
    assert.equal(camera.sessions, 1);
    rtsp.destroy();
    await rtsp.until(() => camera.sessions === 0);
  });

  it("ends a session after its timeout without requests, and keepalives hold it", async () => {
    const { camera, url, port } = await startCamera({ sessionTimeoutSeconds: 0.4 });
    const quiet = await client(port);
    const kept = await client(port);
    const quietSetup = await quiet.request("SETUP", `${url}/trackID=0`, {
      Transport: "RTP/AVP/TCP;interleaved=0-1",
    });
    const keptSetup = await kept.request("SETUP", `${url}/trackID=0`, {
      Transport: "RTP/AVP/TCP;interleaved=0-1",
    });
    await quiet.request("PLAY", url, { Session: sessionId(quietSetup) });
    const keptId = sessionId(keptSetup);
    await kept.request("PLAY", url, { Session: keptId });
    assert.equal(camera.sessions, 2);
    for (let i = 0; i < 8; i++) {
      await sleep(100);
      assert.equal((await kept.request("GET_PARAMETER", url, { Session: keptId })).status, 200);
    }
    assert.equal(camera.sessions, 1, "the quiet session timed out, the kept one lives");
    assert.equal((await kept.request("PLAY", url, { Session: sessionId(quietSetup) })).status, 454);
  });

  it("requires Digest for everything but OPTIONS when credentials are set", async () => {
    const { camera, url, port } = await startCamera({ username: "alice", password: "s3cret" });
    const rtsp = await client(port);
    assert.equal((await rtsp.request("OPTIONS", url)).status, 200);
    const denied = await rtsp.request("DESCRIBE", url);
    assert.equal(denied.status, 401);
    const challenge = denied.headers.get("www-authenticate")!;
    assert.match(challenge, /^Digest realm="[^"]+", nonce="[0-9a-f]+", algorithm=MD5, qop="auth"$/);
    const [parsed] = parseWwwAuthenticate([challenge]);
    assert.ok(parsed?.nonce !== undefined);
    const { realm, nonce } = parsed;
    const authorization = (method: string, uri: string, password: string): string => {
      const qop = { nc: "00000001", cnonce: "0123abcd" };
      const response = digestResponse({ username: "alice", realm, password, method, uri, nonce, ...qop });
      return `Digest username="alice", realm="${realm}", nonce="${nonce}", uri="${uri}", response="${response}", algorithm=MD5, qop=auth, nc=00000001, cnonce="0123abcd"`;
    };
    assert.equal(
      (await rtsp.request("DESCRIBE", url, { Authorization: authorization("DESCRIBE", url, "guess") }))
        .status,
      401,
    );
    assert.equal(
      (await rtsp.request("DESCRIBE", url, { Authorization: authorization("DESCRIBE", url, "s3cret") }))
        .status,
      200,
    );
    const track = `${url}/trackID=0`;
    const transport = "RTP/AVP/TCP;interleaved=0-1";
    assert.equal((await rtsp.request("SETUP", track, { Transport: transport })).status, 401);
    assert.equal(
      (
        await rtsp.request("SETUP", track, {
          Transport: transport,
          Authorization: authorization("DESCRIBE", url, "s3cret"),
        })
      ).status,
      401,
      "an answer for another method and URI does not open SETUP",
    );
    assert.equal(camera.sessions, 0);
    const setup = await rtsp.request("SETUP", track, {
      Transport: transport,
      Authorization: authorization("SETUP", track, "s3cret"),
    });
    assert.equal(setup.status, 200);
    assert.equal(camera.sessions, 1);
  });

  it("closes every session and connection on close(), and can be closed twice", async () => {
    const { camera, url, port } = await startCamera();
    const rtsp = await client(port);
    const setup = await rtsp.request("SETUP", `${url}/trackID=0`, {
      Transport: "RTP/AVP/TCP;interleaved=0-1",
    });
    await rtsp.request("PLAY", url, { Session: sessionId(setup) });
    await camera.close();
    await rtsp.closed;
    assert.equal(camera.sessions, 0);
    await camera.close();
  });

  it("refuses bad options, a clip it cannot loop and a taken port", async () => {
    assert.throws(() => new DemoCamera({ port: 70000 }), RangeError);
    assert.throws(() => new DemoCamera({ fps: 0 }), RangeError);
    assert.throws(() => new DemoCamera({ sessionTimeoutSeconds: -1 }), RangeError);
    await assert.rejects(new DemoCamera({ clipPath: "/nonexistent/clip.h264" }).start(), /ENOENT/);
    const { port } = await startCamera();
    await assert.rejects(new DemoCamera({ port }).start(), /EADDRINUSE/);
  });
});
