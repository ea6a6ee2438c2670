import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import {
  MediaStreamTrack,
  RTCPeerConnection,
  RTCRtpCodecParameters,
  type RTCRtpSender,
  type RTCRtpTransceiver,
} from "werift";
import type { MediaInfo } from "../rtp/stream-info";
import { withRtcpMuxOnRejectedSections } from "./answer-sdp";
import { candidateAddresses, uncoveredAddresses } from "./candidate-addresses";
import {
  describeMedia,
  describeOffered,
  type MatchedCodec,
  matchAudioCodec,
  matchVideoCodec,
} from "./codec-match";
import { DirectRtpSink } from "./direct-rtp-sink";
import {
  BadSdpError,
  IceRestartError,
  NoCommonCodecError,
  NoIceCandidateError,
  ViewerRequestError,
} from "./errors";
import { type IceSettings, peerIceConfig, withoutDefaultStun } from "./ice-config";
import { onKeyframeRequest } from "./keyframe-request";
import { parseOffer } from "./offer";
import { parseSdpFragment } from "./sdp-fragment";
import type { OutputFrame } from "./stream-normalizer";
import { type PacingOptions, ViewerTrack } from "./viewer-track";

export type ViewerState = "new" | "connecting" | "connected" | "disconnected" | "failed" | "closed";

export interface ViewerStats {
  readonly id: string;
  readonly remoteAddress: string;
  readonly state: ViewerState;
  /** Since the connection was established; 0 before. */
  readonly secondsConnected: number;
  readonly packetsSent: number;
  readonly bytesSent: number;
  /** From the browser's receiver reports, when there were some. */
  readonly rttMs?: number;
  /** 0..1, from the last receiver report. */
  readonly fractionLost?: number;
  readonly nacks: number;
  /** Picture loss indications and full intra requests (they cannot be passed on to a camera). */
  readonly plis: number;
  readonly framesDropped: number;
  /** "H264 42e01f", "H265", "PCMA/8000"... what was negotiated. */
  readonly videoCodec?: string;
  readonly audioCodec?: string;
}

export interface ViewerTimeouts {
  /** Closed when not connected this long after creation. Default 30 s. */
  readonly connectMs?: number;
  /** Closed when disconnected this long. Default 10 s. */
  readonly disconnectedMs?: number;
  /** Vanilla ICE: wait at most this long for gathering to complete. Default 10 s. */
  readonly gatherMs?: number;
  /** Trickle ICE: the answer goes out after this long even if gathering is still going on. Default 1 s. */
  readonly trickleGatherMs?: number;
}

export interface ViewerOptions {
  readonly offerSdp: string;
  readonly video?: MediaInfo;
  readonly audio?: MediaInfo;
  readonly ice: IceSettings;
  readonly remoteAddress: string;
  /**
   * The address(es) the viewer's HTTP request reached us at (the socket's local IPv4 address and an IPv4
   * literal in the Host header): offered as candidates too when the configured ones do not cover them.
   */
  readonly localAddresses?: readonly string[];
  /** True: the answer carries every candidate (gathering awaited). False: trickle (WHEP PATCH). */
  readonly vanilla: boolean;
  readonly timeouts?: ViewerTimeouts;
  /** Each track's queue bound and pacing. */
  readonly pacing?: PacingOptions;
}

interface ViewerEvents {
  state: [ViewerState];
  closed: [];
  /** The browser asked for a keyframe (PLI or FIR). */
  pli: [];
}

interface Timeouts {
  connectMs: number;
  disconnectedMs: number;
  gatherMs: number;
  trickleGatherMs: number;
}

const DEFAULT_TIMEOUTS: Timeouts = {
  connectMs: 30_000,
  disconnectedMs: 10_000,
  gatherMs: 10_000,
  trickleGatherMs: 1000,
};

function codecParameters(codec: MatchedCodec): RTCRtpCodecParameters {
  return new RTCRtpCodecParameters({
    mimeType: codec.mimeType,
    clockRate: codec.clockRate,
    payloadType: codec.payloadType,
    ...(codec.channels !== undefined ? { channels: codec.channels } : {}),
    rtcpFeedback: codec.rtcpFeedback.map((fb) => ({ ...fb })),
    ...(codec.fmtp !== "" ? { parameters: codec.fmtp } : {}),
  });
}

function codecLabel(codec: MatchedCodec): string {
  const name = codec.mimeType.split("/")[1] ?? codec.mimeType;
  if (codec.mimeType.startsWith("video/")) {
    const profile = /profile-level-id=([0-9a-fA-F]{6})/.exec(codec.fmtp)?.[1];
    return profile === undefined ? name : `${name} ${profile.toLowerCase()}`;
  }
  return `${name}/${codec.clockRate}`;
}

/** Runs a negotiation step; werift's errors become BadSdpError (the offer could not be answered). */
async function asBadSdp(step: () => Promise<unknown>): Promise<void> {
  try {
    await step();
  } catch (error) {
    if (error instanceof ViewerRequestError) throw error;
    throw new BadSdpError(error instanceof Error ? error.message : String(error));
  }
}

/** Until ICE gathering completes, or `ms` passed. */
export function waitForGathering(pc: RTCPeerConnection, ms: number): Promise<void> {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    const { unSubscribe } = pc.iceGatheringStateChange.subscribe((state) => {
      if (state === "complete") done();
    });
    function done(): void {
      clearTimeout(timer);
      unSubscribe();
      resolve();
    }
  });
}

/** The transceiver's m-line was accepted in the answer (not rejected with port 0). */
function accepted(transceiver: RTCRtpTransceiver | undefined): boolean {
  return transceiver !== undefined && typeof transceiver.mid === "string" && !transceiver.stopped;
}

/**
 * One browser: a send-only werift peer connection answering its offer, one ViewerTrack per media.
 * It closes itself when ICE fails, stays disconnected too long, or never connects.
 */
export class Viewer extends EventEmitter<ViewerEvents> {
  readonly id = randomUUID();
  readonly createdAt = Date.now();
  private currentState: ViewerState = "new";
  private connectedAt: number | undefined;
  private closing: Promise<void> | undefined;
  private reason = "";
  private plis = 0;
  private connectTimer: NodeJS.Timeout | undefined;
  private disconnectTimer: NodeJS.Timeout | undefined;
  private readonly videoTrack: ViewerTrack | undefined;
  private readonly audioTrack: ViewerTrack | undefined;

  private readonly senders: { video?: RTCRtpSender; audio?: RTCRtpSender };
  private readonly transceivers: { video?: RTCRtpTransceiver; audio?: RTCRtpTransceiver };

  private constructor(
    private readonly pc: RTCPeerConnection,
    readonly remoteAddress: string,
    transceivers: { video: RTCRtpTransceiver | undefined; audio: RTCRtpTransceiver | undefined },
    readonly videoCodec: string | undefined,
    private readonly offeredAudioCodec: string | undefined,
    private readonly timeouts: Timeouts,
    pacing: PacingOptions,
  ) {
    super();
    const { video, audio } = transceivers;
    this.transceivers = {
      ...(video !== undefined ? { video } : {}),
      ...(audio !== undefined ? { audio } : {}),
    };
    this.senders = {
      ...(video !== undefined ? { video: video.sender } : {}),
      ...(audio !== undefined ? { audio: audio.sender } : {}),
    };
    const track = (kind: "video" | "audio", sender: RTCRtpSender): ViewerTrack =>
      new ViewerTrack(sender, kind, pacing, new DirectRtpSink(sender));
    if (video !== undefined) this.videoTrack = track("video", video.sender);
    if (audio !== undefined) this.audioTrack = track("audio", audio.sender);
  }

  /** The negotiated audio codec; undefined when the browser's answer left audio out (port 0). */
  get audioCodec(): string | undefined {
    return accepted(this.transceivers.audio) ? this.offeredAudioCodec : undefined;
  }

  /**
   * Answers a browser's offer.
   * @throws BadSdpError for an offer that cannot be answered
   * @throws NoIceCandidateError when the answer would offer the viewer no candidate to connect to
   * @throws NoCommonCodecError when the browser cannot receive the stream's video (or, for an
   *   audio-only stream, its audio)
   */
  static async create(opts: ViewerOptions): Promise<{ viewer: Viewer; answerSdp: string }> {
    parseOffer(opts.offerSdp);
    const video = opts.video === undefined ? undefined : matchVideoCodec(opts.offerSdp, opts.video);
    const audio = opts.audio === undefined ? undefined : matchAudioCodec(opts.offerSdp, opts.audio);
    if (video === undefined && audio === undefined) {
      const stream = [opts.video, opts.audio].flatMap((m) => (m === undefined ? [] : [describeMedia(m)]));
      throw new NoCommonCodecError(stream, describeOffered(parseOffer(opts.offerSdp).audio));
    }
    const timeouts: Timeouts = { ...DEFAULT_TIMEOUTS, ...opts.timeouts };
    const localAddresses = opts.localAddresses ?? [];
    const shared = opts.ice.sharedPort;
    // Host candidates only, and none: nothing could ever be gathered, so the viewer could never connect.
    const addresses = candidateAddresses(opts.ice, localAddresses);
    if (addresses.length === 0 && opts.ice.iceServers.length === 0) throw new NoIceCandidateError();
    const ice =
      shared === undefined
        ? {
            ...opts.ice,
            additionalHostAddresses: [
              ...opts.ice.additionalHostAddresses,
              ...uncoveredAddresses(opts.ice, localAddresses),
            ],
          }
        : opts.ice;
    const videoParams = video === undefined ? undefined : codecParameters(video);
    const audioParams = audio === undefined ? undefined : codecParameters(audio);
    const pc = new RTCPeerConnection({
      ...peerIceConfig(ice),
      // Created per connection: werift's codec objects carry negotiation state.
      codecs: {
        video: videoParams === undefined ? [] : [videoParams],
        audio: audioParams === undefined ? [] : [audioParams],
      },
      headerExtensions: { video: [], audio: [] },
    });
    // A track that names its codec makes werift answer with exactly that offered entry.
    const add = (
      kind: "video" | "audio",
      codec: RTCRtpCodecParameters | undefined,
    ): RTCRtpTransceiver | undefined =>
      codec === undefined
        ? undefined
        : pc.addTransceiver(new MediaStreamTrack({ kind, codec }), { direction: "sendonly" });
    const videoTransceiver = add("video", videoParams);
    const audioTransceiver = add("audio", audioParams);
    const viewer = new Viewer(
      pc,
      opts.remoteAddress,
      { video: videoTransceiver, audio: audioTransceiver },
      video === undefined ? undefined : codecLabel(video),
      audio === undefined ? undefined : codecLabel(audio),
      timeouts,
      opts.pacing ?? {},
    );
    // Watched before negotiating: ICE can fail while the answer is still being made.
    viewer.watch();
    try {
      await asBadSdp(() => pc.setRemoteDescription({ type: "offer", sdp: opts.offerSdp }));
      // Between the offer and the answer: the answer carries the shared port's ufrag and candidates,
      // which replace werift's own host gathering.
      shared?.attach(pc, addresses);
      await asBadSdp(async () => {
        withoutDefaultStun(pc, opts.ice);
        await pc.setLocalDescription(await pc.createAnswer());
        viewer.watchDtls();
      });
      viewer.throwIfEnded();
      if (video !== undefined && !accepted(videoTransceiver)) {
        throw new BadSdpError("the offer's video m-line could not be matched with the stream's video");
      }
      await waitForGathering(pc, opts.vanilla ? timeouts.gatherMs : timeouts.trickleGatherMs);
      const localSdp = pc.localDescription?.sdp;
      if (localSdp === undefined) throw new BadSdpError("no answer could be made");
      const answerSdp = withRtcpMuxOnRejectedSections(localSdp);
      // With every candidate gathered (vanilla) and none in the answer (e.g. an unreachable TURN server
      // was all there was), the answer would be a dead one.
      if (opts.vanilla && !/^a=candidate:/m.test(answerSdp)) throw new NoIceCandidateError();
      viewer.throwIfEnded();
      return { viewer, answerSdp };
    } catch (error) {
      await viewer.close("the offer could not be answered");
      throw error;
    }
  }

  /** ICE can give up while the answer is being made (an offer whose candidates all fail). */
  private throwIfEnded(): void {
    if (this.closing === undefined) return;
    throw new BadSdpError(`the connection ended before it started (${this.reason}): no usable ICE candidate`);
  }

  get state(): ViewerState {
    return this.currentState;
  }

  /** Why the viewer closed ("" while it is open). */
  get closeReason(): string {
    return this.reason;
  }

  /** True once connected and until closed or failed. */
  get connected(): boolean {
    return this.currentState === "connected";
  }

  /** True while the video track waits for a keyframe to start (or restart) on. */
  get waitingForKeyframe(): boolean {
    return this.videoTrack?.waitingForKeyframe ?? false;
  }

  private watch(): void {
    this.connectTimer = setTimeout(
      () => void this.close(`not connected within ${this.timeouts.connectMs / 1000} s`),
      this.timeouts.connectMs,
    );
    this.pc.connectionStateChange.subscribe((state) => this.onConnectionState(state));
    for (const sender of [this.senders.video, this.senders.audio]) {
      if (sender === undefined) continue;
      onKeyframeRequest(sender, () => this.keyframeRequested());
    }
  }

  /**
   * werift reads any DTLS alert (a browser's pc.close() sends close_notify) as the end of the
   * association: its DTLS transport turns "closed" and sends nothing more, but the peer connection
   * stays "connected" until consent expires (30 s). The viewer is closed at once instead. Called once
   * the answer is made: negotiation may replace the transceivers' transports (BUNDLE).
   */
  private watchDtls(): void {
    const transports = new Set(
      [this.senders.video, this.senders.audio].flatMap((sender) =>
        sender?.dtlsTransport === undefined ? [] : [sender.dtlsTransport],
      ),
    );
    for (const transport of transports) {
      transport.onStateChange.subscribe((state) => {
        if (state === "closed" && this.closing === undefined) void this.close("closed by the browser (DTLS)");
      });
    }
  }

  private keyframeRequested(): void {
    this.plis++;
    this.emit("pli");
  }

  private onConnectionState(state: RTCPeerConnection["connectionState"]): void {
    if (this.closing !== undefined) return;
    switch (state) {
      case "connected":
        clearTimeout(this.connectTimer);
        clearTimeout(this.disconnectTimer);
        this.disconnectTimer = undefined;
        this.connectedAt ??= Date.now();
        break;
      case "disconnected":
        this.disconnectTimer ??= setTimeout(
          () => void this.close(`disconnected for more than ${this.timeouts.disconnectedMs / 1000} s`),
          this.timeouts.disconnectedMs,
        );
        break;
      case "failed":
        this.setState("failed");
        void this.close("ICE failed");
        return;
      case "closed":
        void this.close("closed by the browser");
        return;
      default:
        break;
    }
    this.setState(state);
  }

  private setState(state: ViewerState): void {
    if (state === this.currentState) return;
    this.currentState = state;
    this.emit("state", state);
  }

  /**
   * Takes the next frame of the stream. Nothing is sent before the connection is up; video starts
   * at a keyframe. Never blocks or throws.
   */
  send(frame: OutputFrame): void {
    if (!this.connected) return;
    if (frame.kind === "video") this.videoTrack?.send(frame);
    else if (this.audioCodec !== undefined) this.audioTrack?.send(frame);
  }

  /**
   * Starts the video at once from `frames` (the GOP so far, keyframe first), their timestamps
   * squeezed into a few ticks that end at the last one's, so the picture appears now and the
   * stream continues at live. Returns false (and sends nothing) when the viewer is not connected,
   * has already started, the frames do not start at a keyframe, or they would overflow its queue.
   */
  replay(frames: readonly OutputFrame[]): boolean {
    return this.connected && this.videoTrack?.replay(frames) !== undefined;
  }

  /**
   * Applies a WHEP trickle PATCH (application/trickle-ice-sdpfrag).
   * @throws BadSdpError for a fragment that does not parse
   * @throws IceRestartError ("ice restart not supported") for new ICE credentials
   */
  async addIceCandidates(sdpfrag: string): Promise<void> {
    const fragment = parseSdpFragment(sdpfrag);
    const remote = this.pc.remoteDescription?.sdp ?? "";
    const ufrag = /^a=ice-ufrag:(\S+)/m.exec(remote)?.[1];
    if (fragment.iceUfrag !== undefined && ufrag !== undefined && fragment.iceUfrag !== ufrag) {
      throw new IceRestartError();
    }
    // Everything is bundled on one transport: the first accepted m-line's mid reaches it whatever
    // mid the client put its candidates under (a rejected m-line would swallow them).
    const sdpMid = this.bundleMid;
    const add = async (candidate: string): Promise<void> => {
      try {
        await this.pc.addIceCandidate({ candidate, sdpMid });
      } catch (error) {
        const why = error instanceof Error ? error.message : String(error);
        throw new BadSdpError(`candidate ${JSON.stringify(candidate)}: ${why}`);
      }
    };
    for (const { candidate } of fragment.candidates) await add(candidate);
    if (fragment.endOfCandidates) await add("");
  }

  private get bundleMid(): string | undefined {
    for (const transceiver of [this.transceivers.video, this.transceivers.audio]) {
      if (accepted(transceiver) && typeof transceiver?.mid === "string") return transceiver.mid;
    }
    return undefined;
  }

  stats(): ViewerStats {
    const now = Date.now();
    let packetsSent = 0;
    let bytesSent = 0;
    let nacks = 0;
    let rttMs: number | undefined;
    let fractionLost: number | undefined;
    for (const sender of [this.senders.video, this.senders.audio]) {
      if (sender === undefined) continue;
      for (const stat of sender.collectStats(now) as unknown as Record<string, unknown>[]) {
        if (stat.type === "outbound-rtp") {
          packetsSent += Number(stat.packetsSent ?? 0);
          bytesSent += Number(stat.bytesSent ?? 0) + Number(stat.headerBytesSent ?? 0);
          nacks += Number(stat.nackCount ?? 0);
        } else if (
          stat.type === "remote-inbound-rtp" &&
          sender === (this.senders.video ?? this.senders.audio)
        ) {
          if (typeof stat.roundTripTime === "number") rttMs = Math.round(stat.roundTripTime * 1000);
          if (typeof stat.fractionLost === "number") fractionLost = stat.fractionLost;
        }
      }
    }
    return {
      id: this.id,
      remoteAddress: this.remoteAddress,
      state: this.currentState,
      secondsConnected: this.connectedAt === undefined ? 0 : Math.round((now - this.connectedAt) / 1000),
      packetsSent,
      bytesSent,
      ...(rttMs !== undefined ? { rttMs } : {}),
      ...(fractionLost !== undefined ? { fractionLost } : {}),
      nacks,
      plis: this.plis,
      framesDropped:
        (this.videoTrack?.counters.framesDropped ?? 0) + (this.audioTrack?.counters.framesDropped ?? 0),
      ...(this.videoCodec !== undefined ? { videoCodec: this.videoCodec } : {}),
      ...(this.audioCodec !== undefined ? { audioCodec: this.audioCodec } : {}),
    };
  }

  /** Closes the peer connection (awaited); idempotent. `reason` ends up in closeReason. */
  close(reason = "closed"): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    this.reason = reason;
    clearTimeout(this.connectTimer);
    clearTimeout(this.disconnectTimer);
    this.videoTrack?.stop();
    this.audioTrack?.stop();
    this.closing = (async () => {
      try {
        await this.pc.close();
      } catch {
        // A peer connection that fails to close has nothing left to give back.
      }
      this.setState("closed");
      this.emit("closed");
    })();
    return this.closing;
  }
}
