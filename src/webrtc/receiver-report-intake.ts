import { RTCP_RR, RTCP_SDES } from "../rtp/rtcp-packet";
import { type SrtcpProtector, srtcpProtector } from "./srtcp-protect";
import type { DtlsInternals, SenderInternals } from "./werift-internals";

/** werift's smoothing of the round-trip time (RTCRtpSender's RTT_ALPHA). */
const RTT_ALPHA = 0.85;
const REPORT_BLOCK_SIZE = 24;

/** What a receiver report block updates on the sender it is about: what werift's getStats reads. */
export interface ReportedSenderInternals extends SenderInternals {
  remotePacketsLost?: number;
  remoteFractionLost?: number;
  rtt?: number;
  totalRoundTripTime: number;
  roundTripTimeMeasurements: number;
}

const intakes = new WeakMap<object, ReceiverReportIntake>();

/**
 * The receiver reports a viewer sends (one a second per media, for the whole session) read before
 * werift: decrypted with Node's ciphers and their report blocks applied to the senders they are
 * about, as werift's RTCRtpSender applies them (lost packets, fraction lost, round-trip time).
 * werift's own path runs each one through its transport's events, an object per packet and per
 * block and its router, in code called too rarely to be optimised: with the consent checks, most of
 * what a connected viewer cost the relay besides its media. Any other RTCP (NACK, PLI, FIR, REMB,
 * BYE, a sender report) goes to werift as before, whole.
 */
export class ReceiverReportIntake {
  private readonly senders = new Map<number, ReportedSenderInternals>();
  private session: unknown;
  private protector: SrtcpProtector | undefined;
  /** Datagrams taken here. */
  read = 0;

  private constructor(private dtls: DtlsInternals) {}

  /** The intake of `dtls`'s ICE connection (one per viewer with BUNDLE), made on first use. */
  static for(dtls: DtlsInternals): ReceiverReportIntake {
    const connection = dtls.iceTransport.connection;
    let intake = intakes.get(connection);
    if (intake === undefined) {
      intake = new ReceiverReportIntake(dtls);
      intakes.set(connection, intake);
    }
    intake.dtls = dtls;
    return intake;
  }

  /** Reports about `ssrc` go to `sender` from now. */
  add(ssrc: number, sender: SenderInternals): void {
    this.senders.set(ssrc >>> 0, sender as ReportedSenderInternals);
  }

  delete(ssrc: number, sender: SenderInternals): void {
    if (this.senders.get(ssrc >>> 0) === sender) this.senders.delete(ssrc >>> 0);
  }

  /** Takes `datagram` (SRTCP) when it holds receiver reports (and SDES) only; false leaves it to werift. */
  take(datagram: Buffer): boolean {
    if (this.senders.size === 0 || this.dtls.state !== "connected") return false;
    const protector = this.currentProtector();
    if (protector === undefined) return false;
    let rtcp: Buffer;
    try {
      rtcp = protector.unprotect(datagram);
    } catch {
      // werift checks it again, and drops it as it drops any packet that fails.
      return false;
    }
    if (!receiverReportsOnly(rtcp)) return false;
    this.apply(rtcp);
    const dtls = this.dtls as DtlsInternals & { bytesReceived: number; packetsReceived: number };
    dtls.bytesReceived += datagram.length;
    dtls.packetsReceived++;
    const pair = dtls.iceTransport.connection.nominated as
      | { packetsReceived: number; bytesReceived: number }
      | undefined;
    if (pair !== undefined) {
      pair.packetsReceived++;
      pair.bytesReceived += datagram.length;
    }
    this.read++;
    return true;
  }

  private currentProtector(): SrtcpProtector | undefined {
    const session = this.dtls.srtcp;
    if (session !== this.session) {
      this.session = session;
      const remote = session?.remoteContext;
      this.protector =
        remote === undefined
          ? undefined
          : srtcpProtector({
              profile: remote.profile,
              key: remote.srtcpSessionKey,
              salt: remote.srtcpSessionSalt,
              authKey: remote.srtcpSessionAuthTag,
            });
    }
    return this.protector;
  }

  private apply(rtcp: Buffer): void {
    for (let at = 0; at < rtcp.length; at += (rtcp.readUInt16BE(at + 2) + 1) * 4) {
      if (rtcp[at + 1] !== RTCP_RR) continue;
      const count = (rtcp[at] as number) & 0x1f;
      for (let i = 0; i < count; i++) {
        const block = at + 8 + i * REPORT_BLOCK_SIZE;
        const sender = this.senders.get(rtcp.readUInt32BE(block));
        if (sender !== undefined) applyReportBlock(sender, rtcp, block);
      }
    }
  }
}

/** The intake of this ICE connection (the shared port reads it by the connection a datagram came to). */
export function receiverReportIntakeOf(connection: object): ReceiverReportIntake | undefined {
  return intakes.get(connection);
}

/** True when the compound packet is well formed and holds nothing but RR and SDES packets. */
export function receiverReportsOnly(rtcp: Buffer): boolean {
  let at = 0;
  while (at < rtcp.length) {
    if (at + 4 > rtcp.length) return false;
    const first = rtcp[at] as number;
    if (first >> 6 !== 2) return false;
    const type = rtcp[at + 1];
    const length = (rtcp.readUInt16BE(at + 2) + 1) * 4;
    if (at + length > rtcp.length) return false;
    if (type === RTCP_RR) {
      if (8 + (first & 0x1f) * REPORT_BLOCK_SIZE > length) return false;
    } else if (type !== RTCP_SDES) {
      return false;
    }
    at += length;
  }
  return at > 0;
}

/** RFC 3550 §6.4.1 report block at `block`, as werift's RTCRtpSender.handleRtcpPacket applies it. */
function applyReportBlock(sender: ReportedSenderInternals, rtcp: Buffer, block: number): void {
  // werift reads the cumulative loss as 24 unsigned bits: kept, so getStats reads the same either way.
  sender.remotePacketsLost = rtcp.readUIntBE(block + 5, 3);
  sender.remoteFractionLost = (rtcp[block + 4] as number) / 256;
  const lsr = rtcp.readUInt32BE(block + 16);
  const dlsr = rtcp.readUInt32BE(block + 20);
  if (sender.lastSRtimestamp !== lsr || dlsr === 0 || !sender.lastSentSRTimestamp) return;
  const rtt = Date.now() / 1000 - sender.lastSentSRTimestamp - dlsr / 65536;
  sender.totalRoundTripTime += rtt;
  sender.roundTripTimeMeasurements++;
  sender.rtt = sender.rtt === undefined ? rtt : RTT_ALPHA * sender.rtt + (1 - RTT_ALPHA) * rtt;
}
