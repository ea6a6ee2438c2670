import type { IncomingMessage } from "node:http";
import { HttpError } from "./http-error";

/** Offers are a few KiB; anything past this is not an SDP. */
export const BODY_LIMIT_BYTES = 64 * 1024;

/**
 * A body of at most 64 KiB arrives within this, from its first byte read to its last, on any line a
 * viewer watches video over; a client that takes longer holds a socket and a request for nothing.
 * Node's own limit for a whole request is 300 s.
 */
export const BODY_TIMEOUT_MS = 10_000;

/** The media type of a request, lower-cased, without parameters; "" when absent. */
export function mediaType(req: IncomingMessage): string {
  const header = req.headers["content-type"] ?? "";
  return (header.split(";")[0] ?? "").trim().toLowerCase();
}

/** Throws a 415 unless the request says it carries `expected`. */
export function requireMediaType(req: IncomingMessage, expected: string): void {
  const actual = mediaType(req);
  if (actual !== expected) {
    throw new HttpError(
      415,
      "unsupported media type",
      `expected Content-Type: ${expected}, got ${actual ? actual : "none"}`,
      { "Accept-Post": expected },
    );
  }
}

function timedOut(timeoutMs: number): HttpError {
  return new HttpError(408, "request timeout", `the body did not arrive within ${timeoutMs / 1000} s`, {
    Connection: "close",
  });
}

function tooLarge(limit: number): HttpError {
  return new HttpError(413, "body too large", `the limit is ${limit} bytes (${limit / 1024} KiB)`, {
    Connection: "close",
  });
}

/**
 * A body that middleware (httpNodeMiddleware, a body parser) has already read, as bytes; undefined when
 * the stream is still ours to read.
 */
function alreadyParsed(req: IncomingMessage): Buffer | undefined {
  if (!req.readableEnded) return undefined;
  const body = (req as IncomingMessage & { body?: unknown }).body;
  if (Buffer.isBuffer(body)) return body;
  if (typeof body === "string") return Buffer.from(body, "utf8");
  if (body !== undefined && body !== null && typeof body === "object") {
    return Object.keys(body).length === 0 ? Buffer.alloc(0) : Buffer.from(JSON.stringify(body), "utf8");
  }
  return Buffer.alloc(0);
}

/**
 * Reads the whole request body, at most `limit` bytes, within `timeoutMs`. Rejects with a 413 HttpError
 * as soon as the declared or received length passes the limit, with a 408 when the body has not all
 * arrived in time; both close the connection, and the rest of the upload is discarded unread.
 */
export function readBody(
  req: IncomingMessage,
  limit: number = BODY_LIMIT_BYTES,
  timeoutMs: number = BODY_TIMEOUT_MS,
): Promise<Buffer> {
  const parsed = alreadyParsed(req);
  if (parsed) {
    return parsed.length > limit ? Promise.reject(tooLarge(limit)) : Promise.resolve(parsed);
  }
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return Promise.reject(tooLarge(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    let settled = false;
    const timer = setTimeout(() => finish(timedOut(timeoutMs)), timeoutMs);
    const finish = (err: Error | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      if (err) {
        req.resume();
        reject(err);
      } else {
        resolve(Buffer.concat(chunks, length));
      }
    };
    const onData = (chunk: Buffer | string) => {
      const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
      length += bytes.length;
      if (length > limit) {
        finish(tooLarge(limit));
        return;
      }
      chunks.push(bytes);
    };
    const onEnd = () => finish(undefined);
    const onError = (err: Error) => finish(new HttpError(400, "request aborted", err.message));
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
  });
}

/** Reads a UTF-8 text body (see readBody); a body with invalid UTF-8 or NUL bytes is a 400. */
export async function readTextBody(
  req: IncomingMessage,
  limit: number = BODY_LIMIT_BYTES,
  timeoutMs: number = BODY_TIMEOUT_MS,
): Promise<string> {
  const bytes = await readBody(req, limit, timeoutMs);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new HttpError(400, "bad body", "the body is not UTF-8 text");
  }
  if (text.includes("\0")) throw new HttpError(400, "bad body", "the body holds NUL bytes");
  return text;
}
