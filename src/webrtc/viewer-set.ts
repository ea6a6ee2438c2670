import type { LiveSink } from "../mp4/live-fanout";
import type { AccessUnit, StreamInfo } from "../rtp/stream-info";
import type { ViewerStats } from "./viewer";

/** A viewer as the viewer set's events tell of it. */
export interface ViewerInfo {
  readonly id: string;
  readonly remoteAddress: string;
  /** "H264 42e01f", "H265"... as negotiated with this browser. */
  readonly videoCodec?: string;
  readonly audioCodec?: string;
}

/** A viewer that has ended, and why. */
export type LeftViewerInfo = ViewerInfo & { readonly reason: string };

/** "receiving" while video arrives, "stalled" after a gap, "waiting" before the first. */
export type StreamSourceState = "waiting" | "receiving" | "stalled";

export interface StreamStats {
  readonly codec?: string;
  /** H.264 profile-level-id of the current SPS. */
  readonly profile?: string;
  readonly width?: number;
  readonly height?: number;
  readonly fps: number;
  readonly kbps: number;
  readonly packetsPerSecond: number;
  /** Between the last two keyframes. */
  readonly keyframeIntervalS?: number;
  /** B-frames seen (they stutter in browsers). */
  readonly bFrames: boolean;
  readonly audioCodec?: string;
  /** False when the stream has audio that no browser can take (AAC), or audio is switched off. */
  readonly audioRelayed: boolean;
  /** "receiving" while video arrives, "stalled" after 3 s without, "waiting" before the first. */
  readonly sourceState: StreamSourceState;
  /** Source sessions seen (a camera restart adds one). */
  readonly sourceSessions: number;
  readonly keyframeRequests: number;
  /** RTP packets dropped as malformed since the start (too short, not RTP, broken aggregates or fragments). */
  readonly malformedPackets: number;
  /** Viewers of the stream as fMP4 over HTTP. */
  readonly fmp4Viewers: number;
  /** Frames fMP4 viewers skipped because they fell behind, summed. */
  readonly fmp4SkippedFrames: number;
}

/** A viewer just answered: its id (for events and logs) and the secret that names its WHEP resource. */
export interface NewViewer {
  readonly id: string;
  /** Names the viewer to viewerOf; only the client that offered learns it. */
  readonly resource: string;
  readonly answerSdp: string;
}

/**
 * The viewers of one stream, as the HTTP routes (src/http) and the webrtc-out node (src/nodes) use
 * them; StreamViewers is the one. Refusals are ViewerRequestErrors (./errors).
 */
export interface ViewerSet {
  /** One access unit of `stream`, for every viewer. Never throws on bad input. */
  push(unit: AccessUnit, stream: StreamInfo): void;
  /** One RTP packet of the configured fallback codec (a udp in node's output). */
  pushPacket(packet: Buffer): void;
  /** The latest StreamInfo pushed. */
  readonly stream: StreamInfo | undefined;
  /** Viewers answered and not ended. */
  readonly size: number;
  /**
   * Answers a browser's offer with a new viewer. `localAddresses`: where the viewer's request reached
   * us (ViewerOptions.localAddresses).
   */
  addViewer(
    offerSdp: string,
    remoteAddress: string,
    vanilla: boolean,
    localAddresses?: readonly string[],
  ): Promise<NewViewer>;
  /** The id of the live viewer whose WHEP resource is `resource`; undefined for any other text. */
  viewerOf(resource: string): string | undefined;
  /**
   * True, once, when `resource` named a viewer that ended lately without a DELETE (bounded memory): a
   * client that closes its peer connection before its DELETE (medooze's whip-whep) still gets a 200.
   */
  takeEnded(resource: string): boolean;
  /**
   * Adds a viewer of the stream as fMP4 over HTTP: `open` gets the MIME type and returns where the
   * bytes go. Returns its removal. Refusals as for addViewer.
   */
  addLiveViewer(remoteAddress: string, open: (mime: string) => LiveSink): () => void;
  /** WHEP trickle for one viewer. */
  addIceCandidates(id: string, sdpfrag: string): Promise<void>;
  /** Ends one viewer (WHEP DELETE). */
  removeViewer(id: string): Promise<void>;
  stats(): { readonly stream: StreamStats; readonly viewers: readonly ViewerStats[] };
  /** Ends every viewer; later pushes and offers are refused. */
  close(): Promise<void>;
  on(event: "joined", listener: (viewer: ViewerInfo) => void): unknown;
  on(event: "left", listener: (viewer: LeftViewerInfo) => void): unknown;
}
