import type { AudioCodec } from "mediabunny";
import { BitReader, BitstreamError } from "../rtp/bit-reader";
import { type AuHeaderLayout, auHeaderLayout, splitAccessUnits } from "../rtp/rfc3640";
import type { MediaInfo } from "../rtp/stream-info";

/** How one RTP audio stream goes into MP4 without transcoding. */
export interface AudioPlan {
  readonly codec: string;
  readonly mp4Codec: AudioCodec;
  readonly sampleRate: number;
  readonly channels: number;
  /** AAC: the AudioSpecificConfig. */
  readonly description?: Uint8Array;
  /** The frames of one RTP payload; undefined when it does not parse. */
  frames(payload: Buffer): Buffer[] | undefined;
  /** A frame's length in RTP clock ticks when the codec fixes it (AAC, G.711); else undefined. */
  frameTicks(frame: Buffer): number | undefined;
}

/** Why a stream's audio is not recorded. */
export type AudioSkip = "no-audio" | "switched-off" | "codec-not-in-mp4" | "bad-fmtp";

const AAC_SAMPLE_RATES = [
  96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350,
];

/** Sample rate and channel count of an AudioSpecificConfig (ISO 14496-3 §1.6.2.1). */
export function readAudioSpecificConfig(asc: Buffer): { sampleRate: number; channels: number } | undefined {
  try {
    const reader = new BitReader(asc);
    const objectType = reader.readBits(5);
    if (objectType === 31) reader.readBits(6); // escape: the type goes on in 6 more bits
    if (objectType === 0) return undefined;
    const frequencyIndex = reader.readBits(4);
    const sampleRate = frequencyIndex === 15 ? reader.readBits(24) : AAC_SAMPLE_RATES[frequencyIndex];
    const channels = reader.readBits(4);
    if (sampleRate === undefined || sampleRate === 0) return undefined;
    return { sampleRate, channels };
  } catch (error) {
    if (error instanceof BitstreamError) return undefined;
    throw error;
  }
}

function aacPlan(media: MediaInfo): AudioPlan | AudioSkip {
  const layout: AuHeaderLayout | undefined = auHeaderLayout(media.fmtp);
  const config = media.fmtp.config;
  if (layout === undefined || config === undefined || !/^([0-9a-fA-F]{2})+$/.test(config)) return "bad-fmtp";
  const asc = Buffer.from(config, "hex");
  const info = readAudioSpecificConfig(asc);
  if (info === undefined) return "bad-fmtp";
  return {
    codec: "AAC",
    mp4Codec: "aac",
    sampleRate: info.sampleRate,
    channels: info.channels === 0 ? (media.channels ?? 1) : info.channels,
    description: new Uint8Array(asc),
    frames: (payload) => splitAccessUnits(payload, layout),
    frameTicks: () => 1024 * (media.clockRate / info.sampleRate),
  };
}

/** The audio plan for this stream's first audio media, or why there is none. */
export function planAudio(media: readonly MediaInfo[], wanted: boolean): AudioPlan | AudioSkip {
  const audio = media.find((m) => m.kind === "audio");
  if (audio === undefined) return "no-audio";
  if (!wanted) return "switched-off";
  switch (audio.codec) {
    case "MPEG4-GENERIC":
      return aacPlan(audio);
    case "OPUS":
      return {
        codec: "OPUS",
        mp4Codec: "opus",
        sampleRate: 48000,
        // RFC 7587 §7.1: the SDP always says 2; sprop-stereo tells what the sender sends.
        channels: audio.fmtp["sprop-stereo"] === "1" ? 2 : 1,
        frames: (payload) => (payload.length > 0 ? [payload] : undefined),
        frameTicks: () => undefined,
      };
    case "PCMA":
    case "PCMU": {
      const channels = audio.channels ?? 1;
      return {
        codec: audio.codec,
        mp4Codec: audio.codec === "PCMA" ? "alaw" : "ulaw",
        sampleRate: audio.clockRate,
        channels,
        frames: (payload) => (payload.length > 0 && payload.length % channels === 0 ? [payload] : undefined),
        frameTicks: (frame) => frame.length / channels,
      };
    }
    default:
      // MP4A-LATM would need the StreamMuxConfig unpacked from every packet; G.722 has no MP4 mapping
      // ffmpeg reads.
      return "codec-not-in-mp4";
  }
}
