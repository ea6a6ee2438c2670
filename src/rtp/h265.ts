import { BitReader, BitstreamError, unescapeRbsp } from "./bit-reader";
import { parseSpropParameterSets } from "./h264";

/** H.265 NAL unit types (ITU-T H.265 Table 7-1) and RTP packetization types (RFC 7798). */
export const H265 = {
  TRAIL_N: 0,
  TRAIL_R: 1,
  BLA_W_LP: 16,
  BLA_W_RADL: 17,
  BLA_N_LP: 18,
  IDR_W_RADL: 19,
  IDR_N_LP: 20,
  CRA: 21,
  /** IRAP pictures are 16..23 (22 and 23 reserved). */
  IRAP_FIRST: 16,
  IRAP_LAST: 23,
  /** The IRAP types a decoder can start from: BLA, IDR and CRA. */
  KEYFRAME_FIRST: 16,
  KEYFRAME_LAST: 21,
  VPS: 32,
  SPS: 33,
  PPS: 34,
  AUD: 35,
  EOS: 36,
  EOB: 37,
  FILLER: 38,
  PREFIX_SEI: 39,
  SUFFIX_SEI: 40,
  AP: 48,
  FU: 49,
  PACI: 50,
} as const;

function nalType(firstHeaderByte: number): number {
  return (firstHeaderByte >> 1) & 0x3f;
}

/** Types of the NAL units inside an aggregation packet (2-byte header, then size-prefixed units). */
function aggregatedNalTypes(payload: Buffer): number[] {
  const types: number[] = [];
  let offset = 2;
  while (offset + 2 < payload.length) {
    const size = payload.readUInt16BE(offset);
    const header = payload[offset + 2];
    if (size < 2 || header === undefined || offset + 2 + size > payload.length) break;
    types.push(nalType(header));
    offset += 2 + size;
  }
  return types;
}

/**
 * The NAL unit types one RTP payload carries (RFC 7798, without DONL: sprop-max-don-diff=0, as
 * cameras send). A fragmented unit is reported only by its start fragment.
 */
export function h265PayloadNalTypes(payload: Buffer): number[] {
  const first = payload[0];
  if (first === undefined || payload.length < 2) return [];
  const type = nalType(first);
  if (type < H265.AP) return [type];
  if (type === H265.AP) return aggregatedNalTypes(payload);
  if (type === H265.FU) {
    const fuHeader = payload[2];
    if (fuHeader === undefined || (fuHeader & 0x80) === 0) return [];
    return [fuHeader & 0x3f];
  }
  return []; // PACI and unspecified types
}

/** True when the payload carries (the start of) a BLA, IDR or CRA picture. */
export function isH265KeyframePayload(payload: Buffer): boolean {
  return h265PayloadNalTypes(payload).some(
    (type) => type >= H265.KEYFRAME_FIRST && type <= H265.KEYFRAME_LAST,
  );
}

export interface H265Sps {
  /** Displayed size: after the conformance window. */
  readonly width: number;
  readonly height: number;
  readonly profileIdc: number;
  readonly levelIdc: number;
}

/** Parses an SPS NAL unit (with its 2-byte header); undefined when it is not a well-formed SPS. */
export function parseH265Sps(nal: Buffer): H265Sps | undefined {
  const header = nal[0];
  if (header === undefined || nal.length < 2 || nalType(header) !== H265.SPS) return undefined;
  try {
    return readSps(new BitReader(unescapeRbsp(nal.subarray(2))));
  } catch (error) {
    if (error instanceof BitstreamError) return undefined;
    throw error;
  }
}

function readSps(reader: BitReader): H265Sps | undefined {
  reader.skipBits(4); // sps_video_parameter_set_id
  const maxSubLayersMinus1 = reader.readBits(3);
  reader.skipBits(1); // sps_temporal_id_nesting_flag

  // profile_tier_level(1, maxSubLayersMinus1), H.265 §7.3.3
  reader.skipBits(2 + 1); // general_profile_space, general_tier_flag
  const profileIdc = reader.readBits(5);
  reader.skipBits(32 + 4 + 43 + 1); // compatibility flags, source flags, constraint flags, inbld/reserved
  const levelIdc = reader.readBits(8);
  const subLayerProfilePresent: boolean[] = [];
  const subLayerLevelPresent: boolean[] = [];
  for (let i = 0; i < maxSubLayersMinus1; i++) {
    subLayerProfilePresent.push(reader.readFlag());
    subLayerLevelPresent.push(reader.readFlag());
  }
  if (maxSubLayersMinus1 > 0) reader.skipBits(2 * (8 - maxSubLayersMinus1)); // reserved_zero_2bits
  for (let i = 0; i < maxSubLayersMinus1; i++) {
    if (subLayerProfilePresent[i]) reader.skipBits(88);
    if (subLayerLevelPresent[i]) reader.skipBits(8);
  }

  reader.readUE(); // sps_seq_parameter_set_id
  const chromaFormatIdc = reader.readUE();
  if (chromaFormatIdc > 3) return undefined;
  const separateColourPlane = chromaFormatIdc === 3 ? reader.readFlag() : false;
  const lumaWidth = reader.readUE();
  const lumaHeight = reader.readUE();

  let width = lumaWidth;
  let height = lumaHeight;
  if (reader.readFlag()) {
    // Conformance window offsets count in chroma samples (H.265 Table 6-1).
    const chromaArrayType = separateColourPlane ? 0 : chromaFormatIdc;
    const subWidthC = chromaArrayType === 1 || chromaArrayType === 2 ? 2 : 1;
    const subHeightC = chromaArrayType === 1 ? 2 : 1;
    const left = reader.readUE();
    const right = reader.readUE();
    const top = reader.readUE();
    const bottom = reader.readUE();
    width -= subWidthC * (left + right);
    height -= subHeightC * (top + bottom);
  }
  if (width <= 0 || height <= 0) return undefined;
  return { width, height, profileIdc, levelIdc };
}

/** VPS, SPS and PPS from an H.265 fmtp (keys lower-cased), in that order; invalid entries skipped. */
export function parseH265ParameterSets(fmtp: Readonly<Record<string, string>>): Buffer[] {
  return ["sprop-vps", "sprop-sps", "sprop-pps"].flatMap((key) => {
    const value = fmtp[key];
    return value === undefined ? [] : parseSpropParameterSets(value);
  });
}
