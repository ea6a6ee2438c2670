import type { ServerResponse } from "node:http";
import { ViewerRequestError } from "../webrtc/errors";
import { viewerErrorAnswer } from "./viewer-errors";

/** The JSON body of every error response (docs/ARCHITECTURE.md, "The HTTP interface"). */
export interface ErrorBody {
  readonly error: string;
  readonly detail: string;
  /** A stable name of the failure when the error has one ("max-viewers", "no-stream"…). */
  readonly code?: string;
}

/** An error that carries its HTTP status; thrown by the request handlers, answered by `sendError`. */
export class HttpError extends Error {
  readonly httpStatus: number;
  readonly detail: string;
  /** Extra response headers, e.g. Allow for a 405. */
  readonly headers: Readonly<Record<string, string>>;
  /** A stable name of the failure, answered as `code` in the JSON body; none when undefined. */
  readonly code: string | undefined;

  constructor(
    httpStatus: number,
    message: string,
    detail: string,
    headers: Record<string, string> = {},
    code?: string,
  ) {
    super(message);
    this.name = "HttpError";
    this.httpStatus = httpStatus;
    this.detail = detail;
    this.headers = headers;
    this.code = code;
  }
}

function isErrorStatus(status: number): boolean {
  return Number.isInteger(status) && status >= 400 && status <= 599;
}

/** What an error thrown by a handler becomes on the wire: its own status, else 500. */
export function errorResponse(err: unknown): {
  status: number;
  body: ErrorBody;
  headers: Record<string, string>;
} {
  if (err instanceof HttpError && isErrorStatus(err.httpStatus)) {
    const body: ErrorBody = {
      error: err.message,
      detail: err.detail,
      ...(err.code !== undefined ? { code: err.code } : {}),
    };
    return { status: err.httpStatus, body, headers: { ...err.headers } };
  }
  if (err instanceof ViewerRequestError) {
    const { status, headers } = viewerErrorAnswer(err);
    return { status, body: { error: err.message, detail: err.detail, code: err.code }, headers };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { status: 500, body: { error: "internal error", detail: message }, headers: {} };
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.setHeader("Content-Type", "application/json; charset=utf-8");
  res.setHeader("Content-Length", Buffer.byteLength(text));
  res.setHeader("Cache-Control", "no-store");
  res.end(text);
}

/** Answers with the error's status and a `{ error, detail }` body; a no-op once the response has started. */
export function sendError(res: ServerResponse, err: unknown): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const { status, body, headers } = errorResponse(err);
  sendJson(res, status, body, headers);
}

/**
 * A page with no caching and no content sniffing, under its Content-Security-Policy `policy`: the player
 * page and the camera wall.
 */
export function sendHtml(res: ServerResponse, html: string, policy: string): void {
  res.statusCode = 200;
  res.setHeader("Content-Type", "text/html; charset=utf-8");
  res.setHeader("Content-Length", Buffer.byteLength(html));
  res.setHeader("Cache-Control", "no-store");
  res.setHeader("X-Content-Type-Options", "nosniff");
  res.setHeader("Content-Security-Policy", policy);
  res.end(html);
}
