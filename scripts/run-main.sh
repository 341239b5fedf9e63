#!/usr/bin/env bash
# The main job: build Vigil and the bundled sample implementation (release) and check the implementation:
# every conformance suite against refnode through the stdio adapter (reports in reports/), then the audit
# of every rule's citation against the patent texts, the SAN examples of US 6,545,981 replayed by the
# reference models (FIG. 6, 8, 9, path failures), the exhaustive exploration of the US 6,119,244
# model pair over small bounds, a short fuzz campaign per role against refnode through the stdio
# adapter (findings, if any, in reports/fuzz/), and races of two refnodes: the exhaustive bounds with the
# C core linked in-process, then random schedules between two refnode processes (reports/race/).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh
swift build -c release --product vigil
swift build -c release --product refnode
.build/release/vigil check --out reports
.build/release/vigil rules --audit
.build/release/vigil simulate --quiet
.build/release/vigil explore --mode exhaustive --bounds small
for role in san-responder san-requestor failover-node; do
    .build/release/vigil fuzz --role "$role" --iut builtin --seed 1 --runs 2000 --jobs 2 --out reports/fuzz
done
.build/release/vigil race --iut linked --mode exhaustive --out reports/race/exhaustive
.build/release/vigil race --iut builtin --seed 1 --runs 100 --out reports/race/random
