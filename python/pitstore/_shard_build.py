"""What every engine's build and join of a sharded store share (Spark's, Ray's).

A build has three parts. The driver plans (:class:`ShardBuild`): it takes the directory's build
lock, reads the current manifest, checks the view and keys, and for a first build applies the
definitions to a template store every shard starts from. Tasks write (:class:`ShardWriter`):
each shard's rows, sorted by key and time, go into a copy of the shard's current file under a
name no other attempt uses. The driver commits (:meth:`ShardBuild.commit`): the manifest naming
the files of the attempts that succeeded replaces the old one atomically. A join
(:class:`ShardJoin`) has each task join its labels against its shard, opened read-only.
The planners and task functions are plain data, so they pickle to executors and Ray workers.
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Mapping, Optional, Sequence, Union

import pyarrow as pa
import pyarrow.compute as pc

from .errors import Busy, InvalidArgument
from .sharded import (FORMAT, HASH, MANIFEST, DirectoryLock, fsync_path, key_types, manifest_path,
                      read_manifest, shard_stats, write_manifest)
from .store import Store, TimeLike, _micros

SHARD = "__pitstore_shard"
SYSTEM = "__pitstore_system_ts"


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
        self.bounds: list[Optional[int]] = [None, None, None, None]

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


@dataclass(frozen=True)
class ShardWriter:
    """What a build task needs to write a shard (pickled to executors): the shards' start files,
    the build's names and the view's time columns."""

    root: str
    view: str
    starts: tuple[str, ...]
    generation: int
    build_id: str
    event_column: str
    system_column: str
    batch_rows: int

    def write(self, shard: int, attempt: str, batches: Iterator[pa.RecordBatch]) -> dict:
        """Copies the shard's start to a file named for this build and ``attempt`` (unique per
        task attempt), appends ``batches`` (sorted by key and times), compacts, and returns the
        shard's manifest entry, checksum included (computed here, beside the file)."""
        path = f"shards/{shard:05d}/g{self.generation:06d}-{self.build_id}-{attempt}.pit"
        full = os.path.join(self.root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        _copy_store(os.path.join(self.root, self.starts[shard]), full)
        ranges = _Ranges(self.event_column, self.system_column)
        batches = iter(batches)
        first = next(batches, None)
        if first is not None:
            def seen() -> Iterator[pa.RecordBatch]:
                yield ranges.see(first)
                for batch in batches:
                    yield ranges.see(batch)

            stream = pa.RecordBatchReader.from_batches(first.schema, seen())
            with Store(full) as store:
                store.ingest(self.view, stream, batch_rows=self.batch_rows, created_timestamp=self.system_column,
                             ignore_extra_columns=False)
                store.compact()
        fsync_path(full, directory=True)  # named by the manifest next: on disk before it
        fsync_path(os.path.dirname(os.path.dirname(full)))  # shards/: a first build's new directory
        return {"shard": shard, "path": path, **shard_stats(full, ranges.rows, ranges.min_max())}


def _copy_store(source: str, dest: str) -> None:
    """A committed, unchanging store's data file and index, copied byte for byte (in the kernel):
    an increment then appends to the copy without rewriting what the shard held (Store.copy
    would merge and re-encode every row)."""
    import fcntl
    import shutil

    # A shared lock on the data file, as readers hold: refused while a writer has the store
    # open (it may change the index under the copy).
    fd = os.open(source, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            raise Busy(f"{source}: a writer has this shard open; a committed shard must not change") from None
        shutil.copyfile(source, dest)
        if os.path.exists(source + "-index"):  # else the copy rebuilds its index when opened
            shutil.copyfile(source + "-index", dest + "-index")
            fsync_path(dest + "-index")
    finally:
        os.close(fd)



class ShardBuild:
    """The driver's side of one build of the sharded store at ``store_dir``: holds the build lock
    from construction to :meth:`close` (a context manager), checks the view against
    ``columns`` (the input's column names), and commits the manifest.

    The first build needs ``shards`` and ``definitions``; later builds are increments that keep
    the shard count and keys. ``system_column`` is the input column of system times (the
    ``created_timestamp`` argument, else the view's created timestamp column if the input has
    it); when there is none, tasks must add :data:`SYSTEM` holding ``build_time`` (one time for
    the whole build, so every shard and every retry writes the same rows).
    """

    def __init__(self, store_dir: Union[str, os.PathLike], view: str, columns: Sequence[str], *,
                 shards: Optional[int], definitions: Any, shard_keys: Optional[Sequence[str]],
                 created_timestamp: Optional[str], batch_rows: int):
        self.root = os.path.abspath(os.fspath(store_dir))
        os.makedirs(os.path.join(self.root, "shards"), exist_ok=True)
        self.template = ""
        self._lock = DirectoryLock(self.root)  # one build of a directory at a time: two would both start from one manifest
        try:
            self._plan(view, list(columns), shards, definitions, shard_keys, created_timestamp, batch_rows)
        except BaseException:
            self.close()
            raise

    def _plan(self, view: str, columns: list[str], shards: Optional[int], definitions: Any,
              shard_keys: Optional[Sequence[str]], created_timestamp: Optional[str], batch_rows: int) -> None:
        root = self.root
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
        self.previous = previous
        self.shards = shards
        self.generation = (previous["generation"] + 1) if previous else 1
        self.build_id = uuid.uuid4().hex[:12]

        # The driver checks the definitions and the view before any task runs. A first build's
        # definitions go into a template store in the shared directory: every shard starts as a
        # copy of it (tasks need no definitions file of their own).
        if previous:
            with Store(os.path.join(root, previous["shards"][0]["path"]), read_only=True) as probe:
                described = probe.describe()
        else:
            self.template = os.path.join(root, "shards", f".template-{self.build_id}.pit")
            with Store(self.template) as probe:
                probe.apply(definitions)
                described = probe.describe()
        views = {v["name"]: v for v in described["feature_views"]}
        if view not in views:
            raise InvalidArgument(f"no feature view '{view}' in the store's definitions")
        v = views[view]
        self.features: list[dict] = v["features"]
        self.key_types = key_types(described)
        self.view_keys = [k for e in v["entities"] for e_def in described["entities"] if e_def["name"] == e
                          for (k, _) in e_def["join_keys"]]
        self.shard_keys = list(shard_keys or self.view_keys)
        for k in self.shard_keys:
            if k not in self.view_keys:
                raise InvalidArgument(f"view '{view}' has no join key '{k}' (shard keys: {self.shard_keys})")
            if k not in columns:
                raise InvalidArgument(f"the input has no column '{k}' (a shard key)")
        self.event_column = v["event_timestamp"] or "event_ts"
        if self.event_column not in columns:
            raise InvalidArgument(f"the input has no column '{self.event_column}' (the event timestamp of '{view}')")
        self.system_column = created_timestamp or (v["created_timestamp"] if v["created_timestamp"] in columns else "")
        self.build_time: Optional[int] = None
        if not self.system_column:
            self.build_time = int(time.time() * 1_000_000)
            self.system_column = SYSTEM
        self.sort_columns = self.view_keys + [self.event_column, self.system_column]
        starts = [e["path"] for e in previous["shards"]] if previous else [self.template] * shards
        self.writer = ShardWriter(root, view, tuple(starts), self.generation, self.build_id, self.event_column,
                                  self.system_column, batch_rows)

    def shard_key_types(self) -> list[tuple[str, str]]:
        return [(k, self.key_types[k]) for k in self.shard_keys]

    def commit(self, results: Iterable[Mapping[str, Any]]) -> dict:
        """Commits the manifest naming the files in ``results`` (one entry per shard written, as
        :meth:`ShardWriter.write` returns them); shards without rows keep their file, or on a
        first build get an empty store. Returns the manifest."""
        previous, shards, root = self.previous, self.shards, self.root
        entries: list[Optional[dict]] = list(previous["shards"]) if previous else [None] * shards
        written = set()
        for r in results:
            entry = dict(r)
            if entry["shard"] in written:  # one task holds all of a shard's rows; twice is a bug
                raise RuntimeError(f"shard {entry['shard']} was written by two tasks")
            written.add(entry["shard"])
            entries[entry["shard"]] = _merge(previous["shards"][entry["shard"]], entry) if previous else entry
        for s in range(shards):
            if entries[s] is None:  # a first build's shard that no row hashed to: an empty store
                path = f"shards/{s:05d}/g{self.generation:06d}-{self.build_id}-empty.pit"
                os.makedirs(os.path.dirname(os.path.join(root, path)), exist_ok=True)
                with Store(self.template, read_only=True) as t:
                    t.copy(os.path.join(root, path))
                entries[s] = {"shard": s, "path": path, **shard_stats(os.path.join(root, path), 0, [0, 0, 0, 0])}
        manifest = {"format": FORMAT, "version": 1, "hash": HASH, "generation": self.generation,
                    "build": self.build_id, "shard_keys": self.shard_keys, "shards": entries}
        current = read_manifest(root) if os.path.exists(os.path.join(root, MANIFEST)) else None
        if (current or {}).get("build") != (previous or {}).get("build"):  # the lock was not honoured (another host)
            raise Busy(f"{root}: the manifest changed during this build (generation "
                       f"{(current or {}).get('generation')}); nothing was committed, build again")
        write_manifest(root, manifest)
        return manifest

    def close(self) -> None:
        if self.template:
            for leftover in (self.template, self.template + "-index", self.template + "-index-lock"):
                if os.path.exists(leftover):
                    os.remove(leftover)
        self._lock.release()

    def __enter__(self) -> "ShardBuild":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


@dataclass(frozen=True)
class ShardJoin:
    """A point-in-time join against a sharded store, task by task (pickled to executors): each
    task joins the labels of one shard against that shard, opened read-only."""

    root: str
    paths: tuple[str, ...]
    shard_keys: tuple[str, ...]
    key_types: tuple[tuple[str, str], ...]
    features: tuple[str, ...]
    options: tuple[tuple[str, Any], ...]
    schema: Optional[pa.Schema]  # the joined rows' schema, if the labels' was known

    @staticmethod
    def plan(store_dir: Union[str, os.PathLike], label_columns: Sequence[str], features: Sequence[str],
             known_at: Union[str, TimeLike], full_feature_names: bool, label_time_column: Optional[str],
             label_schema: Optional[pa.Schema] = None) -> "ShardJoin":
        """Reads the manifest, checks the labels' columns and, given the labels' schema, finds
        the output's (the join of no labels): every task's output is cast to it."""
        file = os.path.abspath(manifest_path(store_dir))
        root = os.path.dirname(file)
        manifest = read_manifest(file)
        paths = tuple(os.path.join(root, e["path"]) for e in manifest["shards"])
        if not isinstance(known_at, str) or known_at not in ("now", "label"):
            known_at = _micros(known_at, "known_at")  # the same time in every task
        options = {"known_at": known_at, "full_feature_names": full_feature_names,
                   "label_time_column": label_time_column}
        for k in manifest["shard_keys"]:
            if k not in label_columns:
                raise InvalidArgument(f"the labels have no column '{k}' (a shard key of {root})")
        with Store(paths[0], read_only=True) as first:
            types = key_types(first.describe())
            schema = None if label_schema is None else first.get_historical_features(
                label_schema.empty_table(), list(features), **options).to_arrow().schema
        return ShardJoin(root, paths, tuple(manifest["shard_keys"]),
                         tuple((k, types[k]) for k in manifest["shard_keys"]), tuple(features),
                         tuple(options.items()), schema)

    @property
    def shards(self) -> int:
        return len(self.paths)

    def join(self, shard: int, labels: pa.Table, target: Optional[pa.Schema] = None) -> pa.Table:
        """The labels of ``shard`` joined against it, cast to ``target`` (default: the plan's schema)."""
        with Store(self.paths[shard], read_only=True) as store:
            joined = store.get_historical_features(labels, list(self.features), **dict(self.options)).to_arrow()
        target = target or self.schema
        return joined if target is None else joined.cast(target)


# The columns the script forms convert from integer times (--time-unit).
TIME_COLUMNS = ("event_ts", "event_timestamp", "created_ts", "created", "created_timestamp")


def script_parser(prog: str, engine: str) -> Any:
    """The command line of ``python -m pitstore.spark`` and ``python -m pitstore.ray``."""
    import argparse

    parser = argparse.ArgumentParser(prog=prog, description=f"Build or join a sharded pitstore store with {engine}.")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="rows (Parquet) -> a sharded store; prints the manifest's summary")
    b.add_argument("rows", help="Parquet file or directory of feature rows")
    b.add_argument("store", help="the sharded store's directory")
    b.add_argument("view")
    b.add_argument("--shards", type=int, help="shard count (first build)")
    b.add_argument("--definitions", help="YAML definitions file (first build)")
    b.add_argument("--time-unit", default="", choices=["", "s", "ms", "us"],
                   help="integer time columns count this unit (default: times are timestamps)")
    j = sub.add_parser("join", help="labels (Parquet) -> training set (Parquet)")
    j.add_argument("labels")
    j.add_argument("store")
    j.add_argument("output", help="Parquet directory to write")
    j.add_argument("--features", required=True, help="comma-separated view:feature list")
    j.add_argument("--known-at", default="now", help='"now", "label", or a time (RFC 3339)')
    j.add_argument("--time-unit", default="", choices=["", "s", "ms", "us"])
    return parser


def run_script(prog: str, args: Any, build: Any, join: Any, read: Any, write: Any, stop: Any) -> int:
    """A script form's command: ``build`` (prints the manifest's summary as JSON) or ``join``
    (``write(training_set, path)``), over inputs that ``read(path)`` gives; ``stop()`` after.
    An error is one line on stderr and exit status 1."""
    import json
    import sys

    try:
        if args.command == "build":
            manifest = build(read(args.rows), args.store, args.view, shards=args.shards, definitions=args.definitions)
            print(json.dumps({"generation": manifest["generation"], "build": manifest["build"],
                              "shard_keys": manifest["shard_keys"], "shards": len(manifest["shards"]),
                              "rows": sum(e["rows"] for e in manifest["shards"])}))
        else:
            write(join(read(args.labels), args.store, args.features.split(","), args.known_at), args.output)
    except Exception as e:  # noqa: BLE001 - a script: one line to stderr, not a traceback
        print(f"{prog} {args.command}: {e}", file=sys.stderr)
        return 1
    finally:
        stop()
    return 0


__all__ = ["SHARD", "SYSTEM", "ShardBuild", "ShardWriter", "ShardJoin"]
