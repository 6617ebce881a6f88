#!/bin/bash
# Parquet written by pitstore, read by its peers: DuckDB and polars (from npm, through node)
# read `pitstore dump --out` and `pitstore join --out` files of every feature type, with
# nulls; their own rewrites of those files ingest back into pitstore unchanged, and DuckDB's
# sums over the join output equal pitstore's CSV output.
#   tests/parquet_peers_test.sh BUILD_DIR SOURCE_DIR
# Skipped (exit 77) with a message where node or the packages are missing: set NODE_PATH to a
# node_modules holding @duckdb/node-api and nodejs-polars (.ci/run installs them).
set -u
build=$1 src=$2
tool=$build/bin/pitstore
peer="node $src/tests/parquet_peer.js"
if ! command -v node >/dev/null || ! $peer check 2>/dev/null; then
  echo "SKIPPED: node with @duckdb/node-api and nodejs-polars not found (NODE_PATH=${NODE_PATH:-unset})"
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0 passed=0
check() {  # check NAME EXPECTED GOT
  if [ "$2" == "$3" ]; then
    passed=$((passed + 1))
  else
    echo "FAIL $1:"
    diff <(echo "$2") <(echo "$3") | head -20
    failures=$((failures + 1))
  fi
}

cat >"$work/defs.yaml" <<'YAML'
entities:
  - {name: item, join_keys: [{name: item_id, type: string}]}
feature_views:
  - name: every_type
    entities: [item]
    features:
      - {name: b, type: bool}
      - {name: i32, type: int32}
      - {name: i64, type: int64}
      - {name: f32, type: float32}
      - {name: f64, type: float64}
      - {name: s, type: string}
      - {name: by, type: bytes}
      - {name: ts, type: timestamp}
      - {name: v, type: float32_vector, dim: 3}
YAML
# 3,000 rows; nulls rotate through the features (n = i % 7 picks which ones are empty).
awk 'BEGIN {
  print "item_id,event_ts,b,i32,i64,f32,f64,s,by,ts,v"
  for (i = 0; i < 3000; i++) {
    n = i % 7
    printf "k%d,2025-01-%02dT%02d:00:00Z,", i % 400, i % 28 + 1, i % 24
    printf "%s,", n == 0 ? "" : i % 2
    printf "%s,", n == 1 ? "" : i * 7 - 9000
    printf "%s,", n == 2 ? "" : sprintf("%.0f", i * 1234567891)
    printf "%s,", n == 3 ? "" : i ".25"
    printf "%s,", n == 4 ? "" : "-" i ".125e-3"
    printf "%s,", n == 5 ? "" : "\"text, \"\"" i "\"\" é\""
    printf "%s,", n == 6 ? "" : sprintf("0x%04x00ff", i)
    printf "%s,", n == 0 ? "" : sprintf("2024-12-31T23:59:59.%06dZ", i)
    printf "%s\n", n == 1 ? "" : "\"[" i ", 0.5, -1e-3]\""
  }
}' >"$work/rows.csv"
store=$work/a.pit
"$tool" init "$store" >/dev/null && "$tool" apply "$store" "$work/defs.yaml" >/dev/null &&
  "$tool" ingest "$store" every_type "$work/rows.csv" >/dev/null || { echo "setup failed"; exit 1; }
"$tool" dump "$store" every_type --out "$work/dump.parquet" || exit 1
"$tool" dump "$store" every_type --format csv >"$work/dump.csv"

check duckdb-types "item_id VARCHAR
event_ts TIMESTAMP WITH TIME ZONE
system_ts TIMESTAMP WITH TIME ZONE
b BOOLEAN
i32 INTEGER
i64 BIGINT
f32 FLOAT
f64 DOUBLE
s VARCHAR
by BLOB
ts TIMESTAMP WITH TIME ZONE
v FLOAT[]" "$($peer duckdb-types "$work/dump.parquet")"

# Each peer's rewrite ingests back into a fresh store as the same rows (system_ts included).
for p in duckdb polars; do
  $peer $p-rewrite "$work/dump.parquet" "$work/$p.parquet" || { echo "FAIL $p-rewrite"; failures=$((failures + 1)); continue; }
  back=$work/$p.pit
  "$tool" init "$back" >/dev/null && "$tool" apply "$back" "$work/defs.yaml" >/dev/null
  out=$("$tool" ingest "$back" every_type "$work/$p.parquet" --created-ts-column system_ts 2>&1)
  check "$p-ingest" "ingested 3,000 record(s)" "$(grep -o 'ingested [0-9,]* record(s)' <<<"$out" || echo "$out")"
  check "$p-round-trip" "$(cat "$work/dump.csv")" "$("$tool" dump "$back" every_type --format csv)"
done

# A join written as Parquet: DuckDB's counts and sums equal those of the CSV output.
awk 'BEGIN { print "item_id,event_ts,label"
  for (i = 0; i < 1000; i++) printf "k%d,2025-01-%02dT12:00:00Z,%d\n", i * 7 % 450, i % 28 + 1, i % 2 }' >"$work/labels.csv"
feats=every_type:i32,every_type:f64,every_type:s,every_type:v
"$tool" join "$store" "$work/labels.csv" --features $feats --out "$work/train.parquet" 2>/dev/null || exit 1
"$tool" join "$store" "$work/labels.csv" --features $feats --out "$work/train.csv" 2>/dev/null || exit 1
want=$(awk -F, 'NR > 1 { n++; l += $3; if ($4 != "") { c++; s += $4 } } END { printf "%d %d %d %.0f\n", n, l, c, s }' "$work/train.csv")
got=$($peer duckdb-sql "$work/train.parquet" "SELECT count(*) n, sum(label) l, count(i32) c, sum(i32)::BIGINT s,
  any_value(typeof(event_ts)) tt FROM t" | sed 's/.*"n":"\([0-9]*\)","l":"\([0-9]*\)","c":"\([0-9]*\)","s":"\(-*[0-9]*\)".*/\1 \2 \3 \4/')
check duckdb-join-sums "$want" "$got"
check duckdb-join-label-time "TIMESTAMP WITH TIME ZONE" "$($peer duckdb-sql "$work/train.parquet" "SELECT any_value(typeof(event_ts)) tt FROM t" | sed 's/.*"tt":"\([^"]*\)".*/\1/')"
echo "$passed passed, $failures failed"
[ "$failures" = 0 ]
