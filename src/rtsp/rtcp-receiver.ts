/**
 * What one RTP receiver knows of its sender (RFC 3550 §6.4.1, appendix A.3 and A.8), and the receiver
 * reports it sends back: some NVRs end a UDP session when no receiver reports arrive.
 */
import { RTCP_RR, RTCP_SR, sdesCname } from "../rtp/rtcp-packet";

const SEQ_MOD = 0x10000;
const TIMESTAMP_MOD = 2 ** 32;

export class RtpReceiverStats {
  private ssrc: number | undefined;
  private baseSeq = 0;
  private maxSeq = 0;
  private cycles = 0;
  private received = 0;
  private expectedPrior = 0;
  private receivedPrior = 0;
  private jitter = 0;
  private lastTransit: number | undefined;
  /** Middle 32 bits of the NTP timestamp of the last SR, and when it arrived. */
  private lastSr = 0;
  private lastSrArrivalMs = 0;

  constructor(private readonly clockRate: number) {}

  get packetsReceived(): number {
    return this.received;
  }

  /** Feeds one RTP packet; the caller has checked that it is at least 12 bytes. */
  onRtp(packet: Buffer, arrivalMs: number): void {
    const seq = packet.readUInt16BE(2);
    const timestamp = packet.readUInt32BE(4);
    const ssrc = packet.readUInt32BE(8);
    if (ssrc !== this.ssrc) {
      this.ssrc = ssrc;
      this.baseSeq = seq;
      this.maxSeq = seq;
      this.cycles = 0;
      this.received = 0;
      this.expectedPrior = 0;
      this.receivedPrior = 0;
      this.jitter = 0;
      this.lastTransit = undefined;
      this.lastSr = 0;
      this.lastSrArrivalMs = 0;
    } else {
      const delta = (seq - this.maxSeq + SEQ_MOD) % SEQ_MOD;
      if (delta > 0 && delta < 0x8000) {
        if (seq < this.maxSeq) this.cycles += SEQ_MOD;
        this.maxSeq = seq;
      }
    }
    this.received++;
    const arrival = (arrivalMs * this.clockRate) / 1000;
    const transit = arrival - timestamp;
    if (this.lastTransit !== undefined) {
      // RFC 3550 A.8 does this in 32-bit arithmetic: across a timestamp wrap the difference stays small.
      const d = Math.abs(
        ((((transit - this.lastTransit) % TIMESTAMP_MOD) + 1.5 * TIMESTAMP_MOD) % TIMESTAMP_MOD) -
          TIMESTAMP_MOD / 2,
      );
      this.jitter += (d - this.jitter) / 16;
    }
    this.lastTransit = transit;
  }

  /** Reads the sender reports of one compound RTCP packet; anything malformed is ignored. */
  onRtcp(packet: Buffer, arrivalMs: number): void {
    let offset = 0;
    while (offset + 8 <= packet.length) {
      const version = packet[offset]! >> 6;
      const type = packet[offset + 1]!;
      const length = (packet.readUInt16BE(offset + 2) + 1) * 4;
      if (version !== 2 || offset + length > packet.length) return;
      if (type === RTCP_SR && length >= 28) {
        this.lastSr = packet.readUInt32BE(offset + 10);
        this.lastSrArrivalMs = arrivalMs;
      }
      offset += length;
    }
  }

  /** A compound RR + SDES CNAME packet, or undefined before any RTP arrived. */
  buildReport(ownSsrc: number, cname: string, nowMs: number): Buffer | undefined {
    if (this.ssrc === undefined) return undefined;
    const extendedMax = this.cycles + this.maxSeq;
    const expected = extendedMax - this.baseSeq + 1;
    const lost = Math.max(-0x800000, Math.min(0x7fffff, expected - this.received));
    const expectedInterval = expected - this.expectedPrior;
    const receivedInterval = this.received - this.receivedPrior;
    this.expectedPrior = expected;
    this.receivedPrior = this.received;
    const lostInterval = expectedInterval - receivedInterval;
    const fraction =
      expectedInterval <= 0 || lostInterval <= 0 ? 0 : Math.floor((lostInterval << 8) / expectedInterval);
    const dlsr = this.lastSr === 0 ? 0 : Math.round(((nowMs - this.lastSrArrivalMs) / 1000) * 65536);

    const rr = Buffer.alloc(32);
    rr[0] = 0x81; // V=2, one report block
    rr[1] = RTCP_RR;
    rr.writeUInt16BE(7, 2);
    rr.writeUInt32BE(ownSsrc >>> 0, 4);
    rr.writeUInt32BE(this.ssrc, 8);
    rr[12] = Math.min(255, fraction);
    rr.writeIntBE(lost, 13, 3);
    rr.writeUInt32BE(extendedMax >>> 0, 16);
    rr.writeUInt32BE(Math.round(this.jitter) >>> 0, 20);
    rr.writeUInt32BE(this.lastSr >>> 0, 24);
    rr.writeUInt32BE(dlsr >>> 0, 28);
    return Buffer.concat([rr, sdesCname(ownSsrc, cname)]);
  }
}
