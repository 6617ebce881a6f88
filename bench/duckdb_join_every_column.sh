#!/bin/bash
# DuckDB's point-in-time join with every feature column read:
#   bench/duckdb_join_every_column.sh [SIZE] [THREADS]
# Uses the DuckDB package ../shared/bench/duckdb.sh installs, and the native tables its `load`
# wrote to $BENCH_DATA/SIZE.duckdb.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export BENCH_DATA=${BENCH_DATA:-/tmp/pitstore-bench}
BENCH_NODE=${BENCH_NODE:-$HOME/.cache/pitstore-bench-node}
shared=${PITSTORE_SHARED_BENCH:-$here/../../shared/bench}
"$shared/duckdb.sh" --install-only
NODE_PATH="$BENCH_NODE/node_modules" exec node "$here/duckdb_join_every_column.js" "$@"
