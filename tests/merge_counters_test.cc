// Merges say what they did: Store::Stats().merges counts every merge (automatic and Compact)
// with its rows and stored bytes in and out and its time, survives reopening and a vacuum, and
// starts over with an index rebuild (the counts live in the derived index).
#include "test_util.h"

namespace pitstore {
namespace {
using testing::TempDir;

TEST(MergeCounters, CountEveryMergeAndSurviveReopenAndVacuum) {
  TempDir dir;
  const std::string path = dir.path("m.pit");
  Options o;
  o.auto_flush_row_blocks = 3;  // an automatic merge every third batch
  o.auto_flush_rows = 0;
  o.background_merges = false;  // merged in the commit: the counts below are exact at once
  auto store = UNWRAP(Store::Open(path, o));
  ASSERT_OK(store->DefineEntity(testing::IntEntity("user", "user_id")));
  ASSERT_OK(store->DefineView({"v", {"user"}, {{"n", FeatureType::kInt64}}}));
  EXPECT_EQ(UNWRAP(store->Stats()).merges.count, 0u);
  for (int b = 0; b < 6; ++b) {
    WriteBatch batch;
    for (int64_t k = 0; k < 100; ++k) batch.Add({k}, 1000 + b, {Value::Int64(k * b)});
    ASSERT_TRUE(store->Append("v", batch).ok());
  }
  // After the third batch: 3 batches (300 rows) into a small segment; after the sixth: 3 more
  // batches and that segment (600 rows).
  auto expect = [&](Store& s, const std::string& when) {
    StoreStats st = UNWRAP(s.Stats());
    EXPECT_EQ(st.merges.count, 2u) << when;
    EXPECT_EQ(st.merges.rows_in, 900u) << when;
    EXPECT_EQ(st.merges.rows_out, 900u) << when;
    EXPECT_EQ(st.merges.last_rows_in, 600u) << when;
    EXPECT_GT(st.merges.bytes_in, 0u) << when;
    EXPECT_GT(st.merges.last_bytes_out, 0u) << when;
    EXPECT_GE(st.merges.bytes_out, st.merges.last_bytes_out) << when;
    EXPECT_GT(st.merges.micros, 0u) << when;
    EXPECT_GT(st.merges.last_at, 0) << when;
  };
  expect(*store, "after the commits");
  store.reset();
  store = UNWRAP(Store::Open(path, o));
  expect(*store, "after reopen");
  ASSERT_OK(store->Vacuum());
  expect(*store, "after vacuum");
  // A retried load (the same rows with the same supplied system time): the merge drops the
  // shadowed copies, and says so.
  WriteBatch again;
  for (int64_t k = 0; k < 100; ++k) again.Add({k}, 2000, {Value::Int64(k)}, 5000);
  ASSERT_TRUE(store->Append("v", again).ok());
  ASSERT_TRUE(store->Append("v", again).ok());
  ASSERT_OK(store->Compact(CompactOptions{true}));
  StoreStats st = UNWRAP(store->Stats());
  EXPECT_EQ(st.merges.count, 3u);
  EXPECT_EQ(st.merges.last_rows_in, 800u);
  EXPECT_EQ(st.merges.rows_out, 900u + 700u);  // one copy of the retried 100 rows
  ASSERT_OK(store->RebuildIndex());
  EXPECT_EQ(UNWRAP(store->Stats()).merges.count, 0u);  // the index is derived: counts start over
}

}  // namespace
}  // namespace pitstore

namespace pitstore {
namespace {

// A merge's last segment takes a rest under half of segment_max_rows rather than leave it as a
// small segment, which the next automatic merge would take (and rewrite) again.
TEST(MergeCounters, TheLastSegmentTakesASmallRest) {
  testing::TempDir dir;
  Options o;
  o.segment_max_rows = 100;
  o.auto_flush_row_blocks = 1;  // every batch merged at once, in its commit
  o.auto_flush_rows = 0;
  o.background_merges = false;
  auto store = UNWRAP(Store::Open(dir.path("rest.pit"), o));
  ASSERT_OK(store->DefineEntity(testing::IntEntity("user", "user_id")));
  ASSERT_OK(store->DefineView({"v", {"user"}, {{"n", FeatureType::kInt64}}}));
  int64_t next_key = 0;
  auto merge_batch = [&](int rows) {
    WriteBatch batch;
    for (int i = 0; i < rows; ++i, ++next_key) batch.Add({next_key}, 1000, {Value::Int64(next_key)});
    CommitInfo info = UNWRAP(store->Append("v", batch));
    ASSERT_OK(info.merge);
  };
  // rows in the batch -> segments the view holds after its merge, rows that merge read
  const struct {
    int rows;
    uint64_t segments;
  } steps[] = {{149, 1}, {151, 3}, {130, 4}, {250, 7}};  // 250: 100 + 100 + 50
  for (const auto& step : steps) {
    merge_batch(step.rows);
    StoreStats st = UNWRAP(store->Stats());
    EXPECT_EQ(st.views[0].segments, step.segments) << step.rows << " rows";
    EXPECT_EQ(st.views[0].row_blocks, 0u);
    EXPECT_EQ(st.merges.last_rows_in, static_cast<uint64_t>(step.rows)) << "no small segment merged again";
  }
  for (int64_t k = 0; k < next_key; k += 7) {
    Lookup l = UNWRAP(store->Latest("v", {k}));
    ASSERT_TRUE(l.found);
    EXPECT_EQ(l.values[0].as_int64(), k);
  }
  EXPECT_TRUE(UNWRAP(store->Verify()).ok());
}

}  // namespace
}  // namespace pitstore

namespace pitstore {
namespace {

// Wide rows (here 64-float vectors) end a segment at Options::segment_max_bytes of rows, long
// before segment_max_rows: a segment must fit a block (2 GiB) whatever its rows' width. Such a
// segment is not "small" (merged again) although it has few rows.
TEST(MergeCounters, WideRowsEndASegmentAtItsByteLimit) {
  testing::TempDir dir;
  constexpr uint64_t kRowBytes = 24 + 9 + 64 * 4;  // times, seq; the int64 key's 9 bytes; the vector
  Options o;
  o.segment_max_rows = 1000;
  o.segment_max_bytes = 50 * kRowBytes;
  o.auto_flush_row_blocks = 1;  // every batch merged at once, in its commit
  o.auto_flush_rows = 0;
  o.background_merges = false;
  auto store = UNWRAP(Store::Open(dir.path("wide.pit"), o));
  ASSERT_OK(store->DefineEntity(testing::IntEntity("user", "user_id")));
  ASSERT_OK(store->DefineView({"v", {"user"}, {{"e", FeatureType::kFloat32Vector, 64}}}));
  auto vector_of = [](int64_t k) {
    std::vector<float> e(64);
    for (size_t i = 0; i < e.size(); ++i) e[i] = static_cast<float>(k * 100 + static_cast<int64_t>(i));
    return e;
  };
  int64_t next_key = 0;
  // rows in the batch -> segments the view holds after its merge, rows that merge read
  const struct {
    int rows;
    uint64_t segments, rows_in;
  } steps[] = {{120, 3, 120},   // 50 + 50 + 20
               {120, 5, 140},   // the 20-row segment is small (under half of both limits): 50 + 50 + 40
               {120, 8, 120}};  // the 40-row one is not: 50 + 50 + 20
  for (const auto& step : steps) {
    WriteBatch batch;
    for (int i = 0; i < step.rows; ++i, ++next_key) batch.Add({next_key}, 1000, {Value::Vector(vector_of(next_key))});
    CommitInfo info = UNWRAP(store->Append("v", batch));
    ASSERT_OK(info.merge);
    StoreStats st = UNWRAP(store->Stats());
    EXPECT_EQ(st.views[0].segments, step.segments) << step.rows << " rows";
    EXPECT_EQ(st.merges.last_rows_in, step.rows_in);
  }
  // Both kinds of merge: the automatic ones above, and a full compaction (streamed).
  for (const char* when : {"merged", "compacted"}) {
    if (std::string(when) == "compacted") ASSERT_OK(store->Compact(CompactOptions{true}));
    for (const BlockInfo& b : UNWRAP(store->ListBlocks("v"))) {
      ASSERT_TRUE(b.segment) << when;
      EXPECT_LE(b.rows, 50u) << when;
      EXPECT_LE(b.raw_bytes, 50 * kRowBytes) << when;
    }
    for (int64_t k = 0; k < next_key; ++k) {
      Lookup l = UNWRAP(store->Latest("v", {k}));
      ASSERT_TRUE(l.found);
      EXPECT_EQ(l.values[0].as_vector(), vector_of(k)) << k << " " << when;
    }
    EXPECT_TRUE(UNWRAP(store->Verify()).ok()) << when;
  }
  EXPECT_EQ(UNWRAP(store->Stats()).views[0].segments, 8u);  // 360 rows: 7 x 50 + 10
}

}  // namespace
}  // namespace pitstore

namespace pitstore {
namespace {

// Row batches written before a view gained a string feature lack its column: a merge sizing
// its segments by bytes reads that column only where the batch has it.
TEST(MergeCounters, ByteLimitReadsOnlyColumnsABatchHas) {
  testing::TempDir dir;
  Options o;
  o.auto_flush_row_blocks = 0;  // merged only by the Compact below
  o.auto_flush_rows = 0;
  o.background_merges = false;
  auto store = UNWRAP(Store::Open(dir.path("evolved.pit"), o));
  ASSERT_OK(store->DefineEntity(testing::IntEntity("user", "user_id")));
  FeatureViewDef def{"v", {"user"}, {{"n", FeatureType::kInt64}}};
  ASSERT_OK(store->DefineView(def));
  for (int b = 0; b < 3; ++b) {
    WriteBatch batch;
    for (int64_t k = 0; k < 100; ++k) batch.Add({k}, 1000 + b, {Value::Int64(k + b)});
    ASSERT_TRUE(store->Append("v", batch).ok());
  }
  def.features.push_back({"s", FeatureType::kString});
  ASSERT_OK(store->DefineView(def));
  WriteBatch batch;
  for (int64_t k = 100; k < 200; ++k) batch.Add({k}, 2000, {Value::Int64(k), Value::String(std::string(k, 's'))});
  ASSERT_TRUE(store->Append("v", batch).ok());
  ASSERT_OK(store->Compact(CompactOptions{true}));
  StoreStats st = UNWRAP(store->Stats());
  EXPECT_EQ(st.views[0].segments, 1u);
  EXPECT_EQ(st.views[0].row_blocks, 0u);
  for (int64_t k = 0; k < 200; ++k) {
    Lookup l = UNWRAP(store->Latest("v", {k}));
    ASSERT_TRUE(l.found) << k;
    EXPECT_EQ(l.values[0].as_int64(), k < 100 ? k + 2 : k) << k;
    if (k < 100)
      EXPECT_TRUE(l.values[1].is_null()) << k;
    else
      EXPECT_EQ(l.values[1].as_string(), std::string(k, 's')) << k;
  }
  EXPECT_TRUE(UNWRAP(store->Verify()).ok());
}

}  // namespace
}  // namespace pitstore
