import type { ClipOutput } from "./clip-writer";

/** Appends to a file (fs.open, append, fsync on close). */
export function fileOutput(_path: string): ClipOutput {
  throw new Error("not implemented");
}

/** Keeps the clip in memory; a write past maxBytes rejects with a clear error. */
export function bufferOutput(_maxBytes: number): ClipOutput & { buffer(): Buffer } {
  throw new Error("not implemented");
}
