// pitstore's side of the point-in-time join benchmark on the shared data (../shared/bench),
// printing one JSON line in the shape of ../shared/bench/duckdb.sh so the two can be compared.
//
//   pitstore_join_bench load SIZE [STORE]     SIZE_user_stats.bin -> $BENCH_DATA/STORE.pit
//                                             (100,000-row durable batches, created_ts as
//                                             system_ts), then the time to compact it;
//                                             PITSTORE_BENCH_PAGE_ROWS sets segment_page_rows
//   pitstore_join_bench windows SIZE [STORE] [ONLINE_READS]
//                                             sum and count of f0 over 1h, 1d, 7d for every
//                                             label (AggregateJoin), then online reads of three
//                                             aggregates of one key; seconds and checksums
//   pitstore_join_bench join SIZE [THREADS] [now|label] [STORE]
//                                             reads SIZE_labels.bin and joins it with every
//                                             feature; prints seconds (labels read + join) and
//                                             DuckDB's checksum of the output
// Wrap a call in /usr/bin/time -v for its peak memory.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "pitstore/store.h"
#include "populated_array.h"  // engine/src: big arrays filled by the kernel in one call

using namespace pitstore;

namespace {

std::string DataDir() {
  const char* d = std::getenv("BENCH_DATA");
  return d ? d : "/tmp/pitstore-bench";
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

std::string Int128(__int128 v) {
  if (v == 0) return "0";
  bool neg = v < 0;
  std::string s;
  for (; v != 0; v /= 10) s.insert(s.begin(), static_cast<char>('0' + (neg ? -(v % 10) : v % 10)));
  return neg ? "-" + s : s;
}

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "pitstore_join_bench: %s\n", what.c_str());
  std::exit(1);
}

std::vector<char> ReadFile(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) Die("cannot open " + path + " (run ../shared/bench/data.sh first)");
  std::fseek(f, 0, SEEK_END);
  long size = std::ftell(f);
  std::fseek(f, 0, SEEK_SET);
  std::vector<char> bytes(static_cast<size_t>(size));
  if (std::fread(bytes.data(), 1, bytes.size(), f) != bytes.size()) Die("short read of " + path);
  std::fclose(f);
  return bytes;
}

int Load(const std::string& size, const std::string& store_name) {
  std::string path = DataDir() + "/" + store_name + ".pit";
  for (const char* suffix : {"", "-index", "-index-lock"}) std::remove((path + suffix).c_str());
  Options options;
  if (const char* rows = std::getenv("PITSTORE_BENCH_PAGE_ROWS"))
    options.segment_page_rows = static_cast<uint32_t>(std::strtoul(rows, nullptr, 10));
  auto store = Store::Open(path, options);
  if (!store.ok()) Die(store.status().ToString());
  Store& s = **store;
  Definitions d;
  d.entities = {{"user", {{"user_id", KeyType::kInt64}}, ""}};
  FeatureViewDef v;
  v.name = "user_stats";
  v.entities = {"user"};
  for (const char* f : {"f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7"}) {
    FeatureDef fd;
    fd.name = f;
    fd.type = FeatureType::kFloat64;
    v.features.push_back(fd);
  }
  for (const char* f : {"c0", "c1"}) {
    FeatureDef fd;
    fd.name = f;
    fd.type = FeatureType::kInt64;
    v.features.push_back(fd);
  }
  d.views = {v};
  if (Status st = s.Apply(d); !st.ok()) Die(st.ToString());

  std::vector<char> bytes = ReadFile(DataDir() + "/" + size + "_user_stats.bin");
  const size_t rows = bytes.size() / (13 * 8);
  auto start = std::chrono::steady_clock::now();
  const size_t kBatch = 100'000;
  for (size_t from = 0; from < rows; from += kBatch) {
    size_t n = std::min(kBatch, rows - from);
    std::vector<EntityKey> keys(n);
    std::vector<Timestamp> ev(n), sys(n);
    std::vector<std::pair<std::string, Column>> cols;
    for (int c = 0; c < 10; ++c) {
      cols.emplace_back(v.features[c].name, Column::Of(v.features[c].type));
      cols.back().second.Reserve(n);
    }
    for (size_t i = 0; i < n; ++i) {
      int64_t rec[13];
      std::memcpy(rec, bytes.data() + (from + i) * sizeof rec, sizeof rec);
      keys[i] = {rec[0]};
      ev[i] = rec[1];
      sys[i] = rec[2];
      for (int c = 0; c < 8; ++c) {
        double x;
        std::memcpy(&x, &rec[3 + c], 8);
        cols[c].second.doubles.push_back(x);
      }
      cols[8].second.ints.push_back(rec[11]);
      cols[9].second.ints.push_back(rec[12]);
    }
    WriteBatch batch;
    batch.SetColumns(std::move(keys), std::move(ev), std::move(sys), std::move(cols));
    auto c = s.Append("user_stats", batch);
    if (!c.ok()) Die(c.status().ToString());
  }
  double ingest = Seconds(start);
  start = std::chrono::steady_clock::now();
  if (Status st = s.Compact(); !st.ok()) Die(st.ToString());
  double compact = Seconds(start);
  auto blocks = s.ListBlocks("user_stats");
  std::printf(
      "{\"tool\":\"pitstore\",\"mode\":\"load\",\"size\":\"%s\",\"rows\":%zu,\"ingest_secs\":%.3f,"
      "\"rows_per_sec\":%.0f,\"compact_secs\":%.3f,\"blocks\":%zu}\n",
      size.c_str(), rows, ingest, rows / ingest, compact, blocks.ok() ? blocks->size() : 0);
  return 0;
}

// `features`: "all" (the view's ten, as duckdb_join_every_column.sh reads them) or a comma list, such
// as the four the shared harness's checksum reads ("f0,f7,c0,c1": DuckDB scans only those).
int Join(const std::string& size, int threads, const std::string& mode, const std::string& store_name,
         const std::string& features) {
  Options o;
  o.read_only = true;
  o.create_if_missing = false;
  auto store = Store::Open(DataDir() + "/" + store_name + ".pit", o);
  if (!store.ok()) Die(store.status().ToString() + " (run: pitstore_join_bench load " + size + ")");
  auto start = std::chrono::steady_clock::now();
  // Straight from the file into the label columns, in 1 MiB reads, each of `threads` parts of
  // the file on a thread of its own (DuckDB scans its labels table on its threads too).
  std::string labels_path = DataDir() + "/" + size + "_labels.bin";
  const int fd = ::open(labels_path.c_str(), O_RDONLY);
  if (fd < 0) Die("cannot open " + labels_path + " (run ../shared/bench/data.sh first)");
  struct stat st;
  if (::fstat(fd, &st) != 0) Die("cannot stat " + labels_path);
  const size_t n = static_cast<size_t>(st.st_size) / 24;
  JoinLabels labels;
  labels.keys.push_back(Column::Of(FeatureType::kInt64));
  AssignPopulated<int64_t>(&labels.keys[0].ints, n, 0, threads);
  AssignPopulated<Timestamp>(&labels.times, n, 0, threads);
  std::vector<int32_t> label;
  AssignPopulated<int32_t>(&label, n, 0, threads);
  std::atomic<bool> short_read{false};
  auto read_part = [&](size_t from, size_t to) {
    std::vector<char> chunk(24 * 43690);
    for (size_t i = from; i < to;) {
      const size_t want = std::min(to - i, chunk.size() / 24);
      for (size_t got = 0; got < want * 24;) {  // a pread may return less, or be interrupted
        const ssize_t r = ::pread(fd, chunk.data() + got, want * 24 - got, static_cast<off_t>(i * 24 + got));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
          short_read = true;
          return;
        }
        got += static_cast<size_t>(r);
      }
      for (size_t k = 0; k < want; ++k, ++i) {
        std::memcpy(&labels.keys[0].ints[i], chunk.data() + k * 24, 8);
        std::memcpy(&labels.times[i], chunk.data() + k * 24 + 8, 8);
        std::memcpy(&label[i], chunk.data() + k * 24 + 16, 4);
      }
    }
  };
  std::vector<std::thread> readers;
  const size_t parts = static_cast<size_t>(std::max(1, threads));
  for (size_t p = 1; p < parts; ++p) readers.emplace_back(read_part, n * p / parts, n * (p + 1) / parts);
  read_part(0, n / parts);
  for (std::thread& t : readers) t.join();
  ::close(fd);
  if (short_read) Die("short read of " + labels_path);
  double read_secs = Seconds(start);
  JoinOptions jo;
  jo.threads = threads;
  jo.known_at = mode == "label" ? KnownAt::kLabelTime : KnownAt::kNow;
  std::vector<std::string> wanted;
  if (features != "all")
    for (size_t from = 0; from <= features.size();) {
      size_t comma = std::min(features.find(',', from), features.size());
      wanted.push_back(features.substr(from, comma - from));
      from = comma + 1;
    }
  auto result = (*store)->AsOfJoin("user_stats", labels, wanted, jo);
  if (!result.ok()) Die(result.status().ToString());
  double secs = Seconds(start);
  // The output column of each feature the checksum sums.
  auto column_of = [&](const std::string& name) -> size_t {
    if (wanted.empty())
      return name[0] == 'f' ? static_cast<size_t>(name[1] - '0') : 8 + static_cast<size_t>(name[1] - '0');
    for (size_t c = 0; c < wanted.size(); ++c)
      if (wanted[c] == name) return c;
    Die("the checksum needs feature " + name + " (features: " + features + ")");
    return 0;
  };
  const size_t f0 = column_of("f0"), f7 = column_of("f7"), c0 = column_of("c0"), c1 = column_of("c1");
  // DuckDB's checksum (duckdb.js): rows, non-null matches, sums over the output columns.
  const JoinResult& r = *result;
  __int128 sum_user = 0, sum_ts = 0;
  long long sum_label = 0, sum_c0 = 0, sum_c1 = 0, matched = 0;
  double sum_f0 = 0, sum_f7 = 0;
  for (size_t i = 0; i < n; ++i) {
    sum_user += labels.keys[0].ints[i];
    sum_ts += labels.times[i];
    sum_label += label[i];
    if (r.columns[f0].is_null(i)) continue;
    ++matched;
    sum_f0 += r.columns[f0].doubles[i];
    sum_f7 += r.columns[f7].doubles[i];
    sum_c0 += r.columns[c0].ints[i];
    sum_c1 += r.columns[c1].ints[i];
  }
  std::printf(
      "{\"tool\":\"pitstore\",\"mode\":\"join\",\"size\":\"%s\",\"threads\":%d,\"known_at\":\"%s\",\"features\":\"%s\","
      "\"check\":{"
      "\"n_rows\":\"%zu\",\"matched\":\"%lld\",\"sum_user_id\":\"%s\",\"sum_event_ts\":\"%s\",\"sum_label\":\"%lld\","
      "\"sum_c0\":\"%lld\",\"sum_c1\":\"%lld\",\"sum_f0\":%.3f,\"sum_f7\":%.3f},\"secs\":%.3f,\"labels_read_secs\":%."
      "3f}\n",
      size.c_str(), threads, mode.c_str(), features.c_str(), n, matched, Int128(sum_user).c_str(),
      Int128(sum_ts).c_str(), sum_label, sum_c0, sum_c1, std::round(sum_f0 * 1000) / 1000,
      std::round(sum_f7 * 1000) / 1000, secs, read_secs);
  return 0;
}

}  // namespace

// Windowed aggregates of the large shape (issue 19): for every label, sum and count of f0 over
// 1h, 1d and 7d before its time (t - w < event_ts <= t), by AggregateJoin; then `online` point
// reads of three of them (sum 1h, sum 1d, count 7d) at label times, p50 and p99. Prints the
// seconds and checksums (per output: non-null count and sum) that bench/window_peers.py prints.
int Windows(const std::string& size, const std::string& store_name, size_t online_reads) {
  Options o;
  o.read_only = true;
  o.create_if_missing = false;
  auto store = Store::Open(DataDir() + "/" + store_name + ".pit", o);
  if (!store.ok()) Die(store.status().ToString() + " (run: pitstore_join_bench load " + size + ")");
  auto start = std::chrono::steady_clock::now();
  std::string labels_path = DataDir() + "/" + size + "_labels.bin";
  std::vector<char> bytes = ReadFile(labels_path);
  const size_t n = bytes.size() / 24;
  JoinLabels labels;
  labels.keys.push_back(Column::Of(FeatureType::kInt64));
  labels.keys[0].ints.resize(n);
  labels.times.resize(n);
  for (size_t i = 0; i < n; ++i) {
    std::memcpy(&labels.keys[0].ints[i], bytes.data() + i * 24, 8);
    std::memcpy(&labels.times[i], bytes.data() + i * 24 + 8, 8);
  }
  std::vector<char>().swap(bytes);
  const double read_secs = Seconds(start);
  const int64_t hour = 3'600'000'000;
  std::vector<WindowAggregate> aggs;
  for (int64_t w : {hour, 24 * hour, 7 * 24 * hour}) {
    aggs.push_back({"f0", AggregateFunction::kSum, w, ""});
    aggs.push_back({"f0", AggregateFunction::kCount, w, ""});
  }
  auto result = (*store)->AggregateJoin("user_stats", labels, aggs);
  if (!result.ok()) Die(result.status().ToString());
  const double secs = Seconds(start);
  std::string check;
  for (size_t a = 0; a < aggs.size(); ++a) {
    const Column& c = result->columns[a];
    uint64_t non_null = 0;
    double dsum = 0;
    long long isum = 0;
    for (size_t i = 0; i < n; ++i) {
      if (c.is_null(i)) continue;
      ++non_null;
      if (c.type == FeatureType::kFloat64)
        dsum += c.doubles[i];
      else
        isum += c.ints[i];
    }
    char part[160];
    std::snprintf(part, sizeof part, "%s\"%s\":[%llu,%s]", a ? "," : "", DefaultAggregateName(aggs[a]).c_str(),
                  static_cast<unsigned long long>(non_null),
                  c.type == FeatureType::kFloat64 ? std::to_string(std::llround(dsum * 1000) / 1000.0).c_str()
                                                  : std::to_string(isum).c_str());
    check += part;
  }
  // Online: three aggregates of one key at a label's time, one read each.
  std::vector<WindowAggregate> three = {aggs[0], aggs[2], aggs[5]};
  std::vector<double> micros;
  std::mt19937_64 rng(9);
  for (size_t r = 0; r < online_reads; ++r) {
    const size_t i = rng() % n;
    auto t0 = std::chrono::steady_clock::now();
    auto one = (*store)->AggregateAt("user_stats", {labels.keys[0].ints[i]}, labels.times[i], kMaxTimestamp, three);
    micros.push_back(Seconds(t0) * 1e6);
    if (!one.ok()) Die(one.status().ToString());
  }
  std::sort(micros.begin(), micros.end());
  auto pct = [&](double p) { return micros.empty() ? 0.0 : micros[static_cast<size_t>(p * (micros.size() - 1))]; };
  std::printf(
      "{\"tool\":\"pitstore\",\"mode\":\"windows\",\"size\":\"%s\",\"store\":\"%s\",\"labels\":%zu,"
      "\"secs\":%.3f,\"labels_read_secs\":%.3f,\"check\":{%s},\"online_reads\":%zu,\"online_p50_us\":%.2f,"
      "\"online_p99_us\":%.2f}\n",
      size.c_str(), store_name.c_str(), n, secs, read_secs, check.c_str(), micros.size(), pct(0.5), pct(0.99));
  return 0;
}

int main(int argc, char** argv) {
  if (argc >= 3 && std::string(argv[1]) == "windows")
    return Windows(argv[2], argc > 3 ? argv[3] : argv[2], argc > 4 ? std::strtoul(argv[4], nullptr, 10) : 100'000);
  if (argc >= 3 && std::string(argv[1]) == "load") return Load(argv[2], argc > 3 ? argv[3] : argv[2]);
  if (argc >= 3 && std::string(argv[1]) == "join")
    return Join(argv[2], argc > 3 ? std::atoi(argv[3]) : 2, argc > 4 ? argv[4] : "now", argc > 5 ? argv[5] : argv[2],
                argc > 6 ? argv[6] : "all");
  std::fprintf(stderr,
               "usage: pitstore_join_bench load SIZE [STORE] | join SIZE [THREADS] [now|label] [STORE] [all|F,F,..]\n");
  return 2;
}
