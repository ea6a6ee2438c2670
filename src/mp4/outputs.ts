import { type FileHandle, open } from "node:fs/promises";
import type { ClipOutput } from "./clip-writer";

/**
 * Appends to a new file (fs.open "wx": an existing file is never overwritten), fsync on close so
 * that a clip reported finished survives a power cut. Opened on the first write: a clip that never
 * started leaves no file.
 */
export function fileOutput(path: string): ClipOutput {
  let handle: Promise<FileHandle> | undefined;
  let closed: Promise<void> | undefined;
  return {
    async write(chunk: Uint8Array): Promise<void> {
      if (closed !== undefined) throw new Error(`${path} is closed`);
      handle ??= open(path, "wx");
      const file = await handle;
      let offset = 0;
      while (offset < chunk.byteLength) {
        const { bytesWritten } = await file.write(chunk, offset, chunk.byteLength - offset);
        offset += bytesWritten;
      }
    },
    close(): Promise<void> {
      closed ??= (async () => {
        if (handle === undefined) return;
        const file = await handle.catch(() => undefined);
        if (file === undefined) return;
        try {
          await file.sync();
        } finally {
          await file.close();
        }
      })();
      return closed;
    },
  };
}

/** Thrown by bufferOutput's write past its cap. */
export class ClipTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`the clip is larger than the ${maxBytes}-byte cap of an in-memory clip`);
    this.name = "ClipTooLargeError";
  }
}

/** Keeps the clip in memory; a write past maxBytes rejects with a ClipTooLargeError (and fails the clip). */
export function bufferOutput(maxBytes: number): ClipOutput & { buffer(): Buffer } {
  const chunks: Buffer[] = [];
  let size = 0;
  return {
    async write(chunk: Uint8Array): Promise<void> {
      if (size + chunk.byteLength > maxBytes) throw new ClipTooLargeError(maxBytes);
      chunks.push(Buffer.from(chunk));
      size += chunk.byteLength;
    },
    async close(): Promise<void> {},
    buffer(): Buffer {
      if (chunks.length > 1) chunks.splice(0, chunks.length, Buffer.concat(chunks, size));
      return chunks[0] ?? Buffer.alloc(0);
    },
  };
}
