import type { AccessUnit, MediaInfo, StreamInfo } from "../rtp/stream-info";
import { avcConfig } from "./avc-config";
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

interface Session {
  readonly id: string;
  readonly session: number;
  readonly media: MediaInfo | undefined;
  readonly frames: VideoFrames | undefined;
  readonly clock: RtpClock;
  /** Decode time of this session's first frame on the muxer's one timeline. */
  readonly base: number;
}

/**
 * Turns one stream's H.264 access units into a live fMP4 stream for its HTTP viewers (LiveFanout):
 * an init segment at the first keyframe, then one fragment per frame. A camera restart (a new session)
 * brings a new init segment but keeps one timeline, so a player's buffer never goes back in time.
 * Video only: browsers' Media Source Extensions take neither the G.711 nor the AAC-in-RTP audio as
 * cameras send it without repackaging, and a live view is watched muted.
 */
export class LiveMuxer {
  private session: Session | undefined;
  private lastInit: Buffer | undefined;
  /** A frame could not be rebuilt: nothing more until the next keyframe. */
  private awaitingKeyframe = true;
  private sequence = 1;
  private lastTime = -1;
  private lastTicks = 0;
  private duration = FIRST_DURATION;
  private current: LiveMuxerState = { state: "waiting" };
  /** Frames left out because they could not be rebuilt or came before a keyframe. */
  dropped = 0;

  constructor(private readonly fanout: LiveFanout) {}

  get state(): LiveMuxerState {
    return this.current;
  }

  /** One access unit of `stream`; audio and other sessions' leftovers are passed over. Never throws on bad input. */
  push(unit: AccessUnit, stream: StreamInfo): void {
    if (unit.kind !== "video") return;
    const session = this.sessionOf(stream);
    const frames = session.frames;
    if (frames === undefined || unit.mid !== session.media?.mid) return;
    const frame = frames.frame(unit.packets, this.awaitingKeyframe);
    if (typeof frame === "string" || (this.awaitingKeyframe && !frame.keyframe)) {
      this.awaitingKeyframe = true;
      this.dropped++;
      return;
    }
    const ticks = session.clock.ticks(unit.timestamp);
    if (this.awaitingKeyframe) {
      if (!this.start(frame.nals)) {
        this.dropped++;
        return;
      }
      this.awaitingKeyframe = false;
    } else if (ticks > this.lastTicks) {
      this.duration = Math.min(ticks - this.lastTicks, VIDEO_CLOCK);
    }
    this.lastTicks = ticks;
    // One timeline that only goes forward, whatever the camera's timestamps do.
    const time = Math.max(session.base + ticks, this.lastTime + 1);
    this.lastTime = time;
    const bytes = fragment(this.sequence++, {
      nals: frame.nals,
      decodeTime: time,
      duration: this.duration,
      keyframe: frame.keyframe,
    });
    this.fanout.push(bytes, frame.keyframe);
  }

  /** A new init segment from the keyframe's parameter sets, when they are new; false when they do not parse. */
  private start(nals: readonly Buffer[]): boolean {
    const sps = nals.find((nal) => ((nal[0] ?? 0) & 0x1f) === 7);
    const pps = nals.find((nal) => ((nal[0] ?? 0) & 0x1f) === 8);
    const config = sps && pps ? avcConfig(sps, pps) : undefined;
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
    this.current = {
      state: "live",
      mime: `video/mp4; codecs="${config.codecs}"`,
      width: config.width,
      height: config.height,
    };
    return true;
  }

  private sessionOf(stream: StreamInfo): Session {
    const current = this.session;
    if (current !== undefined && current.id === stream.id && current.session === stream.session)
      return current;
    const media = stream.media.find((m) => m.kind === "video");
    const h264 = media?.codec === "H264";
    if (media !== undefined && !h264) this.current = { state: "unsupported", codec: media.codec };
    else if (this.current.state === "unsupported") this.current = { state: "waiting" };
    const session: Session = {
      id: stream.id,
      session: stream.session,
      media,
      frames: media !== undefined && h264 ? new VideoFrames(media) : undefined,
      clock: new RtpClock(VIDEO_CLOCK),
      base: this.lastTime < 0 ? 0 : this.lastTime + this.duration,
    };
    this.session = session;
    this.awaitingKeyframe = true;
    return session;
  }
}
