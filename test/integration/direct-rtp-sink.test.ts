import assert from "node:assert/strict";
import {
  GenericNack,
  MediaStreamTrack,
  RTCPeerConnection,
  RTCRtpCodecParameters,
  type RTCRtpSender,
  RtcpSourceDescriptionPacket,
  RtcpSrPacket,
  RtcpTransportLayerFeedback,
} from "werift";
import { DirectRtpSink, senderReportClock } from "../../src/webrtc/direct-rtp-sink";
import type { FramePacket } from "../../src/webrtc/frame-packets";
import { peerIceConfig, withoutDefaultStun } from "../../src/webrtc/ice-config";
import { waitForGathering } from "../../src/webrtc/viewer";
import { senderInternals } from "../../src/webrtc/werift-internals";
import { waitFor } from "../helpers/wait";
import { connectViewer, type WeriftViewer } from "../helpers/werift-viewer";

const ICE = { iceServers: [], additionalHostAddresses: ["127.0.0.1"] };

/** A send-only werift peer answering `sdp` with one H.264 track, as a Viewer makes it. */
async function answer(sdp: string, pcs: RTCPeerConnection[], senders: RTCRtpSender[]): Promise<string> {
  const codec = new RTCRtpCodecParameters({
    mimeType: "video/H264",
    clockRate: 90000,
    rtcpFeedback: [{ type: "nack" }, { type: "nack", parameter: "pli" }],
    parameters: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
  });
  const pc = new RTCPeerConnection({ ...peerIceConfig(ICE), codecs: { video: [codec], audio: [] } });
  pcs.push(pc);
  const transceiver = pc.addTransceiver(new MediaStreamTrack({ kind: "video", codec }), {
    direction: "sendonly",
  });
  senders.push(transceiver.sender);
  await pc.setRemoteDescription({ type: "offer", sdp });
  withoutDefaultStun(pc, ICE);
  await pc.setLocalDescription(await pc.createAnswer());
  await waitForGathering(pc, 3000);
  return pc.localDescription?.sdp ?? "";
}

/** DirectRtpSink.write's arguments: the shared packet, then this viewer's sequence and timestamp. */
function outgoing(
  sequence: number,
  timestamp: number,
  marker: boolean,
  fill: number,
): [FramePacket, number, number] {
  // The stream's wire packet: its own header (PT 99, another SSRC) that the sink must not copy.
  const wire = Buffer.alloc(12 + 500, fill);
  wire.writeUInt8(0x80, 0);
  wire.writeUInt8(99, 1);
  wire.writeUInt32BE(0x11111111, 8);
  const packet = { wire, payload: wire.subarray(12), marker, payloadType: 99, timestampDelta: 0 };
  return [packet, sequence, timestamp];
}

describe("DirectRtpSink with a werift receiver (loopback)", () => {
  const pcs: RTCPeerConnection[] = [];
  const sinks: DirectRtpSink[] = [];
  let viewer: WeriftViewer | undefined;
  const sinkFor = (sender: RTCRtpSender): DirectRtpSink => {
    const sink = new DirectRtpSink(sender);
    sinks.push(sink);
    return sink;
  };
  afterEach(async () => {
    for (const sink of sinks.splice(0)) sink.close();
    await viewer?.close();
    viewer = undefined;
    await Promise.all(pcs.splice(0).map((pc) => pc.close()));
  });

  it("sends SRTP the receiver decrypts: this connection's SSRC and payload type, the track's sequence", async () => {
    const senders: RTCRtpSender[] = [];
    viewer = await connectViewer({ offer: (sdp) => answer(sdp, pcs, senders), h264Profiles: ["42e01f"] });
    await viewer.connected;
    const sender = senders[0];
    assert.ok(sender);
    const sink = sinkFor(sender);
    await waitFor(
      () => sink.write(...outgoing(65534, 90_000, false, 1)),
      5000,
      "the sink takes packets once DTLS is up",
    );
    // Across the sequence wrap: the rollover counter moves on, the receiver keeps decrypting.
    for (let i = 1; i < 6; i++)
      assert.equal(sink.write(...outgoing((65534 + i) & 0xffff, 90_000 + i, i === 5, 1 + i)), true);
    const packets = viewer.packets;
    await waitFor(() => packets.length >= 6, 5000, "6 packets arrive");
    const payloadType = sender.codec?.payloadType;
    for (const [i, wire] of packets.entries()) {
      assert.equal(wire.readUInt16BE(2), (65534 + i) & 0xffff);
      assert.equal(wire[1], (i === 5 ? 0x80 : 0) | (payloadType ?? -1));
      assert.equal(wire.readUInt32BE(4), 90_000 + i);
      assert.equal(wire.readUInt32BE(8), senderInternals(sender).ssrc);
      assert.equal(wire.length, 12 + 500);
      assert.equal(wire[100], 1 + i);
    }
    // werift's sender reports and stats count what the sink sent.
    const stats = sender.collectStats(Date.now()) as unknown as {
      type: string;
      packetsSent?: number;
      bytesSent?: number;
    }[];
    const outbound = stats.find((s) => s.type === "outbound-rtp");
    assert.equal(outbound?.packetsSent, 6);
    assert.equal(outbound?.bytesSent, 6 * 500);
  });

  it("answers a NACK from its own history with the same packet, and keeps sending sender reports", async () => {
    const senders: RTCRtpSender[] = [];
    viewer = await connectViewer({ offer: (sdp) => answer(sdp, pcs, senders), h264Profiles: ["42e01f"] });
    await viewer.connected;
    const sender = senders[0];
    assert.ok(sender);
    const sink = sinkFor(sender);
    await waitFor(
      () => sink.write(...outgoing(100, 0, false, 7)),
      5000,
      "the sink takes packets once DTLS is up",
    );
    for (let i = 1; i < 10; i++) sink.write(...outgoing(100 + i, 0, i === 9, 7 + i));
    await waitFor(() => viewer !== undefined && viewer.packets.length >= 10, 5000, "10 packets arrive");

    const reports: RtcpSrPacket[] = [];
    const dtls = viewer.pc.dtlsTransports[0];
    assert.ok(dtls);
    dtls.onRtcp.subscribe((packet) => {
      if (packet instanceof RtcpSrPacket) reports.push(packet);
    });
    const ssrc = senderInternals(sender).ssrc;
    await dtls.sendRtcp([
      new RtcpTransportLayerFeedback({
        feedback: new GenericNack({ senderSsrc: 1, mediaSourceSsrc: ssrc, lost: [103, 105, 50] }),
      }),
    ]);
    await waitFor(() => viewer !== undefined && viewer.packets.length >= 12, 5000, "2 packets sent again");
    const again = viewer.packets.slice(10);
    assert.deepEqual(
      again.map((p) => p.readUInt16BE(2)),
      [103, 105],
      "the packets asked for, and not 50, which was never sent",
    );
    assert.ok(again[0]?.equals(viewer.packets[3] as Buffer));
    assert.ok(again[1]?.equals(viewer.packets[5] as Buffer));
    assert.equal(sink.retransmitted, 2);

    await waitFor(() => reports.length > 0, 5000, "a sender report arrives");
    const info = reports[reports.length - 1]?.senderInfo;
    assert.equal(info?.packetCount, 10);
    assert.equal(info?.octetCount, 10 * 500);
  });

  it("writes the sender reports itself: the last packet's RTP time and NTP send time, counts, CNAME; none after close()", async () => {
    const senders: RTCRtpSender[] = [];
    viewer = await connectViewer({ offer: (sdp) => answer(sdp, pcs, senders), h264Profiles: ["42e01f"] });
    await viewer.connected;
    const sender = senders[0];
    assert.ok(sender);
    const internals = senderInternals(sender);
    const sink = sinkFor(sender);
    await waitFor(
      () => sink.write(...outgoing(1, 3000, false, 1)),
      5000,
      "the sink takes packets once DTLS is up",
    );
    const sentAt = Date.now();
    for (let i = 1; i < 8; i++) sink.write(...outgoing(1 + i, 3000 * (i + 1), i === 7, 1));

    const reports: RtcpSrPacket[] = [];
    const names: string[] = [];
    const dtls = viewer.pc.dtlsTransports[0];
    assert.ok(dtls);
    dtls.onRtcp.subscribe((packet) => {
      if (packet instanceof RtcpSrPacket && packet.ssrc === internals.ssrc) reports.push(packet);
      if (packet instanceof RtcpSourceDescriptionPacket)
        for (const chunk of packet.chunks) for (const item of chunk.items) names.push(item.text);
    });
    await waitFor(() => reports.length >= 2, 5000, "two sender reports arrive");
    assert.equal(internals.rtcpRunning, false, "werift's own report loop does not run beside the sink's");
    assert.ok(sink.reportsSent >= 2);
    const info = reports[reports.length - 1]?.senderInfo;
    assert.ok(info);
    assert.equal(info.rtpTimestamp, 3000 * 8, "the last packet's timestamp");
    assert.equal(info.packetCount, 8);
    assert.equal(info.octetCount, 8 * 500);
    // NTP of when that packet went out: seconds since 1900 and a binary fraction.
    const unixMs =
      (Number(info.ntpTimestamp >> 32n) - 2_208_988_800 + Number(info.ntpTimestamp & 0xffffffffn) / 2 ** 32) *
      1000;
    assert.ok(Math.abs(unixMs - sentAt) < 1000, `NTP time ${unixMs} within a second of ${sentAt}`);
    assert.ok(internals.cname, "werift gives the sender a CNAME");
    assert.ok(names.includes(internals.cname), "SDES carries the sender's CNAME");
    // The viewer echoes the report's middle NTP bits (LSR): werift's RTT from them works as before.
    const rtt = sender as unknown as { roundTripTimeMeasurements: number; rtt?: number };
    await waitFor(() => rtt.roundTripTimeMeasurements > 0, 5000, "an RTT from the viewer's receiver report");
    assert.ok(rtt.rtt !== undefined && rtt.rtt >= 0 && rtt.rtt < 0.5, `RTT ${rtt.rtt} s on loopback`);

    assert.equal(senderReportClock.running, true);
    sink.close();
    assert.equal(senderReportClock.size, 0);
    assert.equal(senderReportClock.running, false, "the reports' timer ends with the last sink");
    const count = reports.length;
    await new Promise((resolve) => setTimeout(resolve, 2000));
    assert.equal(reports.length, count, "no report after close(), though the connection stays up");
  });

  it("declines before DTLS is up, so the track falls back to werift (which drops it)", async () => {
    const senders: RTCRtpSender[] = [];
    const pc = new RTCPeerConnection(peerIceConfig(ICE));
    pcs.push(pc);
    senders.push(pc.addTransceiver("video", { direction: "sendonly" }).sender);
    const sender = senders[0];
    assert.ok(sender);
    assert.equal(new DirectRtpSink(sender).write(...outgoing(1, 0, true, 1)), false);
  });
});
