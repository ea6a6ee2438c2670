import { EventEmitter } from "node:events";
import { RTCPeerConnection, type RTCRtpTransceiver, type RTCSessionDescription } from "werift";
import { DirectRtpSink } from "../webrtc/direct-rtp-sink";
import { type IceServer, peerIceConfig, withoutDefaultStun } from "../webrtc/ice-config";
import { onKeyframeRequest } from "../webrtc/keyframe-request";
import type { OutputFrame } from "../webrtc/stream-normalizer";
import { waitForGathering } from "../webrtc/viewer";
import { type PacingOptions, ViewerTrack } from "../webrtc/viewer-track";
import { type AnswerChoice, type CodecPlan, checkAnswer, weriftCodecs } from "./codecs";
import { asWhipError, statusText, WhipError } from "./errors";
import { Gathering } from "./gathering";
import { whipRequest } from "./http";
import { iceServersFromLinks } from "./link-header";
import { resourceUrl } from "./location";
import { CandidateTrickler, offerWithCandidates } from "./trickle";

export interface SessionTimeouts {
  /** Each HTTP exchange (POST, PATCH, DELETE). Default 10 s. */
  readonly requestMs: number;
  /** ICE gathering before the offer goes out (vanilla ICE). Default 3 s. */
  readonly gatherMs: number;
  /**
   * Trickle ICE: the offer goes out this long after gathering starts, with the candidates so far (at
   * least one); the rest follow by PATCH. Default 100 ms (host candidates take a few).
   */
  readonly trickleMs: number;
  /** From the answer to a connected peer. Default 15 s. */
  readonly connectMs: number;
  /**
   * Nothing heard from the server (consent responses every 4-6 s, RTCP) this long: it is gone (a
   * crashed or restarted SFU says nothing; werift's own consent expiry waits 30 s). Default 15 s.
   */
  readonly silenceMs: number;
}

export interface SessionOptions {
  readonly endpoint: URL;
  readonly token?: string;
  readonly iceServers: readonly IceServer[];
  readonly additionalHostAddresses: readonly string[];
  readonly plan: CodecPlan;
  readonly timeouts: SessionTimeouts;
  readonly maxBodyBytes: number;
  readonly pacing?: PacingOptions;
  readonly signal: AbortSignal;
  /** Trickle ICE (RFC 9725 §4.3.1): candidates gathered after the offer go by PATCH. */
  readonly trickle: boolean;
  /**
   * Trickling cannot work with this server (it refused PATCH, or a trickled publish never connected):
   * the next publishes should send every candidate in the offer.
   */
  readonly onTrickleUnusable?: (why: "refused" | "not-connected") => void;
}

interface SessionEvents {
  /** The publish ended by itself (not by close()). */
  ended: [WhipError];
  /** The server asked for a keyframe (PLI or FIR). */
  keyframeRequest: [];
}

interface PairCounters {
  readonly responsesReceived?: number;
  readonly packetsReceived?: number;
}

function authorization(token: string | undefined): Record<string, string> {
  return token === undefined || token === "" ? {} : { Authorization: `Bearer ${token}` };
}

/**
 * One publish to a WHIP server (RFC 9725): a werift peer connection offering send-only tracks, the
 * offer POSTed with the candidates gathered in its first moments (all of them without trickle), the
 * later ones PATCHed to the resource, the answer applied, and the resource DELETEd at the end. Media
 * goes out through the relay's ViewerTrack and DirectRtpSink, as to a viewer.
 */
export class PublishSession extends EventEmitter<SessionEvents> {
  private closing: Promise<void> | undefined;
  private silenceTimer: NodeJS.Timeout | undefined;
  private videoTrack: ViewerTrack | undefined;
  private audioTrack: ViewerTrack | undefined;
  private sinks: DirectRtpSink[] = [];
  /** Set once the server created the resource. */
  resource: URL | undefined;
  /** ICE servers the server announced (Link headers), for the next publish. */
  announcedIceServers: IceServer[] = [];
  choice: AnswerChoice = {};
  private connected = false;
  /** Why the publish ended by itself, once it has. */
  private endedBy: WhipError | undefined;
  private trickler: CandidateTrickler | undefined;
  /** A PATCH that failed (its candidates never arrived), for the error if ICE then fails. */
  private trickleProblem: string | undefined;
  /** Ends PATCHes on their way when the session closes. */
  private readonly requests = new AbortController();

  private constructor(
    private readonly opts: SessionOptions,
    private readonly pc: RTCPeerConnection,
    private readonly transceivers: { video?: RTCRtpTransceiver; audio?: RTCRtpTransceiver },
  ) {
    super();
  }

  /**
   * Offers, POSTs and applies the answer; resolves once the peer connection is connected.
   * @throws WhipError for every way it can fail (the session is closed, its resource deleted, first)
   */
  static async open(opts: SessionOptions): Promise<PublishSession> {
    const pc = new RTCPeerConnection({
      ...peerIceConfig({
        iceServers: opts.iceServers.map((s) => ({ ...s })),
        additionalHostAddresses: [...opts.additionalHostAddresses],
      }),
      bundlePolicy: "max-bundle",
      codecs: { video: weriftCodecs(opts.plan.video), audio: weriftCodecs(opts.plan.audio) },
      headerExtensions: { video: [], audio: [] },
    });
    const transceivers = {
      ...(opts.plan.video.length > 0 ? { video: pc.addTransceiver("video", { direction: "sendonly" }) } : {}),
      ...(opts.plan.audio.length > 0 ? { audio: pc.addTransceiver("audio", { direction: "sendonly" }) } : {}),
    };
    const session = new PublishSession(opts, pc, transceivers);
    try {
      await session.negotiate();
      return session;
    } catch (error) {
      await session.close();
      throw asWhipError(error);
    }
  }

  private async negotiate(): Promise<void> {
    const { opts, pc } = this;
    const offer = await pc.createOffer();
    withoutDefaultStun(pc, { iceServers: [...opts.iceServers], additionalHostAddresses: [] });
    const gathering = new Gathering(pc);
    try {
      await this.exchange(offer, gathering);
    } finally {
      gathering.dispose();
    }
  }

  private async exchange(offer: RTCSessionDescription, gathering: Gathering): Promise<void> {
    const { opts, pc } = this;
    // werift's setLocalDescription resolves only once every candidate is gathered (STUN and TURN
    // included, up to 5 s for a server that does not answer); with trickle the offer goes out before.
    const applying = pc.setLocalDescription(offer);
    const applied = applying.then(
      () => gathering.applied(),
      (error: unknown) => gathering.applied(error),
    );
    // Neither wait outlives close() or stop(): werift may gather for seconds yet.
    if (opts.trickle)
      await this.unlessClosed(
        gathering.until(() => gathering.offerable, opts.timeouts.trickleMs, opts.timeouts.gatherMs),
      );
    else await this.unlessClosed(applied);
    this.throwIfClosed();
    gathering.throwIfFailed();
    if (!opts.trickle) await waitForGathering(pc, opts.timeouts.gatherMs);
    this.throwIfClosed();
    const trickling = opts.trickle && !gathering.complete;
    const sent = gathering.candidates.length;
    const localSdp = pc.localDescription?.sdp ?? offer.sdp;
    const offerSdp = trickling ? offerWithCandidates(localSdp, gathering.candidates) : localSdp;
    const response = await whipRequest({
      method: "POST",
      url: opts.endpoint,
      headers: { "Content-Type": "application/sdp", Accept: "application/sdp", ...authorization(opts.token) },
      body: offerSdp,
      timeoutMs: opts.timeouts.requestMs,
      maxBodyBytes: opts.maxBodyBytes,
      signal: opts.signal,
    });
    this.throwIfClosed();
    if (response.status >= 200 && response.status < 300)
      this.resource = resourceUrl(response.headers.location, opts.endpoint);
    if (response.status !== 201)
      throw new WhipError(
        "http-status",
        statusText(response.status, response.statusMessage),
        response.status,
      );
    if (this.resource === undefined)
      throw new WhipError("no-location", "201 Created without a usable Location header");
    this.announcedIceServers = iceServersFromLinks(response.headers.link);
    this.choice = checkAnswer(response.body, opts.plan);
    if (trickling) this.trickle(this.resource, response.headers.etag, offerSdp, gathering, sent);
    // The answer can only be applied once werift has gathered (its setLocalDescription is done).
    await this.unlessClosed(applied);
    this.throwIfClosed();
    gathering.throwIfFailed();
    this.throwIfClosed();
    try {
      await pc.setRemoteDescription({ type: "answer", sdp: response.body });
    } catch (error) {
      throw new WhipError(
        "bad-answer",
        `the answer cannot be applied: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    this.throwIfClosed();
    this.startTracks();
    await this.waitConnected();
  }

  /** Candidates gathered after the offer go to the resource by PATCH, as they come. */
  private trickle(
    resource: URL,
    etag: string | undefined,
    offerSdp: string,
    gathering: Gathering,
    sent: number,
  ): void {
    const { opts } = this;
    const trickler = new CandidateTrickler({
      resource,
      etag,
      headers: this.resourceHeaders(resource),
      offerSdp,
      timeoutMs: opts.timeouts.requestMs,
      maxBodyBytes: opts.maxBodyBytes,
      signal: AbortSignal.any([opts.signal, this.requests.signal]),
      onRemote: (fragment) => {
        const sdpMid = this.bundleMid;
        for (const { candidate } of fragment.candidates)
          this.pc.addIceCandidate({ candidate, sdpMid }).catch(() => undefined);
      },
      onRefused: () => opts.onTrickleUnusable?.("refused"),
      onGone: (error) => this.end(error),
      onFailed: (why) => {
        this.trickleProblem = `candidates sent after the offer did not arrive: ${why}`;
      },
    });
    this.trickler = trickler;
    gathering.follow(
      sent,
      (candidate) => trickler.add(candidate),
      () => trickler.end(),
    );
  }

  /** The mid every track is bundled on (the first m-line's). */
  private get bundleMid(): string | undefined {
    for (const transceiver of [this.transceivers.video, this.transceivers.audio]) {
      if (typeof transceiver?.mid === "string") return transceiver.mid;
    }
    return undefined;
  }

  /** The token goes only to the endpoint's own origin: a Location elsewhere (or on http:) does not get it. */
  private resourceHeaders(resource: URL): Record<string, string> {
    return resource.origin === this.opts.endpoint.origin ? authorization(this.opts.token) : {};
  }

  /** `work`, or sooner when the session closes or the publisher stops (throwIfClosed then tells). */
  private unlessClosed(work: Promise<void>): Promise<void> {
    const signal = AbortSignal.any([this.opts.signal, this.requests.signal]);
    if (signal.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        signal.removeEventListener("abort", done);
        resolve();
      };
      signal.addEventListener("abort", done);
      work.then(done, done);
    });
  }

  private throwIfClosed(): void {
    if (this.endedBy !== undefined) throw this.endedBy;
    if (this.closing !== undefined || this.opts.signal.aborted) throw new WhipError("aborted", "stopped");
  }

  private startTracks(): void {
    const { video, audio } = this.transceivers;
    const pacing = this.opts.pacing ?? {};
    const track = (kind: "video" | "audio", transceiver: RTCRtpTransceiver): ViewerTrack => {
      const sink = new DirectRtpSink(transceiver.sender);
      this.sinks.push(sink);
      return new ViewerTrack(transceiver.sender, kind, pacing, sink);
    };
    if (video !== undefined && this.choice.video !== undefined) this.videoTrack = track("video", video);
    if (audio !== undefined && this.choice.audio !== undefined) this.audioTrack = track("audio", audio);
    for (const transceiver of [video, audio]) {
      if (transceiver === undefined) continue;
      onKeyframeRequest(transceiver.sender, () => this.emit("keyframeRequest"));
    }
  }

  private waitConnected(): Promise<void> {
    const { pc, opts } = this;
    return new Promise<void>((resolve, reject) => {
      const seconds = Math.round(opts.timeouts.connectMs / 1000);
      const cleanups: (() => void)[] = [];
      const done = (error: WhipError | undefined): void => {
        for (const cleanup of cleanups) cleanup();
        if (error === undefined) resolve();
        else reject(this.endedBy ?? error);
      };
      const timer = setTimeout(() => {
        const problem = this.trickleProblem === undefined ? "" : ` (${this.trickleProblem})`;
        done(new WhipError("ice-failed", `not connected within ${seconds} s of the answer${problem}`));
      }, opts.timeouts.connectMs);
      cleanups.push(() => clearTimeout(timer));
      const onAbort = (): void => done(new WhipError("aborted", "stopped"));
      opts.signal.addEventListener("abort", onAbort);
      cleanups.push(() => opts.signal.removeEventListener("abort", onAbort));
      // A PATCH that found the resource gone ends the publish while it connects.
      this.once("ended", done);
      cleanups.push(() => this.off("ended", done));
      const { unSubscribe } = pc.connectionStateChange.subscribe((state) => {
        if (state === "connected") done(undefined);
        else if (state === "failed") done(new WhipError("ice-failed", "ICE failed: no candidate pair works"));
        else if (state === "closed") done(new WhipError("dtls", "the connection closed before it started"));
      });
      cleanups.push(unSubscribe);
      if (pc.connectionState === "connected") done(undefined);
    })
      .catch((error: unknown) => {
        // A trickled publish that never connected: the server may have dropped what came by PATCH.
        if (this.trickler !== undefined && error instanceof WhipError && error.code === "ice-failed")
          opts.onTrickleUnusable?.("not-connected");
        throw error;
      })
      .then(() => this.watch());
  }

  /**
   * From connected on: ICE failure, consent expiry, silence or a DTLS end end the publish (werift
   * never reports "disconnected": its consent checks only fail the connection after 30 s).
   */
  private watch(): void {
    this.connected = true;
    this.pc.connectionStateChange.subscribe((state) => {
      switch (state) {
        case "failed":
          this.end(new WhipError("ice-failed", "ICE failed (consent to send expired)"));
          break;
        case "closed":
          this.end(new WhipError("dtls", "the connection closed"));
          break;
        default:
          break;
      }
    });
    this.watchSilence();
    const transports = new Set(
      [this.transceivers.video, this.transceivers.audio].flatMap((t) =>
        t?.sender.dtlsTransport === undefined ? [] : [t.sender.dtlsTransport],
      ),
    );
    for (const transport of transports) {
      transport.onStateChange.subscribe((state) => {
        if (state === "closed") this.end(new WhipError("dtls", "the server closed the connection (DTLS)"));
        else if (state === "failed") this.end(new WhipError("dtls", "DTLS failed"));
      });
    }
  }

  /** What the nominated pair received so far (STUN responses and data); werift internals. */
  private heard(): number {
    const sender = (this.transceivers.video ?? this.transceivers.audio)?.sender;
    const dtls = sender?.dtlsTransport as unknown as
      | { iceTransport?: { connection?: { nominated?: PairCounters } } }
      | undefined;
    const pair = dtls?.iceTransport?.connection?.nominated;
    return (pair?.responsesReceived ?? 0) + (pair?.packetsReceived ?? 0);
  }

  private watchSilence(): void {
    const silenceMs = this.opts.timeouts.silenceMs;
    let last = this.heard();
    let lastAt = performance.now();
    const check = (): void => {
      const now = performance.now();
      const heard = this.heard();
      if (heard !== last) {
        last = heard;
        lastAt = now;
      } else if (now - lastAt >= silenceMs) {
        this.end(
          new WhipError(
            "disconnected",
            `the server stopped answering (nothing for ${Math.round(silenceMs / 1000)} s)`,
          ),
        );
        return;
      }
      this.silenceTimer = setTimeout(check, Math.min(1000, silenceMs / 4));
    };
    this.silenceTimer = setTimeout(check, Math.min(1000, silenceMs / 4));
  }

  private end(error: WhipError): void {
    if (this.closing !== undefined) return;
    this.endedBy = error;
    void this.close();
    this.emit("ended", error);
  }

  /** The negotiated video codec's payload type ("H264 42e01f", "H265", "opus/48000"...). */
  get codecs(): string {
    const { video, audio } = this.choice;
    const profile = video?.fmtp === undefined ? undefined : /profile-level-id=(\w{6})/.exec(video.fmtp)?.[1];
    const videoText =
      video === undefined ? undefined : `${video.mimeType.split("/")[1]}${profile ? ` ${profile}` : ""}`;
    const audioText = audio === undefined ? undefined : `${audio.mimeType.split("/")[1]}/${audio.clockRate}`;
    return [videoText, audioText].filter((t) => t !== undefined).join(" + ");
  }

  /** True while video frames would be dropped until a keyframe. */
  get waitingForKeyframe(): boolean {
    return this.videoTrack?.waitingForKeyframe ?? false;
  }

  get retransmitted(): number {
    return this.sinks.reduce((sum, sink) => sum + sink.retransmitted, 0);
  }

  /** Takes one frame; nothing goes out before the connection is up or after it ended. */
  send(frame: OutputFrame): void {
    if (!this.connected || this.closing !== undefined) return;
    if (frame.kind === "video") this.videoTrack?.send(frame);
    else this.audioTrack?.send(frame);
  }

  /**
   * Sends `frames` (a GOP, keyframe first) again at once (see ViewerTrack.replay): a fresh start
   * without `afterTimestamp`, a repeat after it with it, so a decoder that lost its picture rebuilds
   * the GOP up to now. Returns the last video timestamp sent, or undefined when nothing was.
   */
  replay(frames: readonly OutputFrame[], afterTimestamp: number | undefined): number | undefined {
    return this.connected ? this.videoTrack?.replay(frames, afterTimestamp) : undefined;
  }

  /**
   * Ends the publish: the peer connection closed and the resource DELETEd (best effort, bounded by
   * the request timeout). Idempotent; never rejects.
   */
  close(): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    clearTimeout(this.silenceTimer);
    this.trickler?.stop();
    this.requests.abort();
    this.videoTrack?.stop();
    this.audioTrack?.stop();
    const resource = this.resource;
    this.closing = (async () => {
      const deleted =
        resource === undefined
          ? Promise.resolve()
          : whipRequest({
              method: "DELETE",
              url: resource,
              headers: this.resourceHeaders(resource),
              timeoutMs: Math.min(this.opts.timeouts.requestMs, 5000),
              maxBodyBytes: this.opts.maxBodyBytes,
            }).then(
              () => undefined,
              () => undefined,
            );
      try {
        await this.pc.close();
      } catch {
        // A peer connection that fails to close has nothing left to give back.
      }
      await deleted;
    })();
    return this.closing;
  }
}
