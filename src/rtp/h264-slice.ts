import { BitReader, BitstreamError, unescapeRbsp } from "./bit-reader";

/** slice_type values (H.264 Table 7-6); 5..9 mean the same types for every slice of the picture. */
export const H264_SLICE_B = 1;

/** first_mb_in_slice and slice_type are two ue(v) codes of at most 32 bits each: 8 bytes hold them. */
const SLICE_HEADER_PREFIX = 10;

/**
 * slice_type (0..4, the "all slices" values 5..9 folded) of a slice NAL unit's bytes after its
 * one-byte header (H.264 §7.3.3), undefined when they are too short or corrupt.
 */
export function h264SliceType(afterNalHeader: Buffer): number | undefined {
  try {
    const reader = new BitReader(unescapeRbsp(afterNalHeader.subarray(0, SLICE_HEADER_PREFIX)));
    reader.readUE(); // first_mb_in_slice
    const sliceType = reader.readUE();
    return sliceType <= 9 ? sliceType % 5 : undefined;
  } catch (error) {
    if (error instanceof BitstreamError) return undefined;
    throw error;
  }
}
