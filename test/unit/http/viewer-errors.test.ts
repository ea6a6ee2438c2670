import assert from "node:assert/strict";
import { errorResponse } from "../../../src/http/http-error";
import {
  BadSdpError,
  IceRestartError,
  MaxViewersError,
  NoCommonCodecError,
  NoIceCandidateError,
  NoStreamError,
  TooManyFromAddressError,
  TooManyPendingError,
  UnknownViewerError,
  type ViewerRequestError,
} from "../../../src/webrtc/errors";

/** Each refusal of the viewer set, and the answer the signaling routes give it. */
const ANSWERS: readonly {
  error: ViewerRequestError;
  status: number;
  message: string;
  detail: string;
  headers?: Record<string, string>;
}[] = [
  {
    error: new BadSdpError("no m= line"),
    status: 400,
    message: "bad SDP: no m= line",
    detail: "the offer could not be used: no m= line",
  },
  {
    error: new NoCommonCodecError(["H265"], ["VP8", "H264 (42e01f)"]),
    status: 406,
    message: "no codec in common: the stream has H265; the browser offered VP8, H264 (42e01f)",
    detail:
      "The stream is relayed as it is, without transcoding: the browser must be able to receive the " +
      "camera's codec (H.264 with packetization-mode=1, or H.265 where the browser offers it).",
  },
  {
    error: new MaxViewersError(1),
    status: 503,
    message: "max viewers reached",
    detail: "this stream serves at most 1 viewer at once; try again later",
  },
  {
    error: new NoStreamError(),
    status: 503,
    message: "no stream yet",
    detail: "waiting for the camera: no media has arrived at this node yet",
  },
  {
    error: new UnknownViewerError("v1"),
    status: 404,
    message: "unknown viewer",
    detail: 'no viewer with id "v1": it has ended or never existed',
  },
  {
    error: new IceRestartError(),
    status: 422,
    message: "ice restart not supported",
    detail: "reload the player: a new offer starts a new connection",
  },
  {
    error: new TooManyPendingError("192.0.2.7", 4, 5),
    status: 429,
    message: "too many pending viewers",
    detail:
      "192.0.2.7 already has 4 viewers that have not connected yet; connect or end those first, or try again later",
    headers: { "Retry-After": "5" },
  },
  {
    error: new TooManyFromAddressError("192.0.2.7", 1, 10),
    status: 429,
    message: "too many viewers from this address",
    detail:
      "192.0.2.7 already has 1 viewer of this stream, the most one client address may have; end one of them, or try again later",
    headers: { "Retry-After": "10" },
  },
  {
    error: new NoIceCandidateError(),
    status: 500,
    message: "no ICE candidate",
    detail:
      "this server has no address to offer the viewer: set extra host addresses in the webrtc-out node " +
      "(the address viewers reach this host at), or a TURN server",
  },
];

describe("viewer refusals over HTTP", () => {
  for (const answer of ANSWERS) {
    it(`${answer.error.code}: ${answer.status}, its words and code${answer.headers ? ", Retry-After" : ""}`, () => {
      assert.deepEqual(errorResponse(answer.error), {
        status: answer.status,
        body: { error: answer.message, detail: answer.detail, code: answer.error.code },
        headers: answer.headers ?? {},
      });
    });
  }

  it("src/webrtc's errors say what happened, not how HTTP answers it", () => {
    for (const { error } of ANSWERS) {
      assert.equal("httpStatus" in error, false, error.code);
      assert.equal("headers" in error, false, error.code);
    }
    assert.equal(new TooManyPendingError("192.0.2.7", 4, 5).retryAfterS, 5);
    assert.equal(new TooManyFromAddressError("192.0.2.7", 1, 10).retryAfterS, 10);
    assert.equal(new MaxViewersError(3).maxViewers, 3);
  });
});
