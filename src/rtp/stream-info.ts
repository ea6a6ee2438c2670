import type { ParameterSetCodec } from "./parameter-set-store";

/** Codec names as they appear in an SDP rtpmap, upper-cased (OPUS, not opus). */
export type CodecName =
  | ParameterSetCodec
  | "PCMU"
  | "PCMA"
  | "OPUS"
  | "G722"
  | "MPEG4-GENERIC"
  | "MP4A-LATM"
  | string;

export type MediaKind = "video" | "audio";

/** One media of a source session, as msg.stream carries it (docs/ARCHITECTURE.md, "The message contract"). */
export interface MediaInfo {
  readonly mid: string;
  readonly kind: MediaKind;
  readonly codec: CodecName;
  readonly payloadType: number;
  readonly clockRate: number;
  readonly channels?: number;
  /** fmtp parameters, keys lower-cased, values as written. */
  readonly fmtp: Readonly<Record<string, string>>;
  /** H.264: [SPS, PPS...]; H.265: [VPS, SPS, PPS...]; raw NAL units without start codes. */
  readonly parameterSets?: readonly Buffer[];
  /** False for codecs a browser cannot receive over WebRTC (AAC...). */
  readonly relayable: boolean;
  /** From the SPS when one is known. */
  readonly width?: number;
  readonly height?: number;
  /** H.264 profile-level-id as 6 hex digits, from the SPS or the fmtp. */
  readonly profileLevelId?: string;
}

/** The same frozen object for every message of one source session. */
export interface StreamInfo {
  readonly id: string;
  /** Bumps on every reconnect. */
  readonly session: number;
  readonly media: readonly MediaInfo[];
}

/** One access unit: a whole video frame, or one audio packet. */
export interface AccessUnit {
  readonly kind: MediaKind;
  readonly mid: string;
  readonly timestamp: number;
  readonly keyframe: boolean;
  /** RTP packets in arrival order, each Buffer owning exactly its bytes. */
  readonly packets: Buffer[];
}
