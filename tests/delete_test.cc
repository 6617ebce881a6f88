// Erasure (Store::Delete) and retention: every version of the deleted keys is gone for every read path and
// every known-at at once, stays gone across reopen, index rebuild and merges, and after a
// vacuum no byte of the deleted rows is left in the data file; other keys are untouched, and
// rows appended for the key afterwards are stored as usual.
#include <chrono>
#include <fstream>
#include <iterator>

#include "test_util.h"

namespace pitstore {
namespace {
using testing::TempDir;

std::string FileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The secret every row of key k carries, unique per version, uncompressed in the file (the
// store writes raw blocks here) so that a search of the bytes finds it.
std::string Secret(int64_t k, int version) { return "secret-of-" + std::to_string(k) + "-v" + std::to_string(version); }

struct Rows {
  std::vector<std::pair<EntityKey, VersionedRow>> rows;
};

Rows ScanAll(Store& store) {
  Rows s;
  Status st = store.Scan("v", [&](const EntityKey& k, const VersionedRow& r) {
    s.rows.emplace_back(k, r);
    return true;
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  return s;
}

TEST(Delete, EveryVersionOfTheKeysIsGoneForEveryReaderAndAfterVacuumFromTheFile) {
  TempDir dir;
  const std::string path = dir.path("d.pit");
  Options o;
  o.segment_zstd_level = 0;  // raw blocks: the secrets are searchable bytes
  o.auto_flush_row_blocks = 0;
  o.auto_flush_rows = 0;
  auto store = UNWRAP(Store::Open(path, o));
  ASSERT_OK(store->DefineEntity(testing::IntEntity("user", "user_id")));
  ASSERT_OK(store->DefineView({"v", {"user"}, {{"secret", FeatureType::kString}, {"n", FeatureType::kInt64}}}));
  // Versions of keys 1..6 spread over segments (merged) and row batches (the tail), with
  // corrections and supplied system times.
  for (int version = 0; version < 4; ++version) {
    WriteBatch b;
    for (int64_t k = 1; k <= 6; ++k)
      b.Add({k}, 1000 + version * 10, {Value::String(Secret(k, version)), Value::Int64(k * 100 + version)},
            version == 3 ? int64_t{5000 + k} : kCommitTime);
    ASSERT_TRUE(store->Append("v", b).ok());
    if (version == 1) ASSERT_OK(store->Compact(CompactOptions{true}));
  }
  const Rows before = ScanAll(*store);
  const std::string bytes_before = FileBytes(path);
  ASSERT_NE(bytes_before.find(Secret(2, 0)), std::string::npos);  // the search can find a secret
  ASSERT_TRUE(UNWRAP(store->Latest("v", {int64_t{2}})).found);

  EXPECT_EQ(UNWRAP(store->Delete("v", {{int64_t{2}}, {int64_t{4}}, {int64_t{99}}})), 8u);  // 4 versions each
  EXPECT_EQ(UNWRAP(store->Delete("v", {{int64_t{2}}})), 0u);                               // nothing left

  auto expect_gone = [&](Store& s, const std::string& when) {
    for (int64_t k : {2, 4}) {
      EntityKey key{k};
      EXPECT_FALSE(UNWRAP(s.Latest("v", key)).found) << when << " key " << k;
      EXPECT_FALSE(UNWRAP(s.LatestBatch("v", {key}))[0].found) << when;
      for (Timestamp known : {Timestamp{1}, Timestamp{5003}, kMaxTimestamp})  // an earlier known-at too
        EXPECT_FALSE(UNWRAP(s.AsOf("v", key, kMaxTimestamp, known)).found) << when << " known " << known;
      EXPECT_TRUE(UNWRAP(s.History("v", key)).empty()) << when;
    }
    JoinLabels labels;
    labels.keys.push_back(Column::Of(FeatureType::kInt64));
    for (int64_t k : {1, 2, 3, 4}) {
      labels.keys[0].ints.push_back(k);
      labels.times.push_back(2000);
    }
    for (JoinPlan plan : {JoinPlan::kScan, JoinPlan::kSeek}) {
      JoinOptions jo;
      jo.plan = plan;
      JoinResult j = UNWRAP(s.AsOfJoin("v", labels, {}, jo));
      EXPECT_EQ(j.status, (std::vector<uint8_t>{uint8_t(ValueStatus::kPresent), uint8_t(ValueStatus::kNotFound),
                                                uint8_t(ValueStatus::kPresent), uint8_t(ValueStatus::kNotFound)}))
          << when;
    }
    // Every other row is as it was.
    Rows after = ScanAll(s);
    std::vector<std::pair<EntityKey, VersionedRow>> want;
    for (const auto& r : before.rows)
      if (r.first != EntityKey{int64_t{2}} && r.first != EntityKey{int64_t{4}}) want.push_back(r);
    ASSERT_EQ(after.rows.size(), want.size()) << when;
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(after.rows[i].first, want[i].first) << when;
      EXPECT_EQ(after.rows[i].second.event_ts, want[i].second.event_ts) << when;
      EXPECT_EQ(after.rows[i].second.system_ts, want[i].second.system_ts) << when;
      EXPECT_EQ(after.rows[i].second.values, want[i].second.values) << when;
    }
    auto report = UNWRAP(s.Verify());
    EXPECT_TRUE(report.ok()) << when << ": " << (report.problems.empty() ? "" : report.problems.front());
  };
  expect_gone(*store, "at once");
  // Until a vacuum the old blocks' bytes stay in the file, unread.
  EXPECT_NE(FileBytes(path).find(Secret(2, 3)), std::string::npos);
  store.reset();
  store = UNWRAP(Store::Open(path, o));
  expect_gone(*store, "after reopen");
  ASSERT_OK(store->RebuildIndex());
  expect_gone(*store, "after an index rebuild");
  ASSERT_OK(store->Compact(CompactOptions{true}));
  expect_gone(*store, "after a full compaction");
  ASSERT_OK(store->Vacuum());
  expect_gone(*store, "after vacuum");
  const std::string bytes = FileBytes(path);
  for (int version = 0; version < 4; ++version) {
    EXPECT_EQ(bytes.find(Secret(2, version)), std::string::npos) << version;
    EXPECT_EQ(bytes.find(Secret(4, version)), std::string::npos) << version;
    EXPECT_NE(bytes.find(Secret(3, version)), std::string::npos) << version;  // the search still finds others
  }
  // The key lives on: rows appended after the erasure are stored and read as usual.
  WriteBatch again;
  again.Add({int64_t{2}}, 3000, {Value::String("after"), Value::Int64(1)});
  ASSERT_TRUE(store->Append("v", again).ok());
  Lookup l = UNWRAP(store->Latest("v", {int64_t{2}}));
  ASSERT_TRUE(l.found);
  EXPECT_EQ(l.values[0], Value::String("after"));
  EXPECT_EQ(UNWRAP(store->History("v", {int64_t{2}})).size(), 1u);
  EXPECT_FALSE(store->Delete("nope", {{int64_t{1}}}).ok());
  EXPECT_FALSE(store->Delete("v", {{std::string("not an int")}}).ok());
}

// Deleting every key leaves an empty view that reads, verifies and takes rows.
TEST(Delete, EveryKeyOfAView) {
  TempDir dir;
  auto store = UNWRAP(Store::Open(dir.path("e.pit")));
  ASSERT_OK(store->DefineEntity(testing::IntEntity("user", "user_id")));
  ASSERT_OK(store->DefineView({"v", {"user"}, {{"n", FeatureType::kInt64}}}));
  WriteBatch b;
  for (int64_t k = 0; k < 50; ++k) b.Add({k}, 10, {Value::Int64(k)});
  ASSERT_TRUE(store->Append("v", b).ok());
  ASSERT_OK(store->Compact(CompactOptions{true}));
  ASSERT_TRUE(store->Append("v", b).ok());
  std::vector<EntityKey> all;
  for (int64_t k = 0; k < 50; ++k) all.push_back({k});
  EXPECT_EQ(UNWRAP(store->Delete("v", all)), 100u);
  EXPECT_TRUE(ScanAll(*store).rows.empty());
  EXPECT_EQ(UNWRAP(store->Stats()).views[0].rows, 0u);
  EXPECT_TRUE(UNWRAP(store->Verify()).ok());
  ASSERT_TRUE(store->Append("v", b).ok());
  EXPECT_EQ(ScanAll(*store).rows.size(), 50u);
}

}  // namespace
}  // namespace pitstore

namespace pitstore {
namespace {

// Retention: merges drop versions older than the window, keeping each key's newest such
// version, so latest and as-of reads inside the window keep their answers; older times lose
// theirs (the point of retention). Rows not yet merged are untouched until they are.
TEST(Retention, MergesDropVersionsOlderThanTheWindowButTheNewestPerKey) {
  testing::TempDir dir;
  auto store = UNWRAP(Store::Open(dir.path("r.pit")));
  ASSERT_OK(store->DefineEntity(testing::IntEntity("user", "user_id")));
  FeatureViewDef v{"v", {"user"}, {{"n", FeatureType::kInt64}}};
  v.retention_us = 10 * 86400 * kMicrosPerSecond;
  ASSERT_OK(store->DefineView(v));
  const int64_t day = 86400 * kMicrosPerSecond;
  const int64_t now =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  WriteBatch b;
  for (int ago : {30, 20, 5, 1}) b.Add({int64_t{1}}, now - ago * day, {Value::Int64(ago)});
  for (int ago : {30, 25}) b.Add({int64_t{2}}, now - ago * day, {Value::Int64(ago)});
  ASSERT_TRUE(store->Append("v", b).ok());
  auto ages = [&](int64_t k) {
    std::vector<int64_t> out;
    for (const VersionedRow& r : UNWRAP(store->History("v", {k}))) out.push_back(r.values[0].as_int64());
    return out;
  };
  EXPECT_EQ(ages(1), (std::vector<int64_t>{30, 20, 5, 1}));  // the tail: not merged yet
  const Lookup latest1 = UNWRAP(store->Latest("v", {int64_t{1}})), latest2 = UNWRAP(store->Latest("v", {int64_t{2}}));
  const Lookup inside = UNWRAP(store->AsOf("v", {int64_t{1}}, now - 8 * day));
  ASSERT_OK(store->Compact(CompactOptions{true}));
  EXPECT_EQ(ages(1), (std::vector<int64_t>{20, 5, 1}));  // 20 days ago: the newest older than the window
  EXPECT_EQ(ages(2), (std::vector<int64_t>{25}));
  EXPECT_EQ(UNWRAP(store->Latest("v", {int64_t{1}})).values, latest1.values);
  EXPECT_EQ(UNWRAP(store->Latest("v", {int64_t{2}})).values, latest2.values);
  EXPECT_EQ(UNWRAP(store->AsOf("v", {int64_t{1}}, now - 8 * day)).values, inside.values);
  EXPECT_FALSE(UNWRAP(store->AsOf("v", {int64_t{1}}, now - 25 * day)).found);  // before the window: gone
  EXPECT_TRUE(UNWRAP(store->Verify()).ok());
  ASSERT_OK(store->Vacuum());
  EXPECT_EQ(ages(1), (std::vector<int64_t>{20, 5, 1}));
  // Retention off again: nothing more is dropped.
  v.retention_us = 0;
  ASSERT_OK(store->DefineView(v));
  ASSERT_TRUE(store->Append("v", b).ok());
  ASSERT_OK(store->Compact(CompactOptions{true}));
  EXPECT_EQ(ages(2).size(), 3u);
}

}  // namespace
}  // namespace pitstore

namespace pitstore {
namespace {

// Dropping a view: its definition and every row go; other views stay as they were; a service
// using it blocks the drop; a view defined again under the name starts empty; after vacuum no
// byte of its rows is left.
TEST(DropView, RemovesTheViewAndItsRowsAndNothingElse) {
  testing::TempDir dir;
  const std::string path = dir.path("drop.pit");
  Options o;
  o.segment_zstd_level = 0;
  auto store = UNWRAP(Store::Open(path, o));
  ASSERT_OK(store->DefineEntity(testing::IntEntity("user", "user_id")));
  ASSERT_OK(store->DefineView({"gone", {"user"}, {{"s", FeatureType::kString}}}));
  ASSERT_OK(store->DefineView({"kept", {"user"}, {{"s", FeatureType::kString}}}));
  for (int round = 0; round < 2; ++round) {  // a segment and a row batch of each view
    WriteBatch g, k;
    for (int64_t u = 0; u < 20; ++u) {
      g.Add({u}, 100 + round, {Value::String("dropped-" + std::to_string(u) + "-" + std::to_string(round))});
      k.Add({u}, 100 + round, {Value::String("kept-" + std::to_string(u) + "-" + std::to_string(round))});
    }
    ASSERT_TRUE(store->Append("gone", g).ok());
    ASSERT_TRUE(store->Append("kept", k).ok());
    if (round == 0) ASSERT_OK(store->Compact(CompactOptions{true}));
  }
  Definitions d;
  d.services.push_back({"svc", {"gone:s"}, ""});
  ASSERT_OK(store->Apply(d));
  Status refused = store->DropView("gone");
  EXPECT_FALSE(refused.ok());
  EXPECT_NE(refused.message().find("used by feature service(s) 'svc'"), std::string::npos) << refused.ToString();
  d.services[0].features = {"kept:s"};
  ASSERT_OK(store->Apply(d));
  ASSERT_OK(store->DropView("gone"));
  auto check = [&](const std::string& when) {
    EXPECT_TRUE(store->GetView("gone").status().IsNotFound()) << when;
    EXPECT_EQ(UNWRAP(store->ListViews()), std::vector<std::string>{"kept"}) << when;
    auto stats = UNWRAP(store->Stats());
    ASSERT_EQ(stats.views.size(), 1u) << when;  // no index entry of the dropped view is left
    EXPECT_EQ(stats.views[0].rows, 40u) << when;
    EXPECT_EQ(stats.views[0].entities, 20u) << when;
    EXPECT_EQ(UNWRAP(store->Latest("kept", {int64_t{3}})).values[0], Value::String("kept-3-1")) << when;
    EXPECT_EQ(UNWRAP(store->History("kept", {int64_t{3}})).size(), 2u) << when;
    auto report = UNWRAP(store->Verify());
    EXPECT_TRUE(report.ok()) << when << ": " << (report.problems.empty() ? "" : report.problems.front());
  };
  check("at once");
  store.reset();
  store = UNWRAP(Store::Open(path, o));
  check("after reopen");
  ASSERT_OK(store->RebuildIndex());
  check("after an index rebuild");
  ASSERT_OK(store->Vacuum());
  check("after vacuum");
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(bytes.find("dropped-"), std::string::npos);
  EXPECT_NE(bytes.find("kept-3-1"), std::string::npos);
  // Defined again: a new, empty view.
  ASSERT_OK(store->DefineView({"gone", {"user"}, {{"s", FeatureType::kString}}}));
  EXPECT_FALSE(UNWRAP(store->Latest("gone", {int64_t{3}})).found);
  EXPECT_TRUE(store->DropView("nope").IsNotFound());
}

}  // namespace
}  // namespace pitstore

namespace pitstore {
namespace {

// One key loaded many times with the same times (a source whose created time is constant):
// merges keep the last row of each distinct set of values, in linear time (pairwise comparison
// of a 100,000-row group would take minutes).
TEST(Duplicates, ALargeGroupOfEqualTimesKeepsTheLastRowOfEachValue) {
  testing::TempDir dir;
  auto store = UNWRAP(Store::Open(dir.path("dup.pit")));
  ASSERT_OK(store->DefineEntity(testing::IntEntity("user", "user_id")));
  ASSERT_OK(store->DefineView({"v", {"user"}, {{"n", FeatureType::kInt64}, {"s", FeatureType::kString}}}));
  const int kRows = 100'000;
  for (int part = 0; part < 2; ++part) {
    WriteBatch b;
    for (int i = 0; i < kRows / 2; ++i)
      b.Add({int64_t{7}}, 1000, {Value::Int64(i % 3), i % 3 == 2 ? Value::Null() : Value::String("x")}, 5000);
    ASSERT_TRUE(store->Append("v", b).ok());
  }
  const Lookup before = UNWRAP(store->Latest("v", {int64_t{7}}));
  ASSERT_OK(store->Compact(CompactOptions{true}));
  auto history = UNWRAP(store->History("v", {int64_t{7}}));
  ASSERT_EQ(history.size(), 3u);  // one row per distinct value, the last ingested of each
  // In ingest order, the last three rows: i = 49,997, 49,998, 49,999 of the second batch.
  EXPECT_EQ(history[0].values[0], Value::Int64(2));
  EXPECT_EQ(history[1].values[0], Value::Int64(0));
  EXPECT_EQ(history[2].values[0], Value::Int64(1));
  EXPECT_EQ(UNWRAP(store->Latest("v", {int64_t{7}})).values, before.values);
  EXPECT_TRUE(UNWRAP(store->Verify()).ok());
}

}  // namespace
}  // namespace pitstore

namespace pitstore {
namespace {

// Dropping a feature: every reader and writer stops seeing it at once, across reopen and index
// rebuilds; the other features keep their values; a feature defined later under the same name
// starts empty; after a full compaction and a vacuum its values are gone from the file.
TEST(DropFeature, GoneForReadersAndWritersAndFromTheFileAfterVacuum) {
  TempDir dir;
  const std::string path = dir.path("f.pit");
  Options o;
  o.segment_zstd_level = 0;  // raw blocks: the secrets are searchable bytes
  o.auto_flush_row_blocks = 0;
  o.auto_flush_rows = 0;
  auto store = UNWRAP(Store::Open(path, o));
  ASSERT_OK(store->DefineEntity(testing::IntEntity("user", "user_id")));
  const FeatureViewDef original{
      "v", {"user"}, {{"a", FeatureType::kInt64}, {"b", FeatureType::kString}, {"c", FeatureType::kFloat64}}};
  ASSERT_OK(store->DefineView(original));
  for (int version = 0; version < 3; ++version) {
    WriteBatch b;
    for (int64_t k = 1; k <= 5; ++k)
      b.Add({k}, 1000 + version,
            {Value::Int64(k * 10 + version), Value::String(Secret(k, version)), Value::Float64(k + version / 10.0)});
    ASSERT_TRUE(store->Append("v", b).ok());
    if (version == 0) ASSERT_OK(store->Compact(CompactOptions{true}));
  }
  ASSERT_FALSE(store->DropFeature("v", "nope").ok());
  ASSERT_OK(store->Apply(Definitions{{}, {}, {{"svc", {"v:b"}}}}));
  EXPECT_NE(store->DropFeature("v", "b").message().find("used by feature service(s) 'svc'"), std::string::npos);
  ASSERT_OK(store->Apply(Definitions{{}, {}, {{"svc", {"v:a"}}}}));
  ASSERT_OK(store->DropFeature("v", "b"));

  auto expect_dropped = [&](Store& s, const std::string& when) {
    FeatureViewDef def = UNWRAP(s.GetView("v"));
    ASSERT_EQ(def.features.size(), 2u) << when;
    EXPECT_EQ(def.features[0].name, "a");
    EXPECT_EQ(def.features[1].name, "c");
    Lookup l = UNWRAP(s.Latest("v", {int64_t{3}}));
    ASSERT_EQ(l.values.size(), 2u) << when;
    EXPECT_EQ(l.values[0], Value::Int64(32)) << when;
    EXPECT_EQ(l.values[1], Value::Float64(3.2)) << when;
    EXPECT_FALSE(s.Latest("v", {int64_t{3}}, {"b"}).ok()) << when;
    EXPECT_EQ(UNWRAP(s.AsOf("v", {int64_t{3}}, 1000)).values, (std::vector<Value>{Value::Int64(30), Value::Float64(3)}))
        << when;
    for (const VersionedRow& r : UNWRAP(s.History("v", {int64_t{1}}))) EXPECT_EQ(r.values.size(), 2u) << when;
    Rows all = ScanAll(s);
    EXPECT_EQ(all.rows.size(), 15u) << when;
    for (const auto& r : all.rows) EXPECT_EQ(r.second.values.size(), 2u) << when;
    JoinLabels labels;
    labels.keys.push_back(Column::Of(FeatureType::kInt64));
    labels.keys[0].ints = {1, 2};
    labels.times = {1001, 1002};
    JoinResult j = UNWRAP(s.AsOfJoin("v", labels));
    ASSERT_EQ(j.columns.size(), 2u) << when;
    EXPECT_EQ(j.columns[0].ints, (std::vector<int64_t>{11, 22})) << when;
    auto stats = UNWRAP(s.Summarize("v"));
    ASSERT_EQ(stats.size(), 2u) << when;
    EXPECT_EQ(stats[1].feature, "c") << when;
    auto report = UNWRAP(s.Verify());
    EXPECT_TRUE(report.ok()) << when << ": " << (report.problems.empty() ? "" : report.problems.front());
  };
  expect_dropped(*store, "at once");
  // Writers give the features they see.
  WriteBatch three;
  three.Add({int64_t{9}}, 2000, {Value::Int64(1), Value::String("x"), Value::Float64(1)});
  EXPECT_FALSE(store->Append("v", three).ok());
  WriteBatch two;
  two.Add({int64_t{9}}, 2000, {Value::Int64(1), Value::Float64(1)});
  ASSERT_TRUE(store->Append("v", two).ok());
  // The old definitions are refused with the reason; listed at the end, the name is a new feature.
  Status again = store->DefineView(original);
  EXPECT_NE(again.message().find("feature 'b' was dropped"), std::string::npos) << again.ToString();
  store.reset();
  store = UNWRAP(Store::Open(path, o));
  ASSERT_OK(store->Delete("v", {{int64_t{9}}}).status());
  expect_dropped(*store, "after reopen");
  ASSERT_OK(store->RebuildIndex());
  expect_dropped(*store, "after an index rebuild");
  EXPECT_NE(FileBytes(path).find(Secret(2, 1)), std::string::npos);  // still in the file, unread
  ASSERT_OK(store->Compact(CompactOptions{true}));
  ASSERT_OK(store->Vacuum());
  expect_dropped(*store, "after compaction and vacuum");
  const std::string bytes = FileBytes(path);
  for (int64_t k = 1; k <= 5; ++k)
    for (int version = 0; version < 3; ++version)
      EXPECT_EQ(bytes.find(Secret(k, version)), std::string::npos) << k << " " << version;

  FeatureViewDef readded{
      "v", {"user"}, {{"a", FeatureType::kInt64}, {"c", FeatureType::kFloat64}, {"b", FeatureType::kInt64}}};
  ASSERT_OK(store->DefineView(readded));
  Lookup l = UNWRAP(store->Latest("v", {int64_t{3}}, {"b"}));
  ASSERT_TRUE(l.found);
  EXPECT_TRUE(l.values[0].is_null());  // a new feature, empty: not the dropped one's values
  WriteBatch with_b;
  with_b.Add({int64_t{3}}, 3000, {Value::Int64(1), Value::Float64(2), Value::Int64(77)});
  ASSERT_TRUE(store->Append("v", with_b).ok());
  EXPECT_EQ(UNWRAP(store->Latest("v", {int64_t{3}}, {"b"})).values[0], Value::Int64(77));
  EXPECT_EQ(UNWRAP(store->GetView("v")).features.size(), 3u);
  store.reset();
  store = UNWRAP(Store::Open(path, o));
  EXPECT_EQ(UNWRAP(store->Latest("v", {int64_t{3}}, {"b"})).values[0], Value::Int64(77));
  ASSERT_OK(store->DropFeature("v", "b"));
  ASSERT_OK(store->DropFeature("v", "c"));
  EXPECT_NE(store->DropFeature("v", "a").message().find("drop the view instead"), std::string::npos);
}

}  // namespace
}  // namespace pitstore
