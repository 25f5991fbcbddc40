#!/usr/bin/env bash
# One command from a fresh clone to a working tsp11: installs the Debian packages that are
# missing, the npm dependencies and the build, then runs the provisioning flow on the
# embedded SoftHSM2 token store (examples/provision.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

mapfile -t packages < <(grep -v '^\s*#' scripts/debian-packages.txt | grep -v '^\s*$')
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}"
fi

npm ci
npm run build
if [ "${1:-}" != "--no-run" ]; then
  examples/provision.sh
fi
