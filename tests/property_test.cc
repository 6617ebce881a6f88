// The backbone: thousands of random operations (inserts, corrections, late arrivals, supplied
// system times, TTL views, composite keys, merges, reopens, index rebuilds, vacuums), with every
// read path (latest, batch latest, as_of at several known_at, history, whole-view scans,
// point-in-time joins in each knowledge mode)
// checked against a brute-force in-memory model after each step.
#include <map>
#include <random>

#include "test_util.h"

namespace pitstore {
namespace {
using testing::TempDir;

struct ModelRow {
  int64_t event_ts, system_ts;
  uint64_t order;  // global ingest order: breaks ties of equal times
  std::vector<Value> values;
};

struct ModelView {
  int64_t ttl = 0;
  std::map<EntityKey, std::vector<ModelRow>> rows;

  const ModelRow* AsOf(const EntityKey& k, Timestamp t, Timestamp known) const {
    auto it = rows.find(k);
    if (it == rows.end()) return nullptr;
    const ModelRow* best = nullptr;
    for (const ModelRow& r : it->second) {
      if (r.event_ts > t || r.system_ts > known) continue;
      if (!best || std::tie(r.event_ts, r.system_ts, r.order) > std::tie(best->event_ts, best->system_ts, best->order))
        best = &r;
    }
    return best;
  }
};

// Rows in version order without those a later row equal in both times and every value
// shadows (the store drops them when it merges the blocks holding both; before, it shows them).
template <typename Row>
std::vector<Row> WithoutShadowed(const std::vector<Row>& rows) {
  auto field = [](const Row& r) -> const auto& {
    if constexpr (std::is_pointer_v<Row>)
      return *r;
    else
      return r;
  };
  std::vector<Row> kept;
  for (size_t i = 0; i < rows.size(); ++i) {
    bool shadowed = false;
    for (size_t j = i + 1; j < rows.size() && !shadowed; ++j)
      shadowed = field(rows[j]).event_ts == field(rows[i]).event_ts &&
                 field(rows[j]).system_ts == field(rows[i]).system_ts && field(rows[j]).values == field(rows[i]).values;
    if (!shadowed) kept.push_back(rows[i]);
  }
  return kept;
}

class PropertyTest : public ::testing::TestWithParam<uint64_t> {
 protected:
  void Open() {
    store_.reset();
    Options o;
    o.auto_flush_row_blocks = 4;
    o.segment_max_rows = 64;
    o.segment_page_rows = 1 + rng_() % 8;                   // many pages; a key's rows often span two
    o.block_cache_bytes = (rng_() % 2) ? (1 << 20) : 4096;  // sometimes force re-reads
    o.background_merges = rng_() % 2;                       // merges on the store's thread, published while reads go on
    store_ = UNWRAP(Store::Open(dir_.path("p.pit"), o));
  }

  Value RandomValue(FeatureType t) {
    if (rng_() % 5 == 0) return Value::Null();
    switch (t) {
      case FeatureType::kInt64:
        return Value::Int64(static_cast<int64_t>(rng_() % 1000) - 500);
      case FeatureType::kFloat64:
        return Value::Float64(static_cast<double>(rng_() % 10000) / 7.0);
      case FeatureType::kString:
        return Value::String(std::string(rng_() % 6, static_cast<char>('a' + rng_() % 26)));
      case FeatureType::kFloat32Vector:
        return Value::Vector({float(rng_() % 9), float(rng_() % 5)});
      default:
        return Value::Bool(rng_() % 2);
    }
  }

  EntityKey RandomKey(const std::string& view) {
    if (view == "a") {
      // Mostly small ids; six at the edges of the index's latest_int range (-2^47 <= id < 2^47)
      // and of int64, so a view's latest entries lie on both sides of it.
      constexpr int64_t kEdge = int64_t{1} << 47;
      constexpr int64_t kEdges[] = {kEdge - 1, kEdge, -kEdge, -kEdge - 1, INT64_MIN, INT64_MAX};
      const uint64_t i = rng_() % 40;
      return {i < 34 ? static_cast<int64_t>(i) : kEdges[i - 34]};
    }
    return {static_cast<int64_t>(rng_() % 6), std::string(1, static_cast<char>('p' + rng_() % 4))};
  }

  void AppendRandom() {
    std::string view = rng_() % 3 ? "a" : "b";
    const std::vector<FeatureType>& types = types_[view];
    WriteBatch batch;
    struct Pending {
      EntityKey key;
      int64_t ev, sys;
      std::vector<Value> values;
    };
    std::vector<Pending> pending;
    size_t n = 1 + rng_() % 25;
    // Most batches arrive in time order (events near a clock that moves with the steps), so
    // segments cover narrow event-time ranges and point reads pass over some of them unread;
    // the others are backfills over the whole range.
    const bool in_order = rng_() % 5 != 0;
    const int64_t clock = std::min<int64_t>(step_ / 6, 270);
    // Sometimes a retried load: rows already stored, identical in both times and every value.
    std::vector<std::pair<EntityKey, const ModelRow*>> stored;
    if (rng_() % 8 == 0)
      for (const auto& [key, rows] : model_[view].rows)
        for (const ModelRow& r : rows) stored.emplace_back(key, &r);
    for (size_t i = 0; i < n; ++i) {
      Pending p;
      if (!stored.empty()) {
        const auto& [key, row] = stored[rng_() % stored.size()];
        p.key = key;
        p.ev = row->event_ts;
        p.sys = row->system_ts;
        p.values = row->values;
      } else {
        p.key = RandomKey(view);
        p.ev = in_order ? clock + static_cast<int64_t>(rng_() % 30)
                        : static_cast<int64_t>(rng_() % 300);  // a small range: many corrections and ties
        p.sys = rng_() % 3 == 0 ? static_cast<int64_t>(rng_() % 400) : kCommitTime;
        for (FeatureType t : types) p.values.push_back(RandomValue(t));
      }
      batch.Add(p.key, p.ev, p.values, p.sys);
      pending.push_back(std::move(p));
    }
    bool poison = rng_() % 15 == 0;
    if (poison) batch.Add(RandomKey(view), 1, std::vector<Value>(types.size() + 1));
    auto info = store_->Append(view, batch);
    if (poison) {
      ASSERT_FALSE(info.ok());  // and the model is unchanged: nothing of it may show up
      return;
    }
    ASSERT_TRUE(info.ok()) << info.status().ToString();
    commit_times_.push_back(info->commit_ts);
    for (Pending& p : pending) {
      int64_t sys = p.sys == kCommitTime ? info->commit_ts : p.sys;
      model_[view].rows[p.key].push_back({p.ev, sys, next_order_++, std::move(p.values)});
    }
  }

  Timestamp RandomKnownAt() {
    switch (rng_() % 4) {
      case 0:
        return kMaxTimestamp;
      case 1:
        return static_cast<int64_t>(rng_() % 400);
      case 2:
        return commit_times_.empty() ? 0 : commit_times_[rng_() % commit_times_.size()];
      default:
        return commit_times_.empty() ? 0 : commit_times_[rng_() % commit_times_.size()] - 1;
    }
  }

  void ExpectLookup(const ModelView& mv, const ModelRow* want, const Lookup& got, Timestamp t,
                    const std::string& what) {
    if (!want) {
      EXPECT_FALSE(got.found) << what;
      for (ValueStatus s : got.status) EXPECT_EQ(s, ValueStatus::kNotFound) << what;
      return;
    }
    ASSERT_TRUE(got.found) << what;
    EXPECT_EQ(got.event_ts, want->event_ts) << what;
    EXPECT_EQ(got.system_ts, want->system_ts) << what;
    bool expired = mv.ttl > 0 && static_cast<__int128>(t) - want->event_ts > mv.ttl;
    ASSERT_EQ(got.values.size(), want->values.size()) << what;
    for (size_t c = 0; c < want->values.size(); ++c) {
      if (expired) {
        EXPECT_EQ(got.status[c], ValueStatus::kExpired) << what;
        EXPECT_TRUE(got.values[c].is_null()) << what;
      } else {
        EXPECT_EQ(got.values[c], want->values[c])
            << what << " col " << c << " got " << got.values[c].ToString() << " want " << want->values[c].ToString();
        EXPECT_EQ(got.status[c], want->values[c].is_null() ? ValueStatus::kNull : ValueStatus::kPresent) << what;
      }
    }
  }

  void CheckReads() {
    for (const char* view : {"a", "b"}) {
      const ModelView& mv = model_[view];
      EntityKey key = RandomKey(view);
      std::string what =
          std::string("view ") + view + " key " + EntityKeyToString(key) + " step " + std::to_string(step_);
      // latest: as_of(+inf, +inf) with the reader's clock for TTL.
      ReadOptions ro;
      ro.now = static_cast<int64_t>(rng_() % 600);
      ExpectLookup(mv, mv.AsOf(key, kMaxTimestamp, kMaxTimestamp), UNWRAP(store_->Latest(view, key, {}, ro)), ro.now,
                   "latest " + what);
      // batch latest, one consistent state.
      std::vector<EntityKey> keys;
      for (int i = 0; i < 8; ++i) keys.push_back(RandomKey(view));
      auto batch = UNWRAP(store_->LatestBatch(view, keys, {}, ro));
      for (size_t i = 0; i < keys.size(); ++i)
        ExpectLookup(mv, mv.AsOf(keys[i], kMaxTimestamp, kMaxTimestamp), batch[i], ro.now, "batch " + what);
      // The same into lookups reused across views (a's strings and floats, b's bools and
      // vectors in the same buffers) and batch sizes: nothing of an earlier answer may remain.
      keys.resize(1 + rng_() % 20);
      for (EntityKey& k : keys) k = RandomKey(view);
      ASSERT_OK(store_->LatestBatchInto(view, keys, &reused_batch_, {}, ro));
      ASSERT_EQ(reused_batch_.size(), keys.size());
      for (size_t i = 0; i < keys.size(); ++i)
        ExpectLookup(mv, mv.AsOf(keys[i], kMaxTimestamp, kMaxTimestamp), reused_batch_[i], ro.now,
                     "reused batch " + what);
      // as_of at several times and knowledge horizons.
      for (int i = 0; i < 3; ++i) {
        Timestamp t = rng_() % 8 == 0 ? kMaxTimestamp : static_cast<int64_t>(rng_() % 320);
        Timestamp k = RandomKnownAt();
        Lookup all = UNWRAP(store_->AsOf(view, key, t, k));
        ExpectLookup(mv, mv.AsOf(key, t, k), all, t,
                     "as_of t=" + std::to_string(t) + " k=" + std::to_string(k) + " " + what);
        // One feature alone (segment pages decoded with its column only) reads what the row has.
        const FeatureViewDef def = UNWRAP(store_->GetView(view));
        const size_t f = rng_() % def.features.size();
        Lookup one = UNWRAP(store_->AsOf(view, key, t, k, {def.features[f].name}));
        ASSERT_EQ(one.values.size(), 1u) << what;
        EXPECT_EQ(one.found, all.found) << what;
        EXPECT_EQ(one.values[0], all.values[f]) << "as_of of feature " << def.features[f].name << " " << what;
        EXPECT_EQ(one.status[0], all.status[f]) << what;
      }
      // history: every version in [from, to] known by k, in order.
      Timestamp from = static_cast<int64_t>(rng_() % 300), to = from + static_cast<int64_t>(rng_() % 200);
      Timestamp k = RandomKnownAt();
      std::vector<const ModelRow*> want;
      auto it = mv.rows.find(key);
      if (it != mv.rows.end())
        for (const ModelRow& r : it->second)
          if (r.event_ts >= from && r.event_ts <= to && r.system_ts <= k) want.push_back(&r);
      std::sort(want.begin(), want.end(), [](const ModelRow* a, const ModelRow* b) {
        return std::tie(a->event_ts, a->system_ts, a->order) < std::tie(b->event_ts, b->system_ts, b->order);
      });
      want = WithoutShadowed(want);
      auto got = WithoutShadowed(UNWRAP(store_->History(view, key, from, to, k)));
      ASSERT_EQ(got.size(), want.size()) << "history " << what;
      for (size_t i = 0; i < got.size(); ++i) {
        EXPECT_EQ(got[i].event_ts, want[i]->event_ts) << "history " << what;
        EXPECT_EQ(got[i].system_ts, want[i]->system_ts) << "history " << what;
        EXPECT_EQ(got[i].values, want[i]->values) << "history " << what;
      }
    }
  }

  // A whole-view scan: every version known by k, in (key, event_ts, system_ts, ingest) order.
  void CheckScan() {
    for (const char* view : {"a", "b"}) {
      Timestamp k = RandomKnownAt();
      // Per key, in key order (std::map: the store's), modulo shadowed duplicates.
      std::vector<std::pair<EntityKey, std::vector<const ModelRow*>>> want;
      for (const auto& [key, rows] : model_[view].rows) {
        std::vector<const ModelRow*> sorted;
        for (const ModelRow& r : rows)
          if (r.system_ts <= k) sorted.push_back(&r);
        std::sort(sorted.begin(), sorted.end(), [](const ModelRow* a, const ModelRow* b) {
          return std::tie(a->event_ts, a->system_ts, a->order) < std::tie(b->event_ts, b->system_ts, b->order);
        });
        if (!sorted.empty()) want.emplace_back(key, WithoutShadowed(sorted));
      }
      std::vector<std::pair<EntityKey, std::vector<VersionedRow>>> got;
      std::string what = std::string("scan of ") + view + " k=" + std::to_string(k) + " step " + std::to_string(step_);
      ASSERT_OK(store_->Scan(
          view,
          [&](const EntityKey& key, const VersionedRow& row) {
            if (got.empty() || got.back().first != key) got.emplace_back(key, std::vector<VersionedRow>{});
            got.back().second.push_back(row);
            return true;
          },
          k));
      ASSERT_EQ(got.size(), want.size()) << what;
      for (size_t i = 0; i < got.size(); ++i) {
        EXPECT_EQ(got[i].first, want[i].first) << what << " key " << i;
        std::vector<VersionedRow> rows = WithoutShadowed(got[i].second);
        ASSERT_EQ(rows.size(), want[i].second.size()) << what << " key " << i;
        for (size_t r = 0; r < rows.size(); ++r) {
          EXPECT_EQ(rows[r].event_ts, want[i].second[r]->event_ts) << what << " key " << i << " row " << r;
          EXPECT_EQ(rows[r].system_ts, want[i].second[r]->system_ts) << what << " key " << i << " row " << r;
          EXPECT_EQ(rows[r].values, want[i].second[r]->values) << what << " key " << i << " row " << r;
        }
      }
    }
  }

  // A point-in-time join of random labels (duplicates, unknown keys, +inf times) in a random
  // knowledge mode: each row must equal the model's as_of, and at t = +inf without a TTL, latest.
  void CheckJoin() {
    for (const char* view : {"a", "b"}) {
      const ModelView& mv = model_[view];
      size_t n = 1 + rng_() % 60;
      std::vector<EntityKey> keys;
      JoinLabels labels;
      labels.keys.push_back(Column::Of(FeatureType::kInt64));
      if (std::string(view) == "b") labels.keys.push_back(Column::Of(FeatureType::kString));
      for (size_t i = 0; i < n; ++i) {
        EntityKey k = i > 0 && rng_() % 4 == 0 ? keys[rng_() % keys.size()] : RandomKey(view);
        keys.push_back(k);
        labels.keys[0].ints.push_back(std::get<int64_t>(k[0]));
        if (k.size() > 1) labels.keys[1].strings.push_back(std::get<std::string>(k[1]));
        labels.times.push_back(rng_() % 10 == 0 ? kMaxTimestamp : static_cast<int64_t>(rng_() % 420) - 10);
      }
      JoinOptions jo;
      jo.known_at = static_cast<KnownAt>(rng_() % 3);
      jo.fixed_known_at = RandomKnownAt();
      jo.threads = 1 + static_cast<int>(rng_() % 2);
      jo.plan = static_cast<JoinPlan>(rng_() % 3);  // both plans (and the choice) against the model
      JoinResult got = UNWRAP(store_->AsOfJoin(view, labels, {}, jo));
      ASSERT_EQ(got.status.size(), n);
      for (size_t i = 0; i < n; ++i) {
        Timestamp t = labels.times[i];
        Timestamp k = jo.known_at == KnownAt::kNow     ? kMaxTimestamp
                      : jo.known_at == KnownAt::kFixed ? jo.fixed_known_at
                                                       : t;
        const ModelRow* want = mv.AsOf(keys[i], t, k);
        std::string what = std::string("join ") + view + " key " + EntityKeyToString(keys[i]) +
                           " t=" + std::to_string(t) + " mode " + std::to_string(int(jo.known_at)) +
                           " k=" + std::to_string(k) + " step " + std::to_string(step_);
        if (!want) {
          EXPECT_EQ(got.status[i], uint8_t(ValueStatus::kNotFound)) << what;
          for (const Column& c : got.columns) EXPECT_TRUE(c.is_null(i)) << what;
          continue;
        }
        bool expired = mv.ttl > 0 && static_cast<__int128>(t) - want->event_ts > mv.ttl;
        EXPECT_EQ(got.status[i], uint8_t(expired ? ValueStatus::kExpired : ValueStatus::kPresent)) << what;
        EXPECT_EQ(got.event_ts[i], want->event_ts) << what;
        EXPECT_EQ(got.system_ts[i], want->system_ts) << what;
        for (size_t c = 0; c < got.columns.size(); ++c)
          EXPECT_EQ(got.columns[c].Get(i), expired ? Value() : want->values[c]) << what << " col " << c;
        // The online path gives the same answer.
        if (t == kMaxTimestamp && k == kMaxTimestamp && mv.ttl == 0) {
          Lookup latest = UNWRAP(store_->Latest(view, keys[i]));
          for (size_t c = 0; c < got.columns.size(); ++c) EXPECT_EQ(got.columns[c].Get(i), latest.values[c]) << what;
        }
      }
    }
  }

  TempDir dir_;
  std::mt19937_64 rng_{GetParam()};
  std::vector<Lookup> reused_batch_;  // LatestBatchInto's buffers, kept across reads and views
  std::unique_ptr<Store> store_;
  std::map<std::string, ModelView> model_;
  std::map<std::string, std::vector<FeatureType>> types_;
  std::vector<Timestamp> commit_times_;
  uint64_t next_order_ = 0;
  int step_ = 0;
};

TEST_P(PropertyTest, EveryReadPathMatchesTheModel) {
  Open();
  ASSERT_OK(store_->DefineEntity(testing::IntEntity("user", "user_id")));
  ASSERT_OK(store_->DefineEntity({"item", {{"item_id", KeyType::kString}}, ""}));
  ASSERT_OK(store_->DefineView(
      {"a", {"user"}, {{"n", FeatureType::kInt64}, {"x", FeatureType::kFloat64}, {"s", FeatureType::kString}}}));
  FeatureViewDef b{"b", {"user", "item"}, {{"flag", FeatureType::kBool}, {"emb", FeatureType::kFloat32Vector, 2}}};
  b.ttl_us = 100;
  ASSERT_OK(store_->DefineView(b));
  types_["a"] = {FeatureType::kInt64, FeatureType::kFloat64, FeatureType::kString};
  types_["b"] = {FeatureType::kBool, FeatureType::kFloat32Vector};
  model_["b"].ttl = 100;

  const int kSteps = 1500;
  for (step_ = 0; step_ < kSteps && !HasFatalFailure(); ++step_) {
    uint64_t op = rng_() % 100;
    if (op < 55) {
      AppendRandom();
    } else if (op < 60) {
      ASSERT_OK(store_->Compact(CompactOptions{rng_() % 2 == 0}));
    } else if (op < 63) {
      Open();
    } else if (op < 65) {
      ASSERT_OK(store_->RebuildIndex());
    } else if (op < 66) {
      ASSERT_OK(store_->Vacuum());
    } else if (op < 68) {
      ASSERT_OK(store_->WaitForMerges());
    }
    CheckReads();
    if (step_ % 25 == 0) CheckScan();
    if (step_ % 5 == 0) CheckJoin();
    if (::testing::Test::HasFailure()) break;
  }
  // After a full compaction every shadowed duplicate is gone, and nothing else is.
  ASSERT_OK(store_->Compact(CompactOptions{true}));
  for (const char* view : {"a", "b"}) {
    size_t want = 0, all = 0, got = 0;
    for (const auto& [key, rows] : model_[view].rows) {
      std::vector<const ModelRow*> sorted;
      for (const ModelRow& r : rows) sorted.push_back(&r);
      std::sort(sorted.begin(), sorted.end(), [](const ModelRow* a, const ModelRow* b) {
        return std::tie(a->event_ts, a->system_ts, a->order) < std::tie(b->event_ts, b->system_ts, b->order);
      });
      want += WithoutShadowed(sorted).size();
      all += rows.size();
    }
    ASSERT_OK(store_->Scan(
        view, [&](const EntityKey&, const VersionedRow&) { return ++got, true; }, kMaxTimestamp));
    EXPECT_EQ(got, want) << view;
    EXPECT_LT(want, all) << view << ": the seed made no duplicates";
  }
  auto report = UNWRAP(store_->Verify());
  EXPECT_TRUE(report.ok()) << report.problems.front();
  EXPECT_GT(report.rows_checked, 1000u);
}

INSTANTIATE_TEST_SUITE_P(Seeds, PropertyTest, ::testing::Values(1, 2, 3, 4));

}  // namespace
}  // namespace pitstore
