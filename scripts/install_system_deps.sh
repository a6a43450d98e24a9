#!/usr/bin/env bash
# Installs the Debian packages the test suite uses, when we can (root with apt-get).
# Idempotent and quiet when everything is already there.
set -euo pipefail
PKGS=(chromium wordnet-base bubblewrap)
missing=()
for p in "${PKGS[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "note: not root or no apt-get; missing Debian packages: ${missing[*]} (tests that need them will skip)"
  exit 0
fi
echo "installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
