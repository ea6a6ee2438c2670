import type { ViewerRequestError, ViewerRequestErrorCode } from "../webrtc/errors";

/** The status each refusal of a viewer request is answered with on the signaling routes. */
const STATUS: Readonly<Record<ViewerRequestErrorCode, number>> = {
  "bad-sdp": 400,
  "unknown-viewer": 404,
  "no-common-codec": 406,
  // WHIP/WHEP (RFC 9725): a resource that cannot restart ICE answers the PATCH 422 Unprocessable Content.
  "ice-restart": 422,
  "too-many-pending": 429,
  "max-viewers-per-address": 429,
  "max-viewers": 503,
  "no-stream": 503,
  // The server's configuration is at fault and retrying will not help: an error now, with the detail of
  // what to set, rather than an answer without candidates that leaves the player "connecting…" for 30 s
  // while it holds a viewer's place.
  "no-ice-candidate": 500,
  // No representation of this stream as fMP4: the player does not retry, WebRTC is its way for this camera.
  "unsupported-codec": 406,
};

/** How a refusal of the viewer set is answered over HTTP: its status, and Retry-After when waiting helps. */
export function viewerErrorAnswer(err: ViewerRequestError): {
  status: number;
  headers: Record<string, string>;
} {
  return {
    status: STATUS[err.code],
    headers: err.retryAfterS === undefined ? {} : { "Retry-After": String(err.retryAfterS) },
  };
}
