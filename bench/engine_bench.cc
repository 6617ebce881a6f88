// Engine benchmarks: latest lookups (one key, batch of 500), as-of lookups and append
// throughput, on ENTITIES entities (default 1,000,000) x 10 features, beside raw LMDB holding
// the same keys and 88-byte values (as 8-byte big-endian strings, LMDB's default, the shared
// peers' baseline; and as integers under MDB_INTEGERKEY), so the ratio is measured in one run.
//
//   build/bench/pitstore_bench [--benchmark_repetitions=3 --benchmark_report_aggregates_only=true]
//   PITSTORE_BENCH_ENTITIES=100000 PITSTORE_BENCH_DIR=/tmp/pb build/bench/pitstore_bench
//
// The store is built once per run (VERSIONS rows per entity, default 2, in 100,000-row batches
// of random keys, fsync per commit, then merged); the build time is printed as the durable
// ingest figure.
#include <benchmark/benchmark.h>
#include <lmdb.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>

#include "bench_rows.h"
#include "pitstore/store.h"

using namespace pitstore;
using pitstore::bench::FeatureName;

namespace {

int64_t EnvInt(const char* name, int64_t def) {
  const char* v = std::getenv(name);
  return v ? std::atoll(v) : def;
}

const int64_t kEntities = EnvInt("PITSTORE_BENCH_ENTITIES", 1'000'000);
const int64_t kVersions = EnvInt("PITSTORE_BENCH_VERSIONS", 2);
const std::string kDir =
    std::getenv("PITSTORE_BENCH_DIR") ? std::getenv("PITSTORE_BENCH_DIR") : "/tmp/pitstore-engine-bench";
constexpr int64_t kStart = 1735689600LL * 1000000LL;  // 2025-01-01
constexpr int64_t kSpan = 365LL * 86400 * 1000000;

// Columns of one 100,000-row batch: user_id, event_ts, f0..f7 (float64), c0, c1 (int64).
WriteBatch MakeBatch(std::mt19937_64& rng, int64_t first_row, int64_t rows) {
  std::vector<EntityKey> keys;
  std::vector<Timestamp> ev;
  std::vector<std::pair<std::string, Column>> cols;
  for (int f = 0; f < 8; ++f) cols.emplace_back(FeatureName(f), Column::Of(FeatureType::kFloat64));
  cols.emplace_back("c0", Column::Of(FeatureType::kInt64));
  cols.emplace_back("c1", Column::Of(FeatureType::kInt64));
  for (auto& c : cols) c.second.Reserve(rows);
  for (int64_t i = 0; i < rows; ++i) {
    keys.push_back({bench::EntityOfRow(kEntities, first_row + i)});
    ev.push_back(kStart + static_cast<int64_t>(rng() % kSpan));
    for (int f = 0; f < 8; ++f) cols[f].second.doubles.push_back(static_cast<double>(rng() >> 11) * 0x1.0p-53);
    cols[8].second.ints.push_back(static_cast<int64_t>(rng() % 1000));
    cols[9].second.ints.push_back(static_cast<int64_t>(rng() % 50));
  }
  WriteBatch b;
  b.SetColumns(std::move(keys), std::move(ev), {}, std::move(cols));
  return b;
}

FeatureViewDef StatsView() {
  FeatureViewDef v;
  v.name = "user_stats";
  v.entities = {"user"};
  for (int f = 0; f < 8; ++f) v.features.push_back({FeatureName(f), FeatureType::kFloat64, 0, ""});
  v.features.push_back({"c0", FeatureType::kInt64, 0, ""});
  v.features.push_back({"c1", FeatureType::kInt64, 0, ""});
  return v;
}

Store& TheStore() {
  static std::unique_ptr<Store> store = [] {
    std::filesystem::create_directories(kDir);
    std::string path = kDir + "/bench.pit";
    for (const char* s : {"", "-index", "-index-lock"}) std::filesystem::remove(path + s);
    Options o;
    o.auto_flush_row_blocks = 0;  // merged once, after loading, and timed apart
    o.auto_flush_rows = 0;
    auto s = Store::Open(path, o);
    if (!s.ok()) std::abort();
    (void)(*s)->DefineEntity({"user", {{"user_id", KeyType::kInt64}}, ""});
    (void)(*s)->DefineView(StatsView());
    std::mt19937_64 rng(42);
    auto t0 = std::chrono::steady_clock::now();
    int64_t total = kEntities * kVersions;
    for (int64_t row = 0; row < total; row += 100'000) {
      auto r = (*s)->Append("user_stats", MakeBatch(rng, row, std::min<int64_t>(100'000, total - row)));
      if (!r.ok()) {
        std::fprintf(stderr, "append: %s\n", r.status().ToString().c_str());
        std::abort();
      }
    }
    auto t1 = std::chrono::steady_clock::now();
    if (!(*s)->Compact().ok()) std::abort();
    auto t2 = std::chrono::steady_clock::now();
    double ingest = std::chrono::duration<double>(t1 - t0).count();
    double merge = std::chrono::duration<double>(t2 - t1).count();
    auto stats = (*s)->Stats();
    std::fprintf(stderr,
                 "setup: %lld rows in 100k-row synced commits: %.2f s (%.0f rows/s, latest index included); "
                 "merge into segments %.2f s; file %.1f MiB\n",
                 static_cast<long long>(total), ingest, total / ingest, merge,
                 stats.ok() ? stats->file_bytes / 1048576.0 : -1.0);
    return std::move(s).value();
  }();
  return *store;
}

// Raw LMDB with the same keys and 88-byte values: as 8-byte big-endian strings (LMDB's default
// order; the shared peers' baseline), or as native integers under MDB_INTEGERKEY, as pitstore's
// `latest_int` holds them (raw LMDB at its fastest for these keys).
struct RawLmdb {
  MDB_env* env = nullptr;
  MDB_dbi dbi = 0;
  bool integer_keys;
  explicit RawLmdb(bool integer) : integer_keys(integer) {
    std::filesystem::create_directories(kDir);
    std::string path = kDir + (integer_keys ? "/raw_int.lmdb" : "/raw.lmdb");
    std::filesystem::remove(path);
    std::filesystem::remove(path + "-lock");
    mdb_env_create(&env);
    mdb_env_set_mapsize(env, size_t{1} << 36);
    MDB_txn* txn;
    if (mdb_env_open(env, path.c_str(), MDB_NOSUBDIR | MDB_NOSYNC, 0644) || mdb_txn_begin(env, nullptr, 0, &txn) ||
        mdb_dbi_open(txn, nullptr, integer_keys ? MDB_INTEGERKEY : 0, &dbi)) {
      std::fprintf(stderr, "raw lmdb: cannot open %s\n", path.c_str());
      std::abort();
    }
    char value[88];
    std::memset(value, 7, sizeof value);
    for (int64_t id = 1; id <= kEntities; ++id) {  // sorted keys: the fastest load, as in the peer figures
      uint64_t key = Key(static_cast<uint64_t>(id));
      MDB_val k{8, &key}, v{88, value};
      mdb_put(txn, dbi, &k, &v, MDB_APPEND);
    }
    mdb_txn_commit(txn);
  }
  // Entity `id` as this table keys it.
  uint64_t Key(uint64_t id) const { return integer_keys ? id : __builtin_bswap64(id); }
};

RawLmdb& TheRaw(bool integer_keys = false) {
  if (integer_keys) {
    static RawLmdb raw(true);
    return raw;
  }
  static RawLmdb raw(false);
  return raw;
}

// Random gets in one read transaction.
void RawGets(benchmark::State& state, bool integer_keys) {
  RawLmdb& raw = TheRaw(integer_keys);
  MDB_txn* txn;
  mdb_txn_begin(raw.env, nullptr, MDB_RDONLY, &txn);
  std::mt19937_64 rng(1);
  for (auto _ : state) {
    uint64_t key = raw.Key(rng() % kEntities + 1);
    MDB_val k{8, &key}, v;
    if (mdb_get(txn, raw.dbi, &k, &v) != 0) state.SkipWithError("missing");
    benchmark::DoNotOptimize(v.mv_data);
  }
  mdb_txn_abort(txn);
}

// Batches of 500 random gets, a read transaction each.
void RawBatches(benchmark::State& state, bool integer_keys) {
  RawLmdb& raw = TheRaw(integer_keys);
  std::mt19937_64 rng(2);
  std::vector<uint64_t> keys(500);
  for (auto _ : state) {
    state.PauseTiming();
    for (auto& k : keys) k = raw.Key(rng() % kEntities + 1);
    state.ResumeTiming();
    MDB_txn* txn;
    mdb_txn_begin(raw.env, nullptr, MDB_RDONLY, &txn);
    for (auto& k : keys) {
      MDB_val kv{8, &k}, v;
      mdb_get(txn, raw.dbi, &kv, &v);
      benchmark::DoNotOptimize(v.mv_data);
    }
    mdb_txn_abort(txn);
  }
}

void BM_RawLmdbGet(benchmark::State& state) { RawGets(state, false); }
BENCHMARK(BM_RawLmdbGet);

// The same gets, each value copied out as a server would (the loop above reads no value byte;
// a value's lines after its key are a cache miss of their own).
void BM_RawLmdbGetAndCopy(benchmark::State& state) {
  RawLmdb& raw = TheRaw();
  MDB_txn* txn;
  mdb_txn_begin(raw.env, nullptr, MDB_RDONLY, &txn);
  std::mt19937_64 rng(1);
  char copy[88];
  for (auto _ : state) {
    uint64_t key = raw.Key(rng() % kEntities + 1);
    MDB_val k{8, &key}, v;
    if (mdb_get(txn, raw.dbi, &k, &v) != 0) state.SkipWithError("missing");
    std::memcpy(copy, v.mv_data, sizeof copy);
    benchmark::DoNotOptimize(copy);
  }
  mdb_txn_abort(txn);
}
BENCHMARK(BM_RawLmdbGetAndCopy);

void BM_RawLmdbIntegerKeyGet(benchmark::State& state) { RawGets(state, true); }
BENCHMARK(BM_RawLmdbIntegerKeyGet);

void BM_LatestOneKey(benchmark::State& state) {
  Store& store = TheStore();
  auto snap = store.GetSnapshot();
  ReadOptions ro;
  if (state.range(0)) ro.snapshot = snap->get();  // 1: in one snapshot, like the raw LMDB loop
  std::mt19937_64 rng(1);
  Lookup out;  // reused, as a serving loop would
  EntityKey key{int64_t{0}};
  for (auto _ : state) {
    key[0] = static_cast<int64_t>(rng() % kEntities + 1);
    Status st = store.LatestInto("user_stats", key, &out, {}, ro);
    if (!st.ok() || !out.found) state.SkipWithError("lookup failed");
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_LatestOneKey)->Arg(1)->Arg(0)->ArgName("one_snapshot");

// reuse 1: LatestBatchInto into the same lookups each time, as a serving loop would; 0:
// LatestBatch, a fresh vector of lookups per call.
void BM_LatestBatch500(benchmark::State& state) {
  Store& store = TheStore();
  std::mt19937_64 rng(2);
  std::vector<EntityKey> keys(500);
  std::vector<Lookup> out;
  for (auto _ : state) {
    state.PauseTiming();
    for (auto& k : keys) k = {static_cast<int64_t>(rng() % kEntities + 1)};
    state.ResumeTiming();
    if (state.range(0)) {
      if (!store.LatestBatchInto("user_stats", keys, &out).ok()) state.SkipWithError("batch failed");
      benchmark::DoNotOptimize(out);
    } else {
      auto r = store.LatestBatch("user_stats", keys);
      if (!r.ok()) state.SkipWithError("batch failed");
      benchmark::DoNotOptimize(r);
    }
  }
  state.SetItemsProcessed(state.iterations() * 500);
}
BENCHMARK(BM_LatestBatch500)->Arg(1)->Arg(0)->ArgName("reuse")->Unit(benchmark::kMicrosecond);

void BM_RawLmdbBatch500(benchmark::State& state) { RawBatches(state, false); }
BENCHMARK(BM_RawLmdbBatch500)->Unit(benchmark::kMicrosecond);

void BM_RawLmdbIntegerKeyBatch500(benchmark::State& state) { RawBatches(state, true); }
BENCHMARK(BM_RawLmdbIntegerKeyBatch500)->Unit(benchmark::kMicrosecond);

// The same rows as TheStore, left as ingestion with the default options leaves them: merged by
// the store's automatic merges into overlapping segments, and a tail of row batches.
Store& IngestedStore() {
  static std::unique_ptr<Store> store = [] {
    std::filesystem::create_directories(kDir);
    std::string path = kDir + "/ingested.pit";
    for (const char* s : {"", "-index", "-index-lock"}) std::filesystem::remove(path + s);
    auto s = Store::Open(path, Options());
    if (!s.ok()) std::abort();
    (void)(*s)->DefineEntity({"user", {{"user_id", KeyType::kInt64}}, ""});
    (void)(*s)->DefineView(StatsView());
    std::mt19937_64 rng(42);
    const int64_t total = kEntities * kVersions;
    for (int64_t row = 0; row < total; row += 100'000)
      if (!(*s)->Append("user_stats", MakeBatch(rng, row, std::min<int64_t>(100'000, total - row))).ok()) std::abort();
    if (!(*s)->WaitForMerges().ok()) std::abort();
    auto blocks = (*s)->ListBlocks("user_stats");
    size_t segments = 0, batches = 0;
    if (blocks.ok())
      for (const BlockInfo& b : *blocks) (b.segment ? segments : batches)++;
    std::fprintf(stderr, "setup (as ingested): the same rows with automatic merges: %zu segments, %zu row batches\n",
                 segments, batches);
    return std::move(s).value();
  }();
  return *store;
}

// As-of reads at random keys and times; besides the mean, each call is timed for its median
// and 99th percentile (p50_ns, p99_ns: a call that misses the page cache decodes a page).
void AsOfReads(benchmark::State& state, Store& store) {
  std::mt19937_64 rng(3);
  std::vector<int64_t> nanos;
  nanos.reserve(1 << 22);
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    auto r = store.AsOf("user_stats", {static_cast<int64_t>(rng() % kEntities + 1)},
                        kStart + static_cast<int64_t>(rng() % kSpan));
    if (!r.ok()) state.SkipWithError(r.status().ToString().c_str());
    benchmark::DoNotOptimize(r);
    if (nanos.size() < nanos.capacity())
      nanos.push_back(
          std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count());
  }
  if (nanos.empty()) return;
  std::sort(nanos.begin(), nanos.end());
  state.counters["p50_ns"] = static_cast<double>(nanos[nanos.size() / 2]);
  state.counters["p99_ns"] = static_cast<double>(nanos[nanos.size() * 99 / 100]);
}
void BM_AsOf(benchmark::State& state) { AsOfReads(state, TheStore()); }
BENCHMARK(BM_AsOf);
void BM_AsOfAsIngested(benchmark::State& state) { AsOfReads(state, IngestedStore()); }
BENCHMARK(BM_AsOfAsIngested);

// One key with HOT_VERSIONS versions (default 3,000,000; event times one second apart), compacted:
// a point read's cost should follow its answer, not the key's history.
const int64_t kHotVersions = EnvInt("PITSTORE_BENCH_HOT_VERSIONS", 3'000'000);

Store& HotStore() {
  static std::unique_ptr<Store> store = [] {
    std::filesystem::create_directories(kDir);
    std::string path = kDir + "/hot.pit";
    for (const char* s : {"", "-index", "-index-lock"}) std::filesystem::remove(path + s);
    Options o;
    o.auto_flush_row_blocks = 0;
    o.auto_flush_rows = 0;
    auto s = Store::Open(path, o);
    if (!s.ok()) std::abort();
    (void)(*s)->DefineEntity({"user", {{"user_id", KeyType::kInt64}}, ""});
    (void)(*s)->DefineView(StatsView());
    std::mt19937_64 rng(5);
    WriteOptions w;
    w.sync = false;
    for (int64_t row = 0; row < kHotVersions; row += 100'000) {
      const int64_t rows = std::min<int64_t>(100'000, kHotVersions - row);
      std::vector<EntityKey> keys(rows, EntityKey{int64_t{7}});
      std::vector<Timestamp> ev;
      std::vector<std::pair<std::string, Column>> cols;
      for (int f = 0; f < 8; ++f) cols.emplace_back(FeatureName(f), Column::Of(FeatureType::kFloat64));
      cols.emplace_back("c0", Column::Of(FeatureType::kInt64));
      cols.emplace_back("c1", Column::Of(FeatureType::kInt64));
      for (int64_t i = 0; i < rows; ++i) {
        ev.push_back(kStart + (row + i) * 1'000'000);
        for (int f = 0; f < 8; ++f) cols[f].second.doubles.push_back(static_cast<double>(rng() >> 11) * 0x1.0p-53);
        cols[8].second.ints.push_back(row + i);
        cols[9].second.ints.push_back(static_cast<int64_t>(rng() % 50));
      }
      WriteBatch b;
      b.SetColumns(std::move(keys), std::move(ev), {}, std::move(cols));
      if (!(*s)->Append("user_stats", b, w).ok()) std::abort();
    }
    if (!(*s)->Compact(CompactOptions{true}).ok()) std::abort();
    return std::move(s).value();
  }();
  return *store;
}

void BM_HotKeyAsOf(benchmark::State& state) {
  Store& store = HotStore();
  std::mt19937_64 rng(6);
  for (auto _ : state) {
    auto r = store.AsOf("user_stats", {int64_t{7}}, kStart + static_cast<int64_t>(rng() % kHotVersions) * 1'000'000);
    if (!r.ok() || !r->found) state.SkipWithError("as-of of the hot key");
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_HotKeyAsOf)->Unit(benchmark::kMicrosecond);

void BM_HotKeyHistory10s(benchmark::State& state) {
  Store& store = HotStore();
  std::mt19937_64 rng(7);
  for (auto _ : state) {
    const int64_t from = kStart + static_cast<int64_t>(rng() % (kHotVersions - 10)) * 1'000'000;
    auto r = store.History("user_stats", {int64_t{7}}, from, from + 9'000'000);
    if (!r.ok() || r->size() != 10) state.SkipWithError("history of the hot key");
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_HotKeyHistory10s)->Unit(benchmark::kMicrosecond);

void BM_Append100k(benchmark::State& state) {
  Store& store = TheStore();
  std::mt19937_64 rng(4);
  int64_t row = 0;
  for (auto _ : state) {
    state.PauseTiming();
    WriteBatch b = MakeBatch(rng, row, 100'000);
    row += 100'000;
    state.ResumeTiming();
    auto r = store.Append("user_stats", b);
    if (!r.ok()) state.SkipWithError(r.status().ToString().c_str());
  }
  state.SetItemsProcessed(state.iterations() * 100'000);
}
BENCHMARK(BM_Append100k)->Unit(benchmark::kMillisecond)->Iterations(5);

}  // namespace

BENCHMARK_MAIN();
