// The player page's script, inline in player.html (the server hashes it into the page's CSP).
// Vanilla ICE: the offer goes out once the browser has gathered its candidates, and the answer carries
// the server's; no trickle round trips.
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("player-config").textContent);
  var video = document.getElementById("video");
  var message = document.getElementById("message");
  var statsBox = document.getElementById("stats");
  var soundButton = document.getElementById("sound");
  var fullscreenButton = document.getElementById("fullscreen");
  var BACKOFF_MS = [1000, 2000, 5000, 10000, 20000, 30000];
  var GATHER_TIMEOUT_MS = 3000;
  var NO_STREAM_RETRY_MS = 3000;
  var DISCONNECTED_GRACE_MS = 5000;
  var STALL_MS = 4000;
  // WebRTC not connected this long after the server's answer: the stream comes as fMP4 over HTTP instead.
  var FALLBACK_MS = 4000;
  // fMP4: more than this behind the newest frame, jump to it; keep this much behind it; keep this much played.
  var LIVE_LAG_MAX_S = 1.0;
  var LIVE_LAG_S = 0.15;
  var KEEP_PLAYED_S = 10;

  // session: the viewer's WHEP resource from the offer's answer; a DELETE there frees its seat.
  // mode: "webrtc", or "mse" once the stream comes as fMP4 over HTTP (the fallback, or ?mode=mse).
  var player = {
    pc: null,
    state: "starting",
    viewerId: null,
    session: null,
    attempts: 0,
    stats: {},
    mode: "webrtc",
    http: null,
  };
  window.__player = player;

  var generation = 0;
  var retryTimer = null;
  var disconnectTimer = null;
  var lastBytes = 0;
  var lastStatsAt = 0;
  var lastFrames = 0;
  var lastFrameAt = 0;
  var fallbackTimer = null;
  var lastTime = 0;

  function setState(state, text) {
    player.state = state;
    document.body.setAttribute("data-state", state);
    message.textContent = text || "";
    message.hidden = !text;
  }

  function nextDelay(capMs) {
    var base = Math.min(BACKOFF_MS[Math.min(player.attempts, BACKOFF_MS.length - 1)], capMs || Infinity);
    player.attempts += 1;
    return Math.round(base * (0.8 + Math.random() * 0.4));
  }

  function withToken(headers) {
    if (!config.bearerToken) return headers;
    if (config.tokenBesideBasicAuth) headers["X-Viewer-Token"] = config.bearerToken;
    else headers.Authorization = "Bearer " + config.bearerToken;
    return headers;
  }

  function leave() {
    generation += 1;
    clearTimeout(disconnectTimer);
    if (player.http) {
      player.http.abort();
      player.http = null;
    }
    if (player.session) {
      fetch(player.session, { method: "DELETE", keepalive: true, headers: withToken({}) }).catch(
        function () {},
      );
    }
    player.viewerId = null;
    player.session = null;
    if (player.pc) {
      var pc = player.pc;
      player.pc = null;
      pc.ontrack = null;
      pc.onconnectionstatechange = null;
      pc.oniceconnectionstatechange = null;
      pc.close();
    }
  }

  function retry(state, text, capMs) {
    leave();
    clearTimeout(retryTimer);
    var delay = nextDelay(capMs);
    setState(state, text + " (retry in " + Math.max(1, Math.round(delay / 1000)) + " s)");
    retryTimer = setTimeout(player.mode === "mse" ? connectHttp : connect, delay);
  }

  function armFallback() {
    if (fallbackTimer || player.mode !== "webrtc") return;
    fallbackTimer = setTimeout(function () {
      fallbackTimer = null;
      if (player.mode === "webrtc" && player.state !== "playing" && player.state !== "connected") {
        player.mode = "mse";
        player.attempts = 0;
        connectHttp();
      }
    }, FALLBACK_MS);
  }

  function mediaSourceType() {
    return window.MediaSource || window.ManagedMediaSource || null;
  }

  // The stream as fMP4 over this same HTTP origin (P/live.mp4), appended to Media Source Extensions as
  // it arrives; ManagedMediaSource where MediaSource is missing (iPhone).
  function connectHttp() {
    leave();
    clearTimeout(retryTimer);
    clearTimeout(fallbackTimer);
    fallbackTimer = null;
    var gen = generation;
    var Source = mediaSourceType();
    if (!Source) {
      setState("error", "this browser can play neither WebRTC nor Media Source Extensions");
      return;
    }
    setState("connecting", "connecting over HTTP…");
    var controller = new AbortController();
    player.http = controller;
    lastBytes = 0;
    lastStatsAt = 0;
    player.stats = {};
    fetch(config.liveUrl, { headers: withToken({}), cache: "no-store", signal: controller.signal })
      .then(function (response) {
        if (gen !== generation) return;
        if (!response.ok) {
          return response
            .json()
            .catch(function () {
              return {};
            })
            .then(function (body) {
              if (gen !== generation) return;
              if (response.status === 503) {
                var busy = body.code === "max-viewers";
                retry(
                  "waiting",
                  busy ? "too many viewers, waiting for a free place" : "waiting for the camera…",
                  busy ? 0 : NO_STREAM_RETRY_MS,
                );
              } else if (response.status === 406) {
                setState("error", describeError(response.status, body));
              } else {
                retry("error", describeError(response.status, body));
              }
            });
        }
        var mime = response.headers.get("Content-Type") || "";
        if (Source.isTypeSupported && !Source.isTypeSupported(mime)) {
          setState("error", "this browser cannot play " + mime);
          return;
        }
        play(response.body.getReader(), new Source(), mime, gen);
      })
      .catch(function (err) {
        if (gen !== generation) return;
        retry("offline", "cannot reach the server" + (err && err.message ? " (" + err.message + ")" : ""));
      });
  }

  function play(reader, source, mime, gen) {
    var queue = [];
    var buffer = null;
    var ended = false;
    if (window.ManagedMediaSource && source instanceof window.ManagedMediaSource)
      video.disableRemotePlayback = true;
    video.srcObject = null;
    video.src = URL.createObjectURL(source);
    function stop(text) {
      if (gen !== generation) return;
      retry("reconnecting", text);
    }
    function feed() {
      if (gen !== generation || !buffer || buffer.updating) return;
      var range = video.buffered;
      var now = video.currentTime;
      if (range.length > 0 && now - range.start(0) > KEEP_PLAYED_S + 5) {
        buffer.remove(range.start(0), now - KEEP_PLAYED_S);
        return;
      }
      if (queue.length === 0) {
        if (ended) stop("the stream ended");
        return;
      }
      var size = 0;
      queue.forEach(function (chunk) {
        size += chunk.length;
      });
      var bytes = new Uint8Array(size);
      var at = 0;
      queue.forEach(function (chunk) {
        bytes.set(chunk, at);
        at += chunk.length;
      });
      queue = [];
      lastBytes += size;
      try {
        buffer.appendBuffer(bytes);
      } catch (err) {
        stop("cannot play the stream (" + err.message + ")");
      }
    }
    function keepLive() {
      var range = video.buffered;
      if (range.length === 0) return;
      var end = range.end(range.length - 1);
      // Behind by more than a second (a stall, a hidden tab, a skipped GOP): jump to the newest frame.
      if (end - video.currentTime > LIVE_LAG_MAX_S || video.currentTime < range.start(range.length - 1))
        video.currentTime = Math.max(range.start(range.length - 1), end - LIVE_LAG_S);
      if (video.paused) video.play().catch(function () {});
    }
    function pump() {
      reader
        .read()
        .then(function (step) {
          if (gen !== generation) return;
          if (step.done) ended = true;
          else queue.push(step.value);
          feed();
          if (!step.done) pump();
        })
        .catch(function (err) {
          stop("connection lost" + (err && err.message ? " (" + err.message + ")" : ""));
        });
    }
    source.addEventListener(
      "sourceopen",
      function () {
        if (gen !== generation) return;
        try {
          buffer = source.addSourceBuffer(mime);
        } catch (err) {
          setState("error", "this browser cannot play " + mime + " (" + err.message + ")");
          return;
        }
        buffer.addEventListener("updateend", function () {
          keepLive();
          feed();
        });
        buffer.addEventListener("error", function () {
          stop("cannot play the stream");
        });
        player.attempts = 0;
        setState("connected", "waiting for video…");
        pump();
      },
      { once: true },
    );
  }

  function waitForGathering(pc) {
    return new Promise(function (resolve) {
      if (pc.iceGatheringState === "complete") {
        resolve();
        return;
      }
      var timer = setTimeout(done, GATHER_TIMEOUT_MS);
      function done() {
        clearTimeout(timer);
        pc.removeEventListener("icegatheringstatechange", check);
        pc.removeEventListener("icecandidate", last);
        resolve();
      }
      function check() {
        if (pc.iceGatheringState === "complete") done();
      }
      function last(event) {
        if (!event.candidate) done();
      }
      pc.addEventListener("icegatheringstatechange", check);
      pc.addEventListener("icecandidate", last);
    });
  }

  function connectionState(pc) {
    if (pc.connectionState) return pc.connectionState;
    var ice = pc.iceConnectionState;
    return ice === "completed" ? "connected" : ice === "checking" ? "connecting" : ice;
  }

  function onStateChange(pc, gen) {
    if (gen !== generation) return;
    var state = connectionState(pc);
    if (state === "connected") {
      clearTimeout(disconnectTimer);
      disconnectTimer = null;
      clearTimeout(fallbackTimer);
      fallbackTimer = null;
      player.attempts = 0;
      lastFrameAt = Date.now();
      if (player.state !== "playing") setState("connected", "waiting for video…");
    } else if (state === "disconnected") {
      setState("reconnecting", "connection interrupted…");
      clearTimeout(disconnectTimer);
      disconnectTimer = setTimeout(function () {
        if (gen === generation && connectionState(pc) !== "connected")
          retry("reconnecting", "connection lost");
      }, DISCONNECTED_GRACE_MS);
    } else if (state === "failed" || state === "closed") {
      retry("reconnecting", "connection lost");
    }
  }

  function describeError(status, body) {
    var text = (body && body.error) || "HTTP " + status;
    return body && body.detail ? text + ": " + body.detail : text;
  }

  function connect() {
    leave();
    clearTimeout(retryTimer);
    var gen = generation;
    lastFrames = 0;
    lastBytes = 0;
    lastStatsAt = 0;
    setState("connecting", "connecting…");
    var pc;
    try {
      pc = new RTCPeerConnection({ iceServers: config.iceServers });
    } catch (err) {
      if (mediaSourceType()) {
        player.mode = "mse";
        connectHttp();
      } else {
        setState("error", "this browser cannot play WebRTC: " + err.message);
      }
      return;
    }
    player.pc = pc;
    var stream = new MediaStream();
    pc.addTransceiver("video", { direction: "recvonly" });
    pc.addTransceiver("audio", { direction: "recvonly" });
    pc.ontrack = function (event) {
      stream.addTrack(event.track);
      if (video.srcObject !== stream) video.srcObject = stream;
      if (event.track.kind === "audio" && soundButton) soundButton.hidden = false;
      video.play().catch(function () {});
    };
    pc.onconnectionstatechange = function () {
      onStateChange(pc, gen);
    };
    pc.oniceconnectionstatechange = function () {
      if (!pc.connectionState) onStateChange(pc, gen);
    };
    pc.createOffer()
      .then(function (offer) {
        return pc.setLocalDescription(offer);
      })
      .then(function () {
        return waitForGathering(pc);
      })
      .then(function () {
        return fetch(config.offerUrl, {
          method: "POST",
          headers: withToken({ "Content-Type": "application/json" }),
          body: JSON.stringify({ type: "offer", sdp: pc.localDescription.sdp }),
          cache: "no-store",
        });
      })
      .then(function (response) {
        return response
          .json()
          .catch(function () {
            return {};
          })
          .then(function (body) {
            return { status: response.status, body: body };
          });
      })
      .then(function (reply) {
        if (gen !== generation) return;
        if (reply.status === 503) {
          var busy = reply.body.code === "max-viewers";
          // No stream yet is answered at once, before any peer connection: asking every few seconds costs
          // nothing, and a camera started on demand or a gate an alarm opens shows within seconds.
          retry(
            "waiting",
            busy ? "too many viewers, waiting for a free place" : "waiting for the camera…",
            busy ? 0 : NO_STREAM_RETRY_MS,
          );
          return;
        }
        if (reply.status !== 200 || typeof reply.body.sdp !== "string") {
          retry("error", describeError(reply.status, reply.body));
          return;
        }
        player.viewerId = reply.body.id || null;
        player.session = typeof reply.body.location === "string" ? reply.body.location : null;
        armFallback();
        return pc.setRemoteDescription({ type: "answer", sdp: reply.body.sdp });
      })
      .catch(function (err) {
        if (gen !== generation) return;
        retry("offline", "cannot reach the server" + (err && err.message ? " (" + err.message + ")" : ""));
      });
  }

  function formatRate(bps) {
    return bps >= 1e6 ? (bps / 1e6).toFixed(1) + " Mbps" : Math.round(bps / 1e3) + " kbps";
  }

  function readHttpStats() {
    var now = Date.now();
    var quality = video.getVideoPlaybackQuality ? video.getVideoPlaybackQuality() : null;
    var frames = quality ? quality.totalVideoFrames : 0;
    var stats = {
      width: video.videoWidth || 0,
      height: video.videoHeight || 0,
      fps: 0,
      bitrate: 0,
      rttMs: null,
      framesDecoded: frames,
      latencyS: null,
    };
    if (lastStatsAt) {
      stats.bitrate = (lastBytes * 8000) / (now - lastStatsAt);
      stats.fps = Math.round(((frames - lastFrames) * 1000) / (now - lastStatsAt));
    }
    if (video.buffered.length > 0)
      stats.latencyS =
        Math.round((video.buffered.end(video.buffered.length - 1) - video.currentTime) * 100) / 100;
    lastBytes = 0;
    lastStatsAt = now;
    player.stats = stats;
    var advancing = video.currentTime > lastTime && (!quality || frames > lastFrames);
    lastTime = video.currentTime;
    lastFrames = frames;
    showProgress(advancing, now);
    showStats(
      "HTTP",
      !stats.width,
      stats,
      stats.latencyS === null ? "buffer —" : "buffer " + stats.latencyS + " s",
    );
  }

  // Playing while frames advance; stalled after STALL_MS without.
  function showProgress(advancing, now) {
    if (advancing) {
      lastFrameAt = now;
      if (player.state !== "playing") setState("playing", "");
    } else if (player.state === "playing" && now - lastFrameAt > STALL_MS) {
      setState("stalled", "no video from the camera, waiting…");
    }
  }

  // The overlay: which path plays, the picture, and one figure of that path.
  function showStats(path, hidden, stats, last) {
    if (!statsBox) return;
    statsBox.hidden = hidden;
    statsBox.textContent = [
      path,
      stats.width && stats.height ? stats.width + "×" + stats.height : "—",
      stats.fps + " fps",
      formatRate(stats.bitrate),
      last,
    ].join(" · ");
  }

  function readStats() {
    if (player.mode === "mse") {
      if (player.http) readHttpStats();
      return;
    }
    var pc = player.pc;
    if (!pc || player.state === "starting") return;
    pc.getStats()
      .then(function (report) {
        if (pc !== player.pc) return;
        var inbound = null;
        var pairs = {};
        var selectedPairId = null;
        report.forEach(function (entry) {
          if (entry.type === "inbound-rtp" && (entry.kind || entry.mediaType) === "video") inbound = entry;
          if (entry.type === "candidate-pair") pairs[entry.id] = entry;
          if (entry.type === "transport" && entry.selectedCandidatePairId)
            selectedPairId = entry.selectedCandidatePairId;
        });
        var pair = selectedPairId ? pairs[selectedPairId] : null;
        if (!pair) {
          Object.keys(pairs).forEach(function (id) {
            var p = pairs[id];
            if (p.nominated && p.state === "succeeded") pair = p;
          });
        }
        var now = Date.now();
        var stats = { width: 0, height: 0, fps: 0, bitrate: 0, rttMs: null, framesDecoded: 0 };
        if (inbound) {
          stats.width = inbound.frameWidth || 0;
          stats.height = inbound.frameHeight || 0;
          stats.fps = Math.round(inbound.framesPerSecond || 0);
          stats.framesDecoded = inbound.framesDecoded || 0;
          var bytes = inbound.bytesReceived || 0;
          if (lastStatsAt && bytes >= lastBytes)
            stats.bitrate = ((bytes - lastBytes) * 8000) / (now - lastStatsAt);
          lastBytes = bytes;
        }
        lastStatsAt = now;
        if (pair && typeof pair.currentRoundTripTime === "number")
          stats.rttMs = Math.round(pair.currentRoundTripTime * 1000);
        player.stats = stats;
        var advancing = stats.framesDecoded > lastFrames;
        if (advancing) lastFrames = stats.framesDecoded;
        showProgress(advancing, now);
        showStats("WebRTC", !inbound, stats, stats.rttMs === null ? "RTT —" : "RTT " + stats.rttMs + " ms");
      })
      .catch(function () {});
  }

  if (soundButton) {
    soundButton.addEventListener("click", function () {
      video.muted = !video.muted;
      soundButton.textContent = video.muted ? "sound on" : "sound off";
      video.play().catch(function () {});
    });
  }
  if (fullscreenButton) {
    fullscreenButton.addEventListener("click", function () {
      var box = document.getElementById("player");
      if (document.fullscreenElement || document.webkitFullscreenElement) {
        (document.exitFullscreen || document.webkitExitFullscreen).call(document);
      } else if (box.requestFullscreen) {
        box.requestFullscreen().catch(function () {});
      } else if (box.webkitRequestFullscreen) {
        box.webkitRequestFullscreen();
      } else if (video.webkitEnterFullscreen) {
        video.webkitEnterFullscreen();
      }
    });
  }
  window.addEventListener("pagehide", leave);
  setInterval(readStats, 1000);
  if (config.mode === "mse") {
    player.mode = "mse";
    connectHttp();
  } else {
    connect();
  }
})();
