import { open } from "node:fs/promises";

/** What is left of a clip cut short: bytes, and whether a fragment (moof + mdat) is whole. */
export interface TrimResult {
  readonly bytes: number;
  readonly fragments: number;
}

/**
 * Cuts a fragmented MP4 that a failed write left half-written back to its last whole fragment, so
 * that it plays to the end (a box cut short makes decoders complain). Reads only box headers.
 */
export async function trimToLastFragment(path: string): Promise<TrimResult> {
  const file = await open(path, "r+");
  try {
    const size = (await file.stat()).size;
    const header = Buffer.alloc(16);
    let offset = 0;
    let keep = 0;
    let fragments = 0;
    let moofAt = -1;
    while (offset + 8 <= size) {
      const { bytesRead } = await file.read(header, 0, 16, offset);
      if (bytesRead < 8) break;
      let boxSize = header.readUInt32BE(0);
      const type = header.toString("latin1", 4, 8);
      if (boxSize === 1) {
        if (bytesRead < 16) break;
        boxSize = Number(header.readBigUInt64BE(8));
      } else if (boxSize === 0) {
        boxSize = size - offset;
      }
      if (boxSize < 8 || offset + boxSize > size) break;
      offset += boxSize;
      if (type === "moof") {
        moofAt = offset;
        continue;
      }
      if (type === "mdat" && moofAt >= 0) {
        fragments++;
        moofAt = -1;
      } else if (moofAt >= 0) {
        // Anything but mdat after a moof: the moof's data is not there; stop before it.
        break;
      }
      keep = offset;
    }
    if (keep < size) await file.truncate(keep);
    return { bytes: keep, fragments };
  } finally {
    await file.close();
  }
}
