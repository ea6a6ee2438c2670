import type { IncomingMessage } from "node:http";

/**
 * Express sets baseUrl to httpNodeRoot ("/api") on requests that reach RED.httpNode; a bare server has
 * none. Links built on it work whatever httpNodeRoot is. Without a trailing slash.
 */
export function baseUrl(req: IncomingMessage): string {
  const base = (req as IncomingMessage & { baseUrl?: unknown }).baseUrl;
  return typeof base === "string" ? base.replace(/\/+$/, "") : "";
}
