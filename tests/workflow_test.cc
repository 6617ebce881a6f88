// The workflow library's request handling: feature references and services resolved in one
// place, keys typed in by people, and online lookups across views checked against Store::Latest
// and Store::AsOf for every entity row.
#include <cmath>
#include <limits>
#include <random>

#include "pitstore/io/arrow_c.h"
#include "pitstore/io/parquet_tables.h"
#include "pitstore/io/record_source.h"
#include "pitstore/workflow/entity_keys.h"
#include "pitstore/workflow/feature_refs.h"
#include "pitstore/workflow/ingest.h"
#include "pitstore/workflow/joiner.h"
#include "pitstore/workflow/online_features.h"
#include "pitstore/workflow/view_export.h"
#include "test_util.h"

namespace pitstore::workflow {
namespace {
using pitstore::testing::TempDir;

class WorkflowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = UNWRAP(Store::Open(dir_.path("w.pit"), Options()));
    ASSERT_OK(store_->DefineEntity(pitstore::testing::IntEntity("user", "user_id")));
    ASSERT_OK(store_->DefineEntity(EntityDef{"item", {{"item_id", KeyType::kString}}, ""}));
    ASSERT_OK(
        store_->DefineView({"users", {"user"}, {{"n", FeatureType::kInt64}, {"country", FeatureType::kString}}, 1000}));
    ASSERT_OK(store_->DefineView({"pairs", {"user", "item"}, {{"score", FeatureType::kFloat64}}}));
    ASSERT_OK(store_->DefineView({"items", {"item"}, {{"n", FeatureType::kInt64}}}));
    Definitions d;
    d.services.push_back({"model", {"users:n", "pairs:score"}, ""});
    ASSERT_OK(store_->Apply(d));
  }
  TempDir dir_;
  std::unique_ptr<Store> store_;
};

std::vector<std::string> Refs(const std::vector<FeatureRef>& refs) {
  std::vector<std::string> out;
  for (const FeatureRef& r : refs) out.push_back(r.Ref() + "=" + r.output_name);
  return out;
}

// Lists (last_k) hold k slots per label: a pass takes fewer labels so they stay near 1 GiB.
TEST(LabelsPerPass, ListSlotsBoundAPass) {
  const std::vector<FeatureDef> scalars = {{"n", FeatureType::kInt64}};
  EXPECT_EQ(LabelsPerPass(scalars, 10'000'000), 10'000'000u);
  EXPECT_EQ(LabelsPerPass(scalars, 0), 0u);
  const std::vector<FeatureDef> lists = {{"n", FeatureType::kInt64}, {"l", ListOf(FeatureType::kFloat64), 100}};
  EXPECT_EQ(LabelsPerPass(lists, 10'000'000), (size_t{1} << 30) / 800);
  EXPECT_EQ(LabelsPerPass(lists, 0), (size_t{1} << 30) / 800);
  EXPECT_EQ(LabelsPerPass(lists, 5'000), 5'000u);
  const std::vector<FeatureDef> strings = {{"s", ListOf(FeatureType::kString), 1000}};
  EXPECT_EQ(LabelsPerPass(strings, 10'000'000), 33'554u);
}

TEST_F(WorkflowTest, ResolvesServicesWildcardsAndFullNames) {
  auto refs = UNWRAP(ResolveFeatures(*store_, {{"users:*"}, "", false}));
  EXPECT_EQ(Refs(refs), (std::vector<std::string>{"users:n=n", "users:country=country"}));
  refs = UNWRAP(ResolveFeatures(*store_, {{"items:n"}, "model", true}));
  EXPECT_EQ(Refs(refs), (std::vector<std::string>{"users:n=users__n", "pairs:score=pairs__score", "items:n=items__n"}));
  auto groups = GroupByView(refs);
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(groups[1].view, "pairs");
  EXPECT_EQ(groups[1].positions, (std::vector<size_t>{1}));
}

// The cache a server keeps answers again after any commit: a feature added since is resolved.
TEST_F(WorkflowTest, FeatureRefCacheFollowsTheDefinitions) {
  FeatureRefCache cache(4);
  auto first = UNWRAP(cache.Resolve(*store_, {{"items:*"}, "", false}));
  EXPECT_EQ(Refs(*first), (std::vector<std::string>{"items:n=n"}));
  EXPECT_EQ(UNWRAP(cache.Resolve(*store_, {{"items:*"}, "", false})).get(), first.get());  // held
  ASSERT_OK(store_->DefineView({"items", {"item"}, {{"n", FeatureType::kInt64}, {"m", FeatureType::kInt64}}}));
  auto after = UNWRAP(cache.Resolve(*store_, {{"items:*"}, "", false}));
  EXPECT_EQ(Refs(*after), (std::vector<std::string>{"items:n=n", "items:m=m"}));
  EXPECT_TRUE(cache.Resolve(*store_, {{"items:nope"}, "", false}).status().IsNotFound());
}

TEST_F(WorkflowTest, RefusesWhatItCannotResolve) {
  auto st = ResolveFeatures(*store_, {{"users:n", "items:n"}, "", false}).status();
  EXPECT_TRUE(st.IsInvalidArgument()) << st.ToString();
  EXPECT_NE(st.message().find("full feature names"), std::string::npos) << st.ToString();
  EXPECT_TRUE(ResolveFeatures(*store_, {{"users:n", "users:n"}, "", true}).status().IsInvalidArgument());
  EXPECT_TRUE(ResolveFeatures(*store_, {{"users:nope"}, "", false}).status().IsNotFound());
  EXPECT_TRUE(ResolveFeatures(*store_, {{"nope:n"}, "", false}).status().IsNotFound());
  EXPECT_TRUE(ResolveFeatures(*store_, {{}, "nope", false}).status().IsNotFound());
  EXPECT_TRUE(ResolveFeatures(*store_, {{"users"}, "", false}).status().IsInvalidArgument());
  EXPECT_TRUE(ResolveFeatures(*store_, {{}, "", false}).status().IsInvalidArgument());
}

TEST_F(WorkflowTest, KeysFromText) {
  FeatureViewDef pairs = UNWRAP(store_->GetView("pairs"));
  EXPECT_EQ(UNWRAP(KeyFromText(*store_, pairs, "42,a b")), (EntityKey{int64_t{42}, std::string("a b")}));
  EXPECT_EQ(UNWRAP(KeyFromText(*store_, pairs, "-1,")), (EntityKey{int64_t{-1}, std::string()}));
  EXPECT_TRUE(KeyFromText(*store_, pairs, "42").status().IsInvalidArgument());
  EXPECT_TRUE(KeyFromText(*store_, pairs, "x,a").status().IsInvalidArgument());
}

// Random rows with corrections, late arrivals and nulls in two views; every entity row's answer
// equals Latest (by a clock inside and outside the TTL) and AsOf for the same key.
TEST_F(WorkflowTest, OnlineFeaturesAgreeWithLatestAndAsOf) {
  std::mt19937_64 rng(11);
  const int64_t kUsers = 40;
  const char* kItems[] = {"a", "b", "c"};
  for (int batch = 0; batch < 4; ++batch) {
    WriteBatch users, pairs;
    for (int i = 0; i < 60; ++i) {
      int64_t u = static_cast<int64_t>(rng() % kUsers), t = static_cast<int64_t>(rng() % 5000);
      users.Add({u}, t, {rng() % 5 ? Value::Int64(batch * 100 + i) : Value(), Value::String(std::to_string(t))});
      pairs.Add({u, std::string(kItems[rng() % 3])}, t, {rng() % 4 ? Value::Float64(0.5 * i) : Value()});
    }
    ASSERT_TRUE(store_->Append("users", users).ok());
    ASSERT_TRUE(store_->Append("pairs", pairs).ok());
    if (batch == 1) ASSERT_OK(store_->Compact(CompactOptions{true}));
  }
  auto refs = UNWRAP(ResolveFeatures(*store_, {{"users:country"}, "model", false}));  // users:n, pairs:score, country
  EntityRows rows;
  std::vector<KeyPart> user_ids, item_ids;
  for (int64_t u = 0; u < kUsers + 5; ++u) {  // five unknown users
    user_ids.push_back(u);
    item_ids.push_back(std::string(kItems[u % 3]));
  }
  rows.columns = {{"item_id", item_ids}, {"user_id", user_ids}, {"unused", item_ids}};
  for (Timestamp now : {Timestamp{4500}, Timestamp{5600}, Timestamp{9000}}) {
    OnlineOptions o;
    o.read.now = now;
    OnlineFeatures got = UNWRAP(GetOnlineFeatures(*store_, refs, rows, o));
    ASSERT_EQ(got.rows, user_ids.size());
    ASSERT_EQ(got.features.size(), 3u);
    for (size_t i = 0; i < got.rows; ++i) {
      Lookup u = UNWRAP(store_->Latest("users", {user_ids[i]}, {"n", "country"}, o.read));
      Lookup p = UNWRAP(store_->Latest("pairs", {user_ids[i], item_ids[i]}, {"score"}, o.read));
      auto expect = [&](const OnlineFeatureColumn& c, const Lookup& l, size_t f) {
        ASSERT_EQ(c.statuses[i], l.found ? l.status[f] : ValueStatus::kNotFound) << c.ref.Ref() << " row " << i;
        EXPECT_EQ(c.values[i], l.found ? l.values[f] : Value()) << c.ref.Ref() << " row " << i;
        EXPECT_EQ(c.event_ts[i], l.found ? l.event_ts : 0) << c.ref.Ref() << " row " << i;
      };
      expect(got.features[0], u, 0);
      expect(got.features[1], p, 0);
      expect(got.features[2], u, 1);
    }
  }
  // As of a time and a knowledge horizon.
  OnlineOptions o;
  o.as_of = 2500;
  o.known_at = UNWRAP(store_->Latest("users", {user_ids[0]})).system_ts;
  OnlineFeatures got = UNWRAP(GetOnlineFeatures(*store_, refs, rows, o));
  for (size_t i = 0; i < got.rows; ++i) {
    Lookup u = UNWRAP(store_->AsOf("users", {user_ids[i]}, o.as_of, o.known_at, {"n"}));
    ASSERT_EQ(got.features[0].statuses[i], u.found ? u.status[0] : ValueStatus::kNotFound) << i;
    EXPECT_EQ(got.features[0].values[i], u.found ? u.values[0] : Value()) << i;
  }
}

TEST_F(WorkflowTest, OnlineFeaturesNameWhatIsWrongWithTheRows) {
  auto refs = UNWRAP(ResolveFeatures(*store_, {{}, "model", false}));
  EntityRows rows;
  rows.columns = {{"user_id", {int64_t{1}}}};
  auto st = GetOnlineFeatures(*store_, refs, rows).status();
  EXPECT_TRUE(st.IsInvalidArgument());
  EXPECT_NE(st.message().find("no column 'item_id' (a join key of view 'pairs')"), std::string::npos) << st.ToString();
  rows.columns = {{"user_id", {int64_t{1}, int64_t{2}}}, {"item_id", {std::string("a")}}};
  EXPECT_TRUE(GetOnlineFeatures(*store_, refs, rows).status().IsInvalidArgument());
  rows.columns = {{"user_id", {std::string("1")}}, {"item_id", {std::string("a")}}};
  st = GetOnlineFeatures(*store_, refs, rows).status();
  EXPECT_NE(st.message().find("entity column 'user_id', row 0: expected an integer"), std::string::npos)
      << st.ToString();
}

}  // namespace
}  // namespace pitstore::workflow

namespace pitstore::workflow {
namespace {

using io::ArrayBuilder;
using io::DataType;

// Label tables of user_id (int64), item_id (string), ts (timestamp) and a label column.
std::vector<io::Table> LabelTables(std::mt19937_64& rng, int tables, int rows) {
  std::vector<io::Table> out;
  for (int t = 0; t < tables; ++t) {
    ArrayBuilder user(DataType::kInt64), item(DataType::kString), ts(DataType::kTimestamp), label(DataType::kFloat64);
    for (int r = 0; r < rows; ++r) {
      user.AppendInt(static_cast<int64_t>(rng() % 45));
      item.AppendString(std::string(1, static_cast<char>('a' + rng() % 3)));
      ts.AppendInt(static_cast<int64_t>(rng() % 6000));
      if (r % 4)
        label.AppendDouble(r * 0.5);
      else
        label.AppendNull();
    }
    io::Table tb;
    tb.schema = {{"user_id", DataType::kInt64},
                 {"item_id", DataType::kString},
                 {"ts", DataType::kTimestamp},
                 {"label", DataType::kFloat64}};
    tb.columns = {user.Finish(), item.Finish(), ts.Finish(), label.Finish()};
    tb.rows = rows;
    out.push_back(std::move(tb));
  }
  return out;
}

class TablesTest : public WorkflowTest {
 protected:
  void Fill() {
    std::mt19937_64 rng(5);
    for (int batch = 0; batch < 3; ++batch) {
      WriteBatch users, pairs;
      for (int i = 0; i < 80; ++i) {
        int64_t u = static_cast<int64_t>(rng() % 40), t = static_cast<int64_t>(rng() % 5000);
        users.Add({u}, t, {rng() % 5 ? Value::Int64(batch * 100 + i) : Value(), Value::String(std::to_string(t))});
        pairs.Add({u, std::string(1, static_cast<char>('a' + rng() % 3))}, t,
                  {rng() % 4 ? Value::Float64(0.25 * i) : Value()});
      }
      ASSERT_TRUE(store_->Append("users", users).ok());
      ASSERT_TRUE(store_->Append("pairs", pairs).ok());
      if (batch == 0) ASSERT_OK(store_->Compact(CompactOptions{true}));
    }
  }
};

// Every label of every table, in chunks of 7 or all at once: label columns kept as they were
// (the same buffers), each feature equal to AsOf(key, t) of its view.
TEST_F(TablesTest, JoinTablesAgreesWithAsOfForEveryLabel) {
  Fill();
  std::mt19937_64 rng(9);
  std::vector<io::Table> tables = LabelTables(rng, 3, 50);
  for (size_t chunk : {size_t{7}, size_t{0}}) {
    auto joiner = UNWRAP(
        TrainingSetJoiner::Open(*store_, {{"users:n", "pairs:score", "users:country"}, "", false}, JoinOptions()));
    JoinTablesOptions o;
    o.label_time_column = "ts";
    o.chunk_labels = chunk;
    JoinTablesReport report;
    auto joined = UNWRAP(JoinTables(std::move(joiner), io::ReaderOfTables(tables[0].schema, tables), o, &report));
    ASSERT_EQ(joined->schema().size(), 7u);
    EXPECT_EQ(joined->schema()[4].name, "n");
    EXPECT_EQ(joined->schema()[5].type, DataType::kFloat64);
    io::Table t;
    for (const io::Table& want : tables) {
      ASSERT_TRUE(UNWRAP(joined->Next(&t)));
      ASSERT_EQ(t.rows, want.rows);
      for (int c = 0; c < 4; ++c) EXPECT_EQ(t.columns[c].values->data(), want.columns[c].values->data());
      Column n = UNWRAP(io::ColumnFromArray(t.columns[4], FeatureType::kInt64, 0, "n"));
      Column score = UNWRAP(io::ColumnFromArray(t.columns[5], FeatureType::kFloat64, 0, "score"));
      Column country = UNWRAP(io::ColumnFromArray(t.columns[6], FeatureType::kString, 0, "country"));
      for (int64_t i = 0; i < t.rows; ++i) {
        int64_t user = want.columns[0].ValueAt<int64_t>(i), ts = want.columns[2].ValueAt<int64_t>(i);
        std::string item(want.columns[1].StringAt(i));
        Lookup u = UNWRAP(store_->AsOf("users", {user}, ts, kMaxTimestamp, {"n", "country"}));
        Lookup p = UNWRAP(store_->AsOf("pairs", {user, item}, ts, kMaxTimestamp, {"score"}));
        const size_t r = static_cast<size_t>(i);
        EXPECT_EQ(n.Get(r), u.found ? u.values[0] : Value()) << "label " << i << " chunk " << chunk;
        EXPECT_EQ(country.Get(r), u.found ? u.values[1] : Value()) << "label " << i;
        EXPECT_EQ(score.Get(r), p.found ? p.values[0] : Value()) << "label " << i;
      }
    }
    EXPECT_FALSE(UNWRAP(joined->Next(&t)));
    EXPECT_EQ(report.labels, 150u);
    EXPECT_EQ(report.chunks, chunk == 7 ? 3u : 1u);  // tables are not cut: each chunk holds whole tables
  }
}

TEST_F(TablesTest, JoinTablesRefusesMissingColumnsAndClashes) {
  std::mt19937_64 rng(1);
  std::vector<io::Table> tables = LabelTables(rng, 1, 3);
  auto open = [&](FeatureRequest r, const std::string& time) {
    JoinTablesOptions o;
    o.label_time_column = time;
    return JoinTables(UNWRAP(TrainingSetJoiner::Open(*store_, r, JoinOptions())),
                      io::ReaderOfTables(tables[0].schema, tables), o)
        .status();
  };
  Status st = open({{"users:n"}, "", false}, "event_ts");
  EXPECT_NE(st.message().find("the labels have no column 'event_ts' (the label time"), std::string::npos)
      << st.ToString();
  tables[0].schema[3].name = "n";  // a label column named like a feature
  st = open({{"users:n"}, "", false}, "ts");
  EXPECT_TRUE(st.IsInvalidArgument());
  EXPECT_NE(st.message().find("output column 'n' (from users:n) would appear twice"), std::string::npos)
      << st.ToString();
  EXPECT_TRUE(open({{"users:n"}, "", true}, "ts").ok());  // users__n
  tables[0].schema[0].name = "uid";
  st = open({{"users:country"}, "", false}, "ts");
  EXPECT_NE(st.message().find("the labels have no column 'user_id' (a join key of a requested view)"),
            std::string::npos)
      << st.ToString();
}

// Tables ingest like rows: the same stored versions as a WriteBatch of the same values, nulls
// and a created-time column included; a bad value names the row over all tables.
TEST_F(TablesTest, IngestTablesStoresWhatRowsWouldAndNamesBadRows) {
  std::vector<io::Table> tables;
  WriteBatch expected;
  for (int t = 0; t < 3; ++t) {
    ArrayBuilder user(DataType::kInt32), ev(DataType::kTimestamp), created(DataType::kTimestamp), n(DataType::kInt64),
        country(DataType::kString);
    for (int r = 0; r < 10; ++r) {
      int64_t u = (t * 10 + r) % 7, e = 1000 + t * 10 + r;
      user.AppendInt(u);
      ev.AppendInt(e);
      if (r % 3)
        created.AppendInt(e + 5);
      else
        created.AppendNull();
      if (r % 2)
        n.AppendInt(r);
      else
        n.AppendNull();
      country.AppendString("c" + std::to_string(r));
      expected.Add({u}, e, {r % 2 ? Value::Int64(r) : Value(), Value::String("c" + std::to_string(r))},
                   r % 3 ? e + 5 : kCommitTime);
    }
    io::Table tb;
    tb.schema = {{"user_id", DataType::kInt32},
                 {"event_ts", DataType::kTimestamp},
                 {"created", DataType::kTimestamp},
                 {"n", DataType::kInt64},
                 {"country", DataType::kString}};
    tb.columns = {user.Finish(), ev.Finish(), created.Finish(), n.Finish(), country.Finish()};
    tb.rows = 10;
    tables.push_back(std::move(tb));
  }
  ASSERT_OK(store_->DefineView({"users2", {"user"}, {{"n", FeatureType::kInt64}, {"country", FeatureType::kString}}}));
  IngestOptions o;
  o.batch_rows = 4;  // batches cut across tables
  o.created_ts_column = "created";
  IngestReport report;
  auto reader = io::ReaderOfTables(tables[0].schema, tables);
  ASSERT_OK(IngestTables(*store_, "users", *reader, "tables", o, &report));
  EXPECT_EQ(report.records_committed, 30u);
  EXPECT_EQ(report.batches_committed, 8u);
  ASSERT_TRUE(store_->Append("users2", expected).ok());
  for (int64_t u = 0; u < 7; ++u) {
    auto a = UNWRAP(store_->History("users", {u}));
    auto b = UNWRAP(store_->History("users2", {u}));
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].values, b[i].values);
      EXPECT_EQ(a[i].event_ts, b[i].event_ts);
      if (a[i].event_ts % 10 % 3) {
        EXPECT_EQ(a[i].system_ts, b[i].system_ts);  // supplied, not commit times
      }
    }
  }
  // A string where n (int64) belongs, in the second table: nothing of its batch commits.
  ArrayBuilder bad(DataType::kString);
  for (int r = 0; r < 10; ++r) bad.AppendString("x");
  tables[1].columns[3] = bad.Finish();
  tables[1].schema[3].type = DataType::kString;
  auto again = io::ReaderOfTables(tables[0].schema, tables);
  Status st = IngestTables(*store_, "users", *again, "tables", o, &report);
  EXPECT_TRUE(st.IsInvalidArgument());
  EXPECT_NE(st.message().find("tables: column 'n' (feature 'n', int64): string values cannot be read as int64"),
            std::string::npos)
      << st.ToString();
  EXPECT_NE(st.message().find("8 record(s) in 2 batch(es) committed before this batch"), std::string::npos)
      << st.ToString();
}

// Every format dump writes ingests back to the same rows: every type, nulls beside empty
// strings and empty bytes, NaN and infinities (scalars and vector elements), -0, extreme
// integers and times, text that needs quoting, composite keys with an empty string part,
// corrections and supplied system times; a view whose time columns have their own names.
TEST(ExportRoundTrip, EveryFormatIngestsBackToTheSameRows) {
  const float inf = std::numeric_limits<float>::infinity();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  auto define = [](Store& store, bool named_times) {
    ASSERT_OK(store.DefineEntity(pitstore::testing::IntEntity("user", "user_id")));
    ASSERT_OK(store.DefineEntity(EntityDef{"item", {{"item_id", KeyType::kString}}, ""}));
    FeatureViewDef v;
    v.name = "all";
    v.entities = {"user", "item"};
    v.features = {
        {"b", FeatureType::kBool},      {"i32", FeatureType::kInt32},    {"i64", FeatureType::kInt64},
        {"f32", FeatureType::kFloat32}, {"f64", FeatureType::kFloat64},  {"s", FeatureType::kString},
        {"raw", FeatureType::kBytes},   {"ts", FeatureType::kTimestamp}, {"emb", FeatureType::kFloat32Vector, 3}};
    if (named_times) {
      v.event_ts_column = "event_timestamp";
      v.created_ts_column = "created";
    }
    ASSERT_OK(store.DefineView(v));
  };
  std::vector<std::vector<Value>> values = {
      {Value::Bool(true), Value::Int32(INT32_MIN), Value::Int64(INT64_MAX), Value::Float32(1.5f), Value::Float64(-0.0),
       Value::String(""), Value::Bytes(std::string("\0\xff", 2)), Value::Time(-1), Value::Vector({1.0f, -2.5f, inf})},
      {Value::Null(), Value::Null(), Value::Null(), Value::Null(), Value::Null(), Value::Null(), Value::Null(),
       Value::Null(), Value::Null()},
      {Value::Bool(false), Value::Int32(INT32_MAX), Value::Int64(INT64_MIN), Value::Float32(-3.25e-20f),
       Value::Float64(nan), Value::String("h\xc3\xa9llo, \"world\"\n\r\tnull"), Value::Bytes(""),
       Value::Time(1'767'225'600'123'456), Value::Vector({std::nanf(""), -inf, 1e-45f})},
      {Value::Bool(true), Value::Int32(0), Value::Int64(-1), Value::Float32(inf), Value::Float64(-HUGE_VAL),
       Value::String("null"), Value::Bytes("0x"), Value::Time(253402300799999999), Value::Vector({0.1f, 0.2f, 0.3f})},
      {Value::Null(), Value::Int32(7), Value::Null(), Value::Float32(-0.0f), Value::Float64(1e-300),
       Value::String(" lead and trail "), Value::Null(), Value::Time(0), Value::Vector({-0.0f, 3.4028235e38f, 1.0f})},
  };
  std::vector<EntityKey> keys = {{int64_t{1}, std::string("")},
                                 {int64_t{-7}, std::string("a,b")},
                                 {INT64_MAX, std::string("quote\"d\nline")},
                                 {int64_t{1}, std::string("")},  // a correction of the first row
                                 {INT64_MIN, std::string("caf\xc3\xa9")}};
  for (bool named_times : {false, true}) {
    TempDir dir;
    auto source = UNWRAP(Store::Open(dir.path("source.pit")));
    define(*source, named_times);
    WriteBatch batch;
    for (size_t i = 0; i < keys.size(); ++i)
      batch.Add(keys[i], 1'740'787'200'000'000 + (i == 3 ? 0 : int64_t(i)), values[i],
                i % 2 ? int64_t{1'740'787'300'000'000} + int64_t(i) : kCommitTime);
    ASSERT_TRUE(source->Append("all", batch).ok());
    auto rows_of = [](Store& store) {
      std::vector<std::pair<EntityKey, VersionedRow>> rows;
      Status scanned = store.Scan("all", [&](const EntityKey& k, const VersionedRow& r) {
        rows.emplace_back(k, r);
        return true;
      });
      EXPECT_TRUE(scanned.ok()) << scanned.ToString();
      return rows;
    };
    const auto want = rows_of(*source);
    ASSERT_EQ(want.size(), keys.size());
    for (ExportFormat format : {ExportFormat::kParquet, ExportFormat::kCsv, ExportFormat::kJsonLines}) {
      const std::string name = format == ExportFormat::kParquet ? "rows.parquet"
                               : format == ExportFormat::kCsv   ? "rows.csv"
                                                                : "rows.jsonl";
      const std::string what = name + (named_times ? " (named time columns)" : "");
      ViewExportOptions eo;
      eo.format = format;
      FILE* f = std::fopen(dir.path(name).c_str(), "wb");
      ASSERT_NE(f, nullptr);
      ASSERT_OK(ExportView(*source, "all", eo, f));
      std::fclose(f);
      auto copy = UNWRAP(Store::Open(dir.path("copy-" + name + ".pit")));
      define(*copy, named_times);
      IngestOptions io;
      IngestReport report;
      if (format == ExportFormat::kParquet) {
        auto tables = UNWRAP(io::OpenParquetTables(dir.path(name)));
        Status st = IngestTables(*copy, "all", *tables, name, io, &report);
        ASSERT_TRUE(st.ok()) << what << ": " << st.ToString();
      } else {
        auto records = UNWRAP(io::OpenRecordSource(
            dir.path(name), format == ExportFormat::kCsv ? io::SourceFormat::kCsv : io::SourceFormat::kJsonLines));
        Status st = Ingest(*copy, "all", *records, io, &report);
        ASSERT_TRUE(st.ok()) << what << ": " << st.ToString();
      }
      EXPECT_TRUE(report.ignored_columns.empty() && report.features_without_column.empty()) << what;
      const auto got = rows_of(*copy);
      ASSERT_EQ(got.size(), want.size()) << what;
      for (size_t i = 0; i < got.size(); ++i) {
        EXPECT_EQ(got[i].first, want[i].first) << what << " row " << i;
        EXPECT_EQ(got[i].second.event_ts, want[i].second.event_ts) << what << " row " << i;
        EXPECT_EQ(got[i].second.system_ts, want[i].second.system_ts) << what << " row " << i;
        ASSERT_EQ(got[i].second.values.size(), want[i].second.values.size());
        for (size_t c = 0; c < got[i].second.values.size(); ++c)
          EXPECT_EQ(got[i].second.values[c], want[i].second.values[c])
              << what << " row " << i << " col " << c << ": " << got[i].second.values[c].ToString() << " vs "
              << want[i].second.values[c].ToString();
      }
    }
  }
}

}  // namespace
}  // namespace pitstore::workflow
