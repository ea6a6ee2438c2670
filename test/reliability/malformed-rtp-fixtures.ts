import { rtpPacket } from "../helpers/rtp-fixtures";
import type { SeededRandom } from "../helpers/seeded-random";

// Malformed RTP as cameras, lossy networks and wrong wiring produce it, byte by byte (written from
// RFC 3550, 6184 and 7798, not from src/), each case with the packets a decoder can still use.

export interface MalformedCase {
  readonly name: string;
  readonly codec: "H264" | "H265";
  /** One access unit, in arrival order. */
  readonly packets: Buffer[];
  /** Indices into packets of those to keep. */
  readonly keep: readonly number[];
}

const SSRC = 0xcafe;
const p = (seq: number, payload: string, marker = false, ts = 9000): Buffer =>
  rtpPacket({ seq, ts, payload, marker, ssrc: SSRC });

/** A valid RTP header followed by `tail`, with the first byte (V, P, X, CC) set to `first`. */
function withFirstByte(first: number, seq: number, tail: string): Buffer {
  const packet = p(seq, tail, true);
  packet[0] = first;
  return packet;
}

export const MALFORMED_CASES: readonly MalformedCase[] = [
  { name: "short packet (4 bytes)", codec: "H264", packets: [Buffer.from("80600001", "hex")], keep: [] },
  { name: "header only, no payload", codec: "H264", packets: [p(1, "", true)], keep: [] },
  { name: "RTP version 1", codec: "H264", packets: [withFirstByte(0x40, 1, "419a")], keep: [] },
  { name: "RTP version 0", codec: "H264", packets: [withFirstByte(0x00, 1, "419a")], keep: [] },
  {
    name: "padding longer than the payload",
    codec: "H264",
    packets: [withFirstByte(0xa0, 1, "419a c8")],
    keep: [],
  },
  { name: "padding length 0", codec: "H264", packets: [withFirstByte(0xa0, 1, "419a 00")], keep: [] },
  { name: "CSRC count past the end", codec: "H264", packets: [withFirstByte(0x8f, 1, "419a")], keep: [] },
  {
    name: "extension past the end",
    codec: "H264",
    packets: [withFirstByte(0x90, 1, "bede 0009 41")],
    keep: [],
  },
  {
    name: "FU-A start without end, then a NAL unit",
    codec: "H264",
    packets: [p(1, "7c85 aabb"), p(2, "7c05 ccdd"), p(3, "4188 0011", true)],
    keep: [2],
  },
  {
    name: "FU-A start without end, then another start",
    codec: "H264",
    packets: [p(1, "7c85 aabb"), p(2, "7c85 ccdd"), p(3, "7c45 eeff", true)],
    keep: [1, 2],
  },
  { name: "FU-A end without start", codec: "H264", packets: [p(1, "7c45 aabb", true)], keep: [] },
  {
    name: "FU-A middle without start",
    codec: "H264",
    packets: [p(1, "7c05 aabb"), p(2, "4188 0011", true)],
    keep: [1],
  },
  {
    name: "FU-A with a lost middle (sequence gap)",
    codec: "H264",
    packets: [p(1, "7c85 aabb"), p(3, "7c45 ccdd", true)],
    keep: [],
  },
  {
    name: "FU-A continuation of another NAL type",
    codec: "H264",
    packets: [p(1, "7c85 aabb"), p(2, "7c41 ccdd", true)],
    keep: [],
  },
  { name: "FU-A with a 1-byte payload", codec: "H264", packets: [p(1, "7c", true)], keep: [] },
  { name: "FU-A without NAL unit bytes", codec: "H264", packets: [p(1, "7c85", true)], keep: [] },
  {
    name: "STAP-A with a length past the end",
    codec: "H264",
    packets: [p(1, "18 0010 6742", true)],
    keep: [],
  },
  {
    name: "STAP-A with a cut length field",
    codec: "H264",
    packets: [p(1, "18 0002 6742 00", true)],
    keep: [],
  },
  { name: "STAP-A with no units", codec: "H264", packets: [p(1, "18", true)], keep: [] },
  {
    name: "STAP-A with a zero-length unit",
    codec: "H264",
    packets: [p(1, "18 0000 0002 6742", true)],
    keep: [],
  },
  {
    name: "H.265 FU start without end, then a NAL unit",
    codec: "H265",
    packets: [p(1, "6201 93 aabb"), p(2, "0201 ccdd", true)],
    keep: [1],
  },
  { name: "H.265 FU end without start", codec: "H265", packets: [p(1, "6201 53 aabb", true)], keep: [] },
  { name: "H.265 FU middle without start", codec: "H265", packets: [p(1, "6201 13 aabb", true)], keep: [] },
  { name: "H.265 FU without NAL unit bytes", codec: "H265", packets: [p(1, "6201 93", true)], keep: [] },
  { name: "H.265 payload of 1 byte", codec: "H265", packets: [p(1, "26", true)], keep: [] },
  {
    name: "H.265 AP with a length past the end",
    codec: "H265",
    packets: [p(1, "6001 0020 4001 0c", true)],
    keep: [],
  },
];

/** Well-formed access units the malformed ones are checked against: everything kept. */
export const WELL_FORMED_CASES: readonly MalformedCase[] = [
  {
    name: "STAP-A, then an IDR in three FU-A fragments",
    codec: "H264",
    packets: [p(1, "18 0004 6742001f 0002 68ce"), p(2, "7c85 01"), p(3, "7c05 02"), p(4, "7c45 03", true)],
    keep: [0, 1, 2, 3],
  },
  {
    name: "FU-A without the end bit at the end of the frame",
    codec: "H264",
    packets: [p(1, "7c85 01"), p(2, "7c05 02", true)],
    keep: [0, 1],
  },
  {
    name: "FU-A fragments across the sequence number wrap",
    codec: "H264",
    packets: [p(0xffff, "7c85 01"), p(0, "7c45 02", true)],
    keep: [0, 1],
  },
  {
    name: "H.265 AP of VPS and SPS, then an FU",
    codec: "H265",
    packets: [p(1, "6001 0003 400101 0003 420101"), p(2, "6201 93 01"), p(3, "6201 53 02", true)],
    keep: [0, 1, 2],
  },
];

/**
 * A random or damaged packet of the stream `valid` comes from: random bytes, a valid packet
 * truncated, bit-flipped or with a random FU/STAP header, or a valid one untouched.
 */
export function mutatedPacket(rng: SeededRandom, valid: readonly Buffer[]): Buffer {
  const base = Buffer.from(rng.pick(valid));
  switch (rng.int(7)) {
    case 0:
      return rng.bytes(rng.int(40));
    case 1:
      return base.subarray(0, rng.int(base.length));
    case 2: {
      for (let n = rng.range(1, 6); n > 0; n--) base[rng.int(base.length)]! ^= 1 << rng.int(8);
      return base;
    }
    case 3: {
      if (base.length > 13) base[13] = rng.int(256); // FU header or second byte of a NAL unit
      return base;
    }
    case 4: {
      if (base.length > 12) base[12] = rng.pick([0x18, 0x1c, 0x7c, 0x60, 0x62, rng.int(256)]);
      return base;
    }
    case 5:
      base[0] = rng.int(256); // version, padding, extension, CSRC count
      return base;
    default:
      return base;
  }
}
