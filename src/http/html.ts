import { createHash } from "node:crypto";

/** Text that can sit in HTML content or a quoted attribute. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JSON that can sit inside a <script> element: no "</script>", no "<!--". */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/>/g, "\\u003e")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

/** The CSP source that allows exactly `text` as an inline script or style: its SHA-256. */
export function inlineHash(text: string): string {
  return `'sha256-${createHash("sha256").update(text, "utf8").digest("base64")}'`;
}

/** What one of the package's self-contained pages may do under its Content-Security-Policy. */
export interface PagePolicy {
  /** The CSP sources (inlineHash) of its one inline script and one inline style. */
  readonly scriptHash: string;
  readonly styleHash: string;
  /** It plays a MediaSource (the player's fMP4 fallback), which a video element loads by a blob: URL. */
  readonly mediaFromBlob?: boolean;
  /** It frames pages of its own origin (the camera wall's tiles). */
  readonly framesOwnOrigin: boolean;
  /** Origins besides its own that may frame it (valid sources, see isFrameAncestorSource). */
  readonly frameAncestors: readonly string[];
}

/**
 * A strict policy: nothing loads but what the page needs, all from its own origin (fetches, frames),
 * its inline script and style by hash, and only its own origin and `frameAncestors` may frame it.
 * Peer connections are not subject to it: the media come over WebRTC.
 */
export function contentSecurityPolicy(page: PagePolicy): string {
  return [
    "default-src 'none'",
    `script-src ${page.scriptHash}`,
    `style-src ${page.styleHash}`,
    "connect-src 'self'",
    ...(page.mediaFromBlob ? ["media-src blob:"] : []),
    ...(page.framesOwnOrigin ? ["frame-src 'self'"] : []),
    "base-uri 'none'",
    "form-action 'none'",
    `frame-ancestors ${["'self'", ...page.frameAncestors].join(" ")}`,
  ].join("; ");
}

/**
 * A source another origin can be named by in frame-ancestors: a scheme ("https:"), or a host with an
 * optional scheme, port and path ("https://dash.example.net", "http://10.0.0.5:1880", "*.example.org").
 * Nothing that could end the directive or the header, and no keyword ('none' would shut out the
 * dashboard on the page's own origin; 'self' is always there).
 */
export function isFrameAncestorSource(text: string): boolean {
  const scheme = /^[a-z][a-z0-9+.-]*:$/i;
  const host =
    /^(?:[a-z][a-z0-9+.-]*:\/\/)?(?:\*|(?:\*\.)?[a-z0-9-]+(?:\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])(?::(?:\d{1,5}|\*))?(?:\/[\w.~%/-]*)?$/i;
  return scheme.test(text) || host.test(text);
}
