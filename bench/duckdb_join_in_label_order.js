// DuckDB's side of the point-in-time join with pitstore's output contract: every label row, in
// the labels' order, materialized in memory (`CREATE TEMP TABLE ... ORDER BY` the labels'
// rowid), where ../shared/bench/duckdb.js streams the join into a checksum in no order.
// Usage: bench/duckdb_join_in_label_order.sh SIZE [THREADS] (it sets NODE_PATH to the package
// ../shared/bench/duckdb.sh installs). Prints one JSON line: the seconds of
// the materialized join, and the shared harness's checksum over the table (not timed).
'use strict';
const { DuckDBInstance } = require('@duckdb/node-api');
const path = require('path');

const DATA = process.env.BENCH_DATA || '/tmp/pitstore-bench';
const [size = 'large', threads = '2'] = process.argv.slice(2);
const dbPath = path.join(DATA, `${size}.duckdb`);

async function main() {
  const inst = await DuckDBInstance.create(':memory:', { threads });
  const c = await inst.connect();
  const t = performance.now();
  await c.run(`ATTACH '${dbPath}' AS db (READ_ONLY)`);
  await c.run(`CREATE TEMP TABLE joined AS
    SELECT l.user_id, l.event_ts, l.label, f.f0, f.f1, f.f2, f.f3, f.f4, f.f5, f.f6, f.f7, f.c0, f.c1
    FROM (SELECT rowid AS label_row, * FROM db.labels) l ASOF LEFT JOIN db.user_stats f
      ON l.user_id = f.user_id AND l.event_ts >= f.event_ts
    ORDER BY l.label_row`);
  const secs = (performance.now() - t) / 1e3;
  const r = await c.runAndReadAll(`SELECT count(*) AS n_rows, count(f0) AS matched,
    sum(user_id)::HUGEINT AS sum_user_id, sum(event_ts)::HUGEINT AS sum_event_ts,
    sum(label)::BIGINT AS sum_label, sum(c0)::BIGINT AS sum_c0, sum(c1)::BIGINT AS sum_c1,
    round(sum(f0), 3) AS sum_f0, round(sum(f7), 3) AS sum_f7 FROM joined`);
  // The first labels in table order, to show the order kept: their keys and times.
  const head = await c.runAndReadAll(`SELECT user_id, event_ts FROM joined LIMIT 3`);
  const plain = (row) => Object.fromEntries(Object.entries(row).map(([k, v]) =>
    [k, typeof v === 'bigint' || (v && typeof v === 'object') ? v.toString() : v]));
  console.log(JSON.stringify({
    tool: 'duckdb', mode: 'join_in_label_order', size, threads: Number(threads),
    check: plain(r.getRowObjects()[0]), first_rows: head.getRowObjects().map(plain), secs,
  }));
}
main().catch((e) => { console.error(e); process.exit(1); });
