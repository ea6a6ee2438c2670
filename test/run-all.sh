#!/usr/bin/env bash
# Everything the project checks, in order: system packages, the install test's downloads, types, lint and
# format, every test with coverage.
# Run through `npm test` so that node_modules/.bin (Node 22 from the npm `node` package) comes first on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."

node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 22 ]; then
  echo "Node $(node --version) is first on PATH; run this through 'npm test' (Node 22 comes from node_modules/.bin)" >&2
  exit 1
fi

rm -f .test-artifacts/summary.txt
# The closing line CI reads: mocha's counts, printed last whatever happened before. A run that failed
# with every test passing (coverage under its floor, a hung run stopped) counts one failure more.
closing_line() {
  local status=$1 summary="0 passed, 1 failed"
  [ -f .test-artifacts/summary.txt ] && summary=$(cat .test-artifacts/summary.txt)
  if [ "$status" -ne 0 ] && [[ $summary =~ ^([0-9]+)\ passed,\ 0\ failed,\ ([0-9]+)\ skipped$ ]]; then
    summary="${BASH_REMATCH[1]} passed, 1 failed, ${BASH_REMATCH[2]} skipped"
  fi
  echo "$summary"
}
trap 'status=$?; closing_line $status; exit $status' EXIT

bash test/setup-system.sh
# The install test runs without network: what it takes from the npm registry is fetched here, before.
echo "== install test's artifacts (packed tarball, Node 20/22/24, Node-RED 4.1/5, npm cache)"
bash test/setup-install.sh
echo "== build (tsc, strict)"
rm -rf dist
npm run --silent build
echo "== lint and format (biome)"
biome check --config-path=.ci src test examples nodes
echo "== tests (mocha, coverage by c8)"
# A hung test must not eat CI's whole budget (90 min; the suite takes 20-25 of them on a quiet
# machine, setup a few more); mocha itself stops at the first leaked handle otherwise.
# Inside a network namespace of its own that holds only loopback: no test packet can reach any other
# address (WebRTC gathers candidates on every interface; here there is only lo).
# Coverage may not fall silently: each floor is about a point under the level the suite reached
# (statements and lines 98.3 %, branches 92.4 %, functions 98.1 %); raise them as it rises.
timeout --signal=INT --kill-after=30 3000 \
  unshare --net -- bash -c 'ip link set lo up && exec "$@"' netns \
  c8 --reporter=text-summary --reporter=lcov --report-dir=coverage --src=src --include='dist/src/**' \
  --check-coverage --statements 97 --lines 97 --branches 91 --functions 97 \
  mocha
