"""The pitstore package, call by call and semantic by semantic: definitions (objects and YAML),
ingest from pandas, pyarrow, polars and files, the point-in-time join (every known-at mode,
corrections, late rows, TTL, nulls, composite keys, vectors), online features with statuses,
point reads, scans, maintenance, errors, and stores shared with the CLI both ways."""

from __future__ import annotations

import os
import subprocess
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import pitstore
from pitstore import Entity, FeatureService, FeatureView, Field, errors
from pitstore.types import Array, Float32, Float64, Int64, String, UnixTimestamp

UTC = timezone.utc


def t(day: int, hour: int = 0) -> datetime:
    return datetime(2025, 3, day, hour, tzinfo=UTC)


user = Entity(name="user", join_keys=["user_id"])
item = Entity(name="item", join_keys=[("item_id", String)])
stats = FeatureView(name="user_stats", entities=[user], ttl=timedelta(days=3), timestamp_field="event_timestamp",
                    created_timestamp_column="created",
                    schema=[Field("user_id", Int64), Field("sessions", Int64), Field("score", Float64),
                            Field("country", String), Field("seen", UnixTimestamp), Field("emb", Array(Float32, dim=2))])
pairs = FeatureView(name="user_item", entities=[user, item], timestamp_field="event_timestamp",
                    schema=[Field("clicks", Int64)])
model = FeatureService(name="model", features=[stats[["sessions", "country"]], pairs])


@pytest.fixture
def store(tmp_path):
    s = pitstore.Store(tmp_path / "s.pit")
    s.apply([user, item, stats, pairs, model])
    rows = pd.DataFrame({
        "user_id": [1, 1, 2, 1, 1],
        "event_timestamp": [t(1), t(3), t(2), t(3), t(2)],
        # the second row of (1, day 3) is a correction learned later; the last a late older row
        "created": [t(1, 1), t(3, 1), t(2, 1), t(5), t(6)],
        "sessions": [10, 30, 20, 31, 15],
        "score": [0.5, None, 2.5, 3.5, 1.5],
        "country": ["NL", "DE", None, "FR", "BE"],
        "seen": [t(1), t(2), t(2), t(3), t(1)],
        "emb": [[1.0, 2.0], [3.0, 4.0], None, [5.0, 6.0], [7.0, 8.0]],
    })
    assert s.ingest("user_stats", rows)["records_committed"] == 5
    s.ingest("user_item", pa.table({
        "user_id": pa.array([1, 1, 2], pa.int64()), "item_id": ["a", "b", "a"],
        "event_timestamp": pa.array([t(1), t(2), t(2)], pa.timestamp("us", tz="UTC")), "clicks": [3, 4, 5]}))
    yield s
    s.close()


def test_definitions_from_objects_and_yaml(tmp_path, store):
    assert store.apply([user, item, stats, pairs, model]) == []  # applying again changes nothing
    views = {v["name"]: v for v in store.describe()["feature_views"]}
    assert [f["name"] for f in views["user_stats"]["features"]] == ["sessions", "score", "country", "seen", "emb"]
    assert views["user_stats"]["ttl_us"] == 3 * 86_400_000_000
    assert views["user_stats"]["features"][4]["dim"] == 2
    grown = FeatureView(name="user_stats", entities=[user], ttl=timedelta(days=3), timestamp_field="event_timestamp",
                        created_timestamp_column="created", schema=list(stats.schema) + [Field("plan", String)])
    assert store.apply(grown) == ["update view 'user_stats': add feature 'plan'"]
    retyped = FeatureView(name="user_item", entities=[user, item], timestamp_field="event_timestamp",
                          schema=[Field("clicks", Float64)])
    with pytest.raises(errors.InvalidArgument, match="type cannot change"):
        store.apply(retyped)
    yaml = "entities:\n  - name: shop\n    join_keys:\n      - {name: shop_id, type: string}\n"
    assert store.apply(yaml) == ["create entity 'shop'"]
    path = tmp_path / "bad.yaml"
    path.write_text("entities:\n  - name: shop\n    join_keys:\n      - name: shop_id\n        type: string\n        type: int64\n")
    with pytest.raises(errors.InvalidArgument, match=r"bad.yaml:6:9: key 'type' given twice"):
        store.apply(str(path))


def test_join_keeps_labels_and_is_point_in_time(store):
    labels = pd.DataFrame({
        "user_id": [1, 1, 1, 2, 1, 3],
        "event_timestamp": [t(1, 12), t(2, 12), t(3, 12), t(2, 12), t(3, 12), t(3)],
        "label": [1, 0, 1, 1, 1, 0],
    })
    df = store.get_historical_features(labels, ["user_stats:sessions", "user_stats:score", "user_stats:country"]).to_df()
    assert list(df["label"]) == [1, 0, 1, 1, 1, 0]  # kept, in order, duplicates kept
    # day 3 at noon: the correction (31) wins for a reader who knows it; day 2: the late row (15)
    assert list(df["sessions"].fillna(-1)) == [10, 15, 31, 20, 31, -1]
    assert df["country"].tolist()[:4] == ["NL", "BE", "FR", None]  # nulls are never filled from older rows
    # known at each label's time: the correction (learned day 5) and the late row (day 6) unseen
    as_served = store.get_historical_features(labels, ["user_stats:sessions"], known_at="label").to_df()
    assert list(as_served["sessions"].fillna(-1)) == [10, 10, 30, 20, 30, -1]
    fixed = store.get_historical_features(labels, ["user_stats:sessions"], known_at=t(5, 12)).to_df()
    assert list(fixed["sessions"].fillna(-1)) == [10, 10, 31, 20, 31, -1]


def test_null_label_keys_and_times_keep_their_rows_with_null_features(store):
    labels = pa.table({
        "user_id": pa.array([1, None, 1, 2], pa.int64()),
        "event_timestamp": pa.array([t(3, 12), t(3, 12), None, t(2, 12)], pa.timestamp("us", tz="UTC")),
        "label": [1, 2, 3, 4],
    })
    for known_at in ("now", "label", t(5, 12)):
        df = store.get_historical_features(labels, ["user_stats:sessions"], known_at=known_at).to_df()
        assert df["label"].tolist() == [1, 2, 3, 4]
        assert df["user_id"].isna().tolist() == [False, True, False, False]
        assert df["event_timestamp"].isna().tolist() == [False, False, True, False]
        assert df["sessions"].isna().tolist() == [False, True, True, False]

def test_ttl_vectors_timestamps_and_full_names(store):
    labels = pa.table({"user_id": pa.array([1, 1], pa.int64()),
                       "event_ts": pa.array([t(3, 12), t(9)], pa.timestamp("us", tz="UTC"))})
    table = store.get_historical_features(labels, ["user_stats:*"], full_feature_names=True).to_arrow()
    assert table.column_names == ["user_id", "event_ts", "user_stats__sessions", "user_stats__score",
                                  "user_stats__country", "user_stats__seen", "user_stats__emb"]
    assert table.column("user_stats__emb").to_pylist() == [[5.0, 6.0], None]  # day 9: older than the 3-day TTL
    assert table.column("user_stats__seen").type == pa.timestamp("us", tz="UTC")
    assert table.column("user_stats__seen").to_pylist()[0] == t(3)


def test_composite_keys_and_services(store):
    labels = pd.DataFrame({"user_id": [1, 1, 2], "item_id": ["a", "b", "b"],
                           "event_timestamp": [t(3), t(3), t(3)]})
    df = store.get_historical_features(labels, service="model").to_df()
    assert list(df.columns) == ["user_id", "item_id", "event_timestamp", "sessions", "country", "clicks"]
    assert df["clicks"].fillna(-1).tolist() == [3, 4, -1]


def test_online_features_in_feasts_shape(store):
    r = store.get_online_features(["user_stats:sessions", "user_stats:country", "user_stats:seen"],
                                  [{"user_id": 1}, {"user_id": 2}, {"user_id": 9}], now=t(6))
    d = r.to_dict(include_statuses=True, include_event_timestamps=True)
    assert d["user_id"] == [1, 2, 9]
    assert d["sessions"] == [31, None, None]
    assert d["sessions__status"] == ["present", "expired", "not_found"]  # user 2's row is 4 days old: TTL 3 days
    assert d["seen"][0] == t(3)
    assert d["sessions__event_timestamp"][0] == t(3)
    by_columns = store.get_online_features(service="model", entity_rows={"user_id": [1], "item_id": ["b"]}, now=t(4))
    assert by_columns.to_dict() == {"user_id": [1], "item_id": ["b"], "sessions": [31], "country": ["FR"],
                                   "clicks": [4]}
    as_of = store.get_online_features(["user_stats:sessions"], [{"user_id": 1}], as_of=t(2, 12), known_at=t(5, 12))
    assert as_of.to_dict()["sessions"] == [10]


def test_online_agrees_with_join_and_as_of(store):
    keys = [1, 2, 3]
    online = store.get_online_features(["user_stats:sessions"], {"user_id": keys}, as_of=t(3, 12)).to_dict()
    labels = pd.DataFrame({"user_id": keys, "event_timestamp": [t(3, 12)] * 3})
    joined = store.get_historical_features(labels, ["user_stats:sessions"]).to_df()
    point = [store.as_of("user_stats", k, t(3, 12), features=["sessions"]).values["sessions"] for k in keys]
    assert online["sessions"] == [None if pd.isna(v) else int(v) for v in joined["sessions"]] == point


def test_point_reads_history_scan(store):
    latest = store.latest("user_stats", 1, now=t(4))
    assert latest.found and latest.values["sessions"] == 31 and latest.status["country"] == "present"
    assert latest.values["emb"] == [5.0, 6.0]
    assert store.latest("user_stats", 1, now=t(30)).status["sessions"] == "expired"
    assert store.as_of("user_stats", 1, t(3), known_at=t(4)).values["sessions"] == 30
    history = store.history("user_stats", 1)
    assert [h["sessions"] for h in history] == [10, 15, 30, 31]
    assert store.history("user_stats", 1, known_at=t(5, 12))[-1]["sessions"] == 31
    assert [h["sessions"] for h in store.history("user_stats", 1, known_at=t(4))] == [10, 30]
    assert store.latest("user_item", (1, "b")).values["clicks"] == 4
    batches = list(store.scan("user_stats", batch_rows=2))
    assert sum(b.num_rows for b in batches) == 5
    assert batches[0].schema.names[:3] == ["user_id", "event_ts", "system_ts"]
    assert sum(b.num_rows for b in store.scan("user_stats", known_at=t(4))) == 3


def test_ingest_sources(tmp_path, store):
    polars = pytest.importorskip("polars")
    df = polars.DataFrame({"user_id": [5], "event_timestamp": [t(4)], "sessions": [50]})
    assert store.ingest("user_stats", df)["records_committed"] == 1
    reader = pa.RecordBatchReader.from_batches(
        pa.schema([("user_id", pa.int64()), ("event_timestamp", pa.timestamp("ns", tz="UTC")), ("sessions", pa.int64())]),
        [pa.record_batch([pa.array([6], pa.int64()), pa.array([t(4)], pa.timestamp("ns", tz="UTC")),
                          pa.array([60], pa.int64())], names=["user_id", "event_timestamp", "sessions"])])
    assert store.ingest("user_stats", reader)["records_committed"] == 1
    pq.write_table(pa.table({"user_id": pa.array([7], pa.int64()),
                             "event_timestamp": pa.array([t(4)], pa.timestamp("ms", tz="UTC")),
                             "sessions": pa.array([70], pa.int64())}), tmp_path / "rows.parquet")
    assert store.ingest("user_stats", tmp_path / "rows.parquet")["records_committed"] == 1
    (tmp_path / "rows.csv").write_text("user_id,event_timestamp,sessions\n8,2025-03-04T00:00:00Z,80\n")
    assert store.ingest("user_stats", str(tmp_path / "rows.csv"))["records_committed"] == 1
    got = store.get_online_features(["user_stats:sessions"], {"user_id": [5, 6, 7, 8]}, now=t(4)).to_dict()
    assert got["sessions"] == [50, 60, 70, 80]


def test_naive_times_are_refused_unless_a_zone_is_given(store):
    naive = pd.DataFrame({"user_id": [9], "event_timestamp": [datetime(2025, 3, 4, 2)], "sessions": [90]})
    with pytest.raises(errors.InvalidArgument, match="naive timestamps"):
        store.ingest("user_stats", naive)
    store.ingest("user_stats", naive, timezone="Europe/Amsterdam")
    assert store.latest("user_stats", 9).event_timestamp == datetime(2025, 3, 4, 1, tzinfo=UTC)
    with pytest.raises(errors.InvalidArgument, match="no time zone"):
        store.as_of("user_stats", 9, datetime(2025, 3, 5))



def test_integer_times_name_their_unit_or_must_be_plausible_microseconds(store):
    seconds = pd.DataFrame({"user_id": [9], "event_timestamp": [1741046400], "sessions": [90]})  # 2025-03-04
    with pytest.raises(errors.InvalidArgument, match=r"row 1: 1741046400: .*in s it is 2025-03-04T00:00:00Z"):
        store.ingest("user_stats", seconds)
    assert not store.latest("user_stats", 9).found
    store.ingest("user_stats", seconds, epoch_unit="s")
    assert store.latest("user_stats", 9).event_timestamp == datetime(2025, 3, 4, tzinfo=UTC)
    labels = pd.DataFrame({"user_id": [9], "event_ts": [1741046400000]})
    with pytest.raises(errors.InvalidArgument, match="in ms it is 2025-03-04"):
        store.get_historical_features(labels, ["user_stats:sessions"])
    joined = store.get_historical_features(labels, ["user_stats:sessions"], epoch_unit="ms").to_df()
    assert joined["sessions"].tolist() == [90]


def test_ingest_names_ignored_columns_and_features_left_null(store):
    typo = pd.DataFrame({"user_id": [9], "event_timestamp": [t(4)], "sesions": [90]})
    with pytest.raises(errors.InvalidArgument, match=r"unknown column 'sesions' \(did you mean 'sessions'\?\)"):
        store.ingest("user_stats", typo)
    with pytest.warns(UserWarning, match="ignored columns the view does not have: sesions"):
        report = store.ingest("user_stats", typo, ignore_extra_columns=True)
    assert report["ignored_columns"] == ["sesions"]
    assert "sessions" in report["features_without_column"]
    assert store.latest("user_stats", 9).found

def test_stats_equal_pandas_over_the_stored_versions_before_and_after_compaction(tmp_path):
    import numpy as np

    rng = np.random.default_rng(7)
    s = pitstore.Store(tmp_path / "st.pit")
    s.apply([user, stats])
    n = 4000
    days = rng.integers(1, 28, n)
    frame = pd.DataFrame({
        "user_id": rng.integers(0, 300, n),
        "event_timestamp": [t(int(d), int(h)) for d, h in zip(days, rng.integers(0, 24, n))],
        "sessions": rng.integers(0, 100, n),
        "score": np.where(rng.random(n) < 0.1, np.nan, rng.normal(50, 12, n)),  # NaN is null from pandas
        "country": rng.choice(["NL", "DE", "FRA", None], n),
        "seen": [t(1)] * n,
        "emb": [[float(a), 1.0] for a in rng.integers(0, 5, n)],
    })
    for part in (frame.iloc[i * 1000:(i + 1) * 1000] for i in range(4)):
        s.ingest("user_stats", part)

    def check(start=None, end=None):
        want = frame
        if start is not None:
            want = want[(want["event_timestamp"] >= start) & (want["event_timestamp"] <= end)]
        got = s.stats("user_stats", start=start, end=end).set_index("feature")
        assert got.loc["sessions", "rows"] == len(want)
        assert got.loc["sessions", "p50"] == np.sort(want["sessions"].to_numpy())[(len(want) - 1) // 2]
        assert got.loc["sessions", "mean"] == pytest.approx(want["sessions"].mean())
        assert got.loc["score", "nulls"] == want["score"].isna().sum()
        assert got.loc["score", "min"] == want["score"].min()
        assert got.loc["score", "max"] == want["score"].max()
        assert got.loc["score", "stddev"] == pytest.approx(want["score"].std(ddof=0))
        lengths = want["country"].dropna().str.len()
        assert got.loc["country", "measure"] == "length"
        assert got.loc["country", "mean"] == pytest.approx(lengths.mean())
        norms = np.sqrt(np.array([e[0] ** 2 + 1 for e in want["emb"]]))
        assert got.loc["emb", "measure"] == "norm"
        assert got.loc["emb", "max"] == pytest.approx(norms.max())
        assert pd.isna(got.loc["seen", "p50"])  # timestamps: no quantiles

    check()
    check(t(5), t(12, 23))
    s.compact(full=True)
    check()
    check(t(5), t(12, 23))
    assert list(s.stats("user_stats", features=["score"], quantiles=[0.1, 0.999]).columns[-2:]) == ["p10", "p99_9"]
    # Drift: the same window is stable; a window whose sessions moved is not.
    shifted = frame.assign(event_timestamp=[t(28)] * n, sessions=frame["sessions"] + 60)
    s.ingest("user_stats", shifted)
    same = s.drift("user_stats", (t(1), t(15)), (t(1), t(15))).set_index("feature")
    assert same.loc["sessions", "psi"] == pytest.approx(0.0, abs=1e-12)
    moved = s.drift("user_stats", (t(1), t(28)), (t(28), None)).set_index("feature")
    assert moved.loc["sessions", "drift"] == "large" and moved.loc["sessions", "psi"] > 1
    assert moved.loc["sessions", "current_rows"] == n
    assert moved.loc["country", "drift"] == "stable"
    with pytest.raises(errors.InvalidArgument, match="empty"):
        s.drift("user_stats", (t(5), t(1)), (t(1), t(2)))
    with pytest.raises(errors.NotFound):
        s.stats("user_stats", features=["nope"])
    s.close()


def test_naive_parquet_times_read_in_the_given_zone(tmp_path, store):
    # pandas writes tz-naive datetimes as TIMESTAMP(isAdjustedToUTC=false): local times.
    path = tmp_path / "naive.parquet"
    pq.write_table(pa.table({"user_id": pa.array([7], pa.int64()),
                             "event_timestamp": pa.array([datetime(2025, 3, 4, 12)], pa.timestamp("us")),
                             "sessions": pa.array([70], pa.int64())}), path)
    store.ingest("user_stats", path)  # no zone: UTC, as Feast reads them
    store.ingest("user_stats", path, timezone="+02:00")  # 10:00 UTC
    times = [r["event_timestamp"] for r in store.history("user_stats", 7)]
    assert times == [datetime(2025, 3, 4, 10, tzinfo=UTC), datetime(2025, 3, 4, 12, tzinfo=UTC)]
    # The tool's Parquet paths (ingest and join labels) read them the same way.
    tool = cli()
    if not os.path.exists(tool):
        pytest.skip(f"the pitstore tool is not built at {tool} (set PITSTORE_CLI)")
    store.close()
    subprocess.run([tool, "ingest", str(tmp_path / "s.pit"), "user_stats", str(path), "--timezone", "-01:30"],
                   check=True, capture_output=True)
    labels = tmp_path / "labels.parquet"
    pq.write_table(pa.table({"user_id": pa.array([7, 7], pa.int64()),
                             "event_timestamp": pa.array([datetime(2025, 3, 4, 13), datetime(2025, 3, 4, 15)],
                                                         pa.timestamp("us"))}), labels)
    out = subprocess.run([tool, "join", str(tmp_path / "s.pit"), str(labels), "--features", "user_stats:sessions",
                          "--timezone", "+02:00", "--output-format", "csv"], check=True, capture_output=True, text=True)
    reopened = pitstore.Store(tmp_path / "s.pit", read_only=True)
    times = [r["event_timestamp"] for r in reopened.history("user_stats", 7)]
    assert times[-1] == datetime(2025, 3, 4, 13, 30, tzinfo=UTC)
    reopened.close()
    # 13:00 at +02:00 is 11:00 UTC: it sees the 10:00 row only, and 15:00 (13:00 UTC) all three.
    assert out.stdout.splitlines()[1:] == ["7,2025-03-04T11:00:00Z,70", "7,2025-03-04T13:00:00Z,70"]
    # Parquet in and out runs as typed tables: the same shift.
    subprocess.run([tool, "join", str(tmp_path / "s.pit"), str(labels), "--features", "user_stats:sessions",
                    "--timezone", "+02:00", "--out", str(tmp_path / "train.parquet")], check=True, capture_output=True)
    train = pq.read_table(tmp_path / "train.parquet").to_pylist()
    assert [r["event_timestamp"].replace(tzinfo=UTC) for r in train] == [datetime(2025, 3, 4, 11, tzinfo=UTC),
                                                                         datetime(2025, 3, 4, 13, tzinfo=UTC)]


def test_drop_feature_and_view(store):
    with pytest.raises(errors.InvalidArgument, match="used by feature service"):
        store.drop_feature("user_stats", "sessions")
    store.drop_feature("user_stats", "score")
    row = store.as_of("user_stats", 1, t(3, 12))
    assert "score" not in row.values and row.values["sessions"] == 31
    with pytest.raises(errors.InvalidArgument):
        store.ingest("user_stats", pd.DataFrame({"user_id": [5], "event_timestamp": [t(9)], "score": [1.0]}))
    with pytest.raises(errors.InvalidArgument, match="used by feature service"):
        store.drop_view("user_item")
    store.apply([FeatureService(name="model", features=[stats[["sessions"]]])])
    store.drop_view("user_item")
    with pytest.raises(errors.NotFound):
        store.latest("user_item", (1, "a"))


def test_delete_erases_every_version_for_every_reader(tmp_path, store):
    assert store.delete("user_stats", [1, 99]) == 4  # user 1's four versions; 99 has none
    assert not store.latest("user_stats", 1).found
    assert not store.as_of("user_stats", 1, t(3, 12), known_at=t(1, 12)).found
    assert store.history("user_stats", 1) == []
    df = store.get_historical_features(pd.DataFrame({"user_id": [1, 2], "event_timestamp": [t(3), t(3)]}),
                                       ["user_stats:sessions"]).to_df()
    assert df["sessions"].isna().tolist() == [True, False]
    assert store.delete("user_item", [(1, "a")]) == 1
    assert store.latest("user_item", (1, "b")).found
    with pytest.raises(errors.NotFound):
        store.delete("nope", [1])


    bad = pd.DataFrame({"user_id": [3, 3], "event_timestamp": [t(4), t(4)], "sessions": ["x", "y"]})
    with pytest.raises(errors.InvalidArgument, match=r"column 'sessions' \(feature 'sessions', int64\)"):
        store.ingest("user_stats", bad)
    short = pd.DataFrame({"user_id": [3, 3], "event_timestamp": [t(4), t(5)], "emb": [[1.0, 2.0], [1.0, 2.0, 3.0]]})
    with pytest.raises(errors.InvalidArgument, match=r"column 'emb' .*row 2: a list of 3 floats"):
        store.ingest("user_stats", short)
    mixed = pd.DataFrame({"user_id": [3, "two"], "event_timestamp": [t(4), t(4)]})
    with pytest.raises(errors.InvalidArgument, match="user_id"):
        store.ingest("user_stats", mixed)
    assert not store.latest("user_stats", 3).found
    with pytest.raises(errors.NotFound, match="no feature view 'nope'"):
        store.get_online_features(["nope:x"], [{"user_id": 1}])
    with pytest.raises(errors.InvalidArgument, match="event_timestamp"):
        store.get_historical_features(pd.DataFrame({"user_id": [1]}), ["user_stats:sessions"],
                                      label_time_column="event_timestamp")
    with pytest.raises(errors.InvalidArgument, match="'user_id'"):
        store.get_online_features(["user_stats:sessions"], [{"user_id": "one"}])
    with pytest.raises(pitstore.Error):
        store.latest("user_stats", (1, 2))


def test_copy_in_small_pages_answers_the_same(tmp_path, store):
    store.close()
    source = tmp_path / "s.pit"
    with pitstore.Store(source, read_only=True, page_rows=16) as small:
        small.copy(tmp_path / "small.pit")
    with pitstore.Store(source, read_only=True) as a, pitstore.Store(tmp_path / "small.pit", read_only=True) as b:
        for key in (1, 2, 3):
            for when in (t(1), t(2), t(3, 12), t(4)):
                assert b.as_of("user_stats", key, when) == a.as_of("user_stats", key, when)
    cli = os.environ.get("PITSTORE_CLI")
    if cli and os.path.exists(cli):  # the pages themselves, as the tool lists them
        blocks = subprocess.run(
            [cli, "dump", "--blocks", str(tmp_path / "small.pit"), "user_stats"], capture_output=True, text=True
        )
        assert blocks.returncode == 0, blocks.stderr
        assert [line.split()[4] for line in blocks.stdout.splitlines()[1:] if " segment " in line] == ["16"]
    with pytest.raises(ValueError, match="page_rows"):
        pitstore.Store(source, read_only=True, page_rows=3)


def test_segments_cut_by_rows_or_bytes_answer_the_same(tmp_path, store):
    # user_stats holds 5 rows of 2 users; user_item 3 rows of 3 keys. Segments of at most one
    # row, or of a few bytes, cut at the end of each entity's rows: one segment per key.
    store.close()
    source = tmp_path / "s.pit"
    cuts = (("whole.pit", {}, 1, 1), ("rows.pit", {"segment_rows": 1}, 2, 3), ("bytes.pit", {"segment_bytes": 8}, 2, 3))
    for name, shape, user_segments, pair_segments in cuts:
        with pitstore.Store(source, read_only=True, **shape) as cut:
            cut.copy(tmp_path / name)
        with pitstore.Store(source, read_only=True) as a, pitstore.Store(tmp_path / name, read_only=True) as b:
            segments = {v["name"]: v["segments"] for v in b.info()["views"]}
            assert segments == {"user_stats": user_segments, "user_item": pair_segments}, (name, segments)
            for key in (1, 2, 3):
                for when in (t(1), t(2), t(3, 12), t(4)):
                    assert b.as_of("user_stats", key, when) == a.as_of("user_stats", key, when)
    for bad in ({"segment_rows": 0}, {"segment_bytes": 0}, {"segment_bytes": 2**30 + 1}, {"segment_rows": True}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            pitstore.Store(source, read_only=True, **bad)


def test_maintenance_and_read_only(tmp_path, store):
    store.compact(full=True)
    assert store.info()["views"][0]["segments"] >= 1
    # A new file: int64 keys as differences (2), time chunks in frames (4).
    assert store.info()["required_features"] == 6
    assert store.verify()["ok"]
    store.copy(tmp_path / "copy.pit")
    with pytest.raises(errors.AlreadyExists):
        store.copy(tmp_path / "copy.pit")
    store.vacuum()
    with pitstore.Store(tmp_path / "copy.pit", read_only=True) as copy:
        assert copy.latest("user_stats", 1, now=t(4)).values["sessions"] == 31
        with pytest.raises(pitstore.Error):
            copy.ingest("user_stats", pd.DataFrame({"user_id": [1], "event_timestamp": [t(4)]}))
    with pytest.raises(errors.Busy):
        pitstore.Store(store.path)  # one open per store per process
    store.close()
    with pytest.raises(pitstore.Error, match="closed"):
        store.info()
    with pytest.raises(errors.NotFound):
        pitstore.Store(tmp_path / "missing.pit", read_only=True)


def cli():
    return os.environ.get("PITSTORE_CLI") or os.path.join(os.path.dirname(__file__), "..", "..", "build", "bin",
                                                          "pitstore")


@pytest.mark.skipif(not os.path.exists(cli()), reason="the pitstore tool is not built (set PITSTORE_CLI)")
def test_stores_are_shared_with_the_cli_both_ways(tmp_path, store):
    path = store.path
    store.close()
    out = subprocess.run([cli(), "get", path, "user_stats", "1", "--as-of", "2025-03-03T12:00:00Z", "--format", "csv"],
                         capture_output=True, text=True, check=True).stdout
    assert ",31," in out
    made = tmp_path / "cli.pit"
    yaml = os.path.join(os.path.dirname(__file__), "..", "..", "tools", "sample", "user_stats.yaml")
    sample = os.path.join(os.path.dirname(__file__), "..", "..", "tools", "sample", "user_stats.csv")
    subprocess.run([cli(), "init", str(made)], check=True, capture_output=True)
    subprocess.run([cli(), "apply", str(made), yaml], check=True, capture_output=True)
    subprocess.run([cli(), "ingest", str(made), "user_stats", sample], check=True, capture_output=True)
    with pitstore.Store(made, read_only=True) as s:
        assert s.info()["views"][0]["rows"] == 3997
        r = s.get_online_features(service="churn_model", entity_rows=[{"user_id": 42}],
                                  as_of="2025-03-06T00:00:00Z").to_dict()
        assert r["sessions_7d"] == [7]


def test_merges_that_writes_make_due_are_done_when_ingest_returns(tmp_path):
    s = pitstore.Store(tmp_path / "m.pit")
    s.apply([user, stats])
    n = 400
    frame = pd.DataFrame({"user_id": np.arange(n) % 50,
                          "event_timestamp": [t(1) + timedelta(minutes=i) for i in range(n)],
                          "sessions": np.arange(n)})
    # 40 commits of 10 rows: the 32nd makes a merge of the row batches due (the store's thread runs it)
    assert s.ingest("user_stats", frame, batch_rows=10)["batches_committed"] == 40
    view = s.info()["views"][0]
    assert view["segments"] >= 1 and view["row_batches"] < 32 and view["rows"] == n
    assert s.info()["merges"]["count"] >= 1
    s.wait_for_merges()  # nothing left to wait for, and no failure to report
    assert s.latest("user_stats", 7, now=t(2)).values["sessions"] == 357  # the view has a TTL of 3 days
    s.close()
