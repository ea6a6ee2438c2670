import { existsSync, lstatSync, realpathSync } from "node:fs";
import path from "node:path";

/** Why a clip's file name was refused; the node words it from its catalog. */
export type FileNameProblem = "empty" | "nul" | "absolute" | "parent" | "outside" | "pattern";

export class FileNameError extends Error {
  constructor(
    readonly problem: FileNameProblem,
    readonly fileName: string,
  ) {
    super(`file name ${JSON.stringify(fileName)} refused: ${problem}`);
    this.name = "FileNameError";
  }
}

export const DEFAULT_PATTERN = "{name}-{date}-{time}.mp4";
const TOKEN = /\{(name|date|time)\}/g;

/** Keeps letters, digits, "-", "_" and "."; anything else (separators, spaces, control bytes) becomes "_". */
export function sanitize(part: string): string {
  const clean = part.replace(/[^\p{L}\p{N}._-]+/gu, "_");
  return clean === "" ? "_" : clean;
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, "0");
}

function localDate(at: Date): string {
  return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}`;
}

function localTime(at: Date): string {
  return `${pad(at.getHours())}-${pad(at.getMinutes())}-${pad(at.getSeconds())}`;
}

function withExtension(name: string): string {
  return name.toLowerCase().endsWith(".mp4") ? name : `${name}.mp4`;
}

/**
 * A file-name pattern of this node: `{name}`, `{date}` (YYYY-MM-DD) and `{time}` (HH-MM-SS, local time)
 * and literal text; the result is one file name in the directory (no separators), ending in .mp4.
 */
export class FileNamePattern {
  readonly pattern: string;
  private readonly nodeName: string;
  private readonly matcher: RegExp;

  constructor(pattern: string, nodeName: string) {
    const trimmed = pattern.trim() || DEFAULT_PATTERN;
    // Literal parts are sanitized once here, so a pattern cannot name another directory either.
    this.pattern = withExtension(
      trimmed
        .split(TOKEN)
        .map((part, i) => (i % 2 === 1 ? `{${part}}` : part === "" ? "" : sanitize(part)))
        .join(""),
    );
    this.nodeName = hideNoDot(sanitize(nodeName.trim() || "mp4-record"));
    const source = hideNoDot(this.pattern)
      .split(TOKEN)
      .map((part, i) => {
        if (i % 2 === 0) return escapeRegExp(part.replace(/\.mp4$/i, ""));
        if (part === "name") return escapeRegExp(this.nodeName);
        if (part === "date") return "\\d{4}-\\d{2}-\\d{2}";
        return "\\d{2}-\\d{2}-\\d{2}";
      })
      .join("");
    // "-2", "-3"… is what `unique` adds when two clips start within one second.
    this.matcher = new RegExp(`^${source}(?:-\\d+)?\\.mp4$`, "i");
  }

  /** The file name for a clip starting at `at`. */
  format(at: Date): string {
    return hideNoDot(this.pattern).replace(TOKEN, (_all, token: string) => {
      if (token === "name") return this.nodeName;
      if (token === "date") return localDate(at);
      return localTime(at);
    });
  }

  /** Whether `fileName` is one this pattern makes: retention touches only those. */
  matches(fileName: string): boolean {
    return this.matcher.test(fileName);
  }
}

/** No hidden files, and never "." or "..": a leading dot becomes "_". */
function hideNoDot(name: string): string {
  return name.replace(/^\.+/, "_");
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** `name` in `directory`, or with "-2", "-3"… before .mp4 when taken. */
export function unique(
  directory: string,
  name: string,
  taken: (file: string) => boolean = existsSync,
): string {
  const base = name.replace(/\.mp4$/i, "");
  let candidate = path.join(directory, name);
  for (let n = 2; taken(candidate); n++) candidate = path.join(directory, `${base}-${n}.mp4`);
  return candidate;
}

/** The real path of `file`'s deepest existing ancestor (itself included). */
function realAncestor(file: string): string {
  let at = file;
  for (;;) {
    try {
      return realpathSync(at);
    } catch {
      const up = path.dirname(at);
      if (up === at) return at;
      at = up;
    }
  }
}

/**
 * A name the flow gave (`msg.filename`) as a path inside `directory`: relative, no NUL, no "..", and
 * not leaving the directory through a symbolic link. Throws FileNameError otherwise.
 */
export function resolveInside(directory: string, fileName: string): string {
  if (fileName.trim() === "") throw new FileNameError("empty", fileName);
  if (fileName.includes("\0")) throw new FileNameError("nul", fileName);
  if (path.isAbsolute(fileName) || path.win32.isAbsolute(fileName))
    throw new FileNameError("absolute", fileName);
  if (fileName.split(/[\\/]/).includes("..")) throw new FileNameError("parent", fileName);
  const root = path.resolve(directory);
  const target = path.resolve(root, withExtension(fileName));
  const realRoot = realAncestor(root);
  // A link at the name itself, even a dangling one, would be followed when the file is opened.
  if (lstatSync(target, { throwIfNoEntry: false })?.isSymbolicLink())
    throw new FileNameError("outside", fileName);
  const real = realAncestor(target);
  const relative = path.relative(realRoot, real);
  if (relative.startsWith("..") || path.isAbsolute(relative)) throw new FileNameError("outside", fileName);
  return target;
}
