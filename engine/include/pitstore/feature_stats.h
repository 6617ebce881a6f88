// Feature statistics: the distribution of each feature of a view, kept per segment when the
// segment is written and merged on read (Store::Summarize), so describing a view costs a read of
// its segment footers, not a scan of its rows.
//
// What is measured: numbers (bool as 0/1, int32, int64, float32, float64, timestamp in
// microseconds) by their value, strings and bytes by their length in bytes, vectors by their
// Euclidean norm. Statistics describe the stored history, every version of every key (corrections
// and the rows they correct both count), the rows a training set draws from; not only the latest
// values.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pitstore/export.h"
#include "pitstore/types.h"

namespace pitstore {

// A mergeable quantile sketch of finite doubles: a log-linear histogram. A value's bucket is its
// sign, its binary exponent and the top 6 bits of its mantissa (64 buckets per power of two), so
// a bucket is at most 1/64 of its lower edge wide and a quantile it answers (the bucket's middle)
// is within 1/128 (0.8%) relative error of a value of the right rank; zero and values below
// 2^-1000 in magnitude share one bucket. Integers of magnitude below 128 have a bucket each.
// Merging adds bucket counts: sketches of parts merge to the sketch of the whole, exactly.
class PITSTORE_EXPORT ValueSketch {
 public:
  void Add(double x);                       // finite values only (the caller counts NaN and infinities apart)
  void AddMany(const double* x, size_t n);  // the same for n values, growing the buckets once
  void Merge(const ValueSketch& other);
  uint64_t count() const { return count_; }
  // The value of rank q * (count - 1) (q in [0, 1]), clamped to [min, max] when those are given;
  // NaN when empty.
  double Quantile(double q, double min, double max) const;
  // The fraction of values <= x: exact at bucket edges, interpolated inside a bucket.
  double Cdf(double x) const;
  // (bucket lower edge, upper edge, count) in increasing order of value, empty buckets left out.
  struct Bucket {
    double lo, hi;
    uint64_t count;
  };
  std::vector<Bucket> Buckets() const;

  // The stored form (format/FORMAT.md, section 1.10): varints of the bucket counts.
  std::string Encode() const;
  static bool Decode(std::string_view bytes, ValueSketch* out);

  // The bucket a finite value belongs to, and a bucket's edges (for tests and readers).
  static int64_t BucketOf(double x);
  static std::pair<double, double> BucketEdges(int64_t bucket);

 private:
  // Buckets by index, dense from `offset_`; index 0 is zero, positive indexes positive values.
  int64_t offset_ = 0;
  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  void Grow(int64_t bucket);
};

// The statistics of one feature (over its values' measure, see the top of this file).
struct PITSTORE_EXPORT FeatureSummary {
  enum class Measure : uint8_t { kValue, kLength, kNorm };
  std::string feature;
  FeatureType type = FeatureType::kFloat64;
  Measure measure = Measure::kValue;
  uint64_t rows = 0;        // versions counted, null or not
  uint64_t nulls = 0;       // of them, null
  uint64_t non_finite = 0;  // of the rest, NaN or infinite (float features): left out below
  // Over the finite values: exact (the mean up to rounding); NaN when there are none. m2 is the
  // sum of squared deviations from the mean (Welford's update per value, Chan et al.'s per merge,
  // so parts merge in any order).
  double min = kNaN, max = kNaN, mean = kNaN, m2 = kNaN;
  ValueSketch sketch;  // the finite values' distribution
  uint64_t finite() const { return rows - nulls - non_finite; }
  double stddev() const;  // population standard deviation; NaN when there is no finite value
  // The sketch's quantile; for integer measures (bool, int32, int64 values; lengths) the integer
  // of the bucket nearest its middle: exact below 128 in magnitude. Timestamps answer only q = 0
  // and 1 (min and max), NaN otherwise: relative to the epoch, 1/128 is months.
  double Quantile(double q) const;
  bool integral() const;

  void AddNull() { rows++, nulls++; }
  void Add(double x);  // NaN and infinities count as non_finite
  void Merge(const FeatureSummary& other);

  static constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
};
PITSTORE_EXPORT const char* MeasureName(FeatureSummary::Measure measure);
// The measure a feature of this type is summarized by.
PITSTORE_EXPORT FeatureSummary::Measure MeasureOf(FeatureType type);

// What Store::Summarize reads: versions with from <= event_ts <= to and system_ts <= known_at.
// Blocks wholly inside the window (and known by known_at) answer from their footers; the others
// are read page by page and filtered row by row.
struct SummarizeOptions {
  Timestamp from = kMinTimestamp, to = kMaxTimestamp;
  Timestamp known_at = kMaxTimestamp;
  std::vector<std::string> features;  // empty: every feature of the view, in order
};

// Population stability index of `current` against `baseline`: bins at the baseline's deciles
// (fewer when values repeat), each side's share per bin floored at 1e-4, sum of
// (c - b) * ln(c / b). 0 is identical; by convention under 0.1 is stable, 0.1 to 0.25 a moderate
// shift, over 0.25 a large one. NaN when either side has no finite value.
PITSTORE_EXPORT double PopulationStabilityIndex(const FeatureSummary& baseline, const FeatureSummary& current);

}  // namespace pitstore
