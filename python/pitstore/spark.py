"""Sharded stores built and joined by Spark (PySpark 3.4 or later; ``mapInArrow``).

``build`` shuffles feature rows once, by shard, and has each task stream its sorted rows into
one store per shard under a name no other attempt uses; the driver then commits the manifest
(``sharded.write_manifest``), so a failed, retried or speculative task leaves only files the
manifest does not name. ``get_historical_features`` gives the labels the same shard column and
has each task join its labels against its shard, opened read-only: the feature history is not
shuffled per training set. The shard of a key is Spark's ``pmod(xxhash64(keys...), shards)``,
which the engine computes identically (``sharded.shards_of``).
"""

from __future__ import annotations

import itertools
import os
import time
import uuid
from typing import Any, Iterable, Iterator, Optional, Sequence, Union

import pyarrow as pa
import pyarrow.compute as pc

from . import _pitstore
from .errors import Busy, InvalidArgument
from .sharded import FORMAT, HASH, MANIFEST, manifest_path, read_manifest, shard_stats, write_manifest
from .store import MAX_TIME, Store, TimeLike, _micros

SHARD = "__pitstore_shard"
SYSTEM = "__pitstore_system_ts"

_RESULT_FIELDS = [("shard", pa.int32()), ("path", pa.string()), ("rows", pa.int64()), ("min_event_ts", pa.int64()),
                  ("max_event_ts", pa.int64()), ("min_system_ts", pa.int64()), ("max_system_ts", pa.int64()),
                  ("bytes", pa.int64()), ("checksum", pa.string())]
_RESULT_DDL = ("shard int, path string, rows long, min_event_ts long, max_event_ts long, min_system_ts long, "
               "max_system_ts long, bytes long, checksum string")


def shard_column(keys: Sequence[tuple[str, str]], shards: int) -> Any:
    """The Spark column of a row's shard: ``pmod(xxhash64(k1, ...), shards)``, integer keys as
    longs (Spark hashes an int and a long differently) and string keys as strings."""
    from pyspark.sql import functions as F

    cols = [F.col(name).cast("long" if kind == "int64" else "string") for name, kind in keys]
    return F.pmod(F.xxhash64(*cols), F.lit(shards)).cast("int")


def _arrow_schema(schema: Any) -> pa.Schema:
    """A Spark schema as Arrow's, timestamps as UTC instants (as Spark hands them to Arrow UDFs)."""
    from pyspark.sql.pandas.types import to_arrow_schema

    try:
        return to_arrow_schema(schema, timezone="UTC")
    except TypeError:  # PySpark before 4.0 takes no timezone: UTC is its only choice
        return to_arrow_schema(schema)


def _by_partition(spark: Any, shards: int, partitions: int) -> Any:
    """A column to repartition by so that shard s lands in task s % partitions: each task gets
    whole shards, evenly (hash partitioning by the shard number itself would put several shards
    in one task and none in another). Spark puts a row in pmod(hash(column), partitions); the
    column is, per shard, the first long whose hash lands in that shard's task."""
    from pyspark.sql import functions as F

    first: dict[int, int] = {}
    for r in spark.range(0, 64 * partitions).select("id", F.pmod(F.hash("id"), F.lit(partitions)).alias("p")).collect():
        first.setdefault(r.p, r.id)
    values = [first.get(s % partitions, s) for s in range(shards)]
    return F.element_at(F.array(*[F.lit(v).cast("long") for v in values]), F.col(SHARD) + 1)


def _by_shard(batches: Iterable[pa.RecordBatch]) -> Iterator[tuple[int, Iterator[pa.RecordBatch]]]:
    """Groups a partition's batches, sorted by shard, into (shard, that shard's slices)."""
    def slices() -> Iterator[tuple[int, pa.RecordBatch]]:
        for batch in batches:
            if batch.num_rows == 0:
                continue
            shard = batch.column(SHARD).to_numpy()
            start = 0
            for end in list((shard[1:] != shard[:-1]).nonzero()[0] + 1) + [len(shard)]:
                part = batch.slice(start, end - start)
                yield int(shard[start]), part.drop_columns([SHARD]) if hasattr(part, "drop_columns") else \
                    pa.RecordBatch.from_arrays([part.column(i) for i, f in enumerate(part.schema) if f.name != SHARD],
                                               [f.name for f in part.schema if f.name != SHARD])
                start = end
    for shard, group in itertools.groupby(slices(), key=lambda pair: pair[0]):
        yield shard, (batch for _, batch in group)


def _micros_of(column: pa.Array) -> Optional[pa.Array]:
    if pa.types.is_timestamp(column.type):
        return column.cast(pa.timestamp("us", column.type.tz)).cast(pa.int64())
    if pa.types.is_integer(column.type):
        return column.cast(pa.int64())
    return None


class _Ranges:
    """Rows, and the least and greatest event and system times, of the batches passing by."""

    def __init__(self, event_column: str, system_column: str):
        self.event_column, self.system_column = event_column, system_column
        self.rows = 0
        self.bounds = [None, None, None, None]

    def see(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        self.rows += batch.num_rows
        for i, name in ((0, self.event_column), (2, self.system_column)):
            if name in batch.schema.names:
                micros = _micros_of(batch.column(name))
                if micros is not None and micros.null_count < len(micros):
                    mm = pc.min_max(micros)
                    lo, hi = mm["min"].as_py(), mm["max"].as_py()
                    self.bounds[i] = lo if self.bounds[i] is None else min(self.bounds[i], lo)
                    self.bounds[i + 1] = hi if self.bounds[i + 1] is None else max(self.bounds[i + 1], hi)
        return batch

    def min_max(self) -> list[int]:
        return [b or 0 for b in self.bounds]


def _merge(old: dict, new: dict) -> dict:
    """A shard's manifest entry after an increment: rows add up, time ranges widen."""
    out = dict(new)
    out["rows"] = old["rows"] + new["rows"]
    if old["rows"]:
        for k, pick in (("min_event_ts", min), ("max_event_ts", max), ("min_system_ts", min), ("max_system_ts", max)):
            out[k] = pick(old[k], new[k]) if new["rows"] else old[k]
    return out


def build(df: Any, store_dir: Union[str, os.PathLike], view: str, *, shards: Optional[int] = None,
          definitions: Any = None, shard_keys: Optional[Sequence[str]] = None,
          created_timestamp: Optional[str] = None, partitions: Optional[int] = None, batch_rows: int = 1_000_000,
          _inject_failure: Optional[tuple[int, int]] = None) -> dict:
    """Writes the rows of a Spark DataFrame into the sharded store at ``store_dir`` (a directory
    every executor and the driver reach) and returns the manifest it committed.

    The first build needs ``shards`` and ``definitions`` (anything ``Store.apply`` takes: YAML
    text or path, or definition objects). Later builds are increments: each shard that receives
    rows gets a copy of its current file with the new rows appended as new batches (shards
    without new rows keep their file), and the new manifest replaces the old one atomically.
    ``shard_keys``: join keys of the view to shard by (default: all of its join keys; fixed by
    the first build). ``created_timestamp``: the column of the rows' system times; default the
    view's created timestamp column if the DataFrame has it, else one time for the whole build
    (the driver's clock at its start), so every shard and every retry writes the same rows.
    ``partitions``: Spark tasks (default: one per shard).
    """
    root = os.path.abspath(os.fspath(store_dir))
    os.makedirs(os.path.join(root, "shards"), exist_ok=True)
    lock = _BuildLock(root)  # one build of a directory at a time: two would both start from one manifest
    template = ""
    try:
        previous = read_manifest(root) if os.path.exists(os.path.join(root, MANIFEST)) else None
        if previous is not None:
            if shards is not None and shards != len(previous["shards"]):
                raise InvalidArgument(f"{root}: the store has {len(previous['shards'])} shards, not {shards} "
                                      "(resharding means building a new store)")
            shards = len(previous["shards"])
            if shard_keys is not None and list(shard_keys) != previous["shard_keys"]:
                raise InvalidArgument(f"{root}: the store is sharded by {previous['shard_keys']}, "
                                      f"not {list(shard_keys)}")
            shard_keys = previous["shard_keys"]
        elif shards is None or shards < 1 or definitions is None:
            raise InvalidArgument("the first build of a sharded store needs shards (at least 1) and definitions")
        generation = (previous["generation"] + 1) if previous else 1
        build_id = uuid.uuid4().hex[:12]

        # The driver checks the definitions and the view before any task runs. A first build's
        # definitions go into a template store in the shared directory: every shard starts as a
        # copy of it (tasks need no definitions file of their own).
        if previous:
            with Store(os.path.join(root, previous["shards"][0]["path"]), read_only=True) as probe:
                described = probe.describe()
        else:
            template = os.path.join(root, "shards", f".template-{build_id}.pit")
            with Store(template) as probe:
                probe.apply(definitions)
                described = probe.describe()
        views = {v["name"]: v for v in described["feature_views"]}
        if view not in views:
            raise InvalidArgument(f"no feature view '{view}' in the store's definitions")
        v = views[view]
        key_types = {name: kind for e in described["entities"] for (name, kind) in e["join_keys"]}
        view_keys = [k for e in v["entities"] for e_def in described["entities"] if e_def["name"] == e
                     for (k, _) in e_def["join_keys"]]
        shard_keys = list(shard_keys or view_keys)
        for k in shard_keys:
            if k not in view_keys:
                raise InvalidArgument(f"view '{view}' has no join key '{k}' (shard keys: {shard_keys})")
            if k not in df.columns:
                raise InvalidArgument(f"the DataFrame has no column '{k}' (a shard key)")
        event_column = v["event_timestamp"] or "event_ts"
        if event_column not in df.columns:
            raise InvalidArgument(f"the DataFrame has no column '{event_column}' (the event timestamp of '{view}')")

        from pyspark.sql import functions as F

        # A column Spark typed as void (every value null, e.g. from pandas) carries the feature's type.
        spark_types = {"int64": "long", "float64": "double", "string": "string", "bool": "boolean",
                       "timestamp": "timestamp", "float32_vector": "array<float>", "float32": "float",
                       "int32": "int", "bytes": "binary"}
        for f in v["features"]:
            if f["name"] in df.columns and df.schema[f["name"]].dataType.typeName() == "void":
                df = df.withColumn(f["name"], F.col(f["name"]).cast(spark_types.get(f["type"], "string")))
        system_column = created_timestamp or (v["created_timestamp"] if v["created_timestamp"] in df.columns else "")
        if not system_column:
            build_time = int(time.time() * 1_000_000)
            df = df.withColumn(SYSTEM, F.timestamp_micros(F.lit(build_time)))
            system_column = SYSTEM
        sort = [SHARD] + view_keys + [event_column, system_column]
        tasks = partitions or shards
        rows = (df.withColumn(SHARD, shard_column([(k, key_types[k]) for k in shard_keys], shards))
                .repartition(tasks, _by_partition(df.sparkSession, shards, tasks)).sortWithinPartitions(*sort))

        starts = [e["path"] for e in previous["shards"]] if previous else [template] * shards
        write = _shard_writer(root, view, starts, generation, build_id, event_column, system_column, batch_rows,
                              _inject_failure)
        results = rows.mapInArrow(write, _RESULT_DDL).collect()

        entries: list[Optional[dict]] = list(previous["shards"]) if previous else [None] * shards
        written = set()
        for r in results:
            if r.shard in written:  # one partition holds all of a shard's rows; twice is a bug
                raise RuntimeError(f"shard {r.shard} was written by two tasks")
            written.add(r.shard)
            entry = {"shard": r.shard, "path": r.path, "rows": r.rows, "bytes": r.bytes, "checksum": r.checksum,
                     "min_event_ts": r.min_event_ts, "max_event_ts": r.max_event_ts,
                     "min_system_ts": r.min_system_ts, "max_system_ts": r.max_system_ts}
            entries[r.shard] = _merge(previous["shards"][r.shard], entry) if previous else entry
        for s in range(shards):
            if entries[s] is None:  # a first build's shard that no row hashed to: an empty store
                path = f"shards/{s:05d}/g{generation:06d}-{build_id}-empty.pit"
                os.makedirs(os.path.dirname(os.path.join(root, path)), exist_ok=True)
                with Store(template, read_only=True) as t:
                    t.copy(os.path.join(root, path))
                entries[s] = {"shard": s, "path": path, **shard_stats(os.path.join(root, path), 0, [0, 0, 0, 0])}
        manifest = {"format": FORMAT, "version": 1, "hash": HASH, "generation": generation, "build": build_id,
                    "shard_keys": shard_keys, "shards": entries}
        current = read_manifest(root) if os.path.exists(os.path.join(root, MANIFEST)) else None
        if (current or {}).get("build") != (previous or {}).get("build"):  # the lock was not honoured (another host)
            raise Busy(f"{root}: the manifest changed during this build (generation "
                       f"{(current or {}).get('generation')}); nothing was committed, build again")
        write_manifest(root, manifest)
        return manifest
    finally:
        if template:
            for leftover in (template, template + "-index", template + "-index-lock"):
                if os.path.exists(leftover):
                    os.remove(leftover)
        lock.release()


class _BuildLock:
    """An exclusive flock on DIR/.build-lock, refused at once (Busy) while another build holds it."""

    def __init__(self, root: str):
        import fcntl

        self._fd = os.open(os.path.join(root, ".build-lock"), os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self._fd)
            raise Busy(f"{root}: another build of this sharded store is running") from None

    def release(self) -> None:
        os.close(self._fd)  # closing the descriptor releases the lock


def _shard_writer(root: str, view: str, starts: list[str], generation: int, build_id: str, event_column: str,
                  system_column: str, batch_rows: int, inject_failure: Optional[tuple[int, int]]):
    """The function each build task runs (on an executor): its shards' rows into new files, each
    a copy of the shard's start (its current file, or the first build's template) with the rows
    appended; returns per shard the manifest entry's facts, checksum included."""

    def write(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from pyspark import TaskContext

        ctx = TaskContext.get()
        out = []
        seen = 0
        for shard, group in _by_shard(batches):
            path = f"shards/{shard:05d}/g{generation:06d}-{build_id}-t{ctx.taskAttemptId()}.pit"
            full = os.path.join(root, path)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with Store(os.path.join(root, starts[shard]), read_only=True) as start:
                start.copy(full)
            ranges = _Ranges(event_column, system_column)

            def tracked(group: Iterator[pa.RecordBatch] = group) -> Iterator[pa.RecordBatch]:
                nonlocal seen
                for batch in group:
                    seen += batch.num_rows
                    if (inject_failure and ctx.partitionId() == inject_failure[0] and ctx.attemptNumber() == 0
                            and seen >= inject_failure[1]):
                        raise RuntimeError(f"injected failure in partition {ctx.partitionId()} after {seen} rows")
                    yield ranges.see(batch)

            first = next(group)
            stream = pa.RecordBatchReader.from_batches(first.schema, tracked(itertools.chain([first], group)))
            with Store(full) as store:
                store.ingest(view, stream, batch_rows=batch_rows, created_timestamp=system_column,
                             ignore_extra_columns=False)
                store.compact()
            out.append({"shard": shard, "path": path, "rows": ranges.rows,
                        **dict(zip(["min_event_ts", "max_event_ts", "min_system_ts", "max_system_ts"],
                                   ranges.min_max())),
                        "bytes": os.path.getsize(full), "checksum": _pitstore.file_checksum(full)})
        yield pa.RecordBatch.from_pylist(out, schema=pa.schema(_RESULT_FIELDS))

    return write


def get_historical_features(labels_df: Any, store_dir: Union[str, os.PathLike], features: Sequence[str],
                            known_at: Union[str, TimeLike] = "now", *, full_feature_names: bool = False,
                            label_time_column: Optional[str] = None, partitions: Optional[int] = None) -> Any:
    """The point-in-time join of a Spark DataFrame of labels with a sharded store: a Spark
    DataFrame of the label columns (every label row, duplicates kept) and the features as of
    each label's time (``Store.get_historical_features``; ``known_at``: ``"now"``, ``"label"``
    or a time). Labels are shuffled to their shards' tasks; the feature history is not moved."""
    from pyspark.sql.pandas.types import from_arrow_schema

    file = os.path.abspath(manifest_path(store_dir))
    root = os.path.dirname(file)
    manifest = read_manifest(file)
    paths = [os.path.join(root, e["path"]) for e in manifest["shards"]]
    shards = len(paths)
    if not isinstance(known_at, str) or known_at not in ("now", "label"):
        known_at = _micros(known_at, "known_at")  # the same time in every task
    options = {"known_at": known_at, "full_feature_names": full_feature_names,
               "label_time_column": label_time_column}

    with Store(paths[0], read_only=True) as first:
        key_types = {name: kind for e in first.describe()["entities"] for (name, kind) in e["join_keys"]}
        label_schema = _arrow_schema(labels_df.schema)
        # The output's schema: the join of no labels.
        out_schema = first.get_historical_features(label_schema.empty_table(), list(features),
                                                   **options).to_arrow().schema
    for k in manifest["shard_keys"]:
        if k not in labels_df.columns:
            raise InvalidArgument(f"the labels have no column '{k}' (a shard key of {root})")
    spark_schema = from_arrow_schema(out_schema)
    target = _arrow_schema(spark_schema)
    feature_list = list(features)

    def join(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for shard, group in _by_shard(batches):
            labels = pa.Table.from_batches(list(group))
            with Store(paths[shard], read_only=True) as store:
                joined = store.get_historical_features(labels, feature_list, **options).to_arrow()
            yield from joined.cast(target).to_batches()

    tasks = partitions or shards
    labels = (labels_df.withColumn(SHARD, shard_column([(k, key_types[k]) for k in manifest["shard_keys"]], shards))
              .repartition(tasks, _by_partition(labels_df.sparkSession, shards, tasks)).sortWithinPartitions(SHARD))
    return labels.mapInArrow(join, spark_schema)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """The script form: ``python -m pitstore.spark build|join ...`` (see --help)."""
    import argparse
    import json
    import sys

    parser = argparse.ArgumentParser(prog="python -m pitstore.spark",
                                     description="Build or join a sharded pitstore store with Spark.")
    parser.add_argument("--master", default=None, help="Spark master (default: Spark's, e.g. from spark-submit)")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="rows (Parquet) -> a sharded store; prints the manifest")
    b.add_argument("rows", help="Parquet file or directory of feature rows")
    b.add_argument("store", help="the sharded store's directory")
    b.add_argument("view")
    b.add_argument("--shards", type=int, help="shard count (first build)")
    b.add_argument("--definitions", help="YAML definitions file (first build)")
    b.add_argument("--time-unit", default="", choices=["", "s", "ms", "us"],
                   help="integer time columns count this unit (default: times are Spark timestamps)")
    j = sub.add_parser("join", help="labels (Parquet) -> training set (Parquet)")
    j.add_argument("labels")
    j.add_argument("store")
    j.add_argument("output", help="Parquet directory to write")
    j.add_argument("--features", required=True, help="comma-separated view:feature list")
    j.add_argument("--known-at", default="now", help='"now", "label", or a time (RFC 3339)')
    j.add_argument("--time-unit", default="", choices=["", "s", "ms", "us"])
    args = parser.parse_args(argv)

    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F

    builder = SparkSession.builder.appName(f"pitstore {args.command}")
    if args.master:
        builder = builder.master(args.master)
    spark = builder.getOrCreate()

    def read(path: str, time_columns: Sequence[str]) -> Any:
        df = spark.read.parquet(path)
        convert = {"s": F.timestamp_seconds, "ms": F.timestamp_millis, "us": F.timestamp_micros}.get(args.time_unit)
        for c in time_columns:
            if convert and c in df.columns:
                df = df.withColumn(c, convert(c))
        return df

    try:
        if args.command == "build":
            names = ["event_ts", "event_timestamp", "created_ts", "created", "created_timestamp"]
            manifest = build(read(args.rows, names), args.store, args.view, shards=args.shards,
                             definitions=args.definitions)
            print(json.dumps({k: manifest[k] for k in ("generation", "build", "shard_keys")} |
                             {"shards": len(manifest["shards"]), "rows": sum(e["rows"] for e in manifest["shards"])}))
        else:
            out = get_historical_features(read(args.labels, ["event_ts", "event_timestamp"]), args.store,
                                          args.features.split(","), args.known_at)
            out.write.mode("overwrite").parquet(args.output)
    except Exception as e:  # noqa: BLE001 - a script: one line to stderr, not a traceback
        print(f"python -m pitstore.spark {args.command}: {e}", file=sys.stderr)
        return 1
    finally:
        spark.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

__all__ = ["build", "get_historical_features", "shard_column", "main", "MAX_TIME"]
