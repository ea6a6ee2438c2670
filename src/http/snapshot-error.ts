import { SnapshotError, type SnapshotErrorCode } from "../snapshot/errors";
import { HttpError } from "./http-error";

const STATUS: Record<SnapshotErrorCode, number> = {
  "no-keyframe": 503,
  busy: 503,
  closed: 503,
  "ffmpeg-missing": 503,
  timeout: 504,
  "decode-failed": 502,
};

/** What GET P/snapshot.jpg answers for a snapshot that failed; anything else passes unchanged (a 500). */
export function snapshotHttpError(err: unknown): unknown {
  if (!(err instanceof SnapshotError)) return err;
  const retry = err.code === "no-keyframe" || err.code === "busy" ? { "Retry-After": "1" } : undefined;
  return new HttpError(STATUS[err.code], "no snapshot", err.message, retry, err.code);
}
