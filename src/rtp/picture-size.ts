import { parseH264Sps } from "./h264";
import { parseH265Sps } from "./h265";

export interface PictureSize {
  /** Displayed size, after cropping (H.264 frame cropping, H.265 conformance window). */
  readonly width: number;
  readonly height: number;
  /** H.264 only: profile_idc, constraint flags and level_idc as in an SDP profile-level-id. */
  readonly profile?: string;
}

function h264Picture(nal: Buffer): PictureSize | undefined {
  const sps = parseH264Sps(nal);
  return sps && { width: sps.width, height: sps.height, profile: sps.profileLevelId };
}

function h265Picture(nal: Buffer): PictureSize | undefined {
  const sps = parseH265Sps(nal);
  return sps && { width: sps.width, height: sps.height };
}

/**
 * The picture size (and H.264 profile) from the first well-formed SPS among `nals` (NAL units with
 * their headers, no start codes: other types are passed over); undefined when there is none or the
 * codec is neither H.264 nor H.265.
 */
export function pictureSizeOf(codec: string, nals: readonly Buffer[]): PictureSize | undefined {
  const read = codec === "H264" ? h264Picture : codec === "H265" ? h265Picture : undefined;
  if (read === undefined) return undefined;
  for (const nal of nals) {
    const picture = read(nal);
    if (picture !== undefined) return picture;
  }
  return undefined;
}
