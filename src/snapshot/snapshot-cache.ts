import { FrameHistory, type HistoryFrame } from "../fanout/frame-history";
import type { AccessUnit, MediaInfo, StreamInfo } from "../rtp/stream-info";
import type { SnapshotCodec } from "./snapshot-codec";
import type { SnapshotFrame, SnapshotInput } from "./snapshot-taker";

export interface SnapshotCacheLimits {
  /** Default 600 (20 s at 30 fps). */
  readonly maxFrames?: number;
  /** Bytes of RTP packets; default 16 MiB. */
  readonly maxBytes?: number;
}

interface CachedFrame extends HistoryFrame, SnapshotFrame {}

/** The cache's state, for a status line. */
export type SnapshotCacheState =
  | { readonly state: "no-stream" }
  /** The stream has no H.264 or H.265 video. */
  | { readonly state: "no-video"; readonly codecs: readonly string[] }
  | { readonly state: "waiting"; readonly codec: SnapshotCodec }
  | {
      readonly state: "ready";
      readonly codec: SnapshotCodec;
      readonly width?: number | undefined;
      readonly height?: number | undefined;
    };

function snapshotCodec(media: MediaInfo): SnapshotCodec | undefined {
  const codec = media.codec.toUpperCase();
  return media.kind === "video" && (codec === "H264" || codec === "H265") ? codec : undefined;
}

/**
 * What a snapshot is decoded from, given a video media and its frames since a keyframe (webrtc-out's
 * GOP cache, for one); undefined when there are none or the codec is neither H.264 nor H.265.
 */
export function snapshotInputOf(
  media: MediaInfo,
  frames: readonly SnapshotFrame[],
  stream?: string,
): SnapshotInput | undefined {
  const codec = snapshotCodec(media);
  if (codec === undefined || frames.length === 0) return undefined;
  return { codec, parameterSets: media.parameterSets ?? [], frames, stream };
}

/**
 * One stream's video access units since its last keyframe, from the stream messages of rtsp-in or
 * rtp-fanout: what a snapshot is decoded from. A new stream or source session starts it afresh (its
 * frames cannot follow the old ones); bounded like the GOP cache, a GOP too large is dropped whole.
 */
export class SnapshotCache {
  private readonly history: FrameHistory<CachedFrame>;
  private stream: StreamInfo | undefined;
  private video: { media: MediaInfo; codec: SnapshotCodec } | undefined;

  constructor(limits: SnapshotCacheLimits = {}) {
    this.history = new FrameHistory<CachedFrame>({
      seconds: 0,
      maxFrames: limits.maxFrames ?? 600,
      maxBytes: limits.maxBytes ?? 16 * 1024 * 1024,
    });
  }

  /** Takes any access unit of the stream; keeps the video ones. */
  push(unit: AccessUnit, stream: StreamInfo, now = performance.now()): void {
    // By id and session, not identity: Node-RED deep-clones a message for every wire after the first.
    if (this.stream === undefined || stream.id !== this.stream.id || stream.session !== this.stream.session) {
      this.adopt(stream);
    }
    if (unit.kind !== "video" || this.video === undefined || unit.mid !== this.video.media.mid) return;
    let bytes = 0;
    for (const packet of unit.packets) bytes += packet.length;
    this.history.push({
      kind: "video",
      keyframe: unit.keyframe,
      receivedAt: now,
      bytes,
      packets: unit.packets,
    });
  }

  /** The frames to decode; undefined before a keyframe. */
  input(): SnapshotInput | undefined {
    const video = this.video;
    if (video === undefined) return undefined;
    return snapshotInputOf(video.media, this.history.replay(0, performance.now()), this.stream?.id);
  }

  get state(): SnapshotCacheState {
    const stream = this.stream;
    if (stream === undefined) return { state: "no-stream" };
    const video = this.video;
    if (video === undefined) {
      return {
        state: "no-video",
        codecs: stream.media.filter((m) => m.kind === "video").map((m) => m.codec),
      };
    }
    if (this.history.frameCount === 0) return { state: "waiting", codec: video.codec };
    return { state: "ready", codec: video.codec, width: video.media.width, height: video.media.height };
  }

  clear(): void {
    this.history.clear();
  }

  private adopt(stream: StreamInfo): void {
    this.stream = stream;
    this.history.clear();
    this.video = undefined;
    for (const media of stream.media) {
      const codec = snapshotCodec(media);
      if (codec !== undefined) {
        this.video = { media, codec };
        return;
      }
    }
  }
}
