"""pitstore from Python beside its peers, on the shared benchmark data (../shared/bench), in one run.

Training sets (the point-in-time join of SIZE_labels with the 10 features of SIZE_user_stats),
each tool in its own process, seconds and peak memory (ru_maxrss), checksum (non-null matches,
sum of c0) printed so the outputs can be seen to agree:
  - pitstore, Python: Store.get_historical_features(labels Table).to_arrow();
  - pitstore, C++: `pitstore join STORE labels.parquet --out x.parquet` (reads and writes Parquet);
  - DuckDB (Python package): labels ASOF LEFT JOIN features, read from Parquet, to Arrow;
  - Feast's local offline store (file source, Dask), with --feast (may not finish: the time
    limit is reported).
Online lookups (median of many calls, warm): pitstore get_online_features for 1 and 500
entities; Feast with its SQLite online store after `materialize`, with --feast.

    .venv/bin/python bench/python_bench.py --size small --feast
    .venv/bin/python bench/python_bench.py --size large [--feast --feast-timeout 600]

Needs the data (../shared/bench/data.sh SIZE, or gen + a Parquet conversion), build/bin/pitstore
and the package (PYTHONPATH=build/python, or pip install ./python). The store is built from the
Parquet file with the tool when missing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def child(args: argparse.Namespace, tool: str) -> dict:
    """Runs one tool in a fresh process (this script with --one): its result and peak memory."""
    cmd = [sys.executable, __file__, "--one", tool, "--size", args.size, "--data", args.data, "--store", args.store,
           "--cli", args.cli]
    limit = args.feast_timeout if tool.startswith("feast") else 3600
    with tempfile.TemporaryFile("w+") as out:
        p = subprocess.Popen(cmd, stdout=out, text=True)
        deadline = time.monotonic() + limit
        while True:
            pid, status, usage = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                p.kill()
                _, status, usage = os.wait4(p.pid, 0)
                return {"tool": tool, "error": f"did not finish in {limit:.0f} s", "peak_mib": usage.ru_maxrss / 1024}
            time.sleep(0.1)
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        lines = [line for line in out.read().splitlines() if line.startswith("{")]
    if p.returncode != 0 or not lines:
        return {"tool": tool, "error": f"exit {p.returncode}", "peak_mib": usage.ru_maxrss / 1024}
    return {**json.loads(lines[-1]), "peak_mib": usage.ru_maxrss / 1024}


def labels_table(data: str, size: str):
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    t = pq.read_table(os.path.join(data, f"{size}_labels.parquet"))
    ts = pc.cast(t.column("event_ts"), pa.timestamp("us", tz="UTC"))
    return t.set_column(t.schema.get_field_index("event_ts"), "event_ts", ts)


def checksum(table) -> dict:
    import pyarrow.compute as pc

    return {"rows": table.num_rows, "matches": table.num_rows - table.column("f0").null_count,
            "sum_c0": int(pc.sum(table.column("c0")).as_py() or 0)}


def one(args: argparse.Namespace) -> dict:
    """In the child process: one tool's join, timed from reading the labels to the whole output."""
    tool = args.one
    features = [f"user_stats:{f}" for f in ["f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7", "c0", "c1"]]
    if tool == "pitstore-python":
        import pitstore

        start = time.perf_counter()
        labels = labels_table(args.data, args.size)
        with pitstore.Store(args.store, read_only=True) as store:
            out = store.get_historical_features(labels, features).to_arrow()
        return {"tool": tool, "seconds": time.perf_counter() - start, **checksum(out)}
    if tool == "pitstore-cli":
        import pyarrow.parquet as pq

        out_path = os.path.join(tempfile.mkdtemp(), "train.parquet")
        start = time.perf_counter()
        subprocess.run([args.cli, "join", args.store, os.path.join(args.data, f"{args.size}_labels.parquet"),
                        "--features", ",".join(features), "--label-time-column", "event_ts", "--out", out_path],
                       check=True, capture_output=True)
        seconds = time.perf_counter() - start
        out = pq.read_table(out_path)
        shutil.rmtree(os.path.dirname(out_path))
        return {"tool": tool, "seconds": seconds, **checksum(out)}
    if tool == "duckdb":
        import duckdb

        start = time.perf_counter()
        con = duckdb.connect()
        con.execute("SET threads = 2")
        out = con.sql(f"""
            SELECT l.user_id, l.event_ts, l.label, f.f0, f.f1, f.f2, f.f3, f.f4, f.f5, f.f6, f.f7, f.c0, f.c1
            FROM read_parquet('{args.data}/{args.size}_labels.parquet') l
            ASOF LEFT JOIN read_parquet('{args.data}/{args.size}_user_stats.parquet') f
              ON l.user_id = f.user_id AND l.event_ts >= f.event_ts""").to_arrow_table()
        if hasattr(out, "read_all"):
            out = out.read_all()
        return {"tool": tool, "seconds": time.perf_counter() - start, **checksum(out)}
    if tool == "feast":
        fs, _ = feast_repo(args)
        labels = labels_table(args.data, args.size).rename_columns(["user_id", "event_timestamp", "label"])
        start = time.perf_counter()
        entity_df = labels.to_pandas()
        out = fs.get_historical_features(entity_df=entity_df, features=features).to_arrow()
        return {"tool": tool, "seconds": time.perf_counter() - start, **checksum(out)}
    if tool in ("pitstore-online", "feast-online"):
        import random

        rng = random.Random(7)
        keys = [rng.randrange(100_000 if args.size == "small" else 1_000_000) for _ in range(5000)]
        features = features[:10]
        if tool == "pitstore-online":
            import pitstore

            store = pitstore.Store(args.store, read_only=True)
            call = lambda rows: store.get_online_features(features, rows).to_dict()  # noqa: E731
        else:
            fs, _ = feast_repo(args, materialize=True)
            call = lambda rows: fs.get_online_features(features, rows).to_dict()  # noqa: E731
        result = {"tool": tool}
        for batch, calls in ((1, 2000 if tool == "pitstore-online" else 300), (500, 100 if tool == "pitstore-online" else 20)):
            times = []
            for i in range(calls):
                rows = [{"user_id": keys[(i * batch + j) % len(keys)]} for j in range(batch)]
                t0 = time.perf_counter()
                call(rows)
                times.append(time.perf_counter() - t0)
            result[f"p50_us_{batch}"] = statistics.median(times[calls // 10:]) * 1e6
        return result
    raise SystemExit(f"unknown tool {tool}")


def feast_repo(args: argparse.Namespace, materialize: bool = False):
    """A Feast repository over the Parquet features (timestamps as Feast wants them), once."""
    import textwrap
    from datetime import timedelta

    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq
    from feast import Entity, FeatureStore, FeatureView, Field, FileSource
    from feast.types import Float64, Int64

    repo = os.path.join(args.data, f"feast_{args.size}")
    source = os.path.join(repo, "user_stats.parquet")
    if not os.path.exists(source):
        os.makedirs(os.path.join(repo, "data"), exist_ok=True)
        t = pq.read_table(os.path.join(args.data, f"{args.size}_user_stats.parquet"))
        for c in ("event_ts", "created_ts"):
            t = t.set_column(t.schema.get_field_index(c), c, pc.cast(t.column(c), pa.timestamp("us", tz="UTC")))
        pq.write_table(t, source)
    with open(os.path.join(repo, "feature_store.yaml"), "w") as f:
        f.write(textwrap.dedent(f"""\
            project: bench
            registry: {repo}/data/registry.db
            provider: local
            online_store: {{type: sqlite, path: {repo}/data/online.db}}
            offline_store: {{type: file}}
            entity_key_serialization_version: 3
            """))
    fs = FeatureStore(repo_path=repo)
    user = Entity(name="user", join_keys=["user_id"])
    fields = [Field(name=f"f{i}", dtype=Float64) for i in range(8)] + [Field(name="c0", dtype=Int64),
                                                                       Field(name="c1", dtype=Int64)]
    fv = FeatureView(name="user_stats", entities=[user], ttl=timedelta(0), schema=fields,
                     source=FileSource(path=source, timestamp_field="event_ts", created_timestamp_column="created_ts"))
    fs.apply([user, fv])
    if materialize and not os.path.exists(os.path.join(repo, "data", "materialized")):
        fs.materialize(datetime(2024, 12, 31, tzinfo=timezone.utc), datetime(2026, 1, 2, tzinfo=timezone.utc))
        open(os.path.join(repo, "data", "materialized"), "w").close()
    return fs, repo


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="small")
    ap.add_argument("--data", default=os.environ.get("BENCH_DATA", "/tmp/pitstore-bench"))
    ap.add_argument("--store", default="")
    ap.add_argument("--cli", default=os.path.join(ROOT, "build", "bin", "pitstore"))
    ap.add_argument("--feast", action="store_true", help="also run Feast (offline and online)")
    ap.add_argument("--feast-timeout", type=float, default=900)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--one", default="")
    args = ap.parse_args()
    args.store = args.store or os.path.join(args.data, f"py_{args.size}.pit")
    if args.one:
        print(json.dumps(one(args)))
        return
    if not os.path.exists(args.store):
        yaml = os.path.join(HERE, "user_stats.yaml")
        subprocess.run([args.cli, "init", args.store], check=True, capture_output=True)
        subprocess.run([args.cli, "apply", args.store, yaml], check=True, capture_output=True)
        subprocess.run([args.cli, "ingest", args.store, "user_stats",
                        os.path.join(args.data, f"{args.size}_user_stats.parquet"), "--progress", "never"], check=True)
        subprocess.run([args.cli, "compact", args.store, "--full"], check=True, capture_output=True)
    tools = ["pitstore-python", "pitstore-cli", "duckdb"]
    results: dict = {t: [] for t in tools}
    for run in range(args.runs):  # interleaved, so load drifts alike for every tool
        for t in tools:
            results[t].append(child(args, t))
    print(f"training set: {args.size} labels, 10 features, {args.runs} interleaved runs (median)")
    for t in tools:
        ok = [r for r in results[t] if "seconds" in r]
        if not ok:
            print(f"  {t:16s} {results[t][0].get('error')}")
            continue
        r = ok[0]
        runs = ", ".join(f"{x['seconds']:.2f}" for x in ok)
        print(f"  {t:16s} {statistics.median(x['seconds'] for x in ok):7.2f} s  "
              f"{max(x['peak_mib'] for x in ok):7.0f} MiB   matches {r['matches']:,}  sum c0 {r['sum_c0']:,}  "
              f"rows {r['rows']:,}   (runs: {runs})")
    if args.feast:
        r = child(args, "feast")
        print(f"  {'feast (file)':16s} " + (f"{r['seconds']:7.2f} s  {r['peak_mib']:7.0f} MiB   matches "
                                            f"{r['matches']:,}  sum c0 {r['sum_c0']:,}" if "seconds" in r
                                            else f"{r['error']} (peak {r['peak_mib']:.0f} MiB)"))
    online = [child(args, "pitstore-online")] + ([child(args, "feast-online")] if args.feast else [])
    print("online lookups from Python (median per call, warm):")
    for r in online:
        if "error" in r:
            print(f"  {r['tool']:16s} {r['error']}")
        else:
            print(f"  {r['tool']:16s} 1 entity {r['p50_us_1']:9.1f} us   500 entities {r['p50_us_500']:9.1f} us")


if __name__ == "__main__":
    main()
