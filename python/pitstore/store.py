"""The Store: one pitstore file (``NAME.pit`` and its index), opened in this process.

Times: a ``datetime`` with a time zone, a ``pandas.Timestamp`` with one, an RFC 3339 string
with an offset (``"2025-03-01T12:00:00Z"``), or an int of microseconds since the epoch (UTC).
**Naive times are refused** (in arguments, DataFrames and Arrow data alike) unless
``timezone=`` names the zone they are in: a naive time is ambiguous, and guessing (Feast
assumes UTC) is how a training row comes to see a value from its future or its past. Times come
back as UTC.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone as _tz
from typing import Any, Iterator, Mapping, Optional, Sequence, Union

import pyarrow as pa
import pyarrow.compute as pc

from . import _pitstore
from .definitions import Entity, FeatureService, FeatureView
from . import errors
from .errors import InvalidArgument

MAX_TIME = _pitstore.MAX_TIMESTAMP
_EPOCH = datetime(1970, 1, 1, tzinfo=_tz.utc)

TimeLike = Union[datetime, str, int, "pandas.Timestamp"]  # noqa: F821


def _micros(value: TimeLike, what: str, tz: Optional[str] = None) -> int:
    """A time argument as microseconds since the epoch (UTC)."""
    if isinstance(value, bool):
        raise InvalidArgument(f"{what}: a time, not a bool")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError as e:
            raise InvalidArgument(f"{what}: '{value}' is not an RFC 3339 time ({e})") from None
    if hasattr(value, "to_pydatetime"):  # pandas.Timestamp
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        if value.tzinfo is None:
            if tz is None:
                raise InvalidArgument(f"{what}: {value} has no time zone; give one (or timezone='UTC')")
            import zoneinfo

            value = value.replace(tzinfo=zoneinfo.ZoneInfo(tz))
        delta = value - _EPOCH
        return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    raise InvalidArgument(f"{what}: expected a datetime, an RFC 3339 string or microseconds, got {type(value).__name__}")


def _datetime(micros: Optional[int]) -> Optional[datetime]:
    return None if micros is None else _EPOCH + timedelta(microseconds=micros)


def _typed(value: Any, type_name: Optional[str]) -> Any:
    """A value from the extension as Python gives it: timestamps (microseconds there) as
    datetimes, in last_k lists of timestamps too."""
    if value is None:
        return None
    if type_name == "timestamp":
        return _datetime(value)
    if type_name == "list<timestamp>":
        return [_datetime(t) for t in value]
    return value


def _fix_times(table: pa.Table, tz: Optional[str], what: str) -> pa.Table:
    """Refuses naive timestamp columns (or reads them in ``tz``); vectors of float64 become float32."""
    for i, f in enumerate(table.schema):
        col = table.column(i)
        if pa.types.is_timestamp(f.type) and f.type.tz is None:
            if tz is None:
                raise InvalidArgument(
                    f"{what}: column '{f.name}' holds naive timestamps (no time zone); give timezone='UTC' (or the "
                    f"zone they were recorded in), or make them aware (pandas: .dt.tz_localize)")
            col = pc.assume_timezone(col, tz)
            table = table.set_column(i, f.name, col)
        elif (pa.types.is_list(f.type) or pa.types.is_large_list(f.type)) and pa.types.is_floating(f.type.value_type) \
                and f.type.value_type != pa.float32():
            table = table.set_column(i, f.name, col.cast(pa.list_(pa.float32())))
    return table


def _needs_fixing(schema: pa.Schema) -> bool:
    return any((pa.types.is_timestamp(f.type) and f.type.tz is None) or
               ((pa.types.is_list(f.type) or pa.types.is_large_list(f.type)) and
                pa.types.is_floating(f.type.value_type) and f.type.value_type != pa.float32()) for f in schema)


def _as_stream(data: Any, tz: Optional[str], what: str) -> Any:
    """A pandas or polars DataFrame, a pyarrow Table, RecordBatch or RecordBatchReader, or any
    object with ``__arrow_c_stream__``, as an Arrow C stream (a PyCapsule). Streams whose
    columns need nothing done pass straight through, batch by batch, without a copy."""
    try:
        if isinstance(data, pa.RecordBatchReader) or (
                hasattr(data, "__arrow_c_stream__") and not isinstance(data, (pa.Table, pa.RecordBatch))
                and not type(data).__module__.startswith("pandas")):
            reader = data if isinstance(data, pa.RecordBatchReader) else pa.RecordBatchReader.from_stream(data)
            if not _needs_fixing(reader.schema):
                return reader.__arrow_c_stream__()
            data = reader.read_all()
        return _fix_times(_to_arrow(data, what), tz, what).__arrow_c_stream__()
    except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
        raise InvalidArgument(f"{what}: {e}") from None


def _to_arrow(data: Any, what: str) -> pa.Table:
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    if isinstance(data, pa.RecordBatchReader):
        return data.read_all()
    if type(data).__module__.startswith("pandas"):
        return pa.Table.from_pandas(data, preserve_index=False)
    if hasattr(data, "__arrow_c_stream__"):
        return pa.RecordBatchReader.from_stream(data).read_all()
    raise InvalidArgument(f"{what}: expected a DataFrame, an Arrow table or stream, or a file path; "
                          f"got {type(data).__name__}")


def _reader(capsule: Any) -> pa.RecordBatchReader:
    return pa.RecordBatchReader._import_from_c_capsule(capsule)


def _read_all(capsule: Any) -> pa.Table:
    """Reads an engine stream whole; an engine error raises as its pitstore class."""
    try:
        return _reader(capsule).read_all()
    except pa.ArrowException as e:
        raise errors.from_stream_error(str(e)) from None


def _batches(capsule: Any) -> Iterator[pa.RecordBatch]:
    """Yields an engine stream's batches; an engine error raises as its pitstore class."""
    reader = _reader(capsule)
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            return
        except pa.ArrowException as e:
            raise errors.from_stream_error(str(e)) from None
        yield batch


class RetrievalJob:
    """A training set, as ``Store.get_historical_features`` returns it: the labels, in order,
    with one column per feature after theirs."""

    def __init__(self, table: pa.Table):
        self._table = table

    def to_arrow(self) -> pa.Table:
        """The training set as a pyarrow Table (feature columns keep their types)."""
        return self._table

    def to_df(self) -> "pandas.DataFrame":  # noqa: F821
        """The training set as a pandas DataFrame."""
        return self._table.to_pandas()


@dataclass
class OnlineResponse:
    """What ``Store.get_online_features`` found: per entity row, each feature's value, status
    (``present``, ``null``, ``not_found``, ``expired``) and event time."""

    keys: dict
    values: dict
    status: dict
    event_timestamps: dict  # microseconds since the epoch, per feature (to_dict gives datetimes)

    def to_dict(self, include_event_timestamps: bool = False, include_statuses: bool = False) -> dict:
        """Feast's shape: ``{join key: [...], feature: [...]}``, one list entry per entity row;
        optionally ``feature + "__event_timestamp"`` and ``feature + "__status"`` lists too."""
        out = {**self.keys, **self.values}
        for name in self.values:
            if include_event_timestamps:
                out[name + "__event_timestamp"] = [
                    _datetime(t) if s in ("present", "null", "expired") else None
                    for t, s in zip(self.event_timestamps[name], self.status[name])]
            if include_statuses:
                out[name + "__status"] = self.status[name]
        return out

    def to_df(self, include_event_timestamps: bool = False, include_statuses: bool = False) -> "pandas.DataFrame":  # noqa
        """The same as a pandas DataFrame."""
        import pandas as pd

        return pd.DataFrame(self.to_dict(include_event_timestamps, include_statuses))


@dataclass
class Lookup:
    """One key's answer (``latest``, ``as_of``): the row's times, and each feature's value and status."""

    found: bool
    event_timestamp: Optional[datetime]
    system_timestamp: Optional[datetime]
    values: dict
    status: dict


class Store:
    """A pitstore store, opened in this process (one open per store per process; share it
    between threads). Use it as a context manager, or call ``close()``.

    ``Store(path)`` creates the store if it does not exist; ``read_only=True`` opens an
    existing one without writing anything, beside a writer in another process. ``page_rows``
    sets the rows per page of the segments this handle writes (merges, ``compact``, ``copy``;
    16 to 65536, default 1024): smaller pages make cold point reads and online aggregates
    faster, the file larger and merges slower (``pitstore copy --page-rows``). A segment ends
    at ``segment_rows`` rows (default 1,048,576; cut at the end of an entity's rows, the last up
    to half as many more) or once its rows hold ``segment_bytes`` bytes of plain size (default
    and most 2**30), whichever comes first: lower them for wide rows such as embeddings
    (``pitstore copy --segment-rows/--segment-bytes``). ``copy`` cuts any store; ``compact``
    leaves a view of one segment as it is; a later handle at the defaults writes default sizes
    again (and merges segments under half of them with the tail).

    Times (arguments, DataFrames, Arrow data): aware datetimes, RFC 3339 strings with an offset,
    or microseconds since the epoch. Naive times are refused unless ``timezone=`` names their
    zone. Errors are ``pitstore.errors`` classes carrying the engine's message.
    """

    def __init__(
        self,
        path: Union[str, os.PathLike],
        read_only: bool = False,
        create: bool = True,
        page_rows: Optional[int] = None,
        segment_rows: Optional[int] = None,
        segment_bytes: Optional[int] = None,
    ):
        for name, value, least, most in (
            ("page_rows", page_rows, 16, 65536),
            ("segment_rows", segment_rows, 1, 2**32 - 1),
            ("segment_bytes", segment_bytes, 1, 2**30),
        ):
            if value is not None and not (
                isinstance(value, int) and not isinstance(value, bool) and least <= value <= most
            ):
                raise ValueError(f"{name} must be an integer from {least} to {most}, not {value!r}")
        self._impl = _pitstore.Store(
            os.fspath(path),
            read_only,
            create and not read_only,
            page_rows or 0,
            segment_rows or 0,
            segment_bytes or 0,
        )
        self._types: Optional[dict] = None
        self._time_columns: dict = {}  # per online request: the output columns' type names

    # ---- lifetime ----

    def close(self) -> None:
        """Closes the store (reads and writes after it raise)."""
        self._impl.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @property
    def path(self) -> str:
        return self._impl.path

    # ---- definitions ----

    def apply(self, objects: Union[str, os.PathLike, Sequence[Any], Any]) -> list[str]:
        """Applies definitions in one transaction and returns the changes made (empty: none).

        ``objects``: ``Entity``, ``FeatureView`` and ``FeatureService`` objects (one or a list),
        a path to a YAML definitions file, or YAML text. Refusals (a type change, a removed
        feature, a clash) change nothing and name what they refuse (file:line:column for YAML).
        """
        self._types = None
        self._time_columns = {}
        if isinstance(objects, (str, os.PathLike)):
            text = os.fspath(objects)
            if "\n" not in text and os.path.exists(text):
                return self._impl.apply_yaml("", text, True)
            return self._impl.apply_yaml(text, "<definitions>", False)
        if not isinstance(objects, (list, tuple)):
            objects = [objects]
        entities = [o._to_dict() for o in objects if isinstance(o, Entity)]
        views = [o._to_dict() for o in objects if isinstance(o, FeatureView)]
        services = [o._to_dict() for o in objects if isinstance(o, FeatureService)]
        others = [o for o in objects if not isinstance(o, (Entity, FeatureView, FeatureService))]
        if others:
            raise InvalidArgument(f"apply: cannot apply a {type(others[0]).__name__}")
        return self._impl.apply_objects(entities, views, services)

    def describe(self) -> dict:
        """Every entity, feature view (features, types, TTL, source columns), service,
        aggregation view (source, entities, and per feature its type, column, function and
        window) and on-demand view (request inputs, and per feature its result type and
        expression)."""
        return self._impl.describe()

    def list_feature_views(self) -> list[str]:
        return [v["name"] for v in self.describe()["feature_views"]]

    def _feature_types(self) -> dict:
        if self._types is None:
            described = self.describe()
            self._types = {(v["name"], f["name"]): f["type"]
                           for v in described["feature_views"] + described["aggregation_views"]
                           + described["on_demand_views"]
                           for f in v["features"]}
        return self._types

    # ---- writing ----

    def ingest(self, view: str, data: Any, *, timezone: Optional[str] = None, batch_rows: int = 100_000,
               event_timestamp: str = "", created_timestamp: str = "", epoch_unit: str = "",
               ignore_extra_columns: bool = False, input_format: str = "") -> dict:
        """Appends rows to ``view``: a pandas or polars DataFrame, a pyarrow Table or
        RecordBatchReader, any Arrow stream (``__arrow_c_stream__``), or a CSV / JSON Lines /
        Parquet file path.

        Columns are matched by name: the view's join keys, its event timestamp column (the
        view's ``timestamp_field``, else ``event_ts``), its created timestamp column if it has
        one, and its features (missing ones are null). Rows commit in atomic batches of
        ``batch_rows``; a bad row raises naming its row and column, and nothing of its batch is
        committed. Columns the view lacks (with ``ignore_extra_columns``) and features no column
        holds (stored null) are named in the result (``ignored_columns``,
        ``features_without_column``) and in a warning. Integer time columns count ``epoch_unit`` (``"s"``, ``"ms"``, ``"us"``,
        ``"ns"``); by default microseconds, refusing counts outside the years 1990 to 2099
        (seconds read as microseconds would land in January 1970). Returns counts:
        ``records_read``, ``records_committed``, ``batches_committed``.
        """
        options = {"batch_rows": batch_rows, "ignore_extra_columns": ignore_extra_columns, "epoch_unit": epoch_unit,
                   "event_timestamp": event_timestamp, "created_timestamp": created_timestamp}
        if isinstance(data, (str, os.PathLike)):
            if timezone is not None:
                options["timezone"] = timezone  # a file's naive times: UTC or a fixed offset
            report = self._impl.ingest_file(view, os.fspath(data), input_format, options)
        else:
            stream = _as_stream(data, timezone, f"ingest into '{view}'")
            report = self._impl.ingest_stream(view, stream, "<data>", options)
        if report["ignored_columns"]:
            warnings.warn(f"ingest into '{view}': ignored columns the view does not have: "
                          f"{', '.join(report['ignored_columns'])}", stacklevel=2)
        if report["features_without_column"]:
            warnings.warn(f"ingest into '{view}': features with no column, stored as null: "
                          f"{', '.join(report['features_without_column'])}", stacklevel=2)
        return report

    # ---- training sets ----

    def get_historical_features(self, entity_df: Any, features: Optional[Sequence[str]] = None, *,
                                service: Optional[Union[str, FeatureService]] = None,
                                known_at: Union[str, TimeLike] = "now", full_feature_names: bool = False,
                                label_time_column: Optional[str] = None, timezone: Optional[str] = None,
                                epoch_unit: str = "") -> RetrievalJob:
        """The point-in-time join: each label row (kept, in order, duplicates kept) gets each
        feature as of its time, never a value from after it.

        ``entity_df``: labels with the join keys of every requested view and a time column
        (``label_time_column``; default: the first the labels have of the views' event timestamp
        columns, ``event_ts``, ``event_timestamp``).
        ``features``: ``"view:feature"`` or ``"view:*"``; ``service`` adds a feature service's.
        ``known_at``: ``"now"`` (everything the store knows), ``"label"`` (only what was known at
        each label's time: what serving saw), or a time (a reproducible training set).
        On-demand features take their request inputs from label columns of the same names, and
        ``now()`` is the label's time.
        """
        table = _to_arrow(entity_df, "entity_df") if not isinstance(entity_df, pa.RecordBatchReader) else entity_df
        mode, fixed = "now", MAX_TIME
        if isinstance(known_at, str) and known_at in ("now", "label"):
            mode = known_at
        else:
            mode, fixed = "fixed", _micros(known_at, "known_at", timezone)
        service_name = service.name if isinstance(service, FeatureService) else (service or "")
        capsule = self._impl.join(_as_stream(table, timezone, "entity_df"), list(features or []), service_name,
                                  full_feature_names,
                                  mode, fixed, label_time_column or "", epoch_unit)
        return RetrievalJob(_read_all(capsule))

    # ---- online ----

    def get_online_features(self, features: Optional[Sequence[str]] = None,
                            entity_rows: Union[Sequence[Mapping[str, Any]], Mapping[str, Sequence[Any]], None] = None,
                            *, service: Optional[Union[str, FeatureService]] = None, full_feature_names: bool = False,
                            as_of: Optional[TimeLike] = None, known_at: Optional[TimeLike] = None,
                            now: Optional[TimeLike] = None) -> OnlineResponse:
        """Feast's ``get_online_features``: for each entity row (``[{"driver_id": 1001}, ...]``,
        or columns ``{"driver_id": [1001, ...]}``), each feature's latest value (TTL judged at
        ``now``, default the system clock), all from one snapshot. With ``as_of`` / ``known_at``,
        the values as of that time instead. On-demand features take their request inputs from
        the entity rows too (``{"driver_id": 1001, "amount": 12.5}``, as Feast passes request
        data); their ``now()`` is ``as_of`` when given, else ``now``."""
        if entity_rows is None:
            raise InvalidArgument("get_online_features: entity_rows is required")
        if isinstance(entity_rows, Mapping):
            columns = {k: list(v) for k, v in entity_rows.items()}
        else:
            columns = {}
            for i, row in enumerate(entity_rows):
                for k, v in row.items():
                    columns.setdefault(k, [None] * i).append(v)
                for k in columns:
                    if len(columns[k]) != i + 1:
                        raise InvalidArgument(f"entity row {i} has no '{k}'")
        service_name = service.name if isinstance(service, FeatureService) else (service or "")
        features = list(features or [])
        for k, column in columns.items():  # request inputs of on-demand features may be times
            if any(isinstance(v, datetime) for v in column):
                columns[k] = [_micros(v, k) if isinstance(v, datetime) else v
                              for v in column]
        r = self._impl.online(features, service_name, full_feature_names, columns,
                              MAX_TIME if as_of is None else _micros(as_of, "as_of"),
                              MAX_TIME if known_at is None else _micros(known_at, "known_at"),
                              _pitstore.MIN_TIMESTAMP if now is None else _micros(now, "now"))
        request = (tuple(features), service_name, full_feature_names)
        time_columns = self._time_columns.get(request)
        if time_columns is None:
            types = self._feature_types()
            time_columns = self._time_columns[request] = [
                types.get(self._ref_of(name, full_feature_names)) for name in r["names"]]
        values, status, times = {}, {}, {}
        for i, name in enumerate(r["names"]):
            column = r["values"][i]
            if time_columns[i] in ("timestamp", "list<timestamp>"):
                column = [_typed(v, time_columns[i]) for v in column]
            values[name] = column
            status[name] = r["statuses"][i]
            times[name] = r["event_ts"][i]  # microseconds; datetimes made only when asked for
        return OnlineResponse(columns, values, status, times)

    def _ref_of(self, name: str, full: bool) -> tuple:
        """(view, feature) of an output column name."""
        if full and "__" in name:
            view, feature = name.split("__", 1)
            return (view, feature)
        for (view, feature) in self._feature_types():
            if feature == name:
                return (view, feature)
        return ("", name)

    # ---- point reads ----

    def latest(self, view: str, key: Any, features: Optional[Sequence[str]] = None,
               now: Optional[TimeLike] = None) -> Lookup:
        """A key's latest row (``key``: one value, or a tuple for a composite key); TTL judged at ``now``."""
        r = self._impl.latest(view, key, list(features or []), _pitstore.MIN_TIMESTAMP if now is None
                              else _micros(now, "now"))
        return self._lookup(view, features, r)

    def as_of(self, view: str, key: Any, t: TimeLike, known_at: Optional[TimeLike] = None,
              features: Optional[Sequence[str]] = None) -> Lookup:
        """The key's row as of event time ``t``, as known at system time ``known_at`` (default: now)."""
        r = self._impl.as_of(view, key, _micros(t, "t"), MAX_TIME if known_at is None else _micros(known_at, "known_at"),
                             list(features or []))
        return self._lookup(view, features, r)

    def history(self, view: str, key: Any, start: Optional[TimeLike] = None, end: Optional[TimeLike] = None,
                known_at: Optional[TimeLike] = None, features: Optional[Sequence[str]] = None) -> list[dict]:
        """Every stored version of a key (corrections included), oldest first, as dicts with
        ``event_timestamp``, ``system_timestamp`` and the features."""
        names = self._names(view, features)
        rows = self._impl.history(view, key, _pitstore.MIN_TIMESTAMP if start is None else _micros(start, "start"),
                                  MAX_TIME if end is None else _micros(end, "end"),
                                  MAX_TIME if known_at is None else _micros(known_at, "known_at"), list(features or []))
        types = self._feature_types()
        out = []
        for ev, sys_ts, values in rows:
            d = {"event_timestamp": _datetime(ev), "system_timestamp": _datetime(sys_ts)}
            for n, v in zip(names, values):
                d[n] = _datetime(v) if v is not None and types.get((view, n)) == "timestamp" else v
            out.append(d)
        return out

    def scan(self, view: str, known_at: Optional[TimeLike] = None, features: Optional[Sequence[str]] = None,
             batch_rows: int = 65_536) -> Iterator[pa.RecordBatch]:
        """A view's stored rows (every version) in key order, as Arrow record batches: the join
        keys, ``event_ts``, ``system_ts``, then the features; only rows known at ``known_at``."""
        capsule = self._impl.scan(view, MAX_TIME if known_at is None else _micros(known_at, "known_at"),
                                  list(features or []), batch_rows)
        yield from _batches(capsule)

    def _names(self, view: str, features: Optional[Sequence[str]]) -> list[str]:
        if features:
            return list(features)
        return [f for (v, f) in self._feature_types() if v == view]

    def _lookup(self, view: str, features: Optional[Sequence[str]], r: dict) -> Lookup:
        names = self._names(view, features)
        types = self._feature_types()
        values = {n: _typed(v, types.get((view, n))) for n, v in zip(names, r["values"])}
        return Lookup(r["found"], _datetime(r["event_ts"]) if r["found"] else None,
                      _datetime(r["system_ts"]) if r["found"] else None, values, dict(zip(names, r["statuses"])))

    # ---- maintenance ----

    def info(self) -> dict:
        """Sizes, the commit sequence, the data file's required feature bits
        (``required_features``: 1 when its segments may have time chunks with restart points,
        2 when their int64 keys may be written as differences, 4 when their time chunks may be
        frames; a file made now has 6), and per view: rows, entities, blocks,
        event-time range."""
        info = self._impl.info()
        for v in info["views"]:
            v["min_event_ts"] = _datetime(v["min_event_ts"])
            v["max_event_ts"] = _datetime(v["max_event_ts"])
        return info

    def verify(self) -> dict:
        """Reads every block and index entry and checks them against each other; ``ok`` and
        the ``problems`` found."""
        return self._impl.verify()

    def compact(self, full: bool = False) -> None:
        """Merges row batches (every block with ``full``) into columnar segments."""
        self._impl.compact(full)

    def wait_for_merges(self) -> None:
        """Returns once the automatic merges that writes made due are done (they run on the
        store's own thread while writes go on); raises if one failed (the writes stand)."""
        self._impl.wait_for_merges()

    def stats(self, view: str, features: Optional[Sequence[str]] = None, start: Optional[TimeLike] = None,
              end: Optional[TimeLike] = None, known_at: Optional[TimeLike] = None,
              quantiles: Sequence[float] = (0.01, 0.25, 0.5, 0.75, 0.99)) -> "pandas.DataFrame":  # noqa: F821
        """Each feature's statistics over the stored versions with ``start <= event time <= end``
        known at ``known_at``, one row per feature: ``rows``, ``nulls``, ``non_finite``,
        ``min``, ``max``, ``mean``, ``stddev`` and a column ``p50`` (...) per quantile. Numbers
        are measured by value, strings and bytes by length, vectors by norm (``measure``).
        Segments keep these in their footers, so a compacted view answers without a scan.
        Quantiles come from a sketch within 0.8% relative error (exact for small integers);
        timestamps (in microseconds) give none: min and max are exact."""
        import pandas as pd

        rows = self._summarize(view, features, start, end, known_at, quantiles, None)
        return pd.DataFrame(rows)

    def drift(self, view: str, baseline: tuple, current: tuple, features: Optional[Sequence[str]] = None,
              known_at: Optional[TimeLike] = None) -> "pandas.DataFrame":  # noqa: F821
        """How each feature's distribution moved from the ``baseline`` window of event times to
        the ``current`` one (each ``(start, end)``, start included, end excluded; either may be
        None): counts, means and medians of both, the population stability index ``psi`` and its
        reading ``drift`` (``stable`` under 0.1, ``moderate`` under 0.25, else ``large``)."""
        import pandas as pd

        def window(w: tuple, what: str) -> tuple[int, int]:
            if len(w) != 2:
                raise InvalidArgument(f"{what}: a (start, end) pair")
            lo = _pitstore.MIN_TIMESTAMP if w[0] is None else _micros(w[0], what)
            hi = MAX_TIME if w[1] is None else _micros(w[1], what) - 1
            if hi < lo:
                raise InvalidArgument(f"{what}: the window is empty")
            return lo, hi

        b, c = window(baseline, "baseline"), window(current, "current")
        rows = self._impl.summarize(view, list(features or []), b[0], b[1],
                                    MAX_TIME if known_at is None else _micros(known_at, "known_at"), [0.5], c[0], c[1])
        out = []
        for r in rows:
            psi = r["psi"]
            verdict = "n/a" if psi is None else "stable" if psi < 0.1 else "moderate" if psi < 0.25 else "large"
            out.append({"feature": r["feature"], "measure": r["measure"],
                        "baseline_rows": r["rows"], "current_rows": r["current_rows"],
                        "baseline_nulls": r["nulls"], "current_nulls": r["current_nulls"],
                        "baseline_mean": r["mean"], "current_mean": r["current_mean"],
                        "baseline_p50": r["quantiles"][0], "current_p50": r["current_quantiles"][0],
                        "psi": psi, "drift": verdict})
        return pd.DataFrame(out)

    def _summarize(self, view: str, features: Optional[Sequence[str]], start: Optional[TimeLike],
                   end: Optional[TimeLike], known_at: Optional[TimeLike], quantiles: Sequence[float],
                   current: Optional[tuple]) -> list[dict]:
        rows = self._impl.summarize(view, list(features or []),
                                    _pitstore.MIN_TIMESTAMP if start is None else _micros(start, "start"),
                                    MAX_TIME if end is None else _micros(end, "end"),
                                    MAX_TIME if known_at is None else _micros(known_at, "known_at"),
                                    [float(q) for q in quantiles], 1, 0)
        out = []
        for r in rows:
            qs = r.pop("quantiles")
            for q, v in zip(quantiles, qs):
                r[f"p{q * 100:02g}".replace(".", "_")] = v
            out.append(r)
        return out

    def delete(self, view: str, keys: Sequence[Any]) -> int:
        """Erases every version of each key (one value, or a tuple for a composite key) from
        ``view``, for every reader whatever its known-at, and returns the rows removed. Not a
        correction: the rows never come back; their bytes leave the data file at the next
        ``vacuum()``. Rows ingested later for the same key are stored as usual."""
        return self._impl.delete(view, list(keys))

    def drop_view(self, view: str) -> None:
        """Removes a feature view and every row of it (refused while a feature service uses it).
        Its rows' bytes leave the data file at the next ``vacuum()``."""
        self._impl.drop_view(view)

    def drop_feature(self, view: str, feature: str) -> None:
        """Removes one feature of a view and its values: reads, joins and ingests no longer see
        it (refused while a feature service lists it). Its values leave the data file after
        ``compact(full=True)`` and ``vacuum()``; a feature defined later under the same name
        starts empty."""
        self._impl.drop_feature(view, feature)

    def vacuum(self) -> None:
        """Rewrites the data file with only live blocks (readers in other processes read on)."""
        self._impl.vacuum()

    def copy(self, dest: Union[str, os.PathLike]) -> None:
        """Writes a compacted copy of one consistent state to ``dest`` (atomically), with its index."""
        self._impl.copy_to(os.fspath(dest))
