#!/bin/bash
# Runs every fuzz target for SECONDS each (libFuzzer, ASan+UBSan), one after another, starting
# from the committed corpora; prints each target's executions and exits non-zero on the first
# crash, leak or timeout (libFuzzer leaves the input as crash-*/leak-*/timeout-* in the
# current directory: copy it into fuzz/corpus/TARGET/ as a regression case once fixed).
#   fuzz/run.sh [SECONDS] [--merge]
# --merge folds the inputs that found new coverage back into fuzz/corpus/ (minimised).
# Needs clang (Debian: clang, libclang-rt-14-dev); builds build-fuzz/ when missing, or uses the
# build directory FUZZ_BUILD_DIR names (configured with -DPITSTORE_BUILD_FUZZ=ON, as CI's
# sanitizer build is, so one build serves the fuzzers and the ASan test suite).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
merge=${2:-}
targets="decoders open_store expression ingest definitions parquet"
build=${FUZZ_BUILD_DIR:-build-fuzz}
if [ ! -x "$build/fuzz/fuzz_decoders" ] || [ "${REBUILD:-}" = 1 ]; then
  CC=clang CXX=clang++ cmake -S . -B "$build" -DPITSTORE_BUILD_FUZZ=ON -DPITSTORE_BUILD_TESTS=OFF \
    -DPITSTORE_BUILD_BENCH=OFF >/dev/null
fi
cmake --build "$build" -j2 --target $(for t in $targets; do printf 'fuzz_%s ' "$t"; done) >/dev/null
for t in $targets; do
  work=$(mktemp -d)
  log=$work/log
  # New inputs go to $work/new; the committed corpus is read, never written, unless --merge.
  mkdir "$work/new"
  if ! "$build/fuzz/fuzz_$t" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=20 -print_final_stats=1 \
    "$work/new" "fuzz/corpus/$t" >"$log" 2>&1; then
    tail -n 40 "$log"
    echo "fuzz_$t: FAILED (the input is in $(pwd)/crash-* / leak-* / timeout-*)"
    exit 1
  fi
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | grep -o '[0-9]*' || echo "?")
  echo "fuzz_$t: ${seconds} s, $runs runs, $cov coverage edges, no crash, leak or timeout"
  if [ "$merge" = --merge ]; then
    before=$(ls "fuzz/corpus/$t" | wc -l)
    "$build/fuzz/fuzz_$t" -merge=1 "fuzz/corpus/$t" "$work/new" >/dev/null 2>&1
    echo "  corpus: $before -> $(ls "fuzz/corpus/$t" | wc -l) inputs"
  fi
  rm -rf "$work"
done
