"""An increment of a sharded store: the first 200,000 rows of SIZE_user_stats.parquet again,
learned a day later (created_ts + 1 day), built by Ray Data (pitstore.ray.build) into the store
that bench/spark_shards.py's Ray step left (BENCH_DATA/spark_SIZE/sharded_ray). Prints seconds,
the shards given a new file, and the store's bytes before and after.

  PYTHONPATH=build/python .venv/bin/python bench/shard_increment.py SIZE
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time

import pyarrow.compute as pc
import pyarrow.parquet as pq


def main() -> None:
    import ray

    from pitstore import ray as pitray
    from pitstore import sharded

    data = os.environ.get("BENCH_DATA", "/tmp/pitstore-bench")
    size = sys.argv[1] if len(sys.argv) > 1 else "large"
    rows = pq.read_table(f"{data}/{size}_user_stats.parquet").slice(0, 200_000)
    day = 86_400_000_000
    rows = rows.set_column(rows.column_names.index("created_ts"), "created_ts", pc.add(rows.column("created_ts"), day))
    increment = f"{data}/{size}_increment.parquet"
    pq.write_table(rows, increment)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
    ray.data.DataContext.get_current().enable_progress_bars = False
    root = f"{data}/spark_{size}/sharded_ray"
    before = sharded.read_manifest(root)
    t = time.perf_counter()
    after = pitray.build(ray.data.read_parquet(increment), root, "user_stats")
    seconds = time.perf_counter() - t
    print(json.dumps({"increment_rows": rows.num_rows, "seconds": round(seconds, 2), "generation": after["generation"],
                      "shards_given_a_new_file": sum(a["path"] != b["path"]
                                                     for a, b in zip(before["shards"], after["shards"])),
                      "bytes_before": sum(e["bytes"] for e in before["shards"]),
                      "bytes_after": sum(e["bytes"] for e in after["shards"])}))
    ray.shutdown()


if __name__ == "__main__":
    main()
