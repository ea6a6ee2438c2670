// ISO/IEC 14496-12 boxes for a live fragmented-MP4 stream of one video track: an initialisation
// segment, then one fragment (moof + mdat) per frame. Written by hand because a viewer on Media Source
// Extensions must get each frame as it arrives, and mediabunny (which writes the recordings) starts a
// fragment only at a keyframe: a GOP of latency.

/** What the sample entry of the track needs. */
export interface LiveVideoTrack {
  /** Sample entry type: "avc1" (H.264, config = avcC) or "hvc1" (H.265, config = hvcC). */
  readonly entry: "avc1" | "hvc1";
  /** The AVCDecoderConfigurationRecord or HEVCDecoderConfigurationRecord. */
  readonly config: Buffer;
  readonly width: number;
  readonly height: number;
  /** Units per second of decode times and durations (90000 for RTP video). */
  readonly timescale: number;
}

/** One frame of the track: its NAL units, without start codes or length prefixes. */
export interface LiveSample {
  readonly nals: readonly Buffer[];
  readonly decodeTime: number;
  readonly duration: number;
  readonly keyframe: boolean;
}

export const LIVE_TRACK_ID = 1;

function box(type: string, ...parts: Buffer[]): Buffer {
  const size = 8 + parts.reduce((sum, part) => sum + part.length, 0);
  const header = Buffer.alloc(8);
  header.writeUInt32BE(size, 0);
  header.write(type, 4, "latin1");
  return Buffer.concat([header, ...parts], size);
}

function fullBox(type: string, version: number, flags: number, ...parts: Buffer[]): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(((version & 0xff) << 24) | (flags & 0xffffff), 0);
  return box(type, head, ...parts);
}

function u32(...values: number[]): Buffer {
  const out = Buffer.alloc(4 * values.length);
  values.forEach((value, i) => {
    out.writeUInt32BE(value >>> 0, 4 * i);
  });
  return out;
}

const UNITY_MATRIX = u32(0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000);

function mvhd(): Buffer {
  // Creation and modification times 0, timescale 1000, duration 0 (unknown: a live stream), rate 1.0,
  // volume 1.0, reserved, matrix, pre_defined, next track id.
  const volume = Buffer.from([0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  return fullBox(
    "mvhd",
    0,
    0,
    u32(0, 0, 1000, 0, 0x00010000),
    volume,
    UNITY_MATRIX,
    Buffer.alloc(24),
    u32(2),
  );
}

function tkhd(track: LiveVideoTrack): Buffer {
  // Flags: enabled, in movie. Layer, alternate group and volume 0 (video).
  return fullBox(
    "tkhd",
    0,
    3,
    u32(0, 0, LIVE_TRACK_ID, 0, 0, 0, 0),
    Buffer.alloc(8),
    UNITY_MATRIX,
    u32(track.width << 16, track.height << 16),
  );
}

function mdhd(track: LiveVideoTrack): Buffer {
  // Language "und" packed as three 5-bit letters.
  return fullBox("mdhd", 0, 0, u32(0, 0, track.timescale, 0), Buffer.from([0x55, 0xc4, 0, 0]));
}

function hdlr(): Buffer {
  return fullBox(
    "hdlr",
    0,
    0,
    u32(0),
    Buffer.from("vide", "latin1"),
    Buffer.alloc(12),
    Buffer.from("Video\0"),
  );
}

function sampleEntry(track: LiveVideoTrack): Buffer {
  const visual = Buffer.alloc(78);
  visual.writeUInt16BE(1, 6); // data reference index
  visual.writeUInt16BE(track.width, 24);
  visual.writeUInt16BE(track.height, 26);
  visual.writeUInt32BE(0x00480000, 28); // 72 dpi
  visual.writeUInt32BE(0x00480000, 32);
  visual.writeUInt16BE(1, 40); // frame count
  visual.writeUInt16BE(0x0018, 74); // depth
  visual.writeInt16BE(-1, 76); // pre_defined
  const configType = track.entry === "avc1" ? "avcC" : "hvcC";
  return box(track.entry, visual, box(configType, track.config));
}

function stbl(track: LiveVideoTrack): Buffer {
  return box(
    "stbl",
    fullBox("stsd", 0, 0, u32(1), sampleEntry(track)),
    fullBox("stts", 0, 0, u32(0)),
    fullBox("stsc", 0, 0, u32(0)),
    fullBox("stsz", 0, 0, u32(0, 0)),
    fullBox("stco", 0, 0, u32(0)),
  );
}

function minf(track: LiveVideoTrack): Buffer {
  const dref = fullBox("dref", 0, 0, u32(1), fullBox("url ", 0, 1));
  return box("minf", fullBox("vmhd", 0, 1, Buffer.alloc(8)), box("dinf", dref), stbl(track));
}

/** ftyp + moov: what a player needs before the first fragment. */
export function initSegment(track: LiveVideoTrack): Buffer {
  const ftyp = box(
    "ftyp",
    Buffer.from("isom", "latin1"),
    u32(0x200),
    Buffer.from(`isomiso6${track.entry}mp41`, "latin1"),
  );
  const trak = box("trak", tkhd(track), box("mdia", mdhd(track), hdlr(), minf(track)));
  const mvex = box("mvex", fullBox("trex", 0, 0, u32(LIVE_TRACK_ID, 1, 0, 0, 0)));
  return Buffer.concat([ftyp, box("moov", mvhd(), trak, mvex)]);
}

/** sample_depends_on = 2 (an I-frame) / 1 with sample_is_non_sync_sample. */
const KEY_SAMPLE_FLAGS = 0x02000000;
const DELTA_SAMPLE_FLAGS = 0x01010000;
const MFHD_SIZE = 8 + 4 + 4;
const TFHD_SIZE = 8 + 4 + 4;
const TFDT_SIZE = 8 + 4 + 8;
/** Box header, version and flags, sample count, data offset, and one sample's duration, size, flags. */
const TRUN_SIZE = 8 + 4 + 4 + 4 + 12;
const TRAF_SIZE = 8 + TFHD_SIZE + TFDT_SIZE + TRUN_SIZE;
const MOOF_SIZE = 8 + MFHD_SIZE + TRAF_SIZE;
/** Each NAL unit's length before it in the mdat (the avcC/hvcC lengthSizeMinusOne is 3). */
const NAL_LENGTH_SIZE = 4;

/**
 * moof + mdat of one sample. tfhd says the data offsets count from the moof (default-base-is-moof),
 * so a fragment is valid wherever in the stream it lands. Written into one buffer of its exact size,
 * each NAL unit copied once: this runs for every frame of every stream with viewers.
 */
export function fragment(sequence: number, sample: LiveSample): Buffer {
  let dataSize = 0;
  for (const nal of sample.nals) dataSize += NAL_LENGTH_SIZE + nal.length;
  const out = Buffer.allocUnsafe(MOOF_SIZE + 8 + dataSize);
  let at = 0;
  const word = (value: number): void => {
    at = out.writeUInt32BE(value >>> 0, at);
  };
  const header = (size: number, type: string): void => {
    word(size);
    at += out.write(type, at, 4, "latin1");
  };
  header(MOOF_SIZE, "moof");
  header(MFHD_SIZE, "mfhd");
  word(0);
  word(sequence);
  header(TRAF_SIZE, "traf");
  header(TFHD_SIZE, "tfhd");
  word(0x020000); // version 0, default-base-is-moof
  word(LIVE_TRACK_ID);
  header(TFDT_SIZE, "tfdt");
  word(0x01000000); // version 1: a 64-bit decode time
  at = out.writeBigUInt64BE(BigInt(Math.max(0, Math.round(sample.decodeTime))), at);
  // trun: data offset, sample duration, size and flags present; one sample. Its size is fixed, so the
  // data offset (from the moof's start to the mdat's payload) is known before it is written.
  header(TRUN_SIZE, "trun");
  word(0x000701);
  word(1);
  word(MOOF_SIZE + 8);
  word(sample.duration);
  word(dataSize);
  word(sample.keyframe ? KEY_SAMPLE_FLAGS : DELTA_SAMPLE_FLAGS);
  header(8 + dataSize, "mdat");
  for (const nal of sample.nals) {
    word(nal.length);
    at += nal.copy(out, at);
  }
  return out;
}
