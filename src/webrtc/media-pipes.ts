import type { AccessUnit, MediaInfo, StreamInfo } from "../rtp/stream-info";
import { type NormalizerOptions, StreamNormalizer } from "./stream-normalizer";

/** One medium of the stream being relayed, and the normalizer its access units go through. */
export interface MediaPipe {
  media: MediaInfo;
  readonly normalizer: StreamNormalizer;
}

/**
 * Whether `stream` is another stream, or the same one restarted, than `current`. By id and session,
 * not identity: Node-RED deep-clones a message for every wire after the first.
 */
export function isNewStream(current: StreamInfo | undefined, stream: StreamInfo): boolean {
  return current === undefined || stream.id !== current.id || stream.session !== current.session;
}

/** Whether what was negotiated for `pipe` no longer fits `media`: gone, or another codec or clock rate. */
export function pipeOutgrown(pipe: MediaPipe | undefined, media: MediaInfo | undefined): boolean {
  return (
    pipe !== undefined &&
    (media === undefined || pipe.media.codec !== media.codec || pipe.media.clockRate !== media.clockRate)
  );
}

/** `pipe` moved on to `media` (its normalizer keeps its state), a new pipe, or none without media. */
export function followMedia(
  pipe: MediaPipe | undefined,
  media: MediaInfo | undefined,
  options?: NormalizerOptions,
): MediaPipe | undefined {
  if (media === undefined) return undefined;
  if (pipe === undefined) return { media, normalizer: new StreamNormalizer(media, options) };
  pipe.normalizer.updateMedia(media);
  pipe.media = media;
  return pipe;
}

/** The pipe `unit` belongs to, by kind and media id; undefined for media not relayed. */
export function pipeOf(
  unit: AccessUnit,
  video: MediaPipe | undefined,
  audio: MediaPipe | undefined,
): MediaPipe | undefined {
  if (unit.kind === "video") return unit.mid === video?.media.mid ? video : undefined;
  return unit.kind === "audio" && unit.mid === audio?.media.mid ? audio : undefined;
}
