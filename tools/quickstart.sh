#!/bin/bash
# The quickstart, through the `pitstore` tool: defines the sample's entity and view, ingests
# tools/sample/user_stats.csv (3,997 rows in arrival order: late arrivals, nulls, a correction),
# shows latest, as-of and history reads, checks that the online and as-of answers agree for
# every user, and verifies the store.
#   tools/quickstart.sh [BUILD_DIR] [STORE]      (defaults: build, quickstart.pit)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
store=${2:-quickstart.pit}
tool=$build/bin/pitstore
[ -x "$tool" ] || { echo "quickstart: $tool not found; build first (see README)" >&2; exit 1; }
step() { printf '\n== %s\n$ %s\n' "$1" "${*:2}"; "${@:2}"; }

rm -f "$store" "$store-index" "$store-index-lock"
step "a new store" "$tool" init "$store"
step "definitions (tools/sample/user_stats.yaml): entity, view with a 30-day TTL, a feature service" \
  "$tool" apply "$store" "$here/sample/user_stats.yaml"
step "ingest the sample in atomic batches of 1,000 rows" \
  "$tool" ingest "$store" user_stats "$here/sample/user_stats.csv" --batch-size 1000
step "what the store holds" "$tool" info "$store"
step "latest for user 42 by today's clock: older than the TTL, so withheld" \
  "$tool" get "$store" user_stats 42
step "latest for users 42 and 7 by a clock of 2025-03-10" \
  "$tool" get "$store" user_stats 42 7 --now 2025-03-10T00:00:00Z
step "user 42 as of 2025-03-06: a row that arrived late (known 2025-03-09) is seen" \
  "$tool" get "$store" user_stats 42 --as-of 2025-03-06T00:00:00Z
step "the same question, known at 2025-03-08T12:00Z: what serving saw before the correction" \
  "$tool" get "$store" user_stats 42 --as-of 2025-03-06T00:00:00Z --known-at 2025-03-08T12:00:00Z
step "every version of user 42" "$tool" history "$store" user_stats 42
step "merge the row batches into a columnar segment" "$tool" compact "$store" --full
step "the view's blocks" "$tool" dump "$store" user_stats --blocks

printf '\n== online == as-of for all 500 users (latest at a clock of 2025-03-10 vs as_of(2025-03-10))\n'
users=$(seq 1 500)
# shellcheck disable=SC2086
online=$("$tool" get "$store" user_stats $users --now 2025-03-10T00:00:00Z --format csv)
# shellcheck disable=SC2086
as_of=$("$tool" get "$store" user_stats $users --as-of 2025-03-10T00:00:00Z --format csv)
if [ "$online" != "$as_of" ]; then
  diff <(echo "$online") <(echo "$as_of") | head >&2
  echo "quickstart: latest and as-of disagree" >&2
  exit 1
fi
echo "agree: $(($(wc -l <<<"$online") - 1)) users"
step "every checksum and index entry" "$tool" verify "$store"
