import { createHash, randomBytes } from "node:crypto";
import { EventEmitter } from "node:events";
import {
  DEFAULT_LIVE_FANOUT_LIMITS,
  LiveFanout,
  type LiveFanoutLimits,
  type LiveSink,
} from "../mp4/live-fanout";
import { LiveMuxer, type LiveMuxerState } from "../mp4/live-muxer";
import { type PacketCodec, PacketInput } from "../rtp/packet-input";
import { pictureSizeOf } from "../rtp/picture-size";
import { RateMeter } from "../rtp/rate-meter";
import type { AccessUnit, MediaInfo, StreamInfo } from "../rtp/stream-info";
import { describeMedia } from "./codec-match";
import { EndedResources } from "./ended-resources";
import {
  BadSdpError,
  MaxViewersError,
  NoStreamError,
  TooManyFromAddressError,
  TooManyPendingError,
  UnknownViewerError,
  UnsupportedLiveCodecError,
  ViewerRequestError,
} from "./errors";
import { GopCache, type GopCacheLimits } from "./gop-cache";
import type { IceSettings } from "./ice-config";
import { followMedia, isNewStream, type MediaPipe, pipeOf, pipeOutgrown } from "./media-pipes";
import { parseOffer } from "./offer";
import { SendScheduler } from "./send-scheduler";
import { checkedPacketSize, type OutputFrame } from "./stream-normalizer";
import { Viewer, type ViewerStats, type ViewerTimeouts } from "./viewer";
import type { LeftViewerInfo, NewViewer, StreamStats, ViewerInfo, ViewerSet } from "./viewer-set";
import type { PacingOptions } from "./viewer-track";

export interface StreamViewersOptions {
  readonly maxViewers: number;
  readonly ice: IceSettings;
  /** Relay the stream's audio when the browser can take it. */
  readonly audio: boolean;
  /** Start late joiners from the cached GOP instead of the next keyframe. Default true. */
  readonly fastStart?: boolean;
  /** Codec of single RTP packets given to pushPacket (which carry no StreamInfo). */
  readonly fallbackCodec?: PacketCodec;
  readonly viewerTimeouts?: ViewerTimeouts;
  /** Each viewer track's queue bound and pacing. */
  readonly pacing?: PacingOptions;
  readonly gopLimits?: GopCacheLimits;
  /**
   * Viewers one client address may have that have not connected yet (answer being made, or ICE not
   * done): past it, offers from that address are refused with TooManyPendingError until one connects
   * or times out. Default DEFAULT_MAX_PENDING_PER_ADDRESS.
   */
  readonly maxPendingPerAddress?: number;
  /**
   * Viewers one client address may have at once, connected or not: past it, its offers are refused
   * with TooManyFromAddressError until one of them ends. Default: no limit but maxViewers (the
   * webrtc-out node sets one).
   */
  readonly maxViewersPerAddress?: number;
  /**
   * Largest RTP packet sent to viewers, header included (StreamNormalizer's maxPacketSize). Default
   * 1200, which every path takes; 1400 on a LAN lets 1400-byte cameras' packets pass through whole.
   */
  readonly maxPacketSize?: number;
  /** The fMP4 viewers' queue and GOP bounds (LiveFanout). */
  readonly liveLimits?: LiveFanoutLimits;
}

/** A browser tab holds one pending viewer at a time; a few tabs of one household behind one NAT fit. */
export const DEFAULT_MAX_PENDING_PER_ADDRESS = 4;
/** What a refused client is told to wait before asking again (a pending viewer connects within seconds). */
const PENDING_RETRY_AFTER_S = 5;
/** What a client with all its places taken is told to wait: its viewers end when it closes them. */
const PER_ADDRESS_RETRY_AFTER_S = 10;

interface Events {
  joined: [ViewerInfo];
  left: [LeftViewerInfo];
}

const BROWSER_AUDIO = new Set(["PCMU", "PCMA", "OPUS", "G722"]);
const RELAYED_VIDEO = new Set(["H264", "H265"]);
const STALLED_AFTER_MS = 3000;
/** The close reason of a viewer ended by its client's DELETE. */
const REMOVED = "removed";

function isRelayableAudio(media: MediaInfo): boolean {
  return media.relayable && BROWSER_AUDIO.has(media.codec.toUpperCase());
}

/**
 * 256 random bits naming one viewer's WHEP resource: only the client that created the viewer learns it,
 * and no other can guess it. The viewer id, which events and stats show, names nothing a client can reach.
 */
function newResource(): string {
  return randomBytes(32).toString("base64url");
}

/** Resources are looked up by their digest, so the lookup's timing tells nothing of a stored one. */
function resourceKey(resource: string): string {
  return createHash("sha256").update(resource, "utf8").digest("base64");
}

/** Counts one more for `key` in `counts`; the function returned uncounts it, once. */
function hold(counts: Map<string, number>, key: string): () => void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
  let held = true;
  return () => {
    if (!held) return;
    held = false;
    const left = (counts.get(key) ?? 1) - 1;
    if (left > 0) counts.set(key, left);
    else counts.delete(key);
  };
}

function viewerInfo(viewer: Viewer): ViewerInfo {
  return {
    id: viewer.id,
    remoteAddress: viewer.remoteAddress,
    ...(viewer.videoCodec !== undefined ? { videoCodec: viewer.videoCodec } : {}),
    ...(viewer.audioCodec !== undefined ? { audioCodec: viewer.audioCodec } : {}),
  };
}

/**
 * The viewers of one stream: normalizes each access unit once (StreamNormalizer per media), keeps
 * the GOP for late joiners, and writes every frame to every connected viewer.
 */
export class StreamViewers extends EventEmitter<Events> implements ViewerSet {
  private readonly viewers = new Map<string, Viewer>();
  /** Viewer ids by the digest of their WHEP resource (see newResource). */
  private readonly resources = new Map<string, string>();
  /** Digests of the resources of viewers that ended without a DELETE, for a late DELETE's 200. */
  private readonly ended = new EndedResources();
  private readonly fastStart: boolean;
  private readonly gop: GopCache;
  private readonly meter = new RateMeter();
  /** Hands frames to the viewers in slices, so hundreds of viewers do not stall the event loop. */
  private readonly sends = new SendScheduler<OutputFrame>();
  private current: StreamInfo | undefined;
  private video: MediaPipe | undefined;
  private audio: MediaPipe | undefined;
  private audioMedia: MediaInfo | undefined;
  /** The source session whose keyframe video is flowing from; frames of a newer one wait for theirs. */
  private keyedSession: number | undefined;
  /** Malformed packets counted by pipes since replaced (a codec change). */
  private malformedBefore = 0;
  private pending = 0;
  /** Per client address: viewers being answered, or answered but never connected. */
  private readonly unconnected = new Map<string, number>();
  private readonly maxPendingPerAddress: number;
  /** Per client address: every viewer, from its offer until it ends. */
  private readonly seats = new Map<string, number>();
  private readonly maxViewersPerAddress: number;
  private closed = false;
  private sessions = 0;
  private lastVideoAt: number | undefined;
  private keyframeTimes: number[] = [];
  private keyframeRequests = 0;
  private readonly packetInput: PacketInput | undefined;
  /** fMP4 viewers over HTTP (the player's fallback where WebRTC cannot connect). */
  private readonly live: LiveFanout;
  private readonly liveMuxer: LiveMuxer;

  /** @throws RangeError when opts.maxPacketSize is out of range (StreamNormalizer's). */
  constructor(private readonly opts: StreamViewersOptions) {
    super();
    this.fastStart = opts.fastStart ?? true;
    this.gop = new GopCache(opts.gopLimits);
    this.packetInput = opts.fallbackCodec ? new PacketInput(opts.fallbackCodec) : undefined;
    this.live = new LiveFanout(opts.liveLimits ?? DEFAULT_LIVE_FANOUT_LIMITS);
    this.liveMuxer = new LiveMuxer(this.live);
    this.maxPendingPerAddress = opts.maxPendingPerAddress ?? DEFAULT_MAX_PENDING_PER_ADDRESS;
    this.maxViewersPerAddress = opts.maxViewersPerAddress ?? Number.POSITIVE_INFINITY;
    // Here, not when the stream arrives: a bad size is the caller's to hear about at once.
    checkedPacketSize(opts.maxPacketSize);
  }

  /** Viewers not connected yet (being answered, or waiting for ICE): of one client address, or of all. */
  pendingViewers(remoteAddress?: string): number {
    if (remoteAddress !== undefined) return this.unconnected.get(remoteAddress) ?? 0;
    let total = 0;
    for (const count of this.unconnected.values()) total += count;
    return total;
  }

  /** Viewers of one client address, connected or not. */
  viewersFrom(remoteAddress: string): number {
    return this.seats.get(remoteAddress) ?? 0;
  }

  /** The latest StreamInfo pushed. */
  get stream(): StreamInfo | undefined {
    return this.current;
  }

  get size(): number {
    return this.viewers.size;
  }

  /** fMP4 viewers; they count against maxViewers and the per-address limit as WebRTC viewers do. */
  get liveViewers(): number {
    return this.live.size;
  }

  /** What the live muxer says now: "waiting" while nobody plays P/live.mp4 (it runs only then). */
  liveState(): LiveMuxerState {
    return this.liveMuxer.state;
  }

  /**
   * Adds an fMP4 viewer once every check passed: `open` is given the MIME type and returns the sink,
   * which at once gets the init segment and the frames from the current GOP on. Returns its removal.
   * @throws NoStreamError (no H.264 keyframe yet, or closed), UnsupportedLiveCodecError,
   *   MaxViewersError, TooManyFromAddressError
   */
  addLiveViewer(remoteAddress: string, open: (mime: string) => LiveSink): () => void {
    if (this.closed) throw new NoStreamError();
    const before = this.liveMuxer.state;
    if (before.state === "unsupported") throw new UnsupportedLiveCodecError(before.codec);
    if (this.video === undefined || this.keyedSession === undefined) throw new NoStreamError();
    this.checkSeat(remoteAddress);
    if (!this.liveMuxer.active) this.primeLiveMuxer(this.video);
    const state = this.liveMuxer.state;
    if (state.state !== "live") throw new NoStreamError();
    const releaseSeat = hold(this.seats, remoteAddress);
    const leave = this.live.add(open(state.mime));
    return () => {
      leave();
      releaseSeat();
      // Nobody watches: the muxer stops, and its GOP goes (the next viewer's is made afresh).
      if (this.live.size === 0) this.liveMuxer.reset();
    };
  }

  /**
   * The muxer runs only while someone watches: the first viewer primes it with the GOP so far. A GOP
   * too long for the cache left nothing to prime with: the stream's parameter sets tell the MIME
   * type, and the viewer starts at the next keyframe.
   */
  private primeLiveMuxer(video: MediaPipe): void {
    for (const frame of this.gop.framesSinceKeyframe())
      if (frame.kind === "video") this.liveMuxer.push(frame);
    if (this.liveMuxer.state.state !== "live") this.liveMuxer.expect(video.normalizer.parameterSets);
  }

  /** @throws MaxViewersError, TooManyFromAddressError */
  private checkSeat(remoteAddress: string): void {
    if (this.viewers.size + this.pending + this.live.size >= this.opts.maxViewers)
      throw new MaxViewersError(this.opts.maxViewers);
    if (this.viewersFrom(remoteAddress) >= this.maxViewersPerAddress)
      throw new TooManyFromAddressError(remoteAddress, this.maxViewersPerAddress, PER_ADDRESS_RETRY_AFTER_S);
  }

  /**
   * The video frames since the last keyframe (as normalised: parameter sets before the keyframe) and
   * their media; undefined before a keyframe, or when the stream has no video.
   */
  videoSinceKeyframe(): { readonly media: MediaInfo; readonly frames: readonly OutputFrame[] } | undefined {
    const media = this.video?.media;
    if (media === undefined) return undefined;
    const frames = this.gop.framesSinceKeyframe().filter((frame) => frame.kind === "video");
    return frames.length > 0 ? { media, frames } : undefined;
  }

  /** One access unit of `stream`: normalized, cached, and sent to every viewer. Never throws on bad input. */
  push(unit: AccessUnit, stream: StreamInfo): void {
    if (this.closed) return;
    if (isNewStream(this.current, stream)) this.adopt(stream);
    const pipe = pipeOf(unit, this.video, this.audio);
    if (pipe === undefined) return;
    const frame = pipe.normalizer.push(unit, stream.session);
    if (frame !== undefined) this.deliver(frame);
  }

  /** One RTP packet of the fallback codec (Node-RED's udp-in); ignored without fallbackCodec. */
  pushPacket(packet: Buffer): void {
    if (this.packetInput === undefined || this.closed) return;
    for (const { unit, stream } of this.packetInput.push(packet)) this.push(unit, stream);
  }

  private adopt(stream: StreamInfo): void {
    this.current = stream;
    this.sessions++;
    const video = stream.media.find((m) => m.kind === "video" && RELAYED_VIDEO.has(m.codec));
    const audio = stream.media.find((m) => m.kind === "audio");
    this.audioMedia = audio;
    const relayedAudio =
      this.opts.audio && audio !== undefined && isRelayableAudio(audio) ? audio : undefined;
    if (pipeOutgrown(this.video, video) || pipeOutgrown(this.audio, relayedAudio)) {
      // Negotiated codecs no longer fit: the players reconnect and negotiate again. fMP4 viewers too:
      // their init segment was for the old codec (the player reconnects and learns the new one).
      for (const viewer of this.viewers.values()) void viewer.close("the stream's codec changed");
      this.live.close();
      this.malformedBefore += this.malformedInPipes();
      this.video = undefined;
      this.audio = undefined;
      this.keyedSession = undefined;
    }
    const normalizing = { maxPacketSize: this.opts.maxPacketSize };
    this.video = followMedia(this.video, video, normalizing);
    this.liveMuxer.setMedia(stream.media.find((m) => m.kind === "video"));
    this.audio = followMedia(this.audio, relayedAudio, normalizing);
    // Frames cached from the previous session cannot be followed by the new session's.
    this.gop.clear();
  }

  private malformedInPipes(): number {
    return (
      (this.video?.normalizer.counters.malformed ?? 0) + (this.audio?.normalizer.counters.malformed ?? 0)
    );
  }

  private deliver(frame: OutputFrame): void {
    if (frame.kind === "video") {
      // A restarted camera resumes mid-GOP: its frames are useless to a decoder until its keyframe.
      if (frame.sourceSession !== this.keyedSession) {
        if (!frame.keyframe) return;
        this.keyedSession = frame.sourceSession;
      }
      // Kept without fast start too: the snapshot (P/snapshot.jpg) decodes it.
      this.gop.push(frame);
      this.lastVideoAt = frame.receivedAt;
      let bytes = 0;
      for (const packet of frame.packets) bytes += packet.length;
      this.meter.add(frame.receivedAt, bytes, frame.packets.length);
      if (frame.keyframe) {
        this.keyframeTimes.push(frame.receivedAt);
        if (this.keyframeTimes.length > 2) this.keyframeTimes.shift();
      }
      if (this.live.size > 0) this.liveMuxer.push(frame);
      else if (this.liveMuxer.active) this.liveMuxer.reset();
    }
    this.sends.push(frame, [...this.viewers.values()]);
  }

  /** The stream's video as codec matching should see it: with the latest parameter sets. */
  private videoForMatching(): MediaInfo | undefined {
    const pipe = this.video;
    if (pipe === undefined) return undefined;
    const sets = pipe.normalizer.parameterSets;
    return sets.length > 0 ? { ...pipe.media, parameterSets: sets } : pipe.media;
  }

  /**
   * Answers a browser's offer with a new viewer: its id (for events and logs) and its WHEP resource, the
   * secret that names it to viewerOf (for the client that offered, and no one else).
   * @throws MaxViewersError, TooManyFromAddressError, TooManyPendingError, NoStreamError,
   *   NoCommonCodecError, BadSdpError, NoIceCandidateError (all ViewerRequestError)
   */
  async addViewer(
    offerSdp: string,
    remoteAddress: string,
    vanilla: boolean,
    localAddresses: readonly string[] = [],
  ): Promise<NewViewer> {
    if (this.closed) throw new NoStreamError();
    this.checkSeat(remoteAddress);
    if (this.pendingViewers(remoteAddress) >= this.maxPendingPerAddress)
      throw new TooManyPendingError(remoteAddress, this.maxPendingPerAddress, PENDING_RETRY_AFTER_S);
    parseOffer(offerSdp);
    const video = this.videoForMatching();
    const audio = this.audio?.media;
    if (video === undefined && audio === undefined) throw new NoStreamError();
    // Counted before the first await: concurrent offers from one address see each other.
    this.pending++;
    const releasePending = hold(this.unconnected, remoteAddress);
    const releaseSeat = hold(this.seats, remoteAddress);
    let created: { viewer: Viewer; answerSdp: string };
    try {
      created = await Viewer.create({
        offerSdp,
        ...(video !== undefined ? { video } : {}),
        ...(audio !== undefined ? { audio } : {}),
        ice: this.opts.ice,
        remoteAddress,
        localAddresses,
        vanilla,
        ...(this.opts.viewerTimeouts !== undefined ? { timeouts: this.opts.viewerTimeouts } : {}),
        ...(this.opts.pacing !== undefined ? { pacing: this.opts.pacing } : {}),
      });
    } catch (error) {
      releasePending();
      releaseSeat();
      if (error instanceof ViewerRequestError) throw error;
      throw new BadSdpError(error instanceof Error ? error.message : String(error));
    } finally {
      this.pending--;
    }
    const { viewer, answerSdp } = created;
    if (this.closed) {
      releasePending();
      releaseSeat();
      await viewer.close("the stream was closed");
      throw new NoStreamError();
    }
    this.viewers.set(viewer.id, viewer);
    const resource = newResource();
    const key = resourceKey(resource);
    this.resources.set(key, viewer.id);
    if (viewer.connected) releasePending();
    viewer.on("state", (state) => {
      if (state !== "connected") return;
      releasePending();
      if (this.fastStart) viewer.replay(this.gop.framesSinceKeyframe());
    });
    viewer.on("pli", () => {
      this.keyframeRequests++;
    });
    viewer.once("closed", () => {
      releasePending();
      releaseSeat();
      this.resources.delete(key);
      if (viewer.closeReason !== REMOVED) this.ended.add(key);
      this.viewers.delete(viewer.id);
      this.emit("left", { ...viewerInfo(viewer), reason: viewer.closeReason });
    });
    this.emit("joined", viewerInfo(viewer));
    return { id: viewer.id, resource, answerSdp };
  }

  /** The id of the live viewer whose WHEP resource is `resource`; undefined for any other text. */
  viewerOf(resource: string): string | undefined {
    return this.resources.get(resourceKey(resource));
  }

  /**
   * True, once, when `resource` named a viewer that ended lately without a DELETE (its client closed
   * the connection, or it timed out): a DELETE on it has nothing left to do but is not an error.
   */
  takeEnded(resource: string): boolean {
    return this.ended.take(resourceKey(resource));
  }

  /**
   * WHEP trickle for one viewer.
   * @throws UnknownViewerError, BadSdpError, IceRestartError (all ViewerRequestError)
   */
  async addIceCandidates(id: string, sdpfrag: string): Promise<void> {
    const viewer = this.viewers.get(id);
    if (viewer === undefined) throw new UnknownViewerError(id);
    await viewer.addIceCandidates(sdpfrag);
  }

  /** Ends one viewer (WHEP DELETE). @throws UnknownViewerError */
  async removeViewer(id: string): Promise<void> {
    const viewer = this.viewers.get(id);
    if (viewer === undefined) throw new UnknownViewerError(id);
    await viewer.close(REMOVED);
  }

  stats(): { stream: StreamStats; viewers: ViewerStats[] } {
    const now = performance.now();
    const rates = this.meter.rates(now);
    const video = this.video;
    const picture = video === undefined ? undefined : pictureOf(video.media, video.normalizer.parameterSets);
    const [previousKey, lastKey] = this.keyframeTimes;
    const audioMedia = this.audioMedia;
    const stream: StreamStats = {
      ...(video !== undefined ? { codec: video.media.codec } : {}),
      ...picture,
      fps: rates.framesPerSecond,
      kbps: rates.kbps,
      packetsPerSecond: rates.packetsPerSecond,
      ...(previousKey !== undefined && lastKey !== undefined
        ? { keyframeIntervalS: Math.round((lastKey - previousKey) / 100) / 10 }
        : {}),
      bFrames: video?.normalizer.bFrames ?? false,
      ...(audioMedia !== undefined ? { audioCodec: describeMedia(audioMedia) } : {}),
      audioRelayed: this.audio !== undefined,
      sourceState:
        this.lastVideoAt === undefined
          ? "waiting"
          : now - this.lastVideoAt > STALLED_AFTER_MS
            ? "stalled"
            : "receiving",
      sourceSessions: this.sessions,
      keyframeRequests: this.keyframeRequests,
      malformedPackets: this.malformedBefore + this.malformedInPipes() + (this.packetInput?.dropped ?? 0),
      fmp4Viewers: this.live.size,
      fmp4SkippedFrames: this.live.stats().skippedFrames,
    };
    return { stream, viewers: [...this.viewers.values()].map((v) => v.stats()) };
  }

  /** Closes every viewer (awaited); later pushes and offers are refused. */
  async close(): Promise<void> {
    this.closed = true;
    this.sends.clear();
    this.live.close();
    await Promise.all([...this.viewers.values()].map((viewer) => viewer.close("the stream was closed")));
    this.gop.clear();
    this.ended.clear();
  }
}

/** Size and profile from the latest SPS, else from the SDP's MediaInfo. */
function pictureOf(
  media: MediaInfo,
  sets: readonly Buffer[],
): { width?: number; height?: number; profile?: string } {
  return (
    pictureSizeOf(media.codec, sets) ?? {
      ...(media.width !== undefined ? { width: media.width } : {}),
      ...(media.height !== undefined ? { height: media.height } : {}),
      ...(media.profileLevelId !== undefined ? { profile: media.profileLevelId } : {}),
    }
  );
}
