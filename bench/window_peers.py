"""The peers' side of the windowed-aggregation benchmark (issue 19): for every label of the shared
data, sum and count of f0 over the events of its user with t - w < event_ts <= t, for w = 1h, 1d,
7d, exactly (no hops), the same question `pitstore_join_bench windows SIZE` answers.

    .venv/bin/python bench/window_peers.py large duckdb|polars [THREADS]

DuckDB (the Python package) and polars first load the Parquet files into memory (timed apart);
the query is then timed alone. One JSON line each, with the checksums pitstore prints: per
output, the non-null count and the sum. Wrap in /usr/bin/time -v for peak memory.

How each computes it exactly: labels become rows of the event stream with a null f0, and a
window function over RANGE frames of w - 1 µs PRECEDING to the CURRENT ROW (closed on both
ends, so (t - w, t] at microsecond precision) gives each label row its aggregates. An ASOF join
to each user's last event would give the window ending at that event, not at the label's time.
"""

from __future__ import annotations

import json
import os
import sys
import time

DATA = os.environ.get("BENCH_DATA", "/tmp/pitstore-bench")
HOUR = 3_600_000_000
WINDOWS = {"1h": HOUR, "1d": 24 * HOUR, "7d": 7 * 24 * HOUR}


def checksum(columns: dict) -> dict:
    out = {}
    for w in WINDOWS:
        for fn in ("sum", "count"):
            name = f"f0_{fn}_{w}"
            non_null, total = columns[name]
            out[name] = [int(non_null), round(float(total), 3) if fn == "sum" else int(total)]
    return out


def run_duckdb(size: str, threads: int) -> dict:
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET threads = {threads}")
    t0 = time.perf_counter()
    con.execute(f"CREATE TABLE events AS SELECT user_id, event_ts, f0 FROM read_parquet('{DATA}/{size}_user_stats.parquet')")
    con.execute(f"CREATE TABLE labels AS SELECT row_number() OVER () AS label_id, user_id, event_ts "
                f"FROM read_parquet('{DATA}/{size}_labels.parquet')")
    load = time.perf_counter() - t0
    frames = []
    for w, us in WINDOWS.items():
        frame = f"OVER (PARTITION BY user_id ORDER BY event_ts RANGE BETWEEN {us - 1} PRECEDING AND CURRENT ROW)"
        frames += [f"sum(f0) {frame} AS f0_sum_{w}", f"count(f0) {frame} AS f0_count_{w}"]
    t0 = time.perf_counter()
    con.execute(f"""CREATE TABLE out AS
        SELECT label_id, {", ".join(frames)} FROM (
          SELECT user_id, event_ts, f0, NULL::BIGINT AS label_id FROM events
          UNION ALL SELECT user_id, event_ts, NULL::DOUBLE, label_id FROM labels)
        QUALIFY label_id IS NOT NULL""")
    secs = time.perf_counter() - t0
    parts = []
    for w in WINDOWS:
        parts += [f"count(f0_sum_{w}), sum(f0_sum_{w})", f"count(f0_count_{w}), sum(f0_count_{w})"]
    row = con.execute(f"SELECT count(*), {', '.join(parts)} FROM out").fetchone()
    cols, i = {}, 1
    for w in WINDOWS:
        for fn in ("sum", "count"):
            cols[f"f0_{fn}_{w}"] = (row[i], row[i + 1] or 0)
            i += 2
    return {"tool": f"duckdb {duckdb.__version__}", "labels": row[0], "load_secs": round(load, 3),
            "secs": round(secs, 3), "check": checksum(cols)}


def run_polars(size: str, threads: int) -> dict:
    os.environ["POLARS_MAX_THREADS"] = str(threads)
    import polars as pl

    t0 = time.perf_counter()
    events = pl.read_parquet(f"{DATA}/{size}_user_stats.parquet", columns=["user_id", "event_ts", "f0"])
    labels = pl.read_parquet(f"{DATA}/{size}_labels.parquet", columns=["user_id", "event_ts"])
    load = time.perf_counter() - t0
    t0 = time.perf_counter()
    labels = labels.with_row_index("label_id")
    stream = pl.concat([
        events.with_columns(pl.lit(None, dtype=pl.UInt32).alias("label_id")),
        labels.with_columns(pl.lit(None, dtype=pl.Float64).alias("f0")).select(events.columns + ["label_id"]),
    ]).with_columns(pl.col("event_ts").cast(pl.Datetime("us"))).sort("user_id", "event_ts")
    result = stream.select("label_id")
    for w, us in WINDOWS.items():
        agg = stream.rolling("event_ts", period=f"{us}us", closed="right", group_by="user_id").agg(
            pl.col("f0").sum().alias(f"f0_sum_{w}"), pl.col("f0").count().alias(f"f0_count_{w}"))
        # One output row per input row, in the input's order (sorted by user and time): checked.
        assert agg["user_id"].equals(stream["user_id"]) and agg["event_ts"].equals(stream["event_ts"])
        result = result.with_columns(agg[f"f0_sum_{w}"], agg[f"f0_count_{w}"])
    result = result.filter(pl.col("label_id").is_not_null())
    secs = time.perf_counter() - t0
    cols = {}
    for w in WINDOWS:
        # polars sums an empty window to 0, not null: count the windows holding a value instead.
        nonempty = result.filter(pl.col(f"f0_count_{w}") > 0)
        cols[f"f0_sum_{w}"] = (nonempty.height, result[f"f0_sum_{w}"].sum())
        cols[f"f0_count_{w}"] = (result.height, result[f"f0_count_{w}"].sum())
    return {"tool": f"polars {pl.__version__}", "labels": result.height, "load_secs": round(load, 3),
            "secs": round(secs, 3), "check": checksum(cols)}


if __name__ == "__main__":
    size, tool = sys.argv[1], sys.argv[2]
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    print(json.dumps(run_duckdb(size, threads) if tool == "duckdb" else run_polars(size, threads)))
