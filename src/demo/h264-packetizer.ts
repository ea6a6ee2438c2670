import { RTP_HEADER_SIZE, RtpWriter, setMarker } from "../rtp/rtp-writer";

/**
 * RFC 6184 packetization-mode 1, sender side: a single NAL unit packet when a NAL unit fits,
 * FU-A fragments when it does not (RtpWriter.nalUnit cuts them). No STAP-A: every packet carries
 * one NAL unit or a part of one.
 */

/** An FU-A indicator, an FU header and a byte of the NAL unit. */
const MIN_PAYLOAD_SIZE = 3;

/** 1200-byte RTP packets: what fits a WebRTC path MTU with room for SRTP and tunnels. */
export const DEFAULT_MAX_PAYLOAD_SIZE = 1188;

export interface H264PacketizerOptions {
  /** 0..127 */
  readonly payloadType: number;
  /** 0..2^32-1 */
  readonly ssrc: number;
  /** Largest RTP payload in bytes, at least 3 (an FU-A must carry a byte). Default 1188. */
  readonly maxPayloadSize?: number;
  /** Sequence number of the first packet, 0..65535. Default 0. */
  readonly initialSequence?: number;
}

/**
 * RTP payloads for one NAL unit (without start code): the NAL unit itself when it fits in
 * maxPayloadSize, otherwise FU-A fragments (RFC 6184 5.8) that keep its F and NRI bits.
 * An empty NAL unit gives no payload. Each returned Buffer owns exactly its bytes.
 */
export function h264Payloads(nal: Buffer, maxPayloadSize: number = DEFAULT_MAX_PAYLOAD_SIZE): Buffer[] {
  const packets: Buffer[] = [];
  new RtpWriter(0, 0).nalUnit(packets, "H264", nal, 0, Math.max(maxPayloadSize, MIN_PAYLOAD_SIZE));
  return packets.map((packet) => {
    const payload = Buffer.allocUnsafeSlow(packet.length - RTP_HEADER_SIZE);
    packet.copy(payload, 0, RTP_HEADER_SIZE);
    return payload;
  });
}

function checkInteger(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`H264Packetizer: ${name} must be an integer in ${min}..${max}, got ${value}`);
  }
}

export class H264Packetizer {
  readonly payloadType: number;
  readonly ssrc: number;
  readonly maxPayloadSize: number;
  private readonly writer: RtpWriter;

  /** @throws RangeError when an option is out of range. */
  constructor(opts: H264PacketizerOptions) {
    const maxPayloadSize = opts.maxPayloadSize ?? DEFAULT_MAX_PAYLOAD_SIZE;
    const initialSequence = opts.initialSequence ?? 0;
    checkInteger("payloadType", opts.payloadType, 0, 127);
    checkInteger("ssrc", opts.ssrc, 0, 0xffffffff);
    checkInteger("maxPayloadSize", maxPayloadSize, MIN_PAYLOAD_SIZE, 65535 - RTP_HEADER_SIZE);
    checkInteger("initialSequence", initialSequence, 0, 65535);
    this.payloadType = opts.payloadType;
    this.ssrc = opts.ssrc;
    this.maxPayloadSize = maxPayloadSize;
    this.writer = new RtpWriter(opts.payloadType, initialSequence, { ssrc: opts.ssrc, ownMemory: true });
  }

  /** Sequence number the next packet will carry. */
  get nextSequence(): number {
    return this.writer.nextSequence;
  }

  /**
   * RTP packets for NAL units (without start codes), in order, all with `timestamp` (taken modulo
   * 2^32). The marker bit goes on the last packet when `marker` is true: the default, for NAL units
   * that end an access unit. Empty NAL units are skipped. Each returned Buffer owns exactly its bytes.
   */
  packetize(nals: readonly Buffer[], timestamp: number, marker = true): Buffer[] {
    const whole = Number.isFinite(timestamp) ? Math.floor(timestamp) : 0;
    const rtpTimestamp = ((whole % 0x100000000) + 0x100000000) % 0x100000000;
    const packets: Buffer[] = [];
    for (const nal of nals) this.writer.nalUnit(packets, "H264", nal, rtpTimestamp, this.maxPayloadSize);
    const last = packets.at(-1);
    if (marker && last !== undefined) setMarker(last);
    return packets;
  }
}
