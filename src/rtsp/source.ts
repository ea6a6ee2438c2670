import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import { AccessUnitAssembler } from "../rtp/access-unit";
import type { AccessUnit, MediaInfo, StreamInfo } from "../rtp/stream-info";
import { Backoff, type BackoffOptions, DEFAULT_BACKOFF } from "./backoff";
import { RtspError } from "./errors";
import { RtspSession, type SessionOptions, type SessionTrack, type TransportMode } from "./session";
import { VideoSizeProbe } from "./video-size-probe";

export type SourceTransport = TransportMode | "auto";
export type SourceState = "connecting" | "playing" | "retrying" | "stopped" | "error";

export interface SourceOptions extends Omit<SessionOptions, "transport" | "firstPacketTimeoutMs"> {
  readonly transport: SourceTransport;
  readonly backoff?: BackoffOptions;
  /** In `auto`, how long UDP may stay silent before TCP is tried. */
  readonly udpFallbackMs?: number;
  /** StreamInfo.id; a random id when not given. */
  readonly id?: string;
}

export interface StateEvent {
  readonly state: SourceState;
  readonly reason?: string;
  readonly retryInMs?: number;
  readonly transport?: TransportMode;
  readonly stream?: StreamInfo;
}

export interface SourceStats {
  readonly bitrateBps: number;
  readonly framesPerSecond: number;
  readonly packetsPerSecond: number;
}

export interface RtspSourceEvents {
  state: [event: StateEvent];
  frame: [unit: AccessUnit, stream: StreamInfo];
  /** A session sent the password with Basic over rtsp:// (the camera, "host:port", asked for it): once per session. */
  plaintextPassword: [server: string];
}

/**
 * A camera kept playing: sessions one after another with capped, jittered backoff in between, `auto`
 * falling back from UDP to TCP, and RTP assembled into access units stamped with the session's StreamInfo.
 */
export class RtspSource extends EventEmitter<RtspSourceEvents> {
  private readonly backoff: Backoff;
  private readonly id: string;
  private sessionCount = 0;
  private current: RtspSession | undefined;
  private currentStream: StreamInfo | undefined;
  private lastState: StateEvent = { state: "stopped" };
  private running: Promise<void> | undefined;
  private stopRequested = false;
  private wakeUp: (() => void) | undefined;
  private transportNow: TransportMode;
  private readonly sizeProbe = new VideoSizeProbe();
  private window = { startedAt: Date.now(), bytes: 0, frames: 0, packets: 0 };

  constructor(private readonly options: SourceOptions) {
    super();
    this.backoff = new Backoff(options.backoff ?? DEFAULT_BACKOFF);
    this.id = options.id ?? randomUUID();
    this.transportNow = options.transport === "tcp" ? "tcp" : "udp";
  }

  get state(): StateEvent {
    return this.lastState;
  }

  get stream(): StreamInfo | undefined {
    return this.currentStream;
  }

  /** Width and height of the video, from the SDP or the first in-band SPS. */
  get videoSize(): { width: number; height: number } | undefined {
    return this.sizeProbe.size;
  }

  get transport(): TransportMode {
    return this.transportNow;
  }

  /** Rates since the previous call. */
  sampleStats(): SourceStats {
    const now = Date.now();
    const seconds = Math.max((now - this.window.startedAt) / 1000, 0.001);
    const stats = {
      bitrateBps: (this.window.bytes * 8) / seconds,
      framesPerSecond: this.window.frames / seconds,
      packetsPerSecond: this.window.packets / seconds,
    };
    this.window = { startedAt: now, bytes: 0, frames: 0, packets: 0 };
    return stats;
  }

  start(): void {
    if (this.running) return;
    this.stopRequested = false;
    this.backoff.reset();
    this.transportNow = this.options.transport === "tcp" ? "tcp" : "udp";
    this.running = this.run().finally(() => {
      this.running = undefined;
    });
  }

  /** Tears the session down and stays stopped until start(). */
  async stop(): Promise<void> {
    this.stopRequested = true;
    this.wakeUp?.();
    await this.current?.close();
    await this.running;
    if (this.lastState.state !== "stopped") this.setState({ state: "stopped" });
  }

  async restart(): Promise<void> {
    await this.stop();
    this.start();
  }

  async close(): Promise<void> {
    await this.stop();
    this.removeAllListeners();
  }

  private async run(): Promise<void> {
    while (!this.stopRequested) {
      const error = await this.runSession();
      if (this.stopRequested) return;
      if (error.code === "bad-url") {
        this.setState({ state: "error", reason: error.message });
        return;
      }
      if (this.shouldFallBackToTcp(error)) {
        this.transportNow = "tcp";
        continue;
      }
      const delay = this.backoff.next();
      this.setState({
        state: "retrying",
        reason: error.message,
        retryInMs: delay,
        transport: this.transportNow,
      });
      await this.sleep(delay);
    }
  }

  private shouldFallBackToTcp(error: RtspError): boolean {
    return (
      this.options.transport === "auto" &&
      this.transportNow === "udp" &&
      (error.code === "unsupported" || (error.code === "no-media" && (this.current?.packets ?? 0) === 0))
    );
  }

  /** Resolves with the error that ended the session (an orderly stop ends it too). */
  private async runSession(): Promise<RtspError> {
    this.setState({ state: "connecting", transport: this.transportNow });
    let session: RtspSession;
    try {
      session = new RtspSession({
        ...this.options,
        transport: this.transportNow,
        firstPacketTimeoutMs:
          this.options.transport === "auto" && this.transportNow === "udp"
            ? (this.options.udpFallbackMs ?? 3000)
            : undefined,
      });
    } catch (err) {
      return err instanceof RtspError ? err : new RtspError(String(err), "bad-url");
    }
    this.current = session;
    const ended = new Promise<RtspError>((resolve) => {
      session.once("close", (error) => resolve(error ?? new RtspError("session ended", "network")));
    });
    session.on("ready", (tracks) => this.onReady(session, tracks));
    session.on("plaintextPassword", (server) => this.emit("plaintextPassword", server));
    try {
      await session.play();
    } catch (err) {
      return err instanceof RtspError ? err : new RtspError(String(err), "protocol");
    }
    if (this.stopRequested) {
      await session.close();
      return new RtspError("stopped", "network");
    }
    this.setState({ state: "playing", transport: this.transportNow, stream: this.currentStream });
    return ended;
  }

  private onReady(session: RtspSession, tracks: readonly SessionTrack[]): void {
    this.sessionCount++;
    const media = tracks.map((t) => publicMedia(t.media));
    const stream: StreamInfo = Object.freeze({
      id: this.id,
      session: this.sessionCount,
      media: Object.freeze(media),
    });
    this.currentStream = stream;
    this.sizeProbe.reset(media);
    const assemblers = media.map(
      (m) => new AccessUnitAssembler({ kind: m.kind, mid: m.mid, codec: m.codec }),
    );
    let working = false;
    session.on("rtp", (track, packet) => {
      if (!working) {
        working = true;
        this.backoff.reset();
      }
      this.window.bytes += packet.length;
      this.window.packets++;
      const assembler = assemblers[track];
      if (!assembler) return;
      for (const unit of assembler.push(packet)) {
        if (unit.kind === "video") {
          this.window.frames++;
          if (unit.keyframe && !this.sizeProbe.size) this.sizeProbe.inspect(unit, media[track]!);
        }
        this.emit("frame", unit, stream);
      }
    });
  }

  private setState(event: StateEvent): void {
    this.lastState = event;
    this.emit("state", event);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = () => {
        this.wakeUp = undefined;
        done();
      };
    });
  }
}

/** The MediaInfo msg.stream carries: no control URL (a camera may echo credentials in it). */
function publicMedia(media: MediaInfo & { control?: string }): MediaInfo {
  const { control: _control, ...rest } = media;
  return Object.freeze({
    ...rest,
    fmtp: Object.freeze({ ...rest.fmtp }),
    parameterSets: rest.parameterSets ? Object.freeze([...rest.parameterSets]) : undefined,
  });
}
