import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { inlineHash } from "./html";

const PAGES_RELATIVE_PATH = path.join("src", "http", "pages");

/**
 * The folder of the pages' browser code, src/http/pages, shipped as it is. The compiled module runs
 * from dist/src/http, so walk up to the package root (the first folder with a package.json that holds
 * the pages) instead of counting `..`.
 */
export function pagesDir(from: string = __dirname): string {
  let dir = from;
  for (;;) {
    const candidate = path.join(dir, PAGES_RELATIVE_PATH);
    if (existsSync(path.join(dir, "package.json")) && existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir)
      throw new Error(`the pages' folder ${PAGES_RELATIVE_PATH} is not found above ${from}`);
    dir = parent;
  }
}

/**
 * One page of the package: its HTML template, and the script and style the server puts inline in it,
 * each with the CSP source that allows exactly that text.
 */
export interface PageFiles {
  /** The HTML with `{{slot}}` places and `{{#section}}…{{/section}}` parts (see fillTemplate). */
  readonly html: string;
  readonly script: string;
  readonly style: string;
  readonly scriptHash: string;
  readonly styleHash: string;
}

function read(dir: string, file: string): string {
  return readFileSync(path.join(dir, file), "utf8");
}

/**
 * Reads `<name>.html`, `<name>.js` and `<name>.css` from `dir`.
 * @throws when a file is missing, or when the script or style could end its element early.
 */
export function readPageFiles(name: string, dir: string = pagesDir()): PageFiles {
  const html = read(dir, `${name}.html`);
  const script = read(dir, `${name}.js`);
  const style = read(dir, `${name}.css`);
  if (/<\/script|<!--/i.test(script)) {
    throw new Error(`${name}.js holds "</script" or "<!--": it cannot sit inline in a <script> element`);
  }
  if (/<\/style/i.test(style)) {
    throw new Error(`${name}.css holds "</style": it cannot sit inline in a <style> element`);
  }
  return { html, script, style, scriptHash: inlineHash(script), styleHash: inlineHash(style) };
}

/** readPageFiles, once per page for the life of the process. */
export function pageFilesOnce(name: string): () => PageFiles {
  let files: PageFiles | undefined;
  return () => {
    files ??= readPageFiles(name);
    return files;
  };
}

/**
 * The template with each `{{#name}}…{{/name}}` part kept or dropped by `sections[name]`, then each
 * `{{name}}` replaced by `slots[name]`, in one pass: text a slot brings is never read as a template.
 * The slots' values must already be escaped for where they go.
 * @throws on a slot or section the template names and the caller does not give.
 */
export function fillTemplate(
  template: string,
  slots: Readonly<Record<string, string>>,
  sections: Readonly<Record<string, boolean>> = {},
): string {
  const kept = template.replace(/\{\{#(\w+)\}\}([\s\S]*?)\{\{\/\1\}\}/g, (_, name: string, body: string) => {
    const keep = sections[name];
    if (keep === undefined) throw new Error(`the template's section {{#${name}}} is not given`);
    return keep ? body : "";
  });
  return kept.replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
    const value = slots[name];
    if (value === undefined) throw new Error(`the template's slot {{${name}}} is not given`);
    return value;
  });
}
