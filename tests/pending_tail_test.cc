// A writer killed between making a transaction durable and publishing it to the index leaves
// a pending tail: the next read-write open publishes it. Until then, read-only readers must see
// the same rows recovery will (row counts too, or a resume count taken from them would
// duplicate rows), and verify must call the state normal, not damage.
#include <filesystem>

#include "test_util.h"

namespace pitstore {
namespace {
using testing::TempDir;

void Put(Store& store, int64_t first_key, int keys, Timestamp ev, int64_t base) {
  WriteBatch batch;
  for (int k = 0; k < keys; ++k) batch.Add({first_key + k}, ev, {Value::Int64(base + k)});
  UNWRAP(store.Append("v", batch));
}

// Everything a reader can see: every version of keys 0..39 and the row and entity counts.
std::string Everything(Store& store) {
  std::string out;
  for (int64_t k = 0; k < 40; ++k) {
    for (const VersionedRow& r : UNWRAP(store.History("v", {k})))
      out += std::to_string(k) + "@" + std::to_string(r.event_ts) + "=" + r.values[0].ToString() + " ";
    Lookup latest = UNWRAP(store.Latest("v", {k}));
    out += "latest " + (latest.found ? latest.values[0].ToString() : "none") + "\n";
  }
  size_t scanned = 0;
  EXPECT_TRUE(store
                  .Scan("v",
                        [&](const EntityKey&, const VersionedRow&) {
                          ++scanned;
                          return true;
                        })
                  .ok());
  StoreStats stats = UNWRAP(store.Stats());
  out += "scanned " + std::to_string(scanned) + ", rows " + std::to_string(stats.views.at(0).rows) + ", entities " +
         std::to_string(stats.views.at(0).entities) + "\n";
  return out;
}

TEST(PendingTail, ReadOnlyReadersSeeWhatRecoveryWillAndVerifyCallsItNormal) {
  TempDir dir;
  std::string path = dir.path("s.pit");
  {
    auto store = testing::NewUserStore(path);
    Put(*store, 0, 20, 100, 0);
  }
  // The index as it was; then more commits: an append, a merge, a new view, another append.
  std::filesystem::copy_file(path + "-index", dir.path("index.before"));
  {
    auto store = UNWRAP(Store::Open(path));
    Put(*store, 10, 20, 200, 1000);  // keys 10..29: newer versions and new keys
    ASSERT_OK(store->Compact());
    ASSERT_OK(store->DefineView({"w", {"user"}, {{"m", FeatureType::kInt64}}}));
    Put(*store, 25, 10, 150, 2000);  // older than some rows it meets: never replaces them
  }
  std::filesystem::copy_file(dir.path("index.before"), path + "-index",
                             std::filesystem::copy_options::overwrite_existing);
  Options read_only;
  read_only.read_only = true;
  std::string seen;
  {
    auto reader = UNWRAP(Store::Open(path, read_only));
    seen = Everything(*reader);
    EXPECT_TRUE(UNWRAP(reader->ListViews()).size() == 2) << "the pending registry is read too";
    VerifyReport report = UNWRAP(reader->Verify());
    EXPECT_TRUE(report.problems.empty()) << report.problems.front();
    EXPECT_EQ(report.pending_transactions, 4u);
    EXPECT_GT(report.pending_bytes, 0u);
  }
  EXPECT_NE(seen.find("rows 50, entities 35"), std::string::npos) << seen;
  // Recovery publishes the same.
  {
    auto writer = UNWRAP(Store::Open(path));
    EXPECT_EQ(Everything(*writer), seen);
    VerifyReport report = UNWRAP(writer->Verify());
    EXPECT_TRUE(report.problems.empty());
    EXPECT_EQ(report.pending_transactions, 0u);
  }
}

TEST(PendingTail, ATornLastTransactionIsANoteNotAProblem) {
  TempDir dir;
  std::string path = dir.path("s.pit");
  {
    auto store = testing::NewUserStore(path);
    Put(*store, 0, 20, 100, 0);
  }
  uint64_t size = std::filesystem::file_size(path);
  std::filesystem::copy_file(path + "-index", dir.path("index.before"));
  {
    auto store = UNWRAP(Store::Open(path));
    Put(*store, 0, 20, 200, 1000);
  }
  // The second batch written only in part, as a crash mid-write leaves it.
  std::filesystem::resize_file(path, size + (std::filesystem::file_size(path) - size) / 2);
  std::filesystem::copy_file(dir.path("index.before"), path + "-index",
                             std::filesystem::copy_options::overwrite_existing);
  Options read_only;
  read_only.read_only = true;
  auto reader = UNWRAP(Store::Open(path, read_only));
  VerifyReport report = UNWRAP(reader->Verify());
  EXPECT_TRUE(report.problems.empty()) << report.problems.front();
  EXPECT_FALSE(report.torn_tail.empty());
  EXPECT_EQ(UNWRAP(reader->Latest("v", {int64_t{3}})).values[0], Value::Int64(3));
}

}  // namespace
}  // namespace pitstore
