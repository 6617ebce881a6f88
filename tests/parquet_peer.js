// The peers' side of tests/parquet_peers_test.sh: DuckDB and polars read a Parquet file written
// by pitstore and write it again with their own writers.
//   node tests/parquet_peer.js duckdb-types FILE          column types as DuckDB reads them
//   node tests/parquet_peer.js duckdb-rewrite IN OUT      DuckDB reads IN, writes OUT (zstd)
//   node tests/parquet_peer.js duckdb-sql FILE SQL        one query over read_parquet(FILE) as t, JSON
//   node tests/parquet_peer.js polars-rewrite IN OUT      polars reads IN, writes OUT
'use strict';
const [mode, a, b] = process.argv.slice(2);

async function duckdb() {
  const { DuckDBInstance } = require('@duckdb/node-api');
  const db = await DuckDBInstance.create(':memory:');
  return db.connect();
}

async function main() {
  if (mode === 'check') {
    require('@duckdb/node-api');
    require('nodejs-polars');
    return;
  }
  if (mode === 'polars-rewrite') {
    const pl = require('nodejs-polars');
    pl.readParquet(a).writeParquet(b, { compression: 'snappy' });
    return;
  }
  const c = await duckdb();
  if (mode === 'duckdb-types') {
    const r = await c.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${a}')`);
    for (const row of r.getRowObjectsJson()) console.log(`${row.column_name} ${row.column_type}`);
  } else if (mode === 'duckdb-rewrite') {
    await c.run(`COPY (SELECT * FROM read_parquet('${a}')) TO '${b}' (FORMAT parquet, COMPRESSION zstd)`);
  } else if (mode === 'duckdb-sql') {
    const r = await c.runAndReadAll(`WITH t AS (SELECT * FROM read_parquet('${a}')) ${b}`);
    console.log(JSON.stringify(r.getRowObjectsJson()));
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
}
main().catch((e) => {
  console.error(String(e));
  process.exit(1);
});
