import { RtspError } from "./errors";
import { maskQuerySecrets } from "./query-secrets";

/** An rtsp:// or rtsps:// URL taken apart. Credentials are kept apart so they never reach a request line. */
export interface RtspUrl {
  secure: boolean;
  /** IPv6 literals without brackets. */
  hostname: string;
  /** 554 for rtsp, 322 for rtsps when the URL names none. */
  port: number;
  /** Path plus query, at least "/". */
  path: string;
  username?: string;
  /** Percent-decoded. */
  password?: string;
}

export const RTSP_DEFAULT_PORT = 554;
export const RTSPS_DEFAULT_PORT = 322;

const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//;
const HOST_FORBIDDEN = /[\s/?#@[\]\\<>"{}|^`]/;
const IPV6_LITERAL = /^[0-9a-fA-F:.]*:[0-9a-fA-F:.]*(%[\w.~-]+)?$/;

function hasControlCharacters(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

function badUrl(message: string): RtspError {
  return new RtspError(message, "bad-url");
}

/** Percent-decodes, keeping the raw text when it is not valid percent-encoding (a literal "%" in a password). */
function decodeComponent(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

interface UrlParts {
  scheme: string;
  userinfo?: string;
  hostPort: string;
  /** Everything after the authority: path, query, fragment; may be empty or start with "?". */
  rest: string;
}

/**
 * Splits scheme://[userinfo@]host[:port][rest]. The userinfo ends at the LAST "@" before the first "/",
 * so passwords with unescaped "@", ":", "?" or "#" (common in camera setups) still parse; a "/" in a
 * password has to be written %2F.
 */
function splitUrl(text: string): UrlParts | undefined {
  const scheme = SCHEME.exec(text);
  if (!scheme) return undefined;
  const afterScheme = text.slice(scheme[0].length);
  const slash = afterScheme.indexOf("/");
  const authority = slash === -1 ? afterScheme : afterScheme.slice(0, slash);
  let rest = slash === -1 ? "" : afterScheme.slice(slash);
  const at = authority.lastIndexOf("@");
  let hostPort = at === -1 ? authority : authority.slice(at + 1);
  // rtsp://host?query: the query follows the authority with no path in between.
  const queryStart = hostPort.search(/[?#]/);
  if (queryStart !== -1) {
    rest = hostPort.slice(queryStart) + rest;
    hostPort = hostPort.slice(0, queryStart);
  }
  return {
    scheme: scheme[1]!.toLowerCase(),
    userinfo: at === -1 ? undefined : authority.slice(0, at),
    hostPort,
    rest,
  };
}

function parseHostPort(hostPort: string, secure: boolean): { hostname: string; port: number } {
  let hostname: string;
  let portText: string | undefined;
  if (hostPort.startsWith("[")) {
    const close = hostPort.indexOf("]");
    if (close === -1) throw badUrl(`unclosed "[" in the host "${hostPort}"`);
    // RFC 6874 writes a zone's "%" as "%25"; sockets want the plain "%".
    hostname = hostPort.slice(1, close).replace("%25", "%");
    if (!IPV6_LITERAL.test(hostname)) throw badUrl(`"${hostname}" is not an IPv6 address`);
    const after = hostPort.slice(close + 1);
    if (after !== "" && !after.startsWith(":")) throw badUrl(`unexpected "${after}" after the IPv6 address`);
    portText = after === "" ? undefined : after.slice(1);
  } else {
    const colons = hostPort.split(":").length - 1;
    if (colons > 1) throw badUrl(`IPv6 addresses must be written in brackets, e.g. rtsp://[${hostPort}]/`);
    const colon = hostPort.indexOf(":");
    hostname = colon === -1 ? hostPort : hostPort.slice(0, colon);
    portText = colon === -1 ? undefined : hostPort.slice(colon + 1);
    if (HOST_FORBIDDEN.test(hostname)) throw badUrl(`"${hostname}" is not a valid host name`);
  }
  if (hostname === "") throw badUrl("the URL has no host");
  return { hostname, port: parsePort(portText, secure) };
}

function parsePort(text: string | undefined, secure: boolean): number {
  if (text === undefined || text === "") return secure ? RTSPS_DEFAULT_PORT : RTSP_DEFAULT_PORT;
  const port = /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN;
  if (!(port >= 1 && port <= 65535)) throw badUrl(`bad port "${text}" (1 to 65535)`);
  return port;
}

/** Path and query for the request line: at least "/", no fragment, spaces percent-encoded. */
function normalisePath(rest: string): string {
  const hash = rest.indexOf("#");
  let path = (hash === -1 ? rest : rest.slice(0, hash)).replace(/ /g, "%20");
  if (!path.startsWith("/")) path = `/${path}`;
  return path;
}

/**
 * An "@" after the first "/" usually means a password with a raw "/" in it: then what looks like the
 * host is part of the credentials, so the error must neither echo it nor blame the host.
 */
function parseAuthority(parts: UrlParts): { hostname: string; port: number } {
  const secure = parts.scheme === "rtsps";
  try {
    return parseHostPort(parts.hostPort, secure);
  } catch (err) {
    if (parts.userinfo === undefined && parts.rest.includes("@")) {
      throw badUrl('cannot read the host and port: a "/" in the user name or password must be written %2F');
    }
    throw err;
  }
}

/**
 * Parses an rtsp:// or rtsps:// URL typed by a user.
 * @throws RtspError("bad-url") with a message saying what is wrong (never echoing the password).
 */
export function parseRtspUrl(input: string): RtspUrl {
  const text = input.trim();
  if (text === "") throw badUrl("the URL is empty");
  if (hasControlCharacters(text)) throw badUrl("the URL contains control characters");
  const parts = splitUrl(text);
  if (!parts) throw badUrl(`not an RTSP URL: "${maskUrl(text)}" (it must start with rtsp:// or rtsps://)`);
  if (parts.scheme !== "rtsp" && parts.scheme !== "rtsps") {
    throw badUrl(`not an RTSP URL: ${parts.scheme}:// (use rtsp:// or rtsps://)`);
  }
  const secure = parts.scheme === "rtsps";
  const { hostname, port } = parseAuthority(parts);
  const url: RtspUrl = { secure, hostname, port, path: normalisePath(parts.rest) };
  if (parts.userinfo !== undefined) {
    const colon = parts.userinfo.indexOf(":");
    url.username = decodeComponent(colon === -1 ? parts.userinfo : parts.userinfo.slice(0, colon));
    if (colon !== -1) url.password = decodeComponent(parts.userinfo.slice(colon + 1));
  }
  return url;
}

/**
 * The URL for request lines: never credentials, always an explicit port (as ffmpeg sends it, so the
 * text does not depend on how the user wrote it), IPv6 in brackets.
 */
export function formatRtspUrl(u: RtspUrl): string {
  const host = u.hostname.includes(":") ? `[${u.hostname.replace("%", "%25")}]` : u.hostname;
  const path = u.path === "" ? "/" : u.path.startsWith("/") ? u.path : `/${u.path}`;
  return `${u.secure ? "rtsps" : "rtsp"}://${host}:${u.port}${path}`;
}

const USERINFO = /^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)?([^/]*)@/;
/** user:pass/more@host: a raw "/" in the password (which parseRtspUrl refuses) runs up to the last "@". */
const USERINFO_WITH_SLASH = /^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)?([^:/@]*):([^/]*)\/.*@/;
const HOST_PORT = /^[^:/@]*:\d*$/;
/**
 * For logs and statuses: the password (in the userinfo, or a query parameter that carries a secret:
 * password=, token=, key=… see SECRET_PARAMETERS) becomes "***", the user name stays. Pure text work,
 * so it also masks URLs that do not parse.
 */
export function maskUrl(input: string): string {
  const slashed = USERINFO_WITH_SLASH.exec(input);
  // "user:pa/ss@host" but not "host:554/path@x": before the first "/" stands no host:port.
  if (slashed && !HOST_PORT.test(`${slashed[2]}:${slashed[3]}`)) {
    const rest = input.slice(input.lastIndexOf("@") + 1);
    return maskQuerySecrets(`${slashed[1] ?? ""}${slashed[2]}:***@${rest}`);
  }
  const masked = input.replace(USERINFO, (whole: string, scheme: string | undefined, userinfo: string) => {
    const colon = userinfo.indexOf(":");
    return colon === -1 ? whole : `${scheme ?? ""}${userinfo.slice(0, colon)}:***@`;
  });
  return maskQuerySecrets(masked);
}

/** Removes user[:password]@ from a URL's authority, leaving anything else as it is. */
function stripUserinfo(url: string): string {
  return url.replace(/^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)[^/]*@/, "$1");
}

/**
 * The URL of a media given the session's base URL (Content-Base, Content-Location or the request URL)
 * and its SDP a=control attribute, following RFC 2326 C.1.1 as cameras read it (gortsplib, ffmpeg):
 * a relative control is appended after a "/" to the whole base, query included
 * ("rtsp://h/s?ch=1" + "trackID=1" gives "rtsp://h/s?ch=1/trackID=1"); a control starting with "?" is
 * appended as it is; one starting with "/" replaces the base's path. Credentials never appear in the result.
 */
export function resolveControl(baseUrl: string, control: string): string {
  const base = stripUserinfo(baseUrl.trim());
  const c = control.trim();
  if (c === "" || c === "*") return base;
  if (/^rtsps?:\/\//i.test(c)) return stripUserinfo(c);
  if (c.startsWith("/")) {
    const origin = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*/.exec(base);
    return (origin ? origin[0] : base) + c;
  }
  if (c.startsWith("?") || base.endsWith("/")) return base + c;
  return `${base}/${c}`;
}
