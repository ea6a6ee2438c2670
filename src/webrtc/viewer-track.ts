import { randomInt } from "node:crypto";
import { RtpHeader, RtpPacket } from "werift";
import { type FramePacket, framePackets } from "./frame-packets";
import type { OutputFrame } from "./stream-normalizer";

/**
 * What a ViewerTrack writes to: werift's RTCRtpSender (it sets SSRC and payload type). It must not
 * keep the packet object past the call: werift 0.25.2's sendRtp (pending RTP off, its default) clones
 * it before its first await, so one object per track serves every packet (werift's RtpHeader
 * constructor was among the costliest lines of the relay at 100 viewers).
 */
export interface RtpSink {
  sendRtp(packet: RtpPacket): Promise<void>;
}

/**
 * A synchronous writer tried before the RtpSink (see DirectRtpSink); false: use the RtpSink. It may
 * keep `packet` (shared by every viewer of the frame), never change it.
 */
export interface PacketWriter {
  write(packet: FramePacket, sequence: number, timestamp: number): boolean;
  /** Ends what the writer runs by itself (its sender reports); called once, when the track stops. */
  close?(): void;
}

export interface PacingOptions {
  /** Bound of packets queued or handed to werift and not yet written. Default 4096. */
  readonly maxQueuedPackets?: number;
  /** Sustained rate of a replayed GOP, bytes per second. Default 5 MB/s (40 Mbit/s). */
  readonly bytesPerSecond?: number;
  /** Bytes of a replayed GOP that may go out at once. Default 16 KiB (about 13 full packets). */
  readonly burstBytes?: number;
}

export const DEFAULT_MAX_QUEUED_PACKETS = 4096;
const DEFAULT_BYTES_PER_SECOND = 5_000_000;
const DEFAULT_BURST_BYTES = 16 * 1024;

export interface TrackCounters {
  framesSent: number;
  packetsSent: number;
  bytesSent: number;
  /** Frames dropped because the queue was full (each starts a wait for the next keyframe). */
  framesDropped: number;
}

interface Queued {
  readonly packet: FramePacket;
  readonly sequence: number;
  readonly timestamp: number;
  /** Replayed: waits for pacing tokens. Live packets go out as the camera sent them. */
  readonly paced: boolean;
}

/**
 * One media of one viewer: its own sequence numbers (continuous, whatever is skipped upstream),
 * timestamps from the stream's output timeline, a start at a video keyframe, and a bounded queue.
 * Live frames go out at once, as bursty as the camera made them (pacing them would only add delay);
 * a replayed GOP, many frames at once, drains at the pacing rate instead of overflowing socket
 * buffers on the way. When a frame does not fit in the
 * queue it is dropped and the track waits for the next keyframe: a viewer that cannot keep up gets
 * a clean restart instead of a smeared picture, and never holds anyone else up.
 */
export class ViewerTrack {
  readonly counters: TrackCounters = { framesSent: 0, packetsSent: 0, bytesSent: 0, framesDropped: 0 };
  private sequence = randomInt(0, 0x10000);
  private inFlight = 0;
  private readonly queue: Queued[] = [];
  private queueHead = 0;
  private needKeyframe: boolean;
  private tokens: number;
  private refilledAt = performance.now();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly packet = new RtpPacket(new RtpHeader({ ssrc: 0 }), Buffer.alloc(0));
  private readonly maxQueued: number;
  private readonly rate: number;
  private readonly burst: number;
  private readonly settle = (): void => {
    this.inFlight--;
  };

  constructor(
    private readonly sink: RtpSink,
    readonly kind: "video" | "audio",
    pacing: PacingOptions = {},
    private readonly writer?: PacketWriter,
  ) {
    this.needKeyframe = kind === "video";
    this.maxQueued = Math.max(1, pacing.maxQueuedPackets ?? DEFAULT_MAX_QUEUED_PACKETS);
    this.rate = Math.max(1, pacing.bytesPerSecond ?? DEFAULT_BYTES_PER_SECOND);
    this.burst = Math.max(1500, pacing.burstBytes ?? DEFAULT_BURST_BYTES);
    this.tokens = this.burst;
  }

  /** True until a video keyframe was sent (and again after an overflow). */
  get waitingForKeyframe(): boolean {
    return this.needKeyframe;
  }

  /** Packets queued here or handed to werift and not yet written to the socket. */
  get packetsPending(): number {
    return this.queue.length - this.queueHead + this.inFlight;
  }

  /** Whether `packets` more would fit in the queue now. */
  fits(packets: number): boolean {
    return this.packetsPending + packets <= this.maxQueued;
  }

  /**
   * Queues a frame with `timestamp` (default: its own) as the timestamp of its packets, `paced` when
   * it is replayed; returns false when it was not taken (waiting for a keyframe, or dropped on
   * overflow). Never throws.
   */
  send(frame: OutputFrame, timestamp: number = frame.timestamp, paced = false): boolean {
    if (this.stopped) return false;
    if (this.needKeyframe && !frame.keyframe) return false;
    const packets = framePackets(frame);
    if (!this.fits(packets.length)) {
      this.counters.framesDropped++;
      this.needKeyframe = this.kind === "video";
      return false;
    }
    if (packets.length === 0) return false;
    this.counters.framesSent++;
    if (frame.keyframe) this.needKeyframe = false;
    // Live and nothing queued (the usual case; a pacing timer only runs while something is): out at
    // once, with no per-packet object to collect.
    const direct = !paced && this.queueHead === this.queue.length;
    for (const packet of packets) {
      const sequence = this.nextSequence();
      const at = (timestamp + packet.timestampDelta) >>> 0;
      if (direct) this.write(packet, sequence, at);
      else this.queue.push({ packet, sequence, timestamp: at, paced });
    }
    if (!direct) this.drain();
    return true;
  }

  /**
   * Sends `frames` (a GOP, keyframe first; those of other kinds are skipped) again at once, paced,
   * their timestamps one tick apart so decoders see them increase and the jitter buffer plays them
   * at once. Without `afterTimestamp` it is a fresh start, only while the track waits for a keyframe,
   * ending at the last frame's own timestamp (the live stream continues from it); with it, a repeat
   * starting just after it, so timestamps never go back. Returns the last timestamp sent, or
   * undefined when nothing was (no keyframe first, not waiting for a fresh start, or the queue is
   * too full).
   */
  replay(frames: readonly OutputFrame[], afterTimestamp?: number): number | undefined {
    const own = frames.filter((f) => f.kind === this.kind);
    const first = own[0];
    const last = own[own.length - 1];
    if (first === undefined || last === undefined || !first.keyframe) return undefined;
    if (afterTimestamp === undefined && !this.needKeyframe) return undefined;
    const packets = own.reduce((sum, f) => sum + f.packets.length, 0);
    if (!this.fits(packets)) return undefined;
    const base =
      afterTimestamp === undefined ? (last.timestamp - (own.length - 1)) >>> 0 : (afterTimestamp + 1) >>> 0;
    own.forEach((frame, i) => {
      this.send(frame, (base + i) >>> 0, true);
    });
    return (base + own.length - 1) >>> 0;
  }

  /** Drops what is queued and sends nothing more. */
  stop(): void {
    if (!this.stopped) this.writer?.close?.();
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.queue.length = 0;
    this.queueHead = 0;
  }

  private nextSequence(): number {
    const sequence = this.sequence;
    this.sequence = (sequence + 1) & 0xffff;
    return sequence;
  }

  private write(packet: FramePacket, sequence: number, timestamp: number): void {
    if (this.writer?.write(packet, sequence, timestamp) !== true) {
      this.inFlight++;
      this.sink.sendRtp(this.outgoing(packet, sequence, timestamp)).then(this.settle, this.settle);
    }
    this.counters.packetsSent++;
    this.counters.bytesSent += packet.wire.length;
  }

  /** The track's one outgoing packet object, filled in (see RtpSink). */
  private outgoing(next: FramePacket, sequence: number, timestamp: number): RtpPacket {
    const packet = this.packet;
    const header = packet.header;
    header.marker = next.marker;
    header.payloadType = next.payloadType;
    header.sequenceNumber = sequence;
    header.timestamp = timestamp;
    packet.payload = next.payload;
    return packet;
  }

  private drain(): void {
    if (this.timer !== undefined) return;
    const now = performance.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.refilledAt) * this.rate) / 1000);
    this.refilledAt = now;
    while (this.queueHead < this.queue.length) {
      const next = this.queue[this.queueHead];
      if (next === undefined) break;
      if (next.paced) {
        if (next.packet.wire.length > this.tokens) break;
        this.tokens -= next.packet.wire.length;
      }
      this.queueHead++;
      this.write(next.packet, next.sequence, next.timestamp);
    }
    if (this.queueHead === this.queue.length) {
      this.queue.length = 0;
      this.queueHead = 0;
      return;
    }
    if (this.queueHead > 1024) {
      this.queue.splice(0, this.queueHead);
      this.queueHead = 0;
    }
    const next = this.queue[this.queueHead];
    const waitMs = Math.max(
      1,
      Math.ceil((((next?.packet.wire.length ?? 0) - this.tokens) * 1000) / this.rate),
    );
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.drain();
    }, waitMs);
  }
}
