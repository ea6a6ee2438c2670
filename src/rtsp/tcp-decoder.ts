import { RtspError, type RtspErrorCode } from "./errors";
import { RtspHeaders } from "./headers";
import type { RtspRequest, RtspResponse } from "./message";

export type TcpItem =
  | { type: "response"; response: RtspResponse }
  /** `version` is "RTSP/1.0" but in the server role, where the server answers another one 505. */
  | { type: "request"; request: RtspRequest; version: string }
  | { type: "interleaved"; channel: number; data: Buffer };

export interface TcpDecoderLimits {
  /** Start line plus headers plus the blank line. */
  maxHeaderBytes: number;
  maxBodyBytes: number;
}

/**
 * Which end of the connection decodes. A client (the default) reads what a server sends: replies, the
 * server's own requests and frames, and skips bytes that start none of those (cameras send some). A
 * server reads what a client sends: requests (with any request-URI and any RTSP version, for a 505) and
 * frames; anything else, or a header line without a colon, fails the stream, and every error carries in
 * statusCode what the server answers before it closes: 413 for a body over the limit, 400 otherwise.
 */
export type TcpDecoderRole = "client" | "server";

export interface TcpDecoderOptions extends Partial<TcpDecoderLimits> {
  role?: TcpDecoderRole;
}

export const DEFAULT_TCP_DECODER_LIMITS: Readonly<TcpDecoderLimits> = Object.freeze({
  maxHeaderBytes: 64 * 1024,
  maxBodyBytes: 1024 * 1024,
});

const DOLLAR = 0x24;
const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const STAR = 0x2a;
const MAX_METHOD_LENGTH = 32;
/** How much of a non-RTSP reply's first line goes into the error message. */
const MAX_FOREIGN_LINE = 200;

/** How much of a peer's text an error message quotes. */
const MAX_QUOTED = 80;

/**
 * Peer bytes fit to quote in an error message (it ends up in a node's status and the log): control
 * and non-ASCII characters shown as "?", cut short.
 */
function quoted(text: string): string {
  const clean = text.replace(/[^\x20-\x7e]/g, "?");
  return clean.length > MAX_QUOTED ? `${clean.slice(0, MAX_QUOTED)}…` : clean;
}

/** A copy that owns exactly its bytes, so Node-RED's deep clone of a message does not drag a whole read buffer along. */
function copyOut(src: Buffer, from: number, to: number): Buffer {
  const out = Buffer.allocUnsafeSlow(to - from);
  src.copy(out, 0, from, to);
  return out;
}

function formatSize(bytes: number): string {
  if (bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}

/** -1: mismatch; -2: matches as far as the data goes; otherwise the index after the literal. */
function matchLiteral(src: Buffer, at: number, end: number, literal: string, ignoreCase = false): number {
  for (let k = 0; k < literal.length; k++) {
    if (at + k >= end) return -2;
    let b = src[at + k]!;
    if (ignoreCase && b >= 0x41 && b <= 0x5a) b += 0x20;
    if (b !== literal.charCodeAt(k)) return -1;
  }
  return at + literal.length;
}

function isUpper(b: number): boolean {
  return b >= 0x41 && b <= 0x5a;
}

function isMethodChar(b: number): boolean {
  return isUpper(b) || (b >= 0x30 && b <= 0x39) || b === 0x5f || b === 0x2d;
}

const TOKEN_SYMBOLS = "!#$%&'*+-.^_`|~";

/** RFC 7230 tchar: what a server takes in a method name, since it answers any method (501 when unknown). */
function isTokenChar(b: number): boolean {
  return isMethodChar(b) || (b >= 0x61 && b <= 0x7a) || TOKEN_SYMBOLS.includes(String.fromCharCode(b));
}

/** Visible ASCII or UTF-8 bytes. */
function isUriChar(b: number): boolean {
  return (b > SP && b < 0x7f) || b >= 0x80;
}

type LineState = "yes" | "no" | "maybe";

/**
 * Whether src[at..end) starts with "METHOD SP (rtsp-url | *) SP RTSP/1.0 [CR] LF", or may once more bytes
 * come. A server takes any token as the method, any request-URI (some clients send a bare path) and any
 * "RTSP/digits.digits".
 */
function requestLineState(src: Buffer, at: number, end: number, server: boolean): LineState {
  let i = at;
  const isNameChar = server ? isTokenChar : isMethodChar;
  while (i < end && isNameChar(src[i]!)) {
    if (++i - at > MAX_METHOD_LENGTH && !server) return "no";
  }
  if (i === end) return "maybe";
  if (i === at || src[i] !== SP) return "no";
  i++;
  if (i === end) return "maybe";
  if (server) {
    const uriStart = i;
    while (i < end && isUriChar(src[i]!)) i++;
    if (i === uriStart) return "no";
  } else if (src[i] === STAR) {
    i++;
  } else {
    let next = matchLiteral(src, i, end, "rtsp://", true);
    if (next === -1) next = matchLiteral(src, i, end, "rtsps://", true);
    if (next < 0) return next === -2 ? "maybe" : "no";
    i = next;
    while (i < end && isUriChar(src[i]!)) i++;
  }
  if (i === end) return "maybe";
  if (src[i] !== SP) return "no";
  const afterVersion = server ? matchAnyVersion(src, i + 1, end) : matchLiteral(src, i + 1, end, "RTSP/1.0");
  if (afterVersion < 0) return afterVersion === -2 ? "maybe" : "no";
  i = afterVersion;
  if (i < end && src[i] === CR) i++;
  if (i === end) return "maybe";
  return src[i] === LF ? "yes" : "no";
}

function isDigit(b: number): boolean {
  return b >= 0x30 && b <= 0x39;
}

/** Past "RTSP/" digits "." digits: the index after them, -1 on a mismatch, -2 when the data ends first. */
function matchAnyVersion(src: Buffer, at: number, end: number): number {
  let i = matchLiteral(src, at, end, "RTSP/");
  if (i < 0) return i;
  i = skipDigits(src, i, end);
  if (i < 0) return i;
  if (src[i] !== 0x2e) return -1;
  return skipDigits(src, i + 1, end);
}

/** Past one or more digits, as matchAnyVersion answers; the data must go on after them. */
function skipDigits(src: Buffer, at: number, end: number): number {
  let i = at;
  while (i < end && isDigit(src[i]!)) i++;
  if (i === end) return -2;
  return i === at ? -1 : i;
}

/** Bytes where an RTSP item may start: "$" and the first letter of "RTSP/1.0", "HTTP/" or a method. */
function isItemStartCandidate(b: number): boolean {
  return b === DOLLAR || isUpper(b);
}

/**
 * The bytes received but not yet decoded: one buffer read from `start`, grown by doubling so that
 * appending stays amortised O(1) per byte however small the reads are.
 */
class PendingBytes {
  buf: Buffer = Buffer.alloc(0);
  start = 0;
  end = 0;

  get length(): number {
    return this.end - this.start;
  }

  append(chunk: Buffer): void {
    const live = this.end - this.start;
    if (this.buf.length - this.end < chunk.length) {
      if (live + chunk.length <= this.buf.length / 2) {
        this.buf.copy(this.buf, 0, this.start, this.end);
      } else {
        const grown = Buffer.allocUnsafe(Math.max(4096, 2 * (live + chunk.length)));
        this.buf.copy(grown, 0, this.start, this.end);
        this.buf = grown;
      }
      this.start = 0;
      this.end = live;
    }
    chunk.copy(this.buf, this.end);
    this.end += chunk.length;
  }

  consume(n: number): void {
    this.start += n;
    if (this.start === this.end) this.clear();
  }

  clear(): void {
    this.start = 0;
    this.end = 0;
  }
}

/** An item whose size is known and whose bytes are still arriving: they go straight into its own buffer. */
interface Fill {
  target: Buffer;
  filled: number;
  finish(data: Buffer): TcpItem;
}

type ItemKind = "response" | "request";

/**
 * Splits the byte stream of an RTSP connection into replies, requests and RFC 2326 §10.12 interleaved
 * frames. Reads may be split or merged anywhere. In the client role, bytes that start none of those are
 * skipped (and counted in garbageBytes) until something that does; the server role is stricter (see
 * TcpDecoderRole). Errors are RtspError: "too-large" for a header block or body over the limits,
 * "protocol" for a bad status line, a bad Content-Length or a peer that does not speak RTSP; after one
 * the decoder stays failed until reset(), since the stream can no longer be trusted.
 */
export class TcpDecoder {
  private readonly limits: TcpDecoderLimits;
  private readonly pending = new PendingBytes();
  private fill: Fill | undefined;
  /** What the item starting at the first pending byte is, once known. */
  private kind: ItemKind | undefined;
  /** How many bytes of that item's header block were searched for its end already. */
  private scanned = 0;
  private garbage = 0;
  private failure: RtspError | undefined;
  private readonly server: boolean;

  constructor(options: TcpDecoderOptions = {}) {
    this.limits = {
      maxHeaderBytes: options.maxHeaderBytes ?? DEFAULT_TCP_DECODER_LIMITS.maxHeaderBytes,
      maxBodyBytes: options.maxBodyBytes ?? DEFAULT_TCP_DECODER_LIMITS.maxBodyBytes,
    };
    this.server = options.role === "server";
  }

  /** Bytes skipped so far because they started no RTSP item (a sign of a confused server or a lost frame). */
  get garbageBytes(): number {
    return this.garbage;
  }

  /**
   * Bytes held for the item in progress: a header block still arriving, or the body or interleaved
   * frame being filled. Never more than max(maxHeaderBytes + the last read, maxBodyBytes, 65535);
   * whatever the peer sends, more is an error, not more memory.
   */
  get bufferedBytes(): number {
    return this.pending.length + (this.fill?.target.length ?? 0);
  }

  /** Memory held: bufferedBytes' bound, at most twice over for the header buffer's doubling. */
  get retainedBytes(): number {
    return this.pending.buf.length + (this.fill?.target.length ?? 0);
  }

  reset(): void {
    this.pending.clear();
    this.fill = undefined;
    this.kind = undefined;
    this.scanned = 0;
    this.garbage = 0;
    this.failure = undefined;
  }

  /** @throws RtspError, then again on every call until reset(); the items before it in the read are lost. */
  push(chunk: Buffer): TcpItem[] {
    const { items, error } = this.pushUntilError(chunk);
    if (error) throw error;
    return items;
  }

  /**
   * Like push, but the items the read completed before an error come back with it, for a server that
   * answers the requests before it and then the error. After an error, every call returns it until reset().
   */
  pushUntilError(chunk: Buffer): { items: TcpItem[]; error?: RtspError } {
    const items: TcpItem[] = [];
    if (this.failure !== undefined) return { items, error: this.failure };
    try {
      this.decode(chunk, items);
      return { items };
    } catch (err) {
      this.failure = err instanceof RtspError ? err : this.error(String(err), "protocol");
      return { items, error: this.failure };
    }
  }

  /** In the server role, with the status the server answers it with. */
  private error(message: string, code: RtspErrorCode, serverStatus = 400): RtspError {
    return new RtspError(message, code, this.server ? serverStatus : undefined);
  }

  private decode(chunk: Buffer, items: TcpItem[]): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.fill) {
        offset += this.continueFill(chunk, offset, items);
      } else if (this.pending.length === 0) {
        // Decode straight from the read; only an incomplete tail gets copied.
        offset = this.parse(chunk, offset, chunk.length, items);
        if (offset < chunk.length && !this.fill) {
          this.pending.append(chunk.subarray(offset));
          offset = chunk.length;
        }
      } else {
        this.pending.append(offset === 0 ? chunk : chunk.subarray(offset));
        offset = chunk.length;
        const p = this.pending;
        p.consume(this.parse(p.buf, p.start, p.end, items) - p.start);
      }
    }
  }

  private continueFill(chunk: Buffer, offset: number, items: TcpItem[]): number {
    const fill = this.fill!;
    const n = Math.min(fill.target.length - fill.filled, chunk.length - offset);
    chunk.copy(fill.target, fill.filled, offset, offset + n);
    fill.filled += n;
    if (fill.filled === fill.target.length) {
      this.fill = undefined;
      items.push(fill.finish(fill.target));
    }
    return n;
  }

  /** Starts an item of known size with the bytes at hand; the rest of src is consumed. */
  private startFill(size: number, src: Buffer, from: number, end: number, finish: Fill["finish"]): number {
    const target = Buffer.allocUnsafeSlow(size);
    src.copy(target, 0, from, end);
    this.fill = { target, filled: end - from, finish };
    return end;
  }

  /** Decodes whole items from src[s..e) into items; returns where the undecoded rest starts. */
  private parse(src: Buffer, s: number, e: number, items: TcpItem[]): number {
    while (s < e) {
      const b = src[s]!;
      if (b === DOLLAR) {
        if (e - s < 4) return s;
        const channel = src[s + 1]!;
        const length = src.readUInt16BE(s + 2);
        const dataStart = s + 4;
        if (e - dataStart < length) {
          return this.startFill(length, src, dataStart, e, (data) => ({
            type: "interleaved",
            channel,
            data,
          }));
        }
        items.push({ type: "interleaved", channel, data: copyOut(src, dataStart, dataStart + length) });
        s = dataStart + length;
        continue;
      }
      if (this.kind === undefined && (b === CR || b === LF)) {
        s++; // blank lines between messages are tolerated, not garbage
        continue;
      }
      const kind = this.kind ?? this.classify(src, s, e);
      if (kind === "need-more") return s;
      if (kind === "garbage") {
        if (this.server) this.throwNotRequest(src, s, e);
        let next = s + 1;
        while (next < e && !isItemStartCandidate(src[next]!)) next++;
        this.garbage += next - s;
        s = next;
        continue;
      }
      this.kind = kind;
      const next = this.parseMessage(kind, src, s, e, items);
      if (next === undefined) return s;
      this.kind = undefined;
      this.scanned = 0;
      s = next;
    }
    return s;
  }

  private classify(src: Buffer, s: number, e: number): ItemKind | "need-more" | "garbage" {
    const b = src[s]!;
    if (!(this.server ? isTokenChar(b) : isUpper(b))) return "garbage";
    const rtsp = b === 0x52 ? matchLiteral(src, s, e, "RTSP/1.0 ") : -1;
    if (rtsp >= 0) return this.server ? "garbage" : "response";
    if (rtsp === -2) return "need-more";
    const http = b === 0x48 && !this.server ? matchLiteral(src, s, e, "HTTP/") : -1;
    if (http >= 0) this.throwForeignServer(src, s, e);
    if (http !== -1) return "need-more";
    const line = requestLineState(src, s, e, this.server);
    if (line === "yes") return "request";
    if (line === "no") return "garbage";
    if (e - s > this.limits.maxHeaderBytes) {
      throw this.error(`RTSP request line over ${formatSize(this.limits.maxHeaderBytes)}`, "too-large");
    }
    return "need-more";
  }

  /** A client's bytes that start no request: what a server answers 400 and hangs up on. */
  private throwNotRequest(src: Buffer, s: number, e: number): never {
    const lineEnd = src.subarray(0, e).indexOf(LF, s);
    const line = src.toString("latin1", s, lineEnd === -1 ? e : lineEnd).trim();
    throw this.error(`not an RTSP request (got ${quoted(line)})`, "protocol");
  }

  /** Throws once the first line of the foreign reply is there (or long enough to quote). */
  private throwForeignServer(src: Buffer, s: number, e: number): void {
    const lineEnd = src.subarray(0, e).indexOf(LF, s);
    if (lineEnd === -1 && e - s < MAX_FOREIGN_LINE) return;
    const end = Math.min(lineEnd === -1 ? e : lineEnd, s + MAX_FOREIGN_LINE);
    const line = src
      .toString("latin1", s, end)
      .replace(/[^\x20-\x7e]/g, "")
      .trim();
    throw new RtspError(`not an RTSP server (got ${line})`, "protocol");
  }

  /** Returns where the message ends, or undefined when its header block or body is not all there yet. */
  private parseMessage(
    kind: ItemKind,
    src: Buffer,
    s: number,
    e: number,
    items: TcpItem[],
  ): number | undefined {
    const headerEnd = this.findHeaderEnd(src, s, e);
    if (headerEnd === undefined || headerEnd - s > this.limits.maxHeaderBytes) {
      if (headerEnd === undefined && e - s <= this.limits.maxHeaderBytes) return undefined;
      const what = kind === "response" ? "reply" : "request";
      throw this.error(`RTSP ${what} header over ${formatSize(this.limits.maxHeaderBytes)}`, "too-large");
    }
    const { startLine, headers, badLine } = parseHead(src.toString("utf8", s, headerEnd));
    if (badLine !== undefined && this.server)
      throw this.error(`bad header line "${quoted(badLine)}"`, "protocol");
    const bodyLength = this.contentLength(headers);
    const finish = messageFinisher(kind, startLine, headers);
    if (e - headerEnd < bodyLength) return this.startFill(bodyLength, src, headerEnd, e, finish);
    items.push(finish(copyOut(src, headerEnd, headerEnd + bodyLength)));
    return headerEnd + bodyLength;
  }

  /** The index after the blank line (CRLF CRLF, or bare LFs from sloppy servers), resuming the search where the last one stopped. */
  private findHeaderEnd(src: Buffer, s: number, e: number): number | undefined {
    const data = src.subarray(0, e); // a pending buffer holds stale bytes past e
    let from = s + this.scanned;
    for (;;) {
      const lf = data.indexOf(LF, from);
      if (lf === -1) {
        this.scanned = e - s;
        return undefined;
      }
      let i = lf + 1;
      if (i < e && src[i] === CR) i++;
      if (i >= e) {
        this.scanned = lf - s; // the blank line may still come: look at this LF again
        return undefined;
      }
      if (src[i] === LF) return i + 1;
      from = lf + 1;
    }
  }

  private contentLength(headers: RtspHeaders): number {
    const value = headers.get("Content-Length")?.trim();
    if (value === undefined) return 0;
    if (!/^\d{1,15}$/.test(value)) throw this.error(`bad Content-Length "${quoted(value)}"`, "protocol");
    const length = Number(value);
    if (length > this.limits.maxBodyBytes) {
      throw this.error(
        `RTSP body of ${length} bytes is over the ${formatSize(this.limits.maxBodyBytes)} limit`,
        "too-large",
        413,
      );
    }
    return length;
  }
}

/** Parses the start line now (so a bad one fails at once) and builds the item when the body is complete. */
function messageFinisher(kind: ItemKind, startLine: string, headers: RtspHeaders): Fill["finish"] {
  if (kind === "response") {
    const { statusCode, statusText } = parseStatusLine(startLine);
    return (body) => ({ type: "response", response: { statusCode, statusText, headers, body } });
  }
  const { method, url, version } = parseRequestLine(startLine);
  return (body) => ({ type: "request", request: { method, url, headers, body }, version });
}

/**
 * Start line and header fields; folded continuation lines join the field above, lines without ":" are
 * dropped (the first of them is named in badLine).
 */
function parseHead(text: string): { startLine: string; headers: RtspHeaders; badLine?: string } {
  const lines = text.split(/\r?\n/);
  const startLine = lines[0]!.trim();
  const fields: Array<[string, string]> = [];
  let badLine: string | undefined;
  for (const line of lines.slice(1)) {
    if (line.trim() === "") continue;
    const last = fields[fields.length - 1];
    if ((line.startsWith(" ") || line.startsWith("\t")) && last) {
      last[1] = `${last[1]} ${line.trim()}`.trim();
      continue;
    }
    const colon = line.indexOf(":");
    if (colon <= 0) {
      badLine ??= line;
      continue;
    }
    fields.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
  }
  return badLine === undefined
    ? { startLine, headers: new RtspHeaders(fields) }
    : { startLine, headers: new RtspHeaders(fields), badLine };
}

function parseStatusLine(line: string): { statusCode: number; statusText: string } {
  const m = /^RTSP\/1\.0 +(\d{3})(?: +(.*))?$/.exec(line);
  if (!m) throw new RtspError(`bad RTSP status line "${quoted(line)}"`, "protocol");
  // Only ever shown to people: kept printable and short, whatever the peer sent.
  return { statusCode: Number(m[1]), statusText: quoted((m[2] ?? "").trim()) };
}

/** The classifier already checked the shape; this only takes the parts out. */
function parseRequestLine(line: string): { method: string; url: string; version: string } {
  const [method = "", url = "", version = ""] = line.split(" ");
  return { method, url, version };
}
