#!/bin/bash
# End to end: the built `pitstore` tool on real stores: the quickstart's (tools/quickstart.sh,
# the README's main job), then definitions and ingestion with every error path. Checks output
# and exit codes (0 ok, 1 error, 2 usage, 3 corruption).
#   tests/cli_test.sh BUILD_DIR SOURCE_DIR
set -u
build=$1 src=$2
tool=$build/bin/pitstore
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
"$src/tools/quickstart.sh" "$build" "$store" >"$work/quickstart.out" || { cat "$work/quickstart.out"; echo "quickstart failed"; exit 1; }
check quickstart-agrees 0 '^agree: 500 users$' -- cat "$work/quickstart.out"

check info 0 'user_stats +3997 +500 +0 +1 ' -- "$tool" info "$store"
check info-json 0 '^\{"view":"user_stats","rows":3997,' -- "$tool" info "$store" --format json
check info-layout 0 '^layout: segment time chunks in frames of 64 rows, int64 keys as differences \(required features 6\)$' -- "$tool" info "$store"
check get-latest-expired 0 '^42 +expired' -- "$tool" get "$store" user_stats 42
check get-as-of 0 '^42 +present +2025-03-05T12:00:00Z +2025-03-09T10:00:00Z +7 +null +NL' -- \
  "$tool" get "$store" user_stats 42 --as-of 2025-03-06T00:00:00Z
check get-known-at 0 '"sessions_7d":5,' -- \
  "$tool" get "$store" user_stats 42 --as-of 2025-03-06T00:00:00Z --known-at 2025-03-08T14:00:00+02:00 --format json
check get-missing 0 '^123456 +not_found' -- "$tool" get "$store" user_stats 7 123456 --as-of 2025-03-06T00:00:00Z
check get-service 0 '^42,9,DE,$' -- "$tool" get "$store" --service churn_model 42 7 --now 2025-03-10T00:00:00Z --format csv
check get-service-missing 0 '"missing":"sessions_7d:not_found country:not_found"' -- \
  "$tool" get "$store" --service churn_model 99999 --format json
check get-service-full-names 0 '^user_id,user_stats__sessions_7d,user_stats__country,missing$' -- \
  "$tool" get "$store" --service churn_model 42 --full-feature-names --format csv
check get-service-unknown 1 "no feature service 'nope'" -- "$tool" get "$store" --service nope 42
check get-features 0 '^user_id,status,event_ts,system_ts,country$' -- \
  "$tool" get "$store" user_stats 42 --features country --format csv
check history 0 '^2025-03-03T12:00:00Z,2025-03-09T11:00:00Z,6,150.5,NL$' -- "$tool" history "$store" user_stats 42 --format csv
check history-count 0 '^5$' -- bash -c "'$tool' history '$store' user_stats 42 --format csv | tail -n +2 | wc -l"
check history-range 0 '^1$' -- bash -c \
  "'$tool' history '$store' user_stats 42 --from 2025-03-04T00:00:00Z --to 2025-03-06T00:00:00Z --format csv | tail -n +2 | wc -l"
check verify 0 '^ok: ' -- "$tool" verify "$store"
check bad-key 1 "join key 'user_id' must be an integer" -- "$tool" get "$store" user_stats abc
check bad-view 1 "no feature view 'nope'" -- "$tool" get "$store" nope 1
check bad-feature 1 "NotFound: view 'user_stats' has no feature 'nope'" -- "$tool" get "$store" user_stats 42 --features nope
check bad-time 2 'not a timestamp' -- "$tool" get "$store" user_stats 1 --as-of yesterday
check bad-date 2 'not a timestamp' -- "$tool" get "$store" user_stats 1 --as-of 2025-02-30T00:00:00Z
check bad-leap-second 2 'leap second' -- "$tool" get "$store" user_stats 1 --as-of 2016-12-31T23:59:60Z
check bad-one-digit 2 'two-digit fields' -- "$tool" get "$store" user_stats 1 --as-of 2025-3-01T00:00:00Z
check bare-seconds-refused 2 'read as microseconds, and 1795000000 microseconds is 1970-01-01T00:29:55Z.*in s it is 2026-11-18T11:06:40Z' -- \
  "$tool" get "$store" user_stats 42 --as-of 1795000000
check seconds-with-unit 0 '^42 +present +2025-03-0' -- "$tool" get "$store" user_stats 42 --as-of 1741564800s
check millis-with-unit 0 '^42 +present +2025-03-05T12:00:00Z' -- "$tool" get "$store" user_stats 42 --as-of 1741219200000ms
check usage 2 'required' -- "$tool" get "$store"
check no-store 1 'no such store' -- "$tool" info "$work/missing.pit"
check help 0 'Exit status: 0 ok' -- "$tool" --help
check version 0 '^pitstore [0-9]+\.[0-9]+\.[0-9]+$' -- "$tool" --version
check copy 0 '^copied to ' -- "$tool" copy "$store" "$work/shipped.pit"
check copy-reads 0 '^42 +present +2025-03-05T12:00:00Z .* 7 ' -- "$tool" get "$work/shipped.pit" user_stats 42 --as-of 2025-03-06T00:00:00Z
check copy-verify 0 '^ok: ' -- "$tool" verify "$work/shipped.pit"
# A copy for serving, in pages of 64 rows: the same answers from smaller pages.
check copy-page-rows 0 '^copied to ' -- "$tool" copy "$store" "$work/small_pages.pit" --page-rows 64
check copy-page-rows-pages 0 '^[0-9]+ +segment +3997 +63 +64 ' -- "$tool" dump --blocks "$work/small_pages.pit" user_stats
check copy-page-rows-reads 0 '^42 +present +2025-03-05T12:00:00Z .* 7 ' -- \
  "$tool" get "$work/small_pages.pit" user_stats 42 --as-of 2025-03-06T00:00:00Z
check copy-page-rows-same-rows 0 '^same$' -- bash -c "cmp -s <('$tool' dump '$store' user_stats --format csv) \
  <('$tool' dump '$work/small_pages.pit' user_stats --format csv) && echo same"
check copy-page-rows-range 2 'page-rows' -- "$tool" copy "$store" "$work/tiny_pages.pit" --page-rows 3
# Copies in smaller segments: by rows (3997 rows cut at entities' ends: 4 of about 1000), and by
# the rows' plain size (about 400 rows of 50 bytes in 20,000 bytes: 10); the same rows in each.
check copy-segment-rows 0 '^copied to ' -- "$tool" copy "$store" "$work/seg_rows.pit" --segment-rows 1000
check copy-segment-rows-count 0 '^4$' -- bash -c "'$tool' dump --blocks '$work/seg_rows.pit' user_stats | grep -c ' segment '"
check copy-segment-bytes 0 '^copied to ' -- "$tool" copy "$store" "$work/seg_bytes.pit" --segment-bytes 20000
check copy-segment-bytes-count 0 '^10$' -- bash -c "'$tool' dump --blocks '$work/seg_bytes.pit' user_stats | grep -c ' segment '"
check copy-segments-same-rows 0 '^same$' -- bash -c "cmp -s <('$tool' dump '$store' user_stats --format csv) \
  <('$tool' dump '$work/seg_rows.pit' user_stats --format csv) && cmp -s <('$tool' dump '$store' user_stats --format csv) \
  <('$tool' dump '$work/seg_bytes.pit' user_stats --format csv) && echo same"
check copy-segment-rows-range 2 'segment-rows' -- "$tool" copy "$store" "$work/no_rows.pit" --segment-rows 0
check copy-segment-bytes-range 2 'segment-bytes' -- "$tool" copy "$store" "$work/huge.pit" --segment-bytes 2000000000
check copy-exists 1 'exists' -- "$tool" copy "$store" "$work/shipped.pit"
# A copy killed part way leaves no destination, or a complete one; a retry then succeeds.
big=$work/big.pit
"$tool" init "$big" >/dev/null && "$tool" apply "$big" "$src/tools/sample/user_stats.yaml" >/dev/null
awk 'BEGIN { print "user_id,event_ts,created_ts,sessions_7d,avg_session_s,country"
  for (i = 0; i < 400000; i++)
    printf "%d,2025-03-%02dT00:00:00Z,2025-03-%02dT00:04:00Z,%d,%d.5,NL\n", i % 50000, 1 + i % 28, 1 + i % 28, i % 97, i % 1000 }' \
  >"$work/big.csv"
"$tool" ingest "$big" user_stats "$work/big.csv" --progress never >/dev/null
copy_kills=0 copy_bad=0
for delay in 0.01 0.03 0.05 0.08 0.11 0.14 0.18 0.22; do
  dest=$work/killed_copy.pit
  "$tool" copy "$big" "$dest" >/dev/null 2>&1 &
  pid=$!
  sleep $delay
  kill -9 $pid 2>/dev/null && copy_kills=$((copy_kills + 1))
  wait $pid 2>/dev/null
  if [ -e "$dest" ]; then  # complete, its index perhaps not yet in place: repair builds it
    "$tool" verify "$dest" >/dev/null 2>&1 || "$tool" repair "$dest" >/dev/null 2>&1 || copy_bad=$((copy_bad + 1))
    "$tool" info "$dest" | grep -qE 'user_stats +400000 ' || copy_bad=$((copy_bad + 1))
  fi
  rm -f "$dest" "$dest-index" "$dest-index-lock"
  "$tool" copy "$big" "$dest" >/dev/null 2>&1 || copy_bad=$((copy_bad + 1))
  "$tool" info "$dest" | grep -qE 'user_stats +400000 ' || copy_bad=$((copy_bad + 1))
  rm -f "$dest" "$dest-index" "$dest-index-lock"
done
echo "copy: 8 copies killed part way, $copy_kills of them before they finished"
check copy-killed 0 "^8 copies: $copy_kills killed, 0 bad\$" -- echo "8 copies: $copy_kills killed, $copy_bad bad"
check copy-leaves-no-partial 0 '^0$' -- bash -c "ls '$work' | grep -c partial; true"

# The index is derived: lost or unreadable, `repair` rebuilds it from the data file.
rm "$work/shipped.pit-index"
check verify-no-index 1 'index .* is missing' -- "$tool" verify "$work/shipped.pit"
check repair-lost-index 0 '^ok: ' -- "$tool" repair "$work/shipped.pit"
# A writer stopped between making a batch durable and indexing it (emulated: the index from
# before the batch put back): readers count the batch, verify calls the state normal.
cp "$work/shipped.pit-index" "$work/index.before"
printf 'user_id,event_ts,created_ts,sessions_7d,avg_session_s,country\n900001,2025-03-09T00:00:00Z,2025-03-09T00:00:00Z,1,2.5,NL\n' \
  >"$work/one.csv"
"$tool" ingest "$work/shipped.pit" user_stats "$work/one.csv" >/dev/null
cp "$work/index.before" "$work/shipped.pit-index"
check verify-pending 0 '^pending: 1 committed transaction' -- "$tool" verify "$work/shipped.pit"
check info-pending 0 'user_stats +3998 +501 ' -- "$tool" info "$work/shipped.pit"
check get-pending 0 '^900001 +present' -- "$tool" get "$work/shipped.pit" user_stats 900001 --as-of 2025-03-09T00:00:00Z
head -c 4096 /dev/zero >"$work/shipped.pit-index"
check repair-zeroed-index 0 '^ok: ' -- "$tool" repair "$work/shipped.pit"
check repaired-reads 0 '^42 +present +2025-03-05T12:00:00Z .* 7 ' -- "$tool" get "$work/shipped.pit" user_stats 42 --as-of 2025-03-06T00:00:00Z
# A data file cut short is refused (exit 3, both lengths named) and left as it is; repair keeps
# what is left, setting the index aside.
cp "$work/shipped.pit" "$work/cut.pit" && cp "$work/shipped.pit-index" "$work/cut.pit-index"
cut_to=$(($(stat -c %s "$work/cut.pit") / 2))
truncate -s "$cut_to" "$work/cut.pit"
check cut-refused 3 "cut.pit is $cut_to bytes, but its index says [0-9]+ bytes were committed: the file was cut short" -- \
  "$tool" info "$work/cut.pit"
check cut-untouched 0 "^$cut_to\$" -- stat -c %s "$work/cut.pit"
check cut-repair 0 '^ok: ' -- "$tool" repair "$work/cut.pit"
check cut-repair-aside 0 '^aside$' -- bash -c "[ -e '$work/cut.pit-index.damaged' ] && echo aside"
# Busy is not damage: repair beside a writer changes nothing.
cp "$work/shipped.pit" "$work/busy.pit" && cp "$work/shipped.pit-index" "$work/busy.pit-index"
(sleep 3 | "$tool" ingest "$work/busy.pit" user_stats - >/dev/null 2>&1) &
writer=$!
sleep 1
check repair-beside-writer 1 'Busy: .*open read-write by another process' -- "$tool" repair "$work/busy.pit"
check repair-beside-writer-keeps-index 0 '^kept$' -- bash -c \
  "[ -f '$work/busy.pit-index' ] && [ ! -e '$work/busy.pit-index.damaged' ] && echo kept"
wait "$writer" || true
check vacuum 0 '^vacuumed: [0-9]+ -> [0-9]+ bytes' -- "$tool" vacuum "$store"
check after-vacuum 0 '^42 +present .* 7 ' -- "$tool" get "$store" user_stats 42 --as-of 2025-03-06T00:00:00Z
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
check plan-add-feature 0 "^update view 'user_stats': add feature 'plan'$" -- "$tool" plan "$fresh" "$work/add.yaml"
check plan-changed-nothing 0 '^no changes$' -- "$tool" plan "$fresh" "$defs"
sed 's/^    ttl: 30d/    ttl: 30d\n    retention: 365d/' "$defs" >"$work/retention.yaml"
check plan-retention 0 "^update view 'user_stats': retention$" -- "$tool" plan "$fresh" "$work/retention.yaml"
check apply-add-feature 0 "update view 'user_stats': add feature 'plan'" -- "$tool" apply "$fresh" "$work/add.yaml"
sed 's/name: sessions_7d, type: int64/name: sessions_7d, type: float64/' "$work/add.yaml" >"$work/retype.yaml"
check plan-type-change 1 "retype.yaml:18:9: view 'user_stats', feature 'sessions_7d': type cannot change" -- \
  "$tool" plan "$fresh" "$work/retype.yaml"
check apply-type-change 1 "retype.yaml:18:9: view 'user_stats', feature 'sessions_7d': type cannot change" -- \
  "$tool" apply "$fresh" "$work/retype.yaml"
check apply-nothing-changed 0 '^no changes$' -- "$tool" apply "$fresh" "$work/add.yaml"
sed 's/    ttl: 30d/    tll: 30d/' "$defs" >"$work/typo.yaml"
check apply-typo 1 "typo.yaml:11:5: unknown key 'tll'" -- "$tool" apply "$fresh" "$work/typo.yaml"
sed 's/    ttl: 30d/    ttl: 30 days/' "$defs" >"$work/badttl.yaml"
check apply-bad-ttl 1 "badttl.yaml:11:10: ttl '30 days' is not a duration" -- "$tool" apply "$fresh" "$work/badttl.yaml"
check apply-missing-file 1 'cannot read' -- "$tool" apply "$fresh" "$work/none.yaml"
# Nothing in a definitions file is resolved silently, and every refusal names file:line:column.
printf 'entities:\n  - name: user\n    join_keys:\n      - name: user_id\n        type: int64\n        type: string\n' \
  >"$work/dupkey.yaml"
check apply-duplicate-key 1 "dupkey.yaml:6:9: key 'type' given twice in one mapping \\(first at .*dupkey.yaml:5:9\\)" -- \
  "$tool" apply "$fresh" "$work/dupkey.yaml"
{ cat "$defs"; printf -- '---\nentities:\n  - {name: other, join_keys: [{name: id}]}\n'; } >"$work/twodocs.yaml"
check apply-second-document 1 "twodocs.yaml:2[0-9]:1: a second YAML document" -- "$tool" apply "$fresh" "$work/twodocs.yaml"
{ cat "$defs"; printf '  - name: churn_model\n    features: [user_stats:country]\n'; } >"$work/twice.yaml"
check apply-defined-twice 1 "twice.yaml:2[0-9]:5: feature service 'churn_model' defined twice \\(first at " -- \
  "$tool" apply "$fresh" "$work/twice.yaml"
sed 's/      - {name: plan, type: string}/&\n      - {name: user_id, type: int64}/' "$work/add.yaml" >"$work/keyname.yaml"
check apply-feature-named-like-key 1 "keyname.yaml:22:9: view 'user_stats', feature 'user_id': named like the join key of entity 'user'" -- \
  "$tool" apply "$fresh" "$work/keyname.yaml"
sed 's/      - {name: user_id, type: int64}/      - {name: user_id, type: string}/' "$defs" >"$work/rekey.yaml"
check apply-entity-keys-change 1 "rekey.yaml:4:5: entity 'user' exists with other join keys" -- \
  "$tool" apply "$fresh" "$work/rekey.yaml"
sed 's/    entities: \[user\]/    entities: [nobody]/' "$defs" >"$work/noentity.yaml"
check apply-unknown-entity 1 "noentity.yaml:9:5: view 'user_stats': unknown entity 'nobody'" -- \
  "$tool" apply "$fresh" "$work/noentity.yaml"
sed '/      - {name: country, type: string, description: last country seen}/d' "$defs" >"$work/removed.yaml"
check apply-feature-removed 1 "removed.yaml:9:5: view 'user_stats': features cannot be removed" -- \
  "$tool" apply "$fresh" "$work/removed.yaml"
printf 'a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n' >"$work/laughs.yaml"
check apply-nested-aliases 1 "expands to more than 200,000 nodes" -- "$tool" apply "$fresh" "$work/laughs.yaml"
printf 'a: &a [x, *a, *a]\n' >"$work/cycle.yaml"
check apply-alias-cycle 1 "cycle.yaml:1:.*nested more than 64 levels deep" -- "$tool" apply "$fresh" "$work/cycle.yaml"
check apply-refusals-changed-nothing 0 '^no changes$' -- "$tool" apply "$fresh" "$work/add.yaml"

# Feast's vocabulary: its quickstart's definitions (schema, dtype, timestamp_field on the source,
# join keys typed by value_type, online, tags) apply unchanged; misspellings are named.
feast=$work/feast.pit
"$tool" init "$feast" >/dev/null
check feast-apply 0 '^applied 4 change' -- "$tool" apply "$feast" "$src/tests/fixtures/feast/feature_repo.yaml"
printf 'driver_id,event_timestamp,created,conv_rate,acc_rate,avg_daily_trips\n1001,2025-03-01T00:00:00Z,2025-03-01T00:05:00Z,0.5,0.75,12\n' \
  >"$work/driver_stats.csv"
check feast-ingest 0 '^ingested 1 record' -- "$tool" ingest "$feast" driver_hourly_stats "$work/driver_stats.csv"
check feast-get 0 '^1001 +present +2025-03-01T00:00:00Z +2025-03-01T00:05:00Z +0.5 +0.75 +12$' -- \
  "$tool" get "$feast" driver_hourly_stats 1001 --now 2025-03-01T12:00:00Z
printf 'driver_id,event_timestamp,label\n1001,2025-03-01T06:00:00Z,1\n' >"$work/driver_labels.csv"
check feast-join-label-time-default 0 '^1001,2025-03-01T06:00:00Z,1,0.5$' -- \
  "$tool" join "$feast" "$work/driver_labels.csv" --features driver_hourly_stats:conv_rate
check feast-join-no-time-column 1 "the labels have no time column \(looked for 'event_timestamp', 'event_ts'; name it with --label-time-column\)" -- \
  bash -c "printf 'driver_id,ts\n1001,2025-03-01T06:00:00Z\n' | '$tool' join '$feast' - --features driver_hourly_stats:conv_rate"
sed 's/timestamp_field: event_timestamp/timestamp_feild: event_timestamp/' "$src/tests/fixtures/feast/feature_repo.yaml" >"$work/feast-typo.yaml"
check feast-typo-key 1 "feast-typo.yaml:22:7: unknown key 'timestamp_feild' in a source \(did you mean 'timestamp_field'\?\)" -- \
  "$tool" apply "$feast" "$work/feast-typo.yaml"
sed 's/dtype: Float32}/dtype: float}/' "$src/tests/fixtures/feast/feature_repo.yaml" >"$work/feast-type.yaml"
"$tool" init "$work/feast2.pit" >/dev/null
check feast-typo-type 1 "feast-type.yaml:15:[0-9]+: unknown type 'float' \(did you mean '(Float32|float32)'\?\)" -- \
  "$tool" apply "$work/feast2.pit" "$work/feast-type.yaml"

check describe 0 '^  rows:      3,997 \(500 entities\), event times 2025-03-01T00:00:00Z \.\. 2025-03-08T23:00:00Z$' -- \
  "$tool" describe "$store" user_stats
check describe-features 0 '^    avg_session_s  float64 +mean session length in seconds$' -- "$tool" describe "$store"
check describe-json 0 '"join_keys":\[\{"name":"user_id","type":"int64"\}\],"event_timestamp":"event_ts","created_timestamp":"created_ts","ttl_us":2592000000000,.*"services":\["churn_model"\],"rows":3997,' -- \
  "$tool" describe "$store" user_stats --format json
check describe-unknown 1 "no feature view 'nope'" -- "$tool" describe "$store" nope
check describe-feast 0 '^  times:     event event_timestamp, system created$' -- "$tool" describe "$feast"

# init --example: a working project; every command it prints works as printed.
check init-example 0 '^created .*/example: feature_repo.yaml, data/driver_stats.csv \(845 rows' -- \
  "$tool" init --example "$work/example"
check init-example-exists 1 'exists' -- "$tool" init --example "$work/example"
check init-example-steps 0 '^all 5 steps ran$' -- bash -c "'$tool' init --example '$work/example2' | sed -n 's/^  pitstore //p' |
  { n=0; while read -r line; do '$tool' \$line >/dev/null 2>&1 || { echo \"failed: \$line\"; exit 1; }; n=\$((n+1)); done; echo \"all \$n steps ran\"; }"
check init-example-get 0 '^1001 +present ' -- "$tool" get "$work/example2/features.pit" driver_hourly_stats 1001
# Freshness: the newest system time (row batches, then segments), its lag, the objective; exit 4
# when stale.
ex=$work/example2/features.pit
check freshness-no-objective 0 '^driver_hourly_stats +no_objective ' -- "$tool" freshness "$ex"
sed 's/^    ttl: 1d/    ttl: 1d\n    freshness: 2h/' "$work/example2/feature_repo.yaml" >"$work/fresh.yaml"
check freshness-apply 0 "^update view 'driver_hourly_stats': freshness$" -- "$tool" apply "$ex" "$work/fresh.yaml"
newest=$("$tool" freshness "$ex" --format json | sed 's/.*"newest_system_ts":"\([^"]*\)".*/\1/')
check freshness-fresh 0 '^driver_hourly_stats +fresh +1h00m +2h ' -- \
  "$tool" freshness "$ex" --now "$(($(date -d "$newest" +%s) + 3600))s"
check freshness-stale 4 '"status":"stale","lag":10800000000,"objective":7200000000' -- bash -c \
  "'$tool' freshness '$ex' --now \$(( \$(date -d '$newest' +%s) + 10800 ))s --format json"
"$tool" compact "$ex" --full --page-rows 32 >/dev/null
check compact-page-rows 0 ' segment +[0-9]+ +[0-9]+ +32 ' -- "$tool" dump --blocks "$ex" driver_hourly_stats
check freshness-from-segments 0 "\"newest_system_ts\":\"$newest\"" -- "$tool" freshness "$ex" --format json
check describe-freshness 0 '^  freshness: 2h \(objective\)$' -- "$tool" describe "$ex"

# stats: every figure equals one computed here from a dump of the same rows (before and after
# a full compaction, which moves them into segment footers); windows; drift and its picture.
cat >"$work/stats_check.py" <<'PY'
import csv, json, math, subprocess, sys
tool, store, frm, to = sys.argv[1:5]
rows = list(csv.DictReader(subprocess.run([tool, "dump", store, "user_stats", "--format", "csv"], check=True,
                                          capture_output=True, text=True).stdout.splitlines()))
args = [tool, "stats", store, "user_stats", "--format", "json"] + (["--from", frm, "--to", to] if frm else [])
got = {j["feature"]: j for j in map(json.loads, subprocess.run(args, check=True, capture_output=True,
                                                                text=True).stdout.splitlines())}
if frm:
    rows = [r for r in rows if frm <= r["event_ts"] <= to]
problems = []
for feature, measure in (("sessions_7d", float), ("avg_session_s", float), ("country", len)):
    values = [measure(r[feature]) for r in rows if r[feature] != ""]
    g = got[feature]
    mean = sum(values) / len(values)
    want = {"rows": len(rows), "nulls": len(rows) - len(values), "min": min(values), "max": max(values)}
    for k, v in want.items():
        if not math.isclose(g[k], v, rel_tol=1e-6):
            problems.append(f"{feature} {k}: {g[k]} != {v}")
    if not math.isclose(g["mean"], mean, rel_tol=1e-6):
        problems.append(f"{feature} mean: {g['mean']} != {mean}")
    values.sort()
    p50 = values[(len(values) - 1) // 2]
    if feature == "sessions_7d" and g["p50"] != p50:  # small integers: exact
        problems.append(f"{feature} p50: {g['p50']} != {p50}")
    if abs(g["p50"] - p50) > abs(p50) / 128 + 1e-9:
        problems.append(f"{feature} p50: {g['p50']} vs {p50}")
print("\n".join(problems) if problems else f"stats agree over {len(rows)} rows")
PY
statsdb=$work/stats.pit
"$tool" init "$statsdb" >/dev/null && "$tool" apply "$statsdb" "$defs" >/dev/null
for twice in 1 2; do "$tool" ingest "$statsdb" user_stats "$src/tools/sample/user_stats.csv" >/dev/null 2>&1; done
check stats-agree 0 '^stats agree over 7994 rows$' -- python3 "$work/stats_check.py" "$tool" "$statsdb" "" ""
check stats-window 0 '^stats agree over [0-9]+ rows$' -- python3 "$work/stats_check.py" "$tool" "$statsdb" \
  2025-03-03T00:00:00Z 2025-03-05T12:00:00Z
"$tool" compact --full "$statsdb" >/dev/null
check stats-agree-compacted 0 '^stats agree over 3997 rows$' -- python3 "$work/stats_check.py" "$tool" "$statsdb" "" ""
check stats-window-compacted 0 '^stats agree over [0-9]+ rows$' -- python3 "$work/stats_check.py" "$tool" \
  "$statsdb" 2025-03-03T00:00:00Z 2025-03-05T12:00:00Z
check stats-table 0 '^country +string +length +3997 +453 ' -- "$tool" stats "$statsdb" user_stats
check stats-same-window 0 '^sessions_7d,value,.*,0,stable$' -- "$tool" stats "$statsdb" user_stats --format csv \
  --baseline 2025-03-01..2025-03-05 --current 2025-03-01..2025-03-05
check stats-drift-svg 0 '^3 panels, PSI in each$' -- bash -c "'$tool' stats '$statsdb' user_stats \
  --baseline 2025-03-01..2025-03-04 --current 2025-03-04.. --svg '$work/drift.svg' >/dev/null && python3 -c \"
import sys, xml.etree.ElementTree as ET
texts = [t.text or '' for t in ET.parse(sys.argv[1]).iter('{http://www.w3.org/2000/svg}text')]
print(sum(t in ('sessions_7d', 'avg_session_s', 'country (length)') for t in texts), 'panels,',
      'PSI in each' if sum(t.startswith('PSI ') for t in texts) == 3 else 'PSI missing')\" '$work/drift.svg'"
check stats-bad-window 1 "--baseline '2025-03-05..2025-03-01': the window is empty" -- "$tool" stats "$statsdb" \
  user_stats --baseline 2025-03-05..2025-03-01 --current 2025-03-01..
check stats-unknown-feature 1 "has no feature 'nope'" -- "$tool" stats "$statsdb" user_stats --features nope

check help-examples 0 '^every subcommand has examples$' -- bash -c "for c in \$('$tool' --help | awk '/^Subcommands:/ {on=1; next} on && !NF {exit} on {print \$1}'); do
  '$tool' \$c --help | grep -q '^Examples:' || { echo \"no examples: \$c\"; exit 1; }; done; echo 'every subcommand has examples'"

# ---- ingestion ----
ing=$work/ing.pit
"$tool" init "$ing" >/dev/null && "$tool" apply "$ing" "$defs" >/dev/null
count() {  # rows stored in user_stats of store $1
  "$tool" dump "$1" user_stats --format json | wc -l
}
cat >"$work/good.csv" <<'CSV'
user_id,event_ts,created_ts,sessions_7d,avg_session_s,country
1,2025-03-01T00:00:00Z,,5,1.5,NL
2,2025-03-01T02:00:00+02:00,2025-03-01T01:00:00Z,6,,"Comma, Inc"
3,2025-03-01T00:00:00.123456Z,,7,2.5,"two
lines"
4,1740787200000000,,8,nan,""
CSV
check ingest-csv 0 '^ingested 4 record\(s\) in 1 batch' -- "$tool" ingest "$ing" user_stats "$work/good.csv"
check ingest-csv-offset 0 '^2,2025-03-01T00:00:00Z,2025-03-01T01:00:00Z,6,,"Comma, Inc"$' -- \
  "$tool" dump "$ing" user_stats --format csv
check ingest-csv-multiline 0 '"country":"two\\nlines"' -- "$tool" dump "$ing" user_stats --format json
check ingest-csv-micros 0 '^3,2025-03-01T00:00:00.123456Z,' -- "$tool" dump "$ing" user_stats --format csv
check ingest-csv-empty-string 0 '^4 .* nan +$' -- "$tool" get "$ing" user_stats 4 --now 2025-03-02T00:00:00Z --features avg_session_s,country
cat >"$work/good.jsonl" <<'JSON'
{"user_id": 5, "event_ts": 1740787200, "sessions_7d": 9, "country": "caf\u00e9", "avg_session_s": 3}

{"user_id": 6, "event_ts": "2025-03-01T00:00:00Z", "created_ts": null}
JSON
check ingest-seconds-without-unit 1 "good.jsonl:1:28: 'event_ts': '1740787200': an integer time with no unit is read as microseconds.*in s it is 2025-03-01T00:00:00Z" -- \
  "$tool" ingest "$ing" user_stats "$work/good.jsonl"
check ingest-jsonl 0 '^ingested 2 record' -- "$tool" ingest "$ing" user_stats "$work/good.jsonl" --epoch-unit s
check ingest-jsonl-values 0 '^5,2025-03-01T00:00:00Z,.*,9,3,café$' -- "$tool" dump "$ing" user_stats --format csv
check ingest-missing-nullable 0 '^6,2025-03-01T00:00:00Z,[^,]+,,,$' -- "$tool" dump "$ing" user_stats --format csv
check ingest-stdin 0 '^ingested 1 record' -- bash -c \
  "printf 'user_id,event_ts,sessions_7d\n7,2025-03-01T00:00:00Z,1\n' | '$tool' ingest '$ing' user_stats -"
check ingest-stdin-jsonl 0 '^ingested 1 record' -- bash -c \
  "echo '{\"user_id\":8,\"event_ts\":\"2025-03-01T00:00:00Z\"}' | '$tool' ingest '$ing' user_stats - --input-format jsonl"
check ingest-count 0 '^8$' -- count "$ing"

# A bad record in the third batch of two rows: batches 1-2 stay, batch 3 commits nothing.
{
  echo "user_id,event_ts,sessions_7d"
  for i in 101 102 103 104 105; do echo "$i,2025-03-02T00:00:00Z,1"; done
  echo "106,2025-03-02T00:00:00Z,many"
  echo "107,2025-03-02T00:00:00Z,1"
} >"$work/bad.csv"
check ingest-bad-value 1 "bad.csv:7:26: feature 'sessions_7d' \(int64\): expected an integer, got 'many' \[4 record\(s\) in 2 batch\(es\) committed before this batch; to resume after fixing it, rerun with --skip-records 4\]" -- \
  "$tool" ingest "$ing" user_stats "$work/bad.csv" --batch-size 2
check ingest-bad-kept 0 '^12$' -- count "$ing"
check ingest-bad-batch-absent 0 '^105 +not_found' -- "$tool" get "$ing" user_stats 105
sed -i 's/^106,2025-03-02T00:00:00Z,many$/106,2025-03-02T00:00:00Z,6/' "$work/bad.csv"
check ingest-resume 0 '^ingested 3 record.*\(4 skipped\)' -- "$tool" ingest "$ing" user_stats "$work/bad.csv" --skip-records 4
check ingest-resumed-count 0 '^15$' -- count "$ing"
printf 'user_id,event_ts,sessions_7d\n1,2025-13-01T00:00:00Z,1\n' >"$work/badtime.csv"
check ingest-bad-timestamp 1 "badtime.csv:2:3: 'event_ts': '2025-13-01T00:00:00Z' is not a timestamp" -- \
  "$tool" ingest "$ing" user_stats "$work/badtime.csv"
printf 'user_id,event_ts,sessions_7d\n1,2025-03-01T00:00:00,1\n' >"$work/nozone.csv"
check ingest-no-offset 1 "nozone.csv:2:3: 'event_ts'.*an offset \(Z or \+hh:mm\) is required" -- "$tool" ingest "$ing" user_stats "$work/nozone.csv"
printf 'user_id,event_ts,sessions_7d\n77,2025-03-01T00:00:00,1\n' >"$work/naive.csv"
check ingest-timezone-offset 0 '^ingested 1 record' -- "$tool" ingest "$ing" user_stats "$work/naive.csv" --timezone +02:00
check ingest-timezone-read 0 '^77 +present +2025-02-28T22:00:00Z' -- "$tool" get "$ing" user_stats 77 --now 2025-03-01T00:00:00Z
check ingest-timezone-named 1 "time zone 'Europe/Amsterdam': UTC or a fixed offset like \+02:00" -- \
  "$tool" ingest "$ing" user_stats "$work/naive.csv" --timezone Europe/Amsterdam
check join-timezone-utc 0 '^77,2025-03-01T00:00:00,1$' -- bash -c \
  "printf 'user_id,event_ts\n77,2025-03-01T00:00:00\n' | '$tool' join '$ing' - --features user_stats:sessions_7d --timezone UTC 2>/dev/null | tail -n +2"
printf 'user_id,event_ts,sessions_7d,colour\n1,2025-03-01T00:00:00Z,1,red\n' >"$work/extra.csv"
check ingest-unknown-column 1 "extra.csv:1:30: unknown column 'colour'" -- "$tool" ingest "$ing" user_stats "$work/extra.csv"
check ingest-ignore-extra 0 '^ingested 1 record' -- "$tool" ingest "$ing" user_stats "$work/extra.csv" --ignore-extra-columns
check ingest-ignore-extra-warns 0 "warning: ignored 1 column\\(s\\) that view 'user_stats' does not have: 'colour'" -- \
  "$tool" ingest "$ing" user_stats "$work/extra.csv" --ignore-extra-columns --dry-run
printf 'user_id,event_ts,sesions_7d,avg_session_s,country\n1,2025-03-01T00:00:00Z,1,2.5,NL\n' >"$work/typo.csv"
check ingest-typo-suggests 1 "typo.csv:1:18: unknown column 'sesions_7d' \\(did you mean 'sessions_7d'\\?\\)" -- \
  "$tool" ingest "$ing" user_stats "$work/typo.csv"
check ingest-typo-ignored-warns 0 "ignored 1 column.*'sesions_7d' \\(did you mean 'sessions_7d'\\?\\)" -- \
  "$tool" ingest "$ing" user_stats "$work/typo.csv" --ignore-extra-columns --dry-run
check ingest-typo-null-feature-warns 0 "warning: 1 feature\\(s\\) of view 'user_stats' had no column and were stored as null: 'sessions_7d'" -- \
  "$tool" ingest "$ing" user_stats "$work/typo.csv" --ignore-extra-columns --dry-run
check ingest-all-columns-no-warning 0 '^1$' -- bash -c "'$tool' ingest '$ing' user_stats '$work/good.csv' --dry-run 2>&1 | wc -l"
printf 'user_id,sessions_7d\n1,1\n' >"$work/nots.csv"
check ingest-missing-column 1 "nots.csv:1:1: the header has no column 'event_ts'" -- "$tool" ingest "$ing" user_stats "$work/nots.csv"
printf 'user_id,event_ts,sessions_7d\n1,2025-03-01T00:00:00Z\n' >"$work/short.csv"
check ingest-short-record 1 "short.csv:2:3: expected 3 fields" -- "$tool" ingest "$ing" user_stats "$work/short.csv"
printf 'user_id,event_ts,country\n1,2025-03-01T00:00:00Z,"open\n' >"$work/quote.csv"
check ingest-open-quote 1 "quote.csv:2:24: quoted field never closed" -- "$tool" ingest "$ing" user_stats "$work/quote.csv"
printf '{"user_id": 1, "event_ts": "2025-03-01T00:00:00Z", "sessions_7d": "five"}\n' >"$work/type.jsonl"
check ingest-jsonl-wrong-type 1 'type.jsonl:1:67: feature .sessions_7d. \(int64\): expected an integer, got the string "five"' -- \
  "$tool" ingest "$ing" user_stats "$work/type.jsonl"
printf '{"user_id": 1, "event_ts": "2025-03-01T00:00:00Z",}\n' >"$work/syntax.jsonl"
check ingest-jsonl-syntax 1 'syntax.jsonl:1:51: expected a member name' -- "$tool" ingest "$ing" user_stats "$work/syntax.jsonl"
printf 'user_id,event_ts,sessions_7d\nx,2025-03-01T00:00:00Z,1\n' >"$work/key.csv"
check ingest-bad-key 1 "key.csv:2:1: join key 'user_id' must be an int64, got 'x'" -- "$tool" ingest "$ing" user_stats "$work/key.csv"
check ingest-dry-run-error 1 "bad value|expected an integer" -- "$tool" ingest "$ing" user_stats "$work/type.jsonl" --dry-run
check ingest-dry-run 0 '^dry run: 4 record\(s\) valid, nothing written' -- "$tool" ingest "$ing" user_stats "$work/good.csv" --dry-run
check ingest-after-errors 0 '^17$' -- count "$ing"
check ingest-missing-file 1 'no such file' -- "$tool" ingest "$ing" user_stats "$work/none.csv"
check ingest-unknown-view 1 "no feature view 'nope'" -- "$tool" ingest "$ing" nope "$work/good.csv"
check ingest-verify 0 '^ok: ' -- "$tool" verify "$ing"
check dump-known-at 0 '^1$' -- bash -c \
  "'$tool' dump '$ing' user_stats --known-at 2025-03-01T01:00:00Z --format csv | tail -n +2 | wc -l"
check dump-limit 0 '^3$' -- bash -c "'$tool' dump '$ing' user_stats --limit 3 --format csv | tail -n +2 | wc -l"
check dump-negative-limit 2 'count of rows' -- "$tool" dump "$ing" user_stats --limit -1
# --limit 0 means no rows (it printed every row): the header alone, and a Parquet file of none.
check dump-limit-zero 0 '^0$' -- bash -c "'$tool' dump '$ing' user_stats --limit 0 --format csv | tail -n +2 | wc -l"
check dump-limit-zero-header 0 '^user_id,event_ts' -- bash -c "'$tool' dump '$ing' user_stats --limit 0 --format csv"
check dump-limit-zero-parquet 0 '' -- "$tool" dump "$ing" user_stats --limit 0 --out "$work/none.parquet"
check dump-limit-zero-parquet-rows 0 '\b0 record' -- \
  "$tool" ingest "$ing" user_stats "$work/none.parquet" --dry-run
check dump-out-csv 0 '^$' -- "$tool" dump "$ing" user_stats --out "$work/rows.csv"
check dump-out-csv-is-csv 0 '^user_id,event_ts,created_ts,sessions_7d,avg_session_s,country$' -- head -n 1 "$work/rows.csv"
check dump-out-unknown-extension 1 'the name must say the format' -- "$tool" dump "$ing" user_stats --out "$work/rows.txt"
check dump-out-unknown-nothing 0 '^$' -- bash -c "ls '$work/rows.txt' 2>/dev/null; true"
check service-listed 0 '^service churn_model: user_stats:sessions_7d user_stats:country$' -- "$tool" info "$ing"
# An error only the engine sees (a key too long for the index) still names the input's line.
cat >"$work/items.yaml" <<'YAML'
entities:
  - {name: item, join_keys: [{name: item_id, type: string}]}
feature_views:
  - {name: items, entities: [item], features: [{name: price, type: float64}]}
YAML
"$tool" apply "$ing" "$work/items.yaml" >/dev/null
{
  echo "item_id,event_ts,price"
  echo "a,2025-03-01T00:00:00Z,1.5"
  echo "$(head -c 600 /dev/zero | tr '\0' x),2025-03-01T00:00:00Z,2.5"
} >"$work/longkey.csv"
check ingest-engine-error-line 1 "longkey.csv:3:1: view 'items', row 1, column '<key>': entity key longer than" -- \
  "$tool" ingest "$ing" items "$work/longkey.csv"
check ingest-engine-error-nothing 0 '^0$' -- bash -c "'$tool' dump '$ing' items --format json | wc -l"
# Keys any string can be: a comma or the empty string in JSON form; many keys from stdin or a
# file; JSON output keeps an int64 key a number.
{
  echo "item_id,event_ts,price"
  echo '"a,b",2025-03-01T00:00:00Z,3.5'
  echo '"",2025-03-01T00:00:00Z,4.5'
} >"$work/oddkeys.csv"
"$tool" ingest "$ing" items "$work/oddkeys.csv" >/dev/null
check get-key-with-comma 0 '^a,b +present +2025-03-01T00:00:00Z .* 3.5$' -- "$tool" get "$ing" items '{"item_id": "a,b"}' --now 2025-03-02T00:00:00Z
check get-empty-key 0 '^"",present,2025-03-01T00:00:00Z,.*,4.5$' -- \
  "$tool" get "$ing" items '{"item_id": ""}' --now 2025-03-02T00:00:00Z --format csv
check get-comma-key-plain-refused 1 'has 1 join key\(s\) \(a value with a comma' -- "$tool" get "$ing" items 'a,b'
check get-keys-stdin 0 '^2 present, 1 not_found$' -- bash -c "printf 'item_id\n\"a,b\"\n\"\"\na\n' |
  '$tool' get '$ing' items --keys - --format csv | awk -F, 'NR > 1 {n[\$(NF-3)]++} END {print n[\"present\"], \"present,\", n[\"not_found\"], \"not_found\"}'"
printf '{"item_id": "a,b"}\n{"item_id": "zz", "other": 1}\n' >"$work/keys.jsonl"
check get-keys-file 0 '^\{"item_id":"zz","status":"not_found"' -- "$tool" get "$ing" items --keys "$work/keys.jsonl" --format json
check get-keys-file-bad 1 "keys.csv:2:1: join key 'user_id' must be an int64" -- bash -c \
  "printf 'user_id\nx\n' >'$work/keys.csv' && '$tool' get '$ing' user_stats --keys '$work/keys.csv'"
check get-no-keys 1 'no keys: give KEY... or --keys FILE' -- "$tool" get "$ing" items
check get-json-int-key 0 '^\{"user_id":1,"status":"' -- "$tool" get "$ing" user_stats 1 --format json
check drop-view 0 "^dropped view 'items' and its 2 row\(s\)" -- "$tool" drop "$ing" items --force
check drop-view-gone 1 "no feature view 'items'" -- "$tool" get "$ing" items a
check drop-view-verify 0 '^ok: ' -- "$tool" verify "$ing"
printf 'feature_services:\n  - name: broken\n    features: [user_stats:nope]\n' >"$work/svc.yaml"
check service-unknown-feature 1 "svc.yaml:2:5: service 'broken': view 'user_stats' has no feature 'nope'" -- "$tool" apply "$ing" "$work/svc.yaml"

# A retried load (the same file again) does not grow the store once merged: rows identical in
# key, both times and every value are stored once. Without a created time each load is learned
# anew (a restatement at a later system time), kept as history.
retry=$work/retry.pit
"$tool" init "$retry" >/dev/null && "$tool" apply "$retry" "$defs" >/dev/null
"$tool" ingest "$retry" user_stats "$src/tools/sample/user_stats.csv" >/dev/null
"$tool" ingest "$retry" user_stats "$src/tools/sample/user_stats.csv" >/dev/null
check retried-load-before-merge 0 'user_stats +7994 ' -- "$tool" info "$retry"
"$tool" compact "$retry" >/dev/null
check retried-load-stored-once 0 'user_stats +3997 +500 ' -- "$tool" info "$retry"
cut -d, -f1,2,4- "$src/tools/sample/user_stats.csv" >"$work/nocreated.csv"
"$tool" ingest "$retry" user_stats "$work/nocreated.csv" >/dev/null
"$tool" ingest "$retry" user_stats "$work/nocreated.csv" >/dev/null
"$tool" compact "$retry" --full >/dev/null
check restatements-kept 0 'user_stats +11991 +500 ' -- "$tool" info "$retry"

# Erasure: every version of a key is gone at once for every read; its bytes leave the data
# file at the next vacuum (row batches are stored uncompressed, so grep can find them before).
erase=$work/erase.pit
"$tool" init "$erase" >/dev/null && "$tool" apply "$erase" "$defs" >/dev/null
printf 'user_id,event_ts,created_ts,country\n7,2025-03-01T00:00:00Z,,Erase-Me-7\n7,2025-03-02T00:00:00Z,,Erase-Me-Too-7\n8,2025-03-01T00:00:00Z,,Keep-Me-8\n' \
  >"$work/erase.csv"
"$tool" ingest "$erase" user_stats "$work/erase.csv" >/dev/null 2>&1
check erase-bytes-before 0 '^1$' -- bash -c "grep -c 'Erase-Me-Too-7' '$erase' || true"
check delete 0 "^deleted 2 row\(s\) of 1 key\(s\) from view 'user_stats'" -- "$tool" delete "$erase" user_stats 7
check delete-get 0 '^7 +not_found' -- "$tool" get "$erase" user_stats 7 8 --now 2025-03-03T00:00:00Z
check delete-history 0 '^0$' -- bash -c "'$tool' history '$erase' user_stats 7 --format csv | tail -n +2 | wc -l"
check delete-join 0 '^7,2025-03-05T00:00:00Z,$' -- bash -c \
  "printf 'user_id,event_ts\n7,2025-03-05T00:00:00Z\n' | '$tool' join '$erase' - --features user_stats:country 2>/dev/null | tail -n +2"
check delete-again 0 '^deleted 0 row' -- bash -c "printf 'user_id\n7\n' | '$tool' delete '$erase' user_stats --keys -"
check delete-verify 0 '^ok: ' -- "$tool" verify "$erase"
"$tool" vacuum "$erase" >/dev/null
check drop-needs-force 1 "view 'user_stats' holds 1 row\\(s\\): add --force" -- "$tool" drop "$erase" user_stats
check drop-used-by-service 1 "used by feature service\\(s\\) 'churn_model'" -- "$tool" drop "$erase" user_stats --force
check erase-bytes-after-vacuum 0 '^0 1$' -- bash -c \
  "echo \$(grep -c 'Erase-Me' '$erase'; grep -c 'Keep-Me-8' '$erase')"

# Dropping a feature: gone for readers and ingest at once; its values leave the file after a
# full compaction and a vacuum; the old definitions file is refused with the reason.
dropf=$work/dropf.pit
"$tool" init "$dropf" >/dev/null && "$tool" apply "$dropf" "$defs" >/dev/null
printf 'user_id,event_ts,avg_session_s,country\n1,2025-03-01T00:00:00Z,1234.5678,NL\n2,2025-03-01T00:00:00Z,8765.4321,DE\n' \
  >"$work/dropf.csv"
"$tool" ingest "$dropf" user_stats "$work/dropf.csv" >/dev/null 2>&1
cat >"$work/find_doubles.py" <<'PY'
import struct, sys
data = open(sys.argv[1], 'rb').read()
print('gone' if not any(struct.pack('<d', v) in data for v in (1234.5678, 8765.4321)) else 'still there')
PY
check drop-feature-bytes-before 0 '^still there$' -- python3 "$work/find_doubles.py" "$dropf"
check drop-feature-needs-force 1 "feature 'avg_session_s' of view 'user_stats' holds 2 value\(s\): add --force" -- \
  "$tool" drop "$dropf" user_stats --feature avg_session_s
check drop-feature-used 1 "used by feature service\(s\) 'churn_model'" -- \
  "$tool" drop "$dropf" user_stats --feature country --force
check drop-feature 0 "^dropped feature 'avg_session_s' of view 'user_stats' and its 2 value\(s\)" -- \
  "$tool" drop "$dropf" user_stats --feature avg_session_s --force
check drop-feature-get 0 '^user_id,status,event_ts,system_ts,sessions_7d,country$' -- bash -c \
  "'$tool' get '$dropf' user_stats 1 --format csv --now 2025-03-02T00:00:00Z | head -1"
check drop-feature-describe 0 '^absent$' -- bash -c "'$tool' describe '$dropf' user_stats | grep -q avg_session_s && echo present || echo absent"
check drop-feature-ingest 1 "avg_session_s" -- "$tool" ingest "$dropf" user_stats "$work/dropf.csv"
check drop-feature-old-defs 1 "feature 'avg_session_s' was dropped; remove it from the definitions" -- \
  "$tool" apply "$dropf" "$defs"
"$tool" compact --full "$dropf" >/dev/null && "$tool" vacuum "$dropf" >/dev/null
check drop-feature-verify 0 '^ok: ' -- "$tool" verify "$dropf"
check drop-feature-bytes 0 '^gone$' -- python3 "$work/find_doubles.py" "$dropf"

# ---- point-in-time joins (a fresh quickstart store: user 42 has a late row for 2025-03-05) ----
store=$work/qs2.pit
"$src/tools/quickstart.sh" "$build" "$store" >/dev/null || { echo "quickstart failed"; exit 1; }
cat >"$work/labels.csv" <<'CSV'
user_id,event_ts,label,note
42,2025-03-06T00:00:00Z,1,"a, b"
7,2025-03-02T00:00:00Z,0,
999999,2025-03-06T00:00:00Z,0,x
42,2025-03-06T00:00:00Z,1,dup
42,2025-02-01T00:00:00Z,1,early
CSV
check join-now 0 '^42,2025-03-06T00:00:00Z,1,"a, b",7,NL$' -- \
  "$tool" join "$store" "$work/labels.csv" --features user_stats:sessions_7d,user_stats:country
check join-order-kept 0 '^user_id,event_ts,label,note,sessions_7d,country
42,.*,7,NL
7,2025-03-02T00:00:00Z,0,,[0-9]+,[A-Z]*
999999,2025-03-06T00:00:00Z,0,x,,
42,.*,dup,7,NL
42,2025-02-01T00:00:00Z,1,early,,$' -- bash -c \
  "'$tool' join '$store' '$work/labels.csv' --features user_stats:sessions_7d,user_stats:country 2>/dev/null | tr -d '\r'"
check join-known-at-label 0 '^42,2025-03-06T00:00:00Z,1,"a, b",5$' -- \
  "$tool" join "$store" "$work/labels.csv" --features user_stats:sessions_7d --known-at label
check join-known-at-bad 2 'known-at' -- \
  "$tool" join "$store" "$work/labels.csv" --features user_stats:sessions_7d --known-at soon
check join-known-at-fixed 0 '^42,2025-03-06T00:00:00Z,1,"a, b",5$' -- \
  "$tool" join "$store" "$work/labels.csv" --features user_stats:sessions_7d --known-at 2025-03-08T12:00:00Z
check join-service 0 '^user_id,event_ts,label,note,user_stats__sessions_7d,user_stats__country$' -- \
  "$tool" join "$store" "$work/labels.csv" --service churn_model --full-feature-names
check join-jsonl 0 '^\{"user_id":42,"event_ts":"2025-03-06T00:00:00Z","label":1,"note":"a, b","sessions_7d":7\}$' -- \
  "$tool" join "$store" "$work/labels.csv" --features user_stats:sessions_7d --output-format jsonl
printf '{"user_id": 42, "event_ts": 1741219200, "tags": [1, 2]}\n' >"$work/labels.jsonl"
check join-seconds-without-unit 1 "labels.jsonl:1:29: label time .event_ts.: .1741219200.: .*in s it is 2025-03-06T00:00:00Z" -- \
  "$tool" join "$store" "$work/labels.jsonl" --features user_stats:sessions_7d
check join-jsonl-labels 0 '^\{"user_id":42,"event_ts":1741219200,"tags":\[1, 2\],"sessions_7d":7\}$' -- \
  "$tool" join "$store" "$work/labels.jsonl" --features user_stats:sessions_7d --epoch-unit s --output-format jsonl
check join-out-file 0 'joined 5 labels with 1 feature' -- \
  "$tool" join "$store" "$work/labels.csv" --features user_stats:country --out "$work/train.csv"
check join-out-rows 0 '^6$' -- bash -c "wc -l <'$work/train.csv'"
sed 's/^user_id,event_ts,label,note$/user_id,event_ts,label,country/' "$work/labels.csv" >"$work/clash.csv"
check join-name-clash 1 "output column 'country' \(from user_stats:country\) would appear twice; --full-feature-names" -- \
  "$tool" join "$store" "$work/clash.csv" --features user_stats:country
check join-unknown-feature 1 "view 'user_stats' has no feature 'nope'" -- \
  "$tool" join "$store" "$work/labels.csv" --features user_stats:nope --out "$work/bad.csv"
check join-no-partial-file 0 '^none$' -- bash -c "ls '$work/bad.csv' '$work/bad.csv.tmp' 2>/dev/null || echo none"
printf 'uid,event_ts\n1,2025-03-01T00:00:00Z\n' >"$work/nokey.csv"
check join-missing-key 1 "the labels have no column 'user_id' \(a join key of a requested view\)" -- \
  "$tool" join "$store" "$work/nokey.csv" --features user_stats:country
# A null label key or time keeps its row (in place, as it came in) with null features, as a SQL
# left join and Feast do, in every output format.
printf 'user_id,event_ts,note\n42,2025-03-06T00:00:00Z,a\n,2025-03-06T00:00:00Z,b\n42,,c\n' >"$work/nulllabels.csv"
check join-null-labels-kept 0 '^42,2025-03-06T00:00:00Z,a,7\|,2025-03-06T00:00:00Z,b,\|42,,c,$' -- bash -c \
  "'$tool' join '$store' '$work/nulllabels.csv' --features user_stats:sessions_7d 2>/dev/null | tail -n +2 | paste -sd'|'"
check join-null-labels-warn 0 'warning: 2 label\(s\) with a null key or time were kept with null features' -- \
  "$tool" join "$store" "$work/nulllabels.csv" --features user_stats:sessions_7d
check join-null-labels-jsonl 0 '^\{"user_id":null,"event_ts":"2025-03-06T00:00:00Z","note":"b","sessions_7d":null\}$' -- \
  "$tool" join "$store" "$work/nulllabels.csv" --features user_stats:sessions_7d --output-format jsonl
check join-null-labels-parquet 0 '^42,2025-03-06T00:00:00Z,a,7\|,2025-03-06T00:00:00Z,b,\|42,,c,$' -- bash -c \
  "'$tool' join '$store' '$work/nulllabels.csv' --features user_stats:sessions_7d --out '$work/nl.parquet' 2>/dev/null &&
   '$tool' join '$store' '$work/nl.parquet' --features user_stats:country 2>/dev/null | tail -n +2 | cut -d, -f1-4 | paste -sd'|'"
printf 'user_id,event_ts\n1,2025-03-01T00:00:00Z\n2,yesterday\n' >"$work/badlabel.csv"
check join-bad-time 1 "badlabel.csv:3:3: label time 'event_ts': 'yesterday' is not a timestamp" -- \
  "$tool" join "$store" "$work/badlabel.csv" --features user_stats:country
# The same question three ways: online (latest by a clock), as-of read, and join, for every user.
{
  echo "user_id,event_ts"
  for u in $(seq 1 500); do echo "$u,2025-03-10T00:00:00Z"; done
} >"$work/all.csv"
# shellcheck disable=SC2046
"$tool" get "$store" user_stats $(seq 1 500) --now 2025-03-10T00:00:00Z --format csv | tail -n +2 |
  awk -F, '{print $1","($2=="present"?$5","$6","$7:",,")}' | sed 's/,null/,/g' >"$work/online.csv"
# shellcheck disable=SC2046
"$tool" get "$store" user_stats $(seq 1 500) --as-of 2025-03-10T00:00:00Z --format csv | tail -n +2 |
  awk -F, '{print $1","($2=="present"?$5","$6","$7:",,")}' | sed 's/,null/,/g' >"$work/asof.csv"
"$tool" join "$store" "$work/all.csv" --features user_stats:sessions_7d,user_stats:avg_session_s,user_stats:country 2>/dev/null |
  tail -n +2 | cut -d, -f1,3- >"$work/joined.csv"
check three-ways-online-asof 0 '^same$' -- bash -c "cmp -s '$work/online.csv' '$work/asof.csv' && echo same"
check three-ways-join 0 '^same$' -- bash -c "cmp -s '$work/asof.csv' '$work/joined.csv' && echo same || diff '$work/asof.csv' '$work/joined.csv' | head -5"
check three-ways-nonempty 0 '^500$' -- bash -c "grep -c ',[0-9]' '$work/joined.csv'"

# ---- Parquet: export, re-ingest, joins in and out ----
check parquet-dump 0 '^$' -- "$tool" dump "$store" user_stats --out "$work/rows.parquet"
pq=$work/pq.pit
"$tool" init "$pq" >/dev/null && "$tool" apply "$pq" "$src/tools/sample/user_stats.yaml" >/dev/null
check parquet-ingest 0 'ingested 3,997 record\(s\)' -- \
  "$tool" ingest "$pq" user_stats "$work/rows.parquet"
check parquet-round-trip 0 '^same$' -- bash -c "cmp -s <('$tool' dump '$store' user_stats --format csv) \
  <('$tool' dump '$pq' user_stats --format csv) && echo same"
# Every format dump writes ingests back to the same rows (every type: workflow_test's RoundTrip).
for fmt in csv jsonl; do
  "$tool" dump "$store" user_stats --out "$work/rows.$fmt"
  rt=$work/rt-$fmt.pit
  "$tool" init "$rt" >/dev/null && "$tool" apply "$rt" "$src/tools/sample/user_stats.yaml" >/dev/null
  check "$fmt-ingest-back" 0 'ingested 3,997 record\(s\)' -- "$tool" ingest "$rt" user_stats "$work/rows.$fmt"
  check "$fmt-round-trip" 0 '^same$' -- bash -c "cmp -s <('$tool' dump '$store' user_stats --format json) \
    <('$tool' dump '$rt' user_stats --format json) && echo same"
done
check parquet-join-out 0 'joined 500 labels' -- \
  "$tool" join "$store" "$work/all.csv" --service churn_model --out "$work/train.parquet"
# The training set as labels: its event_ts is a TIMESTAMP column now, its features ride along.
check parquet-join-labels 0 '^500 same$' -- bash -c "'$tool' join '$store' '$work/train.parquet' --service churn_model \
  --full-feature-names 2>/dev/null | tail -n +2 | awk -F, '\$3==\$5 && \$4==\$6 {n++} END {print n, \"same\"}'"
check parquet-join-matches-csv 0 '^same$' -- bash -c "cmp -s <('$tool' join '$store' '$work/train.parquet' \
  --service churn_model --full-feature-names 2>/dev/null | cut -d, -f1,2,5,6 | tail -n +2) \
  <('$tool' join '$store' '$work/all.csv' --service churn_model 2>/dev/null | tail -n +2) && echo same"
# Labels keep every column, so DuckDB's DECIMAL column must be read: refused by name.
# Chunks bound memory and change nothing: 500 labels in chunks of 7, CSV and Parquet.
check join-chunks-csv 0 '^same$' -- bash -c "cmp -s <('$tool' join '$store' '$work/all.csv' --service churn_model \
  --chunk-labels 7 2>/dev/null) <('$tool' join '$store' '$work/all.csv' --service churn_model 2>/dev/null) && echo same"
check join-chunks-parquet 0 'joined 500 labels' -- "$tool" join "$store" "$work/all.csv" --service churn_model \
  --chunk-labels 7 --out "$work/chunked.parquet"
check join-chunks-parquet-same 0 '^same$' -- bash -c "cmp -s <('$tool' join '$store' '$work/chunked.parquet' \
  --service churn_model --full-feature-names 2>/dev/null) <('$tool' join '$store' '$work/train.parquet' \
  --service churn_model --full-feature-names 2>/dev/null) && echo same"
# Parquet labels to a Parquet training set run as typed tables; chunked or not, the same file.
check parquet-to-parquet 0 'joined 500 labels with 2 feature\(s\).*as tables' -- "$tool" join "$store" \
  "$work/train.parquet" --service churn_model --full-feature-names --out "$work/p2p.parquet"
check parquet-to-parquet-chunks 0 '^same$' -- bash -c "'$tool' join '$store' '$work/train.parquet' --service churn_model \
  --full-feature-names --chunk-labels 7 --out '$work/p2p7.parquet' 2>/dev/null && cmp -s '$work/p2p.parquet' \
  '$work/p2p7.parquet' && echo same"
check parquet-unsupported-column 1 "column 'f_dec' holds DECIMAL values, which pitstore does not read" -- \
  "$tool" join "$store" "$src/tests/fixtures/parquet/duckdb_zstd.parquet" --features user_stats:country
check parquet-not-parquet 1 'labels.csv.parquet: not a Parquet file' -- bash -c \
  "cp '$work/labels.csv' '$work/labels.csv.parquet' && '$tool' ingest '$pq' user_stats '$work/labels.csv.parquet'"
check parquet-stdin 1 'Parquet cannot be read from standard input' -- \
  "$tool" ingest "$pq" user_stats - --input-format parquet

# A multi-key get reads every key from one snapshot: while batches that set all eight keys to
# the batch's number commit one after another, no answer mixes two batches (the tool before
# this change mixed 13 of 150). The reads must also have seen the ingest move on.
mix=$work/mix.pit
"$tool" init "$mix" >/dev/null && "$tool" apply "$mix" "$src/tools/sample/user_stats.yaml" >/dev/null
awk 'BEGIN { print "user_id,event_ts,sessions_7d"; for (b = 1; b <= 1500; b++) for (k = 1; k <= 8; k++)
  print k ",1700000000" sprintf("%06d", b) "," b }' >"$work/mix.csv"
"$tool" ingest "$mix" user_stats "$work/mix.csv" --batch-size 8 >/dev/null 2>&1 &
mixer=$!
mixed=0 reads=0
: >"$work/mix.seen"
while kill -0 "$mixer" 2>/dev/null && [ "$reads" -lt 300 ]; do
  "$tool" get "$mix" user_stats 1 2 3 4 5 6 7 8 --features sessions_7d --format csv --now 2023-11-15T00:00:00Z \
    2>/dev/null | tail -n +2 | cut -d, -f5 | sort -u >"$work/mix.one"
  [ "$(wc -l <"$work/mix.one")" -gt 1 ] && mixed=$((mixed + 1))
  cat "$work/mix.one" >>"$work/mix.seen"
  reads=$((reads + 1))
done
wait "$mixer" || true
seen=$(sort -u "$work/mix.seen" | wc -l)
check get-one-snapshot 0 "^0 mixed in [0-9]+ reads$" -- echo "$mixed mixed in $reads reads"
check get-one-snapshot-moving 0 "^moving$" -- bash -c "[ $seen -ge 3 ] && echo moving || echo 'only $seen values seen'"

# Aggregation views: defined in YAML, read by get (latest at --now, as-of) and by join, the
# window (t - w, t] exact: an event exactly one window before t is out.
agg=$work/agg.pit
cat >"$work/agg.yaml" <<'YAML'
entities:
  - name: user
    join_keys: [{name: user_id, type: int64}]
feature_views:
  - name: payments
    entities: [user]
    event_timestamp: event_ts
    features:
      - {name: amount, type: float64}
      - {name: merchant, type: string}
aggregation_views:
  - name: spend
    source: payments
    aggregations:
      - {column: amount, function: sum, windows: [1h, 1d]}
      - {column: merchant, function: count_distinct, window: 7d, name: merchants_7d}
YAML
printf '%s\n' user_id,event_ts,amount,merchant 1,2026-11-01T10:00:00Z,10.5,a 1,2026-11-01T10:30:00Z,4.5,b \
  1,2026-11-01T12:00:00Z,100,a 1,2026-11-05T09:00:00Z,1,c >"$work/payments.csv"
printf '%s\n' user_id,event_ts,label 1,2026-11-01T11:00:00Z,1 1,2026-11-08T08:00:00Z,0 3,2026-11-01T10:00:00Z,1 \
  >"$work/agg_labels.csv"
"$tool" init "$agg" >/dev/null
check agg-apply 0 "create aggregation view 'spend'" -- "$tool" apply "$agg" "$work/agg.yaml"
"$tool" ingest "$agg" payments "$work/payments.csv" >/dev/null 2>&1
check agg-get-now 0 '^1,present,2026-11-01T12:00:00Z,.*,100,115,2$' -- \
  "$tool" get "$agg" spend 1 --now 2026-11-01T12:00:00Z --format csv
check agg-get-as-of 0 '^1,present,2026-11-01T10:30:00Z,.*,4.5,15,2$' -- \
  "$tool" get "$agg" spend 1 --as-of 2026-11-01T11:00:00Z --format csv
check agg-join 0 '^1,2026-11-08T08:00:00Z,0,,,3$' -- "$tool" join "$agg" "$work/agg_labels.csv" --features 'spend:*'
check agg-join-empty-key 0 '^3,2026-11-01T10:00:00Z,1,,,0$' -- \
  "$tool" join "$agg" "$work/agg_labels.csv" --features 'spend:*'
sed 's/function: sum/function: median/' "$work/agg.yaml" >"$work/agg_bad.yaml"
check agg-bad-function 1 "agg_bad.yaml:15:36: unknown function 'median'" -- "$tool" apply "$agg" "$work/agg_bad.yaml"
sed 's/column: merchant, function: count_distinct/column: merchant, function: sum/' "$work/agg.yaml" >"$work/agg_bad2.yaml"
check agg-bad-type 1 "agg_bad2.yaml:12:5: aggregation view 'spend': .*sum does not apply to string" -- "$tool" apply "$agg" "$work/agg_bad2.yaml"
printf '%s\n' 'feature_services:' '  - name: fraud' '    features: [payments:amount, spend:amount_sum_1h]' \
  >"$work/agg_service.yaml"
check agg-service-apply 0 "create service 'fraud'" -- "$tool" apply "$agg" "$work/agg_service.yaml"
check agg-service-get 0 '^1 +1 +100 +-$' -- "$tool" get "$agg" --service fraud 1 --now 2026-11-01T12:00:00Z
check agg-no-ingest 1 "'spend' is an aggregation view" -- "$tool" ingest "$agg" spend "$work/payments.csv"
# last_k: lists, newest first, as JSON arrays in text (a quoted field in CSV).
printf '%s\n' 'aggregation_views:' '  - name: recent' '    source: payments' '    aggregations:' \
  '      - {column: merchant, function: last_k, k: 2, window: 1d}' \
  '      - {column: amount, function: last_k, k: 3, window: 7d, name: amounts}' >"$work/recent.yaml"
check lastk-apply 0 "create aggregation view 'recent'" -- "$tool" apply "$agg" "$work/recent.yaml"
check lastk-describe 0 'merchant_last_2_1d +list<string>\[2\]' -- "$tool" describe "$agg" recent
check lastk-get-csv 0 '^1,present,2026-11-01T12:00:00Z,[^,]*,"\[""a"",""b""\]","\[100,4.5,10.5\]"$' -- \
  "$tool" get "$agg" recent 1 --now 2026-11-01T12:00:00Z --format csv
check lastk-get-json 0 '"merchant_last_2_1d":\["a","b"\],"amounts":\[100,4.5,10.5\]' -- \
  "$tool" get "$agg" recent 1 --now 2026-11-01T12:00:00Z --format json
check lastk-join 0 '^1,2026-11-08T08:00:00Z,0,,"\[1,100,4.5\]"$' -- \
  "$tool" join "$agg" "$work/agg_labels.csv" --features 'recent:*'
sed 's/, k: 2//' "$work/recent.yaml" >"$work/recent_bad.yaml"
check lastk-no-k 1 "recent_bad.yaml:5:9: last_k needs k, how many values to keep, from 1 to 1000" -- \
  "$tool" apply "$agg" "$work/recent_bad.yaml"
sed 's/function: last_k, k: 3/function: sum, k: 3/' "$work/recent.yaml" >"$work/recent_bad2.yaml"
check lastk-k-elsewhere 1 "recent_bad2.yaml:6:.*k goes with last_k only" -- "$tool" apply "$agg" "$work/recent_bad2.yaml"

# On-demand views: expressions over the aggregation view and request inputs, in get and join.
cat >"$work/odv.yaml" <<'YAML'
on_demand_views:
  - name: signals
    request:
      - {name: amount, type: float64}
    features:
      - {name: ratio, expression: "amount / spend.amount_sum_1d"}
      - {name: big, expression: "amount > coalesce(spend.amount_sum_1h, 0)"}
      - {name: hour, expression: "hour_of_day(now())"}
YAML
check odv-apply 0 "create on-demand view 'signals'" -- "$tool" apply "$agg" "$work/odv.yaml"
check odv-get 0 '^1,2,true,12,$' -- \
  "$tool" get "$agg" signals 1 --request amount=230 --now 2026-11-01T12:00:00Z --format csv
check odv-get-features 0 '^user_id,big,missing$' -- \
  "$tool" get "$agg" signals 1 --features big --request amount=1 --format csv
check odv-get-no-request 1 "the request has no value for 'amount' \\(a request input, float64" -- \
  "$tool" get "$agg" signals 1
check odv-get-bad-request 1 "request input 'amount' \\(float64\\): expected a number, got 'lots'" -- \
  "$tool" get "$agg" signals 1 --request amount=lots
check odv-get-unknown-request 1 "no request input 'amt' \\(the requested features read: amount\\)" -- \
  "$tool" get "$agg" signals 1 --request amt=1
printf '%s\n' user_id,event_ts,amount 1,2026-11-01T11:00:00Z,30 1,2026-11-01T12:00:00Z,230 3,2026-11-01T10:00:00Z,5 \
  >"$work/odv_labels.csv"
check odv-join 0 '^1,2026-11-01T12:00:00Z,230,2,true,12$' -- \
  "$tool" join "$agg" "$work/odv_labels.csv" --features 'signals:*'
check odv-join-no-amount 1 "the labels have no column 'amount' \\(a request input" -- \
  "$tool" join "$agg" "$work/agg_labels.csv" --features 'signals:ratio'
check odv-describe 0 'ratio +float64 += amount / spend.amount_sum_1d' -- "$tool" describe "$agg" signals
sed 's|amount / spend.amount_sum_1d|amount / spend.amount_sum_2d|' "$work/odv.yaml" >"$work/odv_bad.yaml"
check odv-bad-ref 1 "odv_bad.yaml:6:45: on-demand view 'signals', feature 'ratio': column 10: aggregation view 'spend' has no feature 'amount_sum_2d'" -- \
  "$tool" apply "$agg" "$work/odv_bad.yaml"

echo "$passed passed, $failures failed"
[ "$failures" = 0 ]
