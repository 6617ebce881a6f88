// Windowed aggregations against a brute-force model: random events with corrections, late
// arrivals and equal times, merges and reopens between reads; every function over windows
// whose edges fall exactly on events (w, w - 1, w + 1), at several knowledge horizons, by the
// online read and by the join in both plans and all three known-at modes.
#include <cmath>
#include <map>
#include <random>
#include <set>

#include "pitstore.h"
#include "test_util.h"

namespace pitstore {
namespace {
using testing::TempDir;

struct Event {
  int64_t event_ts, system_ts;
  uint64_t order;
  Value a, x, s;  // int64, float64, string; each may be null
};

// The aggregate of one column by the semantics in aggregation.h, computed the obvious way.
Value ModelAggregate(const std::vector<Event>& rows, Timestamp t, int64_t w, Timestamp known, const std::string& column,
                     AggregateFunction f, uint32_t k = 0) {
  // Each event time's winning version at `known`, inside (t - w, t].
  std::map<int64_t, const Event*> winners;
  for (const Event& e : rows) {
    if (e.event_ts > t || static_cast<__int128>(e.event_ts) <= static_cast<__int128>(t) - w || e.system_ts > known)
      continue;
    const Event*& best = winners[e.event_ts];
    if (!best || std::tie(e.system_ts, e.order) > std::tie(best->system_ts, best->order)) best = &e;
  }
  std::vector<Value> values;  // non-null, in event order
  for (const auto& [ts, e] : winners) {
    const Value& v = column == "a" ? e->a : column == "x" ? e->x : e->s;
    if (!v.is_null()) values.push_back(v);
  }
  const int64_t n = static_cast<int64_t>(values.size());
  auto num = [](const Value& v) { return v.type() == FeatureType::kFloat64 ? v.as_float64() : double(v.as_int64()); };
  switch (f) {
    case AggregateFunction::kCount:
      return Value::Int64(n);
    case AggregateFunction::kCountDistinct: {
      std::set<std::string> seen;
      for (const Value& v : values) seen.insert(v.ToString());
      return Value::Int64(static_cast<int64_t>(seen.size()));
    }
    case AggregateFunction::kSum: {
      if (n == 0) return Value();
      if (column == "a") {
        int64_t s = 0;
        for (const Value& v : values) s += v.as_int64();
        return Value::Int64(s);
      }
      double s = 0;
      for (const Value& v : values) s += v.as_float64();
      return Value::Float64(s);
    }
    case AggregateFunction::kMean: {
      if (n == 0) return Value();
      double s = 0;
      for (const Value& v : values) s += num(v);
      return Value::Float64(s / double(n));
    }
    case AggregateFunction::kStddev: {
      if (n < 2) return Value();
      double mean = 0;
      for (const Value& v : values) mean += num(v);
      mean /= double(n);
      double ss = 0;
      for (const Value& v : values) ss += (num(v) - mean) * (num(v) - mean);
      return Value::Float64(std::sqrt(ss / double(n - 1)));
    }
    case AggregateFunction::kMin:
    case AggregateFunction::kMax: {
      if (n == 0) return Value();
      Value best = values[0];
      for (const Value& v : values) {
        bool less = column == "s" ? v.as_string() < best.as_string() : num(v) < num(best);
        bool greater = column == "s" ? best.as_string() < v.as_string() : num(best) < num(v);
        if (f == AggregateFunction::kMin ? less : greater) best = v;
      }
      return best;
    }
    case AggregateFunction::kLast:
      return n == 0 ? Value() : values.back();
    case AggregateFunction::kLastK: {
      if (n == 0) return Value();
      std::vector<Value> newest(values.rbegin(), values.rbegin() + std::min<int64_t>(n, k));
      return Value::List(values[0].type(), std::move(newest));
    }
  }
  return Value();
}

// Equal, or both float64 within a relative 1e-9 (sums in another order, two-pass stddev).
bool Close(const Value& got, const Value& want) {
  if (got == want) return true;
  if (got.is_null() || want.is_null() || got.type() != FeatureType::kFloat64 || want.type() != FeatureType::kFloat64)
    return false;
  return std::fabs(got.as_float64() - want.as_float64()) <= 1e-9 * std::max(1.0, std::fabs(want.as_float64()));
}

class AggregationProperty : public ::testing::TestWithParam<uint64_t> {
 protected:
  void Open() {
    store_.reset();
    Options o;
    o.auto_flush_row_blocks = 3;
    o.segment_max_rows = 32;
    o.segment_page_rows = 1 + rng_() % 6;
    store_ = UNWRAP(Store::Open(dir_.path("w.pit"), o));
  }

  Value Maybe(Value v) { return rng_() % 5 == 0 ? Value() : std::move(v); }

  void AppendRandom() {
    WriteBatch batch;
    std::vector<std::pair<int64_t, Event>> pending;
    for (size_t i = 0, n = 1 + rng_() % 12; i < n; ++i) {
      const int64_t key = static_cast<int64_t>(rng_() % 5);
      Event e;
      e.event_ts = static_cast<int64_t>(rng_() % 200);  // small: corrections, ties, edges on events
      e.system_ts = static_cast<int64_t>(rng_() % 300);
      e.a = Maybe(Value::Int64(static_cast<int64_t>(rng_() % 41) - 20));
      e.x = Maybe(Value::Float64(static_cast<double>(rng_() % 1000) / 8.0 - 60));
      e.s = Maybe(Value::String(std::string(1, static_cast<char>('a' + rng_() % 5))));
      batch.Add({key}, e.event_ts, {e.a, e.x, e.s}, e.system_ts);
      pending.emplace_back(key, e);
    }
    ASSERT_OK(store_->Append("events", batch).status());
    for (auto& [key, e] : pending) {
      e.order = next_order_++;
      model_[key].push_back(e);
    }
  }

  std::vector<WindowAggregate> RandomAggregates() {
    static const AggregateFunction kAll[] = {
        AggregateFunction::kCount, AggregateFunction::kSum,           AggregateFunction::kMean,
        AggregateFunction::kMin,   AggregateFunction::kMax,           AggregateFunction::kStddev,
        AggregateFunction::kLast,  AggregateFunction::kCountDistinct, AggregateFunction::kLastK};
    static const int64_t kWindows[] = {1, 2, 5, 10, 17, 50, 199, 200, 201, int64_t{1} << 62};
    std::vector<WindowAggregate> out;
    for (size_t i = 0, n = 1 + rng_() % 6; i < n; ++i) {
      WindowAggregate a;
      a.function = kAll[rng_() % 9];
      if (a.function == AggregateFunction::kLastK) a.k = 1 + static_cast<uint32_t>(rng_() % 4);
      const bool numeric = a.function == AggregateFunction::kSum || a.function == AggregateFunction::kMean ||
                           a.function == AggregateFunction::kStddev;
      a.column = numeric ? (rng_() % 2 ? "a" : "x") : std::string(1, "axs"[rng_() % 3]);
      a.window_us = kWindows[rng_() % 10];
      a.name = "agg" + std::to_string(i);
      out.push_back(a);
    }
    return out;
  }

  // Label times: on events, one off them, and beyond both ends.
  Timestamp RandomTime() {
    switch (rng_() % 4) {
      case 0:
        return static_cast<int64_t>(rng_() % 230) - 15;
      case 1:
        return kMaxTimestamp - static_cast<int64_t>(rng_() % 2);
      default:
        return static_cast<int64_t>(rng_() % 200);
    }
  }

  void CheckReads() {
    const std::vector<WindowAggregate> aggs = RandomAggregates();
    // Online, against the model.
    for (int q = 0; q < 12; ++q) {
      const int64_t key = static_cast<int64_t>(rng_() % 6);  // key 5 has no events
      const Timestamp t = RandomTime();
      const Timestamp known = rng_() % 3 ? kMaxTimestamp : static_cast<int64_t>(rng_() % 300);
      Lookup got = UNWRAP(store_->AggregateAt("events", {key}, t, known, aggs));
      ASSERT_EQ(got.values.size(), aggs.size());
      for (size_t a = 0; a < aggs.size(); ++a) {
        Value want =
            ModelAggregate(model_[key], t, aggs[a].window_us, known, aggs[a].column, aggs[a].function, aggs[a].k);
        ASSERT_TRUE(Close(got.values[a], want))
            << aggs[a].name << " " << AggregateFunctionName(aggs[a].function) << "(" << aggs[a].column << ") over "
            << aggs[a].window_us << " of key " << key << " at " << t << " known at " << known << ": got "
            << got.values[a].ToString() << ", want " << want.ToString();
        EXPECT_EQ(got.status[a], want.is_null() ? ValueStatus::kNull : ValueStatus::kPresent);
      }
    }
    // The join, each plan and known-at mode: every label equals the online read at its (t, K).
    JoinLabels labels;
    labels.keys.push_back(Column::Of(FeatureType::kInt64));
    for (int i = 0, n = 1 + static_cast<int>(rng_() % 40); i < n; ++i) {
      labels.keys[0].Append(Value::Int64(static_cast<int64_t>(rng_() % 6)));
      labels.times.push_back(RandomTime());
    }
    for (KnownAt mode : {KnownAt::kNow, KnownAt::kFixed, KnownAt::kLabelTime})
      for (JoinPlan plan : {JoinPlan::kScan, JoinPlan::kSeek, JoinPlan::kAuto}) {
        JoinOptions jo;
        jo.known_at = mode;
        jo.fixed_known_at = static_cast<int64_t>(rng_() % 300);
        jo.plan = plan;
        JoinResult r = UNWRAP(store_->AggregateJoin("events", labels, aggs, jo));
        ASSERT_EQ(r.columns.size(), aggs.size());
        for (size_t i = 0; i < labels.times.size(); ++i) {
          const int64_t key = labels.keys[0].ints[i];
          const Timestamp t = labels.times[i];
          const Timestamp known = mode == KnownAt::kNow     ? kMaxTimestamp
                                  : mode == KnownAt::kFixed ? jo.fixed_known_at
                                                            : t;
          Lookup online = UNWRAP(store_->AggregateAt("events", {key}, t, known, aggs));
          EXPECT_EQ(r.status[i], static_cast<uint8_t>(online.found ? ValueStatus::kPresent : ValueStatus::kNotFound));
          for (size_t a = 0; a < aggs.size(); ++a) {
            Value want =
                ModelAggregate(model_[key], t, aggs[a].window_us, known, aggs[a].column, aggs[a].function, aggs[a].k);
            ASSERT_TRUE(Close(r.columns[a].Get(i), want))
                << "join label " << i << " (key " << key << ", t " << t << ", known " << known << ", plan " << int(plan)
                << ") " << aggs[a].name << ": got " << r.columns[a].Get(i).ToString() << ", want " << want.ToString();
            // Online and offline agree to the bit: one implementation.
            ASSERT_EQ(r.columns[a].Get(i), online.values[a]) << "label " << i << " " << aggs[a].name;
          }
        }
      }
  }

  std::mt19937_64 rng_{GetParam()};
  TempDir dir_;
  std::unique_ptr<Store> store_;
  std::map<int64_t, std::vector<Event>> model_;
  uint64_t next_order_ = 0;
};

TEST_P(AggregationProperty, EveryReadPathMatchesTheModel) {
  Open();
  ASSERT_OK(store_->DefineEntity(testing::IntEntity("user", "user_id")));
  ASSERT_OK(store_->DefineView(
      {"events", {"user"}, {{"a", FeatureType::kInt64}, {"x", FeatureType::kFloat64}, {"s", FeatureType::kString}}}));
  for (int step = 0; step < 60; ++step) {
    AppendRandom();
    if (rng_() % 10 == 0) ASSERT_OK(store_->Compact(CompactOptions{rng_() % 2 == 0}));
    if (rng_() % 15 == 0) Open();
    if (step % 4 == 3) CheckReads();
    if (HasFatalFailure()) return;
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, AggregationProperty, ::testing::Range<uint64_t>(1, 9));

TEST(Aggregation, WindowEdgesAreExclusiveBehindAndInclusiveAhead) {
  TempDir dir;
  auto store = testing::NewUserStore(dir.path("e.pit"));
  WriteBatch b;
  b.Add({int64_t{1}}, 100, {Value::Int64(1)}, 1);
  b.Add({int64_t{1}}, 110, {Value::Int64(10)}, 1);
  ASSERT_OK(store->Append("v", b).status());
  auto sum = [&](Timestamp t, int64_t w) {
    return UNWRAP(store->AggregateAt("v", {int64_t{1}}, t, kMaxTimestamp, {{"n", AggregateFunction::kSum, w}}))
        .values[0];
  };
  EXPECT_EQ(sum(110, 10), Value::Int64(10));  // 100 is exactly w before t: out
  EXPECT_EQ(sum(110, 11), Value::Int64(11));  // w + 1 reaches it
  EXPECT_EQ(sum(109, 10), Value::Int64(1));   // 110 is after t: out; 100 in
  EXPECT_EQ(sum(99, 1000), Value());          // nothing yet: null, count 0
  EXPECT_EQ(
      UNWRAP(store->AggregateAt("v", {int64_t{1}}, 99, kMaxTimestamp, {{"n", AggregateFunction::kCount, 5}})).values[0],
      Value::Int64(0));
}

TEST(Aggregation, ACorrectionReplacesItsEventAndKnownAtSeesTheOldValue) {
  TempDir dir;
  auto store = testing::NewUserStore(dir.path("c.pit"));
  WriteBatch first, fix;
  first.Add({int64_t{1}}, 100, {Value::Int64(5)}, 10);
  ASSERT_OK(store->Append("v", first).status());
  fix.Add({int64_t{1}}, 100, {Value::Int64(7)}, 20);
  ASSERT_OK(store->Append("v", fix).status());
  std::vector<WindowAggregate> aggs = {{"n", AggregateFunction::kSum, 50}, {"n", AggregateFunction::kCount, 50}};
  Lookup now = UNWRAP(store->AggregateAt("v", {int64_t{1}}, 120, kMaxTimestamp, aggs));
  EXPECT_EQ(now.values[0], Value::Int64(7));  // not 12: one event, corrected
  EXPECT_EQ(now.values[1], Value::Int64(1));
  Lookup then = UNWRAP(store->AggregateAt("v", {int64_t{1}}, 120, 15, aggs));
  EXPECT_EQ(then.values[0], Value::Int64(5));
  EXPECT_EQ(DefaultAggregateName(aggs[0]), "n_sum_50us");
  EXPECT_EQ(DefaultAggregateName({"n", AggregateFunction::kMean, 3'600'000'000}), "n_mean_1h");
}

TEST(Aggregation, RefusesWhatCannotBeComputed) {
  TempDir dir;
  auto store = UNWRAP(Store::Open(dir.path("r.pit")));
  ASSERT_OK(store->DefineEntity(testing::IntEntity("user", "user_id")));
  ASSERT_OK(store->DefineView({"v", {"user"}, {{"name", FeatureType::kString}, {"n", FeatureType::kInt64}}}));
  auto at = [&](WindowAggregate a) { return store->AggregateAt("v", {int64_t{1}}, 0, kMaxTimestamp, {a}).status(); };
  Status sum_of_text = at({"name", AggregateFunction::kSum, 10});
  EXPECT_TRUE(sum_of_text.IsInvalidArgument()) << sum_of_text.ToString();
  EXPECT_NE(sum_of_text.ToString().find("sum does not apply to string"), std::string::npos) << sum_of_text.ToString();
  EXPECT_TRUE(at({"missing", AggregateFunction::kCount, 10}).IsNotFound());
  EXPECT_TRUE(at({"n", AggregateFunction::kCount, 0}).IsInvalidArgument());
  // An integer sum that leaves int64 is an error, not a wrapped number.
  WriteBatch big;
  big.Add({int64_t{1}}, 1, {Value::String("x"), Value::Int64(INT64_MAX)});
  big.Add({int64_t{1}}, 2, {Value::String("y"), Value::Int64(1)});
  ASSERT_OK(store->Append("v", big).status());
  auto overflow = store->AggregateAt("v", {int64_t{1}}, 5, kMaxTimestamp, {{"n", AggregateFunction::kSum, 10}});
  EXPECT_TRUE(overflow.status().IsInvalidArgument()) << overflow.status().ToString();
  EXPECT_EQ(
      UNWRAP(store->AggregateAt("v", {int64_t{1}}, 5, kMaxTimestamp, {{"n", AggregateFunction::kMean, 10}})).values[0],
      Value::Float64((static_cast<long double>(INT64_MAX) + 1) / 2));
}

// last_k: the k newest non-null values, newest first; fewer when the window holds fewer; null
// for none; k bounded and only with last_k; not over vectors. Its definition survives a reopen.
TEST(Aggregation, LastKKeepsTheNewestValuesNewestFirst) {
  TempDir dir;
  const std::string path = dir.path("k.pit");
  {
    auto store = UNWRAP(Store::Open(path));
    ASSERT_OK(store->DefineEntity(testing::IntEntity("user", "user_id")));
    ASSERT_OK(store->DefineView(
        {"v",
         {"user"},
         {{"n", FeatureType::kInt64}, {"e", FeatureType::kFloat32Vector, 2}, {"s", FeatureType::kString}}}));
    WriteBatch b;
    for (int64_t t = 1; t <= 6; ++t)
      b.Add({int64_t{1}}, t * 10,
            {t == 4 ? Value() : Value::Int64(t), Value::Vector({1, 2}), Value::String(std::string(1, char('a' + t)))});
    ASSERT_OK(store->Append("v", b).status());
    WindowAggregate last3{"n", AggregateFunction::kLastK, 1000, "", 3};
    EXPECT_EQ(DefaultAggregateName(last3), "n_last_3_1ms");
    auto at = [&](Timestamp t, int64_t w) {
      return UNWRAP(
                 store->AggregateAt("v", {int64_t{1}}, t, kMaxTimestamp, {{"n", AggregateFunction::kLastK, w, "", 3}}))
          .values[0];
    };
    auto ints = [](std::vector<int64_t> v) {
      std::vector<Value> out;
      for (int64_t x : v) out.push_back(Value::Int64(x));
      return Value::List(FeatureType::kInt64, out);
    };
    EXPECT_EQ(at(60, 1000), ints({6, 5, 3}));  // the null at 40 is skipped, not a slot
    EXPECT_EQ(at(20, 1000), ints({2, 1}));
    EXPECT_EQ(at(40, 1), Value());  // the window holds only the null
    EXPECT_EQ(at(5, 1000), Value());
    EXPECT_EQ(at(60, 1000).ToString(), "[6,5,3]");
    auto refused = [&](WindowAggregate a) {
      return store->AggregateAt("v", {int64_t{1}}, 0, kMaxTimestamp, {a}).status();
    };
    EXPECT_TRUE(refused({"n", AggregateFunction::kLastK, 10, "", 0}).IsInvalidArgument());
    EXPECT_TRUE(refused({"n", AggregateFunction::kLastK, 10, "", kMaxLastK + 1}).IsInvalidArgument());
    EXPECT_TRUE(refused({"n", AggregateFunction::kSum, 10, "", 2}).IsInvalidArgument());
    Status vectors = refused({"e", AggregateFunction::kLastK, 10, "", 2});
    EXPECT_NE(vectors.ToString().find("last_k does not apply to float32_vector"), std::string::npos)
        << vectors.ToString();
    AggregationViewDef recent{"recent", "v", {{"s", AggregateFunction::kLastK, 1000, "", 2}}};
    ASSERT_OK(store->Apply(Definitions{{}, {}, {}, {recent}}));
  }
  auto store = UNWRAP(Store::Open(path));
  AggregationViewDef back = UNWRAP(store->GetAggregationView("recent"));
  ASSERT_EQ(back.aggregates.size(), 1u);
  EXPECT_EQ(back.aggregates[0].k, 2u);
  FeatureViewDef as_view = UNWRAP(store->GetView("recent"));
  EXPECT_EQ(as_view.features[0].type, ListOf(FeatureType::kString));
  EXPECT_EQ(as_view.features[0].dim, 2u);
  EXPECT_STREQ(FeatureTypeName(as_view.features[0].type), "list<string>");
  Lookup latest = UNWRAP(store->AsOf("recent", {int64_t{1}}, 60));
  EXPECT_EQ(latest.values[0], Value::List(FeatureType::kString, {Value::String("g"), Value::String("f")}));
  // Another k is another definition: it replaces the view.
  AggregationViewDef changed{"recent", "v", {{"s", AggregateFunction::kLastK, 1000, "", 5}}};
  ASSERT_OK(store->Apply(Definitions{{}, {}, {}, {changed}}));
  EXPECT_EQ(UNWRAP(store->AsOf("recent", {int64_t{1}}, 60)).values[0].as_list().size(), 5u);
  store.reset();
  // The C API's values hold no lists: it refuses them by name rather than return another type.
  pitstore_store* c = nullptr;
  ASSERT_EQ(pitstore_open(path.c_str(), 0, &c), PITSTORE_OK) << pitstore_errmsg();
  pitstore_value key{};
  key.type = PITSTORE_INT64;
  key.u.i64 = 1;
  pitstore_result* result = nullptr;
  EXPECT_EQ(pitstore_as_of(c, "recent", &key, 1, 60, kMaxTimestamp, nullptr, 0, &result), PITSTORE_EINVAL);
  EXPECT_NE(std::string(pitstore_errmsg()).find("'s_last_5_1ms' is a list (list<string>)"), std::string::npos)
      << pitstore_errmsg();
  EXPECT_EQ(result, nullptr);
  pitstore_close(c);
}

}  // namespace
}  // namespace pitstore

namespace pitstore {
namespace {

// An aggregation view in the registry reads like a view: GetView describes it, Latest gives the
// aggregates at the reader's clock, AsOf and AsOfJoin at the label's time, all by AggregateAt's
// code; it survives a reopen; its source cannot be dropped under it.
TEST(AggregationView, ReadsLikeAViewThroughEveryReadPath) {
  TempDir dir;
  const std::string path = dir.path("a.pit");
  const int64_t hour = 3'600'000'000;
  {
    auto store = testing::NewUserStore(path);
    AggregationViewDef spend;
    spend.name = "spend";
    spend.source = "v";
    spend.aggregates = {{"n", AggregateFunction::kSum, hour},
                        {"n", AggregateFunction::kCount, 24 * hour},
                        {"n", AggregateFunction::kMax, 24 * hour, "biggest"}};
    std::vector<std::string> changes;
    ASSERT_OK(store->Apply(Definitions{{}, {}, {}, {spend}}, &changes));
    ASSERT_EQ(changes, std::vector<std::string>{"create aggregation view 'spend'"});
    ASSERT_OK(store->Apply(Definitions{{}, {}, {}, {spend}}, &changes));  // the same again: no change
    EXPECT_EQ(changes.size(), 1u);
    WriteBatch b;
    for (int i = 0; i < 10; ++i) b.Add({int64_t{7}}, i * hour / 2, {Value::Int64(i)}, 1);
    ASSERT_OK(store->Append("v", b).status());
  }
  auto store = UNWRAP(Store::Open(path));
  FeatureViewDef def = UNWRAP(store->GetView("spend"));
  ASSERT_EQ(def.features.size(), 3u);
  EXPECT_EQ(def.features[0].name, "n_sum_1h");
  EXPECT_EQ(def.features[0].type, FeatureType::kInt64);
  EXPECT_EQ(def.features[1].name, "n_count_1d");
  EXPECT_EQ(def.features[2].name, "biggest");
  EXPECT_EQ(def.entities, std::vector<std::string>{"user"});
  EXPECT_EQ(UNWRAP(store->ListAggregationViews()), std::vector<std::string>{"spend"});

  // Events at 0, 0.5h, ..., 4.5h of values 0..9. At t = 4.5h: the last hour holds 3.5h (7),
  // 4h (8) and 4.5h (9); 3.5h is exactly an hour back: out.
  const Timestamp t = 9 * hour / 2;
  Lookup at = UNWRAP(store->AsOf("spend", {int64_t{7}}, t));
  EXPECT_EQ(at.values, (std::vector<Value>{Value::Int64(17), Value::Int64(10), Value::Int64(9)}));
  Lookup same = UNWRAP(store->AggregateAt("v", {int64_t{7}}, t, kMaxTimestamp,
                                          {{"n", AggregateFunction::kSum, hour},
                                           {"n", AggregateFunction::kCount, 24 * hour},
                                           {"n", AggregateFunction::kMax, 24 * hour}}));
  EXPECT_EQ(at.values, same.values);
  // Latest: at the reader's clock.
  ReadOptions clock;
  clock.now = t;
  EXPECT_EQ(UNWRAP(store->Latest("spend", {int64_t{7}}, {}, clock)).values, at.values);
  clock.now = 100 * hour;  // long after: the windows are empty
  Lookup later = UNWRAP(store->Latest("spend", {int64_t{7}}, {"n_count_1d", "n_sum_1h"}, clock));
  EXPECT_EQ(later.values, (std::vector<Value>{Value::Int64(0), Value()}));
  EXPECT_FALSE(later.found);
  auto batch = UNWRAP(store->LatestBatch("spend", {{int64_t{7}}, {int64_t{8}}}, {"biggest"}, clock));
  EXPECT_EQ(batch.size(), 2u);
  // A join of labels at t: the same values as AsOf.
  JoinLabels labels;
  labels.keys.push_back(Column::Of(FeatureType::kInt64));
  labels.keys[0].Append(Value::Int64(7));
  labels.times.push_back(t);
  JoinResult joined = UNWRAP(store->AsOfJoin("spend", labels));
  ASSERT_EQ(joined.columns.size(), 3u);
  for (size_t a = 0; a < 3; ++a) EXPECT_EQ(joined.columns[a].Get(0), at.values[a]);
  // What an aggregation view is not.
  EXPECT_TRUE(store->History("spend", {int64_t{7}}).status().IsInvalidArgument());
  WriteBatch into;
  into.Add({int64_t{7}}, 1, {Value::Int64(1)});
  Status append = store->Append("spend", into).status();
  EXPECT_NE(append.ToString().find("aggregation view"), std::string::npos) << append.ToString();
  Status drop = store->DropView("v");
  EXPECT_NE(drop.ToString().find("source of aggregation view(s) 'spend'"), std::string::npos) << drop.ToString();
  EXPECT_TRUE(store->AsOf("spend", {int64_t{7}}, t, kMaxTimestamp, {"nope"}).status().IsNotFound());
}

TEST(AggregationView, RefusedDefinitionsChangeNothing) {
  TempDir dir;
  auto store = testing::NewUserStore(dir.path("r.pit"));
  auto apply = [&](AggregationViewDef a) { return store->Apply(Definitions{{}, {}, {}, {a}}); };
  Status no_source = apply({"x", "missing", {{"n", AggregateFunction::kSum, 10}}});
  EXPECT_NE(no_source.ToString().find("no feature view 'missing'"), std::string::npos) << no_source.ToString();
  Status clash = apply({"v", "v", {{"n", AggregateFunction::kSum, 10}}});
  EXPECT_NE(clash.ToString().find("a feature view has that name"), std::string::npos) << clash.ToString();
  Status twice = apply({"x", "v", {{"n", AggregateFunction::kSum, 10}, {"n", AggregateFunction::kSum, 10}}});
  EXPECT_NE(twice.ToString().find("two aggregates are named 'n_sum_10us'"), std::string::npos) << twice.ToString();
  EXPECT_TRUE(apply({"x", "v", {}}).IsInvalidArgument());
  EXPECT_TRUE(UNWRAP(store->ListAggregationViews()).empty());
  // A feature service may list an aggregation view's features, and only those it has.
  AggregationViewDef spend{"spend", "v", {{"n", AggregateFunction::kSum, 10}}};
  ASSERT_OK(store->Apply(Definitions{{}, {}, {{"model", {"v:n", "spend:n_sum_10us"}}}, {spend}}));
  Status wrong = store->Apply(Definitions{{}, {}, {{"model2", {"spend:n_sum_11us"}}}, {}});
  EXPECT_NE(wrong.ToString().find("aggregation view 'spend' has no feature 'n_sum_11us'"), std::string::npos)
      << wrong.ToString();
}

}  // namespace
}  // namespace pitstore

namespace pitstore {
namespace {

// Composite and string keys: labels are sorted by a prefix of the key and then the whole key;
// keys sharing their first eight bytes must still be told apart.
TEST(Aggregation, CompositeKeysJoinAsTheyReadOnline) {
  TempDir dir;
  auto store = UNWRAP(Store::Open(dir.path("k.pit")));
  ASSERT_OK(store->DefineEntity(testing::IntEntity("user", "user_id")));
  ASSERT_OK(store->DefineEntity(EntityDef{"item", {{"item_id", KeyType::kString}}, ""}));
  ASSERT_OK(store->DefineView({"v", {"item", "user"}, {{"n", FeatureType::kInt64}}}));
  std::mt19937_64 rng(3);
  const std::vector<std::string> items = {"a", "ab", "abcdefgh1", "abcdefgh2", "abcdefgh"};
  for (int b = 0; b < 6; ++b) {
    WriteBatch batch;
    for (int i = 0; i < 40; ++i)
      batch.Add({items[rng() % items.size()], static_cast<int64_t>(rng() % 3)}, static_cast<int64_t>(rng() % 100),
                {Value::Int64(static_cast<int64_t>(rng() % 10))}, static_cast<int64_t>(rng() % 100));
    ASSERT_OK(store->Append("v", batch).status());
  }
  std::vector<WindowAggregate> aggs = {{"n", AggregateFunction::kSum, 30}, {"n", AggregateFunction::kCount, 7}};
  JoinLabels labels;
  labels.keys = {Column::Of(FeatureType::kString), Column::Of(FeatureType::kInt64)};
  std::vector<EntityKey> keys;
  for (int i = 0; i < 60; ++i) {
    EntityKey k = {items[rng() % items.size()], static_cast<int64_t>(rng() % 3)};
    labels.keys[0].Append(Value::String(std::get<std::string>(k[0])));
    labels.keys[1].Append(Value::Int64(std::get<int64_t>(k[1])));
    labels.times.push_back(static_cast<int64_t>(rng() % 110));
    keys.push_back(k);
  }
  for (JoinPlan plan : {JoinPlan::kScan, JoinPlan::kSeek}) {
    JoinOptions jo;
    jo.plan = plan;
    jo.known_at = KnownAt::kLabelTime;
    JoinResult r = UNWRAP(store->AggregateJoin("v", labels, aggs, jo));
    for (size_t i = 0; i < keys.size(); ++i) {
      Lookup online = UNWRAP(store->AggregateAt("v", keys[i], labels.times[i], labels.times[i], aggs));
      for (size_t a = 0; a < aggs.size(); ++a)
        ASSERT_EQ(r.columns[a].Get(i), online.values[a]) << "label " << i << " plan " << int(plan);
    }
  }
}

}  // namespace
}  // namespace pitstore
