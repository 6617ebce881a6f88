"""Windowed aggregations (aggregation views) against DuckDB's window functions on the same
events: each label's aggregates over (t - w, t] equal DuckDB's
``RANGE BETWEEN INTERVAL (w - 1 µs) PRECEDING AND CURRENT ROW`` over the events and the label
rows interleaved; and online reads (as-of and latest at a clock) equal the join's values."""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta, timezone

import pandas as pd
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
""" + "".join(f"      - {{column: amount, function: {f}, windows: [1h, 1d]}}\n" for f in FUNCTIONS)


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
    query = f"""
        WITH stream AS (
          SELECT user_id, event_ts, amount, NULL::BIGINT AS label_id FROM events
          UNION ALL
          SELECT user_id, event_ts, NULL::DOUBLE, label_id FROM labels)
        SELECT label_id, {", ".join(cols)} FROM stream
        QUALIFY label_id IS NOT NULL ORDER BY label_id"""
    return con.execute(query).df()


def same(a, b) -> bool:
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
    assert checked == len(labels) * len(FUNCTIONS) * len(WINDOWS)


def test_online_reads_equal_the_join(store):
    rng = random.Random(11)
    events = make_events(rng)
    store.ingest("payments", events)
    labels = make_labels(rng, events).head(200)
    joined = store.get_historical_features(labels, ["spend:*"]).to_df()
    names = [f"amount_{f}_{w}" for f in FUNCTIONS for w in WINDOWS]
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
