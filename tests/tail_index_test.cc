// The tail index (engine/src/tail_index.h): each key's greatest version among unmerged row
// batches, by commit; and the store's use of it: commits leave `latest` to merges, and latest
// reads stay exact between them.
#include "tail_index.h"

#include <lmdb.h>

#include <random>
#include <thread>

#include "index.h"
#include "key_codec.h"
#include "test_util.h"

namespace pitstore {
namespace {
using testing::TempDir;

// A sorted batch of commit `commit`: rows (key, event_ts), in any order.
std::shared_ptr<const Run> Batch(uint64_t commit, std::vector<std::pair<int64_t, int64_t>> rows) {
  auto run = std::make_shared<Run>();
  run->view_id = 7;
  run->columns.push_back(Column::Of(FeatureType::kInt64));
  for (size_t i = 0; i < rows.size(); ++i) {
    run->keys.push_back(EncodeEntityKey({rows[i].first}));
    run->event_ts.push_back(rows[i].second);
    run->system_ts.push_back(static_cast<int64_t>(commit));
    run->seq.push_back(commit << 32 | i);
    run->columns[0].Append(Value::Int64(static_cast<int64_t>(commit)));
  }
  run->Sort();
  return run;
}

std::string Key(int64_t k) { return LatestKey(7, EncodeEntityKey({k})); }

// The event time the tail answers for key k at commit c, or -1.
int64_t At(const TailIndex& tail, int64_t k, uint64_t c) {
  const TailIndex::Node* n = tail.Find(Key(k), c);
  return n ? n->run->event_ts[n->row] : -1;
}

TEST(TailIndex, AnswersByCommitAndNeverLetsALateOlderRowWin) {
  TailIndex tail;
  tail.Insert(100, Batch(1, {{1, 10}, {2, 20}, {1, 5}}));
  tail.Insert(200, Batch(2, {{1, 30}, {2, 15}, {3, 1}}));  // key 2: late and older
  tail.Cover(2);
  EXPECT_EQ(tail.covered(), 2u);
  EXPECT_EQ(At(tail, 1, 1), 10);
  EXPECT_EQ(At(tail, 1, 2), 30);
  EXPECT_EQ(At(tail, 2, 2), 20);
  EXPECT_EQ(At(tail, 3, 1), -1);  // not yet at commit 1
  EXPECT_EQ(At(tail, 3, 2), 1);
  EXPECT_EQ(At(tail, 4, 2), -1);
  EXPECT_EQ(tail.keys(), 3u);
  auto without = tail.Without({200}, 2);
  EXPECT_EQ(At(*without, 1, 2), 10);
  EXPECT_EQ(At(*without, 3, 2), -1);
  tail.Retire();
  EXPECT_EQ(tail.covered(), 0u);
}

TEST(TailIndex, ReadersSeeWholeCommitsWhileTheTableGrows) {
  // One writer inserts commits of 500 new keys (growing the table many times); a reader thread
  // at the covered commit must find every key of every commit up to it, and none after.
  TailIndex tail;
  constexpr int kCommits = 200, kKeys = 500;
  std::atomic<bool> done{false};
  std::atomic<int> checks{0};
  std::thread reader([&] {
    std::mt19937_64 rng(5);
    while (!done.load()) {
      uint64_t c = tail.covered();
      if (c == 0) continue;
      int64_t k = static_cast<int64_t>(rng() % (c * kKeys + kKeys));  // some beyond commit c
      bool want = k < static_cast<int64_t>(c * kKeys);
      const TailIndex::Node* n = tail.Find(Key(k), c);
      if ((n != nullptr) != want) {
        ADD_FAILURE() << "key " << k << " at commit " << c << ": " << (n ? "found" : "missing");
        return;
      }
      ++checks;
    }
  });
  for (uint64_t c = 1; c <= kCommits; ++c) {
    std::vector<std::pair<int64_t, int64_t>> rows;
    for (int i = 0; i < kKeys; ++i) rows.emplace_back(static_cast<int64_t>((c - 1) * kKeys + i), 1);
    tail.Insert(c * 1000, Batch(c, rows));
    tail.Cover(c);
  }
  done = true;
  reader.join();
  EXPECT_GT(checks.load(), 0);
  EXPECT_EQ(tail.keys(), size_t{kCommits * kKeys});
}

// Entries in the index's `latest` tables (`latest_int` holds these small int64 keys).
size_t LatestEntries(const std::string& index_path) {
  MDB_env* env;
  EXPECT_EQ(mdb_env_create(&env), 0);
  mdb_env_set_maxdbs(env, 8);
  mdb_env_set_mapsize(env, size_t{64} << 20);
  EXPECT_EQ(mdb_env_open(env, index_path.c_str(), MDB_NOSUBDIR | MDB_RDONLY | MDB_NOLOCK, 0644), 0);
  MDB_txn* txn;
  EXPECT_EQ(mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn), 0);
  size_t entries = 0;
  for (const char* name : {"latest", "latest_int"}) {
    MDB_dbi dbi;
    EXPECT_EQ(mdb_dbi_open(txn, name, 0, &dbi), 0);
    MDB_stat st;
    EXPECT_EQ(mdb_stat(txn, dbi, &st), 0);
    entries += st.ms_entries;
  }
  mdb_txn_abort(txn);
  mdb_env_close(env);
  return entries;
}

TEST(TailIndex, CommitsLeaveLatestToMergesAndReadsStayExact) {
  TempDir dir;
  std::string path = dir.path("t.pit");
  Options o;
  o.auto_flush_row_blocks = 0;
  o.auto_flush_rows = 0;
  auto store = UNWRAP(Store::Open(path, o));
  ASSERT_OK(store->DefineEntity(testing::IntEntity("user", "user_id")));
  ASSERT_OK(store->DefineView({"v", {"user"}, {{"n", FeatureType::kInt64}}}));
  std::map<int64_t, std::pair<int64_t, int64_t>> want;  // key -> (event_ts, n) of its latest
  std::mt19937_64 rng(9);
  auto append = [&](int b) {
    WriteBatch batch;
    for (int i = 0; i < 300; ++i) {
      int64_t k = static_cast<int64_t>(rng() % 400), ev = static_cast<int64_t>(rng() % 1000);
      batch.Add({k}, ev, {Value::Int64(b * 1000 + i)});
      auto it = want.find(k);
      if (it == want.end() || ev >= it->second.first) want[k] = {ev, b * 1000 + i};  // same time: the later row
    }
    UNWRAP(store->Append("v", batch));
  };
  auto check = [&](const std::string& when) {
    for (int64_t k = 0; k < 400; ++k) {
      Lookup l = UNWRAP(store->Latest("v", {k}));
      auto it = want.find(k);
      ASSERT_EQ(l.found, it != want.end()) << when << " key " << k;
      if (!l.found) continue;
      EXPECT_EQ(l.event_ts, it->second.first) << when << " key " << k;
      EXPECT_EQ(l.values[0], Value::Int64(it->second.second)) << when << " key " << k;
    }
  };
  for (int b = 0; b < 5; ++b) append(b);
  check("five batches in the tail");
  EXPECT_EQ(LatestEntries(path + "-index"), 0u) << "a commit wrote latest entries";
  ASSERT_OK(store->Compact());
  check("merged");
  EXPECT_EQ(LatestEntries(path + "-index"), want.size());
  for (int b = 5; b < 8; ++b) append(b);  // over segments now: the tail wins where newer
  check("a tail over segments");
  store.reset();
  store = UNWRAP(Store::Open(path, o));  // the tail is rebuilt from the file
  check("reopened");
  {
    Options ro = o;
    ro.read_only = true;
    store.reset();
    store = UNWRAP(Store::Open(path, ro));
    check("read-only");
  }
  EXPECT_EQ(UNWRAP(store->Stats()).views.at(0).entities, want.size());
  EXPECT_TRUE(UNWRAP(store->Verify()).ok());
}

}  // namespace
}  // namespace pitstore
