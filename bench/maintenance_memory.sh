#!/bin/bash
# Peak memory and time of each maintenance operation on a store as ingested, for one or more
# builds of the tool, interleaved (before/after comparisons on a machine whose speed drifts).
#   bench/maintenance_memory.sh STORE.pit TOOL [TOOL...]
# Each TOOL gets: compact --full of a fresh copy of STORE, then repair and verify of the result,
# copy of STORE, vacuum of a fresh copy, compact (partial) of a fresh copy. Scratch files go
# beside STORE (STORE.m.pit, STORE.c.pit), removed at the end.
set -u
store=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
m=$store.m.pit
c=$store.c.pit
fresh() { rm -f "$m" "$m-index" "$m-index-lock"; cp "$store" "$m"; cp "$store-index" "$m-index"; }
run() {  # label tool args...
  local label=$1
  shift
  printf '%s: %s\n' "$label" "$({ /usr/bin/time -f '%e s' "$here/peak_memory.sh" "$@" >/dev/null; } 2>&1 | tr '\n' ' ')"
}
for tool in "$@"; do
  fresh
  run "$tool compact --full" "$tool" compact --full "$m"
  run "$tool repair (compacted)" "$tool" repair "$m"
  run "$tool verify (compacted)" "$tool" verify "$m"
  rm -f "$c" "$c-index" "$c-index-lock"
  run "$tool copy" "$tool" copy "$store" "$c"
  fresh
  run "$tool vacuum" "$tool" vacuum "$m"
  fresh
  run "$tool compact" "$tool" compact "$m"
done
rm -f "$m" "$m-index" "$m-index-lock" "$c" "$c-index" "$c-index-lock"
