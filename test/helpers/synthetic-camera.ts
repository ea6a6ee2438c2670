import type { AccessUnit, MediaInfo, StreamInfo } from "../../src/rtp/stream-info";
import { rtpPacket, videoMedia } from "./rtp-fixtures";

// A stream for the publisher tests that need no real picture (the endpoint does not decode).

/** A camera made of constant NAL units: a keyframe (parameter sets, IDR) every 10th frame, 25 fps. */
export class SyntheticCamera {
  private frame = 0;
  private seq = 1;
  private timer: NodeJS.Timeout | undefined;
  stream: StreamInfo;

  constructor(
    private codec: "H264" | "H265",
    private readonly sink: (unit: AccessUnit, stream: StreamInfo) => void,
    audio?: MediaInfo,
  ) {
    this.stream = { id: "synthetic", session: 1, media: [videoMedia(codec), ...(audio ? [audio] : [])] };
  }

  start(): void {
    this.timer = setInterval(() => this.tick(), 40);
  }

  /** The camera comes back with another codec (a new source session). */
  switchTo(codec: "H264" | "H265"): void {
    this.codec = codec;
    this.frame = 0;
    this.stream = { id: "synthetic", session: this.stream.session + 1, media: [videoMedia(codec)] };
  }

  /** A new source session with `media` (e.g. nothing WebRTC can carry). */
  describe(media: MediaInfo[]): void {
    this.stream = { id: "synthetic", session: this.stream.session + 1, media };
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private nal(type: number, body: number): Buffer {
    return this.codec === "H264"
      ? Buffer.from([0x60 | type, body, 1, 2, 3])
      : Buffer.from([type << 1, 1, body, 1, 2, 3]);
  }

  private tick(): void {
    const keyframe = this.frame % 10 === 0;
    const ts = this.frame * 3600;
    const h264 = this.codec === "H264";
    const nals = keyframe
      ? h264
        ? [this.nal(7, 0x42), this.nal(8, 0xce), this.nal(5, 0x88)]
        : [this.nal(32, 0x0c), this.nal(33, 0x01), this.nal(34, 0xc1), this.nal(19, 0xaf)]
      : [this.nal(1, 0x9a)];
    const packets = nals.map((payload, i) =>
      rtpPacket({ seq: this.seq++, ts, payload, marker: i === nals.length - 1 }),
    );
    this.frame++;
    const video = this.stream.media.find((m) => m.kind === "video");
    if (video !== undefined)
      this.sink({ kind: "video", mid: video.mid, timestamp: ts, keyframe, packets }, this.stream);
    const audio = this.stream.media.find((m) => m.kind === "audio");
    if (audio !== undefined) {
      const payload = Buffer.alloc(160, 0xd5);
      this.sink(
        {
          kind: "audio",
          mid: audio.mid,
          timestamp: this.frame * 320,
          keyframe: false,
          packets: [rtpPacket({ seq: this.seq++, ts: this.frame * 320, payload, pt: 8, marker: true })],
        },
        this.stream,
      );
    }
  }
}
