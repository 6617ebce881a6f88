"""On-demand features (expressions over stored features and request inputs) on random data:
the point-in-time join, the online read as of each label's time, and a brute-force model of
the same expressions (written here in Python with the null rules of pitstore/expression.h)
agree label by label; request inputs come from label columns in the join and from the entity
rows online; errors name what is missing."""

from __future__ import annotations

import math
import random
import struct
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

import pitstore

UTC = timezone.utc
START = datetime(2026, 11, 1, tzinfo=UTC)
DAY_US = 86_400_000_000

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
      - {name: country, type: string}
  - name: profile
    entities: [user]
    event_timestamp: event_ts
    features:
      - {name: emb, type: float32_vector, dim: 3}
      - {name: signup, type: timestamp}
aggregation_views:
  - name: spend
    source: payments
    aggregations:
      - {column: amount, function: mean, window: 1d}
on_demand_views:
  - name: signals
    request:
      - {name: amount, type: float64}
      - {name: query, type: float32_vector, dim: 3}
    features:
      - {name: ratio, expression: "amount / spend.amount_mean_1d"}
      - {name: big, expression: "amount > 3 * coalesce(spend.amount_mean_1d, 0)"}
      - {name: sim, expression: "cosine(profile.emb, query)"}
      - {name: tenure_days, expression: "days_between(profile.signup, now())"}
      - {name: domestic, expression: "payments.country == 'DE' or payments.amount > 400"}
      - name: bucket
        expression: >-
          case when payments.amount is null then 'none'
               when payments.amount < 100 then 'small' else 'large' end
"""
FEATURES = ["ratio", "big", "sim", "tenure_days", "domestic", "bucket"]


def micros(t: datetime) -> int:
    return (t - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def f32(x: float) -> float:
    return struct.unpack("f", struct.pack("f", x))[0]


class Model:
    """Stored rows in ingest order, read the obvious way."""

    def __init__(self) -> None:
        self.payments: list[tuple[int, int, int, object, object]] = []  # user, ts, order, amount, country
        self.profile: list[tuple[int, int, int, list, int]] = []

    @staticmethod
    def as_of(rows: list, user: int, t: int):
        best = None
        for r in rows:
            if r[0] == user and r[1] <= t and (best is None or (r[1], r[2]) > (best[1], best[2])):
                best = r
        return best

    def mean_1d(self, user: int, t: int):
        winners: dict[int, tuple] = {}
        for r in self.payments:
            if r[0] == user and t - DAY_US < r[1] <= t and (r[1] not in winners or r[2] > winners[r[1]][2]):
                winners[r[1]] = r
        values = [winners[ts][3] for ts in sorted(winners) if winners[ts][3] is not None]  # in event order
        return sum(values) / len(values) if values else None

    def features(self, user: int, t: int, amount, query) -> dict:
        pay = self.as_of(self.payments, user, t)
        prof = self.as_of(self.profile, user, t)
        p_amount = pay[3] if pay else None
        p_country = pay[4] if pay else None
        mean = self.mean_1d(user, t)
        out: dict = {}
        out["ratio"] = None if amount is None or mean is None or mean == 0 else amount / mean
        out["big"] = None if amount is None else amount > 3 * (mean if mean is not None else 0)
        sim = None
        if prof is not None and query is not None:
            u, v = prof[3], [f32(x) for x in query]
            dot = sum(a * b for a, b in zip(u, v))
            uu = sum(a * a for a in u)
            vv = sum(b * b for b in v)
            sim = None if uu == 0 or vv == 0 else dot / (math.sqrt(uu) * math.sqrt(vv))
        out["sim"] = sim
        out["tenure_days"] = None if prof is None else (t - prof[4]) / DAY_US
        de = None if p_country is None else p_country == "DE"
        over = None if p_amount is None else p_amount > 400
        out["domestic"] = True if (de is True or over is True) else (None if de is None or over is None else False)
        out["bucket"] = "none" if p_amount is None else ("small" if p_amount < 100 else "large")
        return out


def close(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


@pytest.mark.parametrize("seed", [1, 2])
def test_join_online_and_model_agree(tmp_path, seed: int) -> None:
    rng = random.Random(seed)
    store = pitstore.Store(str(tmp_path / "s.pit"))
    store.apply(DEFINITIONS)
    model = Model()
    order = 0
    # Payments in three batches: later batches correct some earlier event times.
    seen: list[tuple[int, datetime]] = []
    for batch in range(3):
        rows = []
        for _ in range(400):
            if seen and rng.random() < 0.15:
                user, ts = seen[rng.randrange(len(seen))]  # a correction
            else:
                user, ts = rng.randrange(25), START + timedelta(minutes=rng.randrange(5 * 24 * 60))
                seen.append((user, ts))
            # 0 and 400 often: division by a zero mean, and `> 400` at equality.
            amount = None if rng.random() < 0.1 else rng.choice([0.0, 400.0, round(rng.uniform(-50, 600), 2)])
            country = None if rng.random() < 0.1 else rng.choice(["DE", "FR", "US"])
            rows.append({"user_id": user, "event_ts": ts, "amount": amount, "country": country})
        # One batch holds one row per (user, time): a correction arrives in a later batch.
        frame = pd.DataFrame(rows).drop_duplicates(["user_id", "event_ts"], keep="last")
        store.ingest("payments", frame)
        for r in frame.itertuples():
            model.payments.append((r.user_id, micros(r.event_ts), order,
                                   None if pd.isna(r.amount) else r.amount,
                                   None if r.country is None or (isinstance(r.country, float)) else r.country))
            order += 1
    prof_rows = []
    for user in range(20):  # users 20-24 have no profile
        for k in range(rng.choice([1, 2])):
            emb = [rng.choice([0.0, 1.0, -0.5, 0.25]) for _ in range(3)]
            prof_rows.append({"user_id": user, "event_ts": START + timedelta(days=2 * k),
                              "emb": emb, "signup": START - timedelta(days=rng.randrange(1000))})
    store.ingest("profile", pd.DataFrame(prof_rows))
    for r in prof_rows:
        model.profile.append((r["user_id"], micros(r["event_ts"]), order, [f32(x) for x in r["emb"]],
                              micros(r["signup"])))
        order += 1

    labels = []
    for _ in range(300):
        user = rng.randrange(27)  # 25, 26: unknown users
        t = START + timedelta(minutes=rng.randrange(6 * 24 * 60), microseconds=rng.choice([0, 1, -1]))
        amount = None if rng.random() < 0.1 else rng.choice([round(rng.uniform(0, 800), 2), 1200.0])  # 3 x 400
        query = rng.choice([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.5, -1.0, 2.0]])
        labels.append({"user_id": user, "event_ts": t, "amount": amount, "query": query})
    joined = store.get_historical_features(pd.DataFrame(labels), features=["signals:*"]).to_df()
    assert list(joined.columns) == ["user_id", "event_ts", "amount", "query"] + FEATURES
    assert len(joined) == len(labels)

    for i, label in enumerate(labels):
        t = micros(label["event_ts"])
        want = model.features(label["user_id"], t, label["amount"], label["query"])
        online = store.get_online_features(
            [f"signals:{f}" for f in FEATURES],
            {"user_id": [label["user_id"]], "amount": [label["amount"]], "query": [label["query"]]},
            as_of=label["event_ts"]).to_dict()
        for f in FEATURES:
            offline = joined[f].iloc[i]
            offline = None if offline is None or (isinstance(offline, float) and math.isnan(offline)) else offline
            if hasattr(offline, "item"):
                offline = offline.item()
            assert close(offline, online[f][0]), (i, f, label, offline, online[f][0])  # online == offline
            assert close(offline, want[f]), (i, f, label, offline, want[f])  # == the model


def test_request_inputs_and_errors(tmp_path) -> None:
    store = pitstore.Store(str(tmp_path / "s.pit"))
    store.apply(DEFINITIONS)
    store.ingest("payments", pd.DataFrame([{"user_id": 1, "event_ts": START, "amount": 50.0, "country": "DE"}]))
    got = store.get_online_features(["signals:ratio", "signals:big", "payments:amount"],
                                    [{"user_id": 1, "amount": 100.0}], now=START + timedelta(hours=1)).to_dict()
    assert got["ratio"] == [2.0] and got["big"] == [False] and got["amount"] == [50.0]
    with pytest.raises(pitstore.errors.InvalidArgument, match="no value for 'amount'"):
        store.get_online_features(["signals:ratio"], [{"user_id": 1}])
    with pytest.raises(pitstore.errors.InvalidArgument, match="request input 'amount' \\(float64\\): expected a number"):
        store.get_online_features(["signals:ratio"], [{"user_id": 1, "amount": "lots"}])
    labels = pd.DataFrame([{"user_id": 1, "event_ts": START + timedelta(hours=1)}])
    with pytest.raises(pitstore.errors.InvalidArgument, match="the labels have no column 'amount'"):
        store.get_historical_features(labels, features=["signals:ratio"]).to_df()
    described = {v["name"]: v for v in store.describe()["on_demand_views"]}
    assert [f["type"] for f in described["signals"]["features"]] == [
        "float64", "bool", "float64", "float64", "bool", "string"]
    with pytest.raises(pitstore.errors.InvalidArgument, match=r"<definitions>:3:45: on-demand view 'x', feature 'y': column 7"):
        store.apply("on_demand_views:\n  - name: x\n    features: [{name: y, expression: \"1 + 2 + 'a'\"}]\n",
                    )


def test_names_and_keys_of_cached_plans(tmp_path) -> None:
    """A plan cached for one request serves another that names columns otherwise; a request
    input named like a join key is the key too; a view of request inputs alone needs no key."""
    store = pitstore.Store(str(tmp_path / "s.pit"))
    store.apply(DEFINITIONS + """
  - name: keyed
    request:
      - {name: user_id, type: int64}
    features:
      - {name: plus_amount, expression: "user_id * 1000 + payments.amount"}
  - name: constant
    request:
      - {name: x, type: float64}
    features:
      - {name: half, expression: "x / 2"}
""")
    store.ingest("payments", pd.DataFrame([{"user_id": 1, "event_ts": START, "amount": 50.0, "country": "DE"}]))
    rows = [{"user_id": 1, "amount": 100.0}]
    now = START + timedelta(hours=1)
    short = store.get_online_features(["payments:amount", "signals:ratio"], rows, now=now).to_dict()
    full = store.get_online_features(["payments:amount", "signals:ratio"], rows, full_feature_names=True,
                                     now=now).to_dict()
    assert short["amount"] == [50.0] and short["ratio"] == [2.0]
    assert full["payments__amount"] == [50.0] and full["signals__ratio"] == [2.0]
    got = store.get_online_features(["keyed:plus_amount"], [{"user_id": 1}, {"user_id": 2}]).to_dict()
    assert got["plus_amount"] == [1050.0, None]
    assert store.get_online_features(["constant:half"], {"x": [3.0, 5.0]}).to_dict()["half"] == [1.5, 2.5]
