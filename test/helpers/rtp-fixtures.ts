import type { MediaInfo } from "../../src/rtp/stream-info";
import { parseRtp } from "./depacketize";

// Byte fixtures for the RTP and codec tests, written from RFC 3550 and independent of src/ (as
// depacketize.ts is): a fixture built by the product's own writer would share its bugs.

/** H.264 nal_unit_type values (Table 7-1) the tests look for. */
export const H264_IDR = 5;
export const H264_SPS = 7;
export const H264_PPS = 8;
/** H.265 nal_unit_type values (Table 7-1) the tests look for. */
export const H265_VPS = 32;
export const H265_SPS = 33;
export const H265_PPS = 34;

/** Bytes from hex digits; white space between them is for the reader. */
export const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ""), "hex");
export const hexOf = (buffers: readonly Buffer[]): string[] =>
  buffers.map((buffer) => buffer.toString("hex"));
export const b64 = (text: string): Buffer => Buffer.from(text, "base64");

/** Deterministic bytes for robustness tests (xorshift32). */
export function pseudoRandomBytes(seed: number, length: number): Buffer {
  let x = seed;
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

export interface RtpPacketFields {
  readonly seq: number;
  readonly ts: number;
  /** Hex digits (white space allowed) or the bytes themselves. */
  readonly payload: string | Buffer;
  readonly marker?: boolean;
  /** Default 96. */
  readonly pt?: number;
  /** Default 0x11223344. */
  readonly ssrc?: number;
}

/** An RTP packet byte by byte: V=2, no padding, no extension, no CSRC; seq, ts and SSRC wrap. */
export function rtpPacket({
  seq,
  ts,
  payload,
  marker = false,
  pt = 96,
  ssrc = 0x11223344,
}: RtpPacketFields): Buffer {
  const header = Buffer.alloc(12);
  header[0] = 0x80;
  header[1] = (marker ? 0x80 : 0) | pt;
  header.writeUInt16BE(seq & 0xffff, 2);
  header.writeUInt32BE(ts >>> 0, 4);
  header.writeUInt32BE(ssrc >>> 0, 8);
  return Buffer.concat([header, typeof payload === "string" ? hex(payload) : payload]);
}

/** Packets grouped into frames by the marker bit; packets after the last marker are left out. */
export function framesByMarker(packets: readonly Buffer[]): Buffer[][] {
  const out: Buffer[][] = [];
  let current: Buffer[] = [];
  for (const packet of packets) {
    current.push(packet);
    if (parseRtp(packet).marker) {
      out.push(current);
      current = [];
    }
  }
  return out;
}

/** A camera's video as the SDP describes it: mid 0, payload type 96, 90 kHz, relayable. */
export function videoMedia(codec: "H264" | "H265", parameterSets?: Buffer[]): MediaInfo {
  return {
    mid: "0",
    kind: "video",
    codec,
    payloadType: 96,
    clockRate: 90000,
    fmtp: {},
    relayable: true,
    ...(parameterSets ? { parameterSets } : {}),
  };
}
