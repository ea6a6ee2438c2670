import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { RtspError } from "./errors";

export interface AuthChallenge {
  scheme: "basic" | "digest";
  realm: string;
  nonce?: string;
  opaque?: string;
  /** "MD5" | "SHA-256" | "MD5-sess" | "SHA-256-sess" (normalised spelling), or whatever else the server named. */
  algorithm?: string;
  /** Lower-cased. */
  qop?: string[];
  stale?: boolean;
}

const TOKEN = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

/** Splits at commas outside quoted strings (realms and nonces may hold commas). */
function splitOutsideQuotes(value: string): string[] {
  const parts: string[] = [];
  let current = "";
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]!;
    if (quoted && ch === "\\" && i + 1 < value.length) {
      current += ch + value[++i];
      continue;
    }
    if (ch === '"') quoted = !quoted;
    if (ch === "," && !quoted) {
      parts.push(current.trim());
      current = "";
    } else {
      current += ch;
    }
  }
  parts.push(current.trim());
  return parts.filter((p) => p !== "");
}

function unquote(value: string): string {
  if (value.length < 2 || !value.startsWith('"') || !value.endsWith('"')) return value;
  return value.slice(1, -1).replace(/\\(.)/g, "$1");
}

function parseParam(text: string): [string, string] | undefined {
  const eq = text.indexOf("=");
  if (eq <= 0) return undefined;
  return [text.slice(0, eq).trim().toLowerCase(), unquote(text.slice(eq + 1).trim())];
}

interface RawChallenge {
  scheme: string;
  params: Map<string, string>;
}

/**
 * One header value may hold several challenges: `Digest realm="a, b", nonce="n", Basic realm="c"`.
 * An element that starts with a token NOT followed by "=" begins a new challenge.
 */
function parseRawChallenges(value: string): RawChallenge[] {
  const challenges: RawChallenge[] = [];
  for (const element of splitOutsideQuotes(value)) {
    const space = element.search(/\s/);
    const head = space === -1 ? element : element.slice(0, space);
    const tail = space === -1 ? "" : element.slice(space).trim();
    let param = element;
    if (TOKEN.test(head) && !tail.startsWith("=")) {
      challenges.push({ scheme: head.toLowerCase(), params: new Map() });
      param = tail;
    }
    const current = challenges[challenges.length - 1];
    const kv = parseParam(param);
    if (current && kv && !current.params.has(kv[0])) current.params.set(kv[0], kv[1]);
  }
  return challenges;
}

/** "md5" → "MD5", "sha-256-SESS" → "SHA-256-sess". */
function normaliseAlgorithm(raw: string): string {
  const upper = raw.trim().toUpperCase();
  return upper.endsWith("-SESS") ? `${upper.slice(0, -5)}-sess` : upper;
}

function toChallenge(raw: RawChallenge): AuthChallenge | undefined {
  const realm = raw.params.get("realm") ?? "";
  if (raw.scheme === "basic") return { scheme: "basic", realm };
  if (raw.scheme !== "digest") return undefined;
  const challenge: AuthChallenge = { scheme: "digest", realm };
  const nonce = raw.params.get("nonce");
  const opaque = raw.params.get("opaque");
  const algorithm = raw.params.get("algorithm");
  const qop = raw.params.get("qop");
  const stale = raw.params.get("stale");
  if (nonce !== undefined) challenge.nonce = nonce;
  if (opaque !== undefined) challenge.opaque = opaque;
  if (algorithm !== undefined) challenge.algorithm = normaliseAlgorithm(algorithm);
  if (qop !== undefined) {
    challenge.qop = qop
      .split(",")
      .map((q) => q.trim().toLowerCase())
      .filter((q) => q !== "");
  }
  if (stale !== undefined) challenge.stale = stale.trim().toLowerCase() === "true";
  return challenge;
}

/**
 * The credentials of an Authorization header, as a server reads them: the scheme (lower-cased) and the
 * auth-params (names lower-cased, values unquoted). Undefined for an empty header.
 */
export function parseAuthorization(
  value: string,
): { scheme: string; params: Map<string, string> } | undefined {
  return parseRawChallenges(value)[0];
}

/** Every Basic and Digest challenge in the WWW-Authenticate values, in order; other schemes are left out. */
export function parseWwwAuthenticate(values: string[]): AuthChallenge[] {
  const challenges: AuthChallenge[] = [];
  for (const value of values) {
    for (const raw of parseRawChallenges(value)) {
      const challenge = toChallenge(raw);
      if (challenge) challenges.push(challenge);
    }
  }
  return challenges;
}

const DIGEST_HASHES: Readonly<Record<string, "md5" | "sha256">> = {
  MD5: "md5",
  "MD5-sess": "md5",
  "SHA-256": "sha256",
  "SHA-256-sess": "sha256",
};

/** Higher is better: SHA-256 over MD5, plain over -sess, any Digest over Basic. */
const DIGEST_PREFERENCE: Readonly<Record<string, number>> = {
  "SHA-256": 4,
  "SHA-256-sess": 3,
  MD5: 2,
  "MD5-sess": 1,
};

/** Why a challenge cannot be answered, or undefined when it can. */
function unsupportedReason(c: AuthChallenge): string | undefined {
  if (c.scheme === "basic") return undefined;
  const algorithm = c.algorithm ?? "MD5";
  if (DIGEST_HASHES[algorithm] === undefined) return `Digest algorithm ${algorithm} is not supported`;
  if (c.nonce === undefined) return "the Digest challenge has no nonce";
  if (c.qop && c.qop.length > 0 && !c.qop.includes("auth")) {
    return `Digest qop ${c.qop.join(",")} is not supported`;
  }
  return undefined;
}

function preference(c: AuthChallenge): number {
  return c.scheme === "basic" ? 0 : (DIGEST_PREFERENCE[c.algorithm ?? "MD5"] ?? -1);
}

/** The strongest challenge this client can answer: Digest SHA-256, then Digest MD5, then Basic. */
export function pickChallenge(challenges: AuthChallenge[]): AuthChallenge | undefined {
  let best: AuthChallenge | undefined;
  for (const c of challenges) {
    if (unsupportedReason(c) !== undefined) continue;
    if (!best || preference(c) > preference(best)) best = c;
  }
  return best;
}

function quote(value: string): string {
  return `"${value.replace(/[\\"]/g, "\\$&")}"`;
}

/** A WWW-Authenticate value as a server sends it: realm, nonce, opaque, algorithm, qop, stale, in that order. */
export function formatWwwAuthenticate(c: AuthChallenge): string {
  if (c.scheme === "basic") return `Basic realm=${quote(c.realm)}`;
  const fields = [`realm=${quote(c.realm)}`];
  if (c.nonce !== undefined) fields.push(`nonce=${quote(c.nonce)}`);
  if (c.opaque !== undefined) fields.push(`opaque=${quote(c.opaque)}`);
  if (c.algorithm !== undefined) fields.push(`algorithm=${c.algorithm}`);
  if (c.qop !== undefined) fields.push(`qop=${quote(c.qop.join(", "))}`);
  if (c.stale !== undefined) fields.push(`stale=${c.stale ? "true" : "false"}`);
  return `Digest ${fields.join(", ")}`;
}

/** What both sides hash: the client to answer a challenge, the server to check the answer. */
export interface DigestInput {
  /** Default MD5; one of the algorithms pickChallenge accepts. */
  algorithm?: string;
  username: string;
  realm: string;
  password: string;
  method: string;
  /** The request URL exactly as sent. */
  uri: string;
  nonce: string;
  /** With qop=auth: the nonce count, 8 hex digits; without it, the RFC 2069 form is used. */
  nc?: string;
  /** With qop=auth or a -sess algorithm. */
  cnonce?: string;
}

function digestHash(algorithm: string): (text: string) => string {
  const hash = DIGEST_HASHES[algorithm];
  if (hash === undefined)
    throw new RtspError(`Digest algorithm ${algorithm} is not supported`, "unsupported");
  return (text) => createHash(hash).update(text, "utf8").digest("hex");
}

/** H(A1) of RFC 7616 §3.4.2; the -sess algorithms fold in the nonce and cnonce. */
function digestHa1(
  input: Pick<DigestInput, "algorithm" | "username" | "realm" | "password" | "cnonce"> & { nonce?: string },
): string {
  const algorithm = input.algorithm ?? "MD5";
  const h = digestHash(algorithm);
  const ha1 = h(`${input.username}:${input.realm}:${input.password}`);
  return algorithm.endsWith("-sess") ? h(`${ha1}:${input.nonce ?? ""}:${input.cnonce ?? ""}`) : ha1;
}

/** The response of RFC 7616 §3.4.1 from H(A1); without nc, RFC 2069's. */
function responseFromHa1(ha1: string, input: Omit<DigestInput, "username" | "realm" | "password">): string {
  const h = digestHash(input.algorithm ?? "MD5");
  const ha2 = h(`${input.method}:${input.uri}`);
  return input.nc !== undefined
    ? h(`${ha1}:${input.nonce}:${input.nc}:${input.cnonce ?? ""}:auth:${ha2}`)
    : h(`${ha1}:${input.nonce}:${ha2}`);
}

/** The Digest `response` value, lower-case hex. @throws RtspError("unsupported") for an unknown algorithm. */
export function digestResponse(input: DigestInput): string {
  return responseFromHa1(digestHa1(input), input);
}

function defaultCnonce(): string {
  return randomBytes(16).toString("hex");
}

/** Builds Authorization values for one challenge; nc counts the requests made with its nonce. */
export class Authenticator {
  private nonceCount = 0;
  private readonly cnonce: () => string;

  /** @throws RtspError("unsupported") for a challenge pickChallenge would have skipped. */
  constructor(
    private readonly username: string,
    private readonly password: string,
    readonly challenge: AuthChallenge,
    cnonce?: () => string,
  ) {
    const reason = unsupportedReason(challenge);
    if (reason !== undefined) throw new RtspError(reason, "unsupported");
    this.cnonce = cnonce ?? defaultCnonce;
  }

  /** The Authorization header value for a request; `uri` is the request URL exactly as sent. */
  authorization(method: string, uri: string): string {
    if (this.challenge.scheme === "basic") {
      return `Basic ${Buffer.from(`${this.username}:${this.password}`, "utf8").toString("base64")}`;
    }
    return this.digest(method, uri);
  }

  private digest(method: string, uri: string): string {
    const c = this.challenge;
    const algorithm = c.algorithm ?? "MD5";
    const nonce = c.nonce ?? "";
    const useQop = c.qop !== undefined && c.qop.length > 0;
    const sess = algorithm.endsWith("-sess");
    const cnonce = useQop || sess ? this.cnonce() : "";
    const nc = useQop ? (++this.nonceCount).toString(16).padStart(8, "0") : "";
    const response = digestResponse({
      algorithm,
      username: this.username,
      realm: c.realm,
      password: this.password,
      method,
      uri,
      nonce,
      cnonce,
      ...(useQop ? { nc } : {}),
    });

    const fields = [
      `username=${quote(this.username)}`,
      `realm=${quote(c.realm)}`,
      `nonce=${quote(nonce)}`,
      `uri=${quote(uri)}`,
      `response=${quote(response)}`,
    ];
    if (c.algorithm !== undefined) fields.push(`algorithm=${algorithm}`);
    if (c.opaque !== undefined) fields.push(`opaque=${quote(c.opaque)}`);
    if (useQop) fields.push("qop=auth", `nc=${nc}`, `cnonce=${quote(cnonce)}`);
    else if (sess) fields.push(`cnonce=${quote(cnonce)}`);
    return `Digest ${fields.join(", ")}`;
  }
}

export type DigestVerdict = "ok" | "missing" | "invalid";

export interface DigestVerifierOptions {
  username: string;
  password: string;
  realm: string;
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a, "utf8");
  const right = Buffer.from(b, "utf8");
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * The server side of Digest (MD5): challenges offer qop=auth, and answers without qop (RFC 2069 style,
 * as live555 and many cameras' clients send) are accepted too. Nonces are stateless: random bytes plus
 * an HMAC under a per-instance key, valid for the verifier's life, so a client never meets a stale nonce
 * in the middle of a session.
 */
export class DigestVerifier {
  readonly realm: string;
  private readonly username: string;
  private readonly ha1: string;
  private readonly key = randomBytes(32);

  constructor(options: DigestVerifierOptions) {
    this.realm = options.realm;
    this.username = options.username;
    this.ha1 = digestHa1(options);
  }

  /** A WWW-Authenticate value with a fresh nonce. */
  challenge(): string {
    return formatWwwAuthenticate({
      scheme: "digest",
      realm: this.realm,
      nonce: this.issueNonce(),
      algorithm: "MD5",
      qop: ["auth"],
    });
  }

  /** Checks an Authorization value for a request's method and request URL. Never throws. */
  verify(method: string, requestUrl: string, authorization: string | undefined): DigestVerdict {
    const credentials = authorization === undefined ? undefined : parseAuthorization(authorization);
    if (credentials?.scheme !== "digest") return "missing";
    const params = credentials.params;
    const username = params.get("username");
    const nonce = params.get("nonce");
    const uri = params.get("uri");
    const response = params.get("response")?.toLowerCase();
    const qop = params.get("qop");
    if (username === undefined || nonce === undefined || uri === undefined || response === undefined)
      return "invalid";
    if (username !== this.username || params.get("realm") !== this.realm) return "invalid";
    if ((params.get("algorithm") ?? "MD5").toUpperCase() !== "MD5") return "invalid";
    if (uri !== requestUrl || !this.validNonce(nonce)) return "invalid";
    const nc = params.get("nc");
    const cnonce = params.get("cnonce");
    if (
      qop !== undefined &&
      (qop !== "auth" || nc === undefined || !/^[0-9a-fA-F]{8}$/.test(nc) || cnonce === undefined)
    )
      return "invalid";
    const expected = responseFromHa1(this.ha1, {
      method,
      uri,
      nonce,
      ...(qop !== undefined ? { nc, cnonce } : {}),
    });
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
