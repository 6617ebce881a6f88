"""Sharded stores built and joined by Ray Data (Ray 2.60 or later: the version tested).

The same stores, shard rule and manifest as :mod:`pitstore.spark` (format/SHARDS.md), on Ray:
``build`` gives every row its shard (``pmod(xxhash64(keys...), shards)``, Spark's function,
computed by the engine), groups the rows by shard (``groupby(...).map_groups``: Ray hands one
call all the rows of one shard), sorts them by key and times and writes them into a copy of
the shard's file under a name no other attempt uses; the driver then commits the manifest, so
a killed, retried task leaves only files the manifest does not name. ``get_historical_features``
groups the labels by shard and joins each group against its shard, opened read-only.

A ``map_groups`` call holds one shard's new rows in memory (Ray's grouping materializes a
group): size shards so that a build's increment of one shard fits a worker's memory. Spark's
build streams them instead.
"""

from __future__ import annotations

import os
import uuid
from functools import partial
from typing import Any, Optional, Sequence, Union

import pyarrow as pa

from ._shard_build import (SHARD, SYSTEM, TIME_COLUMNS, ShardBuild, ShardJoin, ShardWriter, run_script,
                           script_parser)
from .sharded import shard_column
from .store import TimeLike

# The Arrow type of a column of a feature type, for inputs whose all-null columns have none.
_ARROW_TYPES = {"int64": pa.int64(), "float64": pa.float64(), "string": pa.string(), "bool": pa.bool_(),
                "timestamp": pa.timestamp("us", "UTC"), "float32_vector": pa.list_(pa.float32()),
                "float32": pa.float32(), "int32": pa.int32(), "bytes": pa.binary()}


def _with_shard(batch: pa.Table, keys: Sequence[tuple[str, str]], shards: int) -> pa.Table:
    return batch.append_column(SHARD, shard_column(batch, keys, shards))


def _add_shard(batch: pa.Table, keys: Sequence[tuple[str, str]], shards: int, build_time: Optional[int],
               null_types: dict) -> pa.Table:
    """A row batch's shard column, plus what the build adds to every row: the build's system
    time when the input has none, and the feature's type for all-null columns."""
    for i, field in enumerate(batch.schema):
        if pa.types.is_null(field.type) and field.name in null_types:
            batch = batch.set_column(i, field.name, pa.nulls(batch.num_rows, null_types[field.name]))
    if build_time is not None:
        batch = batch.append_column(SYSTEM, pa.array([build_time] * batch.num_rows, pa.int64())
                                    .cast(pa.timestamp("us", "UTC")))
    return _with_shard(batch, keys, shards)


def _write_shard(group: pa.Table, writer: ShardWriter, sort_columns: Sequence[str],
                 kill_first: Optional[tuple[int, str]]) -> pa.Table:
    """One shard's rows (one ``map_groups`` call) sorted and written into a file of this attempt.
    ``kill_first``: tests' (shard, marker file): the first attempt at that shard dies (os._exit,
    as a killed worker) after its first batch is committed and before its last is read."""
    shard = group.column(SHARD)[0].as_py()
    rows = group.drop_columns([SHARD]).sort_by([(c, "ascending") for c in sort_columns])
    batches = rows.to_batches(max_chunksize=writer.batch_rows)
    if kill_first and kill_first[0] == shard and not os.path.exists(kill_first[1]):
        batches = _dying(batches, kill_first[1], writer.batch_rows)
    entry = writer.write(shard, f"r{uuid.uuid4().hex[:12]}", iter(batches))
    return pa.Table.from_pylist([entry])


def _dying(batches: list, marker: str, batch_rows: int):
    # Ingest parses batch n + 1 while it commits batch n, and hands a parsed batch over only
    # once the committer has taken the one before: once three batches' rows are read (the third
    # handed over, so the second taken), the first is committed.
    rows = 0
    for batch in batches:
        if rows >= 3 * batch_rows:
            break
        rows += batch.num_rows
        yield batch
    open(marker, "w").close()
    os._exit(9)


def build(ds: Any, store_dir: Union[str, os.PathLike], view: str, *, shards: Optional[int] = None,
          definitions: Any = None, shard_keys: Optional[Sequence[str]] = None,
          created_timestamp: Optional[str] = None, batch_rows: int = 1_000_000,
          _kill_first_attempt: Optional[tuple[int, str]] = None) -> dict:
    """Writes the rows of a Ray Dataset into the sharded store at ``store_dir`` (a directory
    every worker and the driver reach) and returns the manifest it committed. The arguments
    mean what they mean to :func:`pitstore.spark.build`: ``shards`` and ``definitions`` for the
    first build, later builds are increments (a shard with new rows gets a copy of its file
    with them appended), ``created_timestamp`` the column of system times (default the view's
    created timestamp column, else one time for the whole build). Time columns are Arrow
    timestamps or integer microseconds."""
    with ShardBuild(store_dir, view, ds.columns(), shards=shards, definitions=definitions, shard_keys=shard_keys,
                    created_timestamp=created_timestamp, batch_rows=batch_rows) as plan:
        null_types = {f["name"]: _ARROW_TYPES[f["type"]] for f in plan.features if f["type"] in _ARROW_TYPES}
        rows = ds.map_batches(partial(_add_shard, keys=plan.shard_key_types(), shards=plan.shards,
                                      build_time=plan.build_time, null_types=null_types), batch_format="pyarrow")
        written = (rows.groupby(SHARD, num_partitions=plan.shards)
                   .map_groups(partial(_write_shard, writer=plan.writer, sort_columns=plan.sort_columns,
                                       kill_first=_kill_first_attempt), batch_format="pyarrow"))
        return plan.commit(written.take_all())


def _join_shard(group: pa.Table, plan: ShardJoin) -> pa.Table:
    return plan.join(group.column(SHARD)[0].as_py(), group.drop_columns([SHARD]))


def get_historical_features(labels: Any, store_dir: Union[str, os.PathLike], features: Sequence[str],
                            known_at: Union[str, TimeLike] = "now", *, full_feature_names: bool = False,
                            label_time_column: Optional[str] = None) -> Any:
    """The point-in-time join of a Ray Dataset of labels with a sharded store: a Ray Dataset of
    the label columns (every label row, duplicates kept; grouped by shard, not in the labels'
    order) and the features as of each label's time, as ``Store.get_historical_features`` gives
    them (``known_at``: ``"now"``, ``"label"`` or a time). Labels move to their shard's task;
    the feature history does not move."""
    # Arrow-typed labels fix the output's types (each shard's answer is cast to them); pandas-typed
    # ones (from_pandas) leave each answer as joined.
    base = getattr(labels.schema(), "base_schema", None)
    plan = ShardJoin.plan(store_dir, labels.columns(), features, known_at, full_feature_names, label_time_column,
                          base if isinstance(base, pa.Schema) else None)
    with_shard = labels.map_batches(partial(_with_shard, keys=list(plan.key_types), shards=plan.shards),
                                    batch_format="pyarrow")
    return with_shard.groupby(SHARD, num_partitions=plan.shards).map_groups(partial(_join_shard, plan=plan),
                                                                             batch_format="pyarrow")


def main(argv: Optional[Sequence[str]] = None) -> int:
    """The script form: ``python -m pitstore.ray build|join ...`` (see --help)."""
    parser = script_parser("python -m pitstore.ray", "Ray Data")
    parser.add_argument("--address", default=None, help="Ray cluster to join (default: RAY_ADDRESS, else a local Ray)")
    args = parser.parse_args(argv)

    import ray
    import pyarrow.compute as pc

    ray.init(address=args.address, logging_level="WARNING", log_to_driver=False)

    def as_timestamps(batch: pa.Table, unit: str) -> pa.Table:
        for c in TIME_COLUMNS:
            if c in batch.column_names and pa.types.is_integer(batch.schema.field(c).type):
                batch = batch.set_column(batch.column_names.index(c), c,
                                         pc.cast(batch.column(c).cast(pa.int64()), pa.timestamp(unit, "UTC")))
        return batch

    def read(path: str) -> Any:
        ds = ray.data.read_parquet(path)
        if args.time_unit:
            ds = ds.map_batches(partial(as_timestamps, unit=args.time_unit), batch_format="pyarrow")
        return ds

    return run_script("python -m pitstore.ray", args, build, get_historical_features, read,
                      lambda out, path: out.write_parquet(path), ray.shutdown)


if __name__ == "__main__":
    raise SystemExit(main())

__all__ = ["build", "get_historical_features", "main"]
