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
 * written, the clip just sent on) count towards the total but are never deleted.
 */
export async function applyRetention(
  directory: string,
  pattern: FileNamePattern,
  rule: RetentionRule,
  nowMs: number,
  keep: readonly (string | undefined)[] = [],
): Promise<RetentionResult> {
  const all = await listClips(directory, pattern);
  const kept = all.filter((f) => keep.includes(f.path));
  const files = all.filter((f) => !keep.includes(f.path));
  let total = all.reduce((sum, f) => sum + f.bytes, 0);
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
  return { clips: left + kept.length, bytes: total, deleted, failed };
}
