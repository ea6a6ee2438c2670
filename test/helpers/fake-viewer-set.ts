import { randomBytes, randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import type { LiveSink } from "../../src/mp4/live-fanout";
import type { ViewerSetOptions, ViewerSetView } from "../../src/nodes/webrtc-out-node";
import type { AccessUnit, StreamInfo } from "../../src/rtp/stream-info";
import {
  BadSdpError,
  MaxViewersError,
  NoCommonCodecError,
  NoStreamError,
  UnknownViewerError,
} from "../../src/webrtc/errors";
import type { ViewerInfo } from "../../src/webrtc/viewer-set";

export const FAKE_LIVE_MIME = 'video/mp4; codecs="avc1.42e01f"';

interface FakeViewer extends Pick<ViewerInfo, "id" | "remoteAddress"> {
  readonly resource: string;
  readonly vanilla: boolean;
  readonly fragments: string[];
}

/**
 * A viewer set without WebRTC, for the HTTP and node tests that are about routing, status codes and
 * node behaviour: it answers like StreamViewers does (same error classes), but makes no peer connection.
 */
export class FakeViewerSet extends EventEmitter implements ViewerSetView {
  readonly options: ViewerSetOptions;
  readonly viewers = new Map<string, FakeViewer>();
  readonly units: AccessUnit[] = [];
  /** The stream object given with each unit. */
  readonly streams: StreamInfo[] = [];
  readonly packets: Buffer[] = [];
  stream: StreamInfo | undefined;
  closed = false;
  kbps = 0;

  constructor(options: Partial<ViewerSetOptions> = {}) {
    super();
    this.options = {
      maxViewers: 20,
      ice: { iceServers: [], additionalHostAddresses: [] },
      audio: true,
      fastStart: true,
      ...options,
    };
  }

  get size(): number {
    return this.viewers.size;
  }

  push(unit: AccessUnit, stream: StreamInfo): void {
    this.units.push(unit);
    this.streams.push(stream);
    this.stream = stream;
  }

  pushPacket(packet: Buffer): void {
    this.packets.push(packet);
  }

  async addViewer(offerSdp: string, remoteAddress: string, vanilla: boolean) {
    if (!offerSdp.startsWith("v=0")) throw new BadSdpError("it does not start with v=0");
    if (!this.stream) throw new NoStreamError();
    if (this.viewers.size >= this.options.maxViewers) throw new MaxViewersError(this.options.maxViewers);
    const codecs = this.stream.media.map((m) => m.codec);
    if (!codecs.some((codec) => offerSdp.includes(` ${codec}/`))) {
      throw new NoCommonCodecError(
        codecs,
        [...offerSdp.matchAll(/a=rtpmap:\d+ ([^/]+)\//g)].map((m) => m[1]!),
      );
    }
    const resource = randomBytes(32).toString("base64url");
    const viewer: FakeViewer = { id: randomUUID(), resource, remoteAddress, vanilla, fragments: [] };
    this.viewers.set(viewer.id, viewer);
    this.emit("joined", { id: viewer.id, remoteAddress });
    return { id: viewer.id, resource, answerSdp: `v=0\r\ns=answer for ${viewer.id}\r\n` };
  }

  /** fMP4 viewers' sinks, as the endpoint opened them. */
  readonly liveSinks = new Set<LiveSink>();

  /** Refuses as StreamViewers does before a stream; then sends each new sink one marker chunk. */
  addLiveViewer(_remoteAddress: string, open: (mime: string) => LiveSink): () => void {
    if (!this.stream) throw new NoStreamError();
    if (this.viewers.size + this.liveSinks.size >= this.options.maxViewers)
      throw new MaxViewersError(this.options.maxViewers);
    const sink = open(FAKE_LIVE_MIME);
    sink.write(Buffer.from("fake fMP4"));
    this.liveSinks.add(sink);
    return () => {
      this.liveSinks.delete(sink);
    };
  }

  viewerOf(resource: string): string | undefined {
    for (const viewer of this.viewers.values()) if (viewer.resource === resource) return viewer.id;
    return undefined;
  }

  /** Resources of viewers ended with endOnItsOwn, as StreamViewers remembers them for a late DELETE. */
  readonly ended = new Set<string>();

  /** The viewer ends without a DELETE, as when its client closes its peer connection. */
  endOnItsOwn(id: string): void {
    const viewer = this.viewers.get(id);
    if (!viewer) throw new UnknownViewerError(id);
    this.viewers.delete(id);
    this.ended.add(viewer.resource);
    this.emit("left", { id, remoteAddress: viewer.remoteAddress, reason: "closed by the browser" });
  }

  takeEnded(resource: string): boolean {
    return this.ended.delete(resource);
  }

  async addIceCandidates(id: string, sdpfrag: string): Promise<void> {
    const viewer = this.viewers.get(id);
    if (!viewer) throw new UnknownViewerError(id);
    // StreamViewers' documented refusal of new ICE credentials.
    if (sdpfrag.includes("a=ice-ufrag:restart")) throw new Error("ice restart not supported");
    viewer.fragments.push(sdpfrag);
  }

  async removeViewer(id: string): Promise<void> {
    const viewer = this.viewers.get(id);
    if (!viewer) throw new UnknownViewerError(id);
    this.viewers.delete(id);
    this.emit("left", { id, remoteAddress: viewer.remoteAddress, reason: "deleted" });
  }

  stats() {
    const video = this.stream?.media.find((m) => m.kind === "video");
    return {
      stream: { codec: video?.codec, kbps: this.kbps },
      viewers: [...this.viewers.values()].map((v) => ({ id: v.id, remoteAddress: v.remoteAddress })),
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.viewers.clear();
  }
}

/** A minimal stream description: H.264 video, optionally an audio track. */
export function fakeStream(session = 1, audioCodec?: string): StreamInfo {
  const media: StreamInfo["media"][number][] = [
    { mid: "0", kind: "video", codec: "H264", payloadType: 96, clockRate: 90000, fmtp: {}, relayable: true },
  ];
  if (audioCodec) {
    const relayable = ["PCMU", "PCMA", "OPUS", "G722"].includes(audioCodec);
    media.push({
      mid: "1",
      kind: "audio",
      codec: audioCodec,
      payloadType: 97,
      clockRate: 8000,
      fmtp: {},
      relayable,
    });
  }
  return Object.freeze({ id: "test", session, media: Object.freeze(media) });
}

/** An offer the fake takes: it names H264. */
export const FAKE_OFFER =
  "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 102\r\na=rtpmap:102 H264/90000\r\n";
