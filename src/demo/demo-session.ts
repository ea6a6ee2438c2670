import { randomBytes, randomInt } from "node:crypto";
import { RTP_HEADER_SIZE } from "../rtp/rtp-writer";
import type { DemoClip } from "./clip";
import { FramePacer } from "./frame-pacer";
import { H264Packetizer } from "./h264-packetizer";
import type { MediaSink } from "./media-sink";
import { parseRtcpCompound, type RtcpReportBlock } from "./rtcp-report-reader";
import { buildSenderReport } from "./rtcp-sender-report";
import { DEMO_PAYLOAD_TYPE, VIDEO_CLOCK_RATE } from "./sdp";

const SENDER_REPORT_INTERVAL_MS = 5000;

/** Why a session ended. */
export type DemoSessionEnd =
  | "teardown"
  | "timeout"
  | "no receiver reports"
  | "connection closed"
  | "camera closed";

export interface DemoSessionOptions {
  readonly clip: DemoClip;
  readonly fps: number;
  readonly sink: MediaSink;
  /** The URL the client set the track up with, echoed in RTP-Info. */
  readonly trackUrl: string;
  readonly timeoutMs: number;
  /** While playing, end the session when no receiver report about it arrives for this long. */
  readonly receiverReportTimeoutMs?: number;
  /** Called once when the session ends by itself (timeout, no receiver reports); not called by close(). */
  readonly onExpire: (session: DemoSession, why: DemoSessionEnd) => void;
  /** Clip frame the first PLAY starts at; default: random, like a camera joined mid-GOP. */
  readonly startFrame?: number;
  /** Called with process.hrtime.bigint() right after each RTP packet is handed to the sink's socket. */
  readonly onPacketSent?: (packet: Buffer, atNs: bigint) => void;
  /** A receiver report about the session restarts its timeout, as a request does. Default false. */
  readonly receiverReportsKeepAlive?: boolean;
  /** The largest RTP packet, header included; default the packetizer's (1200). */
  readonly maxPacketSize?: number;
}

/** A receiver report block about the session's SSRC, as it arrived from the client. */
export interface ReceivedReceiverReport {
  /** Date.now() at arrival. */
  readonly receivedAtMs: number;
  /** The RTCP packet that carried the block: an RR, or an SR from a client that also sends. */
  readonly type: "RR" | "SR";
  /** The client's own SSRC. */
  readonly reporterSsrc: number;
  readonly block: RtcpReportBlock;
  /** The reporter's CNAME when the compound packet had one. */
  readonly cname?: string;
  /** Sequence number of the last RTP packet the camera had sent when the report arrived. */
  readonly lastSequenceSent?: number;
}

/** What a session sent and what its client sent back. */
export interface DemoSessionStats {
  readonly id: string;
  readonly transport: "tcp" | "udp";
  readonly ssrc: number;
  readonly state: "ready" | "playing" | "paused" | "ended";
  readonly ended?: DemoSessionEnd;
  readonly rtpPacketsSent: number;
  readonly lastSequenceSent?: number;
  /** Requests that named this session in their Session header, by method. */
  readonly requests: Readonly<Record<string, number>>;
  /** Packets on the RTCP channel from the client (UDP: datagrams from its address), valid or not. */
  readonly rtcpPackets: number;
  /** Those that were not valid compound RTCP. */
  readonly invalidRtcpPackets: number;
  /** RTCP packets with a report block about this session's SSRC. */
  readonly receiverReports: number;
  readonly lastReport?: ReceivedReceiverReport;
  /** Packets on the RTP channel from the client: over UDP, NAT punches. */
  readonly punchPackets: number;
  /** Of rtcpPackets and punchPackets, those handled before the first PLAY. */
  readonly beforePlay: { readonly rtcpPackets: number; readonly punchPackets: number };
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
  private reportWatchdog: NodeJS.Timeout | undefined;
  private packetCount = 0;
  private octetCount = 0;
  private lastSequence: number | undefined;
  private lastReportMs: number | undefined;
  private waitForKeyframe = false;
  private everPlayed = false;
  private endedBy: DemoSessionEnd | undefined;
  /** A Map, not an object: method names come from clients. */
  private readonly requests = new Map<string, number>();
  private rtcpPackets = 0;
  private invalidRtcpPackets = 0;
  private receiverReports = 0;
  private lastReceiverReport: ReceivedReceiverReport | undefined;
  private punchPackets = 0;
  private readonly beforePlay = { rtcpPackets: 0, punchPackets: 0 };
  private readonly onSent: ((packet: Buffer) => void) | undefined;

  constructor(private readonly opts: DemoSessionOptions) {
    this.trackUrl = opts.trackUrl;
    this.startFrame = opts.startFrame ?? randomInt(opts.clip.frames.length);
    this.packetizer = new H264Packetizer({
      payloadType: DEMO_PAYLOAD_TYPE,
      ssrc: this.ssrc,
      initialSequence: randomInt(65536),
      ...(opts.maxPacketSize === undefined ? {} : { maxPayloadSize: opts.maxPacketSize - RTP_HEADER_SIZE }),
    });
    this.pacer = new FramePacer(opts.fps, (tick) => this.sendFrame(tick));
    const hook = opts.onPacketSent;
    this.onSent =
      hook === undefined
        ? undefined
        : (packet) => {
            try {
              hook(packet, process.hrtime.bigint());
            } catch {
              // An observer's failure must not cut a frame short.
            }
          };
    this.timeout = setTimeout(() => this.expire("timeout"), opts.timeoutMs);
    opts.sink.listen({
      rtcp: (packet) => this.onClientRtcp(packet),
      rtp: () => {
        this.punchPackets++;
        if (!this.everPlayed) this.beforePlay.punchPackets++;
      },
    });
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

  get stats(): DemoSessionStats {
    return {
      id: this.id,
      transport: this.opts.sink.kind,
      ssrc: this.ssrc,
      state: this.endedBy ? "ended" : this.playing ? "playing" : this.everPlayed ? "paused" : "ready",
      ended: this.endedBy,
      rtpPacketsSent: this.packetCount,
      lastSequenceSent: this.lastSequence,
      requests: Object.fromEntries(this.requests),
      rtcpPackets: this.rtcpPackets,
      invalidRtcpPackets: this.invalidRtcpPackets,
      receiverReports: this.receiverReports,
      lastReport: this.lastReceiverReport,
      punchPackets: this.punchPackets,
      beforePlay: { ...this.beforePlay },
    };
  }

  /** Starts or resumes; frames flow from the next timer turn, after the caller's response. */
  play(): PlayInfo {
    const tick = this.pacer.start();
    if (!this.endedBy) {
      this.everPlayed = true;
      this.armReportWatchdog();
    }
    return { sequence: this.packetizer.nextSequence, rtpTime: this.timestampAt(tick) };
  }

  pause(): void {
    this.pacer.stop();
    clearTimeout(this.reportWatchdog);
    this.reportWatchdog = undefined;
  }

  /** The client showed it is alive: restart the session timeout. */
  touch(): void {
    if (!this.endedBy) this.timeout.refresh();
  }

  /** Counts a request that named this session. */
  countRequest(method: string): void {
    this.requests.set(method, (this.requests.get(method) ?? 0) + 1);
  }

  close(why: DemoSessionEnd): void {
    if (this.endedBy) return;
    this.endedBy = why;
    this.pacer.stop();
    clearTimeout(this.timeout);
    clearTimeout(this.reportWatchdog);
    this.opts.sink.close();
  }

  private expire(why: DemoSessionEnd): void {
    if (this.endedBy) return;
    this.close(why);
    this.opts.onExpire(this, why);
  }

  /** (Re)starts the wait for the next receiver report, as NVRs that drop silent UDP receivers do. */
  private armReportWatchdog(): void {
    const limit = this.opts.receiverReportTimeoutMs;
    if (limit === undefined) return;
    if (this.reportWatchdog) this.reportWatchdog.refresh();
    else this.reportWatchdog = setTimeout(() => this.expire("no receiver reports"), limit);
  }

  private onClientRtcp(packet: Buffer): void {
    this.rtcpPackets++;
    if (!this.everPlayed) this.beforePlay.rtcpPackets++;
    const compound = parseRtcpCompound(packet);
    if (!compound) {
      this.invalidRtcpPackets++;
      return;
    }
    for (const report of compound.reports) {
      const block = report.blocks.find((candidate) => candidate.ssrc === this.ssrc);
      if (!block) continue;
      this.receiverReports++;
      const cname = compound.cnames.get(report.ssrc);
      this.lastReceiverReport = {
        receivedAtMs: Date.now(),
        type: report.type,
        reporterSsrc: report.ssrc,
        block,
        cname,
        lastSequenceSent: this.lastSequence,
      };
      if (this.playing) this.armReportWatchdog();
      if (this.opts.receiverReportsKeepAlive === true) this.touch();
    }
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
    this.waitForKeyframe = !this.opts.sink.sendRtp(packets, this.onSent);
    if (this.waitForKeyframe) return;
    this.packetCount += packets.length;
    this.lastSequence = packets.at(-1)?.readUInt16BE(2) ?? this.lastSequence;
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
