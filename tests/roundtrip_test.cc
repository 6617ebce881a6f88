// Every feature type, nulls, empty strings, vectors and composite keys survive every path:
// the row batch, the latest index, a merge into a segment, a reopen and a vacuum.
#include <cmath>
#include <limits>

#include "test_util.h"

namespace pitstore {
namespace {
using testing::TempDir;

FeatureViewDef AllTypesView() {
  FeatureViewDef v;
  v.name = "all_types";
  v.entities = {"user", "item"};
  v.features = {
      {"b", FeatureType::kBool},      {"i32", FeatureType::kInt32},    {"i64", FeatureType::kInt64},
      {"f32", FeatureType::kFloat32}, {"f64", FeatureType::kFloat64},  {"s", FeatureType::kString},
      {"raw", FeatureType::kBytes},   {"ts", FeatureType::kTimestamp}, {"emb", FeatureType::kFloat32Vector, 3}};
  return v;
}

std::vector<std::vector<Value>> SampleRows() {
  return {
      {Value::Bool(true), Value::Int32(INT32_MIN), Value::Int64(INT64_MAX), Value::Float32(1.5f), Value::Float64(-0.0),
       Value::String(""), Value::Bytes(std::string("\0\xff", 2)), Value::Time(-1),
       Value::Vector({1.0f, -2.5f, std::numeric_limits<float>::infinity()})},
      {Value::Null(), Value::Null(), Value::Null(), Value::Null(), Value::Null(), Value::Null(), Value::Null(),
       Value::Null(), Value::Null()},
      {Value::Bool(false), Value::Int32(INT32_MAX), Value::Int64(INT64_MIN), Value::Float32(-3.25e-20f),
       Value::Float64(std::numeric_limits<double>::quiet_NaN()), Value::String("héllo, \"world\"\n"), Value::Bytes(""),
       Value::Time(1'767'225'600'000'000), Value::Null()},
  };
}

void ExpectAllPaths(Store& store, const std::vector<EntityKey>& keys, const std::vector<std::vector<Value>>& rows) {
  for (size_t i = 0; i < keys.size(); ++i) {
    auto latest = UNWRAP(store.Latest("all_types", keys[i]));
    ASSERT_TRUE(latest.found);
    EXPECT_EQ(latest.event_ts, 1000 + static_cast<int64_t>(i));
    for (size_t c = 0; c < rows[i].size(); ++c) {
      EXPECT_EQ(latest.values[c], rows[i][c]) << "row " << i << " col " << c << ": " << latest.values[c].ToString();
      EXPECT_EQ(latest.status[c], rows[i][c].is_null() ? ValueStatus::kNull : ValueStatus::kPresent);
    }
    auto asof = UNWRAP(store.AsOf("all_types", keys[i], kMaxTimestamp));
    EXPECT_EQ(asof.values, latest.values);
    auto hist = UNWRAP(store.History("all_types", keys[i]));
    ASSERT_EQ(hist.size(), 1u);
    EXPECT_EQ(hist[0].values, rows[i]);
  }
}

TEST(RoundTrip, EveryTypeAndNullThroughEveryPath) {
  TempDir dir;
  std::string path = dir.path("rt.pit");
  std::vector<EntityKey> keys = {
      {int64_t{1}, std::string("")}, {int64_t{-7}, std::string("a\0b", 3)}, {INT64_MAX, std::string(300, 'k')}};
  auto rows = SampleRows();
  {
    auto store = UNWRAP(Store::Open(path));
    ASSERT_OK(store->DefineEntity({"user", {{"user_id", KeyType::kInt64}}, ""}));
    ASSERT_OK(store->DefineEntity({"item", {{"item_id", KeyType::kString}}, ""}));
    ASSERT_OK(store->DefineView(AllTypesView()));
    WriteBatch batch;
    for (size_t i = 0; i < keys.size(); ++i) batch.Add(keys[i], 1000 + static_cast<int64_t>(i), rows[i]);
    UNWRAP(store->Append("all_types", batch));
    ExpectAllPaths(*store, keys, rows);
    ASSERT_OK(store->Compact(CompactOptions{true}));
    auto stats = UNWRAP(store->Stats());
    ASSERT_EQ(stats.views.size(), 1u);
    EXPECT_EQ(stats.views[0].segments, 1u);
    EXPECT_EQ(stats.views[0].row_blocks, 0u);
    ExpectAllPaths(*store, keys, rows);
  }
  {
    auto store = UNWRAP(Store::Open(path));
    ExpectAllPaths(*store, keys, rows);
    ASSERT_OK(store->Vacuum());
    ExpectAllPaths(*store, keys, rows);
    auto report = UNWRAP(store->Verify());
    EXPECT_TRUE(report.ok()) << report.problems[0];
  }
  Options ro;
  ro.read_only = true;
  auto store = UNWRAP(Store::Open(path, ro));
  ExpectAllPaths(*store, keys, rows);
  // A compacted copy made from the read-only store opens read-only and reads the same.
  ASSERT_OK(store->CopyTo(dir.path("copy.pit")));
  EXPECT_TRUE(store->CopyTo(dir.path("copy.pit")).code() == Status::Code::kAlreadyExists);
  auto copy = UNWRAP(Store::Open(dir.path("copy.pit"), ro));
  ExpectAllPaths(*copy, keys, rows);
  EXPECT_TRUE(UNWRAP(copy->Verify()).ok());
}

TEST(RoundTrip, ColumnarBatchEqualsRowWise) {
  TempDir dir;
  auto store = UNWRAP(Store::Open(dir.path("c.pit")));
  ASSERT_OK(store->DefineEntity(testing::IntEntity("user", "user_id")));
  FeatureViewDef v{
      "stats", {"user"}, {{"n", FeatureType::kInt64}, {"x", FeatureType::kFloat64}, {"s", FeatureType::kString}}};
  ASSERT_OK(store->DefineView(v));
  Column n = Column::Of(FeatureType::kInt64), x = Column::Of(FeatureType::kFloat64);
  for (int i = 0; i < 100; ++i) {
    if (i % 7 == 0)
      n.AppendNull();
    else
      n.Append(Value::Int64(i * 3));
    x.Append(Value::Float64(i / 4.0));
  }
  std::vector<EntityKey> keys;
  std::vector<Timestamp> ev;
  for (int i = 0; i < 100; ++i) {
    keys.push_back({int64_t{i % 10}});
    ev.push_back(i);
  }
  WriteBatch batch;
  batch.SetColumns(keys, ev, {}, {{"x", x}, {"n", n}});  // order by name, "s" omitted: null
  UNWRAP(store->Append("stats", batch));
  for (int k = 0; k < 10; ++k) {
    auto hist = UNWRAP(store->History("stats", {int64_t{k}}));
    ASSERT_EQ(hist.size(), 10u);
    for (int j = 0; j < 10; ++j) {
      int i = k + 10 * j;
      EXPECT_EQ(hist[j].event_ts, i);
      EXPECT_EQ(hist[j].values[0], i % 7 == 0 ? Value::Null() : Value::Int64(i * 3));
      EXPECT_EQ(hist[j].values[1], Value::Float64(i / 4.0));
      EXPECT_TRUE(hist[j].values[2].is_null());
    }
  }
}

}  // namespace
}  // namespace pitstore
