// Durable ingest beside RocksDB, on the same rows in the same run: ENTITIES x VERSIONS rows of 10
// features (the shape of the shared `large` set: user_id, event_ts uniform over 2025, f0..f7
// float64, c0, c1 int64), in 100,000-row batches of random keys (each pass over the entities
// shuffled), every commit synced. Rows are generated before each batch's clock starts.
//
//   build/bench/pitstore_ingest_bench [ENTITIES [VERSIONS [DIR [--store-only]]]]  (default 1000000 4)
//   (--store-only: only build DIR/ingest.pit with automatic merges and keep it)
//
// pitstore, twice: commits only (automatic merges off; the tail index answers latest), then with
// the default automatic merges; each followed by a full Compact(), timed apart. RocksDB 7.8
// (Debian's librocksdb-dev): WriteBatch of Puts keyed (user_id, event_ts) big-endian with the
// 88-byte value, WAL on, sync per batch, then CompactRange over everything, as the shared figures
// measured it. Each line prints seconds, rows/s and the ratio to RocksDB's write phase.
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "bench_rows.h"
#include "pitstore/store.h"

using namespace pitstore;
using pitstore::bench::FeatureName;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int64_t kStart = 1735689600LL * 1000000LL;  // 2025-01-01
constexpr int64_t kSpan = 365LL * 86400 * 1000000;
constexpr int64_t kBatch = 100'000;

struct Rows {
  std::vector<int64_t> user, event;
  std::vector<std::vector<double>> f;  // 8 columns
  std::vector<int64_t> c0, c1;
};

// Batch `b` of the data set: the same rows whatever the consumer.
Rows MakeRows(int64_t entities, int64_t b) {
  Rows r;
  r.f.assign(8, {});
  std::mt19937_64 rng(42 + b);
  for (int64_t row = b * kBatch; row < (b + 1) * kBatch; ++row) {
    r.user.push_back(bench::EntityOfRow(entities, row));
    r.event.push_back(kStart + static_cast<int64_t>(rng() % kSpan));
    for (int f = 0; f < 8; ++f) r.f[f].push_back(static_cast<double>(rng() >> 11) * 0x1.0p-53);
    r.c0.push_back(static_cast<int64_t>(rng() % 1000));
    r.c1.push_back(static_cast<int64_t>(rng() % 50));
  }
  return r;
}

WriteBatch ToBatch(Rows&& r) {
  std::vector<std::pair<std::string, Column>> cols;
  for (int f = 0; f < 8; ++f) {
    Column c = Column::Of(FeatureType::kFloat64);
    c.doubles = std::move(r.f[f]);
    cols.emplace_back(FeatureName(f), std::move(c));
  }
  Column c0 = Column::Of(FeatureType::kInt64), c1 = Column::Of(FeatureType::kInt64);
  c0.ints = std::move(r.c0);
  c1.ints = std::move(r.c1);
  cols.emplace_back("c0", std::move(c0));
  cols.emplace_back("c1", std::move(c1));
  Column key = Column::Of(FeatureType::kInt64);
  key.ints = std::move(r.user);
  WriteBatch b;
  b.SetColumns({std::move(key)}, std::move(r.event), {}, std::move(cols));
  return b;
}

double Seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

// Bytes of a file, or of every file under a directory.
uint64_t BytesOf(const std::string& path) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(path)) return fs::exists(path) ? fs::file_size(path) : 0;
  uint64_t total = 0;
  for (const auto& e : fs::recursive_directory_iterator(path))
    if (e.is_regular_file()) total += e.file_size();
  return total;
}

// "NAME: X bytes/row (data), Y bytes/row (index)" for the sizes report.
void PrintSizes(const char* what, uint64_t rows, uint64_t data, uint64_t index) {
  std::printf("  size %-34s data %6.1f bytes/row, index %6.1f bytes/row (%llu + %llu bytes)\n", what,
              double(data) / rows, double(index) / rows, static_cast<unsigned long long>(data),
              static_cast<unsigned long long>(index));
}

void Die(const std::string& what) {
  std::fprintf(stderr, "%s\n", what.c_str());
  std::exit(1);
}

// pitstore: returns {write seconds, compact seconds}.
std::pair<double, double> IngestPitstore(const std::string& dir, int64_t entities, int64_t batches, bool merges,
                                         bool compact = true) {
  std::string path = dir + "/ingest.pit";
  for (const char* s : {"", "-index", "-index-lock"}) std::filesystem::remove(path + s);
  Options o;
  if (!merges) {
    o.auto_flush_row_blocks = 0;
    o.auto_flush_rows = 0;
  }
  auto store = Store::Open(path, o);
  if (!store.ok()) Die(store.status().ToString());
  (void)(*store)->DefineEntity({"user", {{"user_id", KeyType::kInt64}}, ""});
  FeatureViewDef v;
  v.name = "user_stats";
  v.entities = {"user"};
  for (int f = 0; f < 8; ++f) v.features.push_back({FeatureName(f), FeatureType::kFloat64, 0, ""});
  v.features.push_back({"c0", FeatureType::kInt64, 0, ""});
  v.features.push_back({"c1", FeatureType::kInt64, 0, ""});
  if (Status st = (*store)->DefineView(v); !st.ok()) Die(st.ToString());
  double write = 0;
  for (int64_t b = 0; b < batches; ++b) {
    WriteBatch batch = ToBatch(MakeRows(entities, b));
    auto t0 = Clock::now();
    auto r = (*store)->Append("user_stats", batch);
    write += Seconds(t0, Clock::now());
    if (!r.ok()) Die("append: " + r.status().ToString());
  }
  if (!compact) return {write, 0};
  const uint64_t rows = static_cast<uint64_t>(batches) * kBatch;
  PrintSizes(merges ? "pitstore as ingested (merges)" : "pitstore as ingested (commits)", rows, BytesOf(path),
             BytesOf(path + "-index"));
  auto t0 = Clock::now();
  if (Status st = (*store)->Compact(CompactOptions{true}); !st.ok()) Die(st.ToString());
  const double compact_seconds = Seconds(t0, Clock::now());
  PrintSizes("pitstore after compact --full", rows, BytesOf(path), BytesOf(path + "-index"));
  if (merges) {  // a vacuumed copy: only live data, and an index built in key order
    const std::string copy = dir + "/copy.pit";
    for (const char* suffix : {"", "-index", "-index-lock"}) std::filesystem::remove(copy + suffix);
    if (Status st = (*store)->CopyTo(copy); !st.ok()) Die(st.ToString());
    PrintSizes("pitstore copy (compacted, to ship)", rows, BytesOf(copy), BytesOf(copy + "-index"));
  }
  return {write, compact_seconds};
}

std::pair<double, double> IngestRocks(const std::string& dir, int64_t entities, int64_t batches) {
  std::string path = dir + "/ingest.rocksdb";
  std::filesystem::remove_all(path);
  rocksdb::Options o;
  o.create_if_missing = true;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status st = rocksdb::DB::Open(o, path, &raw);
  if (!st.ok()) Die(st.ToString());
  std::unique_ptr<rocksdb::DB> db(raw);
  rocksdb::WriteOptions w;
  w.sync = true;
  double write = 0;
  char key[16], value[88];
  auto be = [](char* p, uint64_t v) {
    for (int i = 7; i >= 0; --i, v >>= 8) p[i] = static_cast<char>(v);
  };
  for (int64_t b = 0; b < batches; ++b) {
    Rows r = MakeRows(entities, b);
    auto t0 = Clock::now();
    rocksdb::WriteBatch batch;
    for (size_t i = 0; i < r.user.size(); ++i) {
      be(key, static_cast<uint64_t>(r.user[i]));
      be(key + 8, static_cast<uint64_t>(r.event[i]));
      for (int f = 0; f < 8; ++f) std::memcpy(value + 8 * f, &r.f[f][i], 8);
      std::memcpy(value + 64, &r.c0[i], 8);
      std::memcpy(value + 72, &r.c1[i], 8);
      std::memcpy(value + 80, &r.event[i], 8);
      batch.Put(rocksdb::Slice(key, 16), rocksdb::Slice(value, 88));
    }
    st = db->Write(w, &batch);
    write += Seconds(t0, Clock::now());
    if (!st.ok()) Die(st.ToString());
  }
  auto t0 = Clock::now();
  st = db->CompactRange(rocksdb::CompactRangeOptions(), nullptr, nullptr);
  if (!st.ok()) Die(st.ToString());
  const double compact_seconds = Seconds(t0, Clock::now());
  PrintSizes("RocksDB after CompactRange (snappy)", static_cast<uint64_t>(batches) * kBatch, BytesOf(path), 0);
  return {write, compact_seconds};
}

}  // namespace

int main(int argc, char** argv) {
  int64_t entities = argc > 1 ? std::atoll(argv[1]) : 1'000'000;
  int64_t versions = argc > 2 ? std::atoll(argv[2]) : 4;
  std::string dir = argc > 3 ? argv[3] : "/tmp/pitstore-ingest-bench";
  std::filesystem::create_directories(dir);
  const int64_t rows = entities * versions, batches = rows / kBatch;
  if (argc > 4 && std::string(argv[4]) == "--store-only") {
    // The store as the default ingest leaves it (automatic merges, no final compaction), kept at
    // DIR/ingest.pit: what the maintenance memory figures of bench/README.md are measured on.
    auto t = IngestPitstore(dir, entities, batches, true, false);
    std::printf("%s/ingest.pit: %lld rows written in %.2f s\n", dir.c_str(), static_cast<long long>(rows), t.first);
    return 0;
  }
  std::printf("%lld rows (%lld entities x %lld), %lld synced batches of 100,000\n", static_cast<long long>(rows),
              static_cast<long long>(entities), static_cast<long long>(versions), static_cast<long long>(batches));
  auto rocks = IngestRocks(dir, entities, batches);
  auto line = [&](const char* what, std::pair<double, double> t) {
    std::printf("%-40s write %7.2f s = %9.0f rows/s (%.2fx RocksDB)   + full compaction %7.2f s = %9.0f rows/s\n", what,
                t.first, rows / t.first, rocks.first / t.first, t.second, rows / (t.first + t.second));
    std::fflush(stdout);
  };
  line("RocksDB 7.8, WAL, sync per batch", rocks);
  line("pitstore, commits only (tail index)", IngestPitstore(dir, entities, batches, false));
  line("pitstore, automatic merges (default)", IngestPitstore(dir, entities, batches, true));
  std::filesystem::remove_all(dir);
  return 0;
}
