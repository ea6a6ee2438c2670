import assert from "node:assert/strict";
import { RtspSession } from "../../src/rtsp/session";
import { playing, RtspPeer } from "../helpers/rtsp-peer";
import { TimerLedger } from "../helpers/timer-ledger";
import { waitFor } from "../helpers/wait";

// A flow redeployed while its camera is answering PLAY: the session is closed with PLAY in flight,
// and the camera's 200 arrives after. Nothing of the session may run on (keepalive, receiver reports,
// the no-media watch): before, they started on that late 200 and ran for ever.
describe("RtspSession closed while its PLAY is answered", function () {
  this.timeout(20_000);

  it("starts no timer when PLAY's answer comes after close()", async () => {
    const timers = TimerLedger.open();
    let releasePlay: () => void = () => {};
    const playAnswered = new Promise<void>((resolve) => {
      releasePlay = resolve;
    });
    const answer = playing();
    const peer = await RtspPeer.start(async (request, self) => {
      if (request.method === "PLAY") await playAnswered;
      return answer(request, self);
    });
    try {
      const session = new RtspSession({
        url: peer.url(),
        transport: "tcp",
        media: "video",
        userAgent: "node-red-rtsp-webrtc-test",
        connectTimeoutMs: 5000,
        replyTimeoutMs: 5000,
        noMediaTimeoutMs: 10_000,
      });
      const played = session.play().catch((err: unknown) => err);
      await waitFor(() => peer.requests.some((r) => r.method === "PLAY"), 5000, "PLAY to be sent");
      const closed = session.close();
      // TEARDOWN is on its way; the camera answers PLAY first, as one would.
      releasePlay();
      await closed;
      await played;
      assert.deepEqual(timers.pending(), []);
    } finally {
      timers.close();
      await peer.close();
    }
  });
});
