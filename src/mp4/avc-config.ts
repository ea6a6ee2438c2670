import { H264, parseH264Sps } from "../rtp/h264";

/** What a live H.264 track needs for its sample entry and its MIME type. */
export interface AvcConfig {
  /** AVCDecoderConfigurationRecord (ISO/IEC 14496-15 §5.3.3.1), 4-byte NAL unit lengths. */
  readonly record: Buffer;
  /** RFC 6381 codecs parameter: "avc1." and the SPS's profile, constraint flags and level in hex. */
  readonly codecs: string;
  readonly width: number;
  readonly height: number;
}

/** High profile: the record ends with its chroma format and bit depths, 4:2:0 at 8 bits by definition. */
const HIGH_PROFILE = 100;

/** The decoder configuration of `sps` and `pps` (NAL units with headers); undefined for an SPS that does not parse. */
export function avcConfig(sps: Buffer, pps: Buffer): AvcConfig | undefined {
  if (((sps[0] ?? 0) & 0x1f) !== H264.SPS || ((pps[0] ?? 0) & 0x1f) !== H264.PPS) return undefined;
  const parsed = parseH264Sps(sps);
  if (parsed === undefined || sps.length < 4 || sps.length > 0xffff || pps.length > 0xffff) return undefined;
  const head = Buffer.from([1, sps[1] as number, sps[2] as number, sps[3] as number, 0xff, 0xe1]);
  const spsLength = Buffer.alloc(2);
  spsLength.writeUInt16BE(sps.length, 0);
  const ppsHead = Buffer.alloc(3);
  ppsHead[0] = 1;
  ppsHead.writeUInt16BE(pps.length, 1);
  const parts = [head, spsLength, sps, ppsHead, pps];
  if (parsed.profileIdc === HIGH_PROFILE) parts.push(Buffer.from([0xfc | 1, 0xf8, 0xf8, 0]));
  return {
    record: Buffer.concat(parts),
    codecs: `avc1.${parsed.profileLevelId}`,
    width: parsed.width,
    height: parsed.height,
  };
}
