// Serving a shipped store: a copy made with CopyTo, placed on a read-only file system (a
// read-only bind mount, where mounting is allowed), opened read-only by several threads and
// processes at once. A shipped store without its index gives a clear NotFound, never a crash.
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <thread>

#include "test_util.h"

namespace pitstore {
namespace {
using testing::TempDir;

constexpr int kKeys = 500;

void BuildAndShip(const std::string& path, const std::string& shipped) {
  auto store = UNWRAP(Store::Open(path));
  ASSERT_OK(store->DefineEntity(testing::IntEntity("user", "user_id")));
  ASSERT_OK(store->DefineView({"v", {"user"}, {{"n", FeatureType::kInt64}}}));
  for (int round = 0; round < 3; ++round) {
    WriteBatch b;
    for (int k = 0; k < kKeys; ++k) b.Add({int64_t{k}}, round * 100, {Value::Int64(k * 10 + round)});
    UNWRAP(store->Append("v", b));
  }
  ASSERT_OK(store->CopyTo(shipped));
}

// Reads every key through latest, as-of and a batch; false at the first wrong answer.
bool ReadsRight(Store& store) {
  std::vector<EntityKey> keys;
  for (int k = 0; k < kKeys; ++k) keys.push_back({int64_t{k}});
  auto batch = store.LatestBatch("v", keys);
  if (!batch.ok()) return false;
  for (int k = 0; k < kKeys; ++k) {
    auto l = store.Latest("v", {int64_t{k}});
    auto a = store.AsOf("v", {int64_t{k}}, 150);
    if (!l.ok() || !a.ok() || l->values[0] != Value::Int64(k * 10 + 2) || a->values[0] != Value::Int64(k * 10 + 1) ||
        (*batch)[k].values[0] != l->values[0])
      return false;
  }
  return true;
}

TEST(Serving, ShippedStoreOnAReadOnlyFileSystemByThreadsAndProcesses) {
  TempDir dir;
  std::string ship_dir = dir.path("ship"), ro_dir = dir.path("device");
  std::filesystem::create_directory(ship_dir);
  std::filesystem::create_directory(ro_dir);
  BuildAndShip(dir.path("server.pit"), ship_dir + "/features.pit");
  std::filesystem::remove(ship_dir + "/features.pit-index-lock");  // as shipped: data file and index
  if (::mount(ship_dir.c_str(), ro_dir.c_str(), nullptr, MS_BIND, nullptr) != 0)
    GTEST_SKIP() << "cannot bind-mount here (" << std::strerror(errno) << ")";
  ASSERT_EQ(::mount(nullptr, ro_dir.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr), 0)
      << std::strerror(errno);
  std::string path = ro_dir + "/features.pit";
  {
    std::FILE* probe = std::fopen((ro_dir + "/probe").c_str(), "w");
    EXPECT_EQ(probe, nullptr) << "the mount is writable";
    if (probe) std::fclose(probe);
  }
  Options ro;
  ro.read_only = true;
  // Two reader processes (forked before this process starts threads) and four threads.
  std::vector<pid_t> children;
  for (int i = 0; i < 2; ++i) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      auto store = Store::Open(path, ro);
      bool right = store.ok();
      for (int r = 0; right && r < 20; ++r) right = ReadsRight(**store);
      _exit(right ? 0 : 1);
    }
    children.push_back(pid);
  }
  {
    auto store = Store::Open(path, ro);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    std::vector<std::thread> threads;
    std::atomic<int> wrong{0};
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&] {
        for (int r = 0; r < 20; ++r)
          if (!ReadsRight(**store)) wrong++;
      });
    for (std::thread& t : threads) t.join();
    EXPECT_EQ(wrong.load(), 0);
    EXPECT_TRUE(UNWRAP((*store)->Verify()).ok());
    EXPECT_FALSE((*store)->Append("v", WriteBatch()).ok());
  }
  for (pid_t pid : children) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "a reader process read wrong";
  }
  EXPECT_FALSE(std::filesystem::exists(ro_dir + "/features.pit-index-lock"));
  ASSERT_EQ(::umount(ro_dir.c_str()), 0) << std::strerror(errno);
}

TEST(Serving, ShippedWithoutItsIndexSaysSo) {
  TempDir dir;
  BuildAndShip(dir.path("server.pit"), dir.path("features.pit"));
  std::filesystem::remove(dir.path("features.pit-index"));
  Options ro;
  ro.read_only = true;
  auto store = Store::Open(dir.path("features.pit"), ro);
  ASSERT_FALSE(store.ok());
  EXPECT_TRUE(store.status().IsNotFound()) << store.status().ToString();
  EXPECT_NE(store.status().message().find("is missing; open the store read-write once to rebuild it"),
            std::string::npos)
      << store.status().message();
}

}  // namespace
}  // namespace pitstore
