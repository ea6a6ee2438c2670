import net from "node:net";
import { AccessUnitAssembler } from "../../src/rtp/access-unit";
import { dropMalformedPackets } from "../../src/rtp/packet-check";
import { Authenticator, parseWwwAuthenticate, pickChallenge } from "../../src/rtsp/auth";
import { describeSession, SdpError } from "../../src/rtsp/description";
import { RtspError } from "../../src/rtsp/errors";
import { parsePublic, parseRtpInfo, parseSessionHeader, parseTransportHeader } from "../../src/rtsp/headers";
import type { RtspResponse } from "../../src/rtsp/message";
import { RtpReceiverStats } from "../../src/rtsp/rtcp-receiver";
import { RtspSource, type StateEvent } from "../../src/rtsp/source";
import { DEFAULT_TCP_DECODER_LIMITS, TcpDecoder, type TcpItem } from "../../src/rtsp/tcp-decoder";
import { resolveControl } from "../../src/rtsp/url";
import { SeededRandom } from "../helpers/seeded-random";
import {
  answerTo,
  CAMERA_PATH,
  chunked,
  mutate,
  type Part,
  sessionTranscript,
  VideoFeed,
} from "./fuzz-rtsp-corpus";

// Mutated camera output into the RTSP client, two ways: straight into the TCP decoder and the
// parsers the session runs on each reply (fast, in-process: thousands of cases), and through a real
// socket from a scripted camera into a real RtspSource (a few hundred), which must report a clear
// error and reconnect. A failure names its seed and case index; FUZZ_SEED (and FUZZ_CASE) replay it.

/** Every decoded item must leave the decoder's buffer under this for the reads the fuzz makes (≤ 4 KiB). */
export const MAX_READ = 4096;
const LIMITS = DEFAULT_TCP_DECODER_LIMITS;
/** The decoder's own documented bound (see TcpDecoder.bufferedBytes). */
export const BUFFER_BOUND = Math.max(LIMITS.maxHeaderBytes + MAX_READ, LIMITS.maxBodyBytes, 0xffff);
/** Its memory, header buffer doubling included. */
export const RETAINED_BOUND = 2 * (LIMITS.maxHeaderBytes + MAX_READ) + Math.max(LIMITS.maxBodyBytes, 0xffff);

export class FuzzFailure extends Error {
  constructor(
    readonly seed: number,
    readonly index: number,
    readonly mutation: string,
    detail: string,
  ) {
    super(
      `seed ${seed} case ${index} (${mutation}): ${detail} — replay with FUZZ_SEED=${seed} FUZZ_CASE=${index}`,
    );
    this.name = "FuzzFailure";
  }
}

function bump(counts: Record<string, number>, key: string, by = 1): void {
  counts[key] = (counts[key] ?? 0) + by;
}

/** An error a person can act on: a sentence, not "undefined" or "[object Object]", not a dump. */
export function unclearReason(message: string | undefined): string | undefined {
  if (message === undefined || message.trim() === "") return "no reason given";
  if (message.length > 400) return `a ${message.length}-character reason`;
  if (/undefined|\[object |NaN/.test(message)) return `an unclear reason: ${message}`;
  if ([...message].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f))
    return `control characters in the reason: ${JSON.stringify(message)}`;
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// In-process: decoder and reply parsers

export interface DecoderFuzzCounts {
  seed: number;
  cases: number;
  /** parsed: every byte decoded; incomplete: no error, an item still waiting for bytes (a reply timeout in the client); decoder-error:<code>: the decoder refused the stream. */
  outcomes: Record<string, number>;
  byMutation: Record<string, number>;
  /** Replies the session's parsers refused (bad Session header, SDP...), by error type. */
  rejectedReplies: Record<string, number>;
  items: { responses: number; requests: number; interleaved: number; accessUnits: number };
  garbageBytes: number;
  maxBufferedBytes: number;
  maxRetainedBytes: number;
}

/** What the session does with a reply, minus the network: may refuse it, with RtspError or SdpError only. */
function interpretResponse(response: RtspResponse, base: string): void {
  void response.statusCode;
  void Number(response.headers.get("CSeq"));
  const session = response.headers.get("Session");
  if (session !== undefined) parseSessionHeader(session);
  const transport = response.headers.get("Transport");
  if (transport !== undefined) parseTransportHeader(transport);
  const rtpInfo = response.headers.get("RTP-Info");
  if (rtpInfo !== undefined) parseRtpInfo(rtpInfo);
  parsePublic(response.headers.get("Public"));
  const challenge = pickChallenge(parseWwwAuthenticate(response.headers.getAll("WWW-Authenticate")));
  if (challenge) new Authenticator("user", "pass", challenge).authorization("DESCRIBE", base);
  if (response.body.length > 0) {
    const contentBase = response.headers.get("Content-Base") ?? base;
    describeSession(response.body.toString("utf8"), contentBase, resolveControl);
  }
}

interface MediaSink {
  readonly assembler: AccessUnitAssembler;
  readonly stats: RtpReceiverStats;
}

function interpretItem(item: TcpItem, sink: MediaSink, counts: DecoderFuzzCounts, base: string): void {
  if (item.type === "response") {
    counts.items.responses++;
    try {
      interpretResponse(item.response, base);
    } catch (error) {
      if (!(error instanceof RtspError || error instanceof SdpError)) throw error;
      bump(counts.rejectedReplies, error instanceof RtspError ? `RtspError:${error.code}` : "SdpError");
      const unclear = unclearReason(error.message);
      if (unclear) throw new Error(`reply refused with ${unclear}`);
    }
    return;
  }
  if (item.type === "request") {
    counts.items.requests++;
    return;
  }
  counts.items.interleaved++;
  const now = Date.now();
  if (item.channel === 1) {
    sink.stats.onRtcp(item.data, now);
    return;
  }
  // As RtspSession.onRtp does: only RTP version 2 of at least a header reaches the receiver stats.
  if (item.data.length >= 12 && item.data[0]! >> 6 === 2) sink.stats.onRtp(item.data, now);
  for (const unit of sink.assembler.push(item.data)) {
    counts.items.accessUnits++;
    dropMalformedPackets(unit.packets, "H264");
  }
}

function emptyDecoderCounts(seed: number): DecoderFuzzCounts {
  return {
    seed,
    cases: 0,
    outcomes: {},
    byMutation: {},
    rejectedReplies: {},
    items: { responses: 0, requests: 0, interleaved: 0, accessUnits: 0 },
    garbageBytes: 0,
    maxBufferedBytes: 0,
    maxRetainedBytes: 0,
  };
}

/** One case: a mutated session transcript pushed in random reads. @throws FuzzFailure */
export function runDecoderCase(seed: number, index: number, counts: DecoderFuzzCounts): void {
  const rng = new SeededRandom(seed).fork(index);
  const parts: Part[] = sessionTranscript(rng);
  const { bytes, names } = mutate(parts, rng);
  const mutation = names.join("+");
  const fail = (detail: string) => new FuzzFailure(seed, index, mutation, detail);
  for (const name of names) bump(counts.byMutation, name);
  counts.cases++;

  const decoder = new TcpDecoder();
  const sink: MediaSink = {
    assembler: new AccessUnitAssembler({ kind: "video", mid: "0", codec: "H264" }),
    stats: new RtpReceiverStats(90000),
  };
  const base = `rtsp://127.0.0.1:8554${CAMERA_PATH}`;
  let outcome = "parsed";
  const checkBounds = () => {
    counts.maxBufferedBytes = Math.max(counts.maxBufferedBytes, decoder.bufferedBytes);
    counts.maxRetainedBytes = Math.max(counts.maxRetainedBytes, decoder.retainedBytes);
    if (decoder.bufferedBytes > BUFFER_BOUND)
      throw fail(`${decoder.bufferedBytes} bytes buffered, over the ${BUFFER_BOUND} bound`);
    if (decoder.retainedBytes > RETAINED_BOUND)
      throw fail(`${decoder.retainedBytes} bytes retained, over the ${RETAINED_BOUND} bound`);
  };
  for (const chunk of chunked(bytes, rng)) {
    let items: TcpItem[];
    try {
      items = decoder.push(chunk);
    } catch (error) {
      checkBounds();
      if (!(error instanceof RtspError)) throw fail(`the decoder threw ${String(error)}`);
      const unclear = unclearReason(error.message);
      if (unclear) throw fail(`decoder error with ${unclear}`);
      outcome = `decoder-error:${error.code}`;
      break;
    }
    checkBounds();
    for (const item of items) {
      try {
        interpretItem(item, sink, counts, base);
      } catch (error) {
        throw fail(`interpreting a ${item.type}: ${error instanceof Error ? error.stack : String(error)}`);
      }
    }
  }
  if (outcome === "parsed" && decoder.bufferedBytes > 0) outcome = "incomplete";
  counts.garbageBytes += decoder.garbageBytes;
  bump(counts.outcomes, outcome);
}

/** `cases` mutated transcripts into the decoder and the reply parsers. @throws FuzzFailure */
export function runDecoderFuzz(opts: { seed: number; cases: number; only?: number }): DecoderFuzzCounts {
  const counts = emptyDecoderCounts(opts.seed);
  if (opts.only !== undefined) {
    runDecoderCase(opts.seed, opts.only, counts);
    return counts;
  }
  for (let i = 0; i < opts.cases; i++) runDecoderCase(opts.seed, i, counts);
  return counts;
}

// ---------------------------------------------------------------------------------------------
// Through a socket: a scripted camera, a real RtspSource

type Target = "OPTIONS" | "DESCRIBE" | "SETUP" | "PLAY" | "stream";
const TARGETS: readonly Target[] = ["OPTIONS", "DESCRIBE", "SETUP", "PLAY", "stream"];
const FRAME_INTERVAL_MS = 15;

/**
 * A camera on 127.0.0.1 that answers OPTIONS, DESCRIBE, SETUP, PLAY (and anything else with 200),
 * then streams H.264 over interleaved TCP. On its first connection one reply, or the start of the
 * stream, is mutated; every later connection is clean, so a client that reconnects gets to play.
 */
class ScriptedCamera {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  connections = 0;
  /** performance.now() once the mutated bytes were written. */
  mutationDoneAt: number | undefined;
  mutation = "";

  private constructor(
    private readonly target: Target,
    private readonly rng: SeededRandom,
  ) {
    this.server = net.createServer((socket) => this.serve(socket));
  }

  static async start(target: Target, rng: SeededRandom): Promise<ScriptedCamera> {
    const camera = new ScriptedCamera(target, rng);
    await new Promise<void>((resolve) => camera.server.listen(0, "127.0.0.1", resolve));
    return camera;
  }

  get url(): string {
    return `rtsp://127.0.0.1:${(this.server.address() as net.AddressInfo).port}${CAMERA_PATH}`;
  }

  get openSockets(): number {
    return this.sockets.size;
  }

  private serve(socket: net.Socket): void {
    const connection = this.connections++;
    const mutated = connection === 0;
    this.sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => this.sockets.delete(socket));
    const decoder = new TcpDecoder();
    socket.on("data", (chunk) => {
      let items: TcpItem[];
      try {
        items = decoder.push(chunk);
      } catch {
        socket.destroy();
        return;
      }
      for (const item of items) {
        if (item.type !== "request") continue;
        const { method, headers } = item.request;
        const answer = answerTo(method, headers.get("CSeq") ?? "0", this.url);
        if (mutated && method === this.target) this.writeMutated(socket, [{ kind: "reply", bytes: answer }]);
        else socket.write(answer);
        if (method === "PLAY") this.stream(socket, mutated && this.target === "stream");
      }
    });
  }

  private writeMutated(socket: net.Socket, parts: Part[]): void {
    const { bytes, names } = mutate(parts, this.rng);
    this.mutation = names.join("+");
    for (const chunk of chunked(bytes, this.rng)) socket.write(chunk);
    this.mutationDoneAt = performance.now();
  }

  private stream(socket: net.Socket, mutateStart: boolean): void {
    const feed = new VideoFeed(this.rng.int(0x100000000), this.rng.int(0x10000), this.rng.int(0x100000000));
    if (mutateStart) {
      const parts: Part[] = [];
      for (let f = 0; f < 12; f++)
        for (const bytes of feed.frame()) parts.push({ kind: "interleaved", bytes });
      this.writeMutated(socket, parts);
    }
    const timer = setInterval(() => {
      if (socket.destroyed) {
        clearInterval(timer);
        this.timers.delete(timer);
        return;
      }
      socket.write(Buffer.concat(feed.frame()));
    }, FRAME_INTERVAL_MS);
    this.timers.add(timer);
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    this.timers.clear();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export interface ClientFuzzCounts {
  seed: number;
  cases: number;
  /** played-through: the mutation did no harm; error-then-reconnect: a "retrying" state with a clear reason, then playing again. */
  outcomes: Record<string, number>;
  byTarget: Record<string, number>;
  /** Why the client gave up on the mutated connection, by the kind of reason. */
  reasons: Record<string, number>;
  /** Connections the client made in all (one per try). */
  connections: number;
}

function reasonKind(reason: string): string {
  if (/^no reply to /.test(reason)) return "reply timeout";
  if (/no media arrived|media stopped/.test(reason)) return "no media";
  if (/over \d|over the/.test(reason)) return "too large";
  if (/not an RTSP server|bad RTSP status line|bad Content-Length/.test(reason)) return "protocol";
  if (/SDP/.test(reason)) return "bad SDP";
  if (/^\d{3} /.test(reason)) return "status";
  if (/Session header|Transport/i.test(reason)) return "bad header";
  if (/closed|reset/.test(reason)) return "connection closed";
  return "other";
}

const CLIENT_TIMEOUTS = {
  connectTimeoutMs: 1000,
  replyTimeoutMs: 400,
  noMediaTimeoutMs: 1000,
  backoff: { delaysMs: [20], jitter: 0 },
};

/** Frames that must arrive after the mutation and the last (re)start for a case to count as playing. */
const FRAMES_TO_PLAY = 5;
const CASE_TIMEOUT_MS = 10_000;

/** One case through a socket. @throws FuzzFailure */
export async function runClientCase(seed: number, index: number, counts: ClientFuzzCounts): Promise<void> {
  const rng = new SeededRandom(seed).fork(index);
  const target = rng.pick(TARGETS);
  const camera = await ScriptedCamera.start(target, rng);
  const source = new RtspSource({
    url: camera.url,
    transport: "tcp",
    media: "video",
    userAgent: "fuzz",
    ...CLIENT_TIMEOUTS,
  });
  const states: (StateEvent & { at: number })[] = [];
  const frames: number[] = [];
  source.on("state", (event) => states.push({ ...event, at: performance.now() }));
  source.on("frame", () => frames.push(performance.now()));
  const fail = (detail: string) =>
    new FuzzFailure(seed, index, `${target}:${camera.mutation || "not yet mutated"}`, detail);
  const playingAgain = () => {
    const last = states.at(-1);
    const doneAt = camera.mutationDoneAt;
    if (last?.state !== "playing" || doneAt === undefined) return false;
    const since = Math.max(last.at, doneAt);
    return frames.filter((at) => at >= since).length >= FRAMES_TO_PLAY;
  };
  let failure: unknown;
  try {
    source.start();
    const deadline = performance.now() + CASE_TIMEOUT_MS;
    while (!playingAgain()) {
      if (performance.now() > deadline) {
        const seen = states.map((s) => `${s.state}${s.reason ? ` (${s.reason})` : ""}`).join(" → ");
        throw fail(`not playing again within ${CASE_TIMEOUT_MS / 1000} s: ${seen}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const retries = states.filter((s) => s.state === "retrying");
    for (const retry of retries) {
      const unclear = unclearReason(retry.reason);
      if (unclear) throw fail(`retrying with ${unclear}`);
      if (!((retry.retryInMs ?? -1) >= 0)) throw fail(`retrying without a delay: ${JSON.stringify(retry)}`);
      bump(counts.reasons, reasonKind(retry.reason!));
    }
    if (states.some((s) => s.state === "error"))
      throw fail("gave up with an error state instead of retrying");
    bump(counts.outcomes, retries.length > 0 ? "error-then-reconnect" : "played-through");
    bump(counts.byTarget, target);
    counts.cases++;
  } catch (error) {
    failure = error;
  }
  await source.close();
  counts.connections += camera.connections;
  const deadline = performance.now() + 2000;
  while (camera.openSockets > 0 && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const left = camera.openSockets;
  await camera.close();
  if (failure !== undefined) throw failure;
  if (left > 0) throw fail(`${left} connection(s) still open after the source closed`);
}

/** `cases` cases through sockets, `concurrency` at a time. @throws FuzzFailure (the first) */
export async function runClientFuzz(opts: {
  seed: number;
  cases: number;
  concurrency?: number;
  only?: number;
}): Promise<ClientFuzzCounts> {
  const counts: ClientFuzzCounts = {
    seed: opts.seed,
    cases: 0,
    outcomes: {},
    byTarget: {},
    reasons: {},
    connections: 0,
  };
  const indices = opts.only !== undefined ? [opts.only] : Array.from({ length: opts.cases }, (_, i) => i);
  const failures: unknown[] = [];
  let next = 0;
  const worker = async () => {
    while (next < indices.length && failures.length === 0) {
      const index = indices[next++]!;
      try {
        await runClientCase(opts.seed, index, counts);
      } catch (error) {
        failures.push(error);
      }
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency ?? 24 }, worker));
  if (failures.length > 0) throw failures[0];
  return counts;
}

// ---------------------------------------------------------------------------------------------
// Summaries, for the test's one-line output and for `npm run soak`

function list(counts: Record<string, number>): string {
  return Object.entries(counts)
    .sort(([, a], [, b]) => b - a)
    .map(([k, v]) => `${k} ${v}`)
    .join(", ");
}

export function decoderSummary(c: DecoderFuzzCounts): string {
  return (
    `RTSP decoder fuzz (seed ${c.seed}): ${c.cases} cases — ${list(c.outcomes)}; ` +
    `replies refused by the parsers: ${list(c.rejectedReplies) || "none"}; ` +
    `items ${c.items.responses} replies, ${c.items.requests} requests, ${c.items.interleaved} interleaved, ` +
    `${c.items.accessUnits} access units; ${c.garbageBytes} garbage bytes skipped; ` +
    `max buffered ${c.maxBufferedBytes} B (bound ${BUFFER_BOUND}), max retained ${c.maxRetainedBytes} B (bound ${RETAINED_BOUND})`
  );
}

export function clientSummary(c: ClientFuzzCounts): string {
  return (
    `RTSP client fuzz over TCP (seed ${c.seed}): ${c.cases} cases — ${list(c.outcomes)}; ` +
    `reasons: ${list(c.reasons) || "none"}; by target: ${list(c.byTarget)}; ${c.connections} connections`
  );
}

let lastCounts: { decoder?: DecoderFuzzCounts; client?: ClientFuzzCounts } = {};

/** The counts of the last runs in this process (the suite's test records them here). */
export function rtspFuzzCounts(): { decoder?: DecoderFuzzCounts; client?: ClientFuzzCounts } {
  return lastCounts;
}

export function recordRtspFuzzCounts(counts: {
  decoder?: DecoderFuzzCounts;
  client?: ClientFuzzCounts;
}): void {
  lastCounts = { ...lastCounts, ...counts };
}

export interface FuzzScenarioResult {
  readonly name: string;
  readonly result: "pass" | "fail";
  readonly figures: Record<string, string | number>;
}

/**
 * For `npm run soak`: decoder cases for about half of `durationMs` (at least 10,000) and 300 socket
 * cases, with a seed of its own each run (printed, so a failure can be replayed).
 */
export async function rtspFuzzScenario(opts: {
  durationMs: number;
  log: (line: string) => void;
}): Promise<FuzzScenarioResult> {
  const seed = (Date.now() ^ 0x5eed) >>> 0;
  const figures: Record<string, string | number> = { seed };
  try {
    const decoder = emptyDecoderCounts(seed);
    const until = performance.now() + opts.durationMs / 2;
    for (let i = 0; i < 10_000 || performance.now() < until; i++) runDecoderCase(seed, i, decoder);
    opts.log(decoderSummary(decoder));
    const client = await runClientFuzz({ seed, cases: 300 });
    opts.log(clientSummary(client));
    recordRtspFuzzCounts({ decoder, client });
    Object.assign(figures, {
      "decoder cases": decoder.cases,
      ...Object.fromEntries(Object.entries(decoder.outcomes).map(([k, v]) => [`decoder ${k}`, v])),
      "max buffered bytes": decoder.maxBufferedBytes,
      "socket cases": client.cases,
      ...Object.fromEntries(Object.entries(client.outcomes).map(([k, v]) => [`socket ${k}`, v])),
    });
    return { name: "RTSP fuzz", result: "pass", figures };
  } catch (error) {
    opts.log(error instanceof Error ? error.message : String(error));
    return { name: "RTSP fuzz", result: "fail", figures: { ...figures, failure: String(error) } };
  }
}
