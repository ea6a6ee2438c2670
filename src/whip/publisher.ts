import { EventEmitter } from "node:events";
import type { AccessUnit, StreamInfo } from "../rtp/stream-info";
import { Backoff, type BackoffOptions } from "../rtsp/backoff";
import { GopCache } from "../webrtc/gop-cache";
import type { IceServer } from "../webrtc/ice-config";
import { followMedia, isNewStream, type MediaPipe, pipeOf, pipeOutgrown } from "../webrtc/media-pipes";
import type { OutputFrame } from "../webrtc/stream-normalizer";
import type { PacingOptions } from "../webrtc/viewer-track";
import { type CodecPlan, codecPlan } from "./codecs";
import { WhipError } from "./errors";
import { PublishSession, type SessionTimeouts } from "./session";

export type WhipState = "connecting" | "publishing" | "retrying" | "stopped" | "error";

export interface WhipStateEvent {
  readonly state: WhipState;
  /** Why it is retrying or in error: one line, no secret in it. */
  readonly reason?: string;
  /** The WhipError code behind `reason`. */
  readonly code?: string;
  readonly retryInMs?: number;
  /** "H264 1280x720" while publishing. */
  readonly media?: string;
  /** The negotiated codecs while publishing ("H264 42e01f + PCMA/8000"). */
  readonly codecs?: string;
}

export interface WhipPublisherOptions {
  /** The WHIP endpoint (http: or https:). */
  readonly endpoint: string;
  /** Sent as `Authorization: Bearer <token>` when set. */
  readonly token?: string;
  /** STUN/TURN servers; those the server announces (Link headers) are added for the next publishes. */
  readonly iceServers?: readonly IceServer[];
  /**
   * Addresses announced as host candidates besides the interfaces' own. Default: 127.0.0.1 when the
   * endpoint is on loopback (werift leaves loopback out otherwise), else none.
   */
  readonly additionalHostAddresses?: readonly string[];
  readonly timeouts?: Partial<SessionTimeouts>;
  /** Default 1 s doubling to 30 s, ±20 %. */
  readonly backoff?: BackoffOptions;
  /** A publish that lasted this long resets the backoff. Default 10 s. */
  readonly stableMs?: number;
  /** Largest response body read. Default 64 KiB. */
  readonly maxBodyBytes?: number;
  /**
   * Media starts this long after the connection is up. The server's end of DTLS may still be setting
   * up its SRTP keys when ours is done: packets sent at once are lost, and no NACK asks for them (they
   * come before the first it got), so the picture would wait for a PLI. Default 200 ms.
   */
  readonly startDelayMs?: number;
  /** Repeated keyframe requests are answered at most this often. Default 500 ms. */
  readonly keyframeAnswerMs?: number;
  readonly pacing?: PacingOptions;
  /**
   * Trickle ICE: the offer goes out with the candidates gathered in its first moments, the later ones
   * (STUN, TURN) by PATCH. Default true; a server that refuses PATCH, or a trickled publish that never
   * connects, turns it off for this publisher's next publishes.
   */
  readonly trickle?: boolean;
}

export interface WhipPublisherEvents {
  state: [WhipStateEvent];
  /** A keyframe request from the server, and whether the cached GOP went out for it. */
  keyframeRequest: [answered: boolean];
}

export const WHIP_BACKOFF: BackoffOptions = {
  delaysMs: [1000, 2000, 4000, 8000, 16000, 30000],
  jitter: 0.2,
};

const DEFAULT_TIMEOUTS: SessionTimeouts = {
  requestMs: 10_000,
  gatherMs: 3_000,
  trickleMs: 100,
  connectMs: 15_000,
  silenceMs: 15_000,
};

/**
 * @throws WhipError "bad-endpoint" for a URL that is not http(s).
 */
export function parseEndpoint(endpoint: string): URL {
  let url: URL;
  try {
    url = new URL(endpoint.trim());
  } catch {
    throw new WhipError("bad-endpoint", "the WHIP endpoint is not a URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new WhipError("bad-endpoint", `the WHIP endpoint must be http: or https:, not ${url.protocol}`);
  return url;
}

function isLoopbackHost(hostname: string): boolean {
  return hostname === "localhost" || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

/**
 * Publishes one stream to a WHIP server and keeps it published: the stream's access units are
 * normalized once (parameter sets before keyframes, 1200-byte packets, a continuous timeline across
 * camera restarts) and sent to the current session; a session that ends for any reason is replaced
 * after a capped, jittered backoff. A keyframe request is answered from the cached GOP at once.
 */
export class WhipPublisher extends EventEmitter<WhipPublisherEvents> {
  private readonly endpoint: URL | undefined;
  private readonly endpointError: WhipError | undefined;
  private readonly timeouts: SessionTimeouts;
  private readonly backoff: Backoff;
  private readonly gop = new GopCache();
  private video: MediaPipe | undefined;
  private audio: MediaPipe | undefined;
  private current: StreamInfo | undefined;
  private plan: CodecPlan | undefined;
  /** Why the stream cannot be published (nothing WebRTC carries), while that is so. */
  private planProblem: WhipError | undefined;
  private keyedSession: number | undefined;
  private lastVideoTimestamp: number | undefined;
  private session: PublishSession | undefined;
  private announced: IceServer[] = [];
  private running = false;
  private closed = false;
  private loop: Promise<void> | undefined;
  private abort = new AbortController();
  /** Resolves the wait for the stream's first message. */
  private wakePlan: (() => void) | undefined;
  /** Ends the backoff sleep early (stop). */
  private wakeSleep: (() => void) | undefined;
  private sleepTimer: NodeJS.Timeout | undefined;
  private lastState: WhipStateEvent = { state: "stopped" };
  private lastKeyframeAnswer = Number.NEGATIVE_INFINITY;
  /** Media waits until then (performance.now()); see startDelayMs. */
  private mediaFrom = 0;
  private startTimer: NodeJS.Timeout | undefined;
  private window = { startedAt: performance.now(), bytes: 0 };
  /** Whether the next publish trickles its candidates (see WhipPublisherOptions.trickle). */
  private trickle: boolean;
  /** Why trickling was turned off, while it is. */
  private trickleOffFor: "refused" | "not-connected" | undefined;
  private bitrate = 0;

  constructor(private readonly opts: WhipPublisherOptions) {
    super();
    try {
      this.endpoint = parseEndpoint(opts.endpoint);
    } catch (error) {
      this.endpointError = error as WhipError;
    }
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...opts.timeouts };
    this.backoff = new Backoff(opts.backoff ?? WHIP_BACKOFF);
    this.trickle = opts.trickle ?? true;
  }

  /** Whether the next publish trickles its candidates by PATCH. */
  get trickling(): boolean {
    return this.trickle;
  }

  get state(): WhipStateEvent {
    return this.lastState;
  }

  /** The endpoint's host (what a status may show). */
  get host(): string {
    return this.endpoint?.host ?? "";
  }

  /** Bits per second sent over the last few seconds (video and audio as received). */
  get bitrateBps(): number {
    this.sampleRate();
    return this.bitrate;
  }

  /** The ICE servers the server announced last (Link headers), used from the next publish on. */
  get announcedIceServers(): readonly IceServer[] {
    return this.announced;
  }

  /** Packets the current session resent for NACKs. */
  get retransmitted(): number {
    return this.session?.retransmitted ?? 0;
  }

  /** start() came while a stop was still ending the publish. */
  private startAfterStop = false;

  /** Starts publishing (once the stream's first message tells what it carries). */
  start(): void {
    if (this.closed || this.running) return;
    // A stop still ending its publish (its DELETE on the way): start after it, not beside it.
    if (this.loop !== undefined) {
      this.startAfterStop = true;
      return;
    }
    if (this.endpointError !== undefined) {
      this.setState({ state: "error", reason: this.endpointError.message, code: this.endpointError.code });
      return;
    }
    this.running = true;
    this.abort = new AbortController();
    this.backoff.reset();
    this.loop = this.run().finally(() => {
      this.loop = undefined;
      if (!this.startAfterStop) return;
      this.startAfterStop = false;
      this.start();
    });
    const problem = this.planProblem;
    if (problem !== undefined) this.setState({ state: "error", reason: problem.message, code: problem.code });
  }

  /** Ends the publish (its resource DELETEd) and stays stopped until start(). */
  async stop(): Promise<void> {
    this.startAfterStop = false;
    if (!this.running) {
      await this.loop;
      return;
    }
    this.running = false;
    this.abort.abort();
    this.wakePlan?.();
    this.wakeSleep?.();
    await this.session?.close();
    await this.loop;
    this.setState({ state: "stopped" });
  }

  /** Stops and forgets the stream; always completes. */
  async close(): Promise<void> {
    this.closed = true;
    await this.stop();
    this.gop.clear();
    this.removeAllListeners();
  }

  /** One access unit of the stream. Never throws on bad input. */
  push(unit: AccessUnit, stream: StreamInfo): void {
    if (this.closed) return;
    if (isNewStream(this.current, stream)) this.adopt(stream);
    const pipe = pipeOf(unit, this.video, this.audio);
    if (pipe === undefined) return;
    const frame = pipe.normalizer.push(unit, stream.session);
    if (frame !== undefined) this.deliver(frame);
  }

  private adopt(stream: StreamInfo): void {
    this.current = stream;
    // codecPlan leaves out the video codecs it cannot publish, and names them when nothing is left.
    const video = stream.media.find((m) => m.kind === "video");
    const audio = stream.media.find((m) => m.kind === "audio");
    let plan: CodecPlan | undefined;
    let problem: WhipError | undefined;
    try {
      plan = codecPlan(video, audio);
    } catch (error) {
      problem = error as WhipError;
    }
    const renegotiate =
      this.plan !== undefined &&
      (pipeOutgrown(this.video, video) || pipeOutgrown(this.audio, audio) || plan === undefined);
    if (renegotiate) {
      this.video = undefined;
      this.audio = undefined;
      this.keyedSession = undefined;
      this.lastVideoTimestamp = undefined;
    }
    this.video = followMedia(this.video, plan !== undefined && plan.video.length > 0 ? video : undefined);
    this.audio = followMedia(this.audio, plan !== undefined && plan.audio.length > 0 ? audio : undefined);
    // The previous session's frames cannot be followed by the new session's.
    this.gop.clear();
    this.plan = plan;
    this.planProblem = problem;
    if (problem !== undefined) {
      if (this.session !== undefined) this.endSession(problem, 0);
      else if (this.running) this.setState({ state: "error", reason: problem.message, code: problem.code });
      return;
    }
    // A new codec: the session negotiated the old one and must be replaced at once.
    if (renegotiate) this.endSession(new WhipError("no-codec", "the stream's codec changed"), 0);
    this.wakePlan?.();
  }

  private deliver(frame: OutputFrame): void {
    let bytes = 0;
    for (const packet of frame.packets) bytes += packet.length;
    this.window.bytes += bytes;
    if (frame.kind === "video") {
      // A restarted camera resumes mid-GOP: its frames are useless to a decoder until its keyframe.
      if (frame.sourceSession !== this.keyedSession) {
        if (!frame.keyframe) return;
        this.keyedSession = frame.sourceSession;
      }
      this.gop.push(frame);
      const session = this.session;
      if (session === undefined || frame.receivedAt < this.mediaFrom) return;
      if (session.waitingForKeyframe && !frame.keyframe) {
        // Started mid-GOP: the GOP so far goes out at once instead of waiting for the next keyframe.
        const sent = session.replay(this.gop.framesSinceKeyframe(), undefined);
        if (sent !== undefined) this.lastVideoTimestamp = sent;
        return;
      }
      session.send(frame);
      this.lastVideoTimestamp = frame.timestamp;
      return;
    }
    if (frame.receivedAt >= this.mediaFrom) this.session?.send(frame);
  }

  private keyframeRequested(session: PublishSession): void {
    const now = performance.now();
    let answered = false;
    if (now - this.lastKeyframeAnswer >= (this.opts.keyframeAnswerMs ?? 500)) {
      const sent = session.replay(this.gop.framesSinceKeyframe(), this.lastVideoTimestamp);
      answered = sent !== undefined;
      if (answered) {
        this.lastKeyframeAnswer = now;
        // A fresh start (nothing sent yet) leaves it unset, as before: the next live frame sets it.
        if (this.lastVideoTimestamp !== undefined) this.lastVideoTimestamp = sent;
      }
    }
    this.emit("keyframeRequest", answered);
  }

  private sampleRate(): void {
    const now = performance.now();
    const elapsed = now - this.window.startedAt;
    if (elapsed < 1000) return;
    this.bitrate = Math.round((this.window.bytes * 8 * 1000) / elapsed);
    this.window = { startedAt: now, bytes: 0 };
  }

  private mediaLabel(): string {
    return this.plan?.label ?? "";
  }

  private endError: ((error: WhipError, delayMs?: number) => void) | undefined;

  /** Ends the current publish with `error` (a retry follows, after `delayMs` when given). */
  private endSession(error: WhipError, delayMs?: number): void {
    this.endError?.(error, delayMs);
  }

  private async run(): Promise<void> {
    while (this.running) {
      const plan = await this.waitForPlan();
      if (plan === undefined || this.endpoint === undefined) return;
      const outcome = await this.publishOnce(this.endpoint, plan);
      if (!this.running) return;
      const problem = this.planProblem;
      if (problem !== undefined) {
        // Nothing to publish until the stream changes: said once, no retries in the meantime.
        this.setState({ state: "error", reason: problem.message, code: problem.code });
        continue;
      }
      if (outcome.lastedMs >= (this.opts.stableMs ?? 10_000)) this.backoff.reset();
      const delay = outcome.delayMs ?? this.backoff.next();
      this.setState({
        state: "retrying",
        reason: outcome.error.message,
        code: outcome.error.code,
        retryInMs: delay,
      });
      await this.sleep(delay);
    }
  }

  /** The codec plan once the stream is known (and WebRTC can carry it); undefined when stopped. */
  private async waitForPlan(): Promise<CodecPlan | undefined> {
    while (this.running && this.plan === undefined) {
      await new Promise<void>((resolve) => {
        this.wakePlan = resolve;
      });
      this.wakePlan = undefined;
    }
    return this.running ? this.plan : undefined;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(this.sleepTimer);
        this.wakeSleep = undefined;
        resolve();
      };
      this.wakeSleep = done;
      this.sleepTimer = setTimeout(done, ms);
    });
  }

  /**
   * Trickling was turned off because a trickled publish did not connect; if one with every candidate
   * in its offer fails to connect as well, trickle was not the cause (the network is): it comes back.
   */
  private afterFailedPublish(error: WhipError, trickled: boolean): void {
    if (!trickled && error.code === "ice-failed" && this.trickleOffFor === "not-connected") {
      this.trickle = this.opts.trickle ?? true;
      this.trickleOffFor = undefined;
    }
  }

  private async publishOnce(
    endpoint: URL,
    plan: CodecPlan,
  ): Promise<{ error: WhipError; lastedMs: number; delayMs?: number }> {
    this.setState({ state: "connecting" });
    const trickled = this.trickle;
    let session: PublishSession;
    try {
      session = await PublishSession.open({
        endpoint,
        ...(this.opts.token !== undefined ? { token: this.opts.token } : {}),
        iceServers: [...(this.opts.iceServers ?? []), ...this.announced],
        additionalHostAddresses:
          this.opts.additionalHostAddresses ?? (isLoopbackHost(endpoint.hostname) ? ["127.0.0.1"] : []),
        plan,
        timeouts: this.timeouts,
        maxBodyBytes: this.opts.maxBodyBytes ?? 64 * 1024,
        ...(this.opts.pacing !== undefined ? { pacing: this.opts.pacing } : {}),
        signal: this.abort.signal,
        trickle: this.trickle,
        onTrickleUnusable: (why) => {
          this.trickle = false;
          this.trickleOffFor = why;
        },
      });
    } catch (error) {
      this.afterFailedPublish(error as WhipError, trickled);
      return { error: error as WhipError, lastedMs: 0 };
    }
    this.announced = session.announcedIceServers;
    if (!this.running || this.plan !== plan) {
      await session.close();
      return { error: new WhipError("no-codec", "the stream's codec changed"), lastedMs: 0, delayMs: 0 };
    }
    const startedAt = performance.now();
    const ended = new Promise<{ error: WhipError; delayMs?: number }>((resolve) => {
      session.once("ended", (error) => resolve({ error }));
      this.endError = (error, delayMs) => resolve({ error, ...(delayMs !== undefined ? { delayMs } : {}) });
    });
    session.on("keyframeRequest", () => this.keyframeRequested(session));
    this.session = session;
    this.lastVideoTimestamp = undefined;
    const startDelayMs = this.opts.startDelayMs ?? 200;
    this.mediaFrom = performance.now() + startDelayMs;
    this.startTimer = setTimeout(() => {
      // The picture starts from the GOP so far (the session would wait for a keyframe otherwise).
      if (this.session !== session) return;
      const sent = session.replay(this.gop.framesSinceKeyframe(), undefined);
      if (sent !== undefined) this.lastVideoTimestamp = sent;
    }, startDelayMs);
    this.setState({ state: "publishing", media: this.mediaLabel(), codecs: session.codecs });
    const signal = this.abort.signal;
    let onAbort = (): void => {};
    const stopped = new Promise<{ error: WhipError }>((resolve) => {
      onAbort = () => resolve({ error: new WhipError("aborted", "stopped") });
      if (signal.aborted) onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
    });
    const outcome = await Promise.race([ended, stopped]);
    signal.removeEventListener("abort", onAbort);
    clearTimeout(this.startTimer);
    this.endError = undefined;
    this.session = undefined;
    await session.close();
    return { ...outcome, lastedMs: performance.now() - startedAt };
  }

  private setState(event: WhipStateEvent): void {
    if (event.state === "stopped" && this.lastState.state === "stopped") return;
    this.lastState = event;
    this.emit("state", event);
  }
}
