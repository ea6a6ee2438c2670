import "./loopback-namespace";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { requireTool } from "./tools";

/**
 * Debian's Chromium, headless: no background networking (the machine has no network), loopback allowed
 * in peer connections, and no mDNS host names (werift would multicast to resolve them).
 */
export const CHROMIUM_ARGS = [
  "--headless=new",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--allow-loopback-in-peer-connection",
  "--disable-features=WebRtcHideLocalIpsWithMdns",
  "--autoplay-policy=no-user-gesture-required",
];

export interface LaunchedChromium {
  readonly browser: Browser;
  /** A page in a context of its own, allowed to gather loopback ICE candidates for `url`'s origin. */
  open(url: string): Promise<{ page: Page; context: BrowserContext }>;
  close(): Promise<void>;
}

/** Playwright gives each launch a new empty profile of its own and removes it on close. */
export async function launchChromium(): Promise<LaunchedChromium> {
  const browser = await chromium.launch({
    executablePath: requireTool("chromium"),
    args: CHROMIUM_ARGS,
    headless: true,
  });
  return {
    browser,
    async open(url: string) {
      const context = await browser.newContext();
      // Chromium offers loopback candidates only to an origin granted camera or microphone access (its
      // "default" IP handling policy); in a namespace holding only loopback it gathers nothing otherwise.
      await context.grantPermissions(["camera", "microphone"], { origin: new URL(url).origin });
      const page = await context.newPage();
      await page.goto(url);
      return { page, context };
    },
    close: () => browser.close(),
  };
}
