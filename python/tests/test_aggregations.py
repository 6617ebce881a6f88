"""Windowed aggregations (aggregation views) against DuckDB's window functions on the same
events: each label's aggregates over (t - w, t] equal DuckDB's
``RANGE BETWEEN INTERVAL (w - 1 µs) PRECEDING AND CURRENT ROW`` over the events and the label
rows interleaved (last_k: DuckDB's ``list`` over the frame, nulls dropped, newest first, cut at
k); and online reads (as-of and latest at a clock) equal the join's values."""

from __future__ import annotations

import math
import os
import random
import subprocess
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import pitstore

duckdb = pytest.importorskip("duckdb", reason="DuckDB (pip install duckdb) is not installed: no comparison")

UTC = timezone.utc
START = datetime(2026, 11, 1, tzinfo=UTC)
WINDOWS = {"1h": 3600, "1d": 86400}
FUNCTIONS = {"sum": "sum", "count": "count", "mean": "avg", "min": "min", "max": "max", "stddev": "stddev_samp"}

DEFINITIONS = """
entities:
  - name: user
    join_keys: [{name: user_id, type: int64}]
feature_views:
  - name: payments
    entities: [user]
    event_timestamp: event_ts
    features:
      - {name: amount, type: float64}
aggregation_views:
  - name: spend
    source: payments
    aggregations:
""" + "".join(f"      - {{column: amount, function: {f}, windows: [1h, 1d]}}\n" for f in FUNCTIONS) + \
    "      - {column: amount, function: last_k, k: 3, windows: [1h, 1d]}\n"
LAST_K = 3


def make_events(rng: random.Random) -> pd.DataFrame:
    rows, seen = [], set()
    while len(rows) < 4000:
        user = rng.randrange(40)
        # Whole minutes: many events fall exactly on another's window edge.
        ts = START + timedelta(minutes=rng.randrange(10 * 24 * 60))
        if (user, ts) in seen:  # one event per (user, time): DuckDB would count a correction twice
            continue
        seen.add((user, ts))
        amount = None if rng.random() < 0.1 else round(rng.uniform(-50, 500), 2)
        rows.append({"user_id": user, "event_ts": ts, "amount": amount})
    return pd.DataFrame(rows)


def make_labels(rng: random.Random, events: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for _ in range(1500):
        e = events.iloc[rng.randrange(len(events))]
        # On an event, exactly a window after one, a microsecond either side, or anywhere.
        shift = rng.choice([0, 3600, 86400, None])
        t = e["event_ts"] if shift is not None else START + timedelta(seconds=rng.randrange(11 * 86400))
        if shift:
            t = t + timedelta(seconds=shift) + timedelta(microseconds=rng.choice([-1, 0, 1]))
        user = int(e["user_id"]) if rng.random() < 0.95 else 999  # a few users without events
        rows.append({"user_id": user, "event_ts": t, "label": rng.randrange(2)})
    return pd.DataFrame(rows)


def duckdb_aggregates(events: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    con = duckdb.connect()
    con.register("events", events)
    con.register("labels", labels.reset_index().rename(columns={"index": "label_id"}))
    cols = []
    for name, sql_fn in FUNCTIONS.items():
        for w, secs in WINDOWS.items():
            frame = f"RANGE BETWEEN INTERVAL {secs * 1_000_000 - 1} MICROSECONDS PRECEDING AND CURRENT ROW"
            cols.append(f"{sql_fn}(amount) OVER (PARTITION BY user_id ORDER BY event_ts {frame}) AS amount_{name}_{w}")
    for w, secs in WINDOWS.items():
        frame = f"RANGE BETWEEN INTERVAL {secs * 1_000_000 - 1} MICROSECONDS PRECEDING AND CURRENT ROW"
        cols.append(f"list_slice(list_reverse(list_filter(list(amount) OVER (PARTITION BY user_id ORDER BY event_ts "
                    f"{frame}), lambda x: x IS NOT NULL)), 1, {LAST_K}) AS amount_last_{LAST_K}_{w}")
    query = f"""
        WITH stream AS (
          SELECT user_id, event_ts, amount, NULL::BIGINT AS label_id FROM events
          UNION ALL
          SELECT user_id, event_ts, NULL::DOUBLE, label_id FROM labels)
        SELECT label_id, {", ".join(cols)} FROM stream
        QUALIFY label_id IS NOT NULL ORDER BY label_id"""
    return con.execute(query).df()


def same(a, b) -> bool:
    lists = (list, tuple, np.ndarray)  # last_k's values
    if isinstance(a, lists) or isinstance(b, lists):
        a = [] if a is None else list(a)  # no value in the window: pitstore's null, DuckDB's empty list
        b = [] if b is None else list(b)
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    a_null = a is None or (isinstance(a, float) and math.isnan(a)) or a is pd.NA
    b_null = b is None or (isinstance(b, float) and math.isnan(b)) or b is pd.NA
    if a_null or b_null:
        return a_null and b_null
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)


@pytest.fixture
def store(tmp_path):
    s = pitstore.Store(tmp_path / "agg.pit")
    s.apply(DEFINITIONS)
    yield s
    s.close()


def test_join_equals_duckdb_window_functions(store):
    rng = random.Random(7)
    events = make_events(rng)
    labels = make_labels(rng, events)
    store.ingest("payments", events, batch_rows=700)  # several batches, then merged
    store.compact()
    store.ingest("payments", events.iloc[:0])
    joined = store.get_historical_features(labels, ["spend:*"]).to_df()
    want = duckdb_aggregates(events, labels)
    assert len(joined) == len(labels) == len(want)
    assert list(joined["label"]) == list(labels["label"])  # labels kept, in order
    checked = 0
    for col in want.columns:
        if col == "label_id":
            continue
        for i in range(len(labels)):
            got, expected = joined[col].iloc[i], want[col].iloc[i]
            if col.startswith("amount_count_"):
                expected = 0 if pd.isna(expected) else expected  # an empty window counts 0
            assert same(got, expected), f"label {i} ({labels.iloc[i].to_dict()}): {col} = {got}, DuckDB says {expected}"
            checked += 1
    assert checked == len(labels) * (len(FUNCTIONS) + 1) * len(WINDOWS)
    lists = joined[f"amount_last_{LAST_K}_1d"].dropna()
    assert lists.map(len).max() == LAST_K and lists.map(len).min() >= 1  # cut at k, never empty


def test_online_reads_equal_the_join(store):
    rng = random.Random(11)
    events = make_events(rng)
    store.ingest("payments", events)
    labels = make_labels(rng, events).head(200)
    joined = store.get_historical_features(labels, ["spend:*"]).to_df()
    names = [f"amount_{f}_{w}" for f in FUNCTIONS for w in WINDOWS] + [f"amount_last_{LAST_K}_{w}" for w in WINDOWS]
    for i in range(len(labels)):
        key, t = int(labels["user_id"].iloc[i]), labels["event_ts"].iloc[i].to_pydatetime()
        online = store.as_of("spend", key, t, features=names)
        at_clock = store.latest("spend", key, features=names, now=t)  # the reader's clock at t
        for name in names:
            assert same(online.values[name], joined[name].iloc[i]), f"label {i}: {name}"
            assert same(at_clock.values[name], joined[name].iloc[i]), f"label {i}: latest {name}"


def test_describe_lists_aggregation_views(store):
    described = store.describe()
    assert [v["name"] for v in described["feature_views"]] == ["payments"]
    (spend,) = described["aggregation_views"]
    assert spend["source"] == "payments" and spend["entities"] == ["user"]
    first = spend["features"][0]
    assert (first["name"], first["type"], first["function"], first["window_us"]) == (
        "amount_sum_1h", "float64", "sum", 3_600_000_000)
    store.ingest("payments", pd.DataFrame({"user_id": [1], "event_ts": [START], "amount": [2.5]}))
    online = store.as_of("spend", 1, START)  # every feature, named without features=
    assert online.values["amount_sum_1h"] == 2.5 and online.values["amount_count_1d"] == 1
    last = spend["features"][-1]
    assert (last["name"], last["type"], last["function"], last["k"]) == ("amount_last_3_1d", "list<float64>", "last_k", 3)
    assert online.values["amount_last_3_1h"] == [2.5]


CLI = os.environ.get("PITSTORE_CLI") or os.path.join(os.path.dirname(__file__), "..", "..", "build", "bin", "pitstore")


@pytest.mark.skipif(not os.path.exists(CLI), reason="the pitstore tool is not built (set PITSTORE_CLI)")
def test_last_k_lists_in_parquet_and_arrow(tmp_path):
    """last_k lists of strings, numbers and times leave the store the same way in every output:
    the Python package's Arrow tables, and the tool's Parquet files (from CSV labels and from
    Parquet labels), read back by pyarrow and by DuckDB."""
    path = tmp_path / "lists.pit"
    with pitstore.Store(path) as s:
        s.apply("""
entities:
  - name: user
    join_keys: [{name: user_id, type: int64}]
feature_views:
  - name: visits
    entities: [user]
    event_timestamp: event_ts
    features:
      - {name: page, type: string}
      - {name: seconds, type: int32}
      - {name: seen, type: timestamp}
aggregation_views:
  - name: recent
    source: visits
    aggregations:
      - {column: page, function: last_k, k: 3, window: 1d}
      - {column: seconds, function: last_k, k: 2, window: 1h}
      - {column: seen, function: last_k, k: 2, window: 1d}
""")
        rng = random.Random(3)
        events = pd.DataFrame({
            "user_id": [rng.randrange(20) for _ in range(600)],
            "event_ts": [START + timedelta(minutes=rng.randrange(3 * 24 * 60), microseconds=i) for i in range(600)],
            "page": [None if rng.random() < 0.1 else f"/p/{rng.randrange(50)}" for _ in range(600)],
            "seconds": [None if rng.random() < 0.1 else rng.randrange(1000) for _ in range(600)],
            "seen": [START + timedelta(seconds=rng.randrange(10**6)) for _ in range(600)]})
        events["seconds"] = events["seconds"].astype("Int32")
        s.ingest("visits", events)
        labels = pd.DataFrame({"user_id": [rng.randrange(22) for _ in range(300)],
                               "event_ts": [START + timedelta(minutes=rng.randrange(4 * 24 * 60)) for _ in range(300)]})
        ours = s.get_historical_features(labels, ["recent:*"]).to_arrow()
        names = ["page_last_3_1d", "seconds_last_2_1h", "seen_last_2_1d"]
        for i in range(40):  # online reads give the same lists, times as datetimes
            online = s.as_of("recent", int(labels["user_id"][i]), labels["event_ts"][i].to_pydatetime())
            assert [online.values[n] for n in names] == [ours[n][i].as_py() for n in names], i
    assert [str(ours.schema.field(n).type) for n in names] == [
        "list<item: large_string>", "list<item: int32>", "list<item: timestamp[us, tz=UTC]>"]
    want = ours.select(names).to_pylist()
    assert any(len(r["page_last_3_1d"] or []) == 3 for r in want)
    labels.to_csv(tmp_path / "labels.csv", index=False, date_format="%Y-%m-%dT%H:%M:%S.%fZ")
    labels.to_parquet(tmp_path / "labels.parquet")
    for source in ("labels.csv", "labels.parquet"):
        out = tmp_path / (source + ".out.parquet")
        subprocess.run([CLI, "join", str(path), str(tmp_path / source), "--features", "recent:*", "--out", str(out)],
                       check=True, capture_output=True)
        assert pq.read_table(out).select(names).to_pylist() == want, source
        rows = duckdb.sql(f"SELECT {', '.join(names)} FROM '{out}'").fetchall()
        assert [list(r) for r in rows] == [[r[n] for n in names] for r in want], source
