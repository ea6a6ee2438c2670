import type { DemoClip } from "./clip";

export const DEMO_PAYLOAD_TYPE = 96;
export const DEMO_TRACK_CONTROL = "trackID=0";
export const VIDEO_CLOCK_RATE = 90000;

export interface DemoSdpOptions {
  readonly clip: Pick<DemoClip, "sps" | "pps" | "profileLevelId">;
  readonly fps: number;
  /** The camera's address as the client reached it (origin line). */
  readonly address: string;
  /** Numeric session id for the origin line. */
  readonly sessionId: string;
}

/** The DESCRIBE body: one H.264 video media, packetization-mode 1, parameter sets also in the SDP. */
export function buildDemoSdp(opts: DemoSdpOptions): string {
  const addressType = opts.address.includes(":") ? "IP6" : "IP4";
  const sprop = `${opts.clip.sps.toString("base64")},${opts.clip.pps.toString("base64")}`;
  const lines = [
    "v=0",
    `o=- ${opts.sessionId} 1 IN ${addressType} ${opts.address}`,
    "s=node-red-rtsp-webrtc demo camera",
    `c=IN ${addressType} ${addressType === "IP6" ? "::" : "0.0.0.0"}`,
    "t=0 0",
    "a=control:*",
    "a=range:npt=0-",
    `m=video 0 RTP/AVP ${DEMO_PAYLOAD_TYPE}`,
    `a=rtpmap:${DEMO_PAYLOAD_TYPE} H264/${VIDEO_CLOCK_RATE}`,
    `a=fmtp:${DEMO_PAYLOAD_TYPE} packetization-mode=1;profile-level-id=${opts.clip.profileLevelId};sprop-parameter-sets=${sprop}`,
    `a=framerate:${opts.fps}`,
    `a=control:${DEMO_TRACK_CONTROL}`,
  ];
  return `${lines.join("\r\n")}\r\n`;
}
