// Sharded stores (workflow/sharded_store.h): the shard rule reproduces Spark's xxhash64 (values
// computed by Spark 4.3's `xxhash64` and `pmod`), a ShardedStore answers every read as the one
// store holding the same rows does, and a malformed, truncated or altered manifest or shard is
// refused naming what is wrong. python/tests/test_spark.py checks the rule against a running
// Spark on random keys.
#include "pitstore/workflow/sharded_store.h"

#include <unistd.h>

#include <fstream>
#include <random>

#include "pitstore/workflow/feature_refs.h"
#include "pitstore/workflow/sharded_joiner.h"
#include "test_util.h"

namespace pitstore::workflow {
namespace {
using pitstore::testing::TempDir;

// SELECT xxhash64(i), xxhash64(s), xxhash64(i, s), pmod(xxhash64(i), 7) on Spark 4.3.0.
TEST(ShardRule, IsSparksXxhash64) {
  struct Case {
    int64_t i;
    std::string s;
    int64_t hi, hs, his, pmod7;
  };
  const Case cases[] = {
      {0, "", -5252525462095825812, -7444071767201028348, -5904888402568203703, 4},
      {1, "a", -7001672635703045582, -8582455328737087284, -8527884376001292090, 5},
      {-1, "user-42", 3858142552250413010, -7161311977867824759, -2204602445097677598, 3},
      {42, "h\xc3\xa9llo w\xc3\xb6rld", -6876166290308861218, 7620070002295215535, -4162287719728833482, 6},
      {INT64_MAX, std::string(40, 'x'), -3246596055638297850, -5348608777870439244, 4242756329094894110, 2},
      {INT64_MIN, "0123456789abcdef0123456789abcdef0", -8619748838626508300, 4376120815443553572, -817173916174414182,
       3},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(SparkXxHash64({c.i}), c.hi) << c.i;
    EXPECT_EQ(SparkXxHash64({c.s}), c.hs) << c.s;
    EXPECT_EQ(SparkXxHash64({c.i, c.s}), c.his) << c.i << " " << c.s;
    EXPECT_EQ(ShardOfKey({c.i}, 7), static_cast<uint32_t>(c.pmod7)) << c.i;
  }
  for (uint32_t n : {1u, 2u, 3u, 64u, 1000u})
    for (int64_t k = -500; k < 500; ++k) ASSERT_LT(ShardOfKey({k}, n), n);
}

class ShardedStoreTest : public ::testing::Test {
 protected:
  static constexpr uint32_t kShards = 3;

  static void Define(Store& s) {
    ASSERT_OK(s.DefineEntity(pitstore::testing::IntEntity("user", "user_id")));
    ASSERT_OK(s.DefineEntity(EntityDef{"item", {{"item_id", KeyType::kString}}, ""}));
    ASSERT_OK(s.DefineView({"users", {"user"}, {{"n", FeatureType::kInt64}, {"country", FeatureType::kString}}, 1000}));
    ASSERT_OK(s.DefineView({"pairs", {"user", "item"}, {{"score", FeatureType::kFloat64}}}));
  }

  // The same random rows (corrections, late rows, nulls) in one store and in kShards shards,
  // each row in the shard of its user_id; then a manifest naming the shards.
  void SetUp() override {
    single_ = UNWRAP(Store::Open(dir_.path("single.pit")));
    Define(*single_);
    std::vector<std::unique_ptr<Store>> shards;
    for (uint32_t s = 0; s < kShards; ++s) {
      shards.push_back(UNWRAP(Store::Open(dir_.path("shard" + std::to_string(s) + ".pit"))));
      Define(*shards.back());
    }
    std::mt19937_64 rng(5);
    const char* kItems[] = {"a", "b", "c"};
    Timestamp system = 100000;
    for (int batch = 0; batch < 5; ++batch) {
      WriteBatch users, pairs;
      std::vector<WriteBatch> shard_users(kShards), shard_pairs(kShards);
      for (int i = 0; i < 200; ++i) {
        int64_t u = static_cast<int64_t>(rng() % 60) - 30, t = static_cast<int64_t>(rng() % 5000);
        std::string item = kItems[rng() % 3];
        uint32_t s = ShardOfKey({u}, kShards);
        std::vector<Value> uv = {rng() % 5 ? Value::Int64(batch * 1000 + i) : Value(), Value::String(item)};
        std::vector<Value> pv = {rng() % 4 ? Value::Float64(0.5 * i) : Value()};
        ++system;
        users.Add({u}, t, uv, system);
        shard_users[s].Add({u}, t, uv, system);
        pairs.Add({u, item}, t, pv, system);
        shard_pairs[s].Add({u, item}, t, pv, system);
      }
      ASSERT_OK(single_->Append("users", users).status());
      ASSERT_OK(single_->Append("pairs", pairs).status());
      for (uint32_t s = 0; s < kShards; ++s) {
        if (!shard_users[s].empty()) ASSERT_OK(shards[s]->Append("users", shard_users[s]).status());
        if (!shard_pairs[s].empty()) ASSERT_OK(shards[s]->Append("pairs", shard_pairs[s]).status());
      }
    }
    shards.clear();  // closed: the manifest records their final bytes
    std::string manifest = R"({"format": "pitstore-shards", "version": 1, "hash": "spark-xxhash64-pmod",
      "generation": 1, "build": "0123456789ab", "shard_keys": ["user_id"], "shards": [)";
    for (uint32_t s = 0; s < kShards; ++s) {
      std::string file = dir_.path("shard" + std::to_string(s) + ".pit");
      std::ifstream in(file, std::ios::binary | std::ios::ate);
      manifest += std::string(s ? "," : "") + R"({"shard": )" + std::to_string(s) + R"(, "path": "shard)" +
                  std::to_string(s) + R"(.pit", "rows": 1, "bytes": )" + std::to_string(in.tellg()) +
                  R"(, "checksum": ")" + UNWRAP(FileChecksum(file)) +
                  R"(", "min_event_ts": -5, "max_event_ts": 4999, "min_system_ts": 100001, "max_system_ts": 101000})";
    }
    manifest_ = manifest + "]}";
    WriteFile("MANIFEST", manifest_);
  }

  void WriteFile(const std::string& name, const std::string& text) {
    std::ofstream(dir_.path(name), std::ios::binary | std::ios::trunc) << text;
  }

  TempDir dir_;
  std::unique_ptr<Store> single_;
  std::string manifest_;
};

TEST_F(ShardedStoreTest, AnswersAsTheOneStoreHoldingTheSameRows) {
  auto sharded = UNWRAP(ShardedStore::Open(dir_.path(""), ShardedOptions{true, true}));
  ASSERT_EQ(sharded->shard_count(), kShards);
  for (uint32_t s = 0; s < kShards; ++s) EXPECT_GT(UNWRAP(sharded->shard(s).Stats()).views.at(0).rows, 0u) << s;
  auto refs = UNWRAP(ResolveFeatures(sharded->any(), {{"users:*", "pairs:score"}, "", false}));
  EntityRows rows;
  std::vector<KeyPart> users, items;
  for (int64_t u = -35; u < 35; ++u) {  // ten unknown users among them
    users.push_back(u);
    items.push_back(std::string(1, static_cast<char>('a' + (u + 35) % 3)));
  }
  rows.columns = {{"user_id", users}, {"item_id", items}};
  for (Timestamp as_of : {kMaxTimestamp, Timestamp{2500}}) {
    OnlineOptions o;
    o.as_of = as_of;
    o.known_at = as_of == kMaxTimestamp ? kMaxTimestamp : 100500;
    o.read.now = 5600;
    OnlineFeatures got = UNWRAP(sharded->GetOnlineFeatures(refs, rows, o));
    OnlineFeatures want = UNWRAP(GetOnlineFeatures(*single_, refs, rows, o));
    ASSERT_EQ(got.rows, want.rows);
    for (size_t f = 0; f < refs.size(); ++f) {
      EXPECT_EQ(got.features[f].values, want.features[f].values) << refs[f].Ref();
      EXPECT_EQ(got.features[f].statuses, want.features[f].statuses) << refs[f].Ref();
      EXPECT_EQ(got.features[f].event_ts, want.features[f].event_ts) << refs[f].Ref();
    }
  }
  for (const KeyPart& u : users) {
    ReadOptions r;
    r.now = 5600;
    Lookup a = UNWRAP(sharded->Latest("users", {u}, r)), b = UNWRAP(single_->Latest("users", {u}, {}, r));
    EXPECT_EQ(a.found, b.found);
    EXPECT_EQ(a.values, b.values);
    a = UNWRAP(sharded->AsOf("pairs", {u, std::string("b")}, 3000, kMaxTimestamp));
    b = UNWRAP(single_->AsOf("pairs", {u, std::string("b")}, 3000));
    EXPECT_EQ(a.values, b.values);
    EXPECT_EQ(a.event_ts, b.event_ts);
  }
  EXPECT_EQ(UNWRAP(sharded->ShardOf("users", {int64_t{7}})), ShardOfKey({int64_t{7}}, kShards));
  EXPECT_EQ(UNWRAP(sharded->ShardOf("pairs", {int64_t{7}, std::string("a")})), ShardOfKey({int64_t{7}}, kShards));
  Status wrong = sharded->ShardOf("users", {int64_t{7}, int64_t{8}}).status();
  EXPECT_NE(wrong.message().find("has 1 join keys"), std::string::npos) << wrong.message();
}

TEST_F(ShardedStoreTest, JoinsAsTheOneStoreHoldingTheSameRows) {
  auto sharded = UNWRAP(ShardedStore::Open(dir_.path("")));
  std::mt19937_64 rng(11);
  // Labels: known and unknown users, every item, duplicates, a null label; in no order.
  Column users = Column::Of(FeatureType::kInt64), items = Column::Of(FeatureType::kString);
  std::vector<Timestamp> times;
  std::vector<uint8_t> nulls;
  for (int i = 0; i < 500; ++i) {
    users.Append(Value::Int64(static_cast<int64_t>(rng() % 70) - 35));
    items.Append(Value::String(std::string(1, static_cast<char>('a' + rng() % 3))));
    times.push_back(static_cast<Timestamp>(rng() % 6000) - 500);
    nulls.push_back(i % 97 == 5);
  }
  for (int i = 0; i < 20; ++i) {  // duplicates of earlier labels
    users.AppendFrom(users, i);
    items.AppendFrom(items, i);
    times.push_back(times[i]);
    nulls.push_back(nulls[i]);
  }
  for (KnownAt mode : {KnownAt::kNow, KnownAt::kFixed, KnownAt::kLabelTime}) {
    JoinOptions join;
    join.known_at = mode;
    join.fixed_known_at = 100500;
    FeatureRequest request{{"users:*", "pairs:score"}, "", true};
    auto many = UNWRAP(ShardedJoiner::Open(*sharded, request, join));
    auto one = UNWRAP(TrainingSetJoiner::Open(*single_, request, join));
    ASSERT_EQ(many->key_columns().size(), 2u);
    std::vector<Column> keys = {many->key_columns()[0].name == "user_id" ? users : items,
                                many->key_columns()[0].name == "user_id" ? items : users};
    std::vector<Column> got = UNWRAP(many->Join(keys, times, &nulls));
    std::vector<Column> want = UNWRAP(one->Join(keys, times, &nulls));
    ASSERT_EQ(got.size(), want.size());
    size_t present = 0;
    for (size_t f = 0; f < want.size(); ++f) {
      ASSERT_EQ(got[f].size(), times.size());
      for (size_t i = 0; i < times.size(); ++i) {
        EXPECT_EQ(got[f].Get(i), want[f].Get(i)) << many->features()[f].Ref() << " label " << i;
        present += !want[f].is_null(i);
      }
    }
    if (mode != KnownAt::kLabelTime) {
      EXPECT_GT(present, 300u);  // the comparison saw values
    }
  }
}

TEST_F(ShardedStoreTest, RefusesWhatIsMalformedTruncatedOrAltered) {
  auto refused = [&](const std::string& text) {
    WriteFile("bad.json", text);
    Status st = ShardedStore::Open(dir_.path("bad.json")).status();
    EXPECT_FALSE(st.ok()) << text;
    return st.message();
  };
  auto replace = [&](const std::string& from, const std::string& to) {
    std::string t = manifest_;
    t.replace(t.find(from), from.size(), to);
    return t;
  };
  EXPECT_NE(refused("{").find("not a JSON object"), std::string::npos);
  EXPECT_NE(refused(replace("\"shard\": 1", "\"shard\": 2")).find("shards[1].'shard' is 2, expected 1"),
            std::string::npos);
  EXPECT_NE(refused(replace("shard2.pit", "../shard2.pit")).find("shards[2].'path' must be relative"),
            std::string::npos);
  EXPECT_NE(refused(replace("spark-xxhash64-pmod", "murmur3")).find("shard hash 'murmur3'"), std::string::npos);
  EXPECT_NE(refused(replace("\"rows\": 1", "\"rows\": -1")).find("shards[0].'rows' must be a non-negative"),
            std::string::npos);
  EXPECT_NE(refused(replace("\"shard_keys\": [\"user_id\"]", "\"shard_keys\": []")).find("shard_keys"),
            std::string::npos);
  EXPECT_EQ(ShardedStore::Open(dir_.path("none")).status().code(), Status::Code::kNotFound);

  // A shard altered after the manifest was written: caught by the checksum when asked to.
  {
    std::fstream f(dir_.path("shard1.pit"), std::ios::in | std::ios::out | std::ios::binary | std::ios::ate);
    f << "appended";
  }
  EXPECT_TRUE(ShardedStore::Open(dir_.path("")).ok());  // longer is not shorter: a cheap open passes
  Status st = ShardedStore::Open(dir_.path(""), ShardedOptions{true, true}).status();
  EXPECT_EQ(st.code(), Status::Code::kCorruption);
  EXPECT_NE(st.message().find("shard 1 has checksum"), std::string::npos) << st.message();
  // Truncated: refused on every open.
  ASSERT_EQ(::truncate(dir_.path("shard2.pit").c_str(), 100), 0);
  st = ShardedStore::Open(dir_.path("")).status();
  EXPECT_EQ(st.code(), Status::Code::kCorruption);
  EXPECT_NE(st.message().find("(truncated)"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace pitstore::workflow
