import type { MediaInfo } from "../rtp/stream-info";
import type { OutputFrame } from "../webrtc/stream-normalizer";
import { type AvcConfig, avcConfig } from "./avc-config";
import { fragment, initSegment } from "./live-boxes";
import type { LiveFanout } from "./live-fanout";
import { RtpClock } from "./rtp-clock";
import { VideoFrames } from "./video-frames";

/** RTP video's clock, and so the track's timescale. */
const VIDEO_CLOCK = 90_000;
/** A frame's duration until two frames have told it: 30 fps. */
const FIRST_DURATION = 3000;

/** What the stream's HTTP viewers can be told now. */
export type LiveMuxerState =
  | { readonly state: "waiting" }
  | { readonly state: "live"; readonly mime: string; readonly width: number; readonly height: number }
  /** A video codec Media Source Extensions cannot be given here (only H.264 is). */
  | { readonly state: "unsupported"; readonly codec: string };

/**
 * Turns one stream's H.264 video frames, as the relay normalised them (parameter sets before each
 * keyframe, one continuous timeline across camera restarts), into a live fMP4 stream for its HTTP
 * viewers (LiveFanout): an init segment at the first keyframe, then one fragment per frame. It runs only
 * while someone watches: the stream's owner feeds it then, primes it with the frames since the last
 * keyframe when the first viewer comes (or, without them, tells it the parameter sets with expect()),
 * and resets it when the last leaves.
 *
 * The decode time is the frame's RTP timestamp carried past the 32-bit wrap: a fragment's time names
 * its frame (and the timeline only goes forward across camera restarts, since the normaliser's does).
 * Video only: browsers' Media Source Extensions take neither the G.711 nor the AAC-in-RTP audio as
 * cameras send it without repackaging, and a live view is watched muted.
 */
export class LiveMuxer {
  private media: MediaInfo | undefined;
  private frames: VideoFrames | undefined;
  private clock = new RtpClock(VIDEO_CLOCK);
  private origin = 0;
  private lastInit: Buffer | undefined;
  /** The source session of the frames being muxed; a new one resumes at its keyframe. */
  private sourceSession: number | undefined;
  /** A frame could not be rebuilt: nothing more until the next keyframe. */
  private awaitingKeyframe = true;
  private sequence = 1;
  private lastTime = -1;
  private lastTicks = 0;
  private duration = FIRST_DURATION;
  private current: LiveMuxerState = { state: "waiting" };
  private fed = false;
  /** Frames left out because they could not be rebuilt or came before a keyframe. */
  dropped = 0;

  constructor(private readonly fanout: LiveFanout) {}

  get state(): LiveMuxerState {
    return this.current;
  }

  /** Frames have been muxed since the last reset(). */
  get active(): boolean {
    return this.fed;
  }

  /** The stream's video (a new source session): its parameter sets, or that it is not H.264. */
  setMedia(media: MediaInfo | undefined): void {
    this.media = media;
    const h264 = media?.codec === "H264";
    this.frames = media !== undefined && h264 ? new VideoFrames(media) : undefined;
    if (media !== undefined && !h264) this.current = { state: "unsupported", codec: media.codec };
    else if (this.current.state === "unsupported") this.current = { state: "waiting" };
    this.awaitingKeyframe = true;
  }

  /**
   * The stream's parameter sets, when no keyframe was muxed yet: the MIME type and size come from
   * them, and the frames that follow are muxed from the next keyframe. Returns whether they parsed.
   */
  expect(parameterSets: readonly Buffer[]): boolean {
    if (this.frames === undefined) return false;
    this.fed = true;
    if (this.current.state === "live") return true;
    const config = this.configOf(parameterSets);
    if (config === undefined) return false;
    this.current = this.liveState(config);
    return true;
  }

  /** Forgets the timeline and the fanout's init segment and GOP: nobody watches. */
  reset(): void {
    this.fanout.forget();
    this.clock = new RtpClock(VIDEO_CLOCK);
    this.lastInit = undefined;
    this.sourceSession = undefined;
    this.awaitingKeyframe = true;
    this.lastTime = -1;
    this.lastTicks = 0;
    this.duration = FIRST_DURATION;
    this.dropped = 0;
    this.fed = false;
    if (this.current.state === "live") this.current = { state: "waiting" };
  }

  /** One video frame of the stream's media on the output timeline. Never throws on bad input. */
  push(frame: OutputFrame): void {
    const frames = this.frames;
    if (frames === undefined || frame.kind !== "video" || frame.mid !== this.media?.mid) return;
    this.fed = true;
    if (frame.sourceSession !== this.sourceSession) {
      this.sourceSession = frame.sourceSession;
      this.awaitingKeyframe = true;
    }
    const video = frames.frame(frame.packets, this.awaitingKeyframe);
    if (typeof video === "string" || (this.awaitingKeyframe && !video.keyframe)) {
      this.awaitingKeyframe = true;
      this.dropped++;
      return;
    }
    const ticks = this.clock.ticks(frame.timestamp);
    if (this.awaitingKeyframe) {
      if (!this.start(video.nals)) {
        this.dropped++;
        return;
      }
      this.awaitingKeyframe = false;
    } else if (ticks > this.lastTicks) {
      this.duration = Math.min(ticks - this.lastTicks, VIDEO_CLOCK);
    }
    this.lastTicks = ticks;
    // The first fragment's decode time is its timestamp (the clock may have started on a frame dropped before it).
    if (this.lastTime < 0) this.origin = frame.timestamp - ticks;
    // The timeline only goes forward: a frame stamped at or before the last follows it by a frame.
    const wanted = this.origin + ticks;
    const time = wanted > this.lastTime ? wanted : this.lastTime + this.duration;
    this.lastTime = time;
    const bytes = fragment(this.sequence++, {
      nals: video.nals,
      decodeTime: time,
      duration: this.duration,
      keyframe: video.keyframe,
    });
    this.fanout.push(bytes, video.keyframe);
  }

  private configOf(nals: readonly Buffer[]): AvcConfig | undefined {
    const sps = nals.find((nal) => ((nal[0] ?? 0) & 0x1f) === 7);
    const pps = nals.find((nal) => ((nal[0] ?? 0) & 0x1f) === 8);
    return sps && pps ? avcConfig(sps, pps) : undefined;
  }

  private liveState(config: AvcConfig): LiveMuxerState {
    return {
      state: "live",
      mime: `video/mp4; codecs="${config.codecs}"`,
      width: config.width,
      height: config.height,
    };
  }

  /** A new init segment from the keyframe's parameter sets, when they are new; false when they do not parse. */
  private start(nals: readonly Buffer[]): boolean {
    const config = this.configOf(nals);
    if (config === undefined) return false;
    const init = initSegment({
      entry: "avc1",
      config: config.record,
      width: config.width,
      height: config.height,
      timescale: VIDEO_CLOCK,
    });
    // The same parameter sets again (a keyframe after a lost frame, a camera restart as it was): the
    // viewers go on with the init segment they have.
    if (this.lastInit === undefined || !this.lastInit.equals(init)) {
      this.fanout.setInit(init);
      this.lastInit = init;
    }
    this.current = this.liveState(config);
    return true;
  }
}
