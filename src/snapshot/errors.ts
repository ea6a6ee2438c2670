/** Why a snapshot could not be made; `code` for a caller choosing a status or an HTTP answer. */
export type SnapshotErrorCode =
  /** The ffmpeg executable is not there (or not executable). */
  | "ffmpeg-missing"
  /** No keyframe since the stream started (or since the cache outgrew its bounds). */
  | "no-keyframe"
  /** ffmpeg took longer than the timeout and was killed. */
  | "timeout"
  /** ffmpeg ran and gave no picture. */
  | "decode-failed"
  /** Too many requests waiting already. */
  | "busy"
  /** The taker was closed before the snapshot was made. */
  | "closed";

export class SnapshotError extends Error {
  constructor(
    readonly code: SnapshotErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "SnapshotError";
  }
}

export function ffmpegMissing(path: string): SnapshotError {
  return new SnapshotError("ffmpeg-missing", `ffmpeg not found at "${path}": install ffmpeg or set the path`);
}
