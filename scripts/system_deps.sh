#!/usr/bin/env bash
# Installs the Debian packages the app and its tests need (redis-server; chromium + chromium-driver for
# the browser tests) when they are missing and we are root. Without root it only reports what is missing.
set -euo pipefail
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
[[ -x /usr/bin/chromium ]] || missing+=(chromium chromium-driver)
if ((${#missing[@]} == 0)); then exit 0; fi
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing ${missing[*]} with apt-get..."
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null \
    || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null; }
else
  echo "Missing system packages: ${missing[*]} (install them with: sudo apt-get install -y ${missing[*]})" >&2
fi
