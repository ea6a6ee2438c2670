#!/usr/bin/env bash
# What the install test (test/install/palette-install.test.ts) needs from the npm registry, fetched
# here because the tests run without network: this package packed as a fresh clone packs it, Node 22
# and 24 (and 20, which it must refuse) from npm's `node` package, stock Node-RED 4.1.x and 5.x, and an npm cache holding everything
# installing the tarball fetches (the test installs it from there, offline). Everything lives in
# .test-artifacts/install; what is there already is kept, so a second run only packs again.
set -euo pipefail
cd "$(dirname "$0")/.."

root=.test-artifacts/install
mkdir -p "$root"
root=$(cd "$root" && pwd)
checkout=$(pwd)
# Run through `npm test`, this script inherits the outer npm's settings (npm_config_local_prefix is this
# checkout): each install below must see only its own folder's.
while read -r name; do unset "$name"; done < <(compgen -e | grep -i '^npm_')
export npm_config_cache="$root/npm-cache"
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false

# One folder per tool, installed from its package.json; skipped while that file is unchanged.
install_tool() {
  local dir="$root/$1" manifest=$2
  mkdir -p "$dir"
  if [ -f "$dir/.installed" ] && [ "$(cat "$dir/.installed")" = "$manifest" ]; then
    return
  fi
  echo "setup-install: installing $1" >&2
  rm -rf "$dir/node_modules" "$dir/.installed"
  printf '%s\n' "$manifest" > "$dir/package.json"
  (cd "$dir" && npm install --no-package-lock --loglevel=error)
  printf '%s' "$manifest" > "$dir/.installed"
}

# node's preinstall fetches the binary: approved, as in this package's own package.json. Node 20 is
# there to see the install refused.
install_tool node-20 '{ "private": true, "dependencies": { "node": "20" }, "allowScripts": { "node": true } }'
install_tool node-22 '{ "private": true, "dependencies": { "node": "22" }, "allowScripts": { "node": true } }'
install_tool node-24 '{ "private": true, "dependencies": { "node": "24" }, "allowScripts": { "node": true } }'
# Node-RED as `npm install node-red` brings it (bcrypt's native build included).
install_tool node-red-4 '{ "private": true, "dependencies": { "node-red": "~4.1.0" }, "allowScripts": { "bcrypt": true } }'
install_tool node-red-5 '{ "private": true, "dependencies": { "node-red": "5" }, "allowScripts": { "bcrypt": true } }'

# The tarball, packed from a copy of the checkout's files as a fresh clone has them (no dist/, no
# nodes/icons/): `npm pack` must build them itself. Uncommitted work is included; ignored files are not.
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
git ls-files -z --cached --others --exclude-standard | grep -zv '^node_modules$' |
  while IFS= read -r -d '' file; do [ -e "$file" ] && printf '%s\0' "$file"; done |
  tar --null -T - -cf - | tar -xf - -C "$stage"
ln -s "$checkout/node_modules" "$stage/node_modules"
rm -f "$root"/*.tgz
tarball=$(cd "$stage" && npm pack --silent --pack-destination "$root" | tail -n 1)
echo "setup-install: packed $tarball" >&2

# Fill the cache with the tarball's dependencies: the test's installs then need no network.
warm="$root/cache-warm"
rm -rf "$warm" && mkdir -p "$warm" && echo '{ "private": true }' > "$warm/package.json"
(cd "$warm" && npm install --no-package-lock --omit=dev --loglevel=error "$root/$tarball")
rm -rf "$warm"
