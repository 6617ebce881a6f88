// Durable ingest beside RocksDB, on the same rows in the same run: ENTITIES x VERSIONS rows of 10
// features (the shape of the shared `large` set: user_id, event_ts uniform over 2025, f0..f7
// float64, c0, c1 int64), in 100,000-row batches of random keys (each pass over the entities
// shuffled), every commit synced. pitstore's batches are all generated before its clock starts;
// RocksDB's rows before each batch's. Each phase starts with the disk idle (sync(2) first), so
// none pays for the writeback of the one before.
//
//   build/bench/pitstore_ingest_bench [ENTITIES [VERSIONS [DIR [--store-only]]]]  (default 1000000 4)
//   (--store-only: only build DIR/ingest.pit with automatic merges and keep it;
//    --store-only-in-commit: the same with the merges run in the commits)
//
// pitstore, three times: commits only (automatic merges off; the tail index answers latest), with
// automatic merges run in the commit that makes them due, and with them on the store's merge
// thread (the default); each followed by a full Compact(), timed apart. RocksDB 7.8
// (Debian's librocksdb-dev): WriteBatch of Puts keyed (user_id, event_ts) big-endian with the
// 88-byte value, WAL on, sync per batch, then CompactRange over everything, as the shared figures
// measured it. Each line prints seconds, rows/s and the ratio to RocksDB's write phase.
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>
#include <unistd.h>

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

enum class Merges { kNone, kInCommit, kInBackground };

// pitstore: returns {write seconds, compact seconds}. Every batch is generated before the clock
// starts; the write phase runs from the first Append until the last returned and the merges
// they made due are done (WaitForMerges), so a merge left running in the background is counted.
std::pair<double, double> IngestPitstore(const std::string& dir, int64_t entities, int64_t batches, Merges merges,
                                         bool compact = true) {
  std::string path = dir + "/ingest.pit";
  for (const char* s : {"", "-index", "-index-lock"}) std::filesystem::remove(path + s);
  Options o;
  if (merges == Merges::kNone) {
    o.auto_flush_row_blocks = 0;
    o.auto_flush_rows = 0;
  }
  o.background_merges = merges == Merges::kInBackground;
  if (const char* rows = std::getenv("PITSTORE_BENCH_PAGE_ROWS"))  // to compare page sizes
    o.segment_page_rows = static_cast<uint32_t>(std::strtoul(rows, nullptr, 10));
  if (const char* rows = std::getenv("PITSTORE_BENCH_FLUSH_ROWS"); rows && merges != Merges::kNone)  // merge sizes
    o.auto_flush_rows = std::strtoull(rows, nullptr, 10);
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
  std::vector<WriteBatch> input;
  for (int64_t b = 0; b < batches; ++b) input.push_back(ToBatch(MakeRows(entities, b)));
  std::vector<double> latency;  // of each Append, seconds
  ::sync();                     // the previous phase's writes reach the disk before the clock starts
  const auto t0 = Clock::now();
  for (WriteBatch& batch : input) {
    const auto a = Clock::now();
    auto r = (*store)->Append("user_stats", batch);
    latency.push_back(Seconds(a, Clock::now()));
    if (!r.ok()) Die("append: " + r.status().ToString());
    if (!r->merge.ok()) Die("merge: " + r->merge.ToString());
    batch = WriteBatch();
  }
  const auto committed = Clock::now();
  const size_t slowest = std::max_element(latency.begin(), latency.end()) - latency.begin();
  std::sort(latency.begin(), latency.end());
  std::printf("  commit latency: median %.0f ms, p90 %.0f ms, max %.0f ms (commit %zu of %zu)\n",
              1e3 * latency[latency.size() / 2], 1e3 * latency[latency.size() * 9 / 10], 1e3 * latency.back(),
              slowest + 1, latency.size());
  if (Status st = (*store)->WaitForMerges(); !st.ok()) Die("merge: " + st.ToString());
  const double write = Seconds(t0, Clock::now());
  if (merges == Merges::kInBackground)
    std::printf("  (background merges: the last commit returned after %.2f s, its merges were done at %.2f s)\n",
                Seconds(t0, committed), write);
  if (!compact) return {write, 0};
  const uint64_t rows = static_cast<uint64_t>(batches) * kBatch;
  PrintSizes(merges != Merges::kNone ? "pitstore as ingested (merges)" : "pitstore as ingested (commits)", rows,
             BytesOf(path), BytesOf(path + "-index"));
  const auto compact_start = Clock::now();
  if (Status st = (*store)->Compact(CompactOptions{true}); !st.ok()) Die(st.ToString());
  const double compact_seconds = Seconds(compact_start, Clock::now());
  PrintSizes("pitstore after compact --full", rows, BytesOf(path), BytesOf(path + "-index"));
  if (merges == Merges::kInBackground) {  // a vacuumed copy: only live data, and an index built in key order
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
  ::sync();  // as for pitstore: no phase pays for an earlier one's writeback
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
  const std::string mode = argc > 4 ? argv[4] : "";
  if (mode == "--store-only" || mode == "--store-only-in-commit") {
    // The store as the default ingest leaves it (automatic merges, no final compaction), kept at
    // DIR/ingest.pit: what the maintenance memory figures of bench/README.md are measured on.
    auto t = IngestPitstore(dir, entities, batches, mode == "--store-only" ? Merges::kInBackground : Merges::kInCommit,
                            false);
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
  line("pitstore, commits only (tail index)", IngestPitstore(dir, entities, batches, Merges::kNone));
  line("pitstore, merges in the commit", IngestPitstore(dir, entities, batches, Merges::kInCommit));
  line("pitstore, merges in the background (default)", IngestPitstore(dir, entities, batches, Merges::kInBackground));
  std::filesystem::remove_all(dir);
  return 0;
}
