import { EventEmitter } from "node:events";
import { dropMalformedPackets } from "../rtp/packet-check";
import { nalUnitType, type ParameterSetCodec, ParameterSetStore } from "../rtp/parameter-set-store";
import { extractParameterSets } from "../rtp/parameter-sets";
import { parseRtpHeader, rtpPayload } from "../rtp/rtp-packet";
import type { AccessUnit, MediaKind, StreamInfo } from "../rtp/stream-info";
import { FrameHistory } from "./frame-history";
import { withParameterSets } from "./parameter-set-prefix";
import { StreamMeter, type StreamMeterReading } from "./stream-meter";

export type MediaFilter = "all" | "video" | "audio";

/** On open, first replay nothing, the frames since the last keyframe, or at least N seconds from a keyframe. */
export type PreRoll =
  | { readonly kind: "none" }
  | { readonly kind: "gop" }
  | { readonly kind: "seconds"; readonly seconds: number };

export interface GateOptions {
  /** Open at start. */
  readonly open: boolean;
  readonly filter: MediaFilter;
  /** Seconds after an open that the gate closes itself; 0: it stays open. */
  readonly autoCloseS: number;
  readonly preRoll: PreRoll;
}

export interface FanoutOptions {
  readonly gates: readonly GateOptions[];
  /** Bounds of the pre-roll history (bytes); default 32 MiB. */
  readonly historyMaxBytes?: number;
}

export type GateCause = "command" | "timer";

export interface GateStats {
  /** 0-based. */
  readonly output: number;
  readonly open: boolean;
  /** Open, but waiting for a keyframe to start at. */
  readonly waitingForKeyframe: boolean;
  /** Seconds until an open gate closes itself. */
  readonly closesInS?: number;
  readonly filter: MediaFilter;
  readonly frames: number;
  readonly bytes: number;
}

export interface FanoutStats {
  readonly stream: StreamMeterReading & {
    readonly id?: string;
    readonly session?: number;
    /** Packets dropped from frames since the start (see dropMalformedPackets). */
    readonly malformedPackets: number;
    /** Frames dropped since the start because none of their packets was usable. */
    readonly malformedFrames: number;
  };
  readonly outputs: readonly GateStats[];
}

interface Events<T> {
  /** A frame for one output. `unit` is the frame as the output gets it (parameter sets may lead it). */
  deliver: [output: number, unit: AccessUnit, stream: StreamInfo, carry: T];
  gate: [output: number, open: boolean, cause: GateCause];
}

interface Frame<T> {
  readonly unit: AccessUnit;
  readonly stream: StreamInfo;
  readonly carry: T;
  readonly kind: MediaKind;
  readonly keyframe: boolean;
  readonly receivedAt: number;
  readonly bytes: number;
}

interface Gate {
  readonly index: number;
  readonly options: GateOptions;
  open: boolean;
  /** Started at a keyframe (or needs none) in the current source session. */
  started: boolean;
  closeTimer: NodeJS.Timeout | undefined;
  closesAt: number | undefined;
  frames: number;
  bytes: number;
}

const DEFAULT_HISTORY_BYTES = 32 * 1024 * 1024;

function parameterSetCodec(stream: StreamInfo): ParameterSetCodec | undefined {
  const video = stream.media.find((m) => m.kind === "video");
  return video?.codec === "H264" || video?.codec === "H265" ? video.codec : undefined;
}

/**
 * One stream in, N gated outputs: rtp-fanout's engine. Frames are handed on as they are: the
 * same AccessUnit and the same packet Buffers for every output; only an output's first keyframe
 * gets a new packet list when parameter sets must lead it. Every output that opens starts at a video
 * keyframe (unless it takes audio only), after a camera reconnect too. `T` is whatever the caller
 * carries along with each frame (the Node-RED message), handed back with each delivery.
 */
export class RtpFanout<T> extends EventEmitter<Events<T>> {
  private readonly gates: Gate[];
  private readonly history: FrameHistory<Frame<T>> | undefined;
  private readonly meter = new StreamMeter();
  private stream: StreamInfo | undefined;
  private sessionKey = "";
  private parameterSets: ParameterSetStore | undefined;
  private closed = false;
  private malformedPackets = 0;
  private malformedFrames = 0;

  constructor(options: FanoutOptions) {
    super();
    this.gates = options.gates.map((gateOptions, index) => ({
      index,
      options: gateOptions,
      open: false,
      started: false,
      closeTimer: undefined,
      closesAt: undefined,
      frames: 0,
      bytes: 0,
    }));
    const seconds = options.gates.map((g) =>
      g.preRoll.kind === "seconds" ? g.preRoll.seconds : g.preRoll.kind === "gop" ? 0 : -1,
    );
    const longest = Math.max(-1, ...seconds);
    this.history =
      longest >= 0
        ? new FrameHistory({ seconds: longest, maxBytes: options.historyMaxBytes ?? DEFAULT_HISTORY_BYTES })
        : undefined;
  }

  get outputCount(): number {
    return this.gates.length;
  }

  /** Opens the gates configured open, without "gate" events: that is where they start, not a change. */
  start(): void {
    for (const gate of this.gates) if (gate.options.open) this.openGate(gate, undefined, undefined);
  }

  isOpen(output: number): boolean {
    return this.gates[output]?.open === true;
  }

  /**
   * Takes one frame of `stream`. Malformed packets are taken out of it first (and counted); a frame
   * left with none is dropped. Never throws on bad input.
   */
  push(given: AccessUnit, stream: StreamInfo, carry: T, now = performance.now()): void {
    if (this.closed) return;
    const codec = stream.media.find((m) => m.mid === given.mid && m.kind === given.kind)?.codec;
    const checked = dropMalformedPackets(given.packets, given.kind === "video" ? codec : undefined);
    if (checked.malformed > 0) {
      this.malformedPackets += checked.malformed;
      if (checked.packets.length === 0) {
        this.malformedFrames++;
        return;
      }
    }
    const unit = checked.malformed > 0 ? { ...given, packets: checked.packets } : given;
    const key = `${stream.id}\n${stream.session}`;
    if (key !== this.sessionKey) this.adopt(stream, key);
    this.meter.add(unit, stream, now);
    let bytes = 0;
    for (const packet of unit.packets) bytes += packet.length;
    const frame: Frame<T> = {
      unit,
      stream,
      carry,
      kind: unit.kind,
      keyframe: unit.keyframe,
      receivedAt: now,
      bytes,
    };
    if (unit.kind === "video" && unit.keyframe) this.learnParameterSets(unit);
    this.history?.push(frame);
    for (const gate of this.gates) if (gate.open) this.deliver(gate, frame);
  }

  /** Opens `output` (0-based); an open one only has its close timer set again. `seconds` overrides the configured auto-close (0: stays open). */
  open(output: number, seconds?: number): void {
    const gate = this.gates[output];
    if (gate === undefined || this.closed) return;
    if (gate.open) {
      this.armTimer(gate, seconds);
      return;
    }
    this.openGate(gate, seconds, "command");
  }

  close(output: number, cause: GateCause = "command"): void {
    const gate = this.gates[output];
    if (gate === undefined || !gate.open) return;
    clearTimeout(gate.closeTimer);
    gate.closeTimer = undefined;
    gate.closesAt = undefined;
    gate.open = false;
    this.emit("gate", gate.index, false, cause);
  }

  stats(now = performance.now()): FanoutStats {
    return {
      stream: {
        ...this.meter.read(now),
        id: this.stream?.id,
        session: this.stream?.session,
        malformedPackets: this.malformedPackets,
        malformedFrames: this.malformedFrames,
      },
      outputs: this.gates.map((gate) => ({
        output: gate.index,
        open: gate.open,
        waitingForKeyframe: gate.open && !gate.started,
        ...(gate.closesAt === undefined
          ? {}
          : { closesInS: Math.max(0, Math.ceil((gate.closesAt - now) / 1000)) }),
        filter: gate.options.filter,
        frames: gate.frames,
        bytes: gate.bytes,
      })),
    };
  }

  /** Stops every timer and forgets the history; nothing is delivered afterwards. */
  dispose(): void {
    this.closed = true;
    for (const gate of this.gates) clearTimeout(gate.closeTimer);
    this.history?.clear();
    this.removeAllListeners();
  }

  private openGate(gate: Gate, seconds: number | undefined, cause: GateCause | undefined): void {
    gate.open = true;
    gate.started = false;
    this.armTimer(gate, seconds);
    if (cause) this.emit("gate", gate.index, true, cause);
    const preRoll = gate.options.preRoll;
    if (preRoll.kind === "none" || this.history === undefined) return;
    const replay = this.history.replay(preRoll.kind === "seconds" ? preRoll.seconds : 0, performance.now());
    for (const frame of replay) {
      if (!gate.open) return; // a listener closed it
      this.deliver(gate, frame);
    }
  }

  private armTimer(gate: Gate, seconds: number | undefined): void {
    clearTimeout(gate.closeTimer);
    gate.closeTimer = undefined;
    gate.closesAt = undefined;
    const after = seconds ?? gate.options.autoCloseS;
    if (!(after > 0)) return;
    gate.closesAt = performance.now() + after * 1000;
    gate.closeTimer = setTimeout(() => this.close(gate.index, "timer"), after * 1000);
  }

  private deliver(gate: Gate, frame: Frame<T>): void {
    const filter = gate.options.filter;
    if (filter !== "all" && filter !== frame.kind) return;
    let unit = frame.unit;
    if (!gate.started) {
      const needsKeyframe = filter !== "audio" && frame.stream.media.some((m) => m.kind === "video");
      if (needsKeyframe) {
        if (frame.kind !== "video" || !frame.keyframe) return;
        const packets = this.parameterSets ? withParameterSets(unit.packets, this.parameterSets) : undefined;
        if (packets) unit = { ...unit, packets };
      }
      gate.started = true;
    }
    gate.frames++;
    gate.bytes += frame.bytes;
    this.emit("deliver", gate.index, unit, frame.stream, frame.carry);
  }

  /** A new source session: its own parameter sets and history; every output starts again at a keyframe. */
  private adopt(stream: StreamInfo, key: string): void {
    this.stream = stream;
    this.sessionKey = key;
    this.history?.clear();
    const codec = parameterSetCodec(stream);
    const video = stream.media.find((m) => m.kind === "video");
    this.parameterSets = codec ? new ParameterSetStore(codec, video?.parameterSets ?? []) : undefined;
    for (const gate of this.gates) gate.started = false;
  }

  private learnParameterSets(unit: AccessUnit): void {
    const store = this.parameterSets;
    if (store === undefined) return;
    store.beginFrame();
    for (const packet of unit.packets) {
      const header = parseRtpHeader(packet);
      if (header === undefined) continue;
      for (const nal of extractParameterSets(rtpPayload(packet, header), store.codec)) {
        const index = store.indexOf(nalUnitType(store.codec, nal[0] ?? 0));
        if (index >= 0) store.offer(index, nal);
      }
    }
  }
}
