"""The data and checks that the sharded-store tests of every engine share (test_spark.py,
test_ray.py): feature rows with corrections, late rows and nulls, labels with a duplicate, and
the single store every sharded answer is compared with."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pandas as pd

import pitstore

UTC = timezone.utc
BASE = datetime(2025, 3, 1, tzinfo=UTC)
DEFINITIONS = """
entities:
  - name: user
    join_keys: [{name: user_id, type: int64}]
feature_views:
  - name: stats
    entities: [user]
    ttl: 5d
    event_timestamp: event_ts
    created_timestamp: created_ts
    features:
      - {name: clicks, type: int64}
      - {name: score, type: float64}
      - {name: country, type: string}
"""


def feature_rows(rng: random.Random, n: int, users: int) -> pd.DataFrame:
    """Rows with corrections (same user and event time, learned later), late older rows and nulls;
    created times supplied, so every store holding them answers the same at every known-at."""
    rows = []
    for _ in range(n):
        u = rng.randrange(-users // 2, users // 2)
        ev = BASE + timedelta(hours=rng.randrange(0, 24 * 20))
        created = ev + timedelta(hours=rng.randrange(0, 72))
        rows.append({"user_id": u, "event_ts": ev, "created_ts": created,
                     "clicks": None if rng.random() < 0.1 else rng.randrange(0, 1000),
                     "score": None if rng.random() < 0.1 else rng.random(),
                     "country": rng.choice(["NL", "DE", None, "FR", "ünï"])})
        if rng.random() < 0.2:  # a correction of the same row, learned later
            rows.append({**rows[-1], "created_ts": created + timedelta(hours=5), "clicks": rng.randrange(0, 1000)})
    df = pd.DataFrame(rows)
    df["clicks"] = df["clicks"].astype("Int64")  # nullable: not float64
    return df


def label_rows(rng: random.Random, n: int, users: int) -> pd.DataFrame:
    rows = [{"label_id": i, "user_id": rng.randrange(-users // 2 - 5, users // 2 + 5),
             "event_ts": BASE + timedelta(hours=rng.randrange(0, 24 * 24))} for i in range(n)]
    rows += [dict(rows[3], label_id=n)]  # a duplicate label stays
    return pd.DataFrame(rows)


def single_store(path, rows: pd.DataFrame) -> pitstore.Store:
    s = pitstore.Store(path)
    s.apply(DEFINITIONS)
    s.ingest("stats", rows)
    return s


FEATURES = ["stats:clicks", "stats:score", "stats:country"]
KNOWN_AT = ["now", "label", BASE + timedelta(days=9)]


def expected_join(store: pitstore.Store, labels: pd.DataFrame, known_at) -> pd.DataFrame:
    return store.get_historical_features(labels, FEATURES, known_at=known_at).to_df() \
        .sort_values("label_id").reset_index(drop=True)


def assert_same(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert list(got.columns) == list(want.columns)
    assert len(got) == len(want)
    for c in want.columns:
        g, w = got[c].tolist(), want[c].tolist()
        if c == "event_ts":  # Spark hands back naive UTC times
            g, w = ([pd.Timestamp(x).tz_localize("UTC") if pd.Timestamp(x).tzinfo is None else pd.Timestamp(x)
                     for x in column] for column in (g, w))
        g, w = ([None if x is pd.NA or (isinstance(x, float) and x != x) else x for x in column] for column in (g, w))
        assert g == w, c


def make_data() -> tuple[pd.DataFrame, pd.DataFrame]:
    """3,000 feature rows (with corrections) of 160 users and 1,500 labels: every engine's tests use these."""
    rng = random.Random(20261203)
    return feature_rows(rng, 3000, 160), label_rows(rng, 1500, 160)
