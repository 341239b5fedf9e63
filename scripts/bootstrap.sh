#!/usr/bin/env bash
# Installs what a fresh machine lacks for building and testing Vigil. Safe to run again: it installs only
# what is missing. Shared by scripts/run-main.sh, scripts/run-tests.sh and .ci/run.
set -euo pipefail

# Debian packages the build or the tests need: libpcap-dev for the CPcap system-library target (the pcap
# evidence writer and reader), tshark for the test that opens captures with specs/vigil.lua. tshark's
# debconf question (may non-root users capture?) gets its default "no" under DEBIAN_FRONTEND=noninteractive,
# which is all the tests need: they only read files.
APT_PACKAGES=(libpcap-dev tshark)

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
  # "install ok installed" only: dpkg -s also succeeds for a removed package whose config files remain.
  [ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" = "install ok installed" ] || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "bootstrap: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  # Through env, so that the variable survives sudo (which resets the environment) and no debconf
  # question (tshark asks about non-root capture) can stop an unattended CI run.
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi
