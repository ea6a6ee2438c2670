import type { IceServer } from "../webrtc/ice-config";

interface LinkValue {
  readonly target: string;
  readonly params: ReadonlyMap<string, string>;
}

/**
 * Splits `text` at `separator` where it is outside <...> and "..." (a quoted string may escape a
 * quote with a backslash), trimming each part; empty parts are dropped.
 */
function splitOutside(text: string, separator: string): string[] {
  const parts: string[] = [];
  let current = "";
  let inAngle = false;
  let inQuote = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (inQuote) {
      if (c === "\\" && i + 1 < text.length) {
        current += c + (text[i + 1] as string);
        i++;
        continue;
      }
      if (c === '"') inQuote = false;
    } else if (inAngle) {
      if (c === ">") inAngle = false;
    } else if (c === '"') {
      inQuote = true;
    } else if (c === "<") {
      inAngle = true;
    } else if (c === separator) {
      if (current.trim() !== "") parts.push(current.trim());
      current = "";
      continue;
    }
    current += c;
  }
  if (current.trim() !== "") parts.push(current.trim());
  return parts;
}

function unquote(value: string): string {
  const v = value.trim();
  if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) return v.slice(1, -1).replace(/\\(.)/g, "$1");
  return v;
}

/** RFC 8288 link-values of one or more (comma-joined) Link header values; malformed ones are skipped. */
export function parseLinks(header: string): LinkValue[] {
  const links: LinkValue[] = [];
  for (const value of splitOutside(header, ",")) {
    const match = /^<([^>]*)>(.*)$/s.exec(value);
    if (match === null) continue;
    const params = new Map<string, string>();
    for (const param of splitOutside(match[2] as string, ";")) {
      const eq = param.indexOf("=");
      const name = (eq < 0 ? param : param.slice(0, eq)).trim().toLowerCase();
      if (name === "" || params.has(name)) continue;
      params.set(name, eq < 0 ? "" : unquote(param.slice(eq + 1)));
    }
    links.push({ target: (match[1] as string).trim(), params });
  }
  return links;
}

const ICE_URL = /^(stun|stuns|turn|turns):/i;

/**
 * The ICE servers a WHIP server announces in its Link headers (RFC 9725 §4.6): `rel="ice-server"`,
 * a stun:/stuns:/turn:/turns: target, TURN credentials in `username` and `credential`.
 */
export function iceServersFromLinks(header: string | undefined): IceServer[] {
  if (header === undefined) return [];
  const servers: IceServer[] = [];
  for (const { target, params } of parseLinks(header)) {
    const rel = (params.get("rel") ?? "").toLowerCase().split(/\s+/);
    if (!rel.includes("ice-server") || !ICE_URL.test(target)) continue;
    const username = params.get("username");
    const credential = params.get("credential");
    servers.push({
      urls: target,
      ...(username !== undefined ? { username } : {}),
      ...(credential !== undefined ? { credential } : {}),
    });
  }
  return servers;
}
