import type { MediaInfo } from "../../src/rtp/stream-info";

/** The demo camera's video as rtsp-in describes it: H.264, packetization-mode 1, mid 0. */
export const H264_VIDEO: MediaInfo = {
  mid: "0",
  kind: "video",
  codec: "H264",
  payloadType: 96,
  clockRate: 90000,
  fmtp: { "packetization-mode": "1" },
  relayable: true,
};

/** G.711 A-law audio at its static payload type, mid 1. */
export const PCMA_AUDIO: MediaInfo = {
  mid: "1",
  kind: "audio",
  codec: "PCMA",
  payloadType: 8,
  clockRate: 8000,
  fmtp: {},
  relayable: true,
};
