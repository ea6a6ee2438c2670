import type { FileNameProblem } from "../record/file-names";
import type { RecordProblem } from "../record/recorder";
import type { TextValues } from "./red";

type Translate = (key: string, values?: TextValues) => string;

// Whole keys: the catalog test finds every key the code uses by its quotes.
export const FILE_NAME_PROBLEMS: Record<FileNameProblem, string> = {
  empty: "mp4-record.errors.filename-empty",
  nul: "mp4-record.errors.filename-nul",
  absolute: "mp4-record.errors.filename-absolute",
  parent: "mp4-record.errors.filename-parent",
  outside: "mp4-record.errors.filename-outside",
  pattern: "mp4-record.errors.filename-outside",
};

const ERRNO_WORDS: Record<string, string> = {
  ENOSPC: "mp4-record.errno.ENOSPC",
  EDQUOT: "mp4-record.errno.ENOSPC",
  EACCES: "mp4-record.errno.EACCES",
  EPERM: "mp4-record.errno.EACCES",
  EROFS: "mp4-record.errno.EROFS",
  ENOENT: "mp4-record.errno.ENOENT",
  ENOTDIR: "mp4-record.errno.ENOTDIR",
  TOO_LARGE: "mp4-record.errno.TOO_LARGE",
};

/** "412 MB", "3.1 MB", "1.2 GB", "640 kB": decimal units, as disks are sold and `df -H` shows them. */
export function describeBytes(bytes: number): string {
  if (bytes >= 1e12) return `${(bytes / 1e12).toFixed(1)} TB`;
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(1)} GB`;
  if (bytes >= 1e7) return `${Math.round(bytes / 1e6)} MB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  return `${Math.round(bytes / 1e3)} kB`;
}

/** "00:12", "01:02:03". */
export function describeDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const two = (n: number) => String(n).padStart(2, "0");
  const h = Math.floor(s / 3600);
  const mmss = `${two(Math.floor((s % 3600) / 60))}:${two(s % 60)}`;
  return h > 0 ? `${two(h)}:${mmss}` : mmss;
}

/** A recorder problem in words. */
export function describeProblem(problem: RecordProblem, text: Translate, directory: string): string {
  const why = (errno: string | undefined, detail: string) => {
    const key = errno ? ERRNO_WORDS[errno] : undefined;
    return key ? text(key) : detail;
  };
  switch (problem.code) {
    case "low-space":
      return text(problem.during ? "mp4-record.errors.low-space-during" : "mp4-record.errors.low-space", {
        free: describeBytes(problem.freeBytes),
        floor: describeBytes(problem.floorBytes),
        directory,
      });
    case "write":
      return text(problem.kept ? "mp4-record.errors.write-kept" : "mp4-record.errors.write", {
        file: problem.path ?? text("mp4-record.label.buffer"),
        why: why(problem.errno, problem.detail),
      });
    case "directory":
      return text("mp4-record.errors.directory", { directory, why: why(problem.errno, problem.detail) });
    case "retention":
      return text("mp4-record.errors.retention", { detail: problem.detail });
  }
}
