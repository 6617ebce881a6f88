// DuckDB's side of the point-in-time join with every feature column read. The shared harness
// (../shared/bench/duckdb.js) selects ten features but its checksum sums four (f0, f7, c0, c1),
// and DuckDB's optimizer drops the other six from its scan of user_stats (EXPLAIN shows the scan
// projecting user_id, event_ts, f0, f7, c0, c1), where pitstore's join returns all ten. This
// runs the harness's join and checksum with a sum over each of the ten, so none can be skipped.
// Usage: bench/duckdb_join_every_column.sh SIZE [THREADS] (it sets NODE_PATH to the package
// ../shared/bench/duckdb.sh installs). Prints one JSON line: the seconds, the harness's checksum
// and the sums of f1..f6.
'use strict';
const { DuckDBInstance } = require('@duckdb/node-api');
const path = require('path');

const DATA = process.env.BENCH_DATA || '/tmp/pitstore-bench';
const [size = 'large', threads = '2'] = process.argv.slice(2);
const dbPath = path.join(DATA, `${size}.duckdb`);

const JOIN = `SELECT l.*, f.f0, f.f1, f.f2, f.f3, f.f4, f.f5, f.f6, f.f7, f.c0, f.c1
  FROM db.labels l ASOF LEFT JOIN db.user_stats f
    ON l.user_id = f.user_id AND l.event_ts >= f.event_ts`;
const CHECKSUM = `SELECT count(*) AS n_rows, count(f0) AS matched,
  sum(user_id)::HUGEINT AS sum_user_id, sum(event_ts)::HUGEINT AS sum_event_ts,
  sum(label)::BIGINT AS sum_label, sum(c0)::BIGINT AS sum_c0, sum(c1)::BIGINT AS sum_c1,
  round(sum(f0), 3) AS sum_f0, round(sum(f7), 3) AS sum_f7,
  round(sum(f1), 3) AS sum_f1, round(sum(f2), 3) AS sum_f2, round(sum(f3), 3) AS sum_f3,
  round(sum(f4), 3) AS sum_f4, round(sum(f5), 3) AS sum_f5, round(sum(f6), 3) AS sum_f6
  FROM (${JOIN})`;

async function main() {
  const inst = await DuckDBInstance.create(':memory:', { threads });
  const c = await inst.connect();
  const t = performance.now();
  await c.run(`ATTACH '${dbPath}' AS db (READ_ONLY)`);
  const r = await c.runAndReadAll(CHECKSUM);
  const secs = (performance.now() - t) / 1e3;
  const plain = (row) => Object.fromEntries(Object.entries(row).map(([k, v]) =>
    [k, typeof v === 'bigint' || (v && typeof v === 'object') ? v.toString() : v]));
  console.log(JSON.stringify({
    tool: 'duckdb', mode: 'join_every_column', size, threads: Number(threads),
    check: plain(r.getRowObjects()[0]), secs,
  }));
}
main().catch((e) => { console.error(e); process.exit(1); });
