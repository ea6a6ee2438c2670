import { H264 } from "../rtp/h264";
import { H265, parseH265ParameterSets } from "../rtp/h265";
import { depacketizeNals } from "../rtp/nal-depacketizer";
import { nalUnitType, type ParameterSetCodec } from "../rtp/parameter-set-store";
import { type PictureSize, pictureSizeOf } from "../rtp/picture-size";
import type { MediaInfo } from "../rtp/stream-info";

/** One video access unit as MP4 takes it. */
export interface VideoFrame {
  /** The NAL units, with the parameter sets put before the first keyframe. */
  readonly nals: readonly Buffer[];
  readonly keyframe: boolean;
}

export type VideoDrop = "malformed" | "no-parameter-sets";

const PARAMETER_SET_TYPES: Readonly<Record<ParameterSetCodec, readonly number[]>> = {
  H264: [H264.SPS, H264.PPS],
  H265: [H265.VPS, H265.SPS, H265.PPS],
};

function isKeyframeNal(codec: ParameterSetCodec, type: number): boolean {
  return codec === "H264" ? type === H264.IDR : type >= H265.KEYFRAME_FIRST && type <= H265.KEYFRAME_LAST;
}

/**
 * Turns one video stream's access units into MP4 samples. The first keyframe is given the parameter
 * sets it lacks (in-band ones seen before it, else the SDP's), so that the sample entry can be built
 * from it. Later in-band parameter sets stay in their samples as the camera sent them: a decoder
 * takes a changed SPS from there, while the sample entry keeps the first (decision: one sample entry
 * per file; the camera restarts that change the picture come as a new session, hence a new clip).
 */
export class VideoFrames {
  readonly codec: ParameterSetCodec;
  /** The latest parameter sets seen, by type. */
  private readonly sets = new Map<number, Buffer>();
  private picture: PictureSize | undefined;

  constructor(media: MediaInfo) {
    this.codec = media.codec === "H265" ? "H265" : "H264";
    const initial = media.parameterSets ?? (this.codec === "H265" ? parseH265ParameterSets(media.fmtp) : []);
    this.remember(initial);
  }

  /** Size (and H.264 profile) from the parameter sets of the first keyframe. */
  get size(): PictureSize | undefined {
    return this.picture;
  }

  /** The frame for these RTP packets; `first` when it is to open the file (a keyframe with all parameter sets). */
  frame(packets: readonly Buffer[], first: boolean): VideoFrame | VideoDrop {
    const result = depacketizeNals(this.codec, packets);
    if (!result.ok || result.nals.length === 0) return "malformed";
    const nals = result.nals;
    const types = nals.map((nal) => nalUnitType(this.codec, nal[0]!));
    const keyframe = types.some((type) => isKeyframeNal(this.codec, type));
    this.remember(nals);
    if (!first || !keyframe) return { nals, keyframe };
    const required = PARAMETER_SET_TYPES[this.codec];
    const missing = required.filter((type) => !types.includes(type));
    const prefix: Buffer[] = [];
    for (const type of missing) {
      const set = this.sets.get(type);
      if (set === undefined) return "no-parameter-sets";
      prefix.push(set);
    }
    const all = [...prefix, ...nals];
    this.picture = pictureSizeOf(this.codec, all);
    if (this.picture === undefined) return "no-parameter-sets";
    return { nals: all, keyframe };
  }

  /** The codec string of the sample entry, for mediabunny (it reads only the prefix). */
  get codecString(): string {
    if (this.codec === "H265") return "hvc1.1.6.L93.B0";
    return `avc1.${this.picture?.profile ?? "42e01f"}`;
  }

  private remember(nals: readonly Buffer[]): void {
    const required = PARAMETER_SET_TYPES[this.codec];
    for (const nal of nals) {
      if (nal.length === 0) continue;
      const type = nalUnitType(this.codec, nal[0]!);
      // Copies: a view would keep the whole RTP packet alive for the clip's lifetime.
      if (required.includes(type)) this.sets.set(type, Buffer.from(nal));
    }
  }
}
