"""Side by side with Feast itself (its local provider: the file offline store and the SQLite
online store, materialized): the same definitions, the same rows, the same entity DataFrame
and entity rows through both, compared value for value.

Data sets: Feast's quickstart view (``driver_hourly_stats``: conv_rate, acc_rate,
avg_daily_trips per driver and hour, with a correction: a row re-sent with a later
``created``), and a ranking-style set (user, item and (user, item) views).

Where the two differ, the difference is asserted, not hidden:
- a late older row arriving after a materialization replaces the newer value in Feast's SQLite
  online store; pitstore's latest never goes back in time;
- Feast's file offline store drops label rows that find no row in a single-key view of a
  multi-view request (here 270 of 500); pitstore keeps every label row (its value null);
- Feast's online read does not apply the view's TTL; pitstore withholds an expired value
  (status ``expired``) as its offline join does, so online and offline agree;
- of two rows with the same key and event time, the later ``created`` is a correction and wins
  (Feast's documented rule); Feast's file offline store at times keeps the earlier one
  (seen with the corrected row first in the file). Each such case is checked to be exactly
  that, and counted.
"""

from __future__ import annotations

import random
import textwrap
from datetime import datetime, timedelta, timezone

import pandas as pd
import pyarrow as pa
import pytest

import pitstore
import pitstore.types as pt

feast = pytest.importorskip("feast", reason="Feast is not installed (tools/setup.sh installs it)")
from feast import FeatureStore  # noqa: E402
from feast.types import Float32, Float64, Int64  # noqa: E402

UTC = timezone.utc
START = datetime(2025, 3, 1, tzinfo=UTC)


def feast_repo(path) -> FeatureStore:
    (path / "data").mkdir(parents=True, exist_ok=True)
    (path / "feature_store.yaml").write_text(textwrap.dedent(f"""\
        project: side_by_side
        registry: {path}/data/registry.db
        provider: local
        online_store:
          type: sqlite
          path: {path}/data/online.db
        offline_store:
          type: file
        entity_key_serialization_version: 3
        """))
    return FeatureStore(repo_path=str(path))


def driver_rows(rng: random.Random) -> pd.DataFrame:
    rows = []
    for driver in range(1001, 1011):
        for hour in range(48):
            if rng.random() < 0.15:
                continue  # gaps
            ts = START + timedelta(hours=hour)
            rows.append((driver, ts, ts + timedelta(minutes=5), rng.random(), rng.random(), rng.randrange(1000)))
    # corrections: the same (driver, hour) re-sent later with other values
    for driver in (1001, 1005):
        ts = START + timedelta(hours=20)
        rows.append((driver, ts, ts + timedelta(hours=3), 0.999, 0.111, 7))
    return pd.DataFrame(rows, columns=["driver_id", "event_timestamp", "created", "conv_rate", "acc_rate",
                                       "avg_daily_trips"])


def labels(rng: random.Random, keys, n: int = 300) -> pd.DataFrame:
    return pd.DataFrame({
        "driver_id": [rng.choice(keys) for _ in range(n)],
        "event_timestamp": [START + timedelta(minutes=rng.randrange(0, 52 * 60)) for _ in range(n)],
        "row": range(n),
    })


def same(a, b) -> bool:
    if a is None or (isinstance(a, float) and pd.isna(a)):
        return b is None or (isinstance(b, float) and pd.isna(b))
    if isinstance(a, float) or isinstance(b, float):
        return b is not None and not pd.isna(b) and abs(float(a) - float(b)) <= 1e-6 * max(1.0, abs(float(a)))
    return a == b


def feast_kept_the_earlier_duplicate(source: pd.DataFrame, feature: str, ours, theirs) -> bool:
    """True when the source holds two rows of one event time, valued `ours` (created later) and
    `theirs` (created earlier): the case where Feast's file store lets the older one win."""
    mine = source[source[feature] == ours]
    for _, row in mine.iterrows():
        twins = source[(source["event_timestamp"] == row["event_timestamp"]) & (source[feature] == theirs)]
        keys = [c for c in source.columns if c.endswith("_id")]
        twins = twins[(twins[keys] == row[keys]).all(axis=1)]
        if len(twins) and (twins["created"] < row["created"]).all():
            return True
    return False


def compare(ours: pd.DataFrame, theirs: pd.DataFrame, features, key="row", sources=None, differences=None) -> int:
    ours = ours.sort_values(key).reset_index(drop=True)
    theirs = theirs.sort_values(key).reset_index(drop=True)
    assert len(ours) == len(theirs)
    compared = 0
    for f in features:
        for i, (a, b) in enumerate(zip(ours[f].tolist(), theirs[f].tolist())):
            if not same(a, b) and sources is not None and feast_kept_the_earlier_duplicate(sources[f], f, a, b):
                differences.append((ours[key][i], f))
                continue
            assert same(a, b), f"row {ours[key][i]}, feature {f}: pitstore {a!r}, Feast {b!r}"
            compared += 1
    return compared


def test_driver_hourly_stats(tmp_path):
    rng = random.Random(15)
    rows = driver_rows(rng)
    source_path = tmp_path / "driver_stats.parquet"
    rows.to_parquet(source_path)

    # Feast: the quickstart's definitions, materialized into SQLite.
    fs = feast_repo(tmp_path / "feast")
    driver = feast.Entity(name="driver", join_keys=["driver_id"])
    source = feast.FileSource(path=str(source_path), timestamp_field="event_timestamp",
                              created_timestamp_column="created")
    schema = [feast.Field(name="conv_rate", dtype=Float32), feast.Field(name="acc_rate", dtype=Float32),
              feast.Field(name="avg_daily_trips", dtype=Int64)]
    fv = feast.FeatureView(name="driver_hourly_stats", entities=[driver], ttl=timedelta(hours=6), schema=schema,
                           source=source)
    fs.apply([driver, fv])
    fs.materialize(START - timedelta(days=1), START + timedelta(days=3))

    # pitstore: the same definitions (Feast's names), the same rows.
    store = pitstore.Store(tmp_path / "driver.pit")
    p_driver = pitstore.Entity(name="driver", join_keys=["driver_id"])
    p_fv = pitstore.FeatureView(name="driver_hourly_stats", entities=[p_driver], ttl=timedelta(hours=6),
                                schema=[pitstore.Field("conv_rate", pt.Float32), pitstore.Field("acc_rate", pt.Float32),
                                        pitstore.Field("avg_daily_trips", pt.Int64)],
                                timestamp_field="event_timestamp", created_timestamp_column="created")
    store.apply([p_driver, p_fv])
    store.ingest("driver_hourly_stats", rows)

    features = ["driver_hourly_stats:conv_rate", "driver_hourly_stats:acc_rate", "driver_hourly_stats:avg_daily_trips"]
    entity_df = labels(rng, list(range(1001, 1012)))  # driver 1011 has no rows
    theirs = fs.get_historical_features(entity_df=entity_df, features=features).to_df()
    ours = store.get_historical_features(entity_df, features).to_df()
    n = compare(ours, theirs, ["conv_rate", "acc_rate", "avg_daily_trips"])
    assert n == 900

    # Online: every driver, latest values (pitstore judges TTL at `now`: the data's last hour).
    keys = list(range(1001, 1012))
    theirs_online = fs.get_online_features(features=features, entity_rows=[{"driver_id": k} for k in keys]).to_dict()
    ours_online = store.get_online_features(features, [{"driver_id": k} for k in keys],
                                            now=START + timedelta(hours=48)).to_dict(include_statuses=True)
    for f in ("conv_rate", "acc_rate", "avg_daily_trips"):
        for a, b in zip(ours_online[f], theirs_online[f]):
            assert same(a, b), (f, ours_online[f], theirs_online[f])
    assert ours_online["conv_rate__status"][-1] == "not_found" and theirs_online["conv_rate"][-1] is None

    # Where they differ: a late, older row after the materialization.
    late = pd.DataFrame([(1003, START + timedelta(hours=2), START + timedelta(days=2, hours=1), 0.5, 0.5, 5)],
                        columns=rows.columns)
    pd.concat([rows, late]).to_parquet(source_path)
    fs.materialize(START + timedelta(hours=1), START + timedelta(hours=3))
    store.ingest("driver_hourly_stats", late)
    theirs_after = fs.get_online_features(features=features, entity_rows=[{"driver_id": 1003}]).to_dict()
    ours_after = store.get_online_features(features, [{"driver_id": 1003}], now=START + timedelta(hours=48)).to_dict()
    assert theirs_after["avg_daily_trips"] == [5]  # Feast's online store went back in time
    assert ours_after["avg_daily_trips"] == ours_online["avg_daily_trips"][2:3]  # pitstore kept the newest row
    store.close()


def test_ranking_views(tmp_path):
    rng = random.Random(16)
    users, items = list(range(1, 41)), [f"i{n}" for n in range(25)]
    def series(key_columns, n, feature):
        out = []
        for _ in range(n):
            keys = [rng.choice(k) for k in key_columns]
            ts = START + timedelta(minutes=rng.randrange(0, 3 * 24 * 60))
            out.append((*keys, ts, ts + timedelta(seconds=rng.randrange(1, 600)), rng.random()))
        return out
    data = {
        "user_stats": (["user_id"], pd.DataFrame(series([users], 600, "ctr"),
                                                 columns=["user_id", "event_timestamp", "created", "user_ctr"])),
        "item_stats": (["item_id"], pd.DataFrame(series([items], 400, "pop"),
                                                 columns=["item_id", "event_timestamp", "created", "item_pop"])),
        "user_item": (["user_id", "item_id"], pd.DataFrame(series([users, items], 1500, "aff"),
                                                            columns=["user_id", "item_id", "event_timestamp", "created",
                                                                     "affinity"])),
    }
    fs = feast_repo(tmp_path / "feast")
    user = feast.Entity(name="user", join_keys=["user_id"])
    item = feast.Entity(name="item", join_keys=["item_id"], value_type=feast.ValueType.STRING)
    store = pitstore.Store(tmp_path / "rank.pit")
    p_user = pitstore.Entity(name="user", join_keys=["user_id"])
    p_item = pitstore.Entity(name="item", join_keys=["item_id"], value_type=pt.String)
    feast_objects, ours_objects = [user, item], [p_user, p_item]
    for name, (keys, df) in data.items():
        path = tmp_path / f"{name}.parquet"
        df.to_parquet(path)
        feature = df.columns[-1]
        ents = [e for e, k in ((user, "user_id"), (item, "item_id")) if k in keys]
        p_ents = [e for e, k in ((p_user, "user_id"), (p_item, "item_id")) if k in keys]
        feast_objects.append(feast.FeatureView(
            name=name, entities=ents, ttl=timedelta(days=1), schema=[feast.Field(name=feature, dtype=Float64)],
            source=feast.FileSource(path=str(path), timestamp_field="event_timestamp",
                                    created_timestamp_column="created")))
        ours_objects.append(pitstore.FeatureView(
            name=name, entities=p_ents, ttl=timedelta(days=1), schema=[pitstore.Field(feature, pt.Float64)],
            timestamp_field="event_timestamp", created_timestamp_column="created"))
    fs.apply(feast_objects)
    store.apply(ours_objects)
    for name, (keys, df) in data.items():
        store.ingest(name, df)
    entity_df = pd.DataFrame({
        "user_id": [rng.choice(users) for _ in range(500)],
        "item_id": [rng.choice(items) for _ in range(500)],
        "event_timestamp": [START + timedelta(minutes=rng.randrange(0, 4 * 24 * 60)) for _ in range(500)],
        "row": range(500),
    })
    features = ["user_stats:user_ctr", "item_stats:item_pop", "user_item:affinity"]
    theirs = fs.get_historical_features(entity_df=entity_df, features=features).to_df()
    ours = store.get_historical_features(entity_df, features).to_df()
    names = ["user_ctr", "item_pop", "affinity"]
    assert list(ours["row"]) == list(range(500))  # every label row, in order
    kept = ours["row"].isin(set(theirs["row"]))
    assert ours[~kept][names].isna().any(axis=1).all(), "Feast dropped a label row that had every feature"
    sources = {df.columns[-1]: df for _, df in data.values()}
    earlier = []
    compared = compare(ours[kept], theirs, names, sources=sources, differences=earlier)
    print(f"ranking: {compared} values equal over {kept.sum()} label rows; Feast dropped {(~kept).sum()} of 500 rows "
          f"and kept the earlier of two same-time rows {len(earlier)} time(s)")
    assert compared >= 600

    fs.materialize(START - timedelta(days=1), START + timedelta(days=4))
    rows = [{"user_id": rng.choice(users), "item_id": rng.choice(items)} for _ in range(50)]
    theirs_online = fs.get_online_features(features=features, entity_rows=rows).to_dict()
    ours_online = store.get_online_features(features, rows, now=START + timedelta(days=3)).to_dict(
        include_statuses=True)
    equal = 0
    for f in names:
        for a, b, status in zip(ours_online[f], theirs_online[f], ours_online[f + "__status"]):
            if status == "expired":
                assert a is None and b is not None  # Feast serves it past its TTL
            elif not feast_kept_the_earlier_duplicate(sources[f], f, a, b):
                assert same(a, b), (f, a, b)
                equal += 1
    assert equal >= 50
    store.close()
