// A damaged index never answers with a wrong value. LMDB checksums nothing, and an entry lost
// from it (a changed key byte, a bad branch page) could let an older row pass for the answer:
// the key's latest entry counts the segments holding it, and the meta record digests the
// block table, so a read that misses an entry refuses (Corruption) instead. An as-of read
// whose answer is the key's latest entry (its row is eligible) trusts that entry as a latest
// read does: the entry's checksum covers its key and bytes, not whether it is current.
#include <lmdb.h>

#include <cstring>

#include "index.h"
#include "test_util.h"
#include "xxh3.h"

namespace pitstore {
namespace {
using testing::TempDir;

void Put(Store& store, int64_t key, Timestamp ev, int64_t n) {
  WriteBatch batch;
  batch.Add({key}, ev, {Value::Int64(n)});
  UNWRAP(store.Append("v", batch));
}

// Opens NAME.pit-index with LMDB directly and hands `fn` a write transaction on database `db`.
void EditIndex(const std::string& store_path, const char* db, const std::function<void(MDB_txn*, MDB_dbi)>& fn) {
  std::string path = store_path + "-index";
  MDB_env* env = nullptr;
  ASSERT_EQ(mdb_env_create(&env), 0);
  mdb_env_set_maxdbs(env, 8);
  mdb_env_set_mapsize(env, size_t{64} << 20);
  ASSERT_EQ(mdb_env_open(env, path.c_str(), MDB_NOSUBDIR, 0644), 0);
  MDB_txn* txn = nullptr;
  ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
  MDB_dbi dbi;
  ASSERT_EQ(mdb_dbi_open(txn, db, 0, &dbi), 0);
  fn(txn, dbi);
  ASSERT_EQ(mdb_txn_commit(txn), 0);
  mdb_env_close(env);
}

// Every key of a database, in order.
std::vector<std::string> Keys(MDB_txn* txn, MDB_dbi dbi) {
  std::vector<std::string> out;
  MDB_cursor* cur;
  EXPECT_EQ(mdb_cursor_open(txn, dbi, &cur), 0);
  MDB_val k, v;
  for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
    out.emplace_back(static_cast<const char*>(k.mv_data), k.mv_size);
  mdb_cursor_close(cur);
  return out;
}

// The lkey of a key of `db` (latest_int keys are one native u64).
std::string LkeyOf(const char* db, const std::string& raw) {
  if (std::string(db) != "latest_int") return raw;
  uint64_t key;
  std::memcpy(&key, raw.data(), 8);
  return LkeyOfLatestInt(key);
}

// The keys of the stores below: from 0, in `latest_int`; from 2^50 (past its range), in `latest`.
struct KeysIn {
  int64_t base;
  const char* db;
};
constexpr KeysIn kKeyRanges[] = {{0, "latest_int"}, {int64_t{1} << 50, "latest"}};

// Deletes the `nth` key (in key order) of database `db`, which must hold `expect` keys.
void DeleteNthKey(const std::string& store_path, const char* db, size_t nth, size_t expect) {
  EditIndex(store_path, db, [&](MDB_txn* txn, MDB_dbi dbi) {
    std::vector<std::string> keys = Keys(txn, dbi);
    ASSERT_EQ(keys.size(), expect);
    MDB_val k{keys[nth].size(), keys[nth].data()};
    ASSERT_EQ(mdb_del(txn, dbi, &k, nullptr), 0);
  });
}

// Key base + 1 has its newer row (event 100) in a segment and a late, older row (event 50) still
// in a row batch: as of 150 the answer is the segment's row.
std::unique_ptr<Store> SegmentAndLateRow(const std::string& path, int64_t base = 0) {
  auto store = testing::NewUserStore(path);
  Put(*store, base + 1, 100, 7);
  Put(*store, base + 2, 100, 8);
  EXPECT_TRUE(store->Compact().ok());
  Put(*store, base + 1, 50, 3);
  auto before = UNWRAP(store->AsOf("v", {base + 1}, 150, kMaxTimestamp));
  EXPECT_EQ(before.event_ts, 100);
  EXPECT_EQ(before.values[0], Value::Int64(7));
  return store;
}

// Runs `body` on a SegmentAndLateRow store of each key range, closed, in a directory of its own.
void ForEachKeyRange(const std::function<void(const KeysIn&, const std::string&)>& body) {
  for (const KeysIn& in : kKeyRanges) {
    SCOPED_TRACE(in.db);
    TempDir dir;
    const std::string path = dir.path("s.pit");
    SegmentAndLateRow(path, in.base).reset();
    body(in, path);
  }
}

TEST(IndexDamage, ASegmentCountThatDisagreesWithTheSegmentsIsRefused) {
  ForEachKeyRange([](const KeysIn& in, const std::string& path) {
    const int64_t base = in.base;
    // Key 1's latest entry, checksum renewed, now counts two segments where one holds it: either
    // the count or a segment's filter and page keys are wrong, and a read cannot tell which.
    EditIndex(path, in.db, [&](MDB_txn* txn, MDB_dbi dbi) {
      std::vector<std::string> keys = Keys(txn, dbi);
      ASSERT_EQ(keys.size(), 2u);
      MDB_val k{keys[0].size(), keys[0].data()}, v;
      ASSERT_EQ(mdb_get(txn, dbi, &k, &v), 0);
      std::string value(static_cast<const char*>(v.mv_data), v.mv_size);
      const std::string lkey = LkeyOf(in.db, keys[0]);
      ASSERT_EQ(UNWRAP(LatestSegments(lkey, value)), 1u);
      std::string damaged = WithLatestSegments(lkey, value, 2);
      MDB_val dv{damaged.size(), damaged.data()};
      ASSERT_EQ(mdb_put(txn, dbi, &k, &dv, 0), 0);
    });
    for (bool read_only : {true, false}) {
      Options options;
      options.read_only = read_only;
      auto store = UNWRAP(Store::Open(path, options));
      // A read that needs the segments: as of 99 the segment (events from 100 on) is not read,
      // but its filter admits the key, so the count may be right or not, and a read cannot tell.
      for (Timestamp t : {Timestamp{99}, Timestamp{60}}) {
        auto as_of = store->AsOf("v", {base + 1}, t, kMaxTimestamp);
        ASSERT_FALSE(as_of.ok()) << "answered event " << as_of->event_ts << " from a damaged index";
        EXPECT_TRUE(as_of.status().IsCorruption()) << as_of.status().ToString();
        EXPECT_NE(as_of.status().message().find("pitstore repair"), std::string::npos) << as_of.status().ToString();
      }
      // As of 150 the key's latest entry (event 100) is the segments' answer whatever they hold:
      // the count is not read, and the answer is right.
      auto latest_answer = UNWRAP(store->AsOf("v", {base + 1}, 150, kMaxTimestamp));
      EXPECT_EQ(latest_answer.event_ts, 100);
      EXPECT_EQ(latest_answer.values[0], Value::Int64(7));
      auto history = store->History("v", {base + 1}, kMinTimestamp, kMaxTimestamp, kMaxTimestamp);
      EXPECT_TRUE(history.status().IsCorruption()) << history.status().ToString();
      // Key 2's entries are whole: it still reads.
      EXPECT_EQ(UNWRAP(store->AsOf("v", {base + 2}, 150, kMaxTimestamp)).values[0], Value::Int64(8));
      if (!read_only) {
        EXPECT_FALSE(UNWRAP(store->Verify()).problems.empty());
        ASSERT_OK(store->RebuildIndex());
        auto repaired = UNWRAP(store->AsOf("v", {base + 1}, 150, kMaxTimestamp));
        EXPECT_EQ(repaired.event_ts, 100);
        EXPECT_EQ(repaired.values[0], Value::Int64(7));
        EXPECT_TRUE(UNWRAP(store->Verify()).problems.empty());
      }
    }
  });
}

TEST(IndexDamage, ALostLatestEntryIsRefusedByPointInTimeReads) {
  ForEachKeyRange([](const KeysIn& in, const std::string& path) {
    const int64_t base = in.base;
    DeleteNthKey(path, in.db, 0, 2);
    Options options;
    options.read_only = true;
    auto store = UNWRAP(Store::Open(path, options));
    auto as_of = store->AsOf("v", {base + 1}, 150, kMaxTimestamp);
    EXPECT_TRUE(as_of.status().IsCorruption()) << as_of.status().ToString();
    auto history = store->History("v", {base + 1}, kMinTimestamp, kMaxTimestamp, kMaxTimestamp);
    EXPECT_TRUE(history.status().IsCorruption()) << history.status().ToString();
    // As of 60 the answer is the row batch's row (event 50): the segment's events start at 100,
    // so it is not read, and the lost entry cannot change the answer.
    auto late = UNWRAP(store->AsOf("v", {base + 1}, 60, kMaxTimestamp));
    EXPECT_EQ(late.event_ts, 50);
    EXPECT_EQ(late.values[0], Value::Int64(3));
  });
}

TEST(IndexDamage, ALostBlockEntryIsRefusedNotSkipped) {
  TempDir dir;
  std::string path = dir.path("s.pit");
  SegmentAndLateRow(path).reset();
  // Drop the row batch's entry: its late row would silently vanish from history and dumps.
  DeleteNthKey(path, "blocks", 1, 2);
  Options options;
  options.read_only = true;
  auto store = UNWRAP(Store::Open(path, options));
  auto history = store->History("v", {int64_t{1}}, kMinTimestamp, kMaxTimestamp, kMaxTimestamp);
  EXPECT_TRUE(history.status().IsCorruption()) << history.status().ToString();
  auto blocks = store->ListBlocks("v");
  EXPECT_TRUE(blocks.status().IsCorruption()) << blocks.status().ToString();
}

// The counts follow merges: after many commits, compactions (partial and full) and a reopen,
// every key still reads, and verify finds the counts right.
TEST(IndexDamage, SegmentCountsStayExactThroughMergesAndRebuilds) {
  TempDir dir;
  std::string path = dir.path("s.pit");
  Options options;
  options.segment_max_rows = 64;
  {
    auto store = UNWRAP(Store::Open(path, options));
    ASSERT_OK(store->DefineEntity(testing::IntEntity("user", "user_id")));
    ASSERT_OK(store->DefineView({"v", {"user"}, {{"n", FeatureType::kInt64}}}));
    for (int round = 0; round < 6; ++round) {
      for (int k = 0; k < 40; ++k) Put(*store, k % (10 + round * 5), 1000 - round * 10 + k, round * 100 + k);
      CompactOptions co;
      co.full = round % 3 == 2;
      ASSERT_OK(store->Compact(co));
    }
    auto report = UNWRAP(store->Verify());
    EXPECT_TRUE(report.problems.empty()) << report.problems.front();
    for (int k = 0; k < 35; ++k) ASSERT_TRUE(store->AsOf("v", {int64_t{k}}, 990, kMaxTimestamp).ok()) << k;
    ASSERT_OK(store->RebuildIndex());
    for (int k = 0; k < 35; ++k) ASSERT_TRUE(store->AsOf("v", {int64_t{k}}, 990, kMaxTimestamp).ok()) << k;
    EXPECT_TRUE(UNWRAP(store->Verify()).problems.empty());
  }
}

// Drops `latest_int` from the index of a SegmentAndLateRow store at `path`: a read-only open is
// then refused, with `refusal` and what to do in its message, and a read-write open rebuilds the
// index, after which every read is right again.
void ExpectLatestIntLossRefusedThenRebuilt(const std::string& path, const std::string& refusal) {
  EditIndex(path, "latest_int", [](MDB_txn* txn, MDB_dbi dbi) { ASSERT_EQ(mdb_drop(txn, dbi, 1), 0); });
  Options read_only;
  read_only.read_only = true;
  auto refused = Store::Open(path, read_only);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find(refusal), std::string::npos) << refused.status().ToString();
  EXPECT_NE(refused.status().message().find("read-write once to rebuild"), std::string::npos);
  {
    // A writer that made the table and stopped before its rebuild committed (killed, or the
    // rebuild failed): the index is still refused, not read with the table empty.
    auto index = Index::Open(path + "-index", false, size_t{1} << 30, false);
    ASSERT_TRUE(index.ok()) << index.status().ToString();
  }
  auto still_refused = Store::Open(path, read_only);
  ASSERT_FALSE(still_refused.ok());
  EXPECT_NE(still_refused.status().message().find("read-write once to rebuild"), std::string::npos)
      << still_refused.status().ToString();
  UNWRAP(Store::Open(path)).reset();  // rebuilds
  auto store = UNWRAP(Store::Open(path, read_only));
  EXPECT_EQ(UNWRAP(store->Latest("v", {int64_t{1}})).values[0], Value::Int64(7));
  EXPECT_EQ(UNWRAP(store->Latest("v", {int64_t{2}})).values[0], Value::Int64(8));
  EXPECT_EQ(UNWRAP(store->AsOf("v", {int64_t{1}}, 150, kMaxTimestamp)).values[0], Value::Int64(7));
  EXPECT_EQ(UNWRAP(store->AsOf("v", {int64_t{1}}, 60, kMaxTimestamp)).values[0], Value::Int64(3));
  EXPECT_TRUE(UNWRAP(store->Verify()).problems.empty());
}

// An index of format 6 (before `latest_int`: its int64 keys were in `latest`) is refused by a
// read-only open with a message that says what to do, and rebuilt by a read-write one.
TEST(IndexFormat, AnOlderIndexIsRefusedReadOnlyAndRebuiltReadWrite) {
  TempDir dir;
  std::string path = dir.path("s.pit");
  SegmentAndLateRow(path).reset();
  // The meta record says format 6 (checksum renewed); the helper drops `latest_int`.
  EditIndex(path, "meta", [](MDB_txn* txn, MDB_dbi dbi) {
    MDB_val k{4, const_cast<char*>("meta")}, v;
    ASSERT_EQ(mdb_get(txn, dbi, &k, &v), 0);
    std::string record(static_cast<const char*>(v.mv_data), v.mv_size);
    ASSERT_EQ(record[0], 7);
    record[0] = 6;
    const uint32_t check = static_cast<uint32_t>(
        XXH3_64bits_withSeed(record.data(), record.size() - 4, XXH3_64bits(k.mv_data, k.mv_size)));
    std::memcpy(&record[record.size() - 4], &check, 4);
    MDB_val nv{record.size(), record.data()};
    ASSERT_EQ(mdb_put(txn, dbi, &k, &nv, 0), 0);
  });
  ExpectLatestIntLossRefusedThenRebuilt(path, "index format 6");
}

// An index whose meta record says format 7 but which lacks `latest_int` (damage) is refused
// read-only and rebuilt read-write: its int64 keys' entries are not silently missing.
TEST(IndexFormat, AMissingLatestIntTableIsRefusedReadOnlyAndRebuiltReadWrite) {
  TempDir dir;
  std::string path = dir.path("s.pit");
  SegmentAndLateRow(path).reset();
  ExpectLatestIntLossRefusedThenRebuilt(path, "no latest_int");
}

}  // namespace
}  // namespace pitstore
