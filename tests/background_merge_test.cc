// Automatic merges on the store's own thread (Options::background_merges): commits and readers
// go on while a merge runs, every read sees whole commits before and after it is published, a
// merge that another writer overtook (Compact, Vacuum, a definition) is dropped without losing
// a row, and a failed merge is reported without undoing a commit.
#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "mem_env.h"
#include "test_util.h"

namespace pitstore {
namespace {
using testing::TempDir;

constexpr int kKeys = 200;

// Batch b sets every key's `batch` to b (event time b) and `n` to key * 1000 + b.
WriteBatch BatchOf(int b) {
  WriteBatch batch;
  for (int k = 0; k < kKeys; ++k) batch.Add({int64_t{k}}, b, {Value::Int64(b), Value::Int64(k * 1000 + b)});
  return batch;
}

std::vector<EntityKey> AllKeys() {
  std::vector<EntityKey> keys;
  for (int k = 0; k < kKeys; ++k) keys.push_back({int64_t{k}});
  return keys;
}

Options Small() {
  Options o;
  o.auto_flush_rows = 0;
  o.auto_flush_row_blocks = 2;  // a merge due at every other commit: many of them, overlapping commits
  o.segment_max_rows = 3 * kKeys;
  o.segment_page_rows = 16;
  return o;
}

// Every key's latest value and its as-of value at each batch time, against batches [0, n).
void ExpectBatches(Store& store, int n, const std::string& when) {
  auto latest = UNWRAP(store.LatestBatch("v", AllKeys()));
  for (int k = 0; k < kKeys; ++k) {
    ASSERT_TRUE(latest[k].found) << when << ": key " << k;
    ASSERT_EQ(latest[k].values[1].as_int64(), k * 1000 + n - 1) << when << ": key " << k;
  }
  for (int b = 0; b < n; b += 3) {
    auto row = UNWRAP(store.AsOf("v", {int64_t{b % kKeys}}, b));
    ASSERT_TRUE(row.found) << when;
    ASSERT_EQ(row.values[0].as_int64(), b) << when << ": as of " << b;
  }
  auto history = UNWRAP(store.History("v", {int64_t{7}}, kMinTimestamp, kMaxTimestamp, kMaxTimestamp));
  ASSERT_EQ(history.size(), static_cast<size_t>(n)) << when;
}

TEST(BackgroundMerges, CommitsAndReadersGoOnWhileMergesRun) {
  TempDir dir;
  const std::string path = dir.path("bg.pit");
  auto store = UNWRAP(Store::Open(path, Small()));
  ASSERT_OK(store->DefineEntity(testing::IntEntity("user", "user_id")));
  ASSERT_OK(store->DefineView({"v", {"user"}, {{"batch", FeatureType::kInt64}, {"n", FeatureType::kInt64}}}));
  UNWRAP(store->Append("v", BatchOf(0)));
  // Readers check that every read shows one whole commit, never older than the last they saw.
  std::atomic<bool> stop{false};
  std::atomic<int> reads{0};
  std::mutex failure_mu;
  std::string failure;
  auto fail = [&](const std::string& what) {
    std::lock_guard<std::mutex> lock(failure_mu);
    if (failure.empty()) failure = what;
    stop = true;
  };
  auto reader = [&] {
    int64_t last = 0;
    while (!stop) {
      auto all = store->LatestBatch("v", AllKeys());
      if (!all.ok()) return fail("LatestBatch: " + all.status().ToString());
      const int64_t seen = (*all)[0].values[0].as_int64();
      for (int k = 0; k < kKeys; ++k)
        if (!(*all)[k].found || (*all)[k].values[1].as_int64() != k * 1000 + seen)
          return fail("key " + std::to_string(k) + " is not of batch " + std::to_string(seen));
      if (seen < last) return fail("went back from batch " + std::to_string(last));
      last = seen;
      auto h = store->History("v", {int64_t{kKeys - 1}}, kMinTimestamp, kMaxTimestamp, kMaxTimestamp);
      if (!h.ok()) return fail("History: " + h.status().ToString());
      if (h->size() < static_cast<size_t>(seen) + 1) return fail("History lacks rows of a merged batch");
      reads++;
    }
  };
  std::thread r1(reader), r2(reader);
  const int kBatches = 60;
  for (int b = 1; b < kBatches && !stop; ++b) {
    CommitInfo info = UNWRAP(store->Append("v", BatchOf(b)));
    EXPECT_TRUE(info.merge.ok()) << info.merge.ToString();
  }
  ASSERT_OK(store->WaitForMerges());
  stop = true;
  r1.join();
  r2.join();
  ASSERT_TRUE(failure.empty()) << failure;
  EXPECT_GT(reads.load(), 0);
  StoreStats stats = UNWRAP(store->Stats());
  EXPECT_GE(stats.merges.count, 1u);
  EXPECT_LT(stats.views[0].row_blocks, 2u) << "the last due merge ran";
  EXPECT_EQ(stats.views[0].rows, static_cast<uint64_t>(kBatches) * kKeys);
  ExpectBatches(*store, kBatches, "after the merges");
  EXPECT_TRUE(UNWRAP(store->Verify()).ok());
  store.reset();
  store = UNWRAP(Store::Open(path, Small()));
  ExpectBatches(*store, kBatches, "reopened");
  EXPECT_TRUE(UNWRAP(store->Verify()).ok());
}

// Compactions, vacuums, a definition change and reopenings while commits keep background merges
// busy: a merge whose inputs another writer took is dropped, and no row is lost or doubled.
TEST(BackgroundMerges, AMergeOvertakenByAnotherWriterIsDropped) {
  TempDir dir;
  const std::string path = dir.path("race.pit");
  auto store = UNWRAP(Store::Open(path, Small()));
  ASSERT_OK(store->DefineEntity(testing::IntEntity("user", "user_id")));
  ASSERT_OK(store->DefineView({"v", {"user"}, {{"batch", FeatureType::kInt64}, {"n", FeatureType::kInt64}}}));
  int committed = 0;
  for (int round = 0; round < 12; ++round) {
    std::atomic<bool> done{false};
    Status other;
    std::thread writer([&] {
      for (int i = 0; i < 5; ++i) {
        auto c = store->Append("v", BatchOf(committed));
        if (!c.ok()) {
          other = c.status();
          break;
        }
        ++committed;
      }
      done = true;
    });
    // Meanwhile, on this thread, whatever another writer of the process may do.
    switch (round % 4) {
      case 0:
        other = store->Compact();
        break;
      case 1:
        other = store->Compact(CompactOptions{true});
        break;
      case 2:
        for (int i = 0; i < 3 && !done && other.ok(); ++i) {
          other = store->Vacuum();
          if (other.IsBusy()) other = Status::OK();
        }
        break;
      case 3: {
        FeatureViewDef w{"w" + std::to_string(round), {"user"}, {{"x", FeatureType::kInt64}}};
        other = store->DefineView(w);
        break;
      }
    }
    writer.join();
    ASSERT_OK(other);
    if (round % 5 == 4) {
      store.reset();
      store = UNWRAP(Store::Open(path, Small()));
    }
  }
  ASSERT_OK(store->WaitForMerges());
  ExpectBatches(*store, committed, "after the races");
  EXPECT_EQ(UNWRAP(store->Stats()).views[0].rows, static_cast<uint64_t>(committed) * kKeys);
  EXPECT_TRUE(UNWRAP(store->Verify()).ok());
  ASSERT_OK(store->Compact(CompactOptions{true}));
  ExpectBatches(*store, committed, "compacted");
}

// A merge whose sync fails (commits without sync leave the merge the first sync): the failure
// is reported, nothing of the merge stays, and every commit is still there, before and after
// reopening.
TEST(BackgroundMerges, AFailedMergeIsReportedAndLosesNoCommit) {
  TempDir dir;
  MemEnv env(2);  // two threads allowed: the merge runs on the store's thread
  Options o = Small();
  o.env = &env;
  const std::string path = dir.path("fail.pit");
  {
    auto store = UNWRAP(Store::Open(path, o));
    ASSERT_OK(store->DefineEntity(testing::IntEntity("user", "user_id")));
    ASSERT_OK(store->DefineView({"v", {"user"}, {{"batch", FeatureType::kInt64}, {"n", FeatureType::kInt64}}}));
    ASSERT_OK(store->WaitForMerges());
    env.FailNth(MemEnv::kSync, 1);
    WriteOptions unsynced;
    unsynced.sync = false;
    UNWRAP(store->Append("v", BatchOf(0), unsynced));
    UNWRAP(store->Append("v", BatchOf(1), unsynced));  // the merge is due
    Status merge = store->WaitForMerges();
    ASSERT_TRUE(merge.IsIOError()) << merge.ToString();
    EXPECT_TRUE(store->WaitForMerges().ok()) << "a failure is reported once";
    ExpectBatches(*store, 2, "after the failed merge");
    EXPECT_EQ(UNWRAP(store->Stats()).merges.count, 0u);
  }
  auto store = UNWRAP(Store::Open(path, o));
  ExpectBatches(*store, 2, "reopened");
  EXPECT_TRUE(UNWRAP(store->Verify()).ok());
}

// An Env that allows one thread gets no merge thread: the merge runs in the commit that made it
// due, and that commit's CommitInfo::merge says why it failed.
TEST(BackgroundMerges, WithOneThreadTheCommitRunsTheMerge) {
  TempDir dir;
  MemEnv env(1);
  Options o = Small();
  o.env = &env;
  auto store = UNWRAP(Store::Open(dir.path("one.pit"), o));
  ASSERT_OK(store->DefineEntity(testing::IntEntity("user", "user_id")));
  ASSERT_OK(store->DefineView({"v", {"user"}, {{"batch", FeatureType::kInt64}, {"n", FeatureType::kInt64}}}));
  WriteOptions unsynced;
  unsynced.sync = false;
  CommitInfo first = UNWRAP(store->Append("v", BatchOf(0), unsynced));
  EXPECT_TRUE(first.merge.ok());
  env.FailNth(MemEnv::kSync, 1);
  CommitInfo second = UNWRAP(store->Append("v", BatchOf(1), unsynced));
  EXPECT_TRUE(second.merge.IsIOError()) << second.merge.ToString();
  EXPECT_TRUE(store->WaitForMerges().ok());
  ExpectBatches(*store, 2, "after the failed merge");
}

}  // namespace
}  // namespace pitstore
