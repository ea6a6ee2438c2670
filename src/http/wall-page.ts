import { contentSecurityPolicy, escapeHtml, scriptJson } from "./html";

export interface WallPageOptions {
  readonly title: string;
  /** GET target of the JSON list of streams (the wall's `/streams` route). */
  readonly listUrl: string;
  /** How often the list is read again. */
  readonly refreshMs: number;
}

const STYLE = `
:root { color-scheme: dark; }
* { box-sizing: border-box; }
html, body { margin: 0; height: 100%; background: #0b0d10; color: #e6e8eb;
  font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
body { display: flex; flex-direction: column; overflow: hidden; }
header { flex: none; display: flex; align-items: baseline; gap: 14px; padding: 8px 14px; }
h1 { margin: 0; font-size: 16px; font-weight: 600; letter-spacing: 0.02em; }
#summary { color: #9aa3ad; font-size: 13px; }
#problem { margin-left: auto; color: #ff8a80; font-size: 13px; }
#problem[hidden], #empty[hidden], #grid[hidden] { display: none; }
main { flex: 1; min-height: 0; padding: 0 8px 8px; }
#grid { height: 100%; display: grid; gap: 8px;
  grid-template-columns: repeat(var(--cols, 1), minmax(0, 1fr));
  grid-template-rows: repeat(var(--rows, 1), minmax(0, 1fr)); }
.tile { position: relative; margin: 0; min-width: 0; min-height: 0; overflow: hidden; background: #000;
  border: 1px solid #1d2229; border-radius: 8px; }
.tile iframe { position: absolute; inset: 0; width: 100%; height: 100%; border: 0; display: block; }
.tile figcaption { position: absolute; left: 0; right: 0; bottom: 0; display: flex; align-items: center;
  gap: 10px; padding: 22px 12px 9px; pointer-events: none; font-size: 13px;
  background: linear-gradient(to top, rgba(0, 0, 0, 0.85), rgba(0, 0, 0, 0)); }
.tile .name { min-width: 0; overflow: hidden; white-space: nowrap; text-overflow: ellipsis; color: #fff;
  font-size: 15px; font-weight: 600; text-decoration: none; pointer-events: auto;
  text-shadow: 0 1px 2px #000; }
.tile .name:hover { text-decoration: underline; }
.tile .state { flex: none; display: inline-flex; align-items: center; gap: 6px; padding: 1px 8px;
  border-radius: 999px; background: rgba(255, 255, 255, 0.14); font-size: 11px; font-weight: 600;
  letter-spacing: 0.06em; text-transform: uppercase; }
.tile .state::before { content: ""; width: 8px; height: 8px; border-radius: 50%; background: #9aa3ad; }
.tile[data-state="live"] .state::before { background: #35d07f; box-shadow: 0 0 6px #35d07f; }
.tile[data-state="waiting"] .state::before { background: #f5b942; }
.tile[data-state="stalled"] .state::before { background: #ff5a5f; }
.tile .viewers { flex: none; color: #d0d5db; white-space: nowrap; }
.tile .details { margin-left: auto; overflow: hidden; white-space: nowrap; text-overflow: ellipsis;
  color: #9aa3ad; font-variant-numeric: tabular-nums; }
#empty { height: 100%; display: flex; flex-direction: column; align-items: center; justify-content: center;
  gap: 6px; color: #9aa3ad; text-align: center; }
#empty strong { color: #e6e8eb; font-size: 18px; font-weight: 600; }
body.stack { overflow: auto; }
body.stack main { min-height: auto; }
body.stack #grid { height: auto; grid-template-columns: minmax(0, 1fr); grid-template-rows: none; }
body.stack .tile { aspect-ratio: 16 / 9; }
body.stack .tile .details { display: none; }
`;

/*
 * Plain ES2017, without template literals so that it can live in this file. Tiles are kept by path:
 * a refresh updates captions in place, and an iframe is never moved (moving one reloads its player).
 */
const SCRIPT = `
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("wall-config").textContent);
  var grid = document.getElementById("grid");
  var empty = document.getElementById("empty");
  var summary = document.getElementById("summary");
  var problem = document.getElementById("problem");
  var GAP_PX = 8;
  var NARROW_PX = 640;
  var STATE_TEXT = { live: "live", waiting: "waiting", stalled: "stalled" };

  var tiles = new Map();
  var wall = { streams: [], error: null, refreshes: 0 };
  window.__wall = wall;

  function plural(count, word) {
    return count + " " + word + (count === 1 ? "" : "s");
  }

  function formatRate(kbps) {
    return kbps >= 1000 ? (kbps / 1000).toFixed(1) + " Mbps" : Math.round(kbps) + " kbps";
  }

  function showPlayer(tile) {
    tile.frame.src = tile.url + "?embed=1";
    tile.name.href = tile.url;
  }

  function element(tag, className) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    return node;
  }

  function createTile(stream) {
    var tile = { url: stream.url, el: element("figure", "tile") };
    tile.el.setAttribute("data-path", stream.path);
    tile.frame = element("iframe");
    tile.frame.setAttribute("allow", "autoplay; fullscreen");
    tile.name = element("a", "name");
    tile.name.target = "_blank";
    tile.name.rel = "noopener";
    tile.state = element("span", "state");
    tile.viewers = element("span", "viewers");
    tile.details = element("span", "details");
    var caption = element("figcaption");
    caption.appendChild(tile.name);
    caption.appendChild(tile.state);
    caption.appendChild(tile.viewers);
    caption.appendChild(tile.details);
    tile.el.appendChild(tile.frame);
    tile.el.appendChild(caption);
    showPlayer(tile);
    return tile;
  }

  function updateTile(tile, stream) {
    tile.el.setAttribute("data-state", stream.state);
    tile.frame.title = stream.title;
    tile.name.textContent = stream.title;
    tile.name.title = "open " + stream.title + " alone";
    tile.state.textContent = STATE_TEXT[stream.state] || stream.state;
    tile.viewers.textContent = plural(stream.viewers, "viewer");
    var details = [];
    if (stream.codec) details.push(stream.codec);
    if (stream.width && stream.height) details.push(stream.width + "\\u00d7" + stream.height);
    if (stream.kbps) details.push(formatRate(stream.kbps));
    tile.details.textContent = details.join(" \\u00b7 ");
    if (tile.url !== stream.url) {
      tile.url = stream.url;
      showPlayer(tile);
    }
  }

  function render(streams) {
    var listed = new Set(streams.map(function (stream) { return stream.path; }));
    tiles.forEach(function (tile, path) {
      if (listed.has(path)) return;
      tile.el.remove();
      tiles.delete(path);
    });
    streams.forEach(function (stream, index) {
      var tile = tiles.get(stream.path);
      if (!tile) {
        tile = createTile(stream);
        tiles.set(stream.path, tile);
      }
      updateTile(tile, stream);
      if (grid.children[index] !== tile.el) grid.insertBefore(tile.el, grid.children[index] || null);
    });
    empty.hidden = streams.length > 0;
    grid.hidden = streams.length === 0;
    var live = streams.filter(function (stream) { return stream.state === "live"; }).length;
    var viewers = streams.reduce(function (sum, stream) { return sum + (stream.viewers || 0); }, 0);
    summary.textContent = streams.length === 0
      ? ""
      : [plural(streams.length, "stream"), live + " live", plural(viewers, "viewer")].join(" \\u00b7 ");
    layout();
  }

  /** The column count that shows 16:9 video largest in the space there is. */
  function layout() {
    var narrow = window.innerWidth < NARROW_PX;
    document.body.classList.toggle("stack", narrow);
    var count = tiles.size;
    if (narrow || count === 0) return;
    var box = grid.getBoundingClientRect();
    var best = 1;
    var bestArea = 0;
    for (var cols = 1; cols <= count; cols++) {
      var rows = Math.ceil(count / cols);
      var width = (box.width - GAP_PX * (cols - 1)) / cols;
      var height = (box.height - GAP_PX * (rows - 1)) / rows;
      var videoWidth = Math.min(width, (height * 16) / 9);
      var area = videoWidth * videoWidth;
      if (area > bestArea * 1.01) {
        bestArea = area;
        best = cols;
      }
    }
    grid.style.setProperty("--cols", String(best));
    grid.style.setProperty("--rows", String(Math.ceil(count / best)));
  }

  function refresh() {
    fetch(config.listUrl, { cache: "no-store", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (streams) {
        wall.streams = streams;
        wall.error = null;
        problem.hidden = true;
        render(streams);
      })
      .catch(function (err) {
        wall.error = String((err && err.message) || err);
        problem.textContent = "cannot read the list of streams (" + wall.error + ")";
        problem.hidden = false;
      })
      .then(function () {
        wall.refreshes += 1;
        setTimeout(refresh, config.refreshMs);
      });
  }

  window.addEventListener("resize", layout);
  refresh();
})();
`;

/**
 * The camera wall's Content-Security-Policy: its own script and style, the list from its own origin,
 * the players' pages of its own origin in its frames, framed by its own origin and by `frameAncestors`.
 */
export function wallPagePolicy(frameAncestors: readonly string[] = []): string {
  return contentSecurityPolicy({ script: SCRIPT, style: STYLE, framesOwnOrigin: true, frameAncestors });
}

/**
 * The camera wall: every webrtc-out stream in a grid, each tile the stream's own player (`?embed=1`)
 * in an iframe with a caption of its name, live state and viewer count. One HTML document, no
 * external resource; it reads the list again every `refreshMs`, so tiles come and go with deploys.
 */
export function wallPage(opts: WallPageOptions): string {
  const config = { listUrl: opts.listUrl, refreshMs: opts.refreshMs };
  const title = escapeHtml(opts.title);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
  <h1>${title}</h1>
  <span id="summary"></span>
  <span id="problem" hidden></span>
</header>
<main>
  <div id="grid" hidden></div>
  <div id="empty" hidden>
    <strong>No webrtc-out nodes deployed</strong>
    <span>Deploy a flow with a webrtc-out node: its stream shows here.</span>
  </div>
</main>
<script type="application/json" id="wall-config">${scriptJson(config)}</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
