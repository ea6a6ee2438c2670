import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { HttpError } from "./http-error";
import type { WrongTokenThrottle } from "./token-throttle";

/** `Authorization: Bearer <token>` (RFC 6750 §2.1); undefined when the header is absent or another scheme. */
export function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (typeof header !== "string") return undefined;
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/**
 * The header a client sends the token in when Authorization already carries httpNodeAuth's Basic
 * credentials (one header cannot hold both).
 */
export const TOKEN_HEADER = "x-viewer-token";

/** The token from the X-Viewer-Token header; undefined when absent. */
export function headerToken(req: IncomingMessage): string | undefined {
  const value = req.headers[TOKEN_HEADER];
  return typeof value === "string" && value !== "" ? value.trim() : undefined;
}

/** The `token` query parameter of the request URL; undefined when there is none. */
export function queryToken(req: IncomingMessage): string | undefined {
  const url = req.url ?? "";
  const at = url.indexOf("?");
  if (at < 0) return undefined;
  return new URLSearchParams(url.slice(at + 1)).get("token") ?? undefined;
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

/**
 * Compares in constant time: both sides are hashed first, so the comparison neither stops at the first
 * differing byte nor reveals the expected token's length.
 */
export function tokensMatch(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/**
 * Where a route accepts the token from: every route takes `Authorization: Bearer` and X-Viewer-Token,
 * the player page also `?token=`.
 */
export interface TokenSources {
  readonly query: boolean;
}

/** What a request carries: the viewer token, none, or only wrong ones (a guess, if any is). */
export type TokenVerdict = "right" | "missing" | "wrong";

export function tokenVerdict(req: IncomingMessage, expected: string, sources: TokenSources): TokenVerdict {
  const fromQuery = sources.query ? queryToken(req) : undefined;
  const given = [bearerToken(req), headerToken(req), fromQuery].filter(
    (token): token is string => token !== undefined,
  );
  // Every candidate is compared, matched or not, so the time taken does not tell which one was right.
  let ok = false;
  for (const token of given) ok = tokensMatch(token, expected) || ok;
  return ok ? "right" : given.length === 0 ? "missing" : "wrong";
}

/**
 * The 401 for a request without the viewer token. RFC 6750 §3: a request with no token gets a bare
 * challenge, one with a wrong token `error="invalid_token"`.
 */
export function tokenRefusal(verdict: "missing" | "wrong", sources: TokenSources): HttpError {
  const realm = 'Bearer realm="webrtc-out"';
  if (verdict === "missing") {
    return new HttpError(
      401,
      "unauthorized",
      sources.query
        ? "this stream needs its viewer token: open the page with ?token=<token>"
        : "this stream needs its viewer token: send Authorization: Bearer <token>",
      { "WWW-Authenticate": realm },
    );
  }
  return new HttpError(401, "unauthorized", "the viewer token is not this stream's", {
    "WWW-Authenticate": `${realm}, error="invalid_token"`,
  });
}

/** The 401 for a request without the viewer token `expected`, or undefined when it carries it. */
export function viewerTokenRefusal(
  req: IncomingMessage,
  expected: string,
  sources: TokenSources,
): HttpError | undefined {
  const verdict = tokenVerdict(req, expected, sources);
  return verdict === "right" ? undefined : tokenRefusal(verdict, sources);
}

/** One stream's viewer token, and the addresses that guessed it wrong. */
export class ViewerTokenGate {
  constructor(
    private readonly token: string,
    private readonly throttle: WrongTokenThrottle,
  ) {}

  /**
   * Why a request from `address` may not pass, or undefined when it may. An address that guessed
   * wrong too often waits, whatever it sends, until its pause is over: a 429 with Retry-After.
   */
  refusal(req: IncomingMessage, address: string, sources: TokenSources): HttpError | undefined {
    const waitMs = this.throttle.waitMs(address);
    if (waitMs > 0) {
      const seconds = Math.ceil(waitMs / 1000);
      return new HttpError(
        429,
        "too many wrong tokens",
        `too many wrong viewer tokens from ${address}: try again in ${seconds} s`,
        { "Retry-After": String(seconds) },
        "too-many-wrong-tokens",
      );
    }
    const verdict = tokenVerdict(req, this.token, sources);
    if (verdict === "right") {
      this.throttle.succeeded(address);
      return undefined;
    }
    if (verdict === "wrong") this.throttle.failed(address);
    return tokenRefusal(verdict, sources);
  }
}
