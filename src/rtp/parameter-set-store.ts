import { H264 } from "./h264";
import { H265 } from "./h265";

/** The video codecs the relay handles: NAL-unit codecs whose parameter sets a decoder needs first. */
export type ParameterSetCodec = "H264" | "H265";

/** The parameter-set NAL types a decoder needs before a keyframe, in the order they are sent. */
const REQUIRED_TYPES: Readonly<Record<ParameterSetCodec, readonly number[]>> = {
  H264: [H264.SPS, H264.PPS],
  H265: [H265.VPS, H265.SPS, H265.PPS],
};

/** nal_unit_type of a NAL unit's first header byte. */
export function nalUnitType(codec: ParameterSetCodec, firstByte: number): number {
  return codec === "H264" ? firstByte & 0x1f : (firstByte >> 1) & 0x3f;
}

/**
 * The latest known parameter sets of one video stream: those of the SDP first, replaced by the
 * in-band ones as they come. Within one frame, the first in-band set of a type replaces every
 * stored set of that type and the further ones of that type join it (a camera that uses several
 * PPS sends them together); types the frame does not carry stay as they were.
 */
export class ParameterSetStore {
  readonly requiredTypes: readonly number[];
  /** Stored sets per required type, in REQUIRED_TYPES order. */
  private byType: Buffer[][];
  /** Bit i set: this frame already offered a set of requiredTypes[i]. */
  private offeredThisFrame = 0;
  private ordered: readonly Buffer[] = [];
  private aggregatePayload: Buffer | undefined;
  private aggregateFor = -1;
  private changed = true;

  constructor(
    readonly codec: ParameterSetCodec,
    initial: readonly Buffer[] = [],
  ) {
    this.requiredTypes = REQUIRED_TYPES[codec];
    this.byType = this.requiredTypes.map(() => []);
    this.replaceAll(initial);
  }

  /** Every stored set: H.264 SPS then PPS; H.265 VPS, SPS, PPS. */
  get sets(): readonly Buffer[] {
    if (this.changed) this.rebuild();
    return this.ordered;
  }

  /** Index of `type` among the required types, -1 when it is not a parameter set. */
  indexOf(type: number): number {
    return this.requiredTypes.indexOf(type);
  }

  /** A bit mask with every required type's bit set (see `indexOf`). */
  get completeMask(): number {
    return (1 << this.requiredTypes.length) - 1;
  }

  /** Replaces everything, e.g. with a new SDP's sets; unknown and empty NAL units are ignored. */
  replaceAll(sets: readonly Buffer[]): void {
    this.byType = this.requiredTypes.map(() => []);
    for (const nal of sets) {
      const first = nal[0];
      if (first === undefined || nal.length < (this.codec === "H264" ? 1 : 2)) continue;
      const index = this.indexOf(nalUnitType(this.codec, first));
      if (index >= 0) this.byType[index]!.push(Buffer.from(nal));
    }
    this.changed = true;
  }

  /** Starts a frame: its first in-band set of each type will replace the stored ones. */
  beginFrame(): void {
    this.offeredThisFrame = 0;
  }

  /** Takes an in-band parameter set of type index `index` (from `indexOf`); copies it when kept. */
  offer(index: number, nal: Buffer): void {
    const stored = this.byType[index];
    if (stored === undefined) return;
    const bit = 1 << index;
    if ((this.offeredThisFrame & bit) === 0) {
      this.offeredThisFrame |= bit;
      // The common case, a camera repeating the same set before every keyframe: no copy, no change.
      if (stored.length === 1 && stored[0]!.equals(nal)) return;
      this.byType[index] = [Buffer.from(nal)];
      this.changed = true;
      return;
    }
    for (const known of stored) if (known.equals(nal)) return;
    stored.push(Buffer.from(nal));
    this.changed = true;
  }

  /**
   * One aggregation packet payload (H.264 STAP-A, RFC 6184 §5.7.1; H.265 AP, RFC 7798 §4.4.2) carrying
   * every stored set, or undefined when there is none or they do not fit in `maxPayload` bytes.
   */
  aggregate(maxPayload: number): Buffer | undefined {
    const sets = this.sets;
    if (this.aggregateFor !== maxPayload) {
      this.aggregatePayload = buildAggregate(this.codec, sets, maxPayload);
      this.aggregateFor = maxPayload;
    }
    return this.aggregatePayload;
  }

  private rebuild(): void {
    this.ordered = Object.freeze(this.byType.flat());
    this.aggregateFor = -1;
    this.changed = false;
  }
}

function buildAggregate(
  codec: ParameterSetCodec,
  sets: readonly Buffer[],
  maxPayload: number,
): Buffer | undefined {
  if (sets.length === 0) return undefined;
  const headerLength = codec === "H264" ? 1 : 2;
  let length = headerLength;
  for (const nal of sets) length += 2 + nal.length;
  if (length > maxPayload) return undefined;

  const payload = Buffer.allocUnsafe(length);
  if (codec === "H264") {
    // F is the OR of the units' F bits, NRI their highest NRI (RFC 6184 §5.7).
    let fAndNri = 0;
    for (const nal of sets) {
      const first = nal[0]!;
      fAndNri = (fAndNri & 0x80) | (first & 0x80) | Math.max(fAndNri & 0x60, first & 0x60);
    }
    payload[0] = fAndNri | H264.STAP_A;
  } else {
    // F is the OR of the F bits; LayerId and TID the lowest of the units' (RFC 7798 §4.4.2).
    let forbidden = 0;
    let layerId = 63;
    let tid = 7;
    for (const nal of sets) {
      const first = nal[0]!;
      const second = nal[1] ?? 1;
      forbidden |= first & 0x80;
      layerId = Math.min(layerId, ((first & 1) << 5) | (second >> 3));
      tid = Math.min(tid, second & 7);
    }
    payload[0] = forbidden | (H265.AP << 1) | (layerId >> 5);
    payload[1] = ((layerId & 0x1f) << 3) | tid;
  }
  let offset = headerLength;
  for (const nal of sets) {
    payload.writeUInt16BE(nal.length, offset);
    nal.copy(payload, offset + 2);
    offset += 2 + nal.length;
  }
  return payload;
}
