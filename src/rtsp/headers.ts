import { RtspError } from "./errors";

/**
 * RTSP header fields: names compare case-insensitively, but the original spelling and order are kept
 * for the wire (a few cameras are picky about both).
 */
export class RtspHeaders {
  private readonly fields: Array<[string, string]> = [];

  constructor(init?: Iterable<[string, string]>) {
    if (init) for (const [name, value] of init) this.append(name, value);
  }

  /** The first value of that name. */
  get(name: string): string | undefined {
    const key = name.toLowerCase();
    return this.fields.find(([n]) => n.toLowerCase() === key)?.[1];
  }

  getAll(name: string): string[] {
    const key = name.toLowerCase();
    return this.fields.filter(([n]) => n.toLowerCase() === key).map(([, v]) => v);
  }

  /** Replaces every field of that name with one, at the place of the first (or at the end). */
  set(name: string, value: string): this {
    const key = name.toLowerCase();
    const first = this.fields.findIndex(([n]) => n.toLowerCase() === key);
    if (first === -1) {
      this.fields.push([name, value]);
      return this;
    }
    this.fields[first] = [name, value];
    for (let i = this.fields.length - 1; i > first; i--) {
      if (this.fields[i]![0].toLowerCase() === key) this.fields.splice(i, 1);
    }
    return this;
  }

  append(name: string, value: string): this {
    this.fields.push([name, value]);
    return this;
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  delete(name: string): this {
    const key = name.toLowerCase();
    for (let i = this.fields.length - 1; i >= 0; i--) {
      if (this.fields[i]![0].toLowerCase() === key) this.fields.splice(i, 1);
    }
    return this;
  }

  /** Original case, insertion order. */
  entries(): IterableIterator<[string, string]> {
    return this.fields.map(([n, v]): [string, string] => [n, v])[Symbol.iterator]();
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }
}

/** Splits "a;b=c; d = e" into trimmed parts, keeping ";" inside double quotes. */
function splitParams(value: string, separator: string): string[] {
  const parts: string[] = [];
  let current = "";
  let quoted = false;
  for (const ch of value) {
    if (ch === '"') quoted = !quoted;
    if (ch === separator && !quoted) {
      parts.push(current.trim());
      current = "";
    } else {
      current += ch;
    }
  }
  parts.push(current.trim());
  return parts;
}

function splitKeyValue(param: string): [key: string, value: string | undefined] {
  const eq = param.indexOf("=");
  if (eq === -1) return [param.trim().toLowerCase(), undefined];
  return [param.slice(0, eq).trim().toLowerCase(), unquote(param.slice(eq + 1).trim())];
}

function unquote(value: string): string {
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
}

function parseDecimal(text: string | undefined, max: number): number | undefined {
  if (text === undefined || !/^\d{1,10}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= max ? n : undefined;
}

/** "12345678;timeout=60", as a server confirms a session; the timeout is left out when not given. */
export function formatSessionHeader(session: { id: string; timeoutSec?: number }): string {
  return session.timeoutSec === undefined ? session.id : `${session.id};timeout=${session.timeoutSec}`;
}

/**
 * "12345678;timeout=60". The timeout is left out when absent or not a positive number.
 * @throws RtspError("protocol") when the header carries no session id.
 */
export function parseSessionHeader(v: string): { id: string; timeoutSec?: number } {
  const [id = "", ...params] = splitParams(v, ";");
  if (id === "") throw new RtspError("the server sent an empty Session header", "protocol");
  const result: { id: string; timeoutSec?: number } = { id };
  for (const param of params) {
    const [key, value] = splitKeyValue(param);
    const timeout = key === "timeout" ? parseDecimal(value, 0x7fffffff) : undefined;
    if (timeout !== undefined && timeout > 0) result.timeoutSec = timeout;
  }
  return result;
}

export interface TransportHeader {
  /** "RTP/AVP" for UDP (RTP/AVP/UDP is read as RTP/AVP), "RTP/AVP/TCP" for interleaved. */
  protocol: "RTP/AVP" | "RTP/AVP/TCP" | string;
  unicast: boolean;
  interleaved?: [number, number];
  clientPort?: [number, number];
  serverPort?: [number, number];
  /** Written in hex in the header. */
  ssrc?: number;
  source?: string;
  mode?: string;
}

/** "5000-5001" or the single-port form "5000" (meaning 5000-5001). */
function parseRange(value: string | undefined, max: number): [number, number] | undefined {
  const m = value === undefined ? null : /^(\d+)(?:-(\d+))?$/.exec(value);
  if (!m) return undefined;
  const first = parseDecimal(m[1], max);
  const second = m[2] === undefined ? (first === undefined ? undefined : first + 1) : parseDecimal(m[2], max);
  return first === undefined || second === undefined ? undefined : [first, second];
}

/** Hex, up to 8 digits; cameras pad with spaces or drop leading zeros. A decimal SSRC too long for hex is dropped. */
function parseSsrc(value: string | undefined): number | undefined {
  const m = value === undefined ? null : /^(?:0x)?([0-9a-fA-F]{1,8})$/.exec(value.trim());
  return m ? Number.parseInt(m[1]!, 16) : undefined;
}

/**
 * Reads the first transport spec of a Transport header (a reply carries one). Tolerates the spellings
 * cameras use: RTP/AVP/UDP, single ports, keys in any case and order, quoted or padded values.
 * unicast is true unless "multicast" is present: servers often leave both out of unicast replies.
 */
export function parseTransportHeader(v: string): TransportHeader {
  return parseTransportSpec(splitParams(v, ",")[0] ?? "").header;
}

/**
 * Every transport spec of a request's Transport header, the client's preferred first, read as
 * parseTransportHeader reads one, for a server to pick from. A spec whose interleaved, client_port or
 * server_port cannot be read is left out: a server must not guess the channels or ports it sends to.
 */
export function parseTransportList(v: string): TransportHeader[] {
  const headers: TransportHeader[] = [];
  for (const spec of splitParams(v, ",")) {
    const { header, unreadable } = parseTransportSpec(spec);
    if (!unreadable) headers.push(header);
  }
  return headers;
}

/** One spec; unreadable when a channel or port range is there but not a range of numbers in bounds. */
function parseTransportSpec(spec: string): { header: TransportHeader; unreadable: boolean } {
  const header: TransportHeader = { protocol: "", unicast: true };
  let unreadable = false;
  const range = (value: string | undefined, max: number) => {
    const parsed = parseRange(value, max);
    // The single-port form's implied second port may fall past the bound.
    if (parsed === undefined || parsed[1] > max) unreadable = true;
    return parsed;
  };
  for (const param of splitParams(spec, ";")) {
    if (param === "") continue;
    const [key, value] = splitKeyValue(param);
    if (value === undefined && key.startsWith("rtp/")) {
      header.protocol = normaliseProtocol(param);
      continue;
    }
    switch (key) {
      case "unicast":
        header.unicast = true;
        break;
      case "multicast":
        header.unicast = false;
        break;
      case "interleaved":
        setIfDefined(header, "interleaved", range(value, 255));
        break;
      case "client_port":
        setIfDefined(header, "clientPort", range(value, 65535));
        break;
      case "server_port":
        setIfDefined(header, "serverPort", range(value, 65535));
        break;
      case "ssrc":
        setIfDefined(header, "ssrc", parseSsrc(value));
        break;
      case "source":
        if (value) header.source = value;
        break;
      case "mode":
        if (value) header.mode = value;
        break;
    }
  }
  return { header, unreadable };
}

function setIfDefined<K extends keyof TransportHeader>(
  target: TransportHeader,
  key: K,
  value: TransportHeader[K],
) {
  if (value !== undefined) target[key] = value;
}

function normaliseProtocol(text: string): string {
  const upper = text.toUpperCase();
  return upper === "RTP/AVP/UDP" ? "RTP/AVP" : upper;
}

/** "RTP/AVP/TCP;unicast;interleaved=0-1", "RTP/AVP;unicast;client_port=5000-5001". */
export function formatTransportHeader(t: TransportHeader): string {
  const parts = [t.protocol, t.unicast ? "unicast" : "multicast"];
  if (t.source !== undefined) parts.push(`source=${t.source}`);
  if (t.interleaved) parts.push(`interleaved=${t.interleaved[0]}-${t.interleaved[1]}`);
  if (t.clientPort) parts.push(`client_port=${t.clientPort[0]}-${t.clientPort[1]}`);
  if (t.serverPort) parts.push(`server_port=${t.serverPort[0]}-${t.serverPort[1]}`);
  if (t.ssrc !== undefined) parts.push(`ssrc=${(t.ssrc >>> 0).toString(16).toUpperCase().padStart(8, "0")}`);
  if (t.mode !== undefined) parts.push(`mode=${t.mode}`);
  return parts.join(";");
}

export interface RtpInfoEntry {
  url: string;
  seq?: number;
  rtptime?: number;
}

const RTP_INFO_KEYS = new Set(["url", "seq", "rtptime", "ssrc"]);

/**
 * "url=rtsp://h/s/trackID=1;seq=1;rtptime=2, url=trackID=2;seq=3". URLs may themselves hold "=", ","
 * or ";", so an entry starts only at "url=" and a ";" ends the URL only before a known parameter.
 */
export function parseRtpInfo(v: string): RtpInfoEntry[] {
  const entries: RtpInfoEntry[] = [];
  for (const text of v.split(/,\s*(?=url=)/i)) {
    const entry = parseRtpInfoEntry(text);
    if (entry) entries.push(entry);
  }
  return entries;
}

function parseRtpInfoEntry(text: string): RtpInfoEntry | undefined {
  let url: string | undefined;
  let seq: number | undefined;
  let rtptime: number | undefined;
  let inUrl = false;
  for (const part of text.trim().split(";")) {
    const eq = part.indexOf("=");
    const key = eq === -1 ? "" : part.slice(0, eq).trim().toLowerCase();
    if (inUrl && !RTP_INFO_KEYS.has(key)) {
      url += `;${part}`;
      continue;
    }
    inUrl = false;
    const value = part.slice(eq + 1).trim();
    if (key === "url") {
      url = value;
      inUrl = true;
    } else if (key === "seq") {
      seq = parseDecimal(value, 0xffff);
    } else if (key === "rtptime") {
      rtptime = parseDecimal(value, 0xffffffff);
    }
  }
  if (url === undefined) return undefined;
  const entry: RtpInfoEntry = { url: unquote(url.trim()) };
  if (seq !== undefined) entry.seq = seq;
  if (rtptime !== undefined) entry.rtptime = rtptime;
  return entry;
}

/** "url=rtsp://h/s/trackID=0;seq=1;rtptime=2", as a server answers PLAY; entries joined by ", ". */
export function formatRtpInfo(entries: RtpInfoEntry[]): string {
  return entries
    .map((entry) => {
      let text = `url=${entry.url}`;
      if (entry.seq !== undefined) text += `;seq=${entry.seq}`;
      if (entry.rtptime !== undefined) text += `;rtptime=${entry.rtptime}`;
      return text;
    })
    .join(", ");
}

/** "OPTIONS, DESCRIBE, SETUP" → upper-cased method names. */
export function parsePublic(v: string | undefined): Set<string> {
  const methods = new Set<string>();
  for (const m of (v ?? "").split(",")) {
    const name = m.trim().toUpperCase();
    if (name !== "") methods.add(name);
  }
  return methods;
}
