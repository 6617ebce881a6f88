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
from typing import Any, Iterable, Iterator, Optional, Sequence, Union

import pyarrow as pa

from ._shard_build import (SHARD, SYSTEM, TIME_COLUMNS, ShardBuild, ShardJoin, ShardWriter, run_script,
                           script_parser)
from .store import MAX_TIME, TimeLike

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
    from pyspark.sql import functions as F

    with ShardBuild(store_dir, view, df.columns, shards=shards, definitions=definitions, shard_keys=shard_keys,
                    created_timestamp=created_timestamp, batch_rows=batch_rows) as plan:
        # A column Spark typed as void (every value null, e.g. from pandas) carries the feature's type.
        for f in plan.features:
            if f["name"] in df.columns and df.schema[f["name"]].dataType.typeName() == "void":
                df = df.withColumn(f["name"], F.col(f["name"]).cast(_SPARK_TYPES.get(f["type"], "string")))
        if plan.build_time is not None:
            df = df.withColumn(SYSTEM, F.timestamp_micros(F.lit(plan.build_time)))
        tasks = partitions or plan.shards
        rows = (df.withColumn(SHARD, shard_column(plan.shard_key_types(), plan.shards))
                .repartition(tasks, _by_partition(df.sparkSession, plan.shards, tasks))
                .sortWithinPartitions(SHARD, *plan.sort_columns))
        results = rows.mapInArrow(_shard_task(plan.writer, _inject_failure), _RESULT_DDL).collect()
        return plan.commit(r.asDict() for r in results)


_SPARK_TYPES = {"int64": "long", "float64": "double", "string": "string", "bool": "boolean",
                "timestamp": "timestamp", "float32_vector": "array<float>", "float32": "float", "int32": "int",
                "bytes": "binary"}


def _shard_task(writer: ShardWriter, inject_failure: Optional[tuple[int, int]]):
    """The function each build task runs (on an executor): its shards' rows, each shard into a
    file named for this task attempt; returns the shards' manifest entries."""

    def write(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from pyspark import TaskContext

        ctx = TaskContext.get()
        out = []
        seen = 0
        for shard, group in _by_shard(batches):
            def tracked(group: Iterator[pa.RecordBatch] = group) -> Iterator[pa.RecordBatch]:
                nonlocal seen
                for batch in group:
                    seen += batch.num_rows
                    if (inject_failure and ctx.partitionId() == inject_failure[0] and ctx.attemptNumber() == 0
                            and seen >= inject_failure[1]):
                        raise RuntimeError(f"injected failure in partition {ctx.partitionId()} after {seen} rows")
                    yield batch

            out.append(writer.write(shard, f"t{ctx.taskAttemptId()}", tracked()))
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

    plan = ShardJoin.plan(store_dir, labels_df.columns, features, known_at, full_feature_names, label_time_column,
                          _arrow_schema(labels_df.schema))
    spark_schema = from_arrow_schema(plan.schema)
    target = _arrow_schema(spark_schema)

    def join(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for shard, group in _by_shard(batches):
            yield from plan.join(shard, pa.Table.from_batches(list(group)), target).to_batches()

    tasks = partitions or plan.shards
    labels = (labels_df.withColumn(SHARD, shard_column(plan.key_types, plan.shards))
              .repartition(tasks, _by_partition(labels_df.sparkSession, plan.shards, tasks))
              .sortWithinPartitions(SHARD))
    return labels.mapInArrow(join, spark_schema)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """The script form: ``python -m pitstore.spark build|join ...`` (see --help)."""
    parser = script_parser("python -m pitstore.spark", "Spark")
    parser.add_argument("--master", default=None, help="Spark master (default: Spark's, e.g. from spark-submit)")
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

    return run_script("python -m pitstore.spark", args, build, get_historical_features,
                      lambda path: read(path, TIME_COLUMNS),
                      lambda out, path: out.write.mode("overwrite").parquet(path), spark.stop)


if __name__ == "__main__":
    raise SystemExit(main())

__all__ = ["build", "get_historical_features", "shard_column", "main", "MAX_TIME"]
