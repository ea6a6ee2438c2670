import { readdir, stat, unlink } from "node:fs/promises";
import path from "node:path";
import type { FileNamePattern } from "./file-names";

export interface RetentionRule {
  /** 0: no limit. */
  readonly maxBytes: number;
  /** 0: no limit. */
  readonly maxAgeMs: number;
}

export interface ClipFile {
  readonly path: string;
  readonly bytes: number;
  readonly modifiedMs: number;
}

export interface RetentionResult {
  /** What is left of this node's clips. */
  readonly clips: number;
  readonly bytes: number;
  readonly deleted: readonly string[];
  /** Files that could not be deleted (their errors). */
  readonly failed: readonly { path: string; error: Error }[];
}

/** This node's clips in `directory` (only names its pattern makes), oldest first. */
export async function listClips(directory: string, pattern: FileNamePattern): Promise<ClipFile[]> {
  let names: string[];
  try {
    names = await readdir(directory);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  const files: ClipFile[] = [];
  for (const name of names) {
    if (!pattern.matches(name)) continue;
    const file = path.join(directory, name);
    const info = await stat(file).catch(() => undefined);
    if (info?.isFile()) files.push({ path: file, bytes: info.size, modifiedMs: info.mtimeMs });
  }
  return files.sort((a, b) => a.modifiedMs - b.modifiedMs || a.path.localeCompare(b.path));
}

/**
 * Deletes this node's oldest clips until what is left is within `rule`; `keep` (the clip being
 * written) is never deleted, nor counted against the total.
 */
export async function applyRetention(
  directory: string,
  pattern: FileNamePattern,
  rule: RetentionRule,
  nowMs: number,
  keep?: string,
): Promise<RetentionResult> {
  const files = (await listClips(directory, pattern)).filter((f) => f.path !== keep);
  let total = files.reduce((sum, f) => sum + f.bytes, 0);
  const deleted: string[] = [];
  const failed: { path: string; error: Error }[] = [];
  let left = files.length;
  for (const file of files) {
    const tooOld = rule.maxAgeMs > 0 && nowMs - file.modifiedMs > rule.maxAgeMs;
    const tooMuch = rule.maxBytes > 0 && total > rule.maxBytes;
    if (!tooOld && !tooMuch) break;
    try {
      await unlink(file.path);
      deleted.push(file.path);
      total -= file.bytes;
      left--;
    } catch (err) {
      failed.push({ path: file.path, error: err as Error });
    }
  }
  return { clips: left, bytes: total, deleted, failed };
}
