// Out of space: a commit that cannot be written fails with a clear error, leaves the file at
// its last commit, and every earlier commit stays readable; the store takes writes again once
// there is room. Three ways to run out: a real full file system (a small tmpfs, where mounting
// is allowed), the per-process file size limit (RLIMIT_FSIZE, everywhere), and the LMDB map.
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "test_util.h"

namespace pitstore {
namespace {
using testing::TempDir;

WriteBatch BatchOf(int b) {
  WriteBatch batch;
  for (int k = 0; k < 200; ++k)
    batch.Add({int64_t{k}}, b, {Value::Int64(b), Value::String(std::string(100, static_cast<char>('a' + b % 26)))});
  return batch;
}

std::unique_ptr<Store> NewStore(const std::string& path, const Options& o = {}) {
  auto store = UNWRAP(Store::Open(path, o));
  EXPECT_TRUE(store->DefineEntity(testing::IntEntity("user", "user_id")).ok());
  EXPECT_TRUE(store->DefineView({"v", {"user"}, {{"batch", FeatureType::kInt64}, {"pad", FeatureType::kString}}}).ok());
  return store;
}

// Batch b: 100 keys no batch had before (so the latest table grows fast), each set to b.
WriteBatch NewKeysBatch(int b) {
  WriteBatch batch;
  for (int k = 0; k < 100; ++k) batch.Add({int64_t{b * 100 + k}}, b, {Value::Int64(b), Value::String("x")});
  return batch;
}

// Appends until a commit fails; returns the number of batches committed and the error.
std::pair<int, Status> FillUp(Store& store, int limit = 100000) {
  for (int b = 0; b < limit; ++b) {
    auto r = store.Append("v", BatchOf(b));
    if (!r.ok()) return {b, r.status()};
  }
  return {limit, Status::OK()};
}

// Every batch below `committed` is whole, and batch `committed` is absent.
void ExpectBatches(Store& store, int committed) {
  for (int k = 0; k < 200; k += 37) {
    auto h = UNWRAP(store.History("v", {int64_t{k}}));
    ASSERT_EQ(h.size(), static_cast<size_t>(committed)) << "key " << k;
    for (int b = 0; b < committed; ++b) ASSERT_EQ(h[b].values[0], Value::Int64(b));
  }
  EXPECT_TRUE(UNWRAP(store.Verify()).ok());
}

TEST(DiskFull, FullFileSystem) {
  TempDir dir;
  std::string mnt = dir.path("small-fs");
  std::filesystem::create_directory(mnt);
  if (::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=3m") != 0)
    GTEST_SKIP() << "cannot mount a tmpfs here (" << std::strerror(errno) << "); RLIMIT_FSIZE below covers the path";
  std::string path = mnt + "/full.pit";
  int committed = 0;
  {
    Options o;
    o.auto_flush_row_blocks = 8;
    auto store = NewStore(path, o);
    auto [n, st] = FillUp(*store);
    committed = n;
    ASSERT_FALSE(st.ok());
    std::printf("full file system: %d batches committed, then: %s\n", n, st.ToString().c_str());
    EXPECT_TRUE(st.IsIOError()) << st.ToString();
    EXPECT_NE(st.message().find("No space left on device"), std::string::npos) << st.message();
    ExpectBatches(*store, committed);  // the same process reads on
    // Room again (the file system grows): the same store object takes the next commit.
    ASSERT_EQ(::mount("tmpfs", mnt.c_str(), "tmpfs", MS_REMOUNT, "size=16m"), 0) << std::strerror(errno);
    UNWRAP(store->Append("v", BatchOf(committed)));
    committed++;
  }
  auto store = UNWRAP(Store::Open(path));
  ExpectBatches(*store, committed);
  store.reset();
  ::umount(mnt.c_str());
}

TEST(DiskFull, FileSizeLimit) {
  TempDir dir;
  std::string path = dir.path("limit.pit");
  NewStore(path);
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {  // a process whose files may not grow past 2 MiB: writes fail with EFBIG
    ::signal(SIGXFSZ, SIG_IGN);
    rlimit lim{2 << 20, 2 << 20};
    ::setrlimit(RLIMIT_FSIZE, &lim);
    auto store = Store::Open(path);
    if (!store.ok()) _exit(2);
    auto [n, st] = FillUp(**store);
    std::string report = std::to_string(n) + "|" + st.ToString();
    (void)!::write(fds[1], report.data(), report.size());
    _exit(st.ok() ? 1 : 0);
  }
  ::close(fds[1]);
  char buf[1024];
  ssize_t got = ::read(fds[0], buf, sizeof buf);
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  std::string report(buf, got > 0 ? static_cast<size_t>(got) : 0);
  int committed = std::stoi(report);
  std::printf("file size limit: %s\n", report.c_str());
  EXPECT_NE(report.find("File too large"), std::string::npos) << report;
  EXPECT_GT(committed, 5);
  EXPECT_LE(std::filesystem::file_size(path), size_t{2} << 20);
  auto store = UNWRAP(Store::Open(path));
  ExpectBatches(*store, committed);
  UNWRAP(store->Append("v", BatchOf(committed)));  // no limit here: it goes on
  ExpectBatches(*store, committed + 1);
}

TEST(DiskFull, IndexMapFull) {
  // The LMDB map is address space reserved at open (Options::index_map_size, 1 TiB by default);
  // it does not grow by itself. Full, a commit fails cleanly; reopened with a bigger map, the
  // store goes on. New keys in every batch fill the latest table fast.
  TempDir dir;
  std::string path = dir.path("map.pit");
  Options small;
  small.index_map_size = 256 << 10;
  auto expect_batches = [](Store& store, int committed) {
    for (int b = 0; b <= committed; b += b + 20 < committed ? 13 : 1)  // each read searches every batch
      for (int k = 0; k < 100; k += 33) {
        auto l = UNWRAP(store.AsOf("v", {int64_t{b * 100 + k}}, kMaxTimestamp));
        ASSERT_EQ(l.found, b < committed) << "batch " << b << " (committed: " << committed << ")";
      }
    EXPECT_TRUE(UNWRAP(store.Verify()).ok());
  };
  int committed = 0, merges_failed = 0;
  Status failure;
  {
    auto store = NewStore(path, small);
    for (; committed < 100000; ++committed) {
      auto r = store->Append("v", NewKeysBatch(committed));
      if (!r.ok()) {
        failure = r.status();
        break;
      }
      merges_failed += !r->merge.ok();  // the commit stands; the merge is retried
    }
    std::printf("index map of 256 KiB: %d batches committed (%d automatic merges failed), then: %s\n", committed,
                merges_failed, failure.ToString().c_str());
    ASSERT_FALSE(failure.ok());
    EXPECT_NE(failure.message().find("MDB_MAP_FULL"), std::string::npos) << failure.ToString();
    expect_batches(*store, committed);
  }
  auto store = UNWRAP(Store::Open(path));
  expect_batches(*store, committed);
  UNWRAP(store->Append("v", NewKeysBatch(committed)));
  expect_batches(*store, committed + 1);
}

// A vacuum whose new index does not fit the map: the file has been replaced by then, so this
// Store must not write on (to the old file, or with an index of it): every write is refused
// with the vacuum's error, reads go on, and a reopen with room rebuilds the index with every
// row.
TEST(DiskFull, VacuumWhoseIndexDoesNotFitRefusesWritesUntilReopened) {
  TempDir dir;
  Options small;
  small.index_map_size = 256 << 10;
  small.auto_flush_row_blocks = 0;  // row batches only: the map holds many, and a vacuum's
  small.auto_flush_rows = 0;        // segments need an entry per key
  // How many batches the map holds.
  int capacity = 0;
  {
    auto probe = NewStore(dir.path("probe.pit"), small);
    while (capacity < 100000 && probe->Append("v", NewKeysBatch(capacity)).ok()) ++capacity;
  }
  ASSERT_GT(capacity, 4);
  // Three quarters of that: a rebuild writes a whole new index before the old one's pages are
  // free, so it needs more than the map has.
  const int batches = capacity * 3 / 4;
  std::string path = dir.path("vac.pit");
  {
    auto store = NewStore(path, small);
    for (int b = 0; b < batches; ++b) ASSERT_TRUE(store->Append("v", NewKeysBatch(b)).ok()) << b;
    Status vacuum = store->Vacuum();
    std::printf("map for %d batches, %d stored, vacuum: %s\n", capacity, batches, vacuum.ToString().c_str());
    ASSERT_FALSE(vacuum.ok());
    EXPECT_NE(vacuum.message().find("writes are refused until the store is reopened"), std::string::npos)
        << vacuum.ToString();
    Status append = store->Append("v", NewKeysBatch(batches)).status();
    EXPECT_EQ(append.ToString(), vacuum.ToString());
    EXPECT_EQ(store->Compact(CompactOptions{true}).ToString(), vacuum.ToString());
    EXPECT_EQ(store->Vacuum().ToString(), vacuum.ToString());
  }
  auto store = UNWRAP(Store::Open(path));  // the default map: room to rebuild
  for (int b = 0; b < batches; b += 7)
    for (int k = 0; k < 100; k += 33) {
      auto l = UNWRAP(store->Latest("v", {int64_t{b * 100 + k}}));
      ASSERT_TRUE(l.found) << "batch " << b;
      EXPECT_EQ(l.values[0], Value::Int64(b));
    }
  EXPECT_FALSE(UNWRAP(store->Latest("v", {int64_t{batches * 100}})).found);  // the refused batch
  EXPECT_TRUE(UNWRAP(store->Verify()).ok());
  UNWRAP(store->Append("v", NewKeysBatch(batches)));
}

}  // namespace
}  // namespace pitstore
