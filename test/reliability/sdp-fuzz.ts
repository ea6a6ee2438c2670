import { readOffer } from "../helpers/offer-fixtures";
import { SeededRandom } from "../helpers/seeded-random";
import { startHttpRig } from "./sdp-fuzz-rig";
import type { ScenarioOptions, ScenarioResult } from "./soak/harness";

// Mutated SDP offers into POST P/offer (JSON) and POST P/whep (application/sdp), built from the
// browsers' own offers by a seeded generator. Each answer must be a 4xx with a JSON { error, detail },
// a 503 (max viewers), or, for a mutation that left the offer usable, a 200/201 (that viewer is then
// ended with DELETE). Anything else (a 5xx but 503, another 2xx, a body without a reason, a request
// that does not complete) is a failure, listed with its case number so FUZZ_SEED replays it.

export const DEFAULT_FUZZ_SEED = 0x5d9f00d;

export interface FuzzCase {
  readonly index: number;
  readonly route: "offer" | "whep";
  readonly contentType: string;
  readonly body: Buffer;
  /** The mutations applied, for the report of a failure. */
  readonly mutations: readonly string[];
}

type Lines = string[];
type Mutation = (lines: Lines, rng: SeededRandom) => Lines;

const GARBAGE_LINES = [
  "a=",
  "=",
  "m=",
  "m=video",
  "m=video 9",
  "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
  "a=rtpmap:",
  "a=rtpmap:96",
  "a=rtpmap:96 H264",
  "a=rtpmap:-1 H264/90000",
  "a=rtpmap:4294967296 H264/90000",
  "a=fmtp:",
  "a=fmtp:96 ;;;=;=",
  "a=fmtp:102 profile-level-id=zzzzzz;packetization-mode=1",
  "a=fmtp:102 profile-level-id=;packetization-mode=9",
  "a=rtcp-fb:* nack",
  "a=ssrc:0 cname:",
  "a=ssrc-group:FID",
  "a=candidate:",
  "a=candidate:1 1 udp 1 999.1.1.1 70000 typ host",
  "a=candidate:1 1 tcp 2122260223 127.0.0.1 9 typ host tcptype active",
  "a=candidate:x y z",
  "a=end-of-candidates",
  "a=group:BUNDLE",
  "a=group:BUNDLE 7 8 9",
  "a=mid:",
  "a=setup:holdconn",
  "a=setup:passive",
  "a=fingerprint:sha-1 00",
  "a=fingerprint:md5 ZZ:ZZ",
  "a=ice-ufrag:",
  "a=ice-pwd:",
  "a=ice-options:ice2",
  "a=extmap:0 urn:x",
  "a=extmap:99999 x",
  "a=simulcast:recv 1;2",
  "a=rid:1 recv",
  "a=msid:- -",
  "c=IN IP6 ::",
  "c=IN IP4",
  "b=AS:-5",
  "t=-1 -1",
  "o=- x x IN IP4",
  "v=1",
  "\u0000",
  "\u00ff\u00fe",
  "a=\u{1F600}",
  "a=sendrecv",
  "a=sendonly",
  "a=inactive",
];

const NUMBERS = ["0", "-1", "65536", "4294967296", "99999999999999999999", "1e309", "NaN", "0x60", ""];
const CODECS = [
  "H264",
  "H265",
  "VP8",
  "VP9",
  "AV1",
  "opus",
  "PCMU",
  "rtx",
  "red",
  "ulpfec",
  "h264",
  "",
  "H264/",
];

const MUTATIONS: Record<string, Mutation> = {
  deleteLine: (lines, rng) => lines.filter((_, i) => i !== rng.int(lines.length)),
  duplicateLine: (lines, rng) => {
    const i = rng.int(lines.length);
    return [...lines.slice(0, i + 1), ...lines.slice(i)];
  },
  swapLines: (lines, rng) => {
    const out = [...lines];
    const a = rng.int(out.length);
    const b = rng.int(out.length);
    [out[a], out[b]] = [out[b] ?? "", out[a] ?? ""];
    return out;
  },
  truncate: (lines, rng) => {
    const text = lines.join("\r\n");
    return text.slice(0, rng.int(text.length)).split("\r\n");
  },
  flipChars: (lines, rng) => {
    const chars = [...lines.join("\r\n")];
    for (let n = rng.range(1, 6); n > 0; n--) {
      chars[rng.int(chars.length)] = String.fromCharCode(
        rng.chance(0.8) ? rng.range(32, 126) : rng.int(0x250),
      );
    }
    return chars.join("").split("\r\n");
  },
  insertGarbage: (lines, rng) => {
    const i = rng.int(lines.length + 1);
    return [...lines.slice(0, i), rng.pick(GARBAGE_LINES), ...lines.slice(i)];
  },
  replaceNumber: (lines, rng) => {
    const i = rng.int(lines.length);
    const out = [...lines];
    out[i] = (out[i] ?? "").replace(/\d+/, rng.pick(NUMBERS));
    return out;
  },
  dropSecurity: (lines, rng) => {
    const what = rng.pick(["a=ice-ufrag:", "a=ice-pwd:", "a=fingerprint:", "a=setup:", "a=mid:", "a=group:"]);
    return lines.filter((line) => !line.startsWith(what));
  },
  mangleMLine: (lines, rng) =>
    lines.map((line) => {
      if (!line.startsWith("m=") || !rng.chance(0.7)) return line;
      const parts = line.split(" ");
      const field = rng.int(Math.max(parts.length, 1));
      parts[field] = rng.pick(["RTP/AVP", "UDP/TLS/RTP/SAVP", "m=audio", "m=text", "0", "x", "", ...NUMBERS]);
      return parts.join(" ");
    }),
  renameCodec: (lines, rng) =>
    lines.map((line) =>
      line.startsWith("a=rtpmap:") && rng.chance(0.3)
        ? line.replace(/ [^/ ]+\//, ` ${rng.pick(CODECS)}/`)
        : line,
    ),
  mangleFmtp: (lines, rng) =>
    lines.map((line) =>
      line.startsWith("a=fmtp:") && rng.chance(0.4)
        ? line.replace(
            /profile-level-id=[0-9a-fA-F]*/,
            `profile-level-id=${rng.bytes(rng.int(5)).toString("hex")}`,
          )
        : line,
    ),
  lineEndings: (lines, rng) => [lines.join(rng.pick(["\n", "\r", "\r\r\n", "\n\r"]))],
  manyMLines: (lines, rng) => {
    const start = lines.findIndex((line) => line.startsWith("m="));
    if (start < 0) return lines;
    const section = lines.slice(start, start + 12);
    const copies = rng.range(2, 60);
    return [...lines, ...Array.from({ length: copies }, () => section).flat()];
  },
  hugeAttribute: (lines, rng) => [...lines, `a=x-huge:${"A".repeat(rng.pick([1000, 20_000, 70_000]))}`],
  directions: (lines, rng) =>
    lines.map((line) =>
      /^a=(recvonly|sendrecv|sendonly|inactive)$/.test(line)
        ? `a=${rng.pick(["recvonly", "sendrecv", "sendonly", "inactive"])}`
        : line,
    ),
  whitespace: (lines, rng) =>
    lines.map((line) =>
      rng.chance(0.1) ? rng.pick([` ${line}`, `${line} `, `${line}\t`, line.replace(/ /g, "  ")]) : line,
    ),
  empty: (_lines, rng) => [rng.pick(["", " ", "\r\n", "v=0", "v=0\r\n", "null", "{}"])],
};

/** Those that break an offer outright count twice: usable offers cost a peer connection each. */
const MUTATION_NAMES = [
  ...Object.keys(MUTATIONS),
  "truncate",
  "flipChars",
  "dropSecurity",
  "mangleMLine",
  "renameCodec",
  "insertGarbage",
];

/** The envelope of a JSON offer, sometimes itself broken. */
function jsonBody(sdp: string, rng: SeededRandom): { body: string; broken: string | undefined } {
  if (!rng.chance(0.1)) return { body: JSON.stringify({ type: "offer", sdp }), broken: undefined };
  const variants: [string, string][] = [
    ["type answer", JSON.stringify({ type: "answer", sdp })],
    ["sdp number", JSON.stringify({ type: "offer", sdp: 42 })],
    ["no sdp", JSON.stringify({ type: "offer" })],
    ["array", JSON.stringify([{ type: "offer", sdp }])],
    ["not JSON", `{"type":"offer","sdp":${JSON.stringify(sdp).slice(0, -1)}`],
    ["null", "null"],
    ["nested", JSON.stringify({ type: "offer", sdp: { sdp } })],
  ];
  const [name, body] = rng.pick(variants);
  return { body, broken: name };
}

/** Case `index` of the run seeded `seed`: the same on every machine. */
export function fuzzCase(seed: number, index: number, bases: readonly string[]): FuzzCase {
  const rng = new SeededRandom(seed).fork(index);
  let lines = rng.pick(bases).split(/\r?\n/);
  const mutations: string[] = [];
  // Three to five at once: one alone mostly leaves an offer werift still answers, and every answered
  // offer costs a peer connection (the run must stay under a minute).
  for (let n = rng.range(3, 5); n > 0; n--) {
    const name = rng.pick(MUTATION_NAMES);
    mutations.push(name);
    lines = (MUTATIONS[name] as Mutation)(lines, rng);
  }
  let sdp = lines.join("\r\n");
  if (rng.chance(0.03)) {
    mutations.push("invalid UTF-8");
    const bytes = Buffer.from(sdp, "utf8");
    if (bytes.length > 0) bytes[rng.int(bytes.length)] = rng.pick([0xff, 0xc0, 0x80, 0x00]);
    sdp = bytes.toString("latin1");
  }
  const route = rng.chance(0.5) ? "offer" : "whep";
  const wrongType = rng.chance(0.03);
  if (route === "offer") {
    const { body, broken } = jsonBody(sdp, rng);
    if (broken) mutations.push(`envelope: ${broken}`);
    if (wrongType) mutations.push("content-type");
    return {
      index,
      route,
      contentType: wrongType ? "text/plain" : "application/json",
      body: Buffer.from(body, mutations.includes("invalid UTF-8") ? "latin1" : "utf8"),
      mutations,
    };
  }
  if (wrongType) mutations.push("content-type");
  return {
    index,
    route,
    contentType: wrongType ? "application/json" : "application/sdp",
    body: Buffer.from(sdp, mutations.includes("invalid UTF-8") ? "latin1" : "utf8"),
    mutations,
  };
}

export interface FuzzCounts {
  readonly seed: number;
  readonly cases: number;
  /** Answers by status code ("400": 5123, ...). */
  readonly byStatus: Record<string, number>;
  /** By route and status ("offer 400"). */
  readonly byRoute: Record<string, number>;
  /** Usable offers answered 200/201 and then ended with DELETE. */
  readonly accepted: number;
  readonly failures: readonly string[];
  readonly bystanderPackets: { readonly before: number; readonly during: number; readonly after: number };
  readonly bystanderState: string;
  /** Why the server closed the bystander's viewer; null when it never did. */
  readonly bystanderClosed: string | null;
  readonly durationMs: number;
}

export interface FuzzOptions {
  readonly cases: number;
  readonly seed: number;
  /** Requests in flight at once. Default 8. */
  readonly concurrency?: number;
  readonly log?: (line: string) => void;
}

interface Outcome {
  readonly status: number;
  readonly failure?: string;
}

async function send(base: string, c: FuzzCase): Promise<Outcome> {
  const res = await fetch(`${base}/${c.route}`, {
    method: "POST",
    headers: { "Content-Type": c.contentType },
    body: c.body,
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  const what = `case ${c.index} (${c.route}; ${c.mutations.join(", ")}): ${res.status}`;
  if (res.status === 200 || res.status === 201) {
    const location = res.headers.get("location");
    const resource = c.route === "offer" ? (JSON.parse(text) as { location?: string }).location : undefined;
    const target = new URL(location ?? resource ?? "", base).href;
    const deleted = await fetch(target, { method: "DELETE" });
    await deleted.arrayBuffer();
    // 404: the viewer has ended by itself already (its garbage candidates failed ICE at once).
    if (deleted.status !== 200 && deleted.status !== 404) {
      return { status: res.status, failure: `${what}: DELETE answered ${deleted.status}` };
    }
    if (res.status !== (c.route === "offer" ? 200 : 201))
      return { status: res.status, failure: `${what}: wrong 2xx` };
    return { status: res.status };
  }
  if (res.status >= 500 && res.status !== 503)
    return { status: res.status, failure: `${what} ${text.slice(0, 200)}` };
  if (res.status < 400) return { status: res.status, failure: `${what}: not an error status` };
  let reason: unknown;
  try {
    reason = JSON.parse(text);
  } catch {
    return { status: res.status, failure: `${what}: the body is not JSON: ${text.slice(0, 120)}` };
  }
  const { error, detail } = (reason ?? {}) as { error?: unknown; detail?: unknown };
  if (typeof error !== "string" || error === "" || typeof detail !== "string") {
    return { status: res.status, failure: `${what}: no { error, detail }: ${text.slice(0, 120)}` };
  }
  if (!/json/.test(res.headers.get("content-type") ?? "")) {
    return { status: res.status, failure: `${what}: Content-Type ${res.headers.get("content-type")}` };
  }
  return { status: res.status };
}

/**
 * Runs `cases` mutated offers against a fresh rig with one werift viewer watching throughout; resolves
 * with the counts. Failures are collected, never thrown, so the caller sees them all.
 */
export async function runSdpFuzz(opts: FuzzOptions): Promise<FuzzCounts> {
  const log = opts.log ?? (() => {});
  const bases = (["chromium-156.sdp", "firefox-140.sdp", "safari-18.sdp"] as const).map(readOffer);
  const rig = await startHttpRig({ maxViewers: 50, maxPendingPerAddress: 64 });
  const started = performance.now();
  const byStatus: Record<string, number> = {};
  const byRoute: Record<string, number> = {};
  const failures: string[] = [];
  let accepted = 0;
  try {
    const { viewer, id: bystanderId } = await rig.bystander();
    let bystanderClosed: string | null = null;
    rig.viewers.on("left", (info) => {
      if (info.id === bystanderId) bystanderClosed = info.reason;
    });
    const before = viewer.packets.length;
    let next = 0;
    let during = before;
    const worker = async (): Promise<void> => {
      while (next < opts.cases) {
        const c = fuzzCase(opts.seed, next++, bases);
        let outcome: Outcome;
        try {
          outcome = await send(rig.base, c);
        } catch (err) {
          outcome = { status: 0, failure: `case ${c.index} (${c.mutations.join(", ")}): ${String(err)}` };
        }
        byStatus[String(outcome.status)] = (byStatus[String(outcome.status)] ?? 0) + 1;
        byRoute[`${c.route} ${outcome.status}`] = (byRoute[`${c.route} ${outcome.status}`] ?? 0) + 1;
        if (outcome.status === 200 || outcome.status === 201) accepted++;
        if (outcome.failure !== undefined) failures.push(outcome.failure);
        if (c.index === Math.floor(opts.cases / 2)) during = viewer.packets.length;
        if (c.index > 0 && c.index % 2000 === 0) log(`sdp fuzz: ${c.index}/${opts.cases} sent`);
      }
    };
    await Promise.all(Array.from({ length: opts.concurrency ?? 8 }, worker));
    const afterFuzz = viewer.packets.length;
    // Still receiving after the last case: wait for more than it had.
    const deadline = Date.now() + 5000;
    while (viewer.packets.length <= afterFuzz && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return {
      seed: opts.seed,
      cases: opts.cases,
      byStatus,
      byRoute,
      accepted,
      failures,
      bystanderPackets: { before, during, after: viewer.packets.length },
      bystanderState: viewer.pc.connectionState,
      bystanderClosed,
      durationMs: Math.round(performance.now() - started),
    };
  } finally {
    await rig.close();
  }
}

/** "10000 offers (seed 98175501) in 12.3 s: 400×8123 406×1201 …; 676 accepted; 0 failures". */
export function fuzzSummary(counts: FuzzCounts): string {
  const statuses = Object.entries(counts.byStatus)
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([status, n]) => `${status}×${n}`)
    .join(" ");
  return (
    `sdp fuzz: ${counts.cases} offers (seed ${counts.seed}) in ${(counts.durationMs / 1000).toFixed(1)} s: ` +
    `${statuses}; ${counts.accepted} usable and ended; ${counts.failures.length} failures; bystander ` +
    `${counts.bystanderPackets.before}→${counts.bystanderPackets.during}→${counts.bystanderPackets.after} packets, ` +
    `${counts.bystanderState}`
  );
}

/** For `npm run soak`: the fuzz at 10,000 cases (or more, scaled with the duration), as a summary row. */
export async function sdpFuzzScenario({ durationMs, log }: ScenarioOptions): Promise<ScenarioResult> {
  const cases = Math.max(10_000, Math.round(durationMs / 60_000) * 10_000);
  const counts = await runSdpFuzz({ cases, seed: DEFAULT_FUZZ_SEED, log });
  log(fuzzSummary(counts));
  for (const failure of counts.failures.slice(0, 20)) log(`  ${failure}`);
  const bystanderOk =
    counts.bystanderState === "connected" &&
    counts.bystanderClosed === null &&
    counts.bystanderPackets.during > counts.bystanderPackets.before &&
    counts.bystanderPackets.after > counts.bystanderPackets.during;
  return {
    name: "sdp fuzz (/offer, /whep)",
    result: counts.failures.length === 0 && bystanderOk ? "pass" : "fail",
    figures: {
      cases: counts.cases,
      seed: counts.seed,
      ...Object.fromEntries(Object.entries(counts.byStatus).map(([status, n]) => [`HTTP ${status}`, n])),
      accepted: counts.accepted,
      failures: counts.failures.length,
      "bystander packets": counts.bystanderPackets.after - counts.bystanderPackets.before,
      seconds: Math.round(counts.durationMs / 1000),
    },
  };
}
