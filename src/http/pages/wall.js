// The camera wall's script, inline in wall.html (the server hashes it into the page's CSP).
// Tiles are kept by path: a refresh updates captions in place, and an iframe is never moved (moving one
// reloads its player).
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
    if (stream.width && stream.height) details.push(stream.width + "\u00d7" + stream.height);
    if (stream.kbps) details.push(formatRate(stream.kbps));
    tile.details.textContent = details.join(" \u00b7 ");
    if (tile.url !== stream.url) {
      tile.url = stream.url;
      showPlayer(tile);
    }
  }

  function render(streams) {
    var listed = new Set(
      streams.map(function (stream) {
        return stream.path;
      }),
    );
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
    var live = streams.filter(function (stream) {
      return stream.state === "live";
    }).length;
    var viewers = streams.reduce(function (sum, stream) {
      return sum + (stream.viewers || 0);
    }, 0);
    summary.textContent =
      streams.length === 0
        ? ""
        : [plural(streams.length, "stream"), live + " live", plural(viewers, "viewer")].join(" \u00b7 ");
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
