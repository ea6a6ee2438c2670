/** What went wrong, coarse enough for a caller to decide between retrying, giving up and asking the user. */
export type RtspErrorCode =
  | "bad-url"
  | "protocol"
  | "too-large"
  | "auth"
  | "status"
  | "timeout"
  | "network"
  | "redirect"
  | "unsupported"
  | "no-media";

/**
 * The one error type of the RTSP layer. `message` is written for people (it ends up in a Node-RED
 * status), `code` is for code, `statusCode` carries the RTSP status when a reply caused the error, or,
 * when a server's decoder refused what a client sent, the status to answer it with.
 */
export class RtspError extends Error {
  constructor(
    message: string,
    readonly code: RtspErrorCode,
    readonly statusCode?: number,
  ) {
    super(message);
    this.name = "RtspError";
  }
}
