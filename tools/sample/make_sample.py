#!/usr/bin/env python3
"""Writes tools/sample/user_stats.csv: the quickstart's bundled sample (deterministic).

500 users x 8 daily snapshots of session features through March 2025, in arrival order
(by created_ts). Most rows arrive within an hour; 3% arrive days late (late arrivals); user 42
has a story: a late row for March 5 that lands after March 8's, and a correction of its March
3 value issued on March 9. Empty fields are nulls.
"""
import datetime as dt
import random

rng = random.Random(7)
countries = ["NL", "DE", "FR", "US", "BR", "JP", "IN", ""]
start = dt.datetime(2025, 3, 1, tzinfo=dt.timezone.utc)
rows = []
for user in range(1, 501):
    sessions = rng.randint(0, 20)
    for day in range(8):
        event = start + dt.timedelta(days=day, hours=rng.randint(0, 23))
        lag = dt.timedelta(minutes=rng.randint(1, 59))
        if rng.random() < 0.03:
            lag = dt.timedelta(days=rng.randint(2, 6))
        sessions = max(0, sessions + rng.randint(-3, 4))
        avg = "" if rng.random() < 0.05 else f"{rng.uniform(30, 900):.1f}"
        rows.append([user, event, event + lag, sessions, avg, rng.choice(countries)])
# User 42's story, hand-written so the quickstart can point at it.
rows = [r for r in rows if r[0] != 42]
def at(day, hour=12):
    return start + dt.timedelta(days=day - 1, hours=hour)
rows += [
    [42, at(1), at(1, 13), 3, "120.0", "NL"],
    [42, at(3), at(3, 13), 5, "150.5", "NL"],
    [42, at(8), at(8, 13), 9, "310.2", "DE"],
    [42, at(5), at(9, 10), 7, "", "NL"],         # late arrival: March 5 lands on March 9
    [42, at(3), at(9, 11), 6, "150.5", "NL"],    # correction of March 3, issued March 9
]
rows.sort(key=lambda r: (r[2], r[0], r[1]))
def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")
with open(__file__.replace("make_sample.py", "user_stats.csv"), "w") as f:
    f.write("user_id,event_ts,created_ts,sessions_7d,avg_session_s,country\n")
    for user, event, created, sessions, avg, country in rows:
        f.write(f"{user},{iso(event)},{iso(created)},{sessions},{avg},{country}\n")
