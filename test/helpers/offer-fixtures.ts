import { existsSync, readFileSync } from "node:fs";
import path from "node:path";

/**
 * Browser offers in test/fixtures/offers: chromium-156.sdp is Debian's Chromium 156 (headless)
 * as captured here (recvonly video + audio); firefox-140.sdp and safari-18.sdp are written after
 * those browsers' offers (Firefox's fmtp order and session-level fingerprint, Safari's H.265 entry).
 */
export type OfferFixture = "chromium-156.sdp" | "firefox-140.sdp" | "safari-18.sdp";

function fixturesDir(): string {
  // Found from the compiled (dist/test/helpers) or the source location.
  let dir = __dirname;
  while (!existsSync(path.join(dir, "test", "fixtures", "offers"))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`test/fixtures/offers not found above ${__dirname}`);
    dir = parent;
  }
  return path.join(dir, "test", "fixtures", "offers");
}

export function readOffer(name: OfferFixture): string {
  return readFileSync(path.join(fixturesDir(), name), "utf8");
}
