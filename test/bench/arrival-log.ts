import { performance } from "node:perf_hooks";
import { type ArrivalSnapshot, clockOffsetMs } from "./display-stats";

/** A minute of 30 fps video: more than the display section records. */
const DEFAULT_CAPACITY = 1800;

/**
 * When each video access unit reached webrtc-out, by RTP timestamp, on the epoch clock a page's
 * performance.timeOrigin + now() is on (one machine: one clock). Holds the newest `capacity`.
 */
export class ArrivalLog {
  private firstKeyframe: number | undefined;
  private readonly arrivals = new Map<number, number>();
  private readonly keyframes = new Set<number>();

  constructor(private readonly capacity = DEFAULT_CAPACITY) {}

  /** A video access unit; its first arrival is kept (a timestamp seen again is a repeat, not a frame). */
  record(timestamp: number, keyframe: boolean, atMs: number): void {
    if (keyframe && this.firstKeyframe === undefined) this.firstKeyframe = timestamp;
    if (this.arrivals.has(timestamp)) return;
    this.arrivals.set(timestamp, atMs);
    if (keyframe) this.keyframes.add(timestamp);
    if (this.arrivals.size > this.capacity) {
      const oldest = this.arrivals.keys().next().value as number;
      this.arrivals.delete(oldest);
      this.keyframes.delete(oldest);
    }
  }

  snapshot(): ArrivalSnapshot {
    return {
      firstKeyframe: this.firstKeyframe,
      arrivals: [...this.arrivals],
      keyframes: [...this.keyframes],
      clockOffsetMs: clockOffsetMs(Date.now, () => performance.timeOrigin + performance.now()),
    };
  }
}

/** What the hook reads of Node-RED's ReceiveEvent (@node-red/util hooks, "onReceive"). */
interface ReceiveEvent {
  readonly msg?: { readonly rtp?: { kind?: unknown; timestamp?: unknown; keyframe?: unknown } };
  readonly destination?: { readonly node?: { readonly type?: string } };
}

/** Node-RED's hooks API (RED.hooks). */
export interface NodeRedHooks {
  add(name: string, hook: (event: ReceiveEvent) => void): void;
  remove(name: string): void;
}

const HOOK = "onReceive.benchArrivals";

/**
 * Records, in `log`, every video message as webrtc-out nodes are about to receive it: Node-RED's own
 * messaging hook, so the product knows nothing of it. Returns its removal.
 */
export function recordWebrtcOutArrivals(hooks: NodeRedHooks, log: ArrivalLog): () => void {
  hooks.add(HOOK, (event) => {
    const rtp = event.msg?.rtp;
    if (event.destination?.node?.type !== "webrtc-out" || rtp?.kind !== "video") return;
    if (typeof rtp.timestamp !== "number") return;
    log.record(rtp.timestamp, rtp.keyframe === true, performance.timeOrigin + performance.now());
  });
  return () => hooks.remove(HOOK);
}
