// Opening a store: one open per process, whatever path names the store (LMDB's rule, now
// enforced); and listings that return errors instead of looking empty.
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "test_util.h"

namespace pitstore {
namespace {
using testing::TempDir;

std::unique_ptr<Store> NewStore(const std::string& path) {
  auto store = testing::NewUserStore(path);
  WriteBatch b;
  b.Add({int64_t{1}}, 10, {Value::Int64(7)});
  EXPECT_TRUE(store->Append("v", b).ok());
  return store;
}

TEST(OpenTest, ASecondOpenInOneProcessIsRefusedByAnyPath) {
  TempDir dir;
  std::string path = dir.path("s.pit");
  auto store = NewStore(path);
  Options ro;
  ro.read_only = true;
  std::filesystem::create_symlink(path, dir.path("link.pit"));
  for (const std::string& other : {path, dir.path("./s.pit"), dir.path("link.pit")}) {
    for (bool read_only : {false, true}) {
      Options o;
      o.read_only = read_only;
      auto second = Store::Open(other, o);
      ASSERT_FALSE(second.ok()) << other;
      EXPECT_TRUE(second.status().IsBusy()) << second.status().ToString();
      EXPECT_NE(second.status().message().find("already open in this process"), std::string::npos)
          << second.status().ToString();
    }
  }
  // The first store is untouched by the refusals: its locks and reads still work.
  ASSERT_OK(store
                ->Append("v",
                         [] {
                           WriteBatch b;
                           b.Add({int64_t{1}}, 20, {Value::Int64(8)});
                           return b;
                         }())
                .status());
  EXPECT_EQ(UNWRAP(store->Latest("v", {int64_t{1}})).values[0], Value::Int64(8));
  // A vacuum moves the claim to the new file; closing releases it.
  ASSERT_OK(store->Vacuum());
  EXPECT_TRUE(Store::Open(path, ro).status().IsBusy());
  store.reset();
  auto again = UNWRAP(Store::Open(path, ro));
  EXPECT_EQ(UNWRAP(again->Latest("v", {int64_t{1}})).values[0], Value::Int64(8));
}

// A zero segment limit would make each merge write a segment per key (or pages of no rows):
// refused at open, naming the options, before any file is made.
TEST(OpenTest, ZeroSegmentLimitsAreRefused) {
  TempDir dir;
  const std::string path = dir.path("z.pit");
  for (int which = 0; which < 3; ++which) {
    Options o;
    if (which == 0) o.segment_max_rows = 0;
    if (which == 1) o.segment_page_rows = 0;
    if (which == 2) o.segment_max_bytes = 0;
    auto store = Store::Open(path, o);
    ASSERT_FALSE(store.ok()) << which;
    EXPECT_TRUE(store.status().IsInvalidArgument()) << store.status().ToString();
    EXPECT_NE(store.status().message().find("segment_max_rows, segment_max_bytes and segment_page_rows"),
              std::string::npos);
    EXPECT_FALSE(std::filesystem::exists(path));
  }
  Options o;
  o.segment_max_rows = 1;  // the least allowed: a segment per key
  o.segment_max_bytes = 1;
  auto store = Store::Open(path, o);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
}

TEST(OpenTest, AForkedChildMayOpenTheStoreItsParentHasOpen) {
  TempDir dir;
  std::string path = dir.path("s.pit");
  Options ro;
  ro.read_only = true;
  { NewStore(path); }
  auto store = UNWRAP(Store::Open(path, ro));
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto child = Store::Open(path, ro);
    _exit(child.ok() && (*child)->Latest("v", {int64_t{1}}).ok() ? 0 : 1);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

// A store open read-only here, vacuumed by another process: the listings say so (Busy), as
// every read does, instead of answering "no views".
TEST(OpenTest, ListingsReturnErrorsNotEmptyLists) {
  TempDir dir;
  std::string path = dir.path("s.pit");
  { NewStore(path); }
  Options ro;
  ro.read_only = true;
  auto store = UNWRAP(Store::Open(path, ro));
  EXPECT_EQ(UNWRAP(store->ListViews()), std::vector<std::string>{"v"});
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto writer = Store::Open(path);
    _exit(writer.ok() && (*writer)->Vacuum().ok() ? 0 : 1);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  // The path now names another file, but this process still has the store (and its index)
  // open: opening it again is refused.
  auto again = Store::Open(path, ro);
  EXPECT_TRUE(again.status().IsBusy()) << again.status().ToString();
  // A reader follows the vacuum to the new file.
  EXPECT_EQ(UNWRAP(store->ListViews()), std::vector<std::string>{"v"});
  // Another vacuum, and the file it leaves is taken away: no file the index names is left,
  // and every listing says so rather than list nothing.
  pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto writer = Store::Open(path);
    _exit(writer.ok() && (*writer)->Vacuum().ok() ? 0 : 1);
  }
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ASSERT_EQ(::unlink(path.c_str()), 0);
  for (auto listing : {&Store::ListViews, &Store::ListEntities, &Store::ListServices}) {
    auto names = ((*store).*listing)();
    ASSERT_FALSE(names.ok());
    EXPECT_TRUE(names.status().IsBusy()) << names.status().ToString();
  }
  EXPECT_TRUE(store->Latest("v", {int64_t{1}}).status().IsBusy());
}

}  // namespace
}  // namespace pitstore
