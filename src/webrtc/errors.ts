/** Stable, machine-readable names of the ways a viewer request can fail. */
export type ViewerRequestErrorCode =
  | "bad-sdp"
  | "no-common-codec"
  | "max-viewers"
  | "no-stream"
  | "unknown-viewer"
  | "ice-restart"
  | "too-many-pending"
  | "max-viewers-per-address"
  | "no-ice-candidate"
  | "unsupported-codec";

/**
 * Errors a viewer request can end in: a stable `code`, a one-line `message`, a `detail` that tells a
 * person what to do about it, and the facts behind it. How a protocol answers them is the protocol's
 * business (src/http/viewer-errors.ts for the signaling routes).
 */
export abstract class ViewerRequestError extends Error {
  abstract readonly code: ViewerRequestErrorCode;
  /** Seconds after which the same request may succeed; undefined when waiting alone will not help. */
  readonly retryAfterS: number | undefined = undefined;

  protected constructor(
    message: string,
    readonly detail: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The offer is not an SDP a peer connection can answer. */
export class BadSdpError extends ViewerRequestError {
  readonly code = "bad-sdp";

  constructor(reason: string) {
    super(`bad SDP: ${reason}`, `the offer could not be used: ${reason}`);
  }
}

/** Browser and stream share no codec (or the browser offered no media the stream has). */
export class NoCommonCodecError extends ViewerRequestError {
  readonly code = "no-common-codec";

  constructor(
    readonly streamCodecs: string[],
    readonly offeredCodecs: string[],
  ) {
    const stream = streamCodecs.length > 0 ? streamCodecs.join(", ") : "no media";
    const offered = offeredCodecs.length > 0 ? offeredCodecs.join(", ") : "nothing usable";
    super(
      `no codec in common: the stream has ${stream}; the browser offered ${offered}`,
      "The stream is relayed as it is, without transcoding: the browser must be able to receive the " +
        "camera's codec (H.264 with packetization-mode=1, or H.265 where the browser offers it).",
    );
  }
}

/** The stream already serves as many viewers as it is allowed to. */
export class MaxViewersError extends ViewerRequestError {
  readonly code = "max-viewers";

  constructor(readonly maxViewers: number) {
    super(
      "max viewers reached",
      `this stream serves at most ${maxViewers} viewer${maxViewers === 1 ? "" : "s"} at once; try again later`,
    );
  }
}

/** Nothing has arrived on the input yet, so there is nothing to describe in an answer. */
export class NoStreamError extends ViewerRequestError {
  readonly code = "no-stream";

  constructor() {
    super("no stream yet", "waiting for the camera: no media has arrived at this node yet");
  }
}

/** The stream's video cannot be served as fMP4 to Media Source Extensions (only H.264 is). */
export class UnsupportedLiveCodecError extends ViewerRequestError {
  readonly code = "unsupported-codec";

  constructor(readonly codec: string) {
    super(
      "not playable over HTTP",
      `the HTTP fallback carries H.264 video; this camera sends ${codec}: play it over WebRTC`,
    );
  }
}

/** A WHEP resource id that does not name a live viewer. */
export class UnknownViewerError extends ViewerRequestError {
  readonly code = "unknown-viewer";

  constructor(readonly id: string) {
    super("unknown viewer", `no viewer with id ${JSON.stringify(id)}: it has ended or never existed`);
  }
}

/** A trickle PATCH with new ICE credentials: werift cannot restart ICE on a live connection. */
export class IceRestartError extends ViewerRequestError {
  readonly code = "ice-restart";

  constructor() {
    super("ice restart not supported", "reload the player: a new offer starts a new connection");
  }
}

/**
 * One client address already has as many viewers waiting to connect as it may: an offer flood from one
 * host would otherwise hold a peer connection (and its UDP socket) per request until the connect timeout.
 */
export class TooManyPendingError extends ViewerRequestError {
  readonly code = "too-many-pending";

  constructor(
    readonly remoteAddress: string,
    readonly maxPending: number,
    override readonly retryAfterS: number,
  ) {
    super(
      "too many pending viewers",
      `${remoteAddress} already has ${maxPending} viewer${maxPending === 1 ? "" : "s"} that have not connected yet; ` +
        "connect or end those first, or try again later",
    );
  }
}

/**
 * One client address already has as many viewers, connected or still connecting, as it may: one host
 * cannot take every place of a stream (maxViewers) for itself.
 */
export class TooManyFromAddressError extends ViewerRequestError {
  readonly code = "max-viewers-per-address";

  constructor(
    readonly remoteAddress: string,
    readonly maxPerAddress: number,
    override readonly retryAfterS: number,
  ) {
    super(
      "too many viewers from this address",
      `${remoteAddress} already has ${maxPerAddress} viewer${maxPerAddress === 1 ? "" : "s"} of this stream, ` +
        "the most one client address may have; end one of them, or try again later",
    );
  }
}

/**
 * The answer would offer no ICE candidate at all (no usable interface address, none configured, nothing
 * the viewer's request came in on, and no STUN or TURN server): the viewer could never connect. The
 * server's configuration must change, so the detail says what to set.
 */
export class NoIceCandidateError extends ViewerRequestError {
  readonly code = "no-ice-candidate";

  constructor() {
    super(
      "no ICE candidate",
      "this server has no address to offer the viewer: set extra host addresses in the webrtc-out node " +
        "(the address viewers reach this host at), or a TURN server",
    );
  }
}
