#!/bin/bash
# End to end: the built `pitstore` tool on a real store made by the quickstart. Checks output
# and exit codes (0 ok, 1 error, 2 usage, 3 corruption).
#   tests/cli_test.sh BUILD_DIR SOURCE_DIR
set -u
build=$1 src=$2
tool=$build/tools/pitstore
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0 passed=0
check() {  # check NAME EXPECTED_EXIT GREP_PATTERN -- command...
  local name=$1 want=$2 pattern=$3
  shift 4
  local out rc
  out=$("$@" 2>&1)
  rc=$?
  if [ "$rc" != "$want" ] || ! grep -qE -- "$pattern" <<<"$out"; then
    echo "FAIL $name: exit $rc (want $want), output:"
    echo "$out" | head -20
    failures=$((failures + 1))
  else
    passed=$((passed + 1))
  fi
}
store=$work/qs.pit
"$build/tools/pitstore-quickstart" "$src/tools/sample/user_stats.csv" "$store" >/dev/null || { echo "quickstart failed"; exit 1; }

check info 0 'user_stats +3997 +500 +0 +1 ' -- "$tool" info "$store"
check info-json 0 '^\{"view":"user_stats","rows":3997,' -- "$tool" info "$store" --format json
check get-latest-expired 0 '^42 +expired' -- "$tool" get "$store" user_stats 42
check get-as-of 0 '^42 +found +2025-03-05T12:00:00Z +2025-03-09T10:00:00Z +7 +null +NL' -- \
  "$tool" get "$store" user_stats 42 --as-of 2025-03-06T00:00:00Z
check get-known-at 0 '"sessions_7d":5,' -- \
  "$tool" get "$store" user_stats 42 --as-of 2025-03-06T00:00:00Z --known-at 2025-03-08T14:00:00+02:00 --format json
check get-missing 0 '^123456 +not_found' -- "$tool" get "$store" user_stats 7 123456 --as-of 2025-03-06T00:00:00Z
check get-features 0 '^key,status,event_ts,system_ts,country$' -- \
  "$tool" get "$store" user_stats 42 --features country --format csv
check history 0 '^2025-03-03T12:00:00Z,2025-03-09T11:00:00Z,6,150.5,NL$' -- "$tool" history "$store" user_stats 42 --format csv
check history-count 0 '^5$' -- bash -c "'$tool' history '$store' user_stats 42 --format csv | tail -n +2 | wc -l"
check history-range 0 '^1$' -- bash -c \
  "'$tool' history '$store' user_stats 42 --from 2025-03-04T00:00:00Z --to 2025-03-06T00:00:00Z --format csv | tail -n +2 | wc -l"
check verify 0 '^ok: ' -- "$tool" verify "$store"
check bad-key 1 "join key 'user_id' must be an integer" -- "$tool" get "$store" user_stats abc
check bad-view 1 "no feature view 'nope'" -- "$tool" get "$store" nope 1
check bad-time 2 'not a timestamp' -- "$tool" get "$store" user_stats 1 --as-of yesterday
check usage 2 'required' -- "$tool" get "$store"
check no-store 1 'no such store' -- "$tool" info "$work/missing.pit"
check help 0 'Exit status: 0 ok' -- "$tool" --help
check copy 0 '^copied to ' -- "$tool" copy "$store" "$work/shipped.pit"
check copy-reads 0 '^42 +found +2025-03-05T12:00:00Z .* 7 ' -- "$tool" get "$work/shipped.pit" user_stats 42 --as-of 2025-03-06T00:00:00Z
check copy-verify 0 '^ok: ' -- "$tool" verify "$work/shipped.pit"
check copy-exists 1 'exists' -- "$tool" copy "$store" "$work/shipped.pit"
check vacuum 0 '^vacuumed: [0-9]+ -> [0-9]+ bytes' -- "$tool" vacuum "$store"
check after-vacuum 0 '^42 +found .* 7 ' -- "$tool" get "$store" user_stats 42 --as-of 2025-03-06T00:00:00Z
# A flipped byte in the middle of the (now one-segment) file: verify must say so, exit 3.
size=$(stat -c %s "$store")
at=$((size / 2))
byte=$(od -An -tu1 -j "$at" -N1 "$store" | tr -d ' ')
printf "\\x$(printf %02x $((byte ^ 0x5a)))" | dd of="$store" bs=1 seek="$at" conv=notrunc status=none
check verify-corrupt 3 '^problem: ' -- "$tool" verify "$store"

# Definitions: init, apply, re-apply, evolve, refuse.
fresh=$work/fresh.pit
defs=$src/tools/sample/user_stats.yaml
check init 0 '^created ' -- "$tool" init "$fresh"
check init-again 1 'exists' -- "$tool" init "$fresh"
check apply 0 "create view 'user_stats'" -- "$tool" apply "$fresh" "$defs"
check apply-again 0 '^no changes$' -- "$tool" apply "$fresh" "$defs"
sed 's/      - {name: country, type: string, description: last country seen}/&\n      - {name: plan, type: string}/' "$defs" >"$work/add.yaml"
check apply-add-feature 0 "update view 'user_stats': add feature 'plan'" -- "$tool" apply "$fresh" "$work/add.yaml"
sed 's/name: sessions_7d, type: int64/name: sessions_7d, type: float64/' "$work/add.yaml" >"$work/retype.yaml"
check apply-type-change 1 "type cannot change" -- "$tool" apply "$fresh" "$work/retype.yaml"
check apply-nothing-changed 0 '^no changes$' -- "$tool" apply "$fresh" "$work/add.yaml"
sed 's/    ttl: 30d/    tll: 30d/' "$defs" >"$work/typo.yaml"
check apply-typo 1 "typo.yaml:11:5: unknown key 'tll'" -- "$tool" apply "$fresh" "$work/typo.yaml"
sed 's/    ttl: 30d/    ttl: 30 days/' "$defs" >"$work/badttl.yaml"
check apply-bad-ttl 1 "badttl.yaml:11:10: ttl '30 days' is not a duration" -- "$tool" apply "$fresh" "$work/badttl.yaml"
check apply-missing-file 1 'cannot read' -- "$tool" apply "$fresh" "$work/none.yaml"

echo "$passed passed, $failures failed"
[ "$failures" = 0 ]
