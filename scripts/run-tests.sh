#!/usr/bin/env bash
# The test job: everything CI runs. Builds and runs every test target.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh
swift build --build-tests
swift test
