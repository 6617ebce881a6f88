// Random damage, byte by byte: a byte flipped anywhere in the data file (header, registry, row
// batches, segment chunks and footers, commit records) or in any index value (latest,
// blocks, meta). After each flip, every read either returns the answer the intact store gave or
// fails with Corruption naming the place, and Verify reports the damage. Nothing is read wrong.
#include <fcntl.h>
#include <lmdb.h>
#include <unistd.h>

#include <fstream>
#include <random>

#include "test_util.h"

namespace pitstore {
namespace {
using testing::TempDir;

constexpr int kKeys = 120;

void FlipByte(const std::string& path, uint64_t offset, char mask) {
  int fd = ::open(path.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  char c;
  ASSERT_EQ(::pread(fd, &c, 1, static_cast<off_t>(offset)), 1);
  c = static_cast<char>(c ^ mask);
  ASSERT_EQ(::pwrite(fd, &c, 1, static_cast<off_t>(offset)), 1);
  ::close(fd);
}

// Every fourth key lies beyond 2^47, where the index keeps it in `latest`, the others in
// `latest_int`: damage in either database is met.
int64_t KeyOf(int k) { return k % 4 == 3 ? k + (int64_t{1} << 50) : k; }

// A store with every kind of block: a multi-page segment, a second (overlapping) segment of
// corrections, row batches in the tail, nulls, strings, a schema change between commits.
void Build(const std::string& path) {
  Options o;
  o.auto_flush_row_blocks = 0;
  o.auto_flush_rows = 0;
  o.segment_page_rows = 64;
  auto store = UNWRAP(Store::Open(path, o));
  ASSERT_OK(store->DefineEntity(testing::IntEntity("user", "user_id")));
  ASSERT_OK(store->DefineView({"v", {"user"}, {{"n", FeatureType::kInt64}, {"s", FeatureType::kString}}}));
  std::mt19937_64 rng(3);
  auto batch_of = [&](int round, int every) {
    WriteBatch b;
    for (int k = 0; k < kKeys; k += every)
      for (int e = 0; e < 3; ++e) {
        std::vector<Value> row = {rng() % 5 ? Value::Int64(static_cast<int64_t>(rng() % 1000)) : Value::Null(),
                                  Value::String(std::string(rng() % 9, static_cast<char>('a' + round)))};
        if (round == 2) row.push_back(Value::Float64(k / 4.0));
        b.Add({KeyOf(k)}, round * 10 + e, std::move(row));
      }
    return b;
  };
  UNWRAP(store->Append("v", batch_of(0, 1)));
  UNWRAP(store->Append("v", batch_of(1, 1)));
  ASSERT_OK(store->Compact(CompactOptions{true}));
  UNWRAP(store->Append("v", batch_of(0, 3)));  // corrections of round 0
  ASSERT_OK(store->Compact(CompactOptions{false}));
  FeatureViewDef grown{"v", {"user"}, {{"n", FeatureType::kInt64}, {"s", FeatureType::kString}}};
  grown.features.push_back({"d", FeatureType::kFloat64});
  ASSERT_OK(store->DefineView(grown));
  UNWRAP(store->Append("v", batch_of(2, 2)));
  WriteBatch late;
  for (int k = 0; k < kKeys; k += 5) late.Add({KeyOf(k)}, 15, {Value::Int64(k), Value::Null(), Value::Float64(0.5)});
  UNWRAP(store->Append("v", late));
}

// Everything a reader can ask about every key, as text: the answers to compare.
struct Answers {
  std::vector<std::string> latest, as_of, history;
};

std::string Show(const Lookup& l) {
  std::string s = l.found ? std::to_string(l.event_ts) + "/" + std::to_string(l.system_ts) : "none";
  for (const Value& v : l.values) s.append("|").append(v.ToString());
  return s;
}

std::string Show(const std::vector<VersionedRow>& rows) {
  std::string s;
  for (const VersionedRow& r : rows) {
    s.append(std::to_string(r.event_ts)).append("/").append(std::to_string(r.system_ts));
    for (const Value& v : r.values) s.append("|").append(v.ToString());
    s += ";";
  }
  return s;
}

// Reads every key three ways; a read that fails must fail with Corruption that says where.
// Returns the number of failed reads; adds a test failure for any wrong answer.
int CheckReads(Store& store, const Answers& want, const std::string& what) {
  int failed = 0;
  auto check = [&](const auto& result, const std::string& expected, int key, const char* how) {
    if (!result.ok()) {
      EXPECT_TRUE(result.status().IsCorruption())
          << what << ", " << how << " key " << key << ": " << result.status().ToString();
      const std::string& m = result.status().message();
      EXPECT_TRUE(m.find("offset") != std::string::npos || m.find("index") != std::string::npos)
          << what << ": the error does not say where: " << m;
      ++failed;
      return;
    }
    EXPECT_EQ(Show(*result), expected) << what << ": " << how << " of key " << key << " read a wrong value";
  };
  for (int k = 0; k < kKeys; ++k) {
    check(store.Latest("v", {KeyOf(k)}), want.latest[k], k, "latest");
    check(store.AsOf("v", {KeyOf(k)}, 11), want.as_of[k], k, "as_of");
    check(store.History("v", {KeyOf(k)}, kMinTimestamp, kMaxTimestamp), want.history[k], k, "history");
  }
  return failed;
}

Answers Collect(Store& store) {
  Answers a;
  for (int k = 0; k < kKeys; ++k) {
    a.latest.push_back(Show(UNWRAP(store.Latest("v", {KeyOf(k)}))));
    a.as_of.push_back(Show(UNWRAP(store.AsOf("v", {KeyOf(k)}, 11))));
    a.history.push_back(Show(UNWRAP(store.History("v", {KeyOf(k)}, kMinTimestamp, kMaxTimestamp))));
  }
  return a;
}

Options ReadOnly() {
  Options o;
  o.read_only = true;
  return o;
}

TEST(RandomDamage, FlipAnywhereInTheDataFile) {
  TempDir dir;
  std::string path = dir.path("d.pit");
  Build(path);
  Answers want = Collect(*UNWRAP(Store::Open(path, ReadOnly())));
  uint64_t size = std::filesystem::file_size(path);
  std::mt19937_64 rng(11);
  int failed_reads = 0, failed_opens = 0;
  const int kFlips = 300;
  for (int i = 0; i < kFlips; ++i) {
    uint64_t at = rng() % size;
    char mask = static_cast<char>(1 << (rng() % 8));
    FlipByte(path, at, mask);
    std::string what = "flip at offset " + std::to_string(at);
    for (bool read_only : {true, false}) {
      Options o = read_only ? ReadOnly() : Options();
      auto store = Store::Open(path, o);
      if (!store.ok()) {  // the header or the current registry: read at open
        EXPECT_TRUE(store.status().IsCorruption()) << what << ": " << store.status().ToString();
        EXPECT_NE(store.status().message().find("offset"), std::string::npos) << store.status().message();
        ++failed_opens;
        continue;
      }
      failed_reads += CheckReads(**store, want, what);
      auto report = UNWRAP((*store)->Verify());
      EXPECT_FALSE(report.ok()) << what << ": verify found nothing";
    }
    EXPECT_EQ(std::filesystem::file_size(path), size) << what << ": the file was cut";
    FlipByte(path, at, mask);  // restore
  }
  RecordProperty("flips", kFlips);
  std::printf("data file: %d flips over %llu bytes; %d reads and %d opens refused, none wrong\n", kFlips,
              static_cast<unsigned long long>(size), failed_reads, failed_opens);
  auto store = UNWRAP(Store::Open(path));
  EXPECT_TRUE(UNWRAP(store->Verify()).ok());
  EXPECT_EQ(CheckReads(*store, want, "restored"), 0);
}

// Where each value of the index's four databases lies in the LMDB file.
struct ValueBytes {
  std::string db;
  uint64_t offset;
  size_t size;
};

// LMDB hands out pointers into its memory map of the file but not the map's address (without
// MDB_FIXEDMAP); /proc/self/maps has it. (Searching the file for a value's bytes would also find
// stale copies in LMDB's freed pages.)
uintptr_t MapStart(const std::string& file) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  std::string name = std::filesystem::canonical(file).string();
  while (std::getline(maps, line))
    if (line.size() > name.size() && line.compare(line.size() - name.size(), name.size(), name) == 0)
      return std::stoull(line.substr(0, line.find('-')), nullptr, 16);
  return 0;  // not listed (qemu-user shows its own maps)
}

std::vector<ValueBytes> IndexValues(const std::string& index_path) {
  std::vector<ValueBytes> out;
  MDB_env* env;
  EXPECT_EQ(mdb_env_create(&env), 0);
  mdb_env_set_maxdbs(env, 8);
  mdb_env_set_mapsize(env, size_t{64} << 20);  // not the writer's 1 TiB: emulators cannot reserve it
  EXPECT_EQ(mdb_env_open(env, index_path.c_str(), MDB_NOSUBDIR | MDB_RDONLY | MDB_NOLOCK, 0644), 0);
  uintptr_t base = MapStart(index_path);
  if (!base) {
    mdb_env_close(env);
    return out;
  }
  MDB_txn* txn;
  EXPECT_EQ(mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn), 0);
  for (const char* name : {"meta", "latest", "latest_int", "blocks"}) {
    MDB_dbi dbi;
    EXPECT_EQ(mdb_dbi_open(txn, name, 0, &dbi), 0) << name;
    MDB_cursor* cur;
    mdb_cursor_open(txn, dbi, &cur);
    MDB_val k, v;
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
      out.push_back({name, reinterpret_cast<uintptr_t>(v.mv_data) - base, v.mv_size});
    mdb_cursor_close(cur);
  }
  mdb_txn_abort(txn);
  mdb_env_close(env);
  return out;
}

TEST(RandomDamage, FlipInAnyIndexValue) {
  TempDir dir;
  std::string path = dir.path("i.pit");
  Build(path);
  Answers want = Collect(*UNWRAP(Store::Open(path, ReadOnly())));
  std::string index_path = path + "-index";
  std::vector<ValueBytes> values = IndexValues(index_path);
  if (values.empty()) GTEST_SKIP() << "cannot find the index's memory map in /proc/self/maps (an emulator?)";
  std::map<std::string, int> flips_in;
  std::mt19937_64 rng(12);
  int failed_reads = 0, failed_opens = 0;
  const int kFlips = 300;
  for (int i = 0; i < kFlips; ++i) {
    // Each database in turn (there is one meta value and few block entries), a random byte of a
    // random value of it.
    const char* db = std::array{"meta", "latest", "latest_int", "blocks"}[i % 4];
    std::vector<const ValueBytes*> of_db;
    for (const ValueBytes& v : values)
      if (v.db == db) of_db.push_back(&v);
    ASSERT_FALSE(of_db.empty()) << db;
    const ValueBytes& target = *of_db[rng() % of_db.size()];
    uint64_t at = target.offset + rng() % target.size;
    char mask = static_cast<char>(1 << (rng() % 8));
    flips_in[db]++;
    FlipByte(index_path, at, mask);
    std::string what = std::string("flip in a ") + db + " value at index offset " + std::to_string(at);
    {
      auto store = Store::Open(path, ReadOnly());  // read-write would rebuild a bad meta at once
      if (!store.ok()) {
        EXPECT_TRUE(store.status().IsCorruption()) << what << ": " << store.status().ToString();
        ++failed_opens;
      } else {
        failed_reads += CheckReads(**store, want, what);
        auto report = UNWRAP((*store)->Verify());
        EXPECT_FALSE(report.ok()) << what << ": verify found nothing";
      }
    }
    FlipByte(index_path, at, mask);  // restore
  }
  std::printf(
      "index: %d flips (meta %d, latest %d, latest_int %d, blocks %d); %d reads and %d opens refused, none wrong\n",
      kFlips, flips_in["meta"], flips_in["latest"], flips_in["latest_int"], flips_in["blocks"], failed_reads,
      failed_opens);
  EXPECT_GT(failed_reads, 0);
  // And repair: damage the index for good, rebuild it, and every answer is back.
  FlipByte(index_path, values.back().offset, 1);
  {
    auto store = UNWRAP(Store::Open(path));
    EXPECT_FALSE(UNWRAP(store->Verify()).ok());
    ASSERT_OK(store->RebuildIndex());
    EXPECT_TRUE(UNWRAP(store->Verify()).ok());
    EXPECT_EQ(CheckReads(*store, want, "rebuilt"), 0);
  }
}

}  // namespace
}  // namespace pitstore
