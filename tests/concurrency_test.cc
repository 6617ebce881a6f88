// Readers beside a writer: threads of the writer's process and separate read-only processes
// read (latest, as-of, history, join) while one writer commits and compacts. Every batch sets
// every key to the batch's number, so a reader that saw half a batch would see two numbers in
// one read. Also: a long-held snapshot does not hold the writer back, and a second writer
// process is refused at once (Busy), never let in.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <thread>

#include "test_util.h"

namespace pitstore {
namespace {
using testing::TempDir;
using Clock = std::chrono::steady_clock;

constexpr int kKeys = 64;

std::vector<EntityKey> AllKeys() {
  std::vector<EntityKey> keys;
  for (int k = 0; k < kKeys; ++k) keys.push_back({int64_t{k}});
  return keys;
}

WriteBatch BatchOf(int b) {
  WriteBatch batch;
  for (int k = 0; k < kKeys; ++k) batch.Add({int64_t{k}}, b, {Value::Int64(b), Value::Int64(k * 1000 + b)});
  return batch;
}

// One consistent read of everything through one snapshot: every key's latest, as-of at +inf,
// history length and join must all say the same batch. Returns that batch, or an error text.
Result<int64_t> ReadAll(Store& store) {
  auto snap = store.GetSnapshot();
  if (!snap.ok()) return snap.status();
  ReadOptions ro;
  ro.snapshot = snap->get();
  auto latest = store.LatestBatch("v", AllKeys(), {}, ro);
  if (!latest.ok()) return latest.status();
  JoinLabels labels;
  labels.keys.push_back(Column::Of(FeatureType::kInt64));
  for (int k = 0; k < kKeys; ++k) {
    labels.keys[0].Append(Value::Int64(k));
    labels.times.push_back(kMaxTimestamp);
  }
  auto join = store.AsOfJoin("v", labels, {}, {}, ro);
  if (!join.ok()) return join.status();
  int64_t seen = (*latest)[0].values[0].as_int64();
  for (int k = 0; k < kKeys; ++k) {
    const Lookup& l = (*latest)[k];
    if (!l.found || l.values[0].as_int64() != seen || l.values[1].as_int64() != k * 1000 + seen)
      return Status::Corruption("latest of key " + std::to_string(k) + " is from another batch than key 0's " +
                                std::to_string(seen));
    if (join->columns[0].Get(k) != Value::Int64(seen)) {
      // Which read is off: the same join by the other plan, and as-of, in the same snapshot.
      auto plan_name = [](JoinPlan p) { return p == JoinPlan::kSeek ? std::string("seek") : std::string("scan"); };
      JoinOptions other;
      other.plan = join->plan == JoinPlan::kSeek ? JoinPlan::kScan : JoinPlan::kSeek;
      auto again = store.AsOfJoin("v", labels, {}, other, ro);
      auto asof = store.AsOf("v", {int64_t{k}}, kMaxTimestamp, kMaxTimestamp, {}, ro);
      return Status::Corruption("join of key " + std::to_string(k) + " disagrees with latest at snapshot commit " +
                                std::to_string((*snap)->commit_seq()) + ": latest says batch " + std::to_string(seen) +
                                ", the join (" + plan_name(join->plan) + ") " + join->columns[0].Get(k).ToString() +
                                ", by " + plan_name(other.plan) + " " +
                                (again.ok() ? again->columns[0].Get(k).ToString() : again.status().ToString()) +
                                ", as-of " + (asof.ok() ? asof->values[0].ToString() : asof.status().ToString()));
    }
    if (k % 16 == 0) {
      auto asof = store.AsOf("v", {int64_t{k}}, kMaxTimestamp, kMaxTimestamp, {}, ro);
      auto history = store.History("v", {int64_t{k}}, kMinTimestamp, kMaxTimestamp, kMaxTimestamp, {}, ro);
      if (!asof.ok()) return asof.status();
      if (!history.ok()) return history.status();
      if (asof->values != l.values) return Status::Corruption("as-of disagrees with latest");
      if (static_cast<int64_t>(history->size()) != seen + 1)
        return Status::Corruption("history of key " + std::to_string(k) + " has " + std::to_string(history->size()) +
                                  " versions, batch " + std::to_string(seen) + " needs " + std::to_string(seen + 1));
    }
  }
  return seen;
}

std::unique_ptr<Store> NewStore(const std::string& path) {
  auto store = UNWRAP(Store::Open(path));
  EXPECT_TRUE(store->DefineEntity(testing::IntEntity("user", "user_id")).ok());
  EXPECT_TRUE(store->DefineView({"v", {"user"}, {{"batch", FeatureType::kInt64}, {"n", FeatureType::kInt64}}}).ok());
  UNWRAP(store->Append("v", BatchOf(0)));
  return store;
}

// A reader process: opens the store read-only and reads until `until`; exit 0 when every read
// was consistent and the batches it saw never went backwards.
[[noreturn]] void ReaderProcess(const std::string& path, Clock::time_point until) {
  Options o;
  o.read_only = true;
  auto store = Store::Open(path, o);
  if (!store.ok()) {
    std::fprintf(stderr, "reader process: open: %s\n", store.status().ToString().c_str());
    _exit(1);
  }
  int64_t last = -1;
  int reads = 0;
  // Past `until` only to finish a minimum of reads (a slow or emulated machine starts late).
  while (Clock::now() < until || reads < 3) {
    auto seen = ReadAll(**store);
    if (!seen.ok()) {
      std::fprintf(stderr, "reader process: %s\n", seen.status().ToString().c_str());
      _exit(1);
    }
    if (*seen < last) {
      std::fprintf(stderr, "reader process: went back from batch %lld to %lld\n", static_cast<long long>(last),
                   static_cast<long long>(*seen));
      _exit(1);
    }
    last = *seen;
    ++reads;
  }
  std::fprintf(stderr, "reader process: %d consistent reads, last batch %lld\n", reads, static_cast<long long>(last));
  _exit(reads > 0 && last > 0 ? 0 : 3);
}

// Forks `count` processes before this one starts threads; process i runs reader(i), which
// exits (_exit) with its verdict.
template <typename Fn>
std::vector<pid_t> ForkReaders(int count, Fn&& reader) {
  std::vector<pid_t> pids;
  for (int i = 0; i < count; ++i) {
    pid_t pid = ::fork();
    EXPECT_GE(pid, 0);
    if (pid == 0) reader(i);
    if (pid > 0) pids.push_back(pid);
  }
  return pids;
}

// Waits for the reader processes; every one must have exited 0.
void ExpectReadersSucceeded(const std::vector<pid_t>& pids) {
  for (pid_t pid : pids) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "a reader process failed (its stderr says why)";
  }
}

TEST(Concurrency, ReadersInThreadsAndProcessesSeeWholeBatches) {
  TempDir dir;
  std::string path = dir.path("c.pit");
  auto store = NewStore(path);
  auto until = Clock::now() + std::chrono::milliseconds(2500);
  // Processes first: fork before this process has threads.
  std::vector<pid_t> readers = ForkReaders(2, [&](int) { ReaderProcess(path, until); });
  ASSERT_EQ(readers.size(), 2u);
  std::atomic<int> committed{0};
  std::atomic<bool> failed{false};
  std::vector<std::thread> threads;
  std::vector<int> reads(3, 0);
  for (int t = 0; t < 3; ++t)
    threads.emplace_back([&, t] {
      int64_t last = -1;
      while ((Clock::now() < until || reads[t] < 3) && !failed) {
        auto seen = ReadAll(*store);
        if (!seen.ok() || *seen < last) {
          ADD_FAILURE() << "reader thread " << t << ": " << (seen.ok() ? "went backwards" : seen.status().ToString());
          failed = true;
          return;
        }
        last = *seen;
        ++reads[t];
      }
    });
  // The writer: a batch at a time, with merges and full compactions among them.
  for (int b = 1; Clock::now() < until && !failed; ++b) {
    WriteOptions w;
    w.sync = b % 2 == 0;
    ASSERT_TRUE(store->Append("v", BatchOf(b), w).ok());
    committed = b;
    if (b % 7 == 0) ASSERT_OK(store->Compact(CompactOptions{b % 21 == 0}));
  }
  for (std::thread& t : threads) t.join();
  ExpectReadersSucceeded(readers);
  std::printf("writer: %d batches; reader threads: %d, %d, %d consistent reads\n", committed.load(), reads[0], reads[1],
              reads[2]);
  EXPECT_GT(committed.load(), 10);
  for (int n : reads) EXPECT_GT(n, 0);
  EXPECT_TRUE(UNWRAP(store->Verify()).ok());
}

TEST(Concurrency, LongSnapshotDoesNotHoldTheWriterBack) {
  TempDir dir;
  std::string path = dir.path("s.pit");
  auto store = NewStore(path);
  auto snap = UNWRAP(store->GetSnapshot());
  ReadOptions old;
  old.snapshot = snap.get();
  // While the snapshot is held, the writer commits and compacts as usual...
  for (int b = 1; b <= 40; ++b) {
    UNWRAP(store->Append("v", BatchOf(b)));
    if (b % 10 == 0) ASSERT_OK(store->Compact(CompactOptions{true}));
  }
  // ...and the snapshot still reads the state it began with, as does a new one the new state.
  EXPECT_EQ(UNWRAP(store->Latest("v", {int64_t{5}}, {}, old)).values[0], Value::Int64(0));
  EXPECT_EQ(UNWRAP(store->History("v", {int64_t{5}}, kMinTimestamp, kMaxTimestamp, kMaxTimestamp, {}, old)).size(), 1u);
  EXPECT_EQ(UNWRAP(store->Latest("v", {int64_t{5}})).values[0], Value::Int64(40));
  // Vacuum alone must wait for snapshots: it replaces the file they read.
  EXPECT_TRUE(store->Vacuum().IsBusy());
  snap.reset();
  ASSERT_OK(store->Vacuum());
  EXPECT_EQ(UNWRAP(store->Latest("v", {int64_t{5}})).values[0], Value::Int64(40));
}

TEST(Concurrency, ASecondWriterProcessIsRefusedAtOnce) {
  TempDir dir;
  std::string path = dir.path("w.pit");
  auto store = NewStore(path);
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto start = Clock::now();
    auto second = Store::Open(path);
    double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    std::string msg = second.ok() ? "opened" : second.status().ToString();
    msg += "|" + std::to_string(ms);
    (void)!::write(fds[1], msg.data(), msg.size());
    _exit(second.ok() ? 1 : second.status().IsBusy() ? 0 : 2);
  }
  ::close(fds[1]);
  char buf[512];
  ssize_t n = ::read(fds[0], buf, sizeof buf);
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  std::string msg(buf, n > 0 ? static_cast<size_t>(n) : 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << msg;
  EXPECT_NE(msg.find("one writer at a time"), std::string::npos) << msg;
  EXPECT_LT(std::stod(msg.substr(msg.find('|') + 1)), 1000.0) << "refused, but not at once";
  // The first writer goes on, and read-only processes may still open.
  UNWRAP(store->Append("v", BatchOf(1)));
  pid_t reader = ::fork();
  ASSERT_GE(reader, 0);
  if (reader == 0) {
    Options ro;
    ro.read_only = true;
    auto opened = Store::Open(path, ro);
    _exit(opened.ok() && (*opened)->Latest("v", {int64_t{3}}).value().values[0] == Value::Int64(1) ? 0 : 1);
  }
  ::waitpid(reader, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "a read-only process beside the writer";
}

// Vacuum rewrites the file, and the new file reuses offsets of the old one. Readers in flight
// hold the old file; what they load must never be served to readers of the new one (the block
// cache and segment footers are keyed by file generation and offset), and a read during the
// swap sees the old state or the new one, never an error. Readers check every key of every
// read (point reads, batches, joins) against the batch rule above; the writer appends, merges
// and vacuums in a loop.
TEST(Concurrency, ReadsAndMergesWhileVacuumsRun) {
  TempDir dir;
  Options o;
  o.segment_page_rows = 8;  // many small pages: offsets of pages recur across files
  o.auto_flush_rows = 3 * kKeys;
  auto store = UNWRAP(Store::Open(dir.path("vac.pit"), o));
  ASSERT_OK(store->DefineEntity(testing::IntEntity("user", "user_id")));
  ASSERT_OK(store->DefineView({"v", {"user"}, {{"batch", FeatureType::kInt64}, {"n", FeatureType::kInt64}}}));
  UNWRAP(store->Append("v", BatchOf(0)));
  std::atomic<bool> stop{false};
  std::atomic<int> reads{0};
  std::string failure;
  std::mutex failure_mu;
  auto fail = [&](const std::string& what) {
    std::lock_guard<std::mutex> lock(failure_mu);
    if (failure.empty()) failure = what;
    stop = true;
  };
  auto reader = [&](int seed) {
    int64_t last = 0;
    for (int i = 0; !stop; ++i) {
      int64_t k = (i * 7 + seed) % kKeys;
      if (i % 3 == 0) {
        auto all = store->LatestBatch("v", AllKeys());
        if (!all.ok()) return fail("LatestBatch: " + all.status().ToString());
        int64_t seen = (*all)[0].values[0].as_int64();
        for (int key = 0; key < kKeys; ++key) {
          const Lookup& l = (*all)[key];
          if (!l.found || l.values[0].as_int64() != seen || l.values[1].as_int64() != key * 1000 + seen)
            return fail("LatestBatch: key " + std::to_string(key) + " disagrees with key 0 (batch " +
                        std::to_string(seen) + ")");
        }
        if (seen < last) return fail("LatestBatch went back from batch " + std::to_string(last));
        last = seen;
      } else {
        auto r = i % 3 == 1 ? store->AsOf("v", {k}, kMaxTimestamp) : store->Latest("v", {k});
        if (!r.ok()) return fail("point read: " + r.status().ToString());
        int64_t b = r->values[0].as_int64();
        if (!r->found || r->values[1].as_int64() != k * 1000 + b || b < last)
          return fail("point read of key " + std::to_string(k) + ": batch " + std::to_string(b) + ", n " +
                      r->values[1].ToString());
        auto h = store->History("v", {k}, kMinTimestamp, kMaxTimestamp, kMaxTimestamp);
        if (!h.ok()) return fail("History: " + h.status().ToString());
        for (size_t v = 0; v < h->size(); ++v)
          if ((*h)[v].values[1].as_int64() != k * 1000 + (*h)[v].values[0].as_int64())
            return fail("History of key " + std::to_string(k) + ": a row of another key");
      }
      ++reads;
    }
  };
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) readers.emplace_back(reader, t);
  auto deadline = Clock::now() + std::chrono::seconds(4);
  int vacuums = 0;
  for (int b = 1; !stop && (Clock::now() < deadline || vacuums < 20); ++b) {
    auto c = store->Append("v", BatchOf(b));
    if (!c.ok()) fail("Append: " + c.status().ToString());
    if (b % 2 == 0) {
      Status st = store->Compact(CompactOptions{b % 4 == 0});
      if (!st.ok()) fail("Compact: " + st.ToString());
    }
    Status st = store->Vacuum();
    if (!st.ok()) fail("Vacuum: " + st.ToString());
    ++vacuums;
  }
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(failure, "") << "after " << vacuums << " vacuums and " << reads << " reads";
  EXPECT_GT(reads.load(), 100);
  auto report = UNWRAP(store->Verify());
  EXPECT_TRUE(report.ok()) << report.problems.size();
}

// Readers in other processes keep reading across vacuums: one opened before them all, and
// one that opens the store afresh for every read (a new process arriving mid-vacuum finds the
// file replaced before its index is rebuilt). Found: a third of such reads failed.
[[noreturn]] void ReopeningReaderProcess(const std::string& path, Clock::time_point until) {
  Options o;
  o.read_only = true;
  int64_t last = -1;
  int reads = 0;
  while (Clock::now() < until || reads < 3) {
    auto store = Store::Open(path, o);
    if (!store.ok()) {
      std::fprintf(stderr, "reopening reader: open: %s\n", store.status().ToString().c_str());
      _exit(1);
    }
    auto seen = ReadAll(**store);
    if (!seen.ok() || *seen < last) {
      std::fprintf(stderr, "reopening reader: %s\n", seen.ok() ? "went backwards" : seen.status().ToString().c_str());
      _exit(1);
    }
    last = *seen;
    ++reads;
  }
  std::fprintf(stderr, "reopening reader: %d consistent reads, last batch %lld\n", reads, static_cast<long long>(last));
  _exit(0);
}

TEST(Concurrency, ReaderProcessesReadAcrossVacuums) {
  TempDir dir;
  std::string path = dir.path("vp.pit");
  auto store = NewStore(path);
  auto until = Clock::now() + std::chrono::milliseconds(3000);
  std::vector<pid_t> readers = ForkReaders(2, [&](int i) {
    if (i == 0) ReaderProcess(path, until);
    ReopeningReaderProcess(path, until);
  });
  ASSERT_EQ(readers.size(), 2u);
  int vacuums = 0;
  for (int b = 1; Clock::now() < until; ++b) {
    ASSERT_TRUE(store->Append("v", BatchOf(b)).ok());
    ASSERT_OK(store->Vacuum());
    ++vacuums;
  }
  ExpectReadersSucceeded(readers);
  std::printf("writer: %d vacuums\n", vacuums);
  EXPECT_GT(vacuums, 10);
}

// A vacuum killed after it put the new file in place and before it indexed it: read-only
// readers read the file it replaced (still linked), the next read-write open rebuilds.
TEST(Concurrency, AVacuumKilledMidwayLeavesTheStoreReadable) {
  TempDir dir;
  std::string path = dir.path("k.pit");
  {
    auto store = NewStore(path);
    for (int b = 1; b < 5; ++b) UNWRAP(store->Append("v", BatchOf(b)));
  }
  std::filesystem::copy_file(path, dir.path("old.pit"));
  std::filesystem::copy_file(path + "-index", dir.path("old.pit-index"));
  {
    auto store = UNWRAP(Store::Open(path));
    ASSERT_OK(store->Vacuum());
  }
  // The moment of the kill: the new file at the path, the old index, the old file linked.
  std::filesystem::copy_file(dir.path("old.pit-index"), path + "-index",
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::create_hard_link(dir.path("old.pit"), path + ".vacuum-previous");
  Options o;
  o.read_only = true;
  {
    auto reader = UNWRAP(Store::Open(path, o));
    EXPECT_EQ(UNWRAP(ReadAll(*reader)), 4);
  }
  {
    auto writer = UNWRAP(Store::Open(path));
    EXPECT_EQ(UNWRAP(ReadAll(*writer)), 4);
    EXPECT_TRUE(UNWRAP(writer->Verify()).ok());
  }
  EXPECT_FALSE(std::filesystem::exists(path + ".vacuum-previous"));
  auto reader = UNWRAP(Store::Open(path, o));
  EXPECT_EQ(UNWRAP(ReadAll(*reader)), 4);
}

}  // namespace
}  // namespace pitstore
