"""`pitstore serve` end to end: the server started on a free loopback port, every endpoint and
error path checked over HTTP, stopped by SIGTERM through its process id; and Feast's own SDK,
with its remote online store pointed at the server, reading the same values and statuses the
pitstore package reads."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import textwrap
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

import pitstore
from pitstore import Entity, FeatureView, Field
from pitstore.types import Float32, Int64, String

CLI = os.environ.get("PITSTORE_CLI") or os.path.join(os.path.dirname(__file__), "..", "..", "build", "bin", "pitstore")
pytestmark = pytest.mark.skipif(not os.path.exists(CLI), reason="the pitstore tool is not built (set PITSTORE_CLI)")
UTC = timezone.utc
T0 = datetime(2025, 3, 1, tzinfo=UTC)


def make_store(path) -> None:
    driver = Entity(name="driver", join_keys=["driver_id"])
    fv = FeatureView(name="driver_hourly_stats", entities=[driver], ttl=timedelta(hours=2),
                     schema=[Field("conv_rate", Float32), Field("avg_daily_trips", Int64), Field("city", String)],
                     timestamp_field="event_timestamp")
    with pitstore.Store(path) as s:
        s.apply([driver, fv])
        s.ingest("driver_hourly_stats", pd.DataFrame({
            "driver_id": [1001, 1002, 1001], "event_timestamp": [T0, T0, T0 + timedelta(hours=1)],
            "conv_rate": [0.5, 0.25, 0.75], "avg_daily_trips": [10, 20, 11], "city": ["Delft", None, "Gouda"]}))


class Server:
    def __init__(self, store: str, *args: str):
        self.proc = subprocess.Popen([CLI, "serve", store, "--port", "0", *args], stderr=subprocess.PIPE, text=True)
        line = self.proc.stderr.readline()
        m = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        assert m, f"no address in: {line!r}"
        self.url = f"http://127.0.0.1:{m.group(1)}"

    def call(self, method: str, path: str, body=None, raw: bytes | None = None):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.url + path, data=data, method=method)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def stop(self) -> str:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=10)
        return self.proc.stderr.read()


@pytest.fixture
def server(tmp_path):
    path = str(tmp_path / "serve.pit")
    make_store(path)
    s = Server(path)
    yield s
    if s.proc.poll() is None:
        s.stop()


def online(server, **body):
    status, text = server.call("POST", "/get-online-features", body)
    return status, json.loads(text)


def test_get_online_features_in_feasts_shape(server):
    status, r = online(server, features=["driver_hourly_stats:conv_rate", "driver_hourly_stats:city"],
                       entities={"driver_id": [1001, 1002, 9]}, as_of="2025-03-01T01:30:00Z")
    assert status == 200
    assert r["metadata"]["feature_names"] == ["driver_id", "conv_rate", "city"]
    keys, conv, city = r["results"]
    assert keys["values"] == [1001, 1002, 9] and keys["statuses"] == ["PRESENT"] * 3
    assert conv["values"] == [0.75, 0.25, None]
    assert conv["statuses"] == ["PRESENT", "PRESENT", "NOT_FOUND"]
    assert city["statuses"] == ["PRESENT", "NULL_VALUE", "NOT_FOUND"]
    assert conv["event_timestamps"] == ["2025-03-01T01:00:00Z", "2025-03-01T00:00:00Z", "1970-01-01T00:00:00Z"]
    # Latest, TTL judged now: every row is years old.
    status, r = online(server, features=["driver_hourly_stats:conv_rate"], entities={"driver_id": [1001]},
                       full_feature_names=True)
    assert r["metadata"]["feature_names"] == ["driver_id", "driver_hourly_stats__conv_rate"]
    assert r["results"][1]["statuses"] == ["OUTSIDE_MAX_AGE"]


def test_errors_name_what_was_wrong(server):
    assert server.call("POST", "/get-online-features", raw=b"{not json")[0] == 400
    status, r = online(server, features=["driver_hourly_stats:nope"], entities={"driver_id": [1]})
    assert status == 404 and "no feature 'nope'" in r["message"]
    status, r = online(server, features=["driver_hourly_stats:conv_rate"], entities={"driver_id": ["x"]})
    assert status == 422 and "driver_id" in r["message"]
    status, r = online(server, features=["driver_hourly_stats:conv_rate"], entities={"driver_id": [1.5]})
    assert status == 422 and "entities.driver_id[0]" in r["message"]
    status, _ = server.call("POST", "/get-online-features", raw=b"{" + b" " * (9 << 20) + b"}")
    assert status == 413
    assert server.call("GET", "/nope")[0] == 404


def test_push_is_one_batch_visible_whole_or_not_at_all(server):
    good = {"push_source_name": "driver_hourly_stats", "to": "online_and_offline",
            "df": {"driver_id": [2001, 2002], "event_timestamp": ["2025-03-02T00:00:00Z", "2025-03-02T00:00:00Z"],
                   "conv_rate": [0.1, 0.2], "avg_daily_trips": [1, 2], "city": ["A", "B"]}}
    assert server.call("POST", "/push", good)[0] == 200
    bad = json.loads(json.dumps(good))
    bad["df"]["driver_id"] = [3001, 3002]
    bad["df"]["avg_daily_trips"] = [1, "two"]
    status, text = server.call("POST", "/push", bad)
    assert status == 422 and "avg_daily_trips" in json.loads(text)["message"]
    _, r = online(server, features=["driver_hourly_stats:avg_daily_trips"], entities={"driver_id": [2001, 2002, 3001]},
                  as_of="2025-03-02T00:30:00Z")
    assert r["results"][1]["values"] == [1, 2, None]  # the bad batch left nothing
    written = {"feature_view_name": "driver_hourly_stats",
               "df": {"driver_id": [2003], "event_timestamp": ["2025-03-02T00:00:00Z"], "conv_rate": [0.3]}}
    assert server.call("POST", "/write-to-online-store", written)[0] == 200
    assert server.call("POST", "/push", {**good, "to": "elsewhere"})[0] == 422


def test_health_metrics_views_and_shutdown(server):
    assert server.call("GET", "/health")[0] == 200
    online(server, features=["driver_hourly_stats:conv_rate"], entities={"driver_id": [1001, 9]})
    status, text = server.call("GET", "/metrics")
    assert status == 200
    assert 'pitstore_requests_total{path="/get-online-features",code="200"} 1' in text
    assert 'pitstore_online_values_total{status="NOT_FOUND"} 1' in text
    assert "pitstore_view_freshness_seconds{view=\"driver_hourly_stats\"}" in text
    status, text = server.call("GET", "/views")
    assert json.loads(text)["feature_views"][0]["features"][0] == {"name": "conv_rate", "type": "float32", "dim": 0}
    assert "stopped" in server.stop()
    assert server.proc.returncode == 0


def test_slow_clients_do_not_stall_others(server):
    import socket

    host, port = server.url.removeprefix("http://").split(":")
    # Clients that send half a request and stop, more of them than the server has cores.
    stalled = []
    for _ in range(6):
        s = socket.create_connection((host, int(port)))
        s.sendall(b"POST /get-online-features HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n{\"features\"")
        stalled.append(s)
    try:
        start = time.monotonic()
        for _ in range(20):
            status, r = online(server, features=["driver_hourly_stats:conv_rate"], entities={"driver_id": [1001]})
            assert status == 200
        assert time.monotonic() - start < 2.0, "requests waited behind stalled clients"
    finally:
        for s in stalled:
            s.close()


def test_a_read_only_server_serves_beside_a_writer(tmp_path):
    path = str(tmp_path / "rw.pit")
    make_store(path)
    s = Server(path, "--read-only")
    try:
        with pitstore.Store(path) as writer:  # the writer, in this process
            writer.ingest("driver_hourly_stats", pd.DataFrame({
                "driver_id": [1005], "event_timestamp": [T0], "conv_rate": [0.9]}))
            _, r = online(s, features=["driver_hourly_stats:conv_rate"], entities={"driver_id": [1005]},
                          as_of="2025-03-01T00:00:00Z")
            assert r["results"][1]["values"] == [pytest.approx(0.9)]
        status, text = s.call("POST", "/push", {"push_source_name": "driver_hourly_stats",
                                                "df": {"driver_id": [1], "event_timestamp": ["2025-03-01T00:00:00Z"]}})
        assert status == 422 and "read-only" in text
    finally:
        s.stop()


def test_feasts_own_client_reads_from_pitstore_serve(tmp_path):
    feast = pytest.importorskip("feast", reason="Feast is not installed (tools/setup.sh installs it)")
    from feast.types import Float32 as F32, Int64 as I64, String as Str

    path = str(tmp_path / "feast_client.pit")
    make_store(path)
    with pitstore.Store(path) as s:  # rows recent enough for the 2-hour TTL, as a served store has
        now = datetime.now(UTC).replace(microsecond=0)
        s.ingest("driver_hourly_stats", pd.DataFrame({
            "driver_id": [1001, 1002], "event_timestamp": [now - timedelta(minutes=5)] * 2,
            "conv_rate": [0.125, None], "avg_daily_trips": [12, 21], "city": ["Leiden", "Delft"]}))
        features = ["driver_hourly_stats:conv_rate", "driver_hourly_stats:avg_daily_trips", "driver_hourly_stats:city"]
        rows = [{"driver_id": k} for k in (1001, 1002, 1003)]
        ours = s.get_online_features(features, rows).to_dict(include_statuses=True)
    server = Server(path)
    try:
        repo = tmp_path / "feast_repo"
        (repo / "data").mkdir(parents=True)
        (repo / "feature_store.yaml").write_text(textwrap.dedent(f"""\
            project: remote_client
            registry: {repo}/data/registry.db
            provider: local
            online_store:
              type: remote
              path: {server.url}
            entity_key_serialization_version: 3
            """))
        pd.DataFrame({"driver_id": [1], "event_timestamp": [now], "conv_rate": [0.0], "avg_daily_trips": [0],
                      "city": [""]}).to_parquet(repo / "placeholder.parquet")
        fs = feast.FeatureStore(repo_path=str(repo))
        driver = feast.Entity(name="driver", join_keys=["driver_id"])
        fv = feast.FeatureView(name="driver_hourly_stats", entities=[driver], ttl=timedelta(hours=2),
                               schema=[feast.Field(name="conv_rate", dtype=F32),
                                       feast.Field(name="avg_daily_trips", dtype=I64),
                                       feast.Field(name="city", dtype=Str)],
                               source=feast.FileSource(path=str(repo / "placeholder.parquet"),
                                                       timestamp_field="event_timestamp"))
        fs.apply([driver, fv])
        theirs = fs.get_online_features(features=features, entity_rows=rows).to_dict()
    finally:
        server.stop()
    assert theirs["driver_id"] == [1001, 1002, 1003]
    for name in ("conv_rate", "avg_daily_trips", "city"):
        for a, b in zip(ours[name], theirs[name]):
            assert (a is None and b is None) or a == pytest.approx(b), (name, ours[name], theirs[name])
    assert ours["conv_rate__status"] == ["present", "null", "not_found"]


def test_on_demand_features_with_request_data(tmp_path):
    """On-demand features over HTTP: request inputs come in `entities` as Feast passes request
    data, typed by the view's declaration; the answer equals the Python package's."""
    path = str(tmp_path / "odv.pit")
    make_store(path)
    with pitstore.Store(path) as s:
        s.apply("""
on_demand_views:
  - name: trip_signals
    request:
      - {name: fare, type: float64}
    features:
      - {name: fare_per_trip, expression: "fare / driver_hourly_stats.avg_daily_trips"}
      - {name: good, expression: "driver_hourly_stats.conv_rate >= 0.5 and fare > 10"}
""")
        expected = s.get_online_features(
            ["trip_signals:fare_per_trip", "trip_signals:good"],
            {"driver_id": [1001, 1002, 9], "fare": [22.0, 40.0, 5.0]},
            as_of=datetime(2025, 3, 1, 1, 30, tzinfo=UTC)).to_dict()
    srv = Server(path)
    try:
        status, r = online(srv, features=["trip_signals:fare_per_trip", "trip_signals:good"],
                           entities={"driver_id": [1001, 1002, 9], "fare": [22, 40.0, 5]},
                           as_of="2025-03-01T01:30:00Z")
        assert status == 200, r
        assert r["metadata"]["feature_names"] == ["driver_id", "fare_per_trip", "good"]
        assert r["results"][1]["values"] == expected["fare_per_trip"] == [2.0, 2.0, None]
        assert r["results"][2]["values"] == expected["good"] == [True, False, False]  # null and false
        status, r = online(srv, features=["trip_signals:good"], entities={"driver_id": [1001], "fare": ["a lot"]})
        assert status == 422 and "'entities.fare[0]': request input 'fare' (float64): expected a number" in r["message"]
        status, r = online(srv, features=["trip_signals:good"], entities={"driver_id": [1001]})
        assert status == 422 and "the request has no value for 'fare'" in r["message"], r
    finally:
        srv.stop()


def test_last_k_lists_are_json_arrays(tmp_path):
    """last_k aggregates over HTTP: a JSON array per entity, newest first, null where the window
    holds no value; the same lists the Python package reads."""
    path = str(tmp_path / "lastk.pit")
    make_store(path)
    with pitstore.Store(path) as s:
        s.apply("""
aggregation_views:
  - name: recent
    source: driver_hourly_stats
    aggregations:
      - {column: city, function: last_k, k: 2, window: 1d}
      - {column: avg_daily_trips, function: last_k, k: 5, window: 1d, name: trips}
""")
        expected = s.get_online_features(["recent:city_last_2_1d", "recent:trips"], {"driver_id": [1001, 1002, 9]},
                                         as_of=datetime(2025, 3, 1, 1, 30, tzinfo=UTC)).to_dict()
    assert expected["city_last_2_1d"] == [["Gouda", "Delft"], None, None]
    assert expected["trips"] == [[11, 10], [20], None]
    srv = Server(path)
    try:
        status, r = online(srv, features=["recent:city_last_2_1d", "recent:trips"],
                           entities={"driver_id": [1001, 1002, 9]}, as_of="2025-03-01T01:30:00Z")
        assert status == 200, r
        assert r["results"][1]["values"] == expected["city_last_2_1d"]
        assert r["results"][2]["values"] == expected["trips"]
    finally:
        srv.stop()
