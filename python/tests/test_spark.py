"""Sharded stores on Spark's local mode: the shard hash of Spark, Python and C++ agree; a sharded
join equals the single store's row for row in every known-at mode (and the same through
``ShardedStore``); a build whose task fails mid-way and is retried commits the same rows; an
incremental build equals a full one. Skipped, saying why, where PySpark or Java is missing."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import urllib.error
import urllib.request
import random
import shutil
import sys
from datetime import timedelta

import pandas as pd
import pyarrow as pa
import pytest

import pitstore
from pitstore import sharded

pyspark = pytest.importorskip("pyspark", reason="PySpark is not installed (tools/setup.sh installs it)")
if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
    pytest.skip("no Java: Spark needs a JVM (Debian: openjdk-17-jre-headless)", allow_module_level=True)

from pyspark.sql import SparkSession  # noqa: E402
from pyspark.sql import functions as F  # noqa: E402

from pitstore import spark as pitspark  # noqa: E402
from sharded_cases import (BASE, DEFINITIONS, FEATURES, KNOWN_AT, assert_same, expected_join,  # noqa: E402
                           make_data, single_store)

CLI = os.environ.get("PITSTORE_CLI") or os.path.join(os.path.dirname(__file__), "..", "..", "build", "bin", "pitstore")


@pytest.fixture(scope="module")
def spark():
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # the workers import pitstore from this Python
    # local[2, 4]: two threads, and a failed task is tried up to 4 times (as on a cluster).
    session = (SparkSession.builder.master("local[2,4]").appName("pitstore-tests")
               .config("spark.ui.enabled", "false").config("spark.sql.session.timeZone", "UTC")
               .config("spark.sql.shuffle.partitions", "4")
               .config("spark.sql.execution.arrow.maxRecordsPerBatch", "300")  # many batches per task
               .config("spark.driver.memory", "1g").getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def spark_join(spark, labels: pd.DataFrame, store_dir, known_at) -> pd.DataFrame:
    out = pitspark.get_historical_features(spark.createDataFrame(labels), store_dir, FEATURES, known_at)
    return out.toPandas().sort_values("label_id").reset_index(drop=True)


def test_spark_python_and_cpp_hash_agree(spark):
    rng = random.Random(7)
    ints = [0, 1, -1, 42, 2**63 - 1, -2**63] + [rng.randrange(-2**63, 2**63) for _ in range(300)]
    strings = ["", "a", "héllo wörld", "x" * 40, "0123456789abcdef0123456789abcdef0"] + [
        "".join(rng.choice("abcé€😀0") for _ in range(rng.randrange(0, 50))) for _ in range(300)]
    df = spark.createDataFrame(pd.DataFrame({"i": ints[:len(strings)], "s": strings[:len(ints)]}))
    got = df.select("i", "s", F.xxhash64("i").alias("hi"), F.xxhash64("s").alias("hs"),
                    F.xxhash64("i", "s").alias("his"), F.pmod(F.xxhash64("i"), F.lit(7)).alias("p7"),
                    F.pmod(F.xxhash64("s"), F.lit(13)).alias("p13")).collect()
    for r in got:
        assert sharded.spark_xxhash64(r.i) == r.hi
        assert sharded.spark_xxhash64(r.s) == r.hs
        assert sharded.spark_xxhash64(r.i, r.s) == r.his
    assert sharded.shards_of([[r.i for r in got]], 7) == [r.p7 for r in got]
    assert sharded.shards_of([[r.s for r in got]], 13) == [r.p13 for r in got]
    # the column build and join use
    via_column = df.select(pitspark.shard_column([("i", "int64"), ("s", "string")], 5).alias("x")).collect()
    assert [r.x for r in via_column] == sharded.shards_of([[r.i for r in got], [r.s for r in got]], 5)


@pytest.fixture(scope="module")
def data():
    return make_data()


def test_sharded_join_equals_single_store(spark, data, tmp_path):
    rows, labels = data
    manifest = pitspark.build(spark.createDataFrame(rows), tmp_path / "sharded", "stats", shards=3,
                              definitions=DEFINITIONS)
    assert len(manifest["shards"]) == 3 and sum(e["rows"] for e in manifest["shards"]) == len(rows)
    assert all(e["rows"] > 0 for e in manifest["shards"])
    single = single_store(tmp_path / "single.pit", rows)
    for known_at in KNOWN_AT:
        want = expected_join(single, labels, known_at)
        assert_same(spark_join(spark, labels, tmp_path / "sharded", known_at), want)
        with pitstore.sharded.ShardedStore(tmp_path / "sharded", verify_checksums=True) as one:
            got = one.get_historical_features(labels, FEATURES, known_at=known_at).to_df()
            assert got["label_id"].tolist() == labels["label_id"].tolist()  # the labels' order
            assert_same(got.sort_values("label_id").reset_index(drop=True), want)
    # online: every key routed to its shard answers as the single store does
    keys = [{"user_id": u} for u in range(-85, 85)]
    with pitstore.sharded.ShardedStore(tmp_path / "sharded") as one:
        now = BASE + timedelta(days=18)
        got = one.get_online_features(FEATURES, keys, now=now).to_dict(include_statuses=True)
        want = single.get_online_features(FEATURES, keys, now=now).to_dict(include_statuses=True)
        assert got == want
        for u in (-80, 0, 3, 79):
            assert one.latest("stats", u, now=now) == single.latest("stats", u, now=now)
            assert one.as_of("stats", u, BASE + timedelta(days=7)) == single.as_of("stats", u, BASE + timedelta(days=7))
    # served: `pitstore serve DIR` routes each entity row to its shard (the C++ ShardedStore)
    if os.path.exists(CLI):
        as_of = BASE + timedelta(days=12)
        body = {"features": FEATURES, "entities": {"user_id": [k["user_id"] for k in keys]},
                "as_of": as_of.isoformat()}
        proc = subprocess.Popen([CLI, "serve", str(tmp_path / "sharded"), "--port", "0"], stderr=subprocess.PIPE,
                                text=True)
        try:
            line = proc.stderr.readline()
            assert "3 shards" in line, line
            url = "http://127.0.0.1:" + re.search(r":(\d+)", line.split("http://")[1]).group(1)
            req = urllib.request.Request(url + "/get-online-features", json.dumps(body).encode(), method="POST")
            with urllib.request.urlopen(req, timeout=10) as r:
                served = json.loads(r.read())
            want = single.get_online_features(FEATURES, keys, as_of=as_of).to_dict(include_statuses=True)
            for i, name in enumerate(served["metadata"]["feature_names"][1:], start=1):
                assert served["results"][i]["values"] == want[name], name
                assert [st.lower() for st in served["results"][i]["statuses"]] == [
                    {"present": "present", "null": "null_value", "not_found": "not_found", "expired": "outside_max_age"}[x]
                    for x in want[name + "__status"]], name
            push = urllib.request.Request(url + "/push", json.dumps({"push_source_name": "stats", "df": {}}).encode(),
                                          method="POST")
            with pytest.raises(urllib.error.HTTPError, match="405"):
                urllib.request.urlopen(push, timeout=10)
            # health and metrics cover every shard: rows summed, one commit sequence a shard
            with urllib.request.urlopen(url + "/health", timeout=10) as r:
                assert r.status == 200
            with urllib.request.urlopen(url + "/metrics", timeout=10) as r:
                metrics = r.read().decode()
            assert "pitstore_shards 3\n" in metrics and "pitstore_manifest_generation 1\n" in metrics
            assert len(re.findall(r'^pitstore_commit_seq\{shard="\d"\} \d+$', metrics, re.M)) == 3
            assert f'pitstore_view_rows{{view="stats"}} {len(rows)}\n' in metrics
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=10)
    single.close()


def test_a_task_failing_mid_build_leaves_a_manifest_of_the_same_rows(spark, data, tmp_path):
    rows, labels = data
    df = spark.createDataFrame(rows)
    clean = pitspark.build(df, tmp_path / "clean", "stats", shards=2, definitions=DEFINITIONS)
    retried = pitspark.build(df, tmp_path / "retried", "stats", shards=2, definitions=DEFINITIONS,
                             batch_rows=200, _inject_failure=(0, 600))
    # partition 0's first attempt died after committing batches of 200 rows; its retry succeeded
    files = sorted(f"shards/{d}/{p}" for d in os.listdir(tmp_path / "retried" / "shards") if not d.startswith(".")
                   for p in os.listdir(tmp_path / "retried" / "shards" / d) if p.endswith(".pit"))
    named = {e["path"] for e in retried["shards"]}
    assert named < set(files), "the failed attempt's file stays, unnamed by the manifest"
    assert [e["rows"] for e in retried["shards"]] == [e["rows"] for e in clean["shards"]]
    for a, b in zip(clean["shards"], retried["shards"]):
        with pitstore.Store(tmp_path / "clean" / a["path"], read_only=True) as x, \
                pitstore.Store(tmp_path / "retried" / b["path"], read_only=True) as y:
            assert pa.Table.from_batches(list(x.scan("stats"))).equals(pa.Table.from_batches(list(y.scan("stats"))))
    assert_same(spark_join(spark, labels, tmp_path / "retried", "label"),
                spark_join(spark, labels, tmp_path / "clean", "label"))


def test_an_incremental_build_equals_a_full_one(spark, data, tmp_path):
    rows, labels = data
    cut = BASE + timedelta(days=11)
    first, second = rows[rows["created_ts"] < cut], rows[rows["created_ts"] >= cut]
    pitspark.build(spark.createDataFrame(first), tmp_path / "inc", "stats", shards=3, definitions=DEFINITIONS)
    before = sharded.read_manifest(tmp_path / "inc")
    after = pitspark.build(spark.createDataFrame(second), tmp_path / "inc", "stats")
    assert after["generation"] == 2 and sum(e["rows"] for e in after["shards"]) == len(rows)
    assert [e["path"] for e in after["shards"]] != [e["path"] for e in before["shards"]]
    pitspark.build(spark.createDataFrame(rows), tmp_path / "full", "stats", shards=3, definitions=DEFINITIONS)
    for known_at in KNOWN_AT:
        assert_same(spark_join(spark, labels, tmp_path / "inc", known_at),
                    spark_join(spark, labels, tmp_path / "full", known_at))
    with pytest.raises(pitstore.errors.InvalidArgument, match="resharding"):
        pitspark.build(spark.createDataFrame(second), tmp_path / "inc", "stats", shards=4)


def test_the_script_form_builds(spark, data, tmp_path):
    """`python -m pitstore.spark build` (Parquet in, a Spark of its own) makes the store the API makes."""
    rows, labels = data
    rows.to_parquet(tmp_path / "rows.parquet", coerce_timestamps="us")  # Spark reads no nanoseconds
    (tmp_path / "defs.yaml").write_text(DEFINITIONS)
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable)
    run = subprocess.run([sys.executable, "-m", "pitstore.spark", "--master", "local[2]", "build",
                          str(tmp_path / "rows.parquet"), str(tmp_path / "s"), "stats", "--shards", "2",
                          "--definitions", str(tmp_path / "defs.yaml")],
                         env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    assert json.loads(run.stdout.strip().splitlines()[-1])["rows"] == len(rows)
    with single_store(tmp_path / "single.pit", rows) as single:
        assert_same(spark_join(spark, labels, tmp_path / "s", "label"), expected_join(single, labels, "label"))
    with pytest.raises(pitstore.errors.InvalidArgument, match="no feature view 'nope'"):
        pitspark.build(spark.createDataFrame(rows), tmp_path / "s", "nope")


def test_empty_shards_build_time_and_untouched_shards(spark, tmp_path):
    """More shards than keys: shards no row hashes to are empty stores; without a created column
    every row gets the build's one system time; an increment leaves shards it does not touch on
    their file; a second build while one runs is refused; a reordered manifest is refused."""
    rows = pd.DataFrame({"user_id": [5, 5, 9], "event_ts": [BASE, BASE + timedelta(days=1), BASE],
                         "clicks": pd.array([1, 2, 3], "Int64"), "score": [0.5, None, 1.5],
                         "country": ["NL", "DE", None]})
    m = pitspark.build(spark.createDataFrame(rows), tmp_path / "e", "stats", shards=6, definitions=DEFINITIONS)
    assert [e["rows"] for e in m["shards"]].count(0) >= 4 and sum(e["rows"] for e in m["shards"]) == 3
    system_times = {(e["min_system_ts"], e["max_system_ts"]) for e in m["shards"] if e["rows"]}
    assert len(system_times) == 1 and len(set(next(iter(system_times)))) == 1  # one time for the build
    with sharded.ShardedStore(tmp_path / "e", verify_checksums=True) as one:
        now = BASE + timedelta(days=2)  # the view's TTL is 5 days
        assert one.latest("stats", {"user_id": 5}, now=now).values["clicks"] == 2
        assert not one.latest("stats", 6, now=now).found
        assert one.as_of("stats", 9, BASE).values["score"] == 1.5
        got = one.get_online_features(["stats:clicks"], {"user_id": [5, 9, 7]}, now=BASE).to_dict()
        assert got["clicks"] == [2, 3, None]
    # an increment for user 9 only: every other shard keeps its file
    inc = pitspark.build(spark.createDataFrame(rows[rows.user_id == 9].assign(clicks=pd.array([4], "Int64"))),
                         tmp_path / "e", "stats")
    nine = sharded.shards_of([[9]], 6)[0]
    assert [e["path"] for i, e in enumerate(inc["shards"]) if i != nine] == \
        [e["path"] for i, e in enumerate(m["shards"]) if i != nine]
    assert inc["shards"][nine]["path"] != m["shards"][nine]["path"] and inc["shards"][nine]["rows"] == 2
    with sharded.ShardedStore(tmp_path / "e") as one:
        assert one.latest("stats", 9, now=BASE).values["clicks"] == 4  # the later system time wins
    # one build at a time
    lock = sharded.DirectoryLock(str(tmp_path / "e"))
    try:
        with pytest.raises(pitstore.errors.Busy, match="another build"):
            pitspark.build(spark.createDataFrame(rows), tmp_path / "e", "stats")
    finally:
        lock.release()
    # a manifest whose shards are out of order misroutes every key: refused, naming the field
    manifest = json.loads((tmp_path / "e" / "MANIFEST").read_text())
    manifest["shards"][0], manifest["shards"][1] = manifest["shards"][1], manifest["shards"][0]
    (tmp_path / "bad.json").write_text(json.dumps(manifest))
    with pytest.raises(pitstore.errors.InvalidArgument, match=r"shards\[0\]\.'shard' is 1, expected 0"):
        sharded.read_manifest(tmp_path / "bad.json")
