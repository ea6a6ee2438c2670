#!/usr/bin/env bash
# Installs the Debian packages the integration tests use (camera stand-in, decoders, browser).
# Idempotent and silent when everything is present; installs only what is missing; non-zero on failure.
set -euo pipefail

packages=(
  # test/peers/gst-rtsp-server.py: GStreamer's RTSP server through Debian's python3-gi
  gstreamer1.0-tools gstreamer1.0-rtsp gir1.2-gst-rtsp-server-1.0 gir1.2-gstreamer-1.0
  gir1.2-gst-plugins-base-1.0 python3-gi python3-gst-1.0
  # encoders, payloaders, parsers: x264 (ugly), x265 + parsers (bad), rtp/rtsp (good), AAC (libav)
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-plugins-ugly gstreamer1.0-libav
  # timeoverlay (pango) and a font for it
  gstreamer1.0-x fonts-dejavu-core
  # the network tests (test/network): firewalls, NAT and port forwarding between namespaces (their TURN
  # server, coturn, is listed with the shared ICE port's)
  nftables
  # decode checks (ffmpeg, ffprobe), the browser, network namespaces, certificates for rtsps:// tests
  ffmpeg chromium iproute2 openssl
  # a TURN server for the shared ICE port's relay test
  coturn
  # independent WebRTC clients: aiortc (test/peers/aiortc-viewer.py, decoding with PyAV) and Firefox
  python3-aiortc python3-av firefox-esr
  # the bench's other server beside the product (test/bench/janus.ts): Janus, run as the bench's own process
  janus
  # the HTTP fallback's reverse proxy (test/network/http-fallback.test.ts): nginx, run as the test's own
  # process with its own config
  nginx
)

# meetecho's WHIP front for Janus (test/helpers/simple-whip-server.ts): Debian packages it, but its package
# depends on Debian's nodejs, which conflicts with the Node the tests run on. Only its code is unpacked,
# into .test-artifacts; the tests run it with the project's Node (test/helpers/simple-whip-server.ts).
whip_root=.test-artifacts/simple-whip-server
if [[ ! -f "$(dirname "$0")/../$whip_root/usr/share/simple-whip-server/src/server.js" ]]; then
  (
    cd "$(dirname "$0")/.."
    echo "setup-system: unpacking simple-whip-server into $whip_root" >&2
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    # apt-get download needs the package lists; a fresh machine may have none yet.
    (cd "$tmp" && apt-get download -qq simple-whip-server 2>/dev/null) || {
      if [[ $(id -u) -ne 0 ]]; then sudo apt-get update -qq; else apt-get update -qq; fi
      (cd "$tmp" && apt-get download -qq simple-whip-server)
    }
    rm -rf "$whip_root"
    mkdir -p "$whip_root"
    dpkg-deb -x "$tmp"/simple-whip-server_*.deb "$whip_root"
    test -f "$whip_root/usr/share/simple-whip-server/src/server.js"
  )
fi

missing=()
for package in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null || true)
  [[ "$status" == "installed" ]] || missing+=("$package")
done

((${#missing[@]} == 0)) && exit 0

echo "setup-system: installing ${missing[*]}" >&2
if [[ $(id -u) -ne 0 ]]; then
  sudo=sudo
else
  sudo=
fi
$sudo apt-get update -qq
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"

# Janus runs only as the bench's own process, with its own config: not as the system's service the
# package enables (on a machine without systemd, invoke-rc.d may already have kept it from starting).
# nginx likewise: the test starts its own with its own prefix, and the package's service (port 80) must
# not run beside it.
for service in janus nginx; do
  if [[ " ${missing[*]} " == *" $service "* ]] && command -v systemctl >/dev/null; then
    $sudo systemctl disable --now "$service.service" >/dev/null 2>&1 || true
  fi
done

# Debian's python3 must see GStreamer's RTSP server, whatever python3 comes first on PATH.
/usr/bin/python3 -c "import gi; gi.require_version('GstRtspServer', '1.0'); from gi.repository import GstRtspServer" ||
  { echo "setup-system: /usr/bin/python3 cannot import GstRtspServer" >&2; exit 1; }
# test/peers/aiortc-viewer.py runs on the same interpreter.
/usr/bin/python3 -c "import aiortc, av" ||
  { echo "setup-system: /usr/bin/python3 cannot import aiortc and av" >&2; exit 1; }
