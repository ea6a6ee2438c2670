import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * Server side of HTTP Digest (RFC 2617 / RFC 7616 with MD5) for RTSP. qop=auth is offered; clients
 * that answer without qop (RFC 2069 style, as live555 and many cameras' clients do) are accepted too.
 * Nonces are stateless: random bytes plus an HMAC under a per-instance key, valid for the life of
 * the camera, so a client never has to handle a stale nonce in the middle of a session.
 */

export type DigestVerdict = "ok" | "missing" | "invalid";

const md5 = (text: string): string => createHash("md5").update(text, "utf8").digest("hex");

export interface DigestInput {
  readonly username: string;
  readonly realm: string;
  readonly password: string;
  readonly method: string;
  readonly uri: string;
  readonly nonce: string;
  /** With qop=auth: nc (8 hex digits) and cnonce; without: the RFC 2069 form. */
  readonly qop?: { readonly nc: string; readonly cnonce: string };
}

/** The MD5 `response` value of RFC 2617 3.2.2.1, lower-case hex. */
export function digestResponse(input: DigestInput): string {
  const ha1 = md5(`${input.username}:${input.realm}:${input.password}`);
  return responseFromHa1(ha1, input.method, input.uri, input.nonce, input.qop);
}

function responseFromHa1(
  ha1: string,
  method: string,
  uri: string,
  nonce: string,
  qop: DigestInput["qop"],
): string {
  const ha2 = md5(`${method}:${uri}`);
  return qop ? md5(`${ha1}:${nonce}:${qop.nc}:${qop.cnonce}:auth:${ha2}`) : md5(`${ha1}:${nonce}:${ha2}`);
}

/**
 * auth-param list of a Digest header (after the scheme): `name=token` or `name="quoted \" string"`,
 * comma separated. Names lower-cased. Undefined when it does not parse.
 */
export function parseAuthParams(text: string): Map<string, string> | undefined {
  const params = new Map<string, string>();
  const pattern = /\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]*))\s*(,|$)/y;
  let at = 0;
  while (at < text.length) {
    pattern.lastIndex = at;
    const match = pattern.exec(text);
    if (!match) return undefined;
    const value = match[2] !== undefined ? match[2].replace(/\\(.)/g, "$1") : (match[3] ?? "");
    params.set(match[1]!.toLowerCase(), value);
    at = pattern.lastIndex;
    if (match[4] === "") break;
  }
  return params;
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a, "utf8");
  const right = Buffer.from(b, "utf8");
  return left.length === right.length && timingSafeEqual(left, right);
}

export interface DigestCredentials {
  readonly username: string;
  readonly password: string;
  readonly realm?: string;
}

export class DigestVerifier {
  readonly realm: string;
  private readonly username: string;
  private readonly ha1: string;
  private readonly key = randomBytes(32);

  constructor(credentials: DigestCredentials) {
    this.realm = credentials.realm ?? "node-red-rtsp-webrtc demo camera";
    this.username = credentials.username;
    this.ha1 = md5(`${credentials.username}:${this.realm}:${credentials.password}`);
  }

  /** A WWW-Authenticate header value with a fresh nonce. */
  challenge(): string {
    const nonce = this.issueNonce();
    return `Digest realm="${this.realm}", nonce="${nonce}", algorithm=MD5, qop="auth"`;
  }

  /** Checks an Authorization header for a request's method and request-URI. Never throws. */
  verify(method: string, requestUri: string, authorization: string | undefined): DigestVerdict {
    if (authorization === undefined) return "missing";
    const scheme = /^\s*Digest\s+/i.exec(authorization);
    if (!scheme) return "missing";
    const params = parseAuthParams(authorization.slice(scheme[0].length));
    if (!params) return "invalid";
    const username = params.get("username");
    const realm = params.get("realm");
    const nonce = params.get("nonce");
    const uri = params.get("uri");
    const response = params.get("response")?.toLowerCase();
    const algorithm = params.get("algorithm") ?? "MD5";
    const qop = params.get("qop");
    if (username === undefined || nonce === undefined || uri === undefined || response === undefined)
      return "invalid";
    if (username !== this.username || realm !== this.realm || algorithm.toUpperCase() !== "MD5")
      return "invalid";
    if (uri !== requestUri || !this.validNonce(nonce)) return "invalid";
    let qopFields: DigestInput["qop"];
    if (qop !== undefined) {
      const nc = params.get("nc");
      const cnonce = params.get("cnonce");
      if (qop !== "auth" || nc === undefined || !/^[0-9a-fA-F]{8}$/.test(nc) || cnonce === undefined)
        return "invalid";
      qopFields = { nc, cnonce };
    }
    const expected = responseFromHa1(this.ha1, method, uri, nonce, qopFields);
    return sameText(response, expected) ? "ok" : "invalid";
  }

  private issueNonce(): string {
    const salt = randomBytes(12).toString("hex");
    return `${salt}${this.sign(salt)}`;
  }

  private sign(salt: string): string {
    return createHmac("sha256", this.key).update(salt).digest("hex").slice(0, 32);
  }

  private validNonce(nonce: string): boolean {
    if (!/^[0-9a-f]{56}$/.test(nonce)) return false;
    return sameText(nonce.slice(24), this.sign(nonce.slice(0, 24)));
  }
}
