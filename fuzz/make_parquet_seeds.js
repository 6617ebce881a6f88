// Writes the Parquet seeds of fuzz/corpus/parquet/ with DuckDB and polars (see
// tests/fixtures/parquet/make_fixtures.js for installing them); pitstore_dump.parquet is
// `pitstore dump STORE user_stats --limit 20 --out` of the quickstart store.
//   NODE_PATH=/tmp/pq/node_modules node fuzz/make_parquet_seeds.js fuzz/corpus/parquet
const { DuckDBInstance } = require('@duckdb/node-api');
const pl = require('nodejs-polars');
(async () => {
  const out = process.argv[2];
  const db = await DuckDBInstance.create(':memory:'); const c = await db.connect();
  await c.run(`CREATE TABLE t AS SELECT i % 3 AS k, make_timestamp(1700000000000000 + i) AS ts,
    CASE WHEN i % 4 = 0 THEN NULL ELSE i * 0.5 END::DOUBLE AS d, (i % 2 = 0) AS b, 'v' || (i % 3) AS s,
    (i * 3)::INTEGER AS n, CASE WHEN i % 5 = 0 THEN NULL ELSE [i, i + 1]::FLOAT[] END AS emb,
    DATE '2024-01-01' + i::INTEGER AS dt FROM range(24) r(i)`);
  for (const [name, o] of [['duckdb_v1_zstd', 'COMPRESSION zstd'], ['duckdb_v1_snappy', 'COMPRESSION snappy'],
      ['duckdb_v1_gzip', 'COMPRESSION gzip'], ['duckdb_v1_none', 'COMPRESSION uncompressed'],
      ['duckdb_v2', 'COMPRESSION uncompressed, PARQUET_VERSION v2']])
    await c.run(`COPY t TO '${out}/${name}.parquet' (FORMAT parquet, ${o})`);
  pl.readParquet(`${out}/duckdb_v1_none.parquet`).writeParquet(`${out}/polars_none.parquet`, { compression: 'uncompressed' });
})();
