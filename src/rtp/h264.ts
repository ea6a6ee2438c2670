import { BitReader, BitstreamError, unescapeRbsp } from "./bit-reader";

/** H.264 NAL unit types (ITU-T H.264 Table 7-1) and RTP packetization types (RFC 6184). */
export const H264 = {
  SLICE: 1,
  SLICE_DPA: 2,
  SLICE_DPB: 3,
  SLICE_DPC: 4,
  IDR: 5,
  SEI: 6,
  SPS: 7,
  PPS: 8,
  AUD: 9,
  END_OF_SEQUENCE: 10,
  END_OF_STREAM: 11,
  FILLER: 12,
  SPS_EXT: 13,
  PREFIX: 14,
  SUBSET_SPS: 15,
  STAP_A: 24,
  STAP_B: 25,
  MTAP16: 26,
  MTAP24: 27,
  FU_A: 28,
  FU_B: 29,
} as const;

function nalType(header: number): number {
  return header & 0x1f;
}

/** Types of the NAL units inside a STAP (2-byte size prefix per unit), stopping at a truncated unit. */
function aggregatedNalTypes(payload: Buffer, firstUnit: number): number[] {
  const types: number[] = [];
  let offset = firstUnit;
  while (offset + 2 < payload.length) {
    const size = payload.readUInt16BE(offset);
    const header = payload[offset + 2];
    if (size === 0 || header === undefined || offset + 2 + size > payload.length) break;
    types.push(nalType(header));
    offset += 2 + size;
  }
  return types;
}

/**
 * The NAL unit types one RTP payload carries. A fragmented unit (FU-A/FU-B) is reported only by
 * its start fragment, so that a unit split over many packets is counted once.
 */
export function h264PayloadNalTypes(payload: Buffer): number[] {
  const indicator = payload[0];
  if (indicator === undefined) return [];
  const type = nalType(indicator);
  if (type >= 1 && type <= 23) return [type];
  switch (type) {
    case H264.STAP_A:
      return aggregatedNalTypes(payload, 1);
    case H264.STAP_B:
      return aggregatedNalTypes(payload, 3); // after the 16-bit DON
    case H264.FU_A:
    case H264.FU_B: {
      const fuHeader = payload[1];
      if (fuHeader === undefined || (fuHeader & 0x80) === 0) return [];
      return [nalType(fuHeader)];
    }
    default:
      return []; // MTAP and reserved types: not sent by cameras
  }
}

/** True when the payload carries (the start of) an IDR slice. */
export function isH264KeyframePayload(payload: Buffer): boolean {
  return h264PayloadNalTypes(payload).includes(H264.IDR);
}

export interface H264Sps {
  readonly profileIdc: number;
  readonly constraintFlags: number;
  readonly levelIdc: number;
  /** Displayed size: after frame cropping, with field-coded (frame_mbs_only_flag=0) heights doubled. */
  readonly width: number;
  readonly height: number;
  /** profile_idc, constraint flags and level_idc as 6 lower-case hex digits, as in an SDP profile-level-id. */
  readonly profileLevelId: string;
}

/** Profiles whose SPS carries chroma_format_idc, bit depths and scaling lists (H.264 §7.3.2.1.1). */
const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

function skipScalingList(reader: BitReader, size: number): void {
  let lastScale = 8;
  let nextScale = 8;
  for (let j = 0; j < size; j++) {
    if (nextScale !== 0) {
      nextScale = (lastScale + reader.readSE() + 256) % 256;
    }
    lastScale = nextScale === 0 ? lastScale : nextScale;
  }
}

/** Parses an SPS NAL unit (with its 1-byte header); undefined when it is not a well-formed SPS. */
export function parseH264Sps(nal: Buffer): H264Sps | undefined {
  const header = nal[0];
  if (header === undefined || nalType(header) !== H264.SPS) return undefined;
  try {
    return readSps(new BitReader(unescapeRbsp(nal.subarray(1))));
  } catch (error) {
    if (error instanceof BitstreamError) return undefined;
    throw error;
  }
}

function readSps(reader: BitReader): H264Sps | undefined {
  const profileIdc = reader.readBits(8);
  const constraintFlags = reader.readBits(8);
  const levelIdc = reader.readBits(8);
  reader.readUE(); // seq_parameter_set_id

  let chromaFormatIdc = 1;
  let separateColourPlane = false;
  if (HIGH_PROFILES.has(profileIdc)) {
    chromaFormatIdc = reader.readUE();
    if (chromaFormatIdc > 3) return undefined;
    if (chromaFormatIdc === 3) separateColourPlane = reader.readFlag();
    reader.readUE(); // bit_depth_luma_minus8
    reader.readUE(); // bit_depth_chroma_minus8
    reader.readFlag(); // qpprime_y_zero_transform_bypass_flag
    if (reader.readFlag()) {
      const listCount = chromaFormatIdc === 3 ? 12 : 8;
      for (let i = 0; i < listCount; i++) {
        if (reader.readFlag()) skipScalingList(reader, i < 6 ? 16 : 64);
      }
    }
  }

  reader.readUE(); // log2_max_frame_num_minus4
  const picOrderCntType = reader.readUE();
  if (picOrderCntType === 0) {
    reader.readUE(); // log2_max_pic_order_cnt_lsb_minus4
  } else if (picOrderCntType === 1) {
    reader.readFlag(); // delta_pic_order_always_zero_flag
    reader.readSE(); // offset_for_non_ref_pic
    reader.readSE(); // offset_for_top_to_bottom_field
    const cycleLength = reader.readUE();
    if (cycleLength > 255) return undefined;
    for (let i = 0; i < cycleLength; i++) reader.readSE(); // offset_for_ref_frame
  } else if (picOrderCntType !== 2) {
    return undefined;
  }
  reader.readUE(); // max_num_ref_frames
  reader.readFlag(); // gaps_in_frame_num_value_allowed_flag

  const widthInMbs = reader.readUE() + 1;
  const heightInMapUnits = reader.readUE() + 1;
  const frameMbsOnly = reader.readFlag();
  if (!frameMbsOnly) reader.readFlag(); // mb_adaptive_frame_field_flag
  reader.readFlag(); // direct_8x8_inference_flag

  let cropLeft = 0;
  let cropRight = 0;
  let cropTop = 0;
  let cropBottom = 0;
  if (reader.readFlag()) {
    cropLeft = reader.readUE();
    cropRight = reader.readUE();
    cropTop = reader.readUE();
    cropBottom = reader.readUE();
  }

  // H.264 §7.4.2.1.1: crop offsets count in chroma samples, and in field pairs for field coding.
  const fieldFactor = frameMbsOnly ? 1 : 2;
  const chromaArrayType = separateColourPlane ? 0 : chromaFormatIdc;
  const subWidthC = chromaArrayType === 1 || chromaArrayType === 2 ? 2 : 1;
  const subHeightC = chromaArrayType === 1 ? 2 : 1;
  const cropUnitX = subWidthC;
  const cropUnitY = subHeightC * fieldFactor;

  const width = widthInMbs * 16 - cropUnitX * (cropLeft + cropRight);
  const height = heightInMapUnits * 16 * fieldFactor - cropUnitY * (cropTop + cropBottom);
  if (width <= 0 || height <= 0) return undefined;

  const profileLevelId = [profileIdc, constraintFlags, levelIdc]
    .map((byte) => byte.toString(16).padStart(2, "0"))
    .join("");
  return { profileIdc, constraintFlags, levelIdc, width, height, profileLevelId };
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Decodes an fmtp sprop-parameter-sets value (comma-separated base64 NAL units); invalid entries are skipped. */
export function parseSpropParameterSets(value: string): Buffer[] {
  const sets: Buffer[] = [];
  for (const entry of value.split(",")) {
    const text = entry.trim();
    if (!BASE64.test(text) || text.length % 4 === 1) continue;
    const nal = Buffer.from(text, "base64");
    if (nal.length > 0) sets.push(nal);
  }
  return sets;
}
