import assert from "node:assert/strict";
import { requireAiortc, runAiortcViewer } from "../helpers/aiortc-viewer";
import { type ClientRig, startClientRig } from "../helpers/client-rig";

// An independent WebRTC stack, Debian's aiortc 1.4 (python3-aiortc), decoding with python3-av: through
// WHEP and through the JSON offer, offering video only and video + audio, to a camera with PCMA audio
// and one without, all through rtsp-in → webrtc-out in Node-RED itself. aiortc checks answers more
// strictly than browsers do (a rejected section without a=rtcp-mux, DESIGN.md §6).

const FRAMES = 30;

describe("aiortc viewers (python3-aiortc) through WHEP and the JSON offer", function () {
  this.timeout(180_000);
  let rig: ClientRig | undefined;

  before(async () => {
    requireAiortc();
    rig = await startClientRig();
  });

  after(async () => {
    await rig?.close();
  });

  for (const mode of ["whep", "offer"] as const) {
    for (const cameraAudio of [false, true]) {
      for (const audio of [false, true]) {
        const title =
          `${mode === "whep" ? "WHEP" : "/offer"}: offering ${audio ? "video + audio" : "video only"}, ` +
          `camera ${cameraAudio ? "with PCMA" : "without audio"}`;
        it(title, async () => {
          if (rig === undefined) throw new Error("no rig");
          const path = cameraAudio ? rig.paths.withAudio : rig.paths.videoOnly;
          const url = `${rig.base}/${path}/${mode}`;
          const result = await runAiortcViewer({ url, mode, audio, frames: FRAMES });
          const detail = `${JSON.stringify(result)}\n${rig.nodeRed.output().slice(-3000)}`;
          assert.equal(result.error, null, detail);
          assert.equal(result.status, mode === "whep" ? 201 : 200, detail);
          assert.deepEqual(result.localCandidates, ["127.0.0.1"], detail);
          assert.ok(result.videoFrames >= FRAMES, detail);
          assert.equal(result.width, rig.width, detail);
          assert.equal(result.height, rig.height, detail);
          if (!audio) {
            assert.equal(result.answerAudioPort, null, detail);
          } else if (cameraAudio) {
            assert.notEqual(result.answerAudioPort, 0, detail);
            assert.ok(result.audioFrames > 0, `audio frames decoded\n${detail}`);
            assert.equal(result.audioSampleRate, 8000, detail);
          } else {
            // Rejected, with a=rtcp-mux: aiortc took the answer (it refused it before the fix).
            assert.equal(result.answerAudioPort, 0, detail);
            assert.equal(result.audioFrames, 0, detail);
          }
          assert.equal(result.deleteStatus, 200, detail);
        });
      }
    }
  }
});
