"""Sharded stores built and joined by Ray Data on a local Ray (two CPUs): the sharded join equals
the single store's row for row in every known-at mode; a worker killed mid-build (os._exit) is
retried and the manifest reads the same rows; an incremental build equals a full one; a Ray-built
store is the store Spark's rule describes (every key in the shard the engine computes).
Skipped, saying why, where Ray is not installed."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta

import pandas as pd
import pyarrow as pa
import pytest

import pitstore
from pitstore import sharded

ray = pytest.importorskip("ray", reason="Ray is not installed (tools/setup.sh installs it: pip install 'ray[data]')")

from ray.data.context import ShuffleStrategy  # noqa: E402

from pitstore import ray as pitray  # noqa: E402
from sharded_cases import (BASE, DEFINITIONS, FEATURES, KNOWN_AT, assert_same, expected_join,  # noqa: E402
                           make_data, single_store)

CLI = os.environ.get("PITSTORE_CLI") or os.path.join(os.path.dirname(__file__), "..", "..", "build", "bin", "pitstore")


@pytest.fixture(scope="module")
def local_ray():
    # Workers import pitstore from where this test does.
    path = os.pathsep.join(p for p in sys.path if p)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING,
             runtime_env={"env_vars": {"PYTHONPATH": path}})
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.print_on_execution_start = False
    # Sort-based grouping runs tasks; Ray's default (hash shuffling) starts actors for every
    # dataset (about 9 s each here). The kill test runs under both.
    ray_default = ctx.shuffle_strategy
    ctx.shuffle_strategy = ShuffleStrategy.SORT_SHUFFLE_PULL_BASED
    yield ctx, ray_default
    ray.shutdown()


@pytest.fixture(scope="module")
def data():
    return make_data()


def ray_join(labels: pd.DataFrame, store_dir, known_at) -> pd.DataFrame:
    out = pitray.get_historical_features(ray.data.from_pandas(labels), store_dir, FEATURES, known_at)
    return out.to_pandas().sort_values("label_id").reset_index(drop=True)


def shard_rows(store_dir, manifest: dict) -> list[pa.Table]:
    """Each shard's rows, as its store scans them."""
    out = []
    for e in manifest["shards"]:
        with pitstore.Store(os.path.join(store_dir, e["path"]), read_only=True) as s:
            batches = list(s.scan("stats"))
            out.append(pa.Table.from_batches(batches) if batches else None)
    return out


def test_ray_sharded_join_equals_single_store(local_ray, data, tmp_path):
    rows, labels = data
    manifest = pitray.build(ray.data.from_pandas(rows), tmp_path / "sharded", "stats", shards=3,
                            definitions=DEFINITIONS)
    assert len(manifest["shards"]) == 3 and sum(e["rows"] for e in manifest["shards"]) == len(rows)
    assert all(e["rows"] > 0 for e in manifest["shards"])
    # every row sits in the shard the engine's (Spark's) rule names
    for shard, table in enumerate(shard_rows(tmp_path / "sharded", manifest)):
        assert set(sharded.shards_of([table.column("user_id").to_pylist()], 3)) == {shard}
    single = single_store(tmp_path / "single.pit", rows)
    for known_at in KNOWN_AT:
        want = expected_join(single, labels, known_at)
        assert_same(ray_join(labels, tmp_path / "sharded", known_at), want)
        with sharded.ShardedStore(tmp_path / "sharded", verify_checksums=True) as one:
            got = one.get_historical_features(labels, FEATURES, known_at=known_at).to_df()
            assert_same(got.sort_values("label_id").reset_index(drop=True), want)
    keys = [{"user_id": u} for u in range(-85, 85)]
    now = BASE + timedelta(days=18)
    with sharded.ShardedStore(tmp_path / "sharded") as one:
        assert one.get_online_features(FEATURES, keys, now=now).to_dict(include_statuses=True) == \
            single.get_online_features(FEATURES, keys, now=now).to_dict(include_statuses=True)
    single.close()
    # `pitstore join DIR` (the C++ ShardedJoiner) writes the single store's training set, byte for byte
    if os.path.exists(CLI):
        labels.assign(event_ts=labels["event_ts"].map(lambda t: t.isoformat())).to_csv(tmp_path / "labels.csv",
                                                                                       index=False)
        for known_at in ("now", "label", (BASE + timedelta(days=9)).isoformat()):
            outs = []
            for store in (tmp_path / "sharded", tmp_path / "single.pit"):
                run = subprocess.run([CLI, "join", str(store), str(tmp_path / "labels.csv"), "--features",
                                      ",".join(FEATURES), "--known-at", known_at], capture_output=True, text=True)
                assert run.returncode == 0, run.stderr
                outs.append(run.stdout)
            assert outs[0] == outs[1] and outs[0].count("\n") == len(labels) + 1


@pytest.mark.parametrize("strategy", ["sort", "ray-default"])
def test_ray_worker_killed_mid_build_leaves_a_manifest_of_the_same_rows(local_ray, data, tmp_path, strategy):
    rows, labels = data
    ds = ray.data.from_pandas(rows)
    clean = pitray.build(ds, tmp_path / "clean", "stats", shards=2, definitions=DEFINITIONS, batch_rows=200)
    marker = str(tmp_path / "killed")
    ctx, ray_default = local_ray
    default = ctx.shuffle_strategy
    if strategy == "ray-default":
        ctx.shuffle_strategy = ray_default
    try:  # a task (sort) or a shuffle actor (hash) dies; Ray retries the task or restarts the actor
        retried = pitray.build(ds, tmp_path / "retried", "stats", shards=2, definitions=DEFINITIONS,
                               batch_rows=200, _kill_first_attempt=(0, marker))
    finally:
        ctx.shuffle_strategy = default
    assert os.path.exists(marker), "the first attempt at shard 0 was killed"
    files = {f"shards/{d}/{p}" for d in os.listdir(tmp_path / "retried" / "shards") if not d.startswith(".")
             for p in os.listdir(tmp_path / "retried" / "shards" / d) if p.endswith(".pit")}
    named = {e["path"] for e in retried["shards"]}
    assert named < files, "the killed attempt's file stays, unnamed by the manifest"
    leftover = (files - named).pop()
    with pitstore.Store(tmp_path / "retried" / leftover, read_only=True) as partial:
        assert 0 < sum(b.num_rows for b in partial.scan("stats")) < clean["shards"][0]["rows"]
    assert [e["rows"] for e in retried["shards"]] == [e["rows"] for e in clean["shards"]]
    for a, b in zip(shard_rows(tmp_path / "clean", clean), shard_rows(tmp_path / "retried", retried)):
        assert a.equals(b)
    assert_same(ray_join(labels, tmp_path / "retried", "label"), ray_join(labels, tmp_path / "clean", "label"))
    # the killed attempt's files are removed once old enough, and only they
    assert sharded.remove_unnamed(tmp_path / "retried") == []  # younger than an hour
    gone = sharded.remove_unnamed(tmp_path / "retried", older_than=0, dry_run=True)
    assert gone and all(g.startswith(leftover) for g in gone) and os.path.exists(tmp_path / "retried" / leftover)
    two_hours_ago = time.time() - 7200
    for g in gone:
        os.utime(tmp_path / "retried" / g, (two_hours_ago, two_hours_ago))
    # old files, but a manifest younger than the grace: its predecessor's readers may still open them
    assert sharded.remove_unnamed(tmp_path / "retried", older_than=3600) == []
    os.utime(tmp_path / "retried" / "MANIFEST", (two_hours_ago, two_hours_ago))
    lock = sharded.DirectoryLock(str(tmp_path / "retried"))
    try:
        with pytest.raises(pitstore.errors.Busy):
            sharded.remove_unnamed(tmp_path / "retried", older_than=3600)
    finally:
        lock.release()
    assert sharded.remove_unnamed(tmp_path / "retried", older_than=3600) == gone
    assert not os.path.exists(tmp_path / "retried" / leftover)
    with sharded.ShardedStore(tmp_path / "retried", verify_checksums=True) as one:
        assert one.shards == 2  # every named file is there, with its checksum
    assert_same(ray_join(labels, tmp_path / "retried", "label"), ray_join(labels, tmp_path / "clean", "label"))


def test_ray_incremental_build_equals_a_full_one(local_ray, data, tmp_path):
    rows, labels = data
    cut = BASE + timedelta(days=11)
    first, second = rows[rows["created_ts"] < cut], rows[rows["created_ts"] >= cut]
    pitray.build(ray.data.from_pandas(first), tmp_path / "inc", "stats", shards=3, definitions=DEFINITIONS)
    after = pitray.build(ray.data.from_pandas(second), tmp_path / "inc", "stats")
    assert after["generation"] == 2 and sum(e["rows"] for e in after["shards"]) == len(rows)
    pitray.build(ray.data.from_pandas(rows), tmp_path / "full", "stats", shards=3, definitions=DEFINITIONS)
    for known_at in KNOWN_AT:
        assert_same(ray_join(labels, tmp_path / "inc", known_at), ray_join(labels, tmp_path / "full", known_at))
    # the first generation's files go (the script form), the second's answers stay
    before = {e["path"] for e in sharded.read_manifest(tmp_path / "inc")["shards"]}
    run = subprocess.run([sys.executable, "-m", "pitstore.sharded", "remove-unnamed", str(tmp_path / "inc"),
                          "--older-than", "0"], capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p)))
    assert run.returncode == 0, run.stderr
    gone = run.stdout.split()
    assert gone and all("/g000001-" in g for g in gone) and not any(g in before for g in gone)
    for known_at in KNOWN_AT:
        assert_same(ray_join(labels, tmp_path / "inc", known_at), ray_join(labels, tmp_path / "full", known_at))
    with pytest.raises(pitstore.errors.InvalidArgument, match="resharding"):
        pitray.build(ray.data.from_pandas(second), tmp_path / "inc", "stats", shards=4)
    with pytest.raises(pitstore.errors.InvalidArgument, match="no feature view 'nope'"):
        pitray.build(ray.data.from_pandas(second), tmp_path / "inc", "nope")


def test_the_ray_script_form_builds_and_joins(local_ray, data, tmp_path):
    """`python -m pitstore.ray build|join` (Parquet in and out, integer microsecond times) give the
    single store's training set."""
    rows, labels = data
    micros = {c: rows[c].astype("datetime64[us, UTC]").astype("int64") for c in ("event_ts", "created_ts")}
    rows.assign(**micros).to_parquet(tmp_path / "rows.parquet")
    labels.assign(event_ts=labels["event_ts"].astype("datetime64[us, UTC]").astype("int64")).to_parquet(
        tmp_path / "labels.parquet")
    (tmp_path / "defs.yaml").write_text(DEFINITIONS)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    address = ray.get_runtime_context().gcs_address  # the test's Ray: no second one starts
    outputs = []
    for args in (["build", str(tmp_path / "rows.parquet"), str(tmp_path / "s"), "stats", "--shards", "2",
                  "--definitions", str(tmp_path / "defs.yaml"), "--time-unit", "us"],
                 ["join", str(tmp_path / "labels.parquet"), str(tmp_path / "s"), str(tmp_path / "out"),
                  "--features", ",".join(FEATURES), "--known-at", "label", "--time-unit", "us"]):
        run = subprocess.run([sys.executable, "-m", "pitstore.ray", "--address", address, *args], env=env, capture_output=True, text=True,
                             timeout=600)
        assert run.returncode == 0, run.stderr[-2000:]
        outputs.append(run.stdout)
    assert json.loads(outputs[0].strip().splitlines()[-1])["rows"] == len(rows)
    got = pd.read_parquet(tmp_path / "out").sort_values("label_id").reset_index(drop=True)
    with single_store(tmp_path / "single.pit", rows) as single:
        assert_same(got, expected_join(single, labels, "label"))
    bad = subprocess.run([sys.executable, "-m", "pitstore.ray", "build", str(tmp_path / "rows.parquet"),
                          str(tmp_path / "s"), "nope"], env=env, capture_output=True, text=True, timeout=600)
    assert bad.returncode == 1 and "no feature view 'nope'" in bad.stderr.strip().splitlines()[-1]


def test_serve_takes_a_new_generation_on_sighup(local_ray, tmp_path):
    """`pitstore serve DIR` serves the manifest it opened until SIGHUP, then the current one; a
    manifest that does not open leaves the served generation in place."""
    if not os.path.exists(CLI):
        pytest.skip(f"no pitstore CLI at {CLI}")
    users = list(range(1, 21))

    def rows(clicks: int, hours: int, who: list) -> pd.DataFrame:
        t = BASE + timedelta(hours=hours)
        n = len(who)
        return pd.DataFrame({"user_id": who, "event_ts": [t] * n, "created_ts": [t] * n,
                             "clicks": [clicks] * n, "score": [0.5] * n, "country": ["NL"] * n})

    store = tmp_path / "s"
    pitray.build(ray.data.from_pandas(rows(1, 0, users)), store, "stats", shards=2, definitions=DEFINITIONS)
    proc = subprocess.Popen([CLI, "serve", str(store), "--port", "0"], stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stderr.readline()
        assert "2 shards" in line, line
        url = "http://127.0.0.1:" + re.search(r":(\d+)", line.split("http://")[1]).group(1)

        def clicks() -> list:
            body = {"features": ["stats:clicks"], "entities": {"user_id": users},
                    "as_of": (BASE + timedelta(hours=2)).isoformat()}
            req = urllib.request.Request(url + "/get-online-features", json.dumps(body).encode(), method="POST")
            with urllib.request.urlopen(req, timeout=10) as r:
                return json.loads(r.read())["results"][1]["values"]

        assert clicks() == [1] * 20
        # generation 2 changes shard 0 only: shard 1's file, open in the server, is shared
        in_zero = [u for u, shard in zip(users, sharded.shards_of([users], 2)) if shard == 0]
        assert 0 < len(in_zero) < len(users)
        pitray.build(ray.data.from_pandas(rows(2, 1, in_zero)), store, "stats")
        assert clicks() == [1] * 20, "the opened generation is served until SIGHUP"
        proc.send_signal(signal.SIGHUP)
        assert "serving generation 2 (2 shards)" in proc.stderr.readline()
        want = [2 if u in in_zero else 1 for u in users]
        assert clicks() == want
        proc.send_signal(signal.SIGHUP)  # the same manifest again: every shard shared
        assert "serving generation 2 (2 shards)" in proc.stderr.readline()
        assert clicks() == want
        with urllib.request.urlopen(url + "/metrics", timeout=10) as r:
            assert "pitstore_manifest_generation 2\n" in r.read().decode()
        (store / "MANIFEST").write_text("{")
        proc.send_signal(signal.SIGHUP)
        assert "still serving generation 2" in proc.stderr.readline()
        assert clicks() == want
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)


def test_labels_with_null_keys_are_kept_with_null_features(local_ray, data, tmp_path):
    """A label whose key is null matches nothing, in one store, in a Ray join and in ShardedStore."""
    rows, labels = data
    labels = labels.head(200).copy()
    labels["user_id"] = labels["user_id"].astype("Int64")
    labels.loc[labels.index % 7 == 3, "user_id"] = pd.NA
    pitray.build(ray.data.from_pandas(rows), tmp_path / "s", "stats", shards=3, definitions=DEFINITIONS)
    with single_store(tmp_path / "single.pit", rows) as single:
        want = expected_join(single, labels, "label")
    assert want["clicks"][labels["user_id"].isna().to_numpy()].isna().all()
    assert_same(ray_join(labels, tmp_path / "s", "label"), want)
    with sharded.ShardedStore(tmp_path / "s") as one:
        got = one.get_historical_features(labels, FEATURES, known_at="label").to_df()
        assert_same(got.sort_values("label_id").reset_index(drop=True), want)
