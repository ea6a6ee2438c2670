import type { DescribedMedia } from "./description";

export type MediaSelection = "video" | "audio" | "both";

/**
 * The media to set up, in SDP order: the first video and the first audio the selection asks for, and
 * nothing more (a camera may describe thousands; each SETUP costs a request and, over UDP, two sockets).
 * Audio a browser can play wins over audio listed before it that no browser takes (AAC); a camera
 * whose only audio is AAC still gets it set up, so that the status can say why there is no sound.
 */
export function chooseMedia(media: readonly DescribedMedia[], selection: MediaSelection): DescribedMedia[] {
  const chosen = new Set<DescribedMedia>();
  for (const kind of ["video", "audio"] as const) {
    if (selection !== "both" && selection !== kind) continue;
    const first = media.find((m) => m.kind === kind && m.relayable) ?? media.find((m) => m.kind === kind);
    if (first) chosen.add(first);
  }
  return media.filter((m) => chosen.has(m));
}

/** "video H264, audio MPEG4-GENERIC": each kind and codec once, however many media share it. */
export function describeOffer(media: readonly DescribedMedia[]): string {
  return [...new Set(media.map((m) => `${m.kind} ${m.codec}`))].join(", ");
}
