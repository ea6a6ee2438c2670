import { AccessUnitAssembler } from "./access-unit";
import type { ParameterSetCodec } from "./parameter-set-store";
import { parseRtpHeader } from "./rtp-packet";
import type { AccessUnit, StreamInfo } from "./stream-info";

/** The codec of single RTP packets that arrive without a StreamInfo (Node-RED's udp in node). */
export interface PacketCodec {
  readonly codec: ParameterSetCodec;
  readonly payloadType: number;
  readonly clockRate: number;
}

/**
 * Turns single RTP packets of one video stream (ffmpeg or GStreamer sending to a udp in node) into
 * access units with a StreamInfo, as rtsp-in would emit them. A new SSRC is a new sender (ffmpeg
 * restarted) and so a new source session; packets of another payload type, and non-RTP datagrams,
 * are dropped.
 */
export class PacketInput {
  private readonly assembler: AccessUnitAssembler;
  private ssrc: number | undefined;
  private current: StreamInfo | undefined;
  private session = 0;
  private droppedPackets = 0;

  constructor(
    private readonly codec: PacketCodec,
    private readonly streamId = "rtp-input",
  ) {
    this.assembler = new AccessUnitAssembler({ kind: "video", mid: "0", codec: codec.codec });
  }

  /** The stream of the current sender; undefined before the first packet. */
  get stream(): StreamInfo | undefined {
    return this.current;
  }

  /** Datagrams dropped: not RTP, or another payload type. */
  get dropped(): number {
    return this.droppedPackets + this.assembler.dropped;
  }

  /** Takes one packet, which must own its bytes; returns the access units it completes. */
  push(packet: Buffer): { unit: AccessUnit; stream: StreamInfo }[] {
    const header = parseRtpHeader(packet);
    if (header === undefined || header.payloadType !== this.codec.payloadType) {
      this.droppedPackets++;
      return [];
    }
    if (this.current === undefined || header.ssrc !== this.ssrc) {
      this.ssrc = header.ssrc;
      this.session++;
      this.current = Object.freeze({
        id: this.streamId,
        session: this.session,
        media: Object.freeze([
          Object.freeze({
            mid: "0",
            kind: "video" as const,
            codec: this.codec.codec,
            payloadType: this.codec.payloadType,
            clockRate: this.codec.clockRate,
            fmtp: Object.freeze({}),
            relayable: true,
          }),
        ]),
      });
    }
    const stream = this.current;
    return this.assembler.push(packet).map((unit) => ({ unit, stream }));
  }
}
