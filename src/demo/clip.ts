import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { groupAccessUnits, h264NalType, isIdrAccessUnit, splitAnnexB } from "../rtp/annexb";

/*
 * The demo clip, src/demo/clip/demo.h264: 10 s of testsrc2 with a frame counter, H.264 Main
 * profile level 3.0, 640x360 at 25 fps, an IDR every 50 frames (5 GOPs, so the loop point is an
 * IDR), no B-frames, one slice per frame, SPS/PPS in-band before every IDR. Made with ffmpeg 5.1:
 *
 *   ffmpeg -f lavfi -i "testsrc2=size=640x360:rate=25" \
 *     -vf "drawtext=fontfile=/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf:text='demo camera  frame %{eif\:n\:d\:3}':x=16:y=16:fontsize=28:fontcolor=white:box=1:boxcolor=black@0.6:boxborderw=6" \
 *     -t 10 -an -c:v libx264 -profile:v main -preset veryfast -g 50 -keyint_min 50 -sc_threshold 0 -bf 0 \
 *     -b:v 450k -maxrate 600k -bufsize 600k -pix_fmt yuv420p -x264-params repeat-headers=1 \
 *     -f h264 src/demo/clip/demo.h264
 */

/** Frame rate the clip was encoded at: it carries no container timing of its own. */
export const DEMO_CLIP_FPS = 25;
export const DEMO_CLIP_WIDTH = 640;
export const DEMO_CLIP_HEIGHT = 360;
const CLIP_RELATIVE_PATH = join("src", "demo", "clip", "demo.h264");

/**
 * Absolute path of the shipped clip. The compiled module runs from dist/src/demo while the clip
 * stays in src/demo/clip, so walk up to the package root (the first directory with a package.json
 * that holds the clip) instead of counting `..`.
 */
export function resolveDemoClipPath(from: string = __dirname): string {
  let dir = from;
  for (;;) {
    const candidate = join(dir, CLIP_RELATIVE_PATH);
    if (existsSync(join(dir, "package.json")) && existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`demo clip ${CLIP_RELATIVE_PATH} not found above ${from}`);
    dir = parent;
  }
}

export interface ClipFrame {
  /** NAL units without start codes, views into the clip's buffer. */
  readonly nals: readonly Buffer[];
  readonly keyframe: boolean;
}

export interface DemoClip {
  readonly frames: readonly ClipFrame[];
  readonly sps: Buffer;
  readonly pps: Buffer;
  /** SPS bytes 1..3 as 6 hex digits (profile_idc, constraint flags, level_idc). */
  readonly profileLevelId: string;
}

/** Parses an Annex-B H.264 clip into frames. Returns an error message when it cannot be looped. */
export function parseDemoClip(data: Buffer): DemoClip | string {
  const nals = splitAnnexB(data);
  const sps = nals.find((nal) => h264NalType(nal) === 7);
  const pps = nals.find((nal) => h264NalType(nal) === 8);
  if (!sps || sps.length < 4) return "no SPS";
  if (!pps) return "no PPS";
  const frames = groupAccessUnits(nals)
    .filter((nals) => nals.some((nal) => (h264NalType(nal) ?? 0) >= 1 && (h264NalType(nal) ?? 0) <= 5))
    .map((nals) => ({ nals, keyframe: isIdrAccessUnit(nals) }));
  if (frames.length === 0) return "no frames";
  if (!frames[0]!.keyframe) return "the first frame is not an IDR";
  return { frames, sps, pps, profileLevelId: sps.subarray(1, 4).toString("hex") };
}

/** @throws Error when the file cannot be read or holds no loopable H.264 stream. */
export async function loadDemoClip(path: string = resolveDemoClipPath()): Promise<DemoClip> {
  const parsed = parseDemoClip(await readFile(path));
  if (typeof parsed === "string") throw new Error(`demo clip ${path}: ${parsed}`);
  return parsed;
}
