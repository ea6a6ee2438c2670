import { H264, parseH264Sps } from "../rtp/h264";
import { H265, parseH265Sps } from "../rtp/h265";
import { extractParameterSets } from "../rtp/parameter-sets";
import { parseRtpHeader, rtpPayload } from "../rtp/rtp-packet";
import type { AccessUnit, MediaInfo } from "../rtp/stream-info";

export interface VideoSize {
  readonly width: number;
  readonly height: number;
}

/** The picture size for the status line: from the SDP when it has it, else from the first in-band SPS. */
export class VideoSizeProbe {
  private found: VideoSize | undefined;

  get size(): VideoSize | undefined {
    return this.found;
  }

  reset(media: readonly MediaInfo[]): void {
    const video = media.find((m) => m.kind === "video");
    this.found = video?.width && video.height ? { width: video.width, height: video.height } : undefined;
  }

  inspect(unit: AccessUnit, media: MediaInfo): void {
    for (const packet of unit.packets) {
      const header = parseRtpHeader(packet);
      if (!header) continue;
      for (const nal of extractParameterSets(rtpPayload(packet, header), media.codec)) {
        const sps = isSps(nal, media.codec)
          ? media.codec === "H264"
            ? parseH264Sps(nal)
            : parseH265Sps(nal)
          : undefined;
        if (sps && sps.width > 0 && sps.height > 0) {
          this.found = { width: sps.width, height: sps.height };
          return;
        }
      }
    }
  }
}

function isSps(nal: Buffer, codec: string): boolean {
  return codec === "H264" ? (nal[0]! & 0x1f) === H264.SPS : ((nal[0]! >> 1) & 0x3f) === H265.SPS;
}
