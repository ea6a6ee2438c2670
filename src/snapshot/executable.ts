import { accessSync, constants } from "node:fs";
import { delimiter, isAbsolute, join } from "node:path";

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Where `command` would run from: itself when it holds a "/" (a path, relative to the working
 * directory), else the first executable of that name in `path` (PATH by default); undefined when there
 * is none. For a status at deploy, before the first snapshot would find out.
 */
export function findExecutable(command: string, path = process.env.PATH ?? ""): string | undefined {
  if (command === "") return undefined;
  if (isAbsolute(command) || command.includes("/")) return isExecutable(command) ? command : undefined;
  for (const dir of path.split(delimiter)) {
    if (dir === "") continue;
    const file = join(dir, command);
    if (isExecutable(file)) return file;
  }
  return undefined;
}
