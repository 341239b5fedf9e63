#!/usr/bin/env bash
# The test job: everything CI runs. Builds and runs every test target.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh
swift build --build-tests
swift test
# libFuzzer on the kit's own decoders: a separate release build (.build-libfuzz) and 20 s per target
# (VIGIL_LIBFUZZ_SECONDS); any crash fails the job. README "Fuzzing the decoders with libFuzzer".
bash scripts/libfuzz.sh
