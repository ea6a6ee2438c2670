import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { inlineHash } from "../../../src/http/html";
import { wallPage, wallPagePolicy } from "../../../src/http/wall-page";

/** The page's browser code as shipped: src/http/pages, from dist/test/unit/http. */
function shipped(file: string): string {
  return readFileSync(path.resolve(__dirname, "../../../../src/http/pages", file), "utf8");
}

const BASE = { title: "Camera wall", listUrl: "/api/webrtc/streams", refreshMs: 2000 };

function config(html: string): Record<string, unknown> {
  const match = /<script type="application\/json" id="wall-config">([^<]*)<\/script>/.exec(html);
  assert.ok(match, "config element");
  return JSON.parse(match[1]!);
}

describe("http/wall-page", () => {
  it("is one HTML document with its script and style inline and no external URL", () => {
    const html = wallPage(BASE);
    assert.match(html, /^<!DOCTYPE html>/);
    assert.doesNotMatch(html, /https?:\/\//i);
    assert.doesNotMatch(html, /<script[^>]+src=/i);
    assert.doesNotMatch(html, /<link\b/i);
    assert.doesNotMatch(html, /@import|url\(/i);
    assert.ok(html.includes("window.__wall = wall"), "exposes the wall for tests");
  });

  it("reads the list it is given, as often as it is told", () => {
    assert.deepEqual(config(wallPage(BASE)), { listUrl: "/api/webrtc/streams", refreshMs: 2000 });
  });

  it("embeds each stream's player alone and says when there is none", () => {
    const html = wallPage(BASE);
    assert.ok(html.includes('url + "?embed=1"'), "tiles are the players' embed form");
    assert.ok(html.includes("No webrtc-out nodes deployed"));
    assert.match(html, /<title>Camera wall<\/title>/);
  });

  it("cannot be broken out of by a title or a URL", () => {
    const html = wallPage({ ...BASE, title: "</title><script>x()</script>", listUrl: "/a</script><b>" });
    assert.ok(html.includes("<title>&#60;/title&#62;&#60;script&#62;x()&#60;/script&#62;</title>"));
    assert.equal(html.match(/<\/script>/g)?.length, 2, "only the page's own two scripts end");
    assert.equal(config(html).listUrl, "/a</script><b>");
  });

  it("puts wall.js and wall.css inline as they are shipped, and its CSP allows exactly them", () => {
    const html = wallPage(BASE);
    const script = shipped("wall.js");
    const style = shipped("wall.css");
    assert.ok(html.includes(`<script>${script}</script>`), "wall.js inline");
    assert.ok(html.includes(`<style>${style}</style>`), "wall.css inline");
    const policy = wallPagePolicy();
    assert.ok(policy.includes(`script-src ${inlineHash(script)};`), policy);
    assert.ok(policy.includes(`style-src ${inlineHash(style)};`), policy);
  });

  it("its script parses", () => {
    const script = /<script>([\s\S]*)<\/script>/.exec(wallPage(BASE))?.[1];
    assert.ok(script);
    assert.doesNotThrow(() => new Function(script));
  });
});
