"""Sharded stores on Spark's local mode (and Ray's) beside one store and beside Spark's own as-of join, on the
shared benchmark data (../shared/bench/data.sh SIZE), in one run:

  1. build: SIZE_user_stats.parquet -> pitstore.spark.build (SHARDS shards, one task each);
     beside it, one store: pitstore ingest of the same Parquet file (the CLI, one process);
  2. join: SIZE_labels.parquet with all 10 features, known at "now":
     pitstore.spark.get_historical_features; one store (Store.get_historical_features, in a
     process of its own); Spark 4's SortMergeAsOfJoin (SQL LEFT ASOF JOIN, the same data read
     from Parquet by Spark);
  3. the same build and join with Ray Data (pitstore.ray) on a local Ray, where Ray is installed;
  each prints seconds, the peak memory of its process tree (the sum of resident memory of the
  driver, the JVM and the Python workers, sampled every 50 ms) and a checksum of the output
  (rows, non-null f0, sum of f0 and c0), which must agree.

  PYTHONPATH=build/python .venv/bin/python bench/spark_shards.py SIZE SHARDS [THREADS]
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time

DATA = os.environ.get("BENCH_DATA", "/tmp/pitstore-bench")
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CLI = os.environ.get("PITSTORE_CLI", os.path.join(ROOT, "build", "bin", "pitstore"))
FEATURES = [f"user_stats:{f}" for f in ["f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7", "c0", "c1"]]


class PeakMemory:
    """The greatest sum of VmRSS over a process and its descendants, sampled in a thread."""

    def __init__(self, pid: int):
        self.pid, self.peak, self._stop = pid, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _tree_rss(self) -> int:
        children: dict[int, list[int]] = {}
        rss: dict[int, int] = {}
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open(f"/proc/{d}/status") as f:
                    fields = dict(line.split(":", 1) for line in f if ":" in line)
                children.setdefault(int(fields["PPid"]), []).append(int(d))
                rss[int(d)] = int(fields.get("VmRSS", "0 kB").split()[0])
            except (OSError, KeyError, ValueError):
                pass
        total, stack = 0, [self.pid]
        while stack:
            p = stack.pop()
            total += rss.get(p, 0)
            stack.extend(children.get(p, []))
        return total * 1024

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._tree_rss())
            time.sleep(0.05)

    def __enter__(self) -> "PeakMemory":
        self.peak = 0
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def report(what: str, seconds: float, peak: int, checksum=None, **extra) -> None:
    print(json.dumps({"what": what, "seconds": round(seconds, 2), "peak_gib": round(peak / 2**30, 2),
                      **({"checksum": checksum} if checksum is not None else {}), **extra}), flush=True)


def spark_checksum(df) -> list:
    from pyspark.sql import functions as F
    r = df.agg(F.count(F.lit(1)), F.count("f0"), F.sum("f0"), F.sum("c0")).collect()[0]
    return [r[0], r[1], round(r[2] or 0.0, 3), r[3]]


def single_join(size: str, store: str) -> None:
    """In its own process: one store's join of the labels, and the output's checksum."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    import pitstore

    labels = pq.read_table(f"{DATA}/{size}_labels.parquet")
    labels = labels.set_column(1, "event_ts", labels.column("event_ts").cast(pa.timestamp("us", tz="UTC")))
    with pitstore.Store(store, read_only=True) as s:
        t = time.perf_counter()
        out = s.get_historical_features(labels, FEATURES).to_arrow()
        seconds = time.perf_counter() - t
    checksum = [out.num_rows, out.num_rows - out.column("f0").null_count, round(pc.sum(out.column("f0")).as_py(), 3),
                pc.sum(out.column("c0")).as_py()]
    print(json.dumps({"seconds": seconds, "checksum": checksum}))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--single-join":
        single_join(sys.argv[2], sys.argv[3])
        return
    size, shards = sys.argv[1], int(sys.argv[2])
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F

    from pitstore import spark as pitspark

    work = os.path.join(DATA, f"spark_{size}")
    single = os.path.join(work, "single.pit")
    reuse = os.environ.get("REUSE_SINGLE") == "1" and os.path.exists(single)  # skip rebuilding one store
    if not reuse:
        shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(os.path.join(work, "sharded"), ignore_errors=True)
    os.makedirs(work, exist_ok=True)
    me = os.getpid()

    # One store, by the CLI: ingest, then the join in a process of its own.
    if not reuse:
        with PeakMemory(me) as m:
            t = time.perf_counter()
            subprocess.run([CLI, "init", single], check=True, capture_output=True)
            subprocess.run([CLI, "apply", single, os.path.join(HERE, "user_stats.yaml")], check=True,
                           capture_output=True)
            subprocess.run([CLI, "ingest", single, "user_stats", f"{DATA}/{size}_user_stats.parquet", "--epoch-unit",
                            "us"], check=True, capture_output=True)
            seconds = time.perf_counter() - t
        report("build: one store (pitstore ingest)", seconds, m.peak, bytes=os.path.getsize(single))
    with PeakMemory(me) as m:
        out = subprocess.run([sys.executable, __file__, "--single-join", size, single], check=True,
                             capture_output=True, text=True)
    r = json.loads(out.stdout)
    report("join: one store (Store.get_historical_features)", r["seconds"], m.peak, r["checksum"])

    spark = (SparkSession.builder.master(f"local[{threads}]").appName("pitstore-bench")
             .config("spark.ui.enabled", "false").config("spark.sql.session.timeZone", "UTC")
             .config("spark.driver.memory", "12g").config("spark.sql.join.asofJoin.enabled", "true")
             .config("spark.sql.shuffle.partitions", str(shards)).getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")

    def features():
        return (spark.read.parquet(f"{DATA}/{size}_user_stats.parquet")
                .withColumn("event_ts", F.timestamp_micros("event_ts"))
                .withColumn("created_ts", F.timestamp_micros("created_ts")))

    def labels():
        return spark.read.parquet(f"{DATA}/{size}_labels.parquet").withColumn("event_ts", F.timestamp_micros("event_ts"))

    sharded = os.path.join(work, "sharded")
    with PeakMemory(me) as m:
        t = time.perf_counter()
        manifest = pitspark.build(features(), sharded, "user_stats", shards=shards,
                                  definitions=os.path.join(HERE, "user_stats.yaml"))
        seconds = time.perf_counter() - t
    report(f"build: {shards} shards (pitstore.spark.build, local[{threads}])", seconds, m.peak,
           rows=sum(e["rows"] for e in manifest["shards"]), bytes=sum(e["bytes"] for e in manifest["shards"]))

    with PeakMemory(me) as m:
        t = time.perf_counter()
        checksum = spark_checksum(pitspark.get_historical_features(labels(), sharded, FEATURES, "now"))
        seconds = time.perf_counter() - t
    report(f"join: {shards} shards (pitstore.spark.get_historical_features)", seconds, m.peak, checksum)

    features().createOrReplaceTempView("f")
    labels().createOrReplaceTempView("l")
    columns = ", ".join(f"f.{c.split(':')[1]}" for c in FEATURES)
    asof = spark.sql(f"SELECT l.*, {columns} FROM l LEFT ASOF JOIN f MATCH_CONDITION(l.event_ts >= f.event_ts) "
                     "ON l.user_id = f.user_id")
    with PeakMemory(me) as m:
        t = time.perf_counter()
        checksum = spark_checksum(asof)
        seconds = time.perf_counter() - t
    report(f"join: Spark {spark.version} LEFT ASOF JOIN (SortMergeAsOfJoin, from Parquet, local[{threads}])",
           seconds, m.peak, checksum)
    spark.stop()
    ray_build_and_join(size, shards, threads, work)


def ray_build_and_join(size: str, shards: int, threads: int, work: str) -> None:
    """The same build and join with Ray Data (pitstore.ray) on a local Ray of THREADS CPUs, with
    Ray's default shuffle strategy (RAY_SHUFFLE=sort: sort-based)."""
    try:
        import ray
    except ImportError:
        print(json.dumps({"what": "Ray", "skipped": "ray is not installed (pip install 'ray[data]')"}))
        return
    import logging

    import pyarrow as pa

    from pitstore import ray as pitray

    ray.init(num_cpus=threads, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    if os.environ.get("RAY_SHUFFLE") == "sort":
        from ray.data.context import ShuffleStrategy
        ctx.shuffle_strategy = ShuffleStrategy.SORT_SHUFFLE_PULL_BASED
    strategy = str(ctx.shuffle_strategy).split(".")[-1]
    me = os.getpid()
    sharded = os.path.join(work, "sharded_ray")
    shutil.rmtree(sharded, ignore_errors=True)
    with PeakMemory(me) as m:
        t = time.perf_counter()
        # Integer microsecond times go in as they are (the engine reads integers as microseconds).
        manifest = pitray.build(ray.data.read_parquet(f"{DATA}/{size}_user_stats.parquet"), sharded, "user_stats",
                                shards=shards, definitions=os.path.join(HERE, "user_stats.yaml"))
        seconds = time.perf_counter() - t
    report(f"build: {shards} shards (pitstore.ray.build, Ray {ray.__version__}, {threads} CPUs, {strategy})",
           seconds, m.peak, rows=sum(e["rows"] for e in manifest["shards"]),
           bytes=sum(e["bytes"] for e in manifest["shards"]))

    def as_timestamps(batch: pa.Table) -> pa.Table:
        i = batch.column_names.index("event_ts")
        return batch.set_column(i, "event_ts", batch.column(i).cast(pa.int64()).cast(pa.timestamp("us", "UTC")))

    with PeakMemory(me) as m:
        t = time.perf_counter()
        labels = ray.data.read_parquet(f"{DATA}/{size}_labels.parquet").map_batches(as_timestamps,
                                                                                  batch_format="pyarrow")
        out = pitray.get_historical_features(labels, sharded, FEATURES, "now").materialize()
        seconds = time.perf_counter() - t
        f0 = [ray.get(r).column("f0") for r in out.to_arrow_refs()]
    checksum = [out.count(), sum(len(c) - c.null_count for c in f0), round(out.sum("f0") or 0.0, 3), out.sum("c0")]
    report(f"join: {shards} shards (pitstore.ray.get_historical_features, {strategy})", seconds, m.peak, checksum)
    ray.shutdown()


if __name__ == "__main__":
    main()
