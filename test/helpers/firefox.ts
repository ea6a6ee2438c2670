import "./loopback-namespace";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { requireTool } from "./tools";

/**
 * What Debian's firefox-esr needs to play a webrtc-out stream offline, in a namespace holding only
 * loopback (DESIGN.md §6):
 * - H.264: offline Firefox has no decoder (it downloads OpenH264 at first use) and offers only
 *   VP8/VP9/AV1; with these two it offers H.264 and decodes it through the system's FFmpeg.
 * - Candidates: without a default route it gathers none unless the page captures a camera; a fake
 *   camera, granted without a prompt, makes it gather. Loopback allowed, host addresses not hidden
 *   behind mDNS names (werift would multicast to resolve them).
 * - Nothing from the network: no updates, telemetry, safe browsing or captive-portal probes.
 */
export const FIREFOX_PREFS: Readonly<Record<string, unknown>> = {
  "media.webrtc.hw.h264.enabled": true,
  "gfx.blacklist.webrtc.hw.acceleration.h264": 1,
  "media.navigator.streams.fake": true,
  "media.navigator.permission.fake": true,
  "media.navigator.permission.disabled": true,
  // A headless window never has focus: without this, getUserMedia waits for it forever.
  "media.devices.unfocused.enabled": true,
  "media.peerconnection.ice.loopback": true,
  "media.peerconnection.ice.obfuscate_host_addresses": false,
  "media.autoplay.default": 0,
  "media.gmp-manager.updateEnabled": false,
  "app.update.enabled": false,
  "browser.safebrowsing.malware.enabled": false,
  "browser.safebrowsing.phishing.enabled": false,
  "network.captive-portal-service.enabled": false,
  "network.connectivity-service.enabled": false,
  "toolkit.telemetry.enabled": false,
  "datareporting.policy.dataSubmissionEnabled": false,
};

export interface LaunchedFirefox {
  readonly browser: Browser;
  newPage(): Promise<Page>;
  /** Closes the browser and removes its profile. */
  close(): Promise<void>;
}

/** Headless firefox-esr over WebDriver BiDi (puppeteer-core), with FIREFOX_PREFS, in a fresh profile. */
export async function launchFirefox(): Promise<LaunchedFirefox> {
  const executablePath = requireTool("firefox-esr");
  const profile = mkdtempSync(join(tmpdir(), "firefox-profile-"));
  let browser: Browser;
  try {
    browser = await puppeteer.launch({
      browser: "firefox",
      executablePath,
      headless: true,
      userDataDir: profile,
      extraPrefsFirefox: { ...FIREFOX_PREFS },
      // Its own output only when a test asks; the default pipes would fill up unread.
      dumpio: false,
      timeout: 60_000,
      protocolTimeout: 60_000,
    });
  } catch (error) {
    rmSync(profile, { recursive: true, force: true });
    throw error;
  }
  return {
    browser,
    newPage: () => browser.newPage(),
    async close() {
      try {
        await browser.close();
      } finally {
        rmSync(profile, { recursive: true, force: true });
      }
    },
  };
}
