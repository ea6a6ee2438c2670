import { extractParameterSets } from "../rtp/parameter-sets";
import { pictureSizeOf } from "../rtp/picture-size";
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
      const picture = pictureSizeOf(
        media.codec,
        extractParameterSets(rtpPayload(packet, header), media.codec),
      );
      if (picture) {
        this.found = { width: picture.width, height: picture.height };
        return;
      }
    }
  }
}
