/** RTSP 1.0 responses as the demo camera writes them (RFC 2326 7). */

const REASONS: Readonly<Record<number, string>> = {
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

export const SERVER_NAME = "node-red-rtsp-webrtc demo camera";

export type HeaderList = ReadonlyArray<readonly [name: string, value: string]>;

export function reasonPhrase(status: number): string {
  return REASONS[status] ?? "Unknown";
}

/**
 * Serializes a response. CSeq comes first, as clients expect; Content-Length is set from the body.
 * Header values must not hold CR or LF: they are dropped from values here rather than trusted.
 */
export function formatResponse(
  status: number,
  cseq: string | undefined,
  headers: HeaderList,
  body?: Buffer,
): Buffer {
  const lines = [`RTSP/1.0 ${status} ${reasonPhrase(status)}`];
  if (cseq !== undefined) lines.push(`CSeq: ${cseq}`);
  lines.push(`Server: ${SERVER_NAME}`, `Date: ${new Date().toUTCString()}`);
  for (const [name, value] of headers) lines.push(`${name}: ${value.replace(/[\r\n]/g, "")}`);
  if (body && body.length > 0) lines.push(`Content-Length: ${body.length}`);
  const head = Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "latin1");
  return body && body.length > 0 ? Buffer.concat([head, body]) : head;
}
