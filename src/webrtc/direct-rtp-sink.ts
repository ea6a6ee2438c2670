import type { RTCRtpSender } from "werift";
import { ntpTime } from "werift";
import type { FramePacket } from "./frame-packets";
import { RTP_HEADER_SIZE, type RtpTrackFields, type SrtpProtector, srtpProtector } from "./srtp-protect";
import { sendIpLiteralsNow } from "./udp-send-now";
import { type DtlsInternals, type SenderInternals, senderInternals } from "./werift-internals";

/** Packets kept for NACKs: about 1.3 s of a 2 Mbit/s stream, four times werift's own 128. */
export const NACK_HISTORY = 512;

/** werift's ntpTime() formats a string per call; one reading per millisecond is as exact for a sender report. */
let ntpReadAt = Number.NEGATIVE_INFINITY;
let ntpReading = 0n;
function ntpNow(): bigint {
  const now = performance.now();
  if (now - ntpReadAt >= 1) {
    ntpReadAt = now;
    ntpReading = ntpTime();
  }
  return ntpReading;
}

/**
 * Sends a track's RTP on werift's connection without werift's per-packet path: the header is written
 * straight from the track's fields, SRTP uses the session keys werift derived, and the datagram goes
 * out on the nominated pair's socket. werift keeps ICE, DTLS, RTCP and the sender reports (whose
 * counters are kept up to date here); NACKs are answered from this sink's own history.
 *
 * werift's path costs about a third more per packet: it clones the packet, rebuilds header
 * extensions, reads the clock, serialises the header, and concatenates three buffers per packet.
 */
export class DirectRtpSink {
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
  /** The socket last made to send at once (see sendIpLiteralsNow). */
  private socketSendingNow: unknown;
  /** Packets this sink sent again for NACKs. */
  retransmitted = 0;

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
    sender.rtpTimestamp = timestamp;
    sender.ntpTimestamp = ntpNow();
    return bytes > 0;
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
    const datagram = protector.protect(header, this.trackFields, packet.payload, rollover);
    const transport = pair.protocol.transport;
    if (pair.protocol.type === "stun" && transport?.socket !== undefined) {
      if (transport.closed === true) return 0;
      if (transport.socket !== this.socketSendingNow) {
        sendIpLiteralsNow(transport.socket);
        this.socketSendingNow = transport.socket;
      }
      transport.socket.send(datagram, pair.remoteAddr[1], pair.remoteAddr[0]);
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
      if (this.protector !== undefined) void sender.runRtcp();
    }
    return dtls;
  }
}
