import type { FrameEntries } from "./frame-counts";

/** `n` to `digits` decimals, for the table and its JSON; NaN stays NaN. */
export function round(n: number, digits = 1): number {
  return Number.isFinite(n) ? Number(n.toFixed(digits)) : Number.NaN;
}

/** The q-quantile (0..1) of `values` by nearest rank; NaN for none. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

/** Delays in ms: median, 99th percentile, largest, and how many. */
export interface DelaySummary {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly samples: number;
}

/** The delays of the first viewer served, and of the last one. */
export interface ViewerDelays {
  readonly first: DelaySummary;
  /** With more than one viewer. */
  readonly last?: DelaySummary;
}

export function delaySummary(delays: readonly number[]): DelaySummary {
  return {
    p50: round(quantile(delays, 0.5), 2),
    p99: round(quantile(delays, 0.99), 2),
    max: round(
      delays.reduce((a, b) => Math.max(a, b), Number.NEGATIVE_INFINITY),
      2,
    ),
    samples: delays.length,
  };
}

/** Least-squares slope of y over x. */
export function slope(points: readonly { x: number; y: number }[]): number {
  const n = points.length;
  if (n < 2) return Number.NaN;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - mx) * (p.y - my);
    den += (p.x - mx) ** 2;
  }
  return den === 0 ? Number.NaN : num / den;
}

/** How far under zero a median delay may be and still be causal (see relayDelaysMs). */
const CAUSALITY_SLACK_MS = 0.5;

export interface SentPacket {
  readonly timestamp: number;
  readonly atNs: bigint;
  /** What repacketizing needs of it (see relayPacketCount); the bench's camera records it. */
  readonly shape?: PacketShape;
}

export interface ReceivedPacket {
  readonly timestamp: number;
  readonly atNs: bigint;
}

/**
 * Relay delays (ms) of packets a viewer received, matched to the camera's sends. The relay keeps each
 * frame's packets and their order but moves RTP timestamps by a constant (per viewer, per source
 * session) and renumbers sequence numbers, so packets are matched by (timestamp − offset, index within
 * the frame); the offset is the one under which most received frames find a sent frame.
 */
export function relayDelaysMs(
  sent: readonly SentPacket[],
  received: readonly ReceivedPacket[],
  relayedCount: (frame: readonly SentPacket[]) => number = (frame) => frame.length,
): number[] {
  const sentFrames = groupByTimestamp(sent);
  const receivedFrames = groupByTimestamp(received);
  const receivedKeys = [...receivedFrames.keys()];
  const sentKeys = [...sentFrames.keys()];
  if (receivedKeys.length === 0 || sentKeys.length === 0) return [];
  // Candidate offsets: the first and the last received frame against every sent frame (one of them
  // may lie outside the camera's record, which starts before and ends after the trace). Several may
  // match as many frames (the camera sent frames before and after the viewer's window); a wrong one
  // pairs packets with frames sent whole frame intervals earlier (larger delays) or later (negative
  // ones). The right one has the smallest median that is not negative (a little under zero is allowed:
  // the camera stamps a frame's packets just after writing them all, and the relay may forward one
  // meanwhile).
  const ends = [receivedKeys[0]!, receivedKeys[receivedKeys.length - 1]!];
  const offsets = new Set(ends.flatMap((end) => sentKeys.map((key) => (end - key) >>> 0)));
  let best: number[] = [];
  let bestMatches = 0;
  let bestMedian = Number.POSITIVE_INFINITY;
  for (const offset of offsets) {
    const delays = matchedDelays(sentFrames, receivedFrames, offset, relayedCount);
    if (delays.length === 0) continue;
    const median = quantile(delays, 0.5);
    if (median < -CAUSALITY_SLACK_MS) continue;
    if (delays.length > bestMatches || (delays.length === bestMatches && median < bestMedian)) {
      best = delays;
      bestMatches = delays.length;
      bestMedian = median;
    }
  }
  return best;
}

function matchedDelays(
  sentFrames: Map<number, SentPacket[]>,
  receivedFrames: Map<number, ReceivedPacket[]>,
  offset: number,
  relayedCount: (frame: readonly SentPacket[]) => number,
): number[] {
  const delays: number[] = [];
  for (const [key, packets] of receivedFrames) {
    const source = sentFrames.get((key - offset) >>> 0);
    if (source === undefined || relayedCount(source) !== packets.length) continue;
    // A frame webrtc-out cut into more packets than it came in: each is matched to the camera's packet
    // at the same place in the frame (one for one when the counts agree; the camera sends a frame's
    // packets in one burst, and the relay sends none of a frame before it has all of it).
    packets.forEach((packet, i) => {
      const from = source[Math.floor((i * source.length) / packets.length)]!;
      delays.push(Number(packet.atNs - from.atNs) / 1e6);
    });
  }
  return delays;
}

function groupByTimestamp<T extends { timestamp: number }>(packets: readonly T[]): Map<number, T[]> {
  const frames = new Map<number, T[]>();
  for (const packet of packets) {
    const frame = frames.get(packet.timestamp);
    if (frame) frame.push(packet);
    else frames.set(packet.timestamp, [packet]);
  }
  return frames;
}

/** A frame the camera sent: its RTP timestamp and how many packets it took. */
export interface SentFrame {
  readonly timestamp: number;
  readonly packets: number;
}

/** What the relay's repacketizing needs to know of one H.264 RTP packet the camera sent. */
export interface PacketShape {
  /** The whole RTP packet, 12-byte header included. */
  readonly bytes: number;
  /** NAL unit type of the payload's first byte: 1–23 a single NAL unit, 24 STAP-A, 28 FU-A. */
  readonly nalType: number;
  /** FU-A start and end bits. */
  readonly start: boolean;
  readonly end: boolean;
}

const RTP_HEADER = 12;
const FU_A_HEADER = 2;

/** The shape of an H.264 RTP packet (12-byte header, as the demo camera sends). */
export function packetShape(packet: Buffer): PacketShape {
  const nal = packet[RTP_HEADER] ?? 0;
  const fu = packet[RTP_HEADER + 1] ?? 0;
  return { bytes: packet.length, nalType: nal & 0x1f, start: (fu & 0x80) !== 0, end: (fu & 0x40) !== 0 };
}

/**
 * How many packets webrtc-out sends for a frame of these camera packets at `maxPacketSize`: packets that
 * fit pass as they are; a NAL unit with a packet that does not is cut again from its start into FU-A
 * pieces filled to the limit (src/webrtc/stream-normalizer.ts). Janus and the bare werift loop forward
 * the camera's packets, so their count is the camera's.
 */
export function relayPacketCount(shapes: readonly PacketShape[], maxPacketSize: number): number {
  const piece = maxPacketSize - RTP_HEADER - FU_A_HEADER;
  let count = 0;
  let run: { packets: number; body: number; oversize: boolean } | undefined;
  const endRun = () => {
    if (run === undefined) return;
    count += run.oversize ? Math.ceil(run.body / piece) : run.packets;
    run = undefined;
  };
  for (const shape of shapes) {
    if (shape.nalType !== 28) {
      endRun();
      // A single NAL unit over the limit loses its one-byte header to the FU-A headers.
      count += shape.bytes <= maxPacketSize ? 1 : Math.ceil((shape.bytes - RTP_HEADER - 1) / piece);
      continue;
    }
    if (shape.start) endRun();
    run ??= { packets: 0, body: 0, oversize: false };
    run.packets++;
    run.body += shape.bytes - RTP_HEADER - FU_A_HEADER;
    run.oversize ||= shape.bytes > maxPacketSize;
    if (shape.end) endRun();
  }
  endRun();
  return count;
}

/**
 * Of the packets of `sent` (whole frames, all sent inside the measurement window), how many each
 * viewer received: counted frame by frame, so that neither where a window starts and ends nor how far
 * behind a busy viewer process reads moves the figure. Each viewer's RTP timestamps differ from the
 * camera's by a constant (see relayDelaysMs): it is the difference most of its frames agree on, voted
 * by frames of the same packet count. A frame counts at most its sent packets (retransmissions do not
 * make up for another frame's loss).
 */
export function frameDelivery(
  sent: readonly SentFrame[],
  viewers: readonly FrameEntries[],
): { expected: number; received: number } {
  const sentPackets = sent.reduce((sum, frame) => sum + frame.packets, 0);
  const sentBySize = new Map<number, number[]>();
  for (const frame of sent) {
    const same = sentBySize.get(frame.packets);
    if (same) same.push(frame.timestamp);
    else sentBySize.set(frame.packets, [frame.timestamp]);
  }
  let received = 0;
  for (const frames of viewers) {
    const votes = new Map<number, number>();
    for (const [timestamp, packets] of frames) {
      for (const sentTimestamp of sentBySize.get(packets) ?? []) {
        const offset = (timestamp - sentTimestamp) >>> 0;
        votes.set(offset, (votes.get(offset) ?? 0) + 1);
      }
    }
    let offset: number | undefined;
    let best = 0;
    for (const [candidate, count] of votes) {
      if (count > best) {
        best = count;
        offset = candidate;
      }
    }
    if (offset === undefined) continue;
    const got = new Map(frames);
    for (const frame of sent) {
      received += Math.min(frame.packets, got.get((frame.timestamp + offset) >>> 0) ?? 0);
    }
  }
  return { expected: sentPackets * viewers.length, received };
}

/** A fixed-width text table. */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => (c ?? "").padEnd(widths[i]!)).join(" | ")} |`;
  return [line(header), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.map(line)].join("\n");
}
