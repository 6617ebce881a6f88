// Faults below the file, through MemEnv (engine/src/mem_env.h): the data file in memory, a
// power loss that keeps only what was synced (each file's bytes at its last sync, and with
// `torn` some of what followed; each name as of the last directory sync), and I/O errors on
// the Nth operation of a kind. The workload: definitions, appends with and without sync,
// merges, a full compaction (each a transaction written in parts), a vacuum and a copy.
//
//   power loss: for every k, the power goes out at the workload's kth change; the store must
//     reopen, verify, hold every acknowledged commit (Append with sync returned OK), and no
//     commit in part;
//   I/O errors: for every kind and N = 1, 2, ..., the Nth such operation fails; every failure
//     is an error (never a crash), the workload goes on, and the store then reopens and holds
//     the same.
//
// PITSTORE_FAULT_ROUNDS=N (default 1) repeats both loops with N seeds (torn lengths) and N
// times more batches: the longer run the README gives.
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>

#include "mem_env.h"
#include "test_util.h"

namespace pitstore {
namespace {
using testing::TempDir;

constexpr int kKeysPerBatch = 8;

int Rounds() {
  const char* r = std::getenv("PITSTORE_FAULT_ROUNDS");
  return r && std::atoi(r) > 0 ? std::atoi(r) : 1;
}

WriteBatch Batch(int b) {
  WriteBatch batch;
  for (int j = 0; j < kKeysPerBatch; ++j) batch.Add({int64_t{(b * 5 + j) % 30}}, 1000 + b, {Value::Int64(b * 100 + j)});
  return batch;
}

struct Outcome {
  std::set<int> acknowledged;      // batches whose Append with sync returned OK
  int errors = 0;                  // steps that returned an error
  bool copied = false;             // the copy returned OK
  size_t rows_at_copy = SIZE_MAX;  // SIZE_MAX: unknown (Stats failed under the fault)
};

// Runs the workload at `path` through `env`. With `stop_at_error`, stops at the first failing
// step (the power is out: nothing after it can succeed anyway).
Outcome RunWorkload(MemEnv* env, const std::string& path, const std::string& copy_path, int batches,
                    bool stop_at_error) {
  Outcome out;
  Options o;
  o.env = env;
  o.segment_page_rows = 8;
  o.segment_max_rows = 16;  // a merge writes several segments, each as made, then its commit
  o.auto_flush_row_blocks = 0;
  o.auto_flush_rows = 0;
  auto step = [&](const Status& st) {
    if (!st.ok()) ++out.errors;
    return st.ok() || !stop_at_error;
  };
  auto opened = Store::Open(path, o);
  if (!step(opened.status()) || !opened.ok()) return out;
  Store& store = **opened;
  if (!step(store.DefineEntity(testing::IntEntity("user", "user_id")))) return out;
  if (!step(store.DefineView({"v", {"user"}, {{"n", FeatureType::kInt64}}}))) return out;
  for (int b = 0; b < batches; ++b) {
    WriteOptions w;
    w.sync = b % 3 != 2;
    auto c = store.Append("v", Batch(b), w);
    if (c.ok() && w.sync) out.acknowledged.insert(b);
    if (!step(c.status())) return out;
    Status st;
    if (b % 12 == 4) st = store.Compact();
    if (b % 12 == 7) st = store.Compact(CompactOptions{true});
    if (b % 12 == 9) st = store.Vacuum();
    if (!step(st)) return out;
    if (b == 10) {
      auto stats = store.Stats();
      Status copied = store.CopyTo(copy_path);
      out.copied = copied.ok();
      if (stats.ok()) out.rows_at_copy = stats->views.empty() ? 0 : stats->views[0].rows;
      if (!step(copied)) return out;
    }
  }
  return out;
}

// Rows per batch (event time 1000 + b) in the store at `path`.
std::map<int, int> RowsPerBatch(Store& store) {
  std::map<int, int> rows;
  Status st = store.Scan("v", [&](const EntityKey&, const VersionedRow& r) {
    rows[static_cast<int>(r.event_ts - 1000)]++;
    return true;
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  return rows;
}

// After the fault: the store (and the copy, if there is one) opens, verifies, holds every
// acknowledged batch, and every batch it holds whole. Returns a description of what is wrong.
std::string CheckAfter(MemEnv* env, const std::string& path, const std::string& copy_path, const Outcome& run) {
  Options o;
  o.env = env;
  auto store = Store::Open(path, o);
  if (!store.ok()) return "reopen: " + store.status().ToString();
  auto report = (*store)->Verify();
  if (!report.ok()) return "verify: " + report.status().ToString();
  if (!report->problems.empty()) return "verify: " + report->problems.front();
  auto views = (*store)->ListViews();
  if (!views.ok()) return "list views: " + views.status().ToString();
  std::map<int, int> rows;
  if (!views->empty()) rows = RowsPerBatch(**store);
  for (int b : run.acknowledged)
    if (rows[b] != kKeysPerBatch) return "acknowledged batch " + std::to_string(b) + " is missing";
  for (const auto& [b, n] : rows)
    if (n != kKeysPerBatch) return "batch " + std::to_string(b) + " is there in part";
  store->reset();
  if (env->Exists(copy_path)) {
    auto copy = Store::Open(copy_path, o);
    if (!copy.ok()) return "reopen the copy: " + copy.status().ToString();
    auto copy_report = (*copy)->Verify();
    if (!copy_report.ok() || !copy_report->problems.empty()) return "verify the copy";
    auto copy_views = (*copy)->ListViews();
    if (!copy_views.ok()) return "list the copy's views: " + copy_views.status().ToString();
    std::map<int, int> copied;
    if (!copy_views->empty()) copied = RowsPerBatch(**copy);
    size_t total = 0;
    for (const auto& [b, n] : copied) {
      if (n != kKeysPerBatch) return "the copy holds batch " + std::to_string(b) + " in part";
      total += n;
    }
    if (run.copied && run.rows_at_copy != SIZE_MAX && run.rows_at_copy != total) return "the copy lost rows";
  }
  return "";
}

TEST(Faults, PowerLossAtEveryStepKeepsEveryAcknowledgedCommit) {
  const int rounds = Rounds(), batches = 12 * rounds;
  uint64_t total_changes;
  {
    TempDir dir;
    MemEnv env;
    Outcome full = RunWorkload(&env, dir.path("s.pit"), dir.path("copy.pit"), batches, true);
    ASSERT_EQ(full.errors, 0);
    ASSERT_EQ(CheckAfter(&env, dir.path("s.pit"), dir.path("copy.pit"), full), "");
    EXPECT_EQ(env.released_before_sync(), 0u);
    total_changes = env.changes();
  }
  int checked = 0, torn = 0;
  // One thread, and two: a synced commit's write and sync then run on a thread of their own.
  for (int round = 0; round < 2 * rounds; ++round)
    for (uint64_t k = 0; k <= total_changes; ++k) {
      TempDir dir;
      MemEnv env(round % 2 == 0 ? 1 : 2);
      env.CutPowerAfter(k);
      Outcome run = RunWorkload(&env, dir.path("s.pit"), dir.path("copy.pit"), batches, true);
      const bool tear = (k + round) % 2 == 1;
      env.PowerLoss(tear, k * 7919 + round);
      std::string wrong = CheckAfter(&env, dir.path("s.pit"), dir.path("copy.pit"), run);
      ASSERT_EQ(wrong, "") << "power lost after change " << k << " of " << total_changes << (tear ? " (torn)" : "")
                           << ", round " << round;
      ++checked;
      torn += tear;
    }
  std::printf("power loss: %d points (%d with a torn write) over %llu changes, every acknowledged commit kept\n",
              checked, torn, static_cast<unsigned long long>(total_changes));
}

TEST(Faults, AnIOErrorAnywhereIsAnErrorAndLosesNothingAcknowledged) {
  const int rounds = Rounds(), batches = 12 * rounds;
  int injected = 0, failed_steps = 0;
  // One thread, and two: a commit's write and sync then run on a thread of their own.
  for (unsigned threads : {1u, 2u})
    for (MemEnv::Op op : {MemEnv::kRead, MemEnv::kWrite, MemEnv::kSync, MemEnv::kTruncate, MemEnv::kRename,
                          MemEnv::kLink, MemEnv::kRemove, MemEnv::kSyncDir, MemEnv::kOpen}) {
      for (uint64_t n = 1;; ++n) {
        TempDir dir;
        MemEnv env(threads);
        env.FailNth(op, n);
        Outcome run = RunWorkload(&env, dir.path("s.pit"), dir.path("copy.pit"), batches, false);
        bool fired = env.count(op) >= n;
        env.ClearFailures();
        std::string wrong = CheckAfter(&env, dir.path("s.pit"), dir.path("copy.pit"), run);
        ASSERT_EQ(wrong, "") << MemEnv::OpName(op) << " number " << n << " failed, " << threads << " thread(s)";
        EXPECT_EQ(env.released_before_sync(), 0u);
        if (!fired) break;
        ++injected;
        failed_steps += run.errors;
      }
    }
  std::printf(
      "I/O errors: %d injected (read, write, sync, truncate, rename, link, remove, directory sync, open), "
      "%d steps failed with an error, none crashed, every acknowledged commit kept\n",
      injected, failed_steps);
}

// A failed fdatasync leaves it unknown what reached the disk: the commit fails, and this Store
// refuses every later write rather than sync again and take success for durability.
TEST(Faults, AFailedSyncIsNeverRetriedAsIfItSucceeded) {
  TempDir dir;
  MemEnv env;
  Options o;
  o.env = &env;
  std::string path = dir.path("s.pit");
  {
    auto store = UNWRAP(Store::Open(path, o));
    ASSERT_OK(store->DefineEntity(testing::IntEntity("user", "user_id")));
    ASSERT_OK(store->DefineView({"v", {"user"}, {{"n", FeatureType::kInt64}}}));
    UNWRAP(store->Append("v", Batch(0)));
    env.FailNth(MemEnv::kSync, 1);
    auto failed = store->Append("v", Batch(1));
    ASSERT_FALSE(failed.ok());
    auto later = store->Append("v", Batch(2));
    ASSERT_FALSE(later.ok());
    EXPECT_NE(later.status().message().find("never retried"), std::string::npos) << later.status().ToString();
  }
  // Reopened, the store recovers from what is on disk: batch 0, and batch 1 whole or not at all.
  auto store = UNWRAP(Store::Open(path, o));
  std::map<int, int> rows = RowsPerBatch(*store);
  EXPECT_EQ(rows[0], kKeysPerBatch);
  EXPECT_TRUE(rows[1] == 0 || rows[1] == kKeysPerBatch);
  EXPECT_EQ(rows.count(2) ? rows[2] : 0, 0);
  EXPECT_TRUE(UNWRAP(store->Verify()).ok());
}

// A merge writes its segments one after another, then its commit record: a write failing at
// any point leaves the data file as it was before the merge, byte for byte (not only without
// the failed write), and every row readable; the merge then succeeds when asked again.
TEST(Faults, AFailedMergeLeavesTheFileAsItWas) {
  TempDir dir;
  MemEnv env;
  Options o;
  o.env = &env;
  o.segment_page_rows = 8;
  o.segment_max_rows = 16;  // several segments, each written as made
  o.auto_flush_row_blocks = 0;
  o.auto_flush_rows = 0;
  const std::string path = dir.path("f.pit");
  auto store = UNWRAP(Store::Open(path, o));
  ASSERT_OK(store->DefineEntity(testing::IntEntity("user", "user_id")));
  ASSERT_OK(store->DefineView({"v", {"user"}, {{"n", FeatureType::kInt64}}}));
  for (int b = 0; b < 12; ++b) UNWRAP(store->Append("v", Batch(b)));
  auto file_size = [&] { return UNWRAP(UNWRAP(env.Open(path, false, false))->Size()); };
  const std::map<int, int> rows = RowsPerBatch(*store);
  int failed = 0;
  for (uint64_t n = 1;; ++n) {
    ASSERT_LT(n, 1000u) << "the merge never succeeded";
    const uint64_t before = file_size();
    env.FailNth(MemEnv::kWrite, n);
    Status st = store->Compact();
    env.ClearFailures();
    if (st.ok()) break;
    ++failed;
    EXPECT_EQ(file_size(), before) << "write " << n << " failed: " << st.ToString();
    EXPECT_EQ(RowsPerBatch(*store), rows) << "write " << n;
  }
  EXPECT_GT(failed, 2);  // the segments' writes and the commit record's
  EXPECT_EQ(RowsPerBatch(*store), rows);
  EXPECT_TRUE(UNWRAP(store->Verify()).ok());
}

// A synced commit advises that its bytes may leave the page cache (readers hold its rows in
// memory), and only once they are durable; an unsynced commit leaves them cached. With one
// thread and with two (the write and sync then run beside the index work).
TEST(Faults, ACommitReleasesItsBytesFromTheCacheOnlyOnceSynced) {
  for (unsigned threads : {1u, 2u}) {
    SCOPED_TRACE(threads);
    TempDir dir;
    MemEnv env(threads);
    Options o;
    o.env = &env;
    o.auto_flush_row_blocks = 0;
    o.auto_flush_rows = 0;
    const std::string path = dir.path("r.pit");
    auto store = UNWRAP(Store::Open(path, o));
    ASSERT_TRUE(store->DefineEntity(testing::IntEntity("user", "user_id")).ok());
    ASSERT_TRUE(store->DefineView({"v", {"user"}, {{"n", FeatureType::kInt64}}}).ok());
    auto file_size = [&] { return UNWRAP(UNWRAP(env.Open(path, false, false))->Size()); };
    for (int b = 0; b < 6; ++b) {
      WriteOptions w;
      w.sync = b % 3 != 1;
      const uint64_t size = file_size(), released = env.released_bytes();
      ASSERT_TRUE(store->Append("v", Batch(b), w).ok());
      // The whole transaction (row batch and commit record), or nothing when not synced.
      EXPECT_EQ(env.released_bytes() - released, w.sync ? file_size() - size : 0) << "batch " << b;
    }
    EXPECT_GT(env.released_bytes(), 0u);
    EXPECT_EQ(env.released_before_sync(), 0u);
    // Every row reads back, from memory and then from the file.
    EXPECT_EQ(RowsPerBatch(*store), (std::map<int, int>{{0, 8}, {1, 8}, {2, 8}, {3, 8}, {4, 8}, {5, 8}}));
    store.reset();
    store = UNWRAP(Store::Open(path, o));
    EXPECT_EQ(RowsPerBatch(*store), (std::map<int, int>{{0, 8}, {1, 8}, {2, 8}, {3, 8}, {4, 8}, {5, 8}}));
  }
}

// MemEnv alone: a store whose data file never touches the disk (its index does).
TEST(Faults, AStoreInMemoryReadsAsOneOnDisk) {
  TempDir dir;
  MemEnv env;
  Outcome run = RunWorkload(&env, dir.path("m.pit"), dir.path("mcopy.pit"), 12, true);
  ASSERT_EQ(run.errors, 0);
  EXPECT_FALSE(std::filesystem::exists(dir.path("m.pit")));
  EXPECT_TRUE(env.Exists(dir.path("m.pit")));
  EXPECT_EQ(CheckAfter(&env, dir.path("m.pit"), dir.path("mcopy.pit"), run), "");
}

}  // namespace
}  // namespace pitstore
