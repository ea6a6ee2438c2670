/**
 * H.264 Annex-B byte streams (ITU-T H.264 Annex B): start-code splitting and access-unit grouping.
 * Returned NAL units are views into the input buffer (no copies): callers that keep or send them
 * copy once, at the point where a packet is built.
 */

/** NAL unit types that matter for access-unit boundaries (H.264 Table 7-1). */
const NAL_SLICE_NON_IDR = 1;
const NAL_SLICE_IDR = 5;
const NAL_SEI = 6;
const NAL_SPS = 7;
const NAL_PPS = 8;
const NAL_AUD = 9;

/** nal_unit_type of an H.264 NAL unit (without start code); undefined for an empty buffer. */
export function h264NalType(nal: Buffer): number | undefined {
  const header = nal[0];
  return header === undefined ? undefined : header & 0x1f;
}

/**
 * Splits an Annex-B buffer on 3- and 4-byte start codes. Bytes before the first start code are
 * ignored; trailing zero bytes of a NAL unit (the leading zero of the next 4-byte start code, or
 * trailing_zero_8bits) are dropped; empty NAL units are skipped.
 */
export function splitAnnexB(data: Buffer): Buffer[] {
  const nals: Buffer[] = [];
  let start = -1;
  let i = 0;
  while (i + 2 < data.length) {
    if (data[i] === 0 && data[i + 1] === 0 && data[i + 2] === 1) {
      if (start >= 0) pushTrimmed(nals, data, start, i);
      i += 3;
      start = i;
    } else if (data[i + 2]! > 1) {
      // No start code can begin at i, i+1 or i+2 when the third byte is above 1.
      i += 3;
    } else {
      i += 1;
    }
  }
  if (start >= 0) pushTrimmed(nals, data, start, data.length);
  return nals;
}

function pushTrimmed(nals: Buffer[], data: Buffer, start: number, end: number): void {
  let last = end;
  while (last > start && data[last - 1] === 0) last -= 1;
  if (last > start) nals.push(data.subarray(start, last));
}

function isVcl(type: number): boolean {
  return type >= NAL_SLICE_NON_IDR && type <= NAL_SLICE_IDR;
}

/** NAL types that, after a VCL NAL unit, open a new access unit (H.264 7.4.1.2.3). */
function opensAccessUnit(type: number): boolean {
  return (
    type === NAL_AUD || type === NAL_SPS || type === NAL_PPS || type === NAL_SEI || (type >= 14 && type <= 18)
  );
}

/**
 * first_mb_in_slice is the first ue(v) of the slice header, right after the one-byte NAL header;
 * it is 0 exactly when its first bit is 1.
 */
function startsPicture(nal: Buffer): boolean {
  const firstSliceByte = nal[1];
  return firstSliceByte !== undefined && (firstSliceByte & 0x80) !== 0;
}

/**
 * Groups NAL units into access units: a new one starts at an AUD, SPS, PPS or SEI that follows a
 * picture's slices, or at a slice with first_mb_in_slice == 0 that follows another picture's slices.
 * Parameter sets and SEI that precede a picture belong to it. NAL units before the first slice and
 * without a picture after them (a stream that ends on parameter sets) form a last, slice-less group.
 */
export function groupAccessUnits(nals: readonly Buffer[]): Buffer[][] {
  const units: Buffer[][] = [];
  let current: Buffer[] = [];
  let currentHasSlice = false;
  for (const nal of nals) {
    const type = h264NalType(nal);
    if (type === undefined) continue;
    const vcl = isVcl(type);
    const boundary = currentHasSlice && (vcl ? startsPicture(nal) : opensAccessUnit(type));
    if (boundary) {
      units.push(current);
      current = [];
      currentHasSlice = false;
    }
    current.push(nal);
    if (vcl) currentHasSlice = true;
  }
  if (current.length > 0) units.push(current);
  return units;
}

/** True when the access unit holds an IDR slice. */
export function isIdrAccessUnit(nals: readonly Buffer[]): boolean {
  return nals.some((nal) => h264NalType(nal) === NAL_SLICE_IDR);
}
