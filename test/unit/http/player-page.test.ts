import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { inlineHash } from "../../../src/http/html";
import { playerPage, playerPagePolicy } from "../../../src/http/player-page";

/** The page's browser code as shipped: src/http/pages, from dist/test/unit/http. */
function shipped(file: string): string {
  return readFileSync(path.resolve(__dirname, "../../../../src/http/pages", file), "utf8");
}

function config(html: string): Record<string, unknown> {
  const match = /<script type="application\/json" id="player-config">([^<]*)<\/script>/.exec(html);
  assert.ok(match, "config element");
  return JSON.parse(match[1]!);
}

const BASE = {
  title: "Door",
  offerUrl: "/api/door/offer",
  statsUrl: "/api/door/stats",
  liveUrl: "/api/door/live.mp4",
  embed: false,
};

describe("http/player-page", () => {
  it("is one HTML document with its script and style inline and no external URL", () => {
    const html = playerPage(BASE);
    assert.match(html, /^<!DOCTYPE html>/);
    assert.doesNotMatch(html, /https?:\/\//i);
    assert.doesNotMatch(html, /<script[^>]+src=/i);
    assert.doesNotMatch(html, /<link\b/i);
    // No stylesheet import or resource; the script's URL.createObjectURL( is the MediaSource's, not a resource.
    assert.doesNotMatch(html.replace(/URL\.createObjectURL\(/g, ""), /@import|url\(/i);
    assert.match(html, /<video id="video" autoplay muted playsinline><\/video>/);
    assert.ok(html.includes("window.__player = player"), "exposes the player for tests");
  });

  it("carries the URLs and ICE servers it is given in its config", () => {
    const html = playerPage({
      ...BASE,
      iceServers: [{ urls: "turn:t.example", username: "u", credential: "p" }],
    });
    assert.deepEqual(config(html), {
      offerUrl: "/api/door/offer",
      statsUrl: "/api/door/stats",
      liveUrl: "/api/door/live.mp4",
      mode: "auto",
      iceServers: [{ urls: "turn:t.example", username: "u", credential: "p" }],
      embed: false,
    });
  });

  it("cannot be broken out of by a title or a URL", () => {
    const html = playerPage({
      ...BASE,
      title: '</title><script>alert("x")</script>',
      offerUrl: "/a</script><b>",
    });
    assert.ok(
      html.includes("<title>&#60;/title&#62;&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;</title>"),
    );
    assert.equal(html.match(/<\/script>/g)?.length, 2, "only the page's own two scripts end");
    assert.equal(config(html).offerUrl, "/a</script><b>");
  });

  it("the full page has the stats overlay and buttons; embed has the video alone", () => {
    const full = playerPage(BASE);
    assert.ok(full.includes('id="stats"') && full.includes('id="fullscreen"') && full.includes('id="sound"'));
    const embed = playerPage({ ...BASE, embed: true });
    assert.ok(!embed.includes('id="stats"') && !embed.includes('id="fullscreen"'));
    assert.ok(embed.includes('data-embed="1"'));
    assert.equal(config(embed).embed, true);
  });

  it("ends its session at the URL the offer's answer names, not at one built from the viewer id", () => {
    const html = playerPage(BASE);
    assert.match(html, /player\.session = typeof reply\.body\.location === "string"/);
    assert.match(html, /fetch\(player\.session, \{ method: "DELETE", keepalive: true/);
    assert.doesNotMatch(html, /encodeURIComponent\(player\.viewerId\)/);
  });

  it("puts player.js and player.css inline as they are shipped, and its CSP allows exactly them", () => {
    const html = playerPage(BASE);
    const script = shipped("player.js");
    const style = shipped("player.css");
    assert.ok(html.includes(`<script>${script}</script>`), "player.js inline");
    assert.ok(html.includes(`<style>${style}</style>`), "player.css inline");
    const policy = playerPagePolicy();
    assert.ok(policy.includes(`script-src ${inlineHash(script)};`), policy);
    assert.ok(policy.includes(`style-src ${inlineHash(style)};`), policy);
  });

  it("keeps a title that looks like a template's slot as text", () => {
    const html = playerPage({ ...BASE, title: "{{script}}{{config}}" });
    assert.ok(html.includes("<title>{{script}}{{config}}</title>"));
    assert.equal(html.match(/<\/script>/g)?.length, 2);
  });

  it("its script parses", () => {
    const html = playerPage(BASE);
    const script = /<script>([\s\S]*)<\/script>/.exec(html)?.[1] ?? "";
    assert.ok(script.length > 1000);
    assert.doesNotThrow(() => new Function(script));
  });
});
