// Feature statistics: the sketch answers quantiles within its stated error and merges exactly;
// Store::Summarize equals a brute-force summary of a scan, for random windows and known-at
// times, whether it reads footers (segments) or rows (row batches, partial windows); the
// stability index tells a shift from noise.
#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "feature_stats_codec.h"
#include "test_util.h"

namespace pitstore {
namespace {
using testing::TempDir;

double Exact(std::vector<double> values, double q) {
  std::sort(values.begin(), values.end());
  return values[static_cast<size_t>(std::floor(q * static_cast<double>(values.size() - 1)))];
}

void ExpectNear(double got, double want, const std::string& what) {
  EXPECT_LE(std::fabs(got - want), std::fabs(want) / 128 + 1e-300) << what << ": got " << got << ", want " << want;
}

TEST(ValueSketch, BucketsHoldTheirValuesAndAreNarrow) {
  std::mt19937_64 rng(1);
  std::uniform_real_distribution<double> exponent(-1100, 1020);
  for (int i = 0; i < 200000; ++i) {
    double x = std::ldexp(1.0 + std::uniform_real_distribution<double>(0, 1)(rng), static_cast<int>(exponent(rng)));
    if (i % 2) x = -x;
    const int64_t b = ValueSketch::BucketOf(x);
    auto [lo, hi] = ValueSketch::BucketEdges(b);
    if (b == 0) {
      ASSERT_LT(std::fabs(x), std::ldexp(1.0, -1000));
      continue;
    }
    ASSERT_LE(lo, x) << x;
    ASSERT_LE(x, hi) << x;
    ASSERT_LE(hi - lo, std::fabs(x < 0 ? hi : lo) / 64 * (1 + 1e-12)) << x;
    // Buckets follow each other in value order: the next bucket starts where this one ends.
    ASSERT_EQ(ValueSketch::BucketOf(x > 0 ? hi : lo), x > 0 ? b + 1 : b - 1) << x;
  }
  for (int v = -127; v <= 127; ++v)  // small integers: a bucket each
    EXPECT_NE(ValueSketch::BucketOf(v), ValueSketch::BucketOf(v + 1)) << v;
}

TEST(ValueSketch, QuantilesWithinTheStatedErrorAndMergesExact) {
  std::mt19937_64 rng(2);
  for (int trial = 0; trial < 30; ++trial) {
    std::vector<double> values;
    const int n = 1 + static_cast<int>(rng() % 5000);
    std::lognormal_distribution<double> wide(0, 3 + trial % 5);
    std::normal_distribution<double> normal(trial, 10);
    for (int i = 0; i < n; ++i) {
      switch (trial % 3) {
        case 0:
          values.push_back(wide(rng) * (rng() % 4 == 0 ? -1 : 1));
          break;
        case 1:
          values.push_back(normal(rng));
          break;
        default:
          values.push_back(static_cast<double>(static_cast<int64_t>(rng() % 7) - 3));  // repeats, zero
      }
    }
    FeatureSummary whole, a, b;
    for (int i = 0; i < n; ++i) {
      whole.Add(values[i]);
      (i % 3 ? a : b).Add(values[i]);
    }
    a.Merge(b);
    EXPECT_EQ(a.sketch.Encode(), whole.sketch.Encode());
    EXPECT_EQ(a.min, whole.min);
    EXPECT_EQ(a.max, whole.max);
    EXPECT_NEAR(a.mean, whole.mean, 1e-9 * (1 + std::fabs(whole.mean)));
    EXPECT_NEAR(a.stddev(), whole.stddev(), 1e-9 * (1 + whole.stddev()));
    for (double q : {0.0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1.0})
      ExpectNear(whole.Quantile(q), Exact(values, q), "trial " + std::to_string(trial) + " q " + std::to_string(q));
    ValueSketch decoded;
    ASSERT_TRUE(ValueSketch::Decode(whole.sketch.Encode(), &decoded));
    EXPECT_EQ(decoded.Encode(), whole.sketch.Encode());
    EXPECT_EQ(decoded.count(), static_cast<uint64_t>(n));
    // The distribution function at a value lies between the exact fractions below and at the
    // edges of the value's bucket.
    for (double x : {values[0], values[n / 2], values[n - 1]}) {
      const std::pair<double, double> edges = ValueSketch::BucketEdges(ValueSketch::BucketOf(x));
      const double lo = edges.first, hi = edges.second;
      const double below = std::count_if(values.begin(), values.end(), [&](double v) { return v < lo; });
      const double upto = std::count_if(values.begin(), values.end(), [&](double v) { return v <= hi; });
      EXPECT_GE(whole.sketch.Cdf(x), below / n - 1e-12);
      EXPECT_LE(whole.sketch.Cdf(x), upto / n + 1e-12);
    }
  }
}

TEST(ValueSketch, IntegerQuantilesAreIntegersExactBelow128) {
  std::mt19937_64 rng(6);
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<double> values;
    FeatureSummary s;
    s.type = FeatureType::kInt64;
    const int64_t span = trial < 10 ? 255 : 1'000'000;
    for (int i = 0; i < 3000; ++i) {
      const double v = static_cast<double>(static_cast<int64_t>(rng() % span) - span / 2);
      values.push_back(v);
      s.Add(v);
    }
    for (double q : {0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99}) {
      const double got = s.Quantile(q), want = Exact(values, q);
      EXPECT_EQ(got, std::round(got));
      if (std::fabs(want) < 128) {
        EXPECT_EQ(got, want) << "q " << q;
      } else {
        EXPECT_LE(std::fabs(got - want), std::fabs(want) / 64) << "q " << q;
      }
    }
  }
}

// Values in blocks (SummarizeRows) give what Welford's steps give: the same counts, min, max
// and sketch, mean and m2 within rounding, and a finite mean for values near the largest double
// (whose block sums overflow), with nulls and non-finite values counted apart.
TEST(Summarize, RowsInBlocksAgreeWithOneValueAtATime) {
  std::mt19937_64 rng(5);
  for (double scale : {1.0, 1e300, 1.5e308}) {
    Column column = Column::Of(FeatureType::kFloat64);
    FeatureSummary stepwise;
    for (int i = 0; i < 1000; ++i) {
      if (i % 97 == 5) {
        column.AppendNull();
        stepwise.AddNull();
        continue;
      }
      double x = (i % 211 == 7) ? std::numeric_limits<double>::infinity()
                                : scale * std::uniform_real_distribution<double>(0.5, 1.0)(rng);
      if (!column.valid.empty()) column.valid.push_back(1);  // AppendNull made the validity column
      column.doubles.push_back(x);
      stepwise.Add(x);
    }
    FeatureSummary blocks;
    SummarizeRows(column, 0, 600, nullptr, &blocks);  // two calls: blocks end at a call's end
    SummarizeRows(column, 600, column.size(), nullptr, &blocks);
    const std::string what = "scale " + std::to_string(scale);
    EXPECT_EQ(blocks.rows, stepwise.rows) << what;
    EXPECT_EQ(blocks.nulls, stepwise.nulls) << what;
    EXPECT_EQ(blocks.non_finite, stepwise.non_finite) << what;
    EXPECT_EQ(blocks.min, stepwise.min) << what;
    EXPECT_EQ(blocks.max, stepwise.max) << what;
    ASSERT_TRUE(std::isfinite(blocks.mean)) << what;
    ExpectNear(blocks.mean, stepwise.mean, what + " mean");
    if (std::isfinite(stepwise.m2)) ExpectNear(blocks.m2, stepwise.m2, what + " m2");
    EXPECT_EQ(blocks.sketch.count(), stepwise.sketch.count()) << what;
    for (double q : {0.0, 0.1, 0.5, 0.9, 1.0})
      EXPECT_EQ(blocks.Quantile(q), stepwise.Quantile(q)) << what << " q " << q;
  }
}

TEST(ValueSketch, DecodeRefusesGarbageWithoutCrashing) {
  std::mt19937_64 rng(3);
  FeatureSummary s;
  for (int i = 0; i < 1000; ++i) s.Add(static_cast<double>(i) * 1.37 - 300);
  const std::string good = s.sketch.Encode();
  ValueSketch out;
  int refused = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string bad = good;
    if (i % 2) {
      bad[rng() % bad.size()] ^= static_cast<char>(1 + rng() % 255);
    } else {
      bad.resize(rng() % bad.size());
    }
    refused += !ValueSketch::Decode(bad, &out);
  }
  EXPECT_GT(refused, 10000);
  EXPECT_FALSE(ValueSketch::Decode(std::string("\x01\x00\x00", 3), &out));  // an empty bucket
}

TEST(ValueSketch, StabilityIndexTellsAShiftFromNoise) {
  std::mt19937_64 rng(4);
  std::normal_distribution<double> base(100, 15), shifted(115, 15);
  FeatureSummary a, b, c;
  for (int i = 0; i < 50000; ++i) {
    a.Add(base(rng));
    b.Add(base(rng));
    c.Add(shifted(rng));
  }
  EXPECT_LT(PopulationStabilityIndex(a, b), 0.01);
  EXPECT_GT(PopulationStabilityIndex(a, c), 0.25);
  EXPECT_TRUE(std::isnan(PopulationStabilityIndex(a, FeatureSummary())));
  // Few distinct values (a flag): identical mixes are stable, a changed mix is not.
  FeatureSummary f1, f2, f3;
  for (int i = 0; i < 10000; ++i) {
    f1.Add(i % 10 < 3);
    f2.Add(i % 10 < 3);
    f3.Add(i % 10 < 6);
  }
  EXPECT_LT(PopulationStabilityIndex(f1, f2), 1e-9);
  EXPECT_GT(PopulationStabilityIndex(f1, f3), 0.25);
}

// The brute-force model: every scanned version in the window, summarized value by value.
std::vector<FeatureSummary> Model(Store& store, const SummarizeOptions& o, const FeatureViewDef& def) {
  std::vector<Column> columns;
  for (const FeatureDef& f : def.features) columns.push_back(Column::Of(f.type, f.dim));
  Status st = store.Scan(
      def.name,
      [&](const EntityKey&, const VersionedRow& r) {
        if (r.event_ts < o.from || r.event_ts > o.to) return true;
        for (size_t c = 0; c < columns.size(); ++c) columns[c].Append(r.values[c]);
        return true;
      },
      o.known_at);
  EXPECT_TRUE(st.ok()) << st.ToString();
  std::vector<FeatureSummary> out(columns.size());
  for (size_t c = 0; c < columns.size(); ++c) SummarizeRows(columns[c], 0, columns[c].size(), nullptr, &out[c]);
  return out;
}

void ExpectSame(const FeatureSummary& got, const FeatureSummary& want, const std::string& what) {
  EXPECT_EQ(got.rows, want.rows) << what;
  EXPECT_EQ(got.nulls, want.nulls) << what;
  EXPECT_EQ(got.non_finite, want.non_finite) << what;
  EXPECT_EQ(got.sketch.Encode(), want.sketch.Encode()) << what;
  if (want.finite() == 0) {
    EXPECT_TRUE(std::isnan(got.min) && std::isnan(got.mean)) << what;
    return;
  }
  EXPECT_EQ(got.min, want.min) << what;
  EXPECT_EQ(got.max, want.max) << what;
  EXPECT_NEAR(got.mean, want.mean, 1e-9 * (1 + std::fabs(want.mean))) << what;
  EXPECT_NEAR(got.stddev(), want.stddev(), 1e-6 * (1 + want.stddev())) << what;
}

TEST(Summarize, EqualsASummaryOfTheScanForRandomWindowsBeforeAndAfterMerges) {
  TempDir dir;
  Options options;
  options.auto_flush_row_blocks = 0;
  options.auto_flush_rows = 0;
  options.segment_page_rows = 64;  // many pages: partial windows read several
  auto store = UNWRAP(Store::Open(dir.path("s.pit"), options));
  ASSERT_OK(store->DefineEntity(testing::IntEntity("user", "user_id")));
  FeatureViewDef def{"v",
                     {"user"},
                     {{"n", FeatureType::kInt64},
                      {"x", FeatureType::kFloat64},
                      {"name", FeatureType::kString},
                      {"flag", FeatureType::kBool},
                      {"emb", FeatureType::kFloat32Vector, 3}}};
  ASSERT_OK(store->DefineView(FeatureViewDef{def.name, def.entities, {def.features[0], def.features[1]}}));
  std::mt19937_64 rng(5);
  auto random_value = [&](const FeatureDef& f) -> Value {
    if (rng() % 6 == 0) return Value();
    switch (f.type) {
      case FeatureType::kInt64:
        return Value::Int64(static_cast<int64_t>(rng() % 2001) - 1000);
      case FeatureType::kFloat64: {
        const uint64_t r = rng() % 50;
        if (r == 0) return Value::Float64(std::nan(""));
        if (r == 1) return Value::Float64(-INFINITY);
        return Value::Float64(std::normal_distribution<double>(3, 40)(rng));
      }
      case FeatureType::kString:
        return Value::String(std::string(rng() % 40, 'a'));
      case FeatureType::kBool:
        return Value::Bool(rng() % 3 == 0);
      default:
        return Value::Vector({static_cast<float>(rng() % 7), -1.5f, static_cast<float>(rng() % 3) / 4});
    }
  };
  for (int batch = 0; batch < 14; ++batch) {
    if (batch == 5) ASSERT_OK(store->DefineView(def));  // rows before read the new features as null
    const FeatureViewDef now = UNWRAP(store->GetView("v"));
    WriteBatch b;
    const int rows = 50 + static_cast<int>(rng() % 400);
    for (int i = 0; i < rows; ++i) {
      std::vector<Value> values;
      for (const FeatureDef& f : now.features) values.push_back(random_value(f));
      b.Add({static_cast<int64_t>(rng() % 300)}, 1'000'000 + static_cast<int64_t>(rng() % 100000), values,
            rng() % 4 == 0 ? int64_t{2'000'000 + static_cast<int64_t>(rng() % 100000)} : kCommitTime);
    }
    ASSERT_TRUE(store->Append("v", b).ok());
    if (batch == 4 || batch == 9) ASSERT_OK(store->Compact(CompactOptions{batch == 9}));
  }
  auto check = [&](const std::string& stage) {
    std::vector<SummarizeOptions> cases{SummarizeOptions{}};
    for (int i = 0; i < 12; ++i) {
      SummarizeOptions o;
      o.from = 1'000'000 + static_cast<int64_t>(rng() % 100000);
      o.to = o.from + static_cast<int64_t>(rng() % 60000);
      if (i % 3 == 0) o.known_at = 2'000'000 + static_cast<int64_t>(rng() % 100000);
      cases.push_back(o);
    }
    SummarizeOptions edge;  // exactly one event time
    edge.from = edge.to = 1'050'000;
    cases.push_back(edge);
    for (const SummarizeOptions& o : cases) {
      const auto got = UNWRAP(store->Summarize("v", o));
      const auto want = Model(*store, o, def);
      ASSERT_EQ(got.size(), def.features.size());
      for (size_t c = 0; c < got.size(); ++c) {
        EXPECT_EQ(got[c].feature, def.features[c].name);
        ExpectSame(got[c], want[c],
                   stage + " feature " + got[c].feature + " window [" + std::to_string(o.from) + ", " +
                       std::to_string(o.to) + "] known_at " + std::to_string(o.known_at));
      }
    }
    // A projection answers the same as the whole.
    SummarizeOptions some;
    some.features = {"emb", "n"};
    const auto two = UNWRAP(store->Summarize("v", some));
    const auto all = UNWRAP(store->Summarize("v"));
    ASSERT_EQ(two.size(), 2u);
    ExpectSame(two[0], all[4], stage + " projection emb");
    ExpectSame(two[1], all[0], stage + " projection n");
  };
  check("with a tail");
  ASSERT_OK(store->Compact(CompactOptions{true}));
  ASSERT_EQ(UNWRAP(store->Stats()).views[0].row_blocks, 0u);
  check("compacted");
  ASSERT_OK(store->Vacuum());
  check("vacuumed");
  EXPECT_FALSE(store->Summarize("v", SummarizeOptions{kMinTimestamp, kMaxTimestamp, kMaxTimestamp, {"nope"}}).ok());
  EXPECT_FALSE(store->Summarize("nope").ok());
}

}  // namespace
}  // namespace pitstore
