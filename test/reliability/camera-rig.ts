import type { Server } from "node:http";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import helper from "node-red-node-test-helper";
import { parseRtp } from "../helpers/depacketize";
import { exampleNodes, serveHttpNode, streamArrives, viewerOf } from "../helpers/example-flow";
import { closeLocalServers } from "../helpers/express-app";
import { waitFor } from "../helpers/wait";
import type { WeriftViewer } from "../helpers/werift-viewer";

// rtsp-in nodes (and a webrtc-out for the first camera) in Node-RED, through node-red-node-test-helper:
// what each camera's node said on output 2 and sent on output 1, stamped with performance.now().

/** One message of rtsp-in's output 2. */
export interface CameraEvent {
  readonly at: number;
  readonly state: string;
  readonly reason?: string;
  readonly retryInMs?: number;
}

/** One message of rtsp-in's output 1, in short. */
export interface CameraFrame {
  readonly at: number;
  readonly session: number;
  readonly keyframe: boolean;
}

export interface RigCamera {
  readonly url: string;
  readonly transport?: "tcp" | "udp";
}

export interface RigOptions {
  readonly cameras: readonly RigCamera[];
  /** The first camera also feeds a webrtc-out at /cam. Default false. */
  readonly webrtc?: boolean;
}

/** What one camera's rtsp-in did. */
export class CameraLog {
  readonly events: CameraEvent[] = [];
  readonly frames: CameraFrame[] = [];

  retries(): CameraEvent[] {
    return this.events.filter((e) => e.state === "retrying");
  }

  /** Until a keyframe of a session after `session` arrived; resolves with that frame. */
  async nextSession(session: number, ms: number): Promise<CameraFrame> {
    let found: CameraFrame | undefined;
    await waitFor(
      () => {
        found = this.frames.find((f) => f.session > session && f.keyframe);
        return found !== undefined;
      },
      ms,
      `a keyframe of a session after ${session}`,
    );
    return found!;
  }

  lastSession(): number {
    return this.frames.at(-1)?.session ?? 0;
  }
}

export const WEBRTC_PATH = "/cam";

export class NodeRedRig {
  readonly cameras: CameraLog[];
  private server: Server | undefined;

  private constructor(count: number) {
    this.cameras = Array.from({ length: count }, () => new CameraLog());
  }

  /** Starts Node-RED (test helper) and deploys one rtsp-in per camera. */
  static async start(opts: RigOptions): Promise<NodeRedRig> {
    const rig = new NodeRedRig(opts.cameras.length);
    helper.init(require.resolve("node-red"));
    await new Promise<void>((resolve) => helper.startServer(() => resolve()));
    try {
      await helper.load(exampleNodes(), rigFlow(opts));
      rig.cameras.forEach((log, i) => {
        helper.getNode(`frames${i}`).on("input", (msg: RigMessage) => {
          log.frames.push({ at: performance.now(), session: msg.stream.session, keyframe: msg.rtp.keyframe });
        });
        helper.getNode(`events${i}`).on("input", (msg: RigMessage) => {
          const payload = msg.payload as { state: string; reason?: string; retryInMs?: number };
          log.events.push({ at: performance.now(), ...payload });
        });
      });
      if (opts.webrtc === true) rig.server = await serveHttpNode();
    } catch (error) {
      await rig.close();
      throw error;
    }
    return rig;
  }

  /** A werift viewer of /cam, connected, once the stream arrives there. */
  async viewer(): Promise<WeriftViewer> {
    if (!this.server) throw new Error("the rig has no webrtc-out");
    await streamArrives(this.server, WEBRTC_PATH);
    return viewerOf(this.server, WEBRTC_PATH);
  }

  async close(): Promise<void> {
    await closeLocalServers();
    await helper.unload();
    await new Promise<void>((resolve) => helper.stopServer(() => resolve()));
  }
}

interface RigMessage {
  payload: unknown;
  stream: { session: number };
  rtp: { keyframe: boolean };
}

function rigFlow(opts: RigOptions): object[] {
  const nodes: object[] = [{ id: "rig", type: "tab", label: "camera faults" }];
  opts.cameras.forEach((camera, i) => {
    const media = [`frames${i}`];
    if (i === 0 && opts.webrtc === true) media.push("out");
    nodes.push(
      {
        id: `cam${i}`,
        z: "rig",
        type: "rtsp-in",
        name: `camera ${i}`,
        url: camera.url,
        transport: camera.transport ?? "tcp",
        media: "video",
        startMode: "deploy",
        wires: [media, [`events${i}`]],
      },
      { id: `frames${i}`, z: "rig", type: "helper" },
      { id: `events${i}`, z: "rig", type: "helper" },
    );
  });
  if (opts.webrtc === true) {
    nodes.push({
      id: "out",
      z: "rig",
      type: "webrtc-out",
      name: "cam",
      path: "cam",
      maxViewers: 50,
      hostAddresses: "127.0.0.1",
      statsInterval: 0,
      wires: [[]],
    });
  }
  return nodes;
}

/** This process's heap after a full collection, in bytes. */
export function heapAfterGc(): number {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  gc();
  return process.memoryUsage().heapUsed;
}

/** Active resources of this process by kind (Node 22: "TCPSocketWrap", "Timeout", "UDPWrap"...). */
export function resourceCounts(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}

const H264_IDR = 5;
const H264_SPS = 7;

/** The packet starts a keyframe: an IDR or SPS NAL unit, alone, first in a STAP-A, or an FU-A start. */
export function startsKeyframe(packet: Buffer): boolean {
  const { payload } = parseRtp(packet);
  const type = (payload[0] ?? 0) & 0x1f;
  if (type === 24) {
    let offset = 1;
    while (offset + 2 < payload.length) {
      const size = payload.readUInt16BE(offset);
      const nal = (payload[offset + 2] ?? 0) & 0x1f;
      if (nal === H264_IDR || nal === H264_SPS) return true;
      offset += 2 + size;
    }
    return false;
  }
  if (type === 28) return ((payload[1] ?? 0) & 0x80) !== 0 && ((payload[1] ?? 0) & 0x1f) === H264_IDR;
  return type === H264_IDR || type === H264_SPS;
}

/** The packets as a jitter buffer orders them: by unwrapped sequence number, each once. */
export function inSequenceOrder(packets: readonly Buffer[]): Buffer[] {
  const bySequence = new Map<number, Buffer>();
  let last: number | undefined;
  for (const packet of packets) {
    const sequence = parseRtp(packet).sequenceNumber;
    const extended =
      last === undefined ? sequence : last + ((((sequence - last) & 0xffff) ^ 0x8000) - 0x8000);
    last = extended;
    if (!bySequence.has(extended)) bySequence.set(extended, packet);
  }
  return [...bySequence.entries()].sort(([a], [b]) => a - b).map(([, packet]) => packet);
}

/** Places where the sequence numbers, in arrival order, do not go up by exactly one. */
export function sequenceBreaks(packets: readonly Buffer[]): string[] {
  const breaks: string[] = [];
  for (let i = 1; i < packets.length; i++) {
    const previous = parseRtp(packets[i - 1]!).sequenceNumber;
    const current = parseRtp(packets[i]!).sequenceNumber;
    if (current !== ((previous + 1) & 0xffff)) breaks.push(`#${i}: ${previous} → ${current}`);
  }
  return breaks;
}

/** Frames (by marker bit) whose timestamp does not move forward from the previous frame's. */
export function timestampsBackward(packets: readonly Buffer[]): number {
  let backward = 0;
  let previous: number | undefined;
  for (const packet of packets) {
    const rtp = parseRtp(packet);
    if (!rtp.marker) continue;
    if (previous !== undefined) {
      const step = (rtp.timestamp - previous) >>> 0;
      if (step === 0 || step >= 0x80000000) backward++;
    }
    previous = rtp.timestamp;
  }
  return backward;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
