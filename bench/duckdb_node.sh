#!/bin/bash
# Runs one of bench/'s DuckDB scripts with the DuckDB package ../shared/bench/duckdb.sh installs
# (on the native tables its `load` wrote to $BENCH_DATA/SIZE.duckdb):
#   bench/duckdb_node.sh SCRIPT.js [ARGS...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export BENCH_DATA=${BENCH_DATA:-/tmp/pitstore-bench}
BENCH_NODE=${BENCH_NODE:-$HOME/.cache/pitstore-bench-node}
shared=${PITSTORE_SHARED_BENCH:-$here/../../shared/bench}
"$shared/duckdb.sh" --install-only
script=$1
shift
NODE_PATH="$BENCH_NODE/node_modules" exec node "$here/$script" "$@"
