#!/usr/bin/env bash
# Installs what a fresh machine lacks for building and testing Vigil. Safe to run again: it installs only
# what is missing. Shared by scripts/run-main.sh, scripts/run-tests.sh and .ci/run.
set -euo pipefail

# Debian packages the build or the tests need. (libpcap-dev and tshark join this list with the pcap
# evidence writer; nothing the current sources build needs is outside the Swift toolchain.)
APT_PACKAGES=()

if ! command -v swift >/dev/null 2>&1; then
  if [ -x /opt/swift/usr/bin/swift ]; then
    export PATH="/opt/swift/usr/bin:$PATH"
  else
    echo "bootstrap: no Swift toolchain found (looked on PATH and in /opt/swift); Vigil needs Swift 6.1 or later" >&2
    exit 1
  fi
fi

missing=()
for pkg in "${APT_PACKAGES[@]+"${APT_PACKAGES[@]}"}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "bootstrap: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi
