import { RtspError } from "./errors";
import type { RtspHeaders } from "./headers";

export interface RtspRequest {
  method: string;
  url: string;
  headers: RtspHeaders;
  body?: Buffer;
}

export interface RtspResponse {
  statusCode: number;
  statusText: string;
  headers: RtspHeaders;
  body: Buffer;
}

const REASON_PHRASES: Readonly<Record<number, string>> = {
  200: "OK",
  400: "Bad Request",
  401: "Unauthorized",
  404: "Not Found",
  405: "Method Not Allowed",
  413: "Request Entity Too Large",
  453: "Not Enough Bandwidth",
  454: "Session Not Found",
  455: "Method Not Valid in This State",
  459: "Aggregate Operation Not Allowed",
  461: "Unsupported Transport",
  500: "Internal Server Error",
  501: "Not Implemented",
  505: "RTSP Version not supported",
};

/** The RFC 2326 §7.1.1 reason phrase of the statuses a server here answers with; "Unknown" for others. */
export function reasonPhrase(statusCode: number): string {
  return REASON_PHRASES[statusCode] ?? "Unknown";
}

const CRLF = "\r\n";
const LINE_BREAK = /[\r\n]/;

/** A CR or LF in a start line or header would let a value inject headers (or a whole request). */
function checkLineSafe(what: string, text: string): void {
  if (LINE_BREAK.test(text)) throw new RtspError(`${what} contains a line break`, "protocol");
}

/** Header lines in insertion order; Content-Length is always computed from the body, never taken from the caller. */
function encodeMessage(
  startLine: string,
  leading: Array<[string, string]>,
  headers: RtspHeaders,
  body: Buffer,
): Buffer {
  let head = startLine + CRLF;
  for (const [name, value] of [...leading, ...headers.entries()]) {
    if (name.toLowerCase() === "content-length") continue;
    checkLineSafe(`header ${name}`, name + value);
    head += `${name}: ${value}${CRLF}`;
  }
  if (body.length > 0) head += `Content-Length: ${body.length}${CRLF}`;
  head += CRLF;
  const headBytes = Buffer.from(head, "utf8");
  return body.length > 0 ? Buffer.concat([headBytes, body]) : headBytes;
}

/**
 * "METHOD url RTSP/1.0\r\n", the headers in insertion order, Content-Length when there is a body, "\r\n".
 * @throws RtspError("protocol") when the method, URL or a header holds a line break.
 */
export function encodeRequest(req: RtspRequest): Buffer {
  checkLineSafe("the method", req.method);
  checkLineSafe("the request URL", req.url);
  return encodeMessage(`${req.method} ${req.url} RTSP/1.0`, [], req.headers, req.body ?? Buffer.alloc(0));
}

/**
 * "RTSP/1.0 code text\r\n", then CSeq (when given and not already among the headers), the headers,
 * Content-Length when there is a body, "\r\n". Meant for test servers and replies to server requests.
 */
export function encodeResponse(res: RtspResponse & { cseq?: string }): Buffer {
  checkLineSafe("the status text", res.statusText);
  const leading: Array<[string, string]> =
    res.cseq !== undefined && !res.headers.has("CSeq") ? [["CSeq", res.cseq]] : [];
  return encodeMessage(`RTSP/1.0 ${res.statusCode} ${res.statusText}`, leading, res.headers, res.body);
}
