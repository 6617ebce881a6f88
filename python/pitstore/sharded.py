"""Stores sharded by entity key: a directory of ordinary stores named by a manifest, read as one.

A row's shard is ``pmod(xxhash64(k1, k2, ...), shards)`` over the manifest's shard keys, with
Spark SQL's ``xxhash64`` (XXH64, seed 42, each next key seeded with the hash so far; an integer
as its 8 little-endian bytes, a string as its UTF-8 bytes). Spark computes it natively, this
package and the C++ library (``pitstore/workflow/sharded_store.h``) with the same C++ function
(:func:`shards_of`). The manifest (``MANIFEST``, JSON, format/SHARDS.md) is replaced atomically
and is the only commit point: files it does not name are leftovers of failed attempts.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from typing import Any, Mapping, Optional, Sequence, Union

import pyarrow as pa
import pyarrow.compute as pc

from . import _pitstore
from .errors import Busy, Corruption, InvalidArgument, NotFound, NotSupported
from .store import OnlineResponse, RetrievalJob, Store, TimeLike

MANIFEST = "MANIFEST"
HASH = "spark-xxhash64-pmod"
FORMAT = "pitstore-shards"


def shards_of(columns: Sequence[Sequence[Any]], shards: int) -> list[int]:
    """The shard of every row: ``columns`` holds one sequence per shard key (ints or strs)."""
    return _pitstore.shards_of([list(c) for c in columns], shards)


def shard_column(table: pa.Table, keys: Sequence[tuple[str, str]], shards: int) -> pa.Array:
    """Each row's shard (int32) by the shard key columns ``keys`` ((name, "int64" or "string")
    pairs), each cast to its key type first. A row with a null key goes to shard 0: it matches
    nothing, whichever shard answers it (a build's ingest refuses it, naming the row)."""
    columns, null = [], None
    for name, kind in keys:
        column = pc.cast(table.column(name), pa.int64() if kind == "int64" else pa.string())
        null = column.is_null() if null is None else pc.or_(null, column.is_null())
        columns.append(column.fill_null(0 if kind == "int64" else "").to_pylist())
    shard = pa.array(_pitstore.shards_of(columns, shards), pa.int32())
    if null is not None and pc.any(null).as_py():
        shard = pc.if_else(null, pa.scalar(0, pa.int32()), shard)
    return shard


def key_types(described: Mapping[str, Any]) -> dict[str, str]:
    """Every join key's type ("int64" or "string") by name, from ``Store.describe()``."""
    return {name: kind for e in described["entities"] for (name, kind) in e["join_keys"]}


def spark_xxhash64(*parts: Union[int, str]) -> int:
    """Spark SQL's ``xxhash64(parts...)``, as the engine computes it."""
    return _pitstore.spark_xxhash64(list(parts))


def manifest_path(path: Union[str, os.PathLike]) -> str:
    p = os.fspath(path)
    return os.path.join(p, MANIFEST) if os.path.isdir(p) else p


def read_manifest(path: Union[str, os.PathLike]) -> dict:
    """The manifest of a sharded store (its directory or the manifest file), as a dict, checked as
    the C++ reader checks it (format/SHARDS.md); errors name the file and the field."""
    file = manifest_path(path)
    try:
        with open(file, "rb") as f:
            manifest = json.load(f)
    except FileNotFoundError:
        raise NotFound(f"{file}: no shard manifest (build the store first)") from None
    except ValueError as e:
        raise InvalidArgument(f"{file}: not a shard manifest: not JSON ({e})") from None

    def bad(what: str) -> InvalidArgument:
        return InvalidArgument(f"{file}: not a shard manifest: {what} (format/SHARDS.md)")

    def integer(obj: dict, field: str, where: str = "", signed: bool = False) -> int:
        v = obj.get(field)
        if not isinstance(v, int) or isinstance(v, bool) or (v < 0 and not signed):
            raise bad(f"{where}'{field}' must be {'an' if signed else 'a non-negative'} integer")
        return v

    if not isinstance(manifest, dict):
        raise bad("not a JSON object")
    if manifest.get("format") != FORMAT:
        raise bad(f"'format' is {manifest.get('format')!r}, not '{FORMAT}'")
    if integer(manifest, "version") != 1:
        raise NotSupported(f"{file}: shard manifest version {manifest['version']} (this build reads version 1)")
    if manifest.get("hash") != HASH:
        raise NotSupported(f"{file}: shard hash {manifest.get('hash')!r}")
    integer(manifest, "generation")
    keys = manifest.get("shard_keys")
    if not isinstance(keys, list) or not keys or not all(isinstance(k, str) for k in keys):
        raise bad("'shard_keys' must be a non-empty array of join key names")
    shards = manifest.get("shards")
    if not isinstance(shards, list) or not shards:
        raise bad("'shards' must be a non-empty array")
    for i, e in enumerate(shards):
        where = f"shards[{i}]."
        if not isinstance(e, dict):
            raise bad(f"{where} must be an object")
        if integer(e, "shard", where) != i:
            raise bad(f"{where}'shard' is {e['shard']}, expected {i} (shards are listed in order)")
        p = e.get("path")
        if not isinstance(p, str) or not p or p.startswith("/") or ".." in p:
            raise bad(f"{where}'path' must be relative and inside the manifest's directory")
        for field in ("rows", "bytes"):
            integer(e, field, where)
        if not isinstance(e.get("checksum"), str):
            raise bad(f"{where}'checksum' must be a string")
        for field in ("min_event_ts", "max_event_ts", "min_system_ts", "max_system_ts"):
            integer(e, field, where, signed=True)
    return manifest


def write_manifest(directory: Union[str, os.PathLike], manifest: Mapping[str, Any]) -> None:
    """Replaces ``directory/MANIFEST`` atomically and durably: a new file is written and
    synced, renamed over the old one, and the directory synced, so a reader or a crash sees
    the old manifest or the new one, never a part."""
    directory = os.fspath(directory)
    tmp = os.path.join(directory, f".{MANIFEST}.{uuid.uuid4().hex}.tmp")
    data = json.dumps(manifest, indent=1, sort_keys=False).encode() + b"\n"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, os.path.join(directory, MANIFEST))
    fsync_path(directory)


def fsync_path(path: str, directory: bool = False) -> None:
    """Syncs a file or directory to disk; with ``directory``, the directory holding it too."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    if directory:
        fsync_path(os.path.dirname(path))


class DirectoryLock:
    """An exclusive flock on DIR/.build-lock: one build (or cleanup) of a sharded store at a
    time; refused at once (Busy) while another holds it."""

    def __init__(self, root: str):
        import fcntl

        self._fd = os.open(os.path.join(root, ".build-lock"), os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self._fd)
            raise Busy(f"{root}: another build of this sharded store is running") from None

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)  # closing the descriptor releases the lock
            self._fd = -1


def remove_unnamed(store_dir: Union[str, os.PathLike], *, older_than: float = 3600.0,
                   dry_run: bool = False) -> list[str]:
    """Deletes what the manifest of the sharded store at ``store_dir`` does not name: shard files
    (with their index files) of failed or speculative attempts and of older generations, and an
    interrupted build's template store and temporary manifests. Only files last modified more
    than ``older_than`` seconds ago go, and nothing while the manifest itself is younger than
    that: a reader that read the previous manifest may be about to open its files, so it gets
    ``older_than`` seconds from the moment that manifest was replaced (a store already open
    keeps reading a deleted file). Files of a generation above the manifest's (a build running
    without the lock) stay. Holds the build lock (Busy while a build runs). Returns the paths
    removed, relative to the directory (with ``dry_run``: those that would be)."""
    import time

    root = os.path.dirname(os.path.abspath(manifest_path(store_dir)))
    lock = DirectoryLock(root)
    try:
        manifest = read_manifest(root)
        if os.path.getmtime(os.path.join(root, MANIFEST)) > time.time() - older_than:
            return []  # readers of the manifest it replaced may still open that one's files
        named = {os.path.normpath(e["path"]) for e in manifest["shards"]}
        groups: dict[str, list[str]] = {}  # a data file -> it and its index files, as found
        for top, _, files in os.walk(os.path.join(root, "shards")):
            for name in files:
                rel = os.path.relpath(os.path.join(top, name), root)
                for suffix in ("-index-lock", "-index", ""):
                    if rel.endswith(".pit" + suffix):
                        groups.setdefault(rel[:len(rel) - len(suffix)] if suffix else rel, []).append(rel)
                        break
        for name in os.listdir(root):
            if name.startswith(f".{MANIFEST}.") and name.endswith(".tmp"):  # an interrupted commit's
                groups[name] = [name]
        cutoff = time.time() - older_than
        removed = []
        for data, members in sorted(groups.items()):
            if os.path.normpath(data) in named:
                continue
            generation = re.match(r"g(\d+)-", os.path.basename(data))
            if generation and int(generation.group(1)) > manifest["generation"]:
                continue
            if any(os.path.getmtime(os.path.join(root, m)) > cutoff for m in members):
                continue
            for m in sorted(members):
                if not dry_run:
                    os.remove(os.path.join(root, m))
                removed.append(m)
        return removed
    finally:
        lock.release()


def shard_stats(path: str, rows: int, min_max: Sequence[int]) -> dict:
    """A manifest entry's file facts: size and XXH3 checksum of the data file."""
    return {"rows": rows, "bytes": os.path.getsize(path), "checksum": _pitstore.file_checksum(path),
            "min_event_ts": min_max[0], "max_event_ts": min_max[1], "min_system_ts": min_max[2],
            "max_system_ts": min_max[3]}


class ShardedStore:
    """A sharded store opened as one, read-only: every key is routed to its shard for point
    reads and online features; a training set's labels are split by shard, joined on each, and
    put back in their order (kept, duplicates kept)."""

    def __init__(self, manifest: Union[str, os.PathLike], verify_checksums: bool = False):
        self._file = manifest_path(manifest)
        self.manifest = read_manifest(self._file)
        root = os.path.dirname(os.path.abspath(self._file))
        self.shard_keys: list[str] = list(self.manifest["shard_keys"])
        self._stores: list[Store] = []
        self._keys_of_view: dict[str, list[str]] = {}  # read-only shards: definitions do not change
        try:
            for entry in self.manifest["shards"]:
                path = os.path.join(root, entry["path"])
                size = os.path.getsize(path)
                if size < entry["bytes"]:
                    raise errors_corruption(f"{path}: shard {entry['shard']} is {size} bytes, the manifest says "
                                            f"{entry['bytes']} (truncated)")
                if verify_checksums and (size != entry["bytes"]
                                         or _pitstore.file_checksum(path) != entry["checksum"]):
                    raise errors_corruption(f"{path}: shard {entry['shard']} differs from its manifest checksum")
                self._stores.append(Store(path, read_only=True))
        except BaseException:
            self.close()
            raise

    @property
    def shards(self) -> int:
        return len(self._stores)

    def shard(self, i: int) -> Store:
        return self._stores[i]

    def close(self) -> None:
        for s in self._stores:
            s.close()

    def __enter__(self) -> "ShardedStore":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def describe(self) -> dict:
        return self._stores[0].describe()

    def shard_of(self, key: Mapping[str, Any]) -> int:
        """The shard of a key given by join key name (``{"user_id": 42}``)."""
        missing = [k for k in self.shard_keys if k not in key]
        if missing:
            raise InvalidArgument(f"the key has no '{missing[0]}' (a shard key of this store)")
        return shards_of([[key[k]] for k in self.shard_keys], self.shards)[0]

    def _route(self, view: str, key: Any) -> tuple[Store, Any]:
        """The key's shard, and the key as Store's point reads take it (a value or a tuple)."""
        names = self._view_keys(view)
        if isinstance(key, Mapping):
            missing = [n for n in names if n not in key]
            if missing:
                raise InvalidArgument(f"the key has no '{missing[0]}' (a join key of view '{view}')")
            parts = [key[n] for n in names]
        else:
            parts = list(key) if isinstance(key, (list, tuple)) else [key]
        if len(parts) != len(names):
            raise InvalidArgument(f"view '{view}' has {len(names)} join keys, the key {len(parts)}")
        store = self._stores[self.shard_of(dict(zip(names, parts)))]
        return store, (parts[0] if len(parts) == 1 else tuple(parts))

    def _view_keys(self, view: str) -> list[str]:
        keys = self._keys_of_view.get(view)
        if keys is None:
            keys = self._keys_of_view[view] = self._find_view_keys(view)
        return keys

    def _find_view_keys(self, view: str) -> list[str]:
        d = self.describe()
        entities = {e["name"]: [k for (k, _) in e["join_keys"]] for e in d["entities"]}
        for v in d["feature_views"] + d["aggregation_views"]:
            if v["name"] == view:
                if "entities" not in v:  # an aggregation view: its source's keys
                    return self._view_keys(v["source"])
                return [k for e in v["entities"] for k in entities[e]]
        raise InvalidArgument(f"no view '{view}'")

    def latest(self, view: str, key: Any, features: Optional[Sequence[str]] = None, now: Optional[TimeLike] = None):
        """``Store.latest`` from the key's shard (``key``: a value, a tuple, or a dict by join key)."""
        store, k = self._route(view, key)
        return store.latest(view, k, features, now)

    def as_of(self, view: str, key: Any, t: TimeLike, known_at: Optional[TimeLike] = None,
              features: Optional[Sequence[str]] = None):
        store, k = self._route(view, key)
        return store.as_of(view, k, t, known_at, features)

    def history(self, view: str, key: Any, *args: Any, **kwargs: Any):
        store, k = self._route(view, key)
        return store.history(view, k, *args, **kwargs)

    def get_online_features(self, features: Optional[Sequence[str]] = None,
                            entity_rows: Union[Sequence[Mapping[str, Any]], Mapping[str, Sequence[Any]], None] = None,
                            **kwargs: Any) -> OnlineResponse:
        """``Store.get_online_features``, each row answered by its shard, in the rows' order."""
        if entity_rows is None:
            raise InvalidArgument("get_online_features: entity_rows is required")
        if isinstance(entity_rows, Mapping):
            columns = {k: list(v) for k, v in entity_rows.items()}
            n = max((len(v) for v in columns.values()), default=0)
            for k, v in columns.items():
                if len(v) not in (1, n):
                    raise InvalidArgument(f"entity column '{k}' has {len(v)} values, other columns {n}")
            rows = [{k: v[i if len(v) == n else 0] for k, v in columns.items()} for i in range(n)]
        else:
            rows = list(entity_rows)
        picked: dict[int, list[int]] = {}
        for i, row in enumerate(rows):
            picked.setdefault(self.shard_of(row), []).append(i)
        values: dict = {}
        status: dict = {}
        times: dict = {}
        for s, where in sorted(picked.items()):
            part = self._stores[s].get_online_features(features, [rows[i] for i in where], **kwargs)
            for name, column in part.values.items():
                out = values.setdefault(name, [None] * len(rows))
                st = status.setdefault(name, [None] * len(rows))
                ts = times.setdefault(name, [0] * len(rows))
                for j, i in enumerate(where):
                    out[i], st[i], ts[i] = column[j], part.status[name][j], part.event_timestamps[name][j]
        keys = {k: [r.get(k) for r in rows] for k in (rows[0].keys() if rows else [])}
        return OnlineResponse(keys, values, status, times)

    def get_historical_features(self, entity_df: Any, features: Optional[Sequence[str]] = None,
                                **kwargs: Any) -> RetrievalJob:
        """``Store.get_historical_features`` over the shards: labels split by shard, each part
        joined on its shard, the rows put back in the labels' order."""
        from .store import _to_arrow
        table = _to_arrow(entity_df, "entity_df")
        for k in self.shard_keys:
            if k not in table.column_names:
                raise InvalidArgument(f"entity_df has no column '{k}' (a shard key of this store)")
        types = key_types(self.describe())
        shard = shard_column(table, [(k, types[k]) for k in self.shard_keys], self.shards)
        parts, order = [], []
        for s in range(self.shards):
            rows = pc.indices_nonzero(pc.equal(shard, s))
            if len(rows) == 0 and s != 0:
                continue
            parts.append(self._stores[s].get_historical_features(table.take(rows), features, **kwargs).to_arrow())
            order.append(rows)
        joined = pa.concat_tables(parts)
        position = pa.concat_arrays([o.cast(pa.int64()) for o in order])
        return RetrievalJob(joined.take(pc.sort_indices(position)))


def errors_corruption(message: str) -> Exception:
    return Corruption(message)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m pitstore.sharded remove-unnamed DIR [--older-than S] [--dry-run]``."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(prog="python -m pitstore.sharded", description="Maintain a sharded store.")
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("remove-unnamed", help="delete the files the manifest does not name; prints each")
    r.add_argument("store", help="the sharded store's directory (or its MANIFEST)")
    r.add_argument("--older-than", type=float, default=3600.0,
                   help="only files last modified more than this many seconds ago (default 3600)")
    r.add_argument("--dry-run", action="store_true", help="print what would be deleted, delete nothing")
    args = parser.parse_args(argv)
    try:
        for path in remove_unnamed(args.store, older_than=args.older_than, dry_run=args.dry_run):
            print(path)
    except Exception as e:  # noqa: BLE001 - a script: one line to stderr
        print(f"python -m pitstore.sharded {args.command}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
