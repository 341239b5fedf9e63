#!/usr/bin/env bash
# libFuzzer on the kit's own decoders (README "Fuzzing the decoders with libFuzzer"): builds the fuzz
# products with `--sanitize fuzzer` in their own scratch path (.build-libfuzz, so the ordinary .build is
# not rebuilt), runs each target for a bounded time from its seeds, and fails if any target crashed.
#
#   scripts/libfuzz.sh                    every target, VIGIL_LIBFUZZ_SECONDS (default 20) seconds each
#   scripts/libfuzz.sh script pcap        only these targets
#   VIGIL_LIBFUZZ_SECONDS=600 scripts/libfuzz.sh san-packet
#   VIGIL_LIBFUZZ_SECONDS=0 scripts/libfuzz.sh    build only
#   scripts/libfuzz.sh --list             the target names
#
# Other settings (environment): VIGIL_LIBFUZZ_ARGS extra libFuzzer flags (e.g. "-seed=1 -jobs=2"),
# VIGIL_LIBFUZZ_SKIP_BUILD=1 to reuse the binaries already built.
#
# Per target TARGET: seeds from corpus/libfuzzer/TARGET/ (plus the .vgl scripts for `script`), the
# growing working corpus in reports/libfuzzer/TARGET/corpus/, crash artifacts (crash-*, timeout-*,
# oom-*) in reports/libfuzzer/TARGET/, the full libFuzzer log in reports/libfuzzer/TARGET.log.
# Exit status: 0 no crash, 1 a target crashed (or timed out, or ran out of memory), 2 usage or build error.
set -euo pipefail
cd "$(dirname "$0")/.."

ALL_TARGETS=(san-packet san-notation failover adapter script pcap)
SCRATCH=.build-libfuzz
OUT=reports/libfuzzer
SECONDS_EACH="${VIGIL_LIBFUZZ_SECONDS:-20}"

if [ "${1:-}" = "--list" ]; then
  printf '%s\n' "${ALL_TARGETS[@]}"
  exit 0
fi
case "$SECONDS_EACH" in '' | *[!0-9]*) echo "libfuzz: VIGIL_LIBFUZZ_SECONDS must be a whole number of seconds" >&2; exit 2 ;; esac

targets=("$@")
if ((${#targets[@]} == 0)); then targets=("${ALL_TARGETS[@]}"); fi
for t in "${targets[@]}"; do
  case " ${ALL_TARGETS[*]} " in *" $t "*) ;; *) echo "libfuzz: unknown target '$t' (${ALL_TARGETS[*]})" >&2; exit 2 ;; esac
done

if [ "$(uname -s)" != "Linux" ]; then
  echo "libfuzz: libFuzzer through 'swift build --sanitize fuzzer' needs the Linux toolchain; skipped" >&2
  exit 0
fi
if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then export PATH="/opt/swift/usr/bin:$PATH"; fi

# Build: release, libFuzzer instrumentation, -DVIGIL_LIBFUZZER (the entry files then leave `main` to
# libFuzzer). The first product builds the shared modules; the rest only compile their entry and link.
BIN="$SCRATCH/release"
if [ "${VIGIL_LIBFUZZ_SKIP_BUILD:-0}" != "1" ]; then
  build_start=$(date +%s)
  for t in "${targets[@]}"; do
    if ! swift build -c release --sanitize fuzzer -Xswiftc -DVIGIL_LIBFUZZER --scratch-path "$SCRATCH" --product "fuzz-$t"; then
      echo "libfuzz: building fuzz-$t failed" >&2
      exit 2
    fi
  done
  echo "libfuzz: built ${#targets[@]} fuzz products in $(($(date +%s) - build_start)) s"
fi

if [ "$SECONDS_EACH" = 0 ]; then exit 0; fi  # (libFuzzer reads -max_total_time=0 as "no limit")

# SWIFT_BACKTRACE=enable=no: the Swift runtime's backtracer would otherwise catch the trap first; with it
# off, libFuzzer's own handler sees the signal, saves the input and reports the crash.
export SWIFT_BACKTRACE=enable=no
mkdir -p "$OUT"
failed=()
summary=()
for t in "${targets[@]}"; do
  exe="$BIN/fuzz-$t"
  if [ ! -x "$exe" ]; then echo "libfuzz: $exe is missing (build it, or unset VIGIL_LIBFUZZ_SKIP_BUILD)" >&2; exit 2; fi
  work="$OUT/$t/corpus"
  mkdir -p "$work"
  seeds=("corpus/libfuzzer/$t")
  if [ "$t" = script ]; then
    # Every script the repository keeps, where the folder exists (libFuzzer stops on a missing one).
    for d in corpus/conformance corpus/regressions corpus/fuzz; do
      if [ -d "$d" ]; then seeds+=("$d"); fi
    done
  fi
  log="$OUT/$t.log"
  echo "libfuzz: $t for ${SECONDS_EACH} s (log $log)"
  status=0
  # The working corpus comes first: libFuzzer adds new inputs to the first directory only, so the
  # committed seeds are never written to.
  # shellcheck disable=SC2086
  "$exe" -max_total_time="$SECONDS_EACH" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$OUT/$t/" ${VIGIL_LIBFUZZ_ARGS:-} "$work" "${seeds[@]}" >"$log" 2>&1 || status=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2 || true)
  units=$(find "$work" -type f | wc -l)
  if ((status != 0)); then
    failed+=("$t")
    artifact=$(grep -oE "(crash|timeout|oom|leak|slow-unit)-[0-9a-f]+" "$log" | tail -1 || true)
    summary+=("$(printf '%-13s CRASHED (exit %d) after %s execs; artifact %s/%s/%s' "$t" "$status" "${execs:-?}" "$OUT" "$t" "${artifact:-?}")")
    echo "libfuzz: $t crashed; the end of its log:" >&2
    grep -vE '^#[0-9]+' "$log" | tail -25 >&2
  else
    summary+=("$(printf '%-13s %10s execs %8s exec/s  cov %-5s corpus %s' "$t" "${execs:-?}" "${rate:-?}" "${cov:-?}" "$units")")
  fi
done

echo
echo "libfuzz: ${SECONDS_EACH} s per target"
printf '  %s\n' "${summary[@]}"
if ((${#failed[@]})); then
  echo "libfuzz: FAILED: ${failed[*]} (replay: $BIN/fuzz-TARGET ARTIFACT, or a plain build's .build/debug/fuzz-TARGET ARTIFACT)" >&2
  exit 1
fi
echo "libfuzz: no crash"
