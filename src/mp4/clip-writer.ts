import {
  AppendOnlyStreamTarget,
  EncodedAudioPacketSource,
  EncodedPacket,
  EncodedVideoPacketSource,
  type MediaCodec,
  Mp4OutputFormat,
  Output,
} from "mediabunny";
import { toAnnexB } from "../rtp/nal-depacketizer";
import { parseRtpHeader, rtpPayload } from "../rtp/rtp-packet";
import type { AccessUnit, MediaInfo, StreamInfo } from "../rtp/stream-info";
import { type AudioPlan, type AudioSkip, planAudio } from "./audio-plan";
import { RtpClock } from "./rtp-clock";
import { VideoFrames } from "./video-frames";

export interface ClipTrackSummary {
  readonly codec: string;
  readonly width?: number;
  readonly height?: number;
  readonly sampleRate?: number;
  readonly channels?: number;
}

export interface ClipSummary {
  readonly bytes: number;
  readonly durationS: number;
  readonly start: Date;
  readonly end: Date;
  readonly video?: ClipTrackSummary;
  readonly audio?: ClipTrackSummary;
}

/** Where the bytes go: append-only (fragmented MP4 never seeks back). A rejected write fails the clip. */
export interface ClipOutput {
  write(chunk: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

export interface ClipWriterOptions {
  readonly output: ClipOutput;
  readonly stream: StreamInfo;
  /** Record audio too when the stream has a codec MP4 takes (AAC, Opus, PCMA, PCMU). Default true. */
  readonly audio?: boolean;
}

/** Why units were dropped, counted. */
export interface ClipDrops {
  /** RTP that does not parse, or a video frame whose NAL units do not add up. */
  malformed: number;
  /** Units of another session (msg.stream given to add(), or an SSRC change). */
  otherSession: number;
  /** Video frames after a dropped one, up to the next keyframe. */
  awaitingKeyframe: number;
  /** The output could not keep up: dropped to the next keyframe. */
  overflow: number;
  /** Audio whose timestamp went backwards, or that came after the audio track was ended. */
  audio: number;
}

export interface ClipWriter {
  /** Adds one access unit (arrival time in ms since epoch, Date.now() by default). Units before the first
   * video keyframe are dropped (returns false); so are units of another stream session (the caller starts
   * a new clip on a camera restart). Never throws on malformed RTP: such units are dropped and counted.
   * `stream`, when given (msg.stream), is compared with the clip's: another id or session is dropped. */
  add(unit: AccessUnit, arrivalMs?: number, stream?: StreamInfo): boolean;
  /** A keyframe has been written. */
  readonly started: boolean;
  /** Bytes written so far. */
  readonly bytes: number;
  /** Video timeline so far. */
  readonly durationS: number;
  /** Units dropped after the first keyframe, or for a wrong session, or malformed (not those before it). */
  readonly dropped: number;
  readonly drops: Readonly<ClipDrops>;
  /** Why the stream's audio is not recorded, if it is not. */
  readonly audioSkipped: AudioSkip | undefined;
  /** Flushes the last fragment and closes the output; always completes (rejects only with the output's error). */
  finish(): Promise<ClipSummary>;
  /** Stops at once without flushing (disk full, redeploy); closes the output; never rejects. */
  abort(): Promise<void>;
}

/**
 * mediabunny's Mp4OutputFormat lists only the PCM codecs of ISO/IEC 23003-5 ('ipcm'), which ffmpeg
 * before 6.1 cannot read; its ISOBMFF writer also knows the 'alaw' and 'ulaw' sample entries (it
 * writes them for QuickTime), and those ffmpeg and Chromium read in an MP4 too.
 */
class Mp4WithG711 extends Mp4OutputFormat {
  override getSupportedCodecs(): MediaCodec[] {
    return [...super.getSupportedCodecs(), "alaw", "ulaw"];
  }
}

/** Units queued for mediabunny at most; past it the writer drops to the next keyframe. */
const MAX_QUEUED_UNITS = 600;
const MAX_QUEUED_BYTES = 16 * 1024 * 1024;
/**
 * mediabunny interleaves by timestamp and holds video until every open track has a sample: audio
 * that stops (or never comes) for this long of video timeline ends the clip's audio track.
 */
const AUDIO_STALL_S = 3;

interface Held {
  readonly data: Uint8Array;
  readonly timestamp: number;
  readonly key: boolean;
  /** The frame's own length when the codec fixes it. */
  readonly ownDuration: number | undefined;
}

type Job =
  | { readonly kind: "video"; readonly packet: EncodedPacket }
  | { readonly kind: "audio"; readonly packet: EncodedPacket }
  | { readonly kind: "end-audio" };

/**
 * Holds each track's latest frame until the next gives its duration: MP4 wants a duration per
 * sample, RTP gives only start times. The frame interval is the smallest step forward seen (with
 * B-frames, steps in decode order are longer and some go back).
 */
class Timeline {
  private held: Held | undefined;
  private interval: number | undefined;
  /** End of the timeline so far, in seconds: the latest start plus a frame. */
  end = 0;
  lastTimestamp = Number.NEGATIVE_INFINITY;

  constructor(private readonly defaultInterval: number) {}

  private get frameInterval(): number {
    return this.interval ?? this.defaultInterval;
  }

  /** Holds this frame, returns the one before it with its duration. */
  push(next: Held): { held: Held; duration: number } | undefined {
    const previous = this.held;
    this.held = next;
    this.lastTimestamp = next.timestamp;
    let released: { held: Held; duration: number } | undefined;
    if (previous !== undefined) {
      const delta = next.timestamp - previous.timestamp;
      if (delta > 0) this.interval = Math.min(this.interval ?? delta, delta);
      released = {
        held: previous,
        duration: previous.ownDuration ?? (delta > 0 ? delta : this.frameInterval),
      };
    }
    this.end = Math.max(this.end, next.timestamp + (next.ownDuration ?? this.frameInterval));
    return released;
  }

  /** The held frame at the end of the clip, with its own duration or a frame interval. */
  flush(): { held: Held; duration: number } | undefined {
    const held = this.held;
    this.held = undefined;
    return held && { held, duration: held.ownDuration ?? this.frameInterval };
  }
}

class Mp4ClipWriter implements ClipWriter {
  readonly drops: ClipDrops = { malformed: 0, otherSession: 0, awaitingKeyframe: 0, overflow: 0, audio: 0 };
  readonly audioSkipped: AudioSkip | undefined;
  private readonly output: ClipOutput;
  private readonly stream: StreamInfo;
  private readonly videoMedia: MediaInfo | undefined;
  private readonly audioMedia: MediaInfo | undefined;
  private readonly audioPlan: AudioPlan | undefined;
  private readonly video: VideoFrames | undefined;
  private readonly videoClock: RtpClock | undefined;
  private readonly audioClock: RtpClock | undefined;
  private readonly videoTimeline = new Timeline(1 / 25);
  private readonly audioTimeline = new Timeline(0.02);
  private videoSsrc: number | undefined;
  private audioSsrc: number | undefined;
  private startMs = 0;
  /** Seconds on the clip's timeline of the first audio unit's RTP timestamp. */
  private audioOffsetS: number | undefined;
  private audioEnded = false;
  private awaitingKeyframe = false;
  private overflowing = false;

  private mp4: Output | undefined;
  private videoSource: EncodedVideoPacketSource | undefined;
  private audioSource: EncodedAudioPacketSource | undefined;
  private sentVideoConfig = false;
  private sentAudioConfig = false;
  private readonly queue: Job[] = [];
  private queuedBytes = 0;
  private pumping: Promise<void> | undefined;
  private failure: { error: unknown } | undefined;
  private state: "open" | "finishing" | "done" = "open";
  private written = 0;

  constructor(options: ClipWriterOptions) {
    this.output = options.output;
    this.stream = options.stream;
    this.videoMedia = options.stream.media.find(
      (m) => m.kind === "video" && (m.codec === "H264" || m.codec === "H265"),
    );
    if (this.videoMedia !== undefined) {
      this.video = new VideoFrames(this.videoMedia);
      this.videoClock = new RtpClock(this.videoMedia.clockRate);
    }
    const plan = planAudio(options.stream.media, options.audio ?? true);
    if (typeof plan === "string") {
      this.audioSkipped = plan;
    } else {
      this.audioPlan = plan;
      this.audioMedia = options.stream.media.find((m) => m.kind === "audio");
      this.audioClock = new RtpClock(this.audioMedia!.clockRate);
    }
  }

  get started(): boolean {
    return this.mp4 !== undefined;
  }

  get bytes(): number {
    return this.written;
  }

  get durationS(): number {
    // To the microsecond: sums of 1/90000 s steps in floating point end a hair short of whole values.
    return Math.round(this.videoTimeline.end * 1e6) / 1e6;
  }

  get dropped(): number {
    const d = this.drops;
    return d.malformed + d.otherSession + d.awaitingKeyframe + d.overflow + d.audio;
  }

  add(unit: AccessUnit, arrivalMs: number = Date.now(), stream?: StreamInfo): boolean {
    if (this.state !== "open" || this.failure !== undefined) return false;
    if (stream !== undefined && (stream.id !== this.stream.id || stream.session !== this.stream.session)) {
      this.drops.otherSession++;
      return false;
    }
    if (unit.kind === "video" && unit.mid === this.videoMedia?.mid) return this.addVideo(unit, arrivalMs);
    if (unit.kind === "audio" && unit.mid === this.audioMedia?.mid) return this.addAudio(unit, arrivalMs);
    return false;
  }

  /** The SSRC of a unit's packets, undefined when one of them is not RTP or they differ. */
  private ssrcOf(packets: readonly Buffer[]): number | undefined | "mixed" {
    let ssrc: number | undefined;
    for (const packet of packets) {
      const header = parseRtpHeader(packet);
      if (header === undefined) return undefined;
      if (ssrc !== undefined && header.ssrc !== ssrc) return "mixed";
      ssrc = header.ssrc;
    }
    return ssrc;
  }

  private addVideo(unit: AccessUnit, arrivalMs: number): boolean {
    const video = this.video!;
    const ssrc = this.ssrcOf(unit.packets);
    if (ssrc === undefined || ssrc === "mixed") {
      if (this.started) this.drops.malformed++;
      this.awaitingKeyframe = true;
      return false;
    }
    if (this.videoSsrc !== undefined && ssrc !== this.videoSsrc) {
      this.drops.otherSession++;
      return false;
    }
    const frame = video.frame(unit.packets, !this.started);
    if (typeof frame === "string") {
      if (this.started) {
        this.drops.malformed++;
        this.awaitingKeyframe = true;
      }
      return false;
    }
    if (!this.started) {
      if (!frame.keyframe) return false;
      this.begin(arrivalMs);
      this.videoSsrc = ssrc;
    }
    const timestamp = this.videoClock!.seconds(unit.packets[0]!.readUInt32BE(4));
    if (this.awaitingKeyframe || this.overflowing) {
      if (!frame.keyframe || this.isFull()) {
        if (this.overflowing) this.drops.overflow++;
        else this.drops.awaitingKeyframe++;
        return false;
      }
      this.awaitingKeyframe = false;
      this.overflowing = false;
    } else if (this.isFull()) {
      this.overflowing = true;
      this.drops.overflow++;
      // The held frame stays: it is whole, and the next keyframe gives it its (long) duration.
      return false;
    }
    this.endStalledAudio(timestamp);
    const released = this.videoTimeline.push({
      // Annex-B: mediabunny turns it into 4-byte length prefixes and builds avcC/hvcC from the first one.
      data: toAnnexB(frame.nals),
      timestamp,
      key: frame.keyframe,
      ownDuration: undefined,
    });
    if (released !== undefined) this.enqueueVideo(released.held, released.duration);
    return true;
  }

  private addAudio(unit: AccessUnit, arrivalMs: number): boolean {
    if (!this.started) return false;
    const plan = this.audioPlan!;
    if (this.audioEnded || this.overflowing) {
      if (this.overflowing) this.drops.overflow++;
      else this.drops.audio++;
      return false;
    }
    if (this.isFull()) {
      // Writes stall while audio keeps coming (video stopped): drop it rather than queue without end.
      this.overflowing = true;
      this.drops.overflow++;
      return false;
    }
    const packet = unit.packets[0];
    const header = packet && parseRtpHeader(packet);
    const frames = header && plan.frames(rtpPayload(packet!, header));
    if (header === undefined || frames === undefined || unit.packets.length !== 1) {
      this.drops.malformed++;
      return false;
    }
    if (this.audioSsrc !== undefined && header.ssrc !== this.audioSsrc) {
      this.drops.otherSession++;
      return false;
    }
    this.audioSsrc = header.ssrc;
    const clock = this.audioClock!;
    const ticks = clock.ticks(header.timestamp);
    // No RTCP sender reports reach the writer: each track's first unit is placed by its arrival time.
    this.audioOffsetS ??= (arrivalMs - this.startMs) / 1000;
    let at = this.audioOffsetS + ticks / clock.clockRate;
    if (at < this.audioTimeline.lastTimestamp) {
      this.drops.audio++;
      return false;
    }
    for (const data of frames) {
      const own = plan.frameTicks(data);
      const ownDuration = own === undefined ? undefined : own / clock.clockRate;
      const released = this.audioTimeline.push({ data, timestamp: at, key: true, ownDuration });
      if (released !== undefined) this.enqueueAudio(released.held, released.duration);
      at += ownDuration ?? 0;
    }
    return true;
  }

  private isFull(): boolean {
    return this.queue.length >= MAX_QUEUED_UNITS || this.queuedBytes >= MAX_QUEUED_BYTES;
  }

  /** Ends the audio track when audio has stopped, so that video is not held back waiting for it. */
  private endStalledAudio(videoTimestamp: number): void {
    if (this.audioSource === undefined || this.audioEnded) return;
    const lastAudio = Math.max(this.audioTimeline.lastTimestamp, 0);
    if (videoTimestamp - lastAudio <= AUDIO_STALL_S) return;
    this.audioEnded = true;
    const released = this.audioTimeline.flush();
    if (released !== undefined) this.enqueueAudio(released.held, released.duration);
    this.enqueue({ kind: "end-audio" }, 0);
  }

  private begin(arrivalMs: number): void {
    this.startMs = arrivalMs;
    const mp4 = new Output({
      // A fragment per GOP: mediabunny starts a new fragment only at a video keyframe, at least 1 s
      // after the last one. A crash loses at most the last GOP; what was written plays.
      format: new Mp4WithG711({ fastStart: "fragmented" }),
      target: new AppendOnlyStreamTarget(
        new WritableStream<Uint8Array>({
          write: async (chunk) => {
            if (this.state === "done") return;
            await this.output.write(chunk);
            this.written += chunk.byteLength;
          },
        }),
      ),
    });
    const video = this.video!;
    this.videoSource = new EncodedVideoPacketSource(video.codec === "H265" ? "hevc" : "avc");
    // 90 kHz as the track's timescale: RTP timestamps keep their exact values.
    mp4.addVideoTrack(this.videoSource, { frameRate: this.videoMedia!.clockRate });
    const plan = this.audioPlan;
    if (plan !== undefined) {
      this.audioSource = new EncodedAudioPacketSource(plan.mp4Codec);
      mp4.addAudioTrack(this.audioSource);
    }
    this.mp4 = mp4;
    this.pumping = this.pump(mp4.start());
  }

  private enqueueVideo(held: Held, duration: number): void {
    const packet = new EncodedPacket(held.data, held.key ? "key" : "delta", held.timestamp, duration);
    this.enqueue({ kind: "video", packet }, held.data.byteLength);
  }

  private enqueueAudio(held: Held, duration: number): void {
    const packet = new EncodedPacket(held.data, "key", held.timestamp, duration);
    this.enqueue({ kind: "audio", packet }, held.data.byteLength);
  }

  private enqueue(job: Job, bytes: number): void {
    this.queue.push(job);
    this.queuedBytes += bytes;
    if (this.queue.length === 1 && this.pumping === undefined) this.pumping = this.pump(Promise.resolve());
  }

  /** Feeds queued packets to mediabunny one at a time, in order, awaiting its backpressure. */
  private async pump(before: Promise<void>): Promise<void> {
    try {
      await before;
      while (this.queue.length > 0 && this.state !== "done") {
        const job = this.queue.shift()!;
        if (job.kind === "end-audio") {
          this.audioSource!.close();
          continue;
        }
        this.queuedBytes -= job.packet.data.byteLength;
        if (job.kind === "video") {
          await this.videoSource!.add(job.packet, this.sentVideoConfig ? undefined : this.videoConfig());
          this.sentVideoConfig = true;
        } else {
          await this.audioSource!.add(job.packet, this.sentAudioConfig ? undefined : this.audioConfig());
          this.sentAudioConfig = true;
        }
      }
    } catch (error) {
      this.failure ??= { error };
      this.queue.length = 0;
      this.queuedBytes = 0;
    } finally {
      this.pumping = undefined;
    }
  }

  private videoConfig() {
    const video = this.video!;
    const size = video.size!;
    // No description: the first packet is Annex-B with its parameter sets, and mediabunny builds the
    // avcC/hvcC from it (and turns every packet into length-prefixed NAL units).
    return { decoderConfig: { codec: video.codecString, codedWidth: size.width, codedHeight: size.height } };
  }

  private audioConfig() {
    const plan = this.audioPlan!;
    return {
      decoderConfig: {
        codec: plan.mp4Codec === "aac" ? "mp4a.40.2" : plan.mp4Codec,
        sampleRate: plan.sampleRate,
        numberOfChannels: plan.channels,
        ...(plan.description === undefined ? {} : { description: plan.description }),
      },
    };
  }

  private summary(endMs: number): ClipSummary {
    const size = this.video?.size;
    const plan = this.audioPlan;
    const wroteAudio = plan !== undefined && this.sentAudioConfig;
    return {
      bytes: this.written,
      durationS: this.durationS,
      start: new Date(this.startMs),
      end: new Date(endMs),
      ...(this.started && this.video !== undefined && size !== undefined
        ? { video: { codec: this.video.codec, width: size.width, height: size.height } }
        : {}),
      ...(wroteAudio
        ? { audio: { codec: plan.codec, sampleRate: plan.sampleRate, channels: plan.channels } }
        : {}),
    };
  }

  async finish(): Promise<ClipSummary> {
    if (this.state !== "open") throw new Error("the clip is already finished or aborted");
    this.state = "finishing";
    const mp4 = this.mp4;
    if (mp4 === undefined) {
      this.state = "done";
      await this.output.close();
      const now = Date.now();
      this.startMs = now;
      return this.summary(now);
    }
    const video = this.videoTimeline.flush();
    if (video !== undefined) this.enqueueVideo(video.held, video.duration);
    const audio = this.audioTimeline.flush();
    if (audio !== undefined) this.enqueueAudio(audio.held, audio.duration);
    while (this.pumping !== undefined) await this.pumping;
    try {
      if (this.failure !== undefined) throw this.failure.error;
      await mp4.finalize();
    } catch (error) {
      this.state = "done";
      void mp4.cancel().catch(() => {});
      await this.output.close().catch(() => {});
      throw error;
    }
    this.state = "done";
    await this.output.close();
    return this.summary(this.startMs + this.durationS * 1000);
  }

  async abort(): Promise<void> {
    if (this.state === "done") return;
    this.state = "done";
    this.queue.length = 0;
    this.queuedBytes = 0;
    // Not awaited: cancel waits for mediabunny's lock, which a write stuck on a full disk may hold.
    void this.mp4?.cancel().catch(() => {});
    await this.output.close().catch(() => {});
  }
}

export function createClipWriter(options: ClipWriterOptions): ClipWriter {
  return new Mp4ClipWriter(options);
}
