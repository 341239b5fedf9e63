#!/usr/bin/env bash
# The main job: build Vigil (release) and run it. Today that is the audit of every rule's citation against
# the patent texts, the reference models of US 6,545,981 replaying the patent's own examples (FIG. 6, 8, 9,
# a permanent and a transient path failure), and the exhaustive exploration of the US 6,119,244 model pair
# over small bounds; the sample implementation (refnode) joins with the adapter issue.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh
swift build -c release --product vigil
.build/release/vigil rules --audit
.build/release/vigil simulate
.build/release/vigil explore --mode exhaustive --bounds small
