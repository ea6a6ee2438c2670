import { RateMeter } from "../rtp/rate-meter";
import type { AccessUnit, StreamInfo } from "../rtp/stream-info";

export interface StreamMeterReading {
  /** Video frames per second. */
  readonly fps: number;
  /** Every packet's bytes, video and audio. */
  readonly kbps: number;
  readonly packetsPerSecond: number;
  /** Between the last two video keyframes; undefined before the second. */
  readonly keyframeIntervalS?: number;
  /** Breaks in a media's sequence numbers (loss or reordering), within source sessions, since the start. */
  readonly gaps: number;
  /** Frames seen since the start. */
  readonly frames: number;
  /** performance.now() of the last frame; undefined before the first. */
  readonly lastFrameAt?: number;
}

/**
 * What a stream looks like as it passes: rates over the last seconds, the keyframe interval and
 * sequence-number gaps. Reads two bytes of each packet; a new source session starts each media's
 * sequence afresh (a camera restart is not a gap).
 */
export class StreamMeter {
  private readonly video = new RateMeter();
  private readonly all = new RateMeter();
  private readonly expected = new Map<string, number>();
  private sessionKey = "";
  private lastKeyframeAt: number | undefined;
  private keyframeIntervalMs: number | undefined;
  private gapCount = 0;
  private frameCount = 0;
  private lastAt: number | undefined;

  add(unit: AccessUnit, stream: StreamInfo, now: number): void {
    const key = `${stream.id}\n${stream.session}`;
    if (key !== this.sessionKey) {
      this.sessionKey = key;
      this.expected.clear();
      this.lastKeyframeAt = undefined;
    }
    let bytes = 0;
    let expected = this.expected.get(unit.mid);
    for (const packet of unit.packets) {
      bytes += packet.length;
      if (packet.length < 12) continue;
      const sequence = packet.readUInt16BE(2);
      if (expected !== undefined && sequence !== expected) this.gapCount++;
      expected = (sequence + 1) & 0xffff;
    }
    if (expected !== undefined) this.expected.set(unit.mid, expected);
    this.all.add(now, bytes, unit.packets.length);
    if (unit.kind === "video") {
      this.video.add(now, bytes, unit.packets.length);
      if (unit.keyframe) {
        if (this.lastKeyframeAt !== undefined) this.keyframeIntervalMs = now - this.lastKeyframeAt;
        this.lastKeyframeAt = now;
      }
    }
    this.frameCount++;
    this.lastAt = now;
  }

  read(now: number): StreamMeterReading {
    const all = this.all.rates(now);
    const reading: StreamMeterReading = {
      fps: this.video.rates(now).framesPerSecond,
      kbps: all.kbps,
      packetsPerSecond: all.packetsPerSecond,
      gaps: this.gapCount,
      frames: this.frameCount,
      lastFrameAt: this.lastAt,
    };
    return this.keyframeIntervalMs === undefined
      ? reading
      : { ...reading, keyframeIntervalS: Math.round(this.keyframeIntervalMs / 100) / 10 };
  }
}
