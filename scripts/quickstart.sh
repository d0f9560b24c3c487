#!/usr/bin/env bash
# The README's first quick-start command: sets this machine up for botsync's development and runs the
# demo. Installs what is missing and only that: the system packages (Debian/Ubuntu, with sudo only
# when not root), the npm dependencies (npm ci, when there is no node_modules yet), then `npm run demo`.
set -euo pipefail
cd "$(dirname "$0")/.."

# Each tool, and the Debian package that provides it: the demo and the tests need the first three, the
# completion test checks its zsh and fish scripts with those shells, and the network suite (test/net,
# run by `npm test` as root) needs the last five.
declare -A package_of=(
  [syncthing]=syncthing [rclone]=rclone [age]=age [zsh]=zsh [fish]=fish
  [nft]=nftables [stdiscosrv]=syncthing-discosrv [strelaysrv]=syncthing-relaysrv [ip]=iproute2 [sysctl]=procps
)
missing=()
for tool in "${!package_of[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("${package_of[$tool]}")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "quickstart: missing ${missing[*]}, and there is no apt-get here: install them with your package manager, then run this again." >&2
    exit 1
  fi
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "quickstart: installing ${missing[*]} needs root, and there is no sudo: run this as root." >&2; exit 1; }
    sudo=(sudo)
  fi
  echo "installing system packages: ${missing[*]}"
  "${sudo[@]}" apt-get update
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
fi

# A fresh clone has no node_modules; after a change to package-lock.json, run `npm ci` yourself.
[ -e node_modules ] || npm ci
npm run demo
