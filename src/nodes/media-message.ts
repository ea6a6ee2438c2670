import type { AccessUnit, MediaKind, StreamInfo } from "../rtp/stream-info";
import type { NodeMessage } from "./red";

function isMediaKind(value: unknown): value is MediaKind {
  return value === "video" || value === "audio";
}

/** Enough of a MediaInfo for the nodes to look a media up by mid and kind and read its codec. */
function isMediaDescription(value: unknown): boolean {
  if (!value || typeof value !== "object") return false;
  const { mid, kind, codec } = value as Record<string, unknown>;
  return typeof mid === "string" && isMediaKind(kind) && typeof codec === "string";
}

/** A media message (docs/ARCHITECTURE.md, "The message contract") as an access unit; undefined if not one. */
export function accessUnitFrom(msg: NodeMessage): { unit: AccessUnit; stream: StreamInfo } | undefined {
  const { payload, rtp, stream } = msg as { payload?: unknown; rtp?: unknown; stream?: unknown };
  if (!Array.isArray(payload) || payload.length === 0 || !payload.every((p) => Buffer.isBuffer(p)))
    return undefined;
  if (!rtp || typeof rtp !== "object") return undefined;
  const { kind, mid, timestamp, keyframe } = rtp as Record<string, unknown>;
  if (!isMediaKind(kind) || typeof mid !== "string" || typeof timestamp !== "number") return undefined;
  if (!stream || typeof stream !== "object") return undefined;
  const info = stream as Partial<StreamInfo>;
  if (typeof info.id !== "string" || typeof info.session !== "number" || !Array.isArray(info.media))
    return undefined;
  if (!(info.media as unknown[]).every(isMediaDescription)) return undefined;
  return {
    unit: { kind, mid, timestamp, keyframe: keyframe === true, packets: payload as Buffer[] },
    stream: stream as StreamInfo,
  };
}

/** The §2 media message of an access unit. */
export function mediaMessage(topic: string, unit: AccessUnit, stream: StreamInfo): NodeMessage {
  return {
    topic,
    payload: unit.packets,
    rtp: { kind: unit.kind, mid: unit.mid, timestamp: unit.timestamp, keyframe: unit.keyframe },
    stream,
  };
}

/** Why a message is not media, for the error a wrongly wired node reports (each node words it). */
export function whyNotMedia(msg: NodeMessage): { reason: "array" | "missing" | "type"; type: string } {
  const payload = msg.payload;
  if (Array.isArray(payload)) return { reason: "array", type: "array" };
  if (payload === undefined) return { reason: "missing", type: "undefined" };
  return { reason: "type", type: typeof payload };
}

/** A node's catalog keys for a message that is not media: the error, and why, by reason. */
export interface NotMediaKeys {
  readonly notMedia: string;
  readonly array: string;
  readonly missing: string;
  readonly type: string;
}

/** The error a node reports for a message that is not media, in its own words. */
export function notMediaError(
  msg: NodeMessage,
  keys: NotMediaKeys,
  text: (key: string, values?: Record<string, string | number>) => string,
): Error {
  const why = whyNotMedia(msg);
  return new Error(text(keys.notMedia, { why: text(keys[why.reason], { type: why.type }) }));
}

/** At most one report per `intervalMs`: a wrong wire delivers 25 bad messages a second. */
export function reportLimiter(intervalMs: number): () => boolean {
  let last = Number.NEGATIVE_INFINITY;
  return () => {
    const now = performance.now();
    if (now - last < intervalMs) return false;
    last = now;
    return true;
  };
}
