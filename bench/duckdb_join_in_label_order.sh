#!/bin/bash
# DuckDB's point-in-time join with pitstore's output contract (bench/duckdb_join_in_label_order.js):
#   bench/duckdb_join_in_label_order.sh [SIZE] [THREADS]
exec "$(dirname "$0")/duckdb_node.sh" duckdb_join_in_label_order.js "$@"
