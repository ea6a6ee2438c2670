/** Stable names of the ways a publish can fail (each is retried, except "bad-endpoint"). */
export type WhipErrorCode =
  | "bad-endpoint"
  | "unreachable"
  | "timeout"
  | "http-status"
  | "no-location"
  | "body-too-large"
  | "bad-answer"
  | "no-codec"
  | "no-media"
  | "ice-failed"
  | "disconnected"
  | "dtls"
  /** A PATCH found the resource gone (404) or the ICE session changed (412). */
  | "gone"
  | "aborted";

/** Why a publish ended: a stable `code` and a one-line message safe to show (no token, no URL secrets). */
export class WhipError extends Error {
  constructor(
    readonly code: WhipErrorCode,
    message: string,
    /** The HTTP status, for "http-status". */
    readonly status?: number,
  ) {
    super(message);
    this.name = "WhipError";
  }
}

/** "401 Unauthorized": the status line a person recognises (the reason phrase, or the standard one). */
export function statusText(status: number, reasonPhrase: string | undefined): string {
  const phrase = reasonPhrase?.trim() || STANDARD_PHRASES[status] || "";
  return phrase === "" ? String(status) : `${status} ${phrase}`;
}

const STANDARD_PHRASES: Readonly<Record<number, string>> = {
  200: "OK",
  201: "Created",
  204: "No Content",
  301: "Moved Permanently",
  302: "Found",
  307: "Temporary Redirect",
  308: "Permanent Redirect",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  406: "Not Acceptable",
  409: "Conflict",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  429: "Too Many Requests",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

/** A WhipError for anything thrown on the way (werift, sockets); WhipErrors pass as they are. */
export function asWhipError(error: unknown, code: WhipErrorCode = "bad-answer"): WhipError {
  if (error instanceof WhipError) return error;
  return new WhipError(code, error instanceof Error ? error.message : String(error));
}
