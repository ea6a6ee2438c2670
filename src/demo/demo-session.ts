import { randomBytes, randomInt } from "node:crypto";
import { H264Packetizer } from "../rtp/h264-packetizer";
import type { DemoClip } from "./clip";
import { FramePacer } from "./frame-pacer";
import type { MediaSink } from "./media-sink";
import { buildSenderReport } from "./rtcp-sender-report";
import { DEMO_PAYLOAD_TYPE, VIDEO_CLOCK_RATE } from "./sdp";

const SENDER_REPORT_INTERVAL_MS = 5000;

export interface DemoSessionOptions {
  readonly clip: DemoClip;
  readonly fps: number;
  readonly sink: MediaSink;
  /** The URL the client set the track up with, echoed in RTP-Info. */
  readonly trackUrl: string;
  readonly timeoutMs: number;
  /** Called once when the session ends by itself (timeout); not called by close(). */
  readonly onTimeout: (session: DemoSession) => void;
  /** Clip frame the first PLAY starts at; default: random, like a camera joined mid-GOP. */
  readonly startFrame?: number;
}

export interface PlayInfo {
  readonly sequence: number;
  readonly rtpTime: number;
}

/**
 * One RTSP session playing the clip in a loop: its own SSRC, sequence and timestamp bases, 90 kHz
 * timestamps that run on across the loop point (tick k has base + k * 90000 / fps).
 */
export class DemoSession {
  readonly id = randomBytes(8).toString("hex").toUpperCase();
  readonly ssrc = randomBytes(4).readUInt32BE(0);
  readonly trackUrl: string;
  private readonly timestampBase = randomBytes(4).readUInt32BE(0);
  private readonly startFrame: number;
  private readonly packetizer: H264Packetizer;
  private readonly pacer: FramePacer;
  private readonly timeout: NodeJS.Timeout;
  private packetCount = 0;
  private octetCount = 0;
  private lastReportMs: number | undefined;
  private waitForKeyframe = false;
  private closed = false;

  constructor(private readonly opts: DemoSessionOptions) {
    this.trackUrl = opts.trackUrl;
    this.startFrame = opts.startFrame ?? randomInt(opts.clip.frames.length);
    this.packetizer = new H264Packetizer({
      payloadType: DEMO_PAYLOAD_TYPE,
      ssrc: this.ssrc,
      initialSequence: randomInt(65536),
    });
    this.pacer = new FramePacer(opts.fps, (tick) => this.sendFrame(tick));
    this.timeout = setTimeout(() => {
      this.close();
      opts.onTimeout(this);
    }, opts.timeoutMs);
  }

  get playing(): boolean {
    return this.pacer.running;
  }

  get sink(): MediaSink {
    return this.opts.sink;
  }

  get transportHeader(): string {
    return this.opts.sink.transportHeader(this.ssrc);
  }

  /** Starts or resumes; frames flow from the next timer turn, after the caller's response. */
  play(): PlayInfo {
    const tick = this.pacer.start();
    return { sequence: this.packetizer.nextSequence, rtpTime: this.timestampAt(tick) };
  }

  pause(): void {
    this.pacer.stop();
  }

  /** The client showed it is alive: restart the session timeout. */
  touch(): void {
    if (!this.closed) this.timeout.refresh();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pacer.stop();
    clearTimeout(this.timeout);
    this.opts.sink.close();
  }

  private timestampAt(tick: number): number {
    return (this.timestampBase + Math.round((tick * VIDEO_CLOCK_RATE) / this.opts.fps)) % 0x100000000;
  }

  private sendFrame(tick: number): void {
    const frames = this.opts.clip.frames;
    const frame = frames[(this.startFrame + tick) % frames.length]!;
    if (this.waitForKeyframe && !frame.keyframe) return;
    const packets = this.packetizer.packetize(frame.nals, this.timestampAt(tick));
    // A frame the client cannot take breaks the reference chain: skip on to the next IDR.
    this.waitForKeyframe = !this.opts.sink.sendRtp(packets);
    if (this.waitForKeyframe) return;
    this.packetCount += packets.length;
    for (const packet of packets) this.octetCount += packet.length - 12;
    const nowMs = Date.now();
    if (this.lastReportMs === undefined || nowMs - this.lastReportMs >= SENDER_REPORT_INTERVAL_MS) {
      this.lastReportMs = nowMs;
      this.sendSenderReport(nowMs);
    }
  }

  private sendSenderReport(wallClockMs: number): void {
    const ticks = this.pacer.ticksAt();
    const report = buildSenderReport({
      ssrc: this.ssrc,
      wallClockMs,
      rtpTimestamp: this.timestampAt(ticks),
      packetCount: this.packetCount,
      octetCount: this.octetCount,
      cname: `demo-camera-${this.id.toLowerCase()}`,
    });
    this.opts.sink.sendRtcp(report);
  }
}
