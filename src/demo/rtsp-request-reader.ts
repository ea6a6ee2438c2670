/**
 * Server side of the RTSP 1.0 wire (RFC 2326): cuts the client's byte stream into requests and the
 * interleaved `$` frames (RTCP receiver reports) a TCP client sends between them.
 */

export interface RtspRequest {
  readonly method: string;
  readonly uri: string;
  /** Header names lower-cased; repeated headers joined with ", ". */
  readonly headers: ReadonlyMap<string, string>;
  readonly cseq: string;
  readonly body: Buffer;
}

export type ClientInput =
  | { readonly kind: "request"; readonly request: RtspRequest }
  | { readonly kind: "interleaved"; readonly channel: number; readonly data: Buffer }
  /** A whole request that cannot be served: answer `status`; the stream goes on. */
  | { readonly kind: "invalid"; readonly status: 400 | 505; readonly reason: string; readonly cseq?: string }
  /** The stream cannot be framed any further: answer `status` and close the connection. */
  | { readonly kind: "error"; readonly status: 400 | 413; readonly reason: string; readonly cseq?: string };

export const MAX_HEADER_BYTES = 16 * 1024;
export const MAX_BODY_BYTES = 64 * 1024;

const REQUEST_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) +(\S+) +(RTSP\/\d+\.\d+) *$/;
const HEADER_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+)[ \t]*:[ \t]*(.*?)[ \t]*$/;

/** Index just past the blank line that ends the header block (CRLF or bare LF), or -1. */
function headerEnd(data: Buffer): number {
  let at = data.indexOf(0x0a);
  while (at >= 0 && at + 1 < data.length) {
    if (data[at + 1] === 0x0a) return at + 2;
    if (data[at + 1] === 0x0d && data[at + 2] === 0x0a) return at + 3;
    at = data.indexOf(0x0a, at + 1);
  }
  return -1;
}

interface ParsedHead {
  readonly method: string;
  readonly uri: string;
  readonly version: string;
  readonly headers: Map<string, string>;
}

function parseHead(text: string): ParsedHead | undefined {
  const lines = text.split(/\r?\n/);
  while (lines.length > 0 && lines[0] === "") lines.shift();
  const match = REQUEST_LINE.exec(lines[0] ?? "");
  if (!match) return undefined;
  const headers = new Map<string, string>();
  let lastName: string | undefined;
  for (const line of lines.slice(1)) {
    if (line === "") continue;
    if ((line.startsWith(" ") || line.startsWith("\t")) && lastName !== undefined) {
      // Obsolete line folding: the line continues the previous header's value.
      headers.set(lastName, `${headers.get(lastName) ?? ""} ${line.trim()}`);
      continue;
    }
    const header = HEADER_LINE.exec(line);
    if (!header) return undefined;
    const name = header[1]!.toLowerCase();
    const value = header[2]!;
    const previous = headers.get(name);
    headers.set(name, previous === undefined ? value : `${previous}, ${value}`);
    lastName = name;
  }
  return { method: match[1]!, uri: match[2]!, version: match[3]!, headers };
}

export class RtspRequestReader {
  private pending: Buffer = Buffer.alloc(0);
  private failed = false;

  /** Feeds bytes from the socket; returns what they completed, in order. Never throws. */
  push(chunk: Buffer): ClientInput[] {
    if (this.failed) return [];
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const inputs: ClientInput[] = [];
    for (;;) {
      const input = this.next();
      if (input === undefined) break;
      inputs.push(input);
      if (input.kind === "error") {
        this.failed = true;
        this.pending = Buffer.alloc(0);
        break;
      }
    }
    return inputs;
  }

  private next(): ClientInput | undefined {
    if (this.pending.length === 0) return undefined;
    if (this.pending[0] === 0x24) return this.nextInterleaved();
    return this.nextRequest();
  }

  /** A whole frame (at most 64 KiB, so waiting for all of it is bounded), copied out of the stream. */
  private nextInterleaved(): ClientInput | undefined {
    if (this.pending.length < 4) return undefined;
    const end = 4 + this.pending.readUInt16BE(2);
    if (this.pending.length < end) return undefined;
    const channel = this.pending[1]!;
    const data = Buffer.from(this.pending.subarray(4, end));
    this.pending = this.pending.subarray(end);
    return { kind: "interleaved", channel, data };
  }

  private nextRequest(): ClientInput | undefined {
    const end = headerEnd(this.pending);
    if (end < 0) {
      if (this.pending.length > MAX_HEADER_BYTES)
        return { kind: "error", status: 400, reason: "header too long" };
      return undefined;
    }
    if (end > MAX_HEADER_BYTES) return { kind: "error", status: 400, reason: "header too long" };
    const head = parseHead(this.pending.subarray(0, end).toString("latin1"));
    if (!head) return { kind: "error", status: 400, reason: "malformed request" };
    const cseq = head.headers.get("cseq");
    const validCseq = cseq !== undefined && /^\d{1,10}$/.test(cseq) ? cseq : undefined;
    const lengthHeader = head.headers.get("content-length") ?? "0";
    if (!/^\d{1,9}$/.test(lengthHeader)) {
      return { kind: "error", status: 400, reason: "bad Content-Length", cseq: validCseq };
    }
    const length = Number(lengthHeader);
    if (length > MAX_BODY_BYTES)
      return { kind: "error", status: 413, reason: "body too large", cseq: validCseq };
    if (this.pending.length < end + length) return undefined;
    const body = Buffer.from(this.pending.subarray(end, end + length));
    this.pending = this.pending.subarray(end + length);
    if (validCseq === undefined) return { kind: "invalid", status: 400, reason: "missing or bad CSeq" };
    if (head.version !== "RTSP/1.0") {
      return { kind: "invalid", status: 505, reason: `unsupported version ${head.version}`, cseq: validCseq };
    }
    const request: RtspRequest = {
      method: head.method,
      uri: head.uri,
      headers: head.headers,
      cseq: validCseq,
      body,
    };
    return { kind: "request", request };
  }
}
