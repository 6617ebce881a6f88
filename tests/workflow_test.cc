// The workflow library's request handling: feature references and services resolved in one
// place, keys typed in by people, and online lookups across views checked against Store::Latest
// and Store::AsOf for every entity row.
#include <random>

#include "pitstore/workflow/entity_keys.h"
#include "pitstore/workflow/feature_refs.h"
#include "pitstore/workflow/online_features.h"
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
    ASSERT_OK(store_->DefineView(
        {"users", {"user"}, {{"n", FeatureType::kInt64}, {"country", FeatureType::kString}}, 1000}));
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
