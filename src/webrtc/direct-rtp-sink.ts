import type { RTCRtpSender } from "werift";
import type { FramePacket } from "./frame-packets";
import { ReceiverReportIntake } from "./receiver-report-intake";
import { ReportClock, type Reporter } from "./report-clock";
import { compactNtp, ntpBigInt, ntpTimeOf, senderReport } from "./sender-report";
import { MAX_SRTCP_INDEX, type SrtcpProtector, srtcpProtector } from "./srtcp-protect";
import { decryptRtcpNatively } from "./srtcp-receive";
import { RTP_HEADER_SIZE, type RtpTrackFields, type SrtpProtector, srtpProtector } from "./srtp-protect";
import { datagramSender, type SendDatagram } from "./udp-send-now";
import {
  type CandidatePairInternals,
  type DtlsInternals,
  type SenderInternals,
  type SrtcpContextInternals,
  senderInternals,
} from "./werift-internals";

/** Packets kept for NACKs: about 1.3 s of a 2 Mbit/s stream, four times werift's own 128. */
export const NACK_HISTORY = 512;

/**
 * Every sink's sender reports, each every 0.5–1.5 s (randomised as RFC 3550 §6.3.5 asks, and as
 * werift does), from one timer ticking every 100 ms.
 */
export const senderReportClock = new ReportClock({ minMs: 500, spreadMs: 1000 }, 100);

/**
 * Sends a track's RTP on werift's connection without werift's per-packet path: the header is written
 * straight from the track's fields, SRTP uses the session keys werift derived, and the datagram goes
 * out on the nominated pair's socket. werift keeps ICE, DTLS and the RTCP it receives; NACKs are
 * answered from this sink's own history, and the sender reports are written here too.
 *
 * werift's path costs about a third more per packet: it clones the packet, rebuilds header
 * extensions, reads the clock, serialises the header, and concatenates three buffers per packet.
 * Its sender reports cost about 5 % of the relay's CPU at 50 viewers: objects, a formatted clock, a
 * promise timer and its JavaScript SRTCP per report; here they are bytes in one buffer.
 */
export class DirectRtpSink implements Reporter {
  private readonly sender: SenderInternals;
  private context: unknown;
  private protector: SrtpProtector | undefined;
  /** SSRC and the payload type this browser gave the codec, read when the keys are. */
  private trackFields: RtpTrackFields = { payloadType: 0, ssrc: 0 };
  private rollover = 0;
  private lastSequence = -1;
  /**
   * NACK history, by sequence number modulo NACK_HISTORY: the shared packet and this viewer's fields
   * in typed arrays. An object per packet per viewer kept this long (2 s) would be promoted out of
   * V8's young generation at 23,000 a second (100 viewers), and leave full collections to free it.
   */
  private readonly sentPackets: (FramePacket | undefined)[] = new Array(NACK_HISTORY);
  private readonly sentSequence = new Int32Array(NACK_HISTORY).fill(-1);
  private readonly sentTimestamp = new Uint32Array(NACK_HISTORY);
  private readonly sentRollover = new Uint32Array(NACK_HISTORY);
  /** The header fields of the packet being protected; the protector does not keep them. */
  private readonly header = { marker: false, sequence: 0, timestamp: 0 };
  /** The socket last sent on, and its sender (see datagramSender). */
  private sendingSocket: unknown;
  private sendDatagram: SendDatagram | undefined;
  private rtcpContext: SrtcpContextInternals | undefined;
  /** Where this sink's SSRC is registered for the viewer's receiver reports. */
  private intake: ReceiverReportIntake | undefined;
  private rtcpProtector: SrtcpProtector | undefined;
  /** performance.now() when the last packet went out, stamped `lastTimestamp`; NaN before the first. */
  private lastSentAt = Number.NaN;
  private lastTimestamp = 0;
  private closed = false;
  /** Packets this sink sent again for NACKs. */
  retransmitted = 0;
  /** Sender reports this sink sent. */
  reportsSent = 0;

  constructor(sender: RTCRtpSender) {
    this.sender = senderInternals(sender);
    sender.onGenericNack.subscribe((nack) => this.retransmit(nack.lost));
  }

  /**
   * Sends `packet` as this viewer's `sequence` with `timestamp` and returns true, or returns false
   * when this path cannot (not connected yet, or a negotiation this path does not write: header
   * extensions, RED, another SRTP profile).
   */
  write(packet: FramePacket, sequence: number, timestamp: number): boolean {
    const dtls = this.ready();
    if (dtls === undefined || this.protector === undefined) return false;
    if (this.lastSequence !== -1 && sequence < this.lastSequence && this.lastSequence - sequence > 0x8000) {
      this.rollover = (this.rollover + 1) >>> 0;
    }
    this.lastSequence = sequence;
    const slot = sequence % NACK_HISTORY;
    this.sentPackets[slot] = packet;
    this.sentSequence[slot] = sequence;
    this.sentTimestamp[slot] = timestamp;
    this.sentRollover[slot] = this.rollover;
    const sender = this.sender;
    const bytes = this.transmit(dtls, this.protector, packet, sequence, timestamp, this.rollover);
    sender.packetCount = (sender.packetCount + 1) >>> 0;
    sender.octetCount += packet.payload.length;
    sender.headerBytesSent += RTP_HEADER_SIZE;
    this.lastTimestamp = timestamp;
    this.lastSentAt = performance.now();
    return bytes > 0;
  }

  /** Stops the sender reports; the sink writes nothing more. Safe to call again. */
  close(): void {
    this.closed = true;
    senderReportClock.delete(this);
    this.intake?.delete(this.trackFields.ssrc, this.sender);
    this.intake = undefined;
  }

  private retransmit(lost: readonly number[]): void {
    const dtls = this.ready();
    if (dtls === undefined || this.protector === undefined) return;
    for (const sequence of lost) {
      const slot = sequence % NACK_HISTORY;
      const packet = this.sentPackets[slot];
      if (packet === undefined || this.sentSequence[slot] !== sequence) continue;
      // The same index and keys give the same ciphertext: a receiver that never got it takes it.
      const timestamp = this.sentTimestamp[slot] as number;
      const rollover = this.sentRollover[slot] as number;
      if (this.transmit(dtls, this.protector, packet, sequence, timestamp, rollover) === 0) continue;
      this.retransmitted++;
      this.sender.retransmittedPacketsSent++;
      this.sender.retransmittedBytesSent += packet.payload.length;
    }
  }

  /** Sends a sender report now (senderReportClock calls it when one is due). */
  report(): void {
    const sender = this.sender;
    if (this.closed || sender.stopped) {
      senderReportClock.delete(this);
      return;
    }
    // werift's own loop runs when werift's path sent (then it reports, from the same counters).
    if (sender.rtcpRunning || Number.isNaN(this.lastSentAt)) return;
    const dtls = this.ready();
    const context = this.rtcpContext;
    if (dtls === undefined || context === undefined || this.rtcpProtector === undefined) return;
    const connection = dtls.iceTransport.connection;
    const pair = connection.nominated;
    if (pair === undefined || !connection.canSendApplicationData()) return;
    const ntp = ntpTimeOf(performance.timeOrigin + this.lastSentAt);
    const ssrc = this.trackFields.ssrc;
    const rtcp = senderReport({
      ssrc,
      ntp,
      rtpTimestamp: this.lastTimestamp,
      packetCount: sender.packetCount,
      octetCount: sender.octetCount,
      ...(sender.cname !== undefined ? { cname: sender.cname } : {}),
    });
    // werift's index for this SSRC, moved on as werift's own encryptRTCP does.
    const state = context.getSrtcpSsrcState(ssrc);
    state.srtcpIndex = state.srtcpIndex >= MAX_SRTCP_INDEX ? 0 : state.srtcpIndex + 1;
    if (this.transmitDatagram(dtls, pair, this.rtcpProtector.protect(rtcp, state.srtcpIndex)) === 0) return;
    this.reportsSent++;
    sender.ntpTimestamp = ntpBigInt(ntp);
    sender.rtpTimestamp = this.lastTimestamp;
    sender.lastSRtimestamp = compactNtp(ntp);
    sender.lastSentSRTimestamp = Date.now() / 1000;
  }

  private transmit(
    dtls: DtlsInternals,
    protector: SrtpProtector,
    packet: FramePacket,
    sequence: number,
    timestamp: number,
    rollover: number,
  ): number {
    const connection = dtls.iceTransport.connection;
    // RFC 7675: no application data after consent expired.
    if (!connection.canSendApplicationData()) return 0;
    const pair = connection.nominated;
    if (pair === undefined) return 0;
    const header = this.header;
    header.marker = packet.marker;
    header.sequence = sequence;
    header.timestamp = timestamp;
    return this.transmitDatagram(
      dtls,
      pair,
      protector.protect(header, this.trackFields, packet.payload, rollover),
    );
  }

  private transmitDatagram(dtls: DtlsInternals, pair: CandidatePairInternals, datagram: Buffer): number {
    const connection = dtls.iceTransport.connection;
    const transport = pair.protocol.transport;
    if (pair.protocol.type === "stun" && transport?.socket !== undefined) {
      if (transport.closed === true) return 0;
      if (transport.socket !== this.sendingSocket || this.sendDatagram === undefined) {
        this.sendDatagram = datagramSender(transport.socket);
        this.sendingSocket = transport.socket;
      }
      this.sendDatagram(datagram, pair.remoteAddr[1], pair.remoteAddr[0]);
      pair.packetsSent++;
      pair.bytesSent += datagram.length;
    } else {
      // TURN and TCP pairs frame their data: werift's connection does it.
      connection.send(datagram).catch(() => {});
    }
    dtls.bytesSent += datagram.length;
    dtls.packetsSent++;
    return datagram.length;
  }

  /** The DTLS transport when this path can send now; picks up (new) SRTP keys. */
  private ready(): DtlsInternals | undefined {
    const sender = this.sender;
    const dtls = sender.dtlsTransport;
    if (sender.stopped || dtls === undefined || dtls.state !== "connected" || sender.codec === undefined) {
      return undefined;
    }
    const context = dtls.srtp?.localContext;
    if (context === undefined) return undefined;
    if (context !== this.context) {
      this.context = context;
      this.trackFields = { payloadType: sender.codec.payloadType, ssrc: sender.ssrc };
      this.protector =
        sender.headerExtensions.length > 0 || sender.redRedundantPayloadType !== undefined
          ? undefined
          : srtpProtector({
              profile: context.profile,
              key: context.srtpSessionKey,
              salt: context.srtpSessionSalt,
              authKey: context.srtpSessionAuthTag,
            });
      // New keys: the receiver starts its rollover estimate afresh, and so does this sink.
      this.rollover = 0;
      this.lastSequence = -1;
      this.sentPackets.fill(undefined);
      this.sentSequence.fill(-1);
      this.rtcpContext = dtls.srtcp?.localContext;
      const rtcp = this.rtcpContext;
      this.rtcpProtector =
        this.protector === undefined || rtcp === undefined || typeof rtcp.getSrtcpSsrcState !== "function"
          ? undefined
          : srtcpProtector({
              profile: rtcp.profile,
              key: rtcp.srtcpSessionKey,
              salt: rtcp.srtcpSessionSalt,
              authKey: rtcp.srtcpSessionAuthTag,
            });
      if (this.protector !== undefined && decryptRtcpNatively(dtls) && !this.closed) {
        this.intake?.delete(this.trackFields.ssrc, this.sender);
        this.intake = ReceiverReportIntake.for(dtls);
        this.intake.add(this.trackFields.ssrc, this.sender);
      }
      if (this.rtcpProtector !== undefined && !this.closed) senderReportClock.add(this);
      else if (this.protector !== undefined) void sender.runRtcp();
    }
    return dtls;
  }
}
