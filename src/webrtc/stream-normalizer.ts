import { FuRun } from "../rtp/fu-run";
import { H264 } from "../rtp/h264";
import { H264_SLICE_B, h264SliceType } from "../rtp/h264-slice";
import { H265 } from "../rtp/h265";
import { dropMalformedPackets } from "../rtp/packet-check";
import { nalUnitType, type ParameterSetCodec, ParameterSetStore } from "../rtp/parameter-set-store";
import { parseRtpHeader } from "../rtp/rtp-packet";
import { FU_END, FU_START, RTP_HEADER_SIZE, RtpWriter, setMarker } from "../rtp/rtp-writer";
import type { AccessUnit, MediaInfo, MediaKind } from "../rtp/stream-info";

/** One access unit, ready for every viewer of the stream. */
export interface OutputFrame {
  readonly kind: MediaKind;
  readonly mid: string;
  readonly keyframe: boolean;
  /** RTP timestamp on the output timeline (continuous across source sessions). */
  readonly timestamp: number;
  /**
   * Complete RTP packets: V=2, no padding, no CSRC, no header extension, PT = the source's, SSRC 0,
   * sequence numbers from one stream-level counter; video: marker on the last packet, each packet at
   * most maxPacketSize bytes.
   */
  readonly packets: readonly Buffer[];
  /** performance.now() when the access unit arrived. */
  readonly receivedAt: number;
  readonly sourceSession: number;
}

export interface NormalizerOptions {
  /** Largest output RTP packet, header included; 16..65535, default 1200. */
  readonly maxPacketSize?: number;
  /** Sequence number of the first output packet; default random. Tests pin it. */
  readonly initialSequence?: number;
}

export interface NormalizerCounters {
  readonly frames: number;
  readonly packetsIn: number;
  readonly packetsOut: number;
  /**
   * Source packets not passed through as they came: packets too large (single NAL units, aggregates)
   * and every fragment of a NAL unit rebuilt and re-fragmented because one of its fragments was.
   */
  readonly refragmented: number;
  /** Keyframes the parameter sets were inserted before. */
  readonly parameterSetsInserted: number;
  /**
   * Source packets dropped: not RTP, empty, truncated aggregates, fragments of NAL units that cannot
   * be rebuilt (see dropMalformedPackets), packetizations browsers cannot take.
   */
  readonly malformed: number;
  /** Breaks in the source's sequence numbers within a source session (loss or reordering). */
  readonly gaps: number;
}

export const DEFAULT_MAX_PACKET_SIZE = 1200;
/** Room for a 12-byte header, an H.265 FU's 3 bytes and at least one byte of NAL unit. */
const MIN_PACKET_SIZE = 16;
const MAX_PACKET_SIZE = 65535;

/** Without a measured frame interval: a frame at 30 fps (video), a 20 ms packet (audio). */
const DEFAULT_VIDEO_FPS = 30;
const DEFAULT_AUDIO_PACKETS_PER_S = 50;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function packetizationOf(media: MediaInfo): ParameterSetCodec | undefined {
  if (media.kind !== "video") return undefined;
  return media.codec === "H264" || media.codec === "H265" ? media.codec : undefined;
}

/** The maxPacketSize the normalizer will use (default when undefined). @throws RangeError when out of range. */
export function checkedPacketSize(value: number | undefined): number {
  const size = value ?? DEFAULT_MAX_PACKET_SIZE;
  if (!Number.isInteger(size) || size < MIN_PACKET_SIZE || size > MAX_PACKET_SIZE) {
    throw new RangeError(
      `StreamNormalizer: maxPacketSize must be an integer in ${MIN_PACKET_SIZE}..${MAX_PACKET_SIZE}, got ${size}`,
    );
  }
  return size;
}

function sameBuffers(a: readonly Buffer[], b: readonly Buffer[]): boolean {
  return a.length === b.length && a.every((buffer, i) => buffer.equals(b[i]!));
}

/**
 * Turns one media's access units, as a camera sent them, into packets every WebRTC viewer can take
 * (docs/ARCHITECTURE.md, "Facts that shaped the design"): camera header extensions, CSRCs and
 * padding stripped; oversized NAL units fragmented (H.264 FU-A, H.265 FU) once at the maximum
 * payload, whether they came whole or in fragments some of which do not fit, and oversized
 * aggregates split; packets that fit passed through as they came; the latest parameter sets put
 * before each keyframe that lacks them; one continuous sequence space and timeline across source
 * sessions. One instance per media of a stream, shared by all its viewers.
 *
 * B-frame detection (H.264 only): the slice_type of the first slice of each frame sent as a single
 * NAL unit or the start of an FU-A; one B slice (slice_type 1 or 6) sets `bFrames` for good. It
 * is exact for the pictures it sees and costs two Exp-Golomb reads per frame until it fires.
 *
 * Parameter sets are learnt from single-NAL and aggregation packets; one fragmented over FU
 * packets counts as present in its frame but is not stored.
 *
 * Fragmented NAL units: the fragments of one unit are gathered (FuRun, no copy) until its end
 * fragment, the access unit's end or anything else; when all of them fit they go out as they came,
 * otherwise the unit is cut again from its first byte, every fragment but the last full. An incomplete
 * run never gets here: dropMalformedPackets drops every fragment of a unit whose start or a middle
 * fragment was lost (rebuilt, it would be a unit with a hole that a decoder takes for whole), and
 * keeps a run still open at the access unit's end, which goes out without the E bit as it came.
 */
export class StreamNormalizer {
  private media: MediaInfo;
  private readonly packetization: ParameterSetCodec | undefined;
  private readonly maxPayload: number;
  private readonly writer: RtpWriter;
  private readonly store: ParameterSetStore | undefined;
  /** The fragmented NAL unit being gathered (H.264 / H.265). */
  private readonly run = new FuRun();
  private sdpSets: readonly Buffer[];
  private readonly stats: Mutable<NormalizerCounters> = {
    frames: 0,
    packetsIn: 0,
    packetsOut: 0,
    refragmented: 0,
    parameterSetsInserted: 0,
    malformed: 0,
    gaps: 0,
  };
  private hasBFrames = false;
  /** True while the current frame's first slice is still to be read for its slice_type. */
  private sliceToCheck = false;
  /** True while in-band parameter sets of the current frame are still to be offered to the store. */
  private offerSets = false;

  private started = false;
  private session = 0;
  private ssrc = 0;
  /** Added (mod 2^32) to source timestamps. */
  private offset = 0;
  private lastSourceTimestamp = 0;
  private lastOutputTimestamp = 0;
  private lastReceivedAt = 0;
  private frameTicks: number;
  private readonly maxFrameTicks: number;
  private expectedSequence = -1;

  /** @throws RangeError when maxPacketSize or initialSequence is out of range. */
  constructor(media: MediaInfo, options: NormalizerOptions = {}) {
    this.media = media;
    this.packetization = packetizationOf(media);
    this.maxPayload = checkedPacketSize(options.maxPacketSize) - RTP_HEADER_SIZE;
    const initialSequence = options.initialSequence ?? Math.floor(Math.random() * 0x10000);
    if (!Number.isInteger(initialSequence) || initialSequence < 0 || initialSequence > 0xffff) {
      throw new RangeError(
        `StreamNormalizer: initialSequence must be an integer in 0..65535, got ${initialSequence}`,
      );
    }
    this.writer = new RtpWriter(media.payloadType, initialSequence);
    this.sdpSets = media.parameterSets ?? [];
    this.store = this.packetization ? new ParameterSetStore(this.packetization, this.sdpSets) : undefined;
    const clockRate = media.clockRate > 0 ? media.clockRate : 90000;
    this.frameTicks = Math.round(
      clockRate / (media.kind === "video" ? DEFAULT_VIDEO_FPS : DEFAULT_AUDIO_PACKETS_PER_S),
    );
    this.maxFrameTicks = clockRate;
  }

  /** Latest known parameter sets: the SDP's first, replaced by in-band ones as they come. */
  get parameterSets(): readonly Buffer[] {
    return this.store?.sets ?? [];
  }

  /** H.264: a B slice was seen (see the class comment for the method); always false for other codecs. */
  get bFrames(): boolean {
    return this.hasBFrames;
  }

  get counters(): NormalizerCounters {
    return this.stats;
  }

  /**
   * Takes the MediaInfo of a new source session (same codec): its payload type, and its SDP parameter
   * sets when they differ from the previous SDP's (in-band updates are kept otherwise).
   */
  updateMedia(media: MediaInfo): void {
    this.media = media;
    this.writer.payloadType = media.payloadType;
    const sets = media.parameterSets ?? [];
    if (sets.length > 0 && !sameBuffers(sets, this.sdpSets)) {
      this.sdpSets = sets;
      this.store?.replaceAll(sets);
    }
  }

  /**
   * Normalizes one access unit of `session` that arrived at `now` (performance.now() ms). Returns
   * undefined when none of its packets is usable (they are counted as malformed); never throws on
   * bad input.
   */
  push(unit: AccessUnit, session: number, now: number = performance.now()): OutputFrame | undefined {
    const video = this.media.kind === "video";
    const keyframe = video && unit.keyframe;
    const checked = dropMalformedPackets(unit.packets, this.packetization);
    this.stats.packetsIn += unit.packets.length;
    this.stats.malformed += checked.malformed;
    const packets = checked.packets;
    const store = this.store;
    let insertSets = false;
    if (store !== undefined) {
      store.beginFrame();
      this.offerSets = true;
      if (keyframe) {
        insertSets = this.scanKeyframe(packets, store) !== store.completeMask && store.sets.length > 0;
        this.offerSets = false;
      }
    }
    this.sliceToCheck = this.packetization === "H264" && !this.hasBFrames;

    const out: Buffer[] = [];
    const firstSequence = this.writer.nextSequence;
    let frameTimestamp = 0;
    let lastSourceTimestamp = 0;
    let started = false;
    let written = 0;
    for (const packet of packets) {
      // dropMalformedPackets kept only packets with a whole header and a payload.
      const header = parseRtpHeader(packet);
      if (header === undefined) continue;
      if (!started) {
        started = true;
        this.followSource(header.ssrc, header.timestamp, session, now);
        frameTimestamp = (header.timestamp + this.offset) >>> 0;
        if (insertSets) this.writeParameterSets(out, frameTimestamp);
      }
      this.countGap(header.sequenceNumber);
      const timestamp = (header.timestamp + this.offset) >>> 0;
      const payload = packet.subarray(header.payloadOffset, header.payloadOffset + header.payloadLength);
      const ok =
        this.packetization === "H264"
          ? this.writeH264(out, payload, timestamp)
          : this.packetization === "H265"
            ? this.writeH265(out, payload, timestamp)
            : this.writeWhole(out, payload, timestamp, !video && header.marker);
      if (ok) {
        written++;
        lastSourceTimestamp = header.timestamp;
      } else {
        this.stats.malformed++;
      }
    }
    if (this.run.size > 0) this.flushRun(out);

    if (written === 0) {
      this.writer.rewind(firstSequence);
      return undefined;
    }
    if (video) setMarker(out[out.length - 1]!);
    if (insertSets) this.stats.parameterSetsInserted++;
    this.stats.frames++;
    this.stats.packetsOut += out.length;
    this.lastSourceTimestamp = lastSourceTimestamp;
    this.lastOutputTimestamp = (lastSourceTimestamp + this.offset) >>> 0;
    this.lastReceivedAt = now;
    return {
      kind: this.media.kind,
      mid: this.media.mid,
      keyframe,
      timestamp: frameTimestamp,
      packets: out,
      receivedAt: now,
      sourceSession: session,
    };
  }

  /**
   * Keeps the output timeline continuous. A new source session (session number or SSRC) starts
   * where the last one ended plus the wall-clock gap, at least one frame interval later.
   */
  private followSource(ssrc: number, timestamp: number, session: number, now: number): void {
    if (!this.started) {
      this.started = true;
      this.session = session;
      this.ssrc = ssrc;
      return;
    }
    if (session !== this.session || ssrc !== this.ssrc) {
      const gapTicks = Math.round((Math.max(0, now - this.lastReceivedAt) * this.media.clockRate) / 1000);
      this.offset = (this.lastOutputTimestamp + Math.max(gapTicks, this.frameTicks) - timestamp) >>> 0;
      this.session = session;
      this.ssrc = ssrc;
      this.expectedSequence = -1;
      return;
    }
    const delta = (timestamp - this.lastSourceTimestamp) >>> 0;
    if (delta > 0 && delta <= this.maxFrameTicks) this.frameTicks = delta;
  }

  private countGap(sequence: number): void {
    if (this.expectedSequence >= 0 && sequence !== this.expectedSequence) this.stats.gaps++;
    this.expectedSequence = (sequence + 1) & 0xffff;
  }

  /** Offers a keyframe's parameter sets to the store first; returns the mask of those it carries. */
  private scanKeyframe(packets: readonly Buffer[], store: ParameterSetStore): number {
    let present = 0;
    for (const packet of packets) {
      const header = parseRtpHeader(packet);
      if (header === undefined || header.payloadLength === 0) continue;
      present |= this.scanParameterSets(
        packet.subarray(header.payloadOffset, header.payloadOffset + header.payloadLength),
        store,
      );
    }
    return present;
  }

  /**
   * Offers the parameter sets one payload carries (alone or aggregated) to the store; returns the
   * mask (ParameterSetStore.indexOf bits) of the set types it carries, fragmented ones included.
   */
  private scanParameterSets(payload: Buffer, store: ParameterSetStore): number {
    const codec = store.codec;
    const headerLength = codec === "H264" ? 1 : 2;
    if (payload.length < headerLength) return 0;
    const type = nalUnitType(codec, payload[0]!);
    const aggregate = codec === "H264" ? H264.STAP_A : H265.AP;
    const fragment = codec === "H264" ? H264.FU_A : H265.FU;
    if (type === aggregate) {
      let present = 0;
      let offset = headerLength;
      while (offset + 2 + headerLength <= payload.length) {
        const size = payload.readUInt16BE(offset);
        const end = offset + 2 + size;
        if (size < headerLength || end > payload.length) break;
        const index = store.indexOf(nalUnitType(codec, payload[offset + 2]!));
        if (index >= 0) {
          store.offer(index, payload.subarray(offset + 2, end));
          present |= 1 << index;
        }
        offset = end;
      }
      return present;
    }
    if (type === fragment) {
      const fuHeader = payload[headerLength];
      if (fuHeader === undefined || (fuHeader & FU_START) === 0) return 0;
      const index = store.indexOf(fuHeader & (codec === "H264" ? 0x1f : 0x3f));
      return index >= 0 ? 1 << index : 0;
    }
    const index = store.indexOf(type);
    if (index < 0) return 0;
    store.offer(index, payload);
    return 1 << index;
  }

  /** STAP-A / AP of every known set, or each set on its own when they do not fit in one packet. */
  private writeParameterSets(out: Buffer[], timestamp: number): void {
    const store = this.store!;
    const aggregate = store.aggregate(this.maxPayload);
    if (aggregate !== undefined) {
      this.writer.packet(out, aggregate, timestamp, false);
      return;
    }
    for (const nal of store.sets) this.writeNal(out, nal, timestamp);
  }

  private writeWhole(out: Buffer[], payload: Buffer, timestamp: number, marker: boolean): boolean {
    this.writer.packet(out, payload, timestamp, marker);
    return true;
  }

  /** RFC 6184 packetization-mode 1: single NAL unit, STAP-A, FU-A. */
  private writeH264(out: Buffer[], payload: Buffer, timestamp: number): boolean {
    const type = payload[0]! & 0x1f;
    if (type !== H264.FU_A && this.run.size > 0) this.flushRun(out);
    if (type >= 1 && type <= 23) {
      if (this.offerSets && (type === H264.SPS || type === H264.PPS))
        this.scanParameterSets(payload, this.store!);
      if (this.sliceToCheck && (type === H264.SLICE || type === H264.IDR))
        this.checkSlice(payload.subarray(1));
      if (payload.length > this.maxPayload) this.stats.refragmented++;
      this.writeNal(out, payload, timestamp);
      return true;
    }
    if (type === H264.STAP_A) return this.writeAggregate(out, payload, timestamp);
    if (type === H264.FU_A) {
      if (payload.length < 3) return false;
      const fuHeader = payload[1]!;
      const nalType = fuHeader & 0x1f;
      if (
        this.sliceToCheck &&
        (fuHeader & FU_START) !== 0 &&
        (nalType === H264.SLICE || nalType === H264.IDR)
      ) {
        this.checkSlice(payload.subarray(2));
      }
      this.gatherFragment(out, payload, 1, nalType, timestamp);
      return true;
    }
    return false; // STAP-B, MTAP, FU-B (interleaved mode) and reserved types: browsers take none of them
  }

  /** RFC 7798 without DONL: single NAL unit, AP, FU. */
  private writeH265(out: Buffer[], payload: Buffer, timestamp: number): boolean {
    if (payload.length < 2) return false;
    const type = (payload[0]! >> 1) & 0x3f;
    if (type !== H265.FU && this.run.size > 0) this.flushRun(out);
    if (type < H265.AP) {
      if (this.offerSets && type >= H265.VPS && type <= H265.PPS)
        this.scanParameterSets(payload, this.store!);
      if (payload.length > this.maxPayload) this.stats.refragmented++;
      this.writeNal(out, payload, timestamp);
      return true;
    }
    if (type === H265.AP) return this.writeAggregate(out, payload, timestamp);
    if (type === H265.FU) {
      if (payload.length < 4) return false;
      this.gatherFragment(out, payload, 2, payload[2]! & 0x3f, timestamp);
      return true;
    }
    return false; // PACI and unspecified types
  }

  /**
   * A STAP-A / AP: passed through when it fits, else split into its NAL units (each fragmented as
   * needed). A truncated one is dropped whole: a decoder would choke on its last unit.
   */
  private writeAggregate(out: Buffer[], payload: Buffer, timestamp: number): boolean {
    const h264 = this.packetization === "H264";
    const headerLength = h264 ? 1 : 2;
    let offset = headerLength;
    while (offset < payload.length) {
      if (offset + 2 > payload.length) return false;
      const size = payload.readUInt16BE(offset);
      const end = offset + 2 + size;
      if (size < headerLength || end > payload.length) return false;
      if (this.sliceToCheck && h264) {
        const type = payload[offset + 2]! & 0x1f;
        if (type === H264.SLICE || type === H264.IDR) this.checkSlice(payload.subarray(offset + 3, end));
      }
      offset = end;
    }
    if (offset === headerLength) return false;
    if (this.offerSets) this.scanParameterSets(payload, this.store!);

    if (payload.length <= this.maxPayload) {
      this.writer.packet(out, payload, timestamp, false);
      return true;
    }
    this.stats.refragmented++;
    for (offset = headerLength; offset < payload.length; ) {
      const end = offset + 2 + payload.readUInt16BE(offset);
      this.writeNal(out, payload.subarray(offset + 2, end), timestamp);
      offset = end;
    }
    return true;
  }

  /**
   * Adds one FU-A / FU packet's payload (at least a byte of body) to the run of its NAL unit, and
   * writes the run at its end fragment. A start, or a fragment of another NAL type, ends the run
   * before (dropMalformedPackets leaves neither mid-run; a lone continuation goes out like a run).
   */
  private gatherFragment(
    out: Buffer[],
    payload: Buffer,
    prefixLength: 1 | 2,
    fuType: number,
    timestamp: number,
  ): void {
    const run = this.run;
    const fuHeader = payload[prefixLength]!;
    if (run.size > 0 && ((fuHeader & FU_START) !== 0 || fuType !== run.prefix.fuType)) this.flushRun(out);
    if (run.size === 0) run.begin(payload, prefixLength, fuType, timestamp, this.maxPayload);
    else run.add(payload, this.maxPayload);
    if ((fuHeader & FU_END) !== 0) this.flushRun(out);
  }

  /**
   * Writes the gathered run: its packets as they came when every one fits, else the NAL unit cut
   * again at the maximum payload (S and E bits where the run had them).
   */
  private flushRun(out: Buffer[]): void {
    const run = this.run;
    if (run.oversized) {
      this.stats.refragmented += run.size;
      this.writer.fragments(out, run.prefix, run.started, run.ended, run, run.timestamp, this.maxPayload);
    } else {
      for (let i = 0; i < run.size; i++) this.writer.packet(out, run.payload(i), run.timestamp, false);
    }
    run.clear();
  }

  /** A whole NAL unit: one packet when it fits, else FU-A (H.264) / FU (H.265) fragments. */
  private writeNal(out: Buffer[], nal: Buffer, timestamp: number): void {
    this.writer.nalUnit(out, this.packetization!, nal, timestamp, this.maxPayload);
  }

  /** Reads the first slice of a frame (H.264) for B-frame detection. */
  private checkSlice(afterNalHeader: Buffer): void {
    this.sliceToCheck = false;
    if (h264SliceType(afterNalHeader) === H264_SLICE_B) this.hasBFrames = true;
  }
}
