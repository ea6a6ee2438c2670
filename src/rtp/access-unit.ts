import { isH264KeyframePayload } from "./h264";
import { isH265KeyframePayload } from "./h265";
import { parseRtpHeader, rtpPayload } from "./rtp-packet";
import type { AccessUnit, CodecName, MediaKind } from "./stream-info";

export interface AssemblerOptions {
  readonly kind: MediaKind;
  readonly mid: string;
  readonly codec: CodecName;
  /** Bounds memory for a camera that never sets the marker bit. Default 2048. */
  readonly maxPackets?: number;
  /** Default 8 MiB. */
  readonly maxBytes?: number;
}

const DEFAULT_MAX_PACKETS = 2048;
const DEFAULT_MAX_BYTES = 8 * 1024 * 1024;

type KeyframeTest = (payload: Buffer) => boolean;

function keyframeTestFor(codec: CodecName): KeyframeTest {
  if (codec === "H264") return isH264KeyframePayload;
  if (codec === "H265") return isH265KeyframePayload;
  return () => false;
}

/**
 * Groups one media's RTP packets into access units (docs/ARCHITECTURE.md, "The message contract").
 * A video frame ends at the marker bit, at a change of timestamp or SSRC (for cameras that never set
 * the marker), or when the bounds are reached; each audio packet is an access unit of its own. Audio
 * units are never keyframes: the flag marks where a video decoder can start.
 */
export class AccessUnitAssembler {
  private readonly kind: MediaKind;
  private readonly mid: string;
  private readonly isKeyframePayload: KeyframeTest;
  private readonly maxPackets: number;
  private readonly maxBytes: number;

  private packets: Buffer[] = [];
  private bytes = 0;
  private timestamp = 0;
  private ssrc = 0;
  private keyframe = false;
  private droppedPackets = 0;

  constructor(opts: AssemblerOptions) {
    this.kind = opts.kind;
    this.mid = opts.mid;
    this.isKeyframePayload = keyframeTestFor(opts.codec);
    this.maxPackets = Math.max(1, opts.maxPackets ?? DEFAULT_MAX_PACKETS);
    this.maxBytes = Math.max(1, opts.maxBytes ?? DEFAULT_MAX_BYTES);
  }

  /** Malformed packets dropped so far. */
  get dropped(): number {
    return this.droppedPackets;
  }

  /**
   * Takes one packet, which must own its bytes (it is stored, not copied); returns the access
   * units it completes: none, one, or two (the previous frame, cut by a new timestamp, and this
   * packet's own frame when it carries the marker).
   */
  push(packet: Buffer): AccessUnit[] {
    const header = parseRtpHeader(packet);
    if (header === undefined) {
      this.droppedPackets++;
      return [];
    }
    if (this.kind === "audio") {
      return [
        { kind: "audio", mid: this.mid, timestamp: header.timestamp, keyframe: false, packets: [packet] },
      ];
    }

    const completed: AccessUnit[] = [];
    if (this.packets.length > 0 && (header.timestamp !== this.timestamp || header.ssrc !== this.ssrc)) {
      completed.push(this.take());
    }
    if (this.packets.length === 0) {
      this.timestamp = header.timestamp;
      this.ssrc = header.ssrc;
    }
    this.packets.push(packet);
    this.bytes += packet.length;
    if (!this.keyframe && this.isKeyframePayload(rtpPayload(packet, header))) this.keyframe = true;

    if (header.marker || this.packets.length >= this.maxPackets || this.bytes >= this.maxBytes) {
      completed.push(this.take());
    }
    return completed;
  }

  /** Emits the frame in progress, if any (end of stream, or before a reconnect). */
  flush(): AccessUnit[] {
    return this.packets.length > 0 ? [this.take()] : [];
  }

  private take(): AccessUnit {
    const unit: AccessUnit = {
      kind: this.kind,
      mid: this.mid,
      timestamp: this.timestamp,
      keyframe: this.keyframe,
      packets: this.packets,
    };
    this.packets = [];
    this.bytes = 0;
    this.keyframe = false;
    return unit;
  }
}
