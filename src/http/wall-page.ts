import { contentSecurityPolicy, escapeHtml, scriptJson } from "./html";
import { fillTemplate, pageFilesOnce } from "./page-files";

export interface WallPageOptions {
  readonly title: string;
  /** GET target of the JSON list of streams (the wall's `/streams` route). */
  readonly listUrl: string;
  /** How often the list is read again. */
  readonly refreshMs: number;
}

const files = pageFilesOnce("wall");

/**
 * The camera wall's Content-Security-Policy: its own script and style, the list from its own origin,
 * the players' pages of its own origin in its frames, framed by its own origin and by `frameAncestors`.
 */
export function wallPagePolicy(frameAncestors: readonly string[] = []): string {
  const { scriptHash, styleHash } = files();
  return contentSecurityPolicy({ scriptHash, styleHash, framesOwnOrigin: true, frameAncestors });
}

/**
 * The camera wall: every webrtc-out stream in a grid, each tile the stream's own player (`?embed=1`)
 * in an iframe with a caption of its name, live state and viewer count. One HTML document, no
 * external resource (src/http/pages/wall.html, with wall.js and wall.css inline); it reads the list
 * again every `refreshMs`, so tiles come and go with deploys.
 */
export function wallPage(opts: WallPageOptions): string {
  const config = { listUrl: opts.listUrl, refreshMs: opts.refreshMs };
  const page = files();
  return fillTemplate(page.html, {
    title: escapeHtml(opts.title),
    style: page.style,
    config: scriptJson(config),
    script: page.script,
  });
}
