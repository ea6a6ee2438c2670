import assert from "node:assert/strict";
import { type ClientRig, startClientRig } from "../helpers/client-rig";
import { type LaunchedFirefox, launchFirefox } from "../helpers/firefox";
import { waitFor } from "../helpers/wait";

// Debian's firefox-esr, headless, driven over WebDriver BiDi (puppeteer-core), on webrtc-out's own
// player page in Node-RED itself, with the prefs of DESIGN.md §6 (test/helpers/firefox.ts): H.264
// through the system's FFmpeg, loopback candidates, no mDNS names.

/**
 * Run by the test in the page before the player's own script (a preload script, not part of the
 * product page): Firefox gathers candidates in a namespace without a default route only while the page
 * captures a camera (a fake one here), so the capture starts first and the player's offer waits for it.
 * Firefox gathers nothing otherwise, and the player would offer no candidate.
 */
const CAPTURE_BEFORE_OFFER = `(() => {
  const camera = navigator.mediaDevices.getUserMedia({ video: true });
  window.__fakeCamera = camera;
  const createOffer = RTCPeerConnection.prototype.createOffer;
  RTCPeerConnection.prototype.createOffer = function (...args) {
    return camera.then(() => createOffer.apply(this, args));
  };
})();`;

interface PlayerView {
  state: string;
  stats: { framesDecoded: number; width: number; height: number };
  offer: string;
}

describe("Firefox (firefox-esr, WebDriver BiDi) on the player page", function () {
  this.timeout(150_000);
  let rig: ClientRig | undefined;
  let firefox: LaunchedFirefox | undefined;

  before(async () => {
    rig = await startClientRig();
    firefox = await launchFirefox();
  });

  after(async () => {
    await firefox?.close();
    await rig?.close();
  });

  for (const audio of [false, true]) {
    it(`plays ${audio ? "a camera with PCMA" : "a camera without audio"} in H.264: frames advance at the camera's size`, async () => {
      if (rig === undefined || firefox === undefined) throw new Error("no rig");
      const path = audio ? rig.paths.withAudio : rig.paths.videoOnly;
      const page = await firefox.newPage();
      try {
        await page.evaluateOnNewDocument(CAPTURE_BEFORE_OFFER);
        await page.goto(`${rig.base}/${path}`);
        const view = () =>
          page.evaluate<[], () => PlayerView>(() => {
            const player = (
              globalThis as unknown as {
                __player: PlayerView & { pc: { localDescription: { sdp: string } | null } | null };
              }
            ).__player;
            return {
              state: player.state,
              stats: { ...player.stats },
              offer: player.pc?.localDescription?.sdp ?? "",
            };
          });
        await waitFor(
          async () => {
            const now = await view();
            return now.state === "playing" && now.stats.framesDecoded > 10;
          },
          60_000,
          "Firefox to play",
        ).catch(async (err: Error) => {
          throw new Error(
            `${err.message}: ${JSON.stringify(await view())}\n${rig?.nodeRed.output().slice(-3000)}`,
          );
        });
        const first = await view();
        await waitFor(
          async () => (await view()).stats.framesDecoded > first.stats.framesDecoded + 10,
          30_000,
          "frames to keep advancing",
        );
        const playing = await view();
        assert.equal(playing.stats.width, rig.width);
        assert.equal(playing.stats.height, rig.height);
        // What Firefox offered: H.264 (the prefs), loopback candidates and no mDNS name.
        assert.match(playing.offer, /a=rtpmap:\d+ H264\/90000/);
        assert.match(playing.offer, / 127\.0\.0\.1 \d+ typ host/);
        assert.doesNotMatch(playing.offer, /\.local /);
        const stats = (await (await fetch(`${rig.base}/${path}/stats`)).json()) as {
          viewers: { state: string; videoCodec?: string; audioCodec?: string }[];
        };
        const viewer = stats.viewers.find((v) => v.state === "connected");
        assert.ok(viewer, JSON.stringify(stats.viewers));
        assert.match(viewer.videoCodec ?? "", /^H264 /);
        assert.equal(viewer.audioCodec, audio ? "PCMA/8000" : undefined);
      } finally {
        await page.close();
      }
      await waitFor(
        async () =>
          ((await (await fetch(`${rig?.base}/${path}/stats`)).json()) as { viewers: [] }).viewers.length ===
          0,
        20_000,
        "the closed page's viewer to be gone",
      );
    });
  }
});
