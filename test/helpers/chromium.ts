import "./loopback-namespace";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
  // Chromium looks up Google's hosts in the background whatever the switches above say (caught by the
  // HTTP-fallback test's guards, sent to the machine's nameserver): every name fails at once here,
  // before a packet, and the tests' addresses (loopback, their namespaces' 10.x) are used as they are.
  "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.*, EXCLUDE 10.*",
];

export interface LaunchedChromium {
  /** Its contexts and pages, browser.newPage()'s included, have their CSP violations recorded. */
  readonly browser: Browser;
  /** A page in a context of its own, allowed to gather loopback ICE candidates for `url`'s origin. */
  open(url: string): Promise<{ page: Page; context: BrowserContext }>;
  /** The Content-Security-Policy violations reported so far, in any frame of any page; taken, so cleared. */
  takeCspViolations(): string[];
  /** How many violations wait to be taken (they arrive as console messages, after the page's load). */
  readonly untakenCspViolations: number;
  /** Closes the browser; rejects when a CSP violation was reported that no takeCspViolations() took. */
  close(): Promise<void>;
}

/**
 * Run in every frame before its own scripts: a violation the page could catch is also said on the
 * console, where Chromium itself reports the others (a refused frame-ancestors is said only there).
 */
const REPORT_CSP_VIOLATIONS = `document.addEventListener("securitypolicyviolation", (event) => {
  console.error("Content Security Policy violation: " + event.violatedDirective + " blocked " +
    (event.blockedURI || "inline") + " in " + event.documentURI);
});`;

/** A console message Chromium or REPORT_CSP_VIOLATIONS writes for a refused resource, script, style or frame. */
function isCspViolation(text: string): boolean {
  return /Content Security Policy/i.test(text);
}

export interface ChromiumOptions {
  /**
   * A named network namespace (test/helpers/netns.ts) to run the browser in: a host of a network test.
   * Playwright talks to it over a pipe, which `ip netns exec` passes on. Default this process's namespace.
   */
  readonly namespace?: string;
  /** More command-line switches, after CHROMIUM_ARGS. */
  readonly args?: readonly string[];
}

/**
 * Playwright starts the executable it is given with its arguments: a two-line script that execs
 * Chromium inside the namespace. Its folder, to remove once the browser is closed.
 */
function namespacedChromium(namespace: string): { executable: string; folder: string } {
  const folder = mkdtempSync(join(tmpdir(), "chromium-netns-"));
  const executable = join(folder, "chromium");
  const quote = (text: string) => `'${text.replaceAll("'", "'\\''")}'`;
  writeFileSync(
    executable,
    `#!/bin/sh\nexec ${quote(requireTool("ip"))} netns exec ${quote(namespace)} ${quote(requireTool("chromium"))} "$@"\n`,
  );
  chmodSync(executable, 0o755);
  return { executable, folder };
}

/**
 * Playwright gives each launch a new empty profile of its own and removes it on close. A page that
 * violates its Content-Security-Policy fails the test at close(), unless the test took the violation.
 */
export async function launchChromium(options: ChromiumOptions = {}): Promise<LaunchedChromium> {
  const wrapper = options.namespace === undefined ? undefined : namespacedChromium(options.namespace);
  const removeWrapper = () => {
    if (wrapper !== undefined) rmSync(wrapper.folder, { recursive: true, force: true });
  };
  const browser = await chromium
    .launch({
      executablePath: wrapper?.executable ?? requireTool("chromium"),
      args: [...CHROMIUM_ARGS, ...(options.args ?? [])],
      headless: true,
    })
    .catch((err: unknown) => {
      removeWrapper();
      throw err;
    });
  const violations: string[] = [];
  const newContext = browser.newContext.bind(browser);
  browser.newContext = async (options) => {
    const context = await newContext(options);
    await context.addInitScript(REPORT_CSP_VIOLATIONS);
    context.on("console", (message) => {
      if (message.type() === "error" && isCspViolation(message.text())) {
        violations.push(`${message.text()} (${message.page()?.url() ?? "no page"})`);
      }
    });
    return context;
  };
  // Its own context, so that it is watched too (closed with the browser rather than with the page).
  browser.newPage = async (options) => (await browser.newContext(options)).newPage();
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
    takeCspViolations: () => violations.splice(0),
    get untakenCspViolations() {
      return violations.length;
    },
    async close() {
      await browser.close();
      removeWrapper();
      if (violations.length > 0) {
        throw new Error(`Content-Security-Policy violations in Chromium:\n${violations.join("\n")}`);
      }
    },
  };
}
