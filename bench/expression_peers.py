"""DuckDB evaluating the expressions of `pitstore_expression_bench eval` over the same rows.

    .venv/bin/python bench/expression_peers.py [ROWS] [RUNS] [THREADS]

Rows are made by the bench's formulas (row i from i % 65,536), materialized in a table first;
each expression is then summed over ROWS rows, the median of RUNS passes is printed in ns per
row with its checksum (sum of the non-null results, and the nulls), to set beside pitstore's.
"""

from __future__ import annotations

import statistics
import sys
import time

import duckdb

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 5_000_000
RUNS = int(sys.argv[2]) if len(sys.argv) > 2 else 5
THREADS = int(sys.argv[3]) if len(sys.argv) > 3 else 1
DISTINCT = 65536
DIM = 16

EXPRESSIONS = {
    # pitstore's a / b is null for b == 0; DuckDB's double division gives inf, so nullif.
    "arithmetic": "coalesce(a / nullif(b, 0), 0.0) + abs(a) * 2 - 1",
    "case": "CASE WHEN s = 'DE' AND a > 0 THEN 1 WHEN a IS NULL THEN 2 ELSE 3 END",
    "cosine": "array_cosine_similarity(u, v)",
}


def main() -> None:
    con = duckdb.connect()
    con.execute(f"SET threads = {THREADS}")
    con.execute(f"""
        CREATE TABLE base AS
        SELECT i,
               CASE WHEN i % 17 = 0 THEN NULL ELSE CAST((i * 2654435761) % 100000 AS DOUBLE) / 100.0 - 100 END AS a,
               CASE WHEN i % 29 = 0 THEN NULL ELSE CAST((i * 40503) % 1000 AS DOUBLE) / 10.0 END AS b,
               ['DE', 'FR', 'US', 'GB'][((i * 7) % 4) + 1] AS s,
               CAST(list_transform(range({DIM}), lambda k: CAST(CAST((i + k * 31) % 97 AS DOUBLE) / 97.0 - 0.5 AS FLOAT))
                    AS FLOAT[{DIM}]) AS u,
               CAST(list_transform(range({DIM}), lambda k: CAST(CAST((i * 3 + k * 17) % 89 AS DOUBLE) / 89.0 - 0.5 AS FLOAT))
                    AS FLOAT[{DIM}]) AS v
        FROM range({DISTINCT}) t(i)""")
    con.execute(f"CREATE TABLE t AS SELECT b.* EXCLUDE (i) FROM range({ROWS}) r(j) JOIN base b ON b.i = r.j % {DISTINCT}")
    print(f"duckdb {duckdb.__version__}, {THREADS} thread(s)")
    print(f"expression   rows        ns/row (median of {RUNS})  checksum")
    for label, sql in EXPRESSIONS.items():
        times = []
        total = nulls = None
        for _ in range(RUNS):
            start = time.perf_counter()
            total, nulls = con.execute(f"SELECT sum(x), count(*) - count(x) FROM (SELECT {sql} AS x FROM t)").fetchone()
            times.append(time.perf_counter() - start)
        print(f"{label:<12} {ROWS:<11} {statistics.median(times) * 1e9 / ROWS:<23.1f} sum {float(total):.9g}, nulls {nulls}")


if __name__ == "__main__":
    main()
