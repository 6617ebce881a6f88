"""The README's Python example, run as a test (ctest: python_quickstart): define a view, ingest
the bundled sample from pandas, build a training set DataFrame, look features up online.

    python examples/python_quickstart.py [STORE]
"""

from __future__ import annotations

import os
import sys
import tempfile
from datetime import timedelta

import pandas as pd

import pitstore
from pitstore import Entity, FeatureService, FeatureView, Field
from pitstore.types import Float64, Int64, String

here = os.path.dirname(os.path.abspath(__file__))
path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(tempfile.mkdtemp(), "quickstart.pit")

# 1. Definitions, with Feast's names.
user = Entity(name="user", join_keys=["user_id"])
user_stats = FeatureView(
    name="user_stats",
    entities=[user],
    ttl=timedelta(days=30),
    schema=[Field("sessions_7d", Int64), Field("avg_session_s", Float64), Field("country", String)],
    timestamp_field="event_ts",
    created_timestamp_column="created_ts",
)
churn_model = FeatureService(name="churn_model", features=[user_stats[["sessions_7d", "country"]]])

with pitstore.Store(path) as store:
    print(store.apply([user, user_stats, churn_model]))

    # 2. Rows from pandas (times with a zone: naive ones are refused unless timezone= is given).
    rows = pd.read_csv(os.path.join(here, "..", "tools", "sample", "user_stats.csv"),
                       parse_dates=["event_ts", "created_ts"])
    print(store.ingest("user_stats", rows))

    # 3. A training set: each label gets the features as of its own time, never later ones.
    labels = pd.DataFrame({
        "user_id": [42, 42, 7],
        "event_ts": pd.to_datetime(["2025-03-04T00:00:00Z", "2025-03-06T00:00:00Z", "2025-03-06T00:00:00Z"]),
        "churned": [0, 1, 0],
    })
    training = store.get_historical_features(labels, service="churn_model").to_df()
    print(training)
    assert list(training["churned"]) == [0, 1, 0]

    # 4. Online: the latest values (TTL judged at `now`), with statuses.
    online = store.get_online_features(service="churn_model", entity_rows=[{"user_id": 42}, {"user_id": 123456}],
                                       now="2025-03-10T00:00:00Z")
    print(online.to_dict(include_statuses=True))
    assert online.to_dict(include_statuses=True)["sessions_7d__status"][1] == "not_found"

    # The same store serves the online lookup and the training set: they agree.
    as_of = store.get_online_features(service="churn_model", entity_rows=[{"user_id": 42}],
                                      as_of="2025-03-06T00:00:00Z").to_dict()
    assert as_of["sessions_7d"][0] == training["sessions_7d"][1]
    print("agree: online as of 2025-03-06 =", as_of["sessions_7d"][0], "= training row 2")
