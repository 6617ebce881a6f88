#!/bin/bash
# DuckDB's point-in-time join with every feature column read (bench/duckdb_join_every_column.js):
#   bench/duckdb_join_every_column.sh [SIZE] [THREADS]
exec "$(dirname "$0")/duckdb_node.sh" duckdb_join_every_column.js "$@"
