/**
 * The package as a library, without Node-RED: an RTSP client that keeps a camera playing and hands out
 * access units, and the WebRTC side that relays them to browsers. The Node-RED nodes are built on these.
 *
 *   const source = new RtspSource({
 *     url, transport: "auto", media: "video", userAgent: "my-app",
 *     connectTimeoutMs: 5000, replyTimeoutMs: 5000, noMediaTimeoutMs: 10000,
 *   });
 *   const viewers = new StreamViewers({ maxViewers: 10, ice: DEFAULT_ICE, audio: false });
 *   source.on("frame", (unit, stream) => viewers.push(unit, stream));
 *   source.start();
 *   const { answerSdp } = await viewers.addViewer(offerSdp, remoteAddress, true);
 */

// RTP: what a packet and a stream look like.
export { parseRtpHeader, type RtpHeader, rtpPayload } from "./rtp/rtp-packet";
export type { AccessUnit, CodecName, MediaInfo, MediaKind, StreamInfo } from "./rtp/stream-info";
// RTSP: the URL, one session, and the source that keeps a camera playing across sessions.
export { Backoff, type BackoffOptions, DEFAULT_BACKOFF } from "./rtsp/backoff";
export type { DescribedMedia, SessionDescription } from "./rtsp/description";
export { RtspError, type RtspErrorCode } from "./rtsp/errors";
export type { MediaSelection } from "./rtsp/media-choice";
export {
  RtspSession,
  type RtspSessionEvents,
  type SessionOptions,
  type SessionTrack,
  type TransportMode,
} from "./rtsp/session";
export {
  RtspSource,
  type RtspSourceEvents,
  type SourceOptions,
  type SourceState,
  type SourceStats,
  type SourceTransport,
  type StateEvent,
} from "./rtsp/source";
export type { TlsTrust } from "./rtsp/tls-options";
export { maskUrl, parseRtspUrl, type RtspUrl } from "./rtsp/url";
// WebRTC: one stream's viewers, and one viewer.
export {
  BadSdpError,
  IceRestartError,
  MaxViewersError,
  NoCommonCodecError,
  NoStreamError,
  TooManyFromAddressError,
  TooManyPendingError,
  UnknownViewerError,
  ViewerRequestError,
  type ViewerRequestErrorCode,
} from "./webrtc/errors";
export { DEFAULT_ICE, type IceServer, type IceSettings } from "./webrtc/ice-config";
export { StreamViewers, type StreamViewersOptions } from "./webrtc/stream-viewers";
export {
  Viewer,
  type ViewerOptions,
  type ViewerState,
  type ViewerStats,
  type ViewerTimeouts,
} from "./webrtc/viewer";
export type {
  LeftViewerInfo,
  NewViewer,
  StreamSourceState,
  StreamStats,
  ViewerInfo,
  ViewerSet,
} from "./webrtc/viewer-set";
export type { PacingOptions } from "./webrtc/viewer-track";
export { WhipError, type WhipErrorCode } from "./whip/errors";
export {
  WhipPublisher,
  type WhipPublisherOptions,
  type WhipState,
  type WhipStateEvent,
} from "./whip/publisher";
