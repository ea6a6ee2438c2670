import { H264 } from "./h264";
import { H265 } from "./h265";

/**
 * Parameter-set NAL units (H.264 SPS/PPS, H.265 VPS/SPS/PPS) carried in one RTP payload, alone or inside
 * an aggregation packet (STAP-A, AP). Cameras refresh them in-band; a relay must keep the latest.
 */
export function extractParameterSets(payload: Buffer, codec: string): Buffer[] {
  if (codec === "H264") return extractH264(payload);
  if (codec === "H265") return extractH265(payload);
  return [];
}

function extractH264(payload: Buffer): Buffer[] {
  if (payload.length < 1) return [];
  const type = payload[0]! & 0x1f;
  if (type === H264.SPS || type === H264.PPS) return [Buffer.from(payload)];
  if (type !== H264.STAP_A) return [];
  return aggregated(payload, 1).filter((nal) => {
    const t = nal[0]! & 0x1f;
    return t === H264.SPS || t === H264.PPS;
  });
}

function extractH265(payload: Buffer): Buffer[] {
  if (payload.length < 2) return [];
  const type = (payload[0]! >> 1) & 0x3f;
  const isParameterSet = (t: number) => t === H265.VPS || t === H265.SPS || t === H265.PPS;
  if (isParameterSet(type)) return [Buffer.from(payload)];
  if (type !== H265.AP) return [];
  return aggregated(payload, 2).filter((nal) => nal.length >= 2 && isParameterSet((nal[0]! >> 1) & 0x3f));
}

/** NAL units of an aggregation packet: 16-bit size, then the unit; copies, so they outlive the packet. */
function aggregated(payload: Buffer, headerLength: number): Buffer[] {
  const units: Buffer[] = [];
  let offset = headerLength;
  while (offset + 2 <= payload.length) {
    const size = payload.readUInt16BE(offset);
    offset += 2;
    if (size === 0 || offset + size > payload.length) break;
    units.push(Buffer.from(payload.subarray(offset, offset + size)));
    offset += size;
  }
  return units;
}
