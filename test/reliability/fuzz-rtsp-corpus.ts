import type { SeededRandom } from "../helpers/seeded-random";

// What an RTSP camera sends to a client (replies, its own requests, interleaved RTP and RTCP), byte
// by byte and independent of src/, and the mutations the fuzz applies to it.

export type PartKind = "reply" | "request" | "interleaved" | "garbage";

/** One item of a camera's output; mutations work on items (boundaries known) and then on bytes. */
export interface Part {
  readonly kind: PartKind;
  bytes: Buffer;
}

export const CAMERA_PATH = "/cam";

/** SPS/PPS of a 1280x720 Constrained Baseline stream (gst-rtsp-server's, see test/fixtures/sdp/gstreamer.sdp). */
const SPS = Buffer.from("Z0LAH9oBQBbsBagICAoAAAMAAgAAAwBlHjBlQA==", "base64");
const PPS = Buffer.from("aM48gA==", "base64");

export function cameraSdp(): string {
  return `${[
    "v=0",
    "o=- 1 1 IN IP4 127.0.0.1",
    "s=fuzz camera",
    "t=0 0",
    "a=control:*",
    "m=video 0 RTP/AVP 96",
    "c=IN IP4 0.0.0.0",
    "a=rtpmap:96 H264/90000",
    "a=fmtp:96 packetization-mode=1;profile-level-id=42c01f;sprop-parameter-sets=Z0LAH9oBQBbsBagICAoAAAMAAgAAAwBlHjBlQA==,aM48gA==",
    "a=control:trackID=0",
  ].join("\r\n")}\r\n`;
}

/** "RTSP/1.0 <status>", CSeq, the headers, Content-Length when there is a body. */
export function reply(status: string, cseq: string, headers: [string, string][], body = ""): Buffer {
  let head = `RTSP/1.0 ${status}\r\nCSeq: ${cseq}\r\n`;
  for (const [name, value] of headers) head += `${name}: ${value}\r\n`;
  const bodyBytes = Buffer.from(body, "utf8");
  if (bodyBytes.length > 0) head += `Content-Length: ${bodyBytes.length}\r\n`;
  return Buffer.concat([Buffer.from(`${head}\r\n`, "latin1"), bodyBytes]);
}

/** The camera's answer to each request of a TCP session, as the fuzz's scripted camera sends it. */
export function answerTo(method: string, cseq: string, base: string): Buffer {
  switch (method) {
    case "OPTIONS":
      return reply("200 OK", cseq, [["Public", "OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER"]]);
    case "DESCRIBE":
      return reply(
        "200 OK",
        cseq,
        [
          ["Content-Base", `${base}/`],
          ["Content-Type", "application/sdp"],
        ],
        cameraSdp(),
      );
    case "SETUP":
      return reply("200 OK", cseq, [
        ["Transport", 'RTP/AVP/TCP;unicast;interleaved=0-1;ssrc=1A2B3C4D;mode="PLAY"'],
        ["Session", "12345678;timeout=60"],
      ]);
    case "PLAY":
      return reply("200 OK", cseq, [
        ["Session", "12345678"],
        ["Range", "npt=0.000-"],
        ["RTP-Info", `url=${base}/trackID=0;seq=100;rtptime=9000`],
      ]);
    default:
      return reply("200 OK", cseq, [["Session", "12345678"]]);
  }
}

function interleaved(channel: number, data: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header[0] = 0x24;
  header[1] = channel;
  header.writeUInt16BE(data.length, 2);
  return Buffer.concat([header, data]);
}

function rtp(seq: number, ts: number, ssrc: number, marker: boolean, payload: Buffer): Buffer {
  const header = Buffer.alloc(12);
  header[0] = 0x80;
  header[1] = (marker ? 0x80 : 0) | 96;
  header.writeUInt16BE(seq & 0xffff, 2);
  header.writeUInt32BE(ts >>> 0, 4);
  header.writeUInt32BE(ssrc >>> 0, 8);
  return Buffer.concat([header, payload]);
}

function filler(length: number, start: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = (start + i * 7) & 0xff;
  return out;
}

/**
 * An H.264 camera's video as interleaved frames on channel 0 (RTCP sender reports on channel 1):
 * a keyframe every 10 frames (STAP-A with SPS and PPS, then an IDR in three FU-A fragments), single
 * NAL P frames between. Each frame() returns one frame's packets, each already framed with "$".
 */
export class VideoFeed {
  private seq: number;
  private ts: number;
  private frames = 0;

  constructor(
    private readonly ssrc = 0x1a2b3c4d,
    seq = 100,
    ts = 9000,
  ) {
    this.seq = seq;
    this.ts = ts;
  }

  frame(): Buffer[] {
    const keyframe = this.frames % 10 === 0;
    this.frames++;
    const packets: Buffer[] = [];
    const push = (marker: boolean, payload: Buffer) => {
      packets.push(interleaved(0, rtp(this.seq++, this.ts, this.ssrc, marker, payload)));
    };
    if (keyframe) {
      const stap = Buffer.concat([
        Buffer.from([0x18, SPS.length >> 8, SPS.length & 0xff]),
        SPS,
        Buffer.from([PPS.length >> 8, PPS.length & 0xff]),
        PPS,
      ]);
      push(false, stap);
      const idr = filler(2400, this.frames);
      for (let i = 0; i < 3; i++) {
        const fuHeader = (i === 0 ? 0x80 : 0) | (i === 2 ? 0x40 : 0) | 5;
        push(i === 2, Buffer.concat([Buffer.from([0x7c, fuHeader]), idr.subarray(i * 800, (i + 1) * 800)]));
      }
      packets.push(interleaved(1, this.senderReport()));
    } else {
      push(true, Buffer.concat([Buffer.from([0x41]), filler(900, this.frames)]));
    }
    this.ts = (this.ts + 3000) >>> 0;
    return packets;
  }

  private senderReport(): Buffer {
    const sr = Buffer.alloc(28);
    sr.writeUInt32BE(0x80c80006, 0);
    sr.writeUInt32BE(this.ssrc, 4);
    sr.writeUInt32BE(0xe8000000, 8);
    sr.writeUInt32BE(0, 12);
    sr.writeUInt32BE(this.ts, 16);
    sr.writeUInt32BE(this.frames, 20);
    sr.writeUInt32BE(this.frames * 1000, 24);
    return sr;
  }
}

/** A whole TCP session as the client reads it: replies, a server request, interleaved media. */
export function sessionTranscript(rng: SeededRandom): Part[] {
  const base = `rtsp://127.0.0.1:8554${CAMERA_PATH}`;
  const parts: Part[] = [
    { kind: "reply", bytes: answerTo("OPTIONS", "1", base) },
    rng.chance(0.3)
      ? {
          kind: "reply",
          bytes: reply("401 Unauthorized", "2", [
            ["WWW-Authenticate", 'Digest realm="cam", nonce="0a1b2c", algorithm=MD5, qop="auth"'],
            ["WWW-Authenticate", 'Basic realm="cam"'],
          ]),
        }
      : { kind: "reply", bytes: answerTo("DESCRIBE", "2", base) },
    { kind: "reply", bytes: answerTo("SETUP", "3", base) },
    { kind: "reply", bytes: answerTo("PLAY", "4", base) },
  ];
  const feed = new VideoFeed(rng.int(0x100000000), rng.int(0x10000), rng.int(0x100000000));
  const frames = rng.range(2, 12);
  for (let f = 0; f < frames; f++) {
    for (const bytes of feed.frame()) parts.push({ kind: "interleaved", bytes });
    if (rng.chance(0.1)) {
      const request = `GET_PARAMETER ${base} RTSP/1.0\r\nCSeq: ${f + 1}\r\nSession: 12345678\r\n\r\n`;
      parts.push({ kind: "request", bytes: Buffer.from(request, "latin1") });
    }
  }
  return parts;
}

// Mutations. Each edits the parts in place; the names are what the counts are reported by.

function pickPart(parts: Part[], rng: SeededRandom, kind?: PartKind): Part | undefined {
  const candidates = kind === undefined ? parts : parts.filter((p) => p.kind === kind);
  return candidates.length === 0 ? undefined : rng.pick(candidates);
}

/** Where a message's header block ends (before the blank line), or its length when it has none. */
function headerEnd(bytes: Buffer): number {
  const at = bytes.indexOf("\r\n\r\n");
  return at === -1 ? bytes.length : at;
}

function replaceHeaderValue(part: Part, name: string, value: string): boolean {
  const text = part.bytes.toString("latin1");
  const re = new RegExp(`(^|\\r\\n)(${name}):[^\\r\\n]*`, "i");
  if (!re.test(text.slice(0, headerEnd(part.bytes)))) return false;
  part.bytes = Buffer.from(text.replace(re, `$1$2: ${value}`), "latin1");
  return true;
}

function insertHeaderLines(part: Part, lines: string): void {
  const at = headerEnd(part.bytes);
  part.bytes = Buffer.concat([
    part.bytes.subarray(0, at),
    Buffer.from(`\r\n${lines}`, "latin1"),
    part.bytes.subarray(at),
  ]);
}

function printable(rng: SeededRandom, length: number): string {
  let s = "";
  for (let i = 0; i < length; i++) s += String.fromCharCode(rng.range(0x20, 0x7e));
  return s;
}

export interface Mutation {
  readonly name: string;
  /** On the parts; false when the transcript had nothing it applies to. */
  apply(parts: Part[], rng: SeededRandom): boolean;
}

export const PART_MUTATIONS: readonly Mutation[] = [
  {
    name: "truncated",
    apply(parts, rng) {
      const index = rng.int(parts.length);
      const part = parts[index]!;
      part.bytes = part.bytes.subarray(0, rng.int(part.bytes.length));
      if (rng.chance(0.5)) parts.length = index + 1; // the connection ends there
      return true;
    },
  },
  {
    name: "oversized-header",
    apply(parts, rng) {
      const part = pickPart(parts, rng, "reply") ?? pickPart(parts, rng, "request");
      if (!part) return false;
      if (rng.chance(0.5)) {
        insertHeaderLines(part, `X-Filler: ${"a".repeat(rng.range(60_000, 70_000))}`);
      } else {
        const lines = Array.from({ length: rng.range(1500, 2200) }, (_, i) => `X-H${i}: ${"b".repeat(24)}`);
        insertHeaderLines(part, lines.join("\r\n"));
      }
      return true;
    },
  },
  {
    name: "wrong-cseq",
    apply(parts, rng) {
      const part = pickPart(parts, rng, "reply");
      if (!part) return false;
      const value = rng.pick([
        "",
        "x",
        "-1",
        "0",
        "99999999999999999999",
        "4294967296",
        String(rng.int(1000)),
      ]);
      if (rng.chance(0.2)) {
        part.bytes = Buffer.from(part.bytes.toString("latin1").replace(/CSeq: [^\r\n]*\r\n/, ""), "latin1");
        return true;
      }
      return replaceHeaderValue(part, "CSeq", value);
    },
  },
  {
    name: "bogus-content-length",
    apply(parts, rng) {
      const part = pickPart(parts, rng, "reply");
      if (!part) return false;
      const body = part.bytes.length - headerEnd(part.bytes) - 4;
      const value = rng.pick([
        "-5",
        "abc",
        "1e3",
        "0x20",
        "12 34",
        "",
        "99999999999",
        "9999999999999999999999",
        String(1024 * 1024 + 1),
        String(body + rng.range(1, 5000)),
        String(Math.max(0, body - rng.range(1, 50))),
      ]);
      if (!replaceHeaderValue(part, "Content-Length", value))
        insertHeaderLines(part, `Content-Length: ${value}`);
      return true;
    },
  },
  {
    name: "garbage-between-frames",
    apply(parts, rng) {
      const at = rng.int(parts.length + 1);
      const kinds = [
        () => rng.bytes(rng.range(1, 600)),
        () => Buffer.from(`RTSP/1.0 ${printable(rng, rng.range(0, 40))}`, "latin1"),
        () => Buffer.concat([Buffer.from([0x24, rng.int(256)]), rng.bytes(rng.range(0, 40))]),
        () => Buffer.from(`${printable(rng, rng.range(1, 80))}\r\n`, "latin1"),
      ];
      parts.splice(at, 0, { kind: "garbage", bytes: rng.pick(kinds)() });
      return true;
    },
  },
  {
    name: "huge-interleaved-length",
    apply(parts, rng) {
      const part = pickPart(parts, rng, "interleaved");
      // An earlier mutation may have cut the frame short of its length field.
      if (!part || part.bytes.length < 4) return false;
      const bytes = Buffer.from(part.bytes);
      bytes.writeUInt16BE(
        rng.pick([0xffff, 0x8000 + rng.int(0x8000), Math.min(0xffff, bytes.length + rng.int(2000))]),
        2,
      );
      part.bytes = bytes;
      return true;
    },
  },
  {
    name: "bad-status-line",
    apply(parts, rng) {
      const part = pickPart(parts, rng, "reply");
      if (!part) return false;
      const line = rng.pick([
        "RTSP/1.0 2000 OK",
        "RTSP/1.0 OK",
        "RTSP/2.0 200 OK",
        "RTSP/1.0 -1 nope",
        "RTSP/1.0 200",
        "RTSP/1.0  200 OK",
        "RTSP/1.0 999 Whatever",
        "HTTP/1.1 200 OK",
        printable(rng, rng.range(1, 120)),
      ]);
      const text = part.bytes.toString("latin1");
      part.bytes = Buffer.from(line + text.slice(text.indexOf("\r\n")), "latin1");
      return true;
    },
  },
  {
    name: "line-endings",
    apply(parts, rng) {
      const part = pickPart(parts, rng, "reply");
      if (!part) return false;
      const end = headerEnd(part.bytes);
      const head = part.bytes.subarray(0, end + 4).toString("latin1");
      const eol = rng.pick(["\n", "\r", "\r\r\n", "\n\r"]);
      part.bytes = Buffer.concat([
        Buffer.from(head.replace(/\r\n/g, eol), "latin1"),
        part.bytes.subarray(end + 4),
      ]);
      return true;
    },
  },
  {
    name: "header-noise",
    apply(parts, rng) {
      const part = pickPart(parts, rng, "reply");
      if (!part) return false;
      const noise = rng.pick([
        "no colon here",
        ": empty name",
        " folded continuation",
        "X-Nul: a\u0000b",
        "X-High: \u00ff\u00fe\u00c3(",
        "Session: ",
        "Session: ;timeout=abc",
        "Transport: RTP/AVP/TCP;interleaved=999-1000;ssrc=zzzz",
        "RTP-Info: url=;seq=99999999;rtptime=-1",
        'WWW-Authenticate: Digest realm="x", nonce=, algorithm=SHA-999',
        "WWW-Authenticate: Digest",
        "Public: ,,,",
      ]);
      insertHeaderLines(part, noise);
      return true;
    },
  },
];

export const BYTE_MUTATIONS: readonly {
  readonly name: string;
  apply(bytes: Buffer, rng: SeededRandom): Buffer;
}[] = [
  {
    name: "bit-flips",
    apply(bytes, rng) {
      const out = Buffer.from(bytes);
      if (out.length === 0) return out;
      for (let n = rng.range(1, 16); n > 0; n--) out[rng.int(out.length)]! ^= 1 << rng.int(8);
      return out;
    },
  },
  {
    name: "byte-insertions",
    apply(bytes, rng) {
      let out = bytes;
      for (let n = rng.range(1, 8); n > 0; n--) {
        const at = rng.int(out.length + 1);
        out = Buffer.concat([out.subarray(0, at), rng.bytes(rng.range(1, 32)), out.subarray(at)]);
      }
      return out;
    },
  },
  {
    name: "byte-deletions",
    apply(bytes, rng) {
      let out = bytes;
      for (let n = rng.range(1, 8); n > 0 && out.length > 0; n--) {
        const at = rng.int(out.length);
        out = Buffer.concat([out.subarray(0, at), out.subarray(at + rng.range(1, 32))]);
      }
      return out;
    },
  },
  {
    name: "duplicated-slice",
    apply(bytes, rng) {
      if (bytes.length === 0) return bytes;
      const from = rng.int(bytes.length);
      const slice = bytes.subarray(from, from + rng.range(1, 2000));
      const at = rng.int(bytes.length + 1);
      return Buffer.concat([bytes.subarray(0, at), slice, bytes.subarray(at)]);
    },
  },
];

/** Applies 1–3 mutations (item-level ones first, then byte-level); returns the bytes and their names. */
export function mutate(parts: Part[], rng: SeededRandom): { bytes: Buffer; names: string[] } {
  const names: string[] = [];
  const count = rng.range(1, 3);
  const byteLevel: (typeof BYTE_MUTATIONS)[number][] = [];
  for (let i = 0; i < count; i++) {
    // Item-level mutations are the named classes: weigh them 2:1 over random byte damage.
    if (rng.chance(2 / 3)) {
      const mutation = rng.pick(PART_MUTATIONS);
      if (mutation.apply(parts, rng)) names.push(mutation.name);
    } else {
      byteLevel.push(rng.pick(BYTE_MUTATIONS));
    }
  }
  let bytes: Buffer = Buffer.concat(parts.map((p) => p.bytes));
  for (const mutation of byteLevel) {
    bytes = mutation.apply(bytes, rng);
    names.push(mutation.name);
  }
  return { bytes, names: names.length > 0 ? names : ["none"] };
}

/** Reads of random sizes, as a socket delivers them: single bytes, small, large, or all at once. */
export function chunked(bytes: Buffer, rng: SeededRandom): Buffer[] {
  const mode = rng.int(4);
  if (mode === 0) return [bytes];
  const max = mode === 1 && bytes.length < 8192 ? 1 : mode === 2 ? 64 : 4096;
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; ) {
    const n = rng.range(1, max);
    chunks.push(bytes.subarray(at, at + n));
    at += n;
  }
  return chunks;
}
