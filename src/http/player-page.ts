import { contentSecurityPolicy, escapeHtml, scriptJson } from "./html";
import { fillTemplate, pageFilesOnce } from "./page-files";

/** An ICE server as the browser's RTCPeerConnection takes it. */
export interface PageIceServer {
  readonly urls: string;
  readonly username?: string;
  readonly credential?: string;
}

export interface PlayerPageOptions {
  readonly title: string;
  /** POST target of the JSON offer. */
  readonly offerUrl: string;
  readonly statsUrl: string;
  /** The stream as fMP4 (P/live.mp4): the page's way where WebRTC does not connect. */
  readonly liveUrl: string;
  /** "mse": play the fMP4 stream at once (?mode=mse); else WebRTC first. */
  readonly mode?: "mse" | "auto";
  /** true: the video alone (no stats overlay, no buttons), for an iframe in a dashboard. */
  readonly embed: boolean;
  /** The ICE servers the node is configured with; the browser gathers through them too. Default none. */
  readonly iceServers?: readonly PageIceServer[];
  /** The node's viewer token: the page sends it as `Authorization: Bearer` on its own requests. */
  readonly bearerToken?: string;
  /**
   * True when the page itself came with Basic credentials (httpNodeAuth): the page then sends the token
   * in X-Viewer-Token, so that the browser keeps sending those credentials in Authorization.
   */
  readonly tokenBesideBasicAuth?: boolean;
}

const files = pageFilesOnce("player");

/**
 * The player page's Content-Security-Policy: its own script and style, fetches to its own origin, framed
 * by its own origin (a dashboard there, the camera wall) and by `frameAncestors`.
 */
export function playerPagePolicy(frameAncestors: readonly string[] = []): string {
  const { scriptHash, styleHash } = files();
  return contentSecurityPolicy({
    scriptHash,
    styleHash,
    mediaFromBlob: true,
    framesOwnOrigin: false,
    frameAncestors,
  });
}

/**
 * The self-contained player page of a webrtc-out node: one HTML document, no external resource
 * (src/http/pages/player.html, with player.js and player.css inline and its config as JSON data).
 */
export function playerPage(opts: PlayerPageOptions): string {
  const config = {
    offerUrl: opts.offerUrl,
    statsUrl: opts.statsUrl,
    liveUrl: opts.liveUrl,
    mode: opts.mode ?? "auto",
    ...(opts.bearerToken !== undefined
      ? { bearerToken: opts.bearerToken, tokenBesideBasicAuth: opts.tokenBesideBasicAuth === true }
      : {}),
    iceServers: (opts.iceServers ?? []).map((server) => ({ ...server })),
    embed: opts.embed,
  };
  const page = files();
  return fillTemplate(
    page.html,
    { title: escapeHtml(opts.title), style: page.style, config: scriptJson(config), script: page.script },
    { embed: opts.embed, controls: !opts.embed },
  );
}
