#!/usr/bin/env bash
# The README's first command: Node-RED with this package and the basic flow, whose rtsp-in reads
# rtsp://127.0.0.1:8554/demo: the package runs its bundled demo camera there itself, as after a palette
# install. With CAMERA_PORT (when another program holds 8554) the camera runs in a process of its own.
# Run through `npm run demo` so that Node 22 from node_modules/.bin comes first on PATH.
set -euo pipefail
cd "$(dirname "$0")/../.."

node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 22 ]; then
  echo "Node $(node --version) is first on PATH; run this through 'npm run demo'" >&2
  exit 1
fi

# Where the editor listens (test/demo/settings.js): 127.0.0.1 unless DEMO_HOST says otherwise, and then
# only behind a login. Refused here, before anything is built or started.
if ! node -e 'try { require("./test/demo/settings.js"); } catch (e) { console.error(e.message); process.exit(1); }'; then
  exit 1
fi

npm run --silent build

user_dir=.node-red
port=${PORT:-1880}
host=${DEMO_HOST:-127.0.0.1}
camera_port=${CAMERA_PORT:-8554}
mkdir -p "$user_dir/node_modules/@rtsp-webrtc"
# Node-RED finds node packages in its user directory; a link makes this checkout one of them.
ln -sfn "$(pwd)" "$user_dir/node_modules/@rtsp-webrtc/node-red-rtsp-webrtc"
# The link of the package's old, unscoped name would load every node type a second time.
if [ -L "$user_dir/node_modules/node-red-rtsp-webrtc" ]; then rm "$user_dir/node_modules/node-red-rtsp-webrtc"; fi
if [ ! -f "$user_dir/flows.json" ]; then
  sed "s#rtsp://127.0.0.1:8554/demo#rtsp://127.0.0.1:${camera_port}/demo#" examples/basic.json > "$user_dir/flows.json"
fi

banner() {
  local shown=$host
  case "$host" in
    0.0.0.0 | ::) shown=127.0.0.1 ;;
    *:*) shown="[$host]" ;;
  esac
  printf '\n  ▶ Open http://%s:%s/camera to watch the demo camera live.   (Ctrl-C stops everything)\n' "$shown" "$port"
  case "$host" in
    0.0.0.0 | ::) printf '    Node-RED listens on every interface; its editor asks for the login of DEMO_ADMIN_USER.\n' ;;
    *) if [ -n "${DEMO_ADMIN_USER:-}" ]; then printf '    The editor asks for the login of DEMO_ADMIN_USER.\n'; fi ;;
  esac
  printf '\n'
}

camera=
if [ "$camera_port" != 8554 ]; then
  node dist/src/demo/cli.js --port "$camera_port" &
  camera=$!
fi
# Node-RED's own start-up lines would push the URL out of sight: it is printed once the flow runs.
# A young generation of 2 MB keeps V8 out of a mode of back-to-back full collections under many viewers
# (docs/BENCHMARKS.md: "Many viewers: V8's young generation").
NODE_OPTIONS="--max-semi-space-size=2${NODE_OPTIONS:+ $NODE_OPTIONS}" \
  node-red --userDir "$user_dir" --settings test/demo/settings.js --port "$port" "$@" > >(
  while IFS= read -r line; do
    printf '%s\n' "$line"
    case "$line" in *"Started flows"*) banner ;; esac
  done
) 2>&1 &
node_red=$!
trap 'kill "$node_red" ${camera:+"$camera"} 2>/dev/null || true; wait "$node_red" 2>/dev/null || true' EXIT INT TERM
wait "$node_red"
