// Feature statistics: the log-linear sketch, summaries, their stored form and the stability
// index (pitstore/feature_stats.h).
#include "pitstore/feature_stats.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "coding.h"
#include "feature_stats_codec.h"

namespace pitstore {
namespace {

constexpr int kSubBits = 6;  // mantissa bits per bucket: 64 buckets per binade
constexpr int kSubBuckets = 1 << kSubBits;
constexpr int kMinExponent = -1000;  // |x| < 2^-1000 goes to the zero bucket
constexpr int64_t kMaxBucket = (1023 - kMinExponent + 1) * int64_t{kSubBuckets};

// ValueSketch::BucketOf, inlined into AddMany's loop.
inline int64_t BucketOfInline(double x) {
  uint64_t bits;
  std::memcpy(&bits, &x, 8);
  const int exponent = static_cast<int>((bits >> 52) & 0x7FF) - 1023;
  if (x == 0 || exponent < kMinExponent) return 0;
  const int64_t sub = static_cast<int64_t>((bits >> (52 - kSubBits)) & (kSubBuckets - 1));
  const int64_t index = int64_t{exponent - kMinExponent} * kSubBuckets + sub + 1;
  return (bits >> 63) ? -index : index;
}

}  // namespace

int64_t ValueSketch::BucketOf(double x) { return BucketOfInline(x); }

std::pair<double, double> ValueSketch::BucketEdges(int64_t bucket) {
  if (bucket == 0) return {0.0, 0.0};
  const int64_t k = (bucket < 0 ? -bucket : bucket) - 1;
  const int exponent = static_cast<int>(k / kSubBuckets) + kMinExponent;
  const double sub = static_cast<double>(k % kSubBuckets);
  const double lo = std::ldexp(1.0 + sub / kSubBuckets, exponent);
  const double hi = std::ldexp(1.0 + (sub + 1) / kSubBuckets, exponent);
  return bucket < 0 ? std::pair{-hi, -lo} : std::pair{lo, hi};
}

void ValueSketch::Grow(int64_t bucket) {
  if (counts_.empty()) {
    offset_ = bucket;
    counts_.assign(1, 0);
  } else if (bucket < offset_) {
    counts_.insert(counts_.begin(), static_cast<size_t>(offset_ - bucket), 0);
    offset_ = bucket;
  } else if (bucket >= offset_ + static_cast<int64_t>(counts_.size())) {
    counts_.resize(static_cast<size_t>(bucket - offset_ + 1), 0);
  }
}

void ValueSketch::Add(double x) {
  const int64_t b = BucketOf(x);
  if (counts_.empty() || b < offset_ || b >= offset_ + static_cast<int64_t>(counts_.size())) Grow(b);
  counts_[static_cast<size_t>(b - offset_)]++;
  count_++;
}

void ValueSketch::AddMany(const double* x, size_t n) {
  if (n == 0) return;
  int64_t buckets[256];
  for (size_t done = 0; done < n;) {
    const size_t k = std::min<size_t>(n - done, 256);
    int64_t lo = BucketOfInline(x[done]), hi = lo;
    for (size_t i = 0; i < k; ++i) {
      buckets[i] = BucketOfInline(x[done + i]);
      lo = std::min(lo, buckets[i]);
      hi = std::max(hi, buckets[i]);
    }
    Grow(lo);
    Grow(hi);
    uint64_t* counts = counts_.data();
    for (size_t i = 0; i < k; ++i) counts[buckets[i] - offset_]++;
    count_ += k;
    done += k;
  }
}

void ValueSketch::Merge(const ValueSketch& other) {
  if (other.counts_.empty()) return;
  Grow(other.offset_);
  Grow(other.offset_ + static_cast<int64_t>(other.counts_.size()) - 1);
  for (size_t i = 0; i < other.counts_.size(); ++i)
    counts_[static_cast<size_t>(other.offset_ - offset_) + i] += other.counts_[i];
  count_ += other.count_;
}

std::vector<ValueSketch::Bucket> ValueSketch::Buckets() const {
  std::vector<Bucket> out;
  for (size_t i = 0; i < counts_.size(); ++i) {
    if (!counts_[i]) continue;
    auto [lo, hi] = BucketEdges(offset_ + static_cast<int64_t>(i));
    out.push_back({lo, hi, counts_[i]});
  }
  return out;
}

double ValueSketch::Quantile(double q, double min, double max) const {
  if (count_ == 0) return FeatureSummary::kNaN;
  q = std::clamp(q, 0.0, 1.0);
  if (q == 0 && !std::isnan(min)) return min;
  if (q == 1 && !std::isnan(max)) return max;
  const double rank = q * static_cast<double>(count_ - 1);
  uint64_t before = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    if (!counts_[i]) continue;
    if (static_cast<double>(before + counts_[i]) > rank) {
      auto [lo, hi] = BucketEdges(offset_ + static_cast<int64_t>(i));
      double mid = lo + (hi - lo) / 2;
      if (!std::isnan(min)) mid = std::max(mid, min);
      if (!std::isnan(max)) mid = std::min(mid, max);
      return mid;
    }
    before += counts_[i];
  }
  return max;
}

double ValueSketch::Cdf(double x) const {
  if (count_ == 0 || std::isnan(x)) return FeatureSummary::kNaN;
  double below = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    if (!counts_[i]) continue;
    auto [lo, hi] = BucketEdges(offset_ + static_cast<int64_t>(i));
    if (x >= hi) {
      below += static_cast<double>(counts_[i]);
    } else {
      // Inside the bucket: its values spread evenly over [lo, hi) (the zero bucket is a point).
      if (x >= lo) below += hi > lo ? static_cast<double>(counts_[i]) * (x - lo) / (hi - lo) : counts_[i];
      break;
    }
  }
  return below / static_cast<double>(count_);
}

std::string ValueSketch::Encode() const {
  // varint count of nonempty buckets, then per bucket: svarint gap from the previous bucket
  // index (the first from 0), varint count.
  std::string out;
  uint64_t nonempty = 0;
  for (uint64_t c : counts_) nonempty += c != 0;
  PutVarint64(&out, nonempty);
  int64_t prev = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    if (!counts_[i]) continue;
    const int64_t b = offset_ + static_cast<int64_t>(i);
    PutVarint64(&out, ZigZag(b - prev));
    PutVarint64(&out, counts_[i]);
    prev = b;
  }
  return out;
}

bool ValueSketch::Decode(std::string_view bytes, ValueSketch* out) {
  *out = ValueSketch();
  ByteReader in(bytes);
  const uint64_t n = in.Varint();
  if (!in.ok() || n > bytes.size()) return false;
  int64_t prev = 0;
  for (uint64_t i = 0; i < n; ++i) {
    const int64_t delta = in.Signed();
    const uint64_t count = in.Varint();
    if (!in.ok() || count == 0) return false;
    if ((i > 0 && delta <= 0) || delta > 2 * kMaxBucket + 1) return false;
    const int64_t b = prev + delta;
    if (b < -kMaxBucket || b > kMaxBucket) return false;
    out->Grow(b);
    out->counts_[static_cast<size_t>(b - out->offset_)] = count;
    out->count_ += count;
    prev = b;
  }
  return in.remaining() == 0;
}

double FeatureSummary::stddev() const {
  const uint64_t n = finite();
  return n ? std::sqrt(std::max(0.0, m2) / static_cast<double>(n)) : kNaN;
}

bool FeatureSummary::integral() const {
  if (measure == Measure::kLength) return true;
  return measure == Measure::kValue && type != FeatureType::kFloat32 && type != FeatureType::kFloat64;
}

double FeatureSummary::Quantile(double q) const {
  if (type == FeatureType::kTimestamp && measure == Measure::kValue) return q <= 0 ? min : q >= 1 ? max : kNaN;
  const double mid = sketch.Quantile(q, min, max);
  if (!integral() || std::isnan(mid) || mid == min || mid == max) return mid;
  // The integers the mid's bucket holds: [lo, hi) for positive buckets, (lo, hi] for negative.
  const int64_t bucket = ValueSketch::BucketOf(mid);
  auto [lo, hi] = ValueSketch::BucketEdges(bucket);
  const double first = bucket > 0 ? std::ceil(lo) : std::floor(lo) + 1;
  const double last = bucket > 0 ? std::ceil(hi) - 1 : std::floor(hi);
  if (bucket == 0 || first > last) return mid;
  return std::clamp(std::round(mid), first, last);
}

void FeatureSummary::Add(double x) {
  rows++;
  if (!std::isfinite(x)) {
    non_finite++;
    return;
  }
  const uint64_t n = finite();  // counting x
  if (n == 1) {
    min = max = mean = x;
    m2 = 0;
  } else {
    min = std::min(min, x);
    max = std::max(max, x);
    const double delta = x - mean;
    mean += delta / static_cast<double>(n);
    m2 += delta * (x - mean);
  }
  sketch.Add(x);
}

void FeatureSummary::Merge(const FeatureSummary& other) {
  const uint64_t na = finite(), nb = other.finite();
  rows += other.rows;
  nulls += other.nulls;
  non_finite += other.non_finite;
  if (nb == 0) return;
  if (na == 0) {
    min = other.min, max = other.max, mean = other.mean, m2 = other.m2;
  } else {
    const double n = static_cast<double>(na + nb);
    const double delta = other.mean - mean;
    min = std::min(min, other.min);
    max = std::max(max, other.max);
    mean += delta * static_cast<double>(nb) / n;
    m2 += other.m2 + delta * delta * static_cast<double>(na) * static_cast<double>(nb) / n;
  }
  sketch.Merge(other.sketch);
}

const char* MeasureName(FeatureSummary::Measure measure) {
  switch (measure) {
    case FeatureSummary::Measure::kValue:
      return "value";
    case FeatureSummary::Measure::kLength:
      return "length";
    case FeatureSummary::Measure::kNorm:
      return "norm";
  }
  return "?";
}

FeatureSummary::Measure MeasureOf(FeatureType type) {
  switch (type) {
    case FeatureType::kString:
    case FeatureType::kBytes:
      return FeatureSummary::Measure::kLength;
    case FeatureType::kFloat32Vector:
      return FeatureSummary::Measure::kNorm;
    default:
      return FeatureSummary::Measure::kValue;
  }
}

double PopulationStabilityIndex(const FeatureSummary& baseline, const FeatureSummary& current) {
  if (baseline.finite() == 0 || current.finite() == 0 || std::isnan(baseline.Quantile(0.5)))
    return FeatureSummary::kNaN;
  std::vector<double> edges;
  for (int d = 1; d < 10; ++d) {
    const double e = baseline.Quantile(d / 10.0);
    if (edges.empty() || e > edges.back()) edges.push_back(e);
  }
  // Bins (-inf, e1], (e1, e2], ..., (ek, +inf): shares from each side's distribution function.
  auto share = [&](const FeatureSummary& s, size_t bin) {
    const double lo = bin == 0 ? 0.0 : s.sketch.Cdf(edges[bin - 1]);
    const double hi = bin == edges.size() ? 1.0 : s.sketch.Cdf(edges[bin]);
    return std::max(hi - lo, 1e-4);
  };
  double psi = 0;
  for (size_t bin = 0; bin <= edges.size(); ++bin) {
    const double b = share(baseline, bin), c = share(current, bin);
    psi += (c - b) * std::log(c / b);
  }
  return psi;
}

// ---- engine side: summaries of runs and their stored form ----

namespace {

// Finite values gathered and added to a summary a block at a time: the block's mean and squared
// deviations in two passes over values in cache, then one merge (Chan et al.), instead of
// Welford's division per value, whose chain of dependent divisions made it the largest cost of
// summarizing a segment's columns in a merge.
class BlockSummer {
 public:
  explicit BlockSummer(FeatureSummary* out) : out_(out) {}
  ~BlockSummer() { Flush(); }
  void Add(double x) {
    if (!std::isfinite(x)) {
      out_->Add(x);  // counted as non-finite
      return;
    }
    block_[size_++] = x;
    if (size_ == kBlock) Flush();
  }
  void AddNull() { out_->AddNull(); }

 private:
  void Flush() {
    if (size_ == 0) return;
    // Four lanes each, so that no loop waits on one chain of dependent additions.
    double lo[4], hi[4], sums[4] = {0, 0, 0, 0}, m2s[4] = {0, 0, 0, 0};
    for (int l = 0; l < 4; ++l) lo[l] = hi[l] = block_[0];
    size_t i = 0;
    for (; i + 4 <= size_; i += 4)
      for (int l = 0; l < 4; ++l) {
        lo[l] = std::min(lo[l], block_[i + l]);
        hi[l] = std::max(hi[l], block_[i + l]);
        sums[l] += block_[i + l];
      }
    for (; i < size_; ++i) {
      lo[0] = std::min(lo[0], block_[i]);
      hi[0] = std::max(hi[0], block_[i]);
      sums[0] += block_[i];
    }
    const double sum = (sums[0] + sums[1]) + (sums[2] + sums[3]);
    if (!std::isfinite(sum)) {
      // Values near the largest doubles overflow a block's sum: those blocks take Welford's
      // steps, whose mean stays finite.
      for (i = 0; i < size_; ++i) out_->Add(block_[i]);
      size_ = 0;
      return;
    }
    const double mean = sum / static_cast<double>(size_);
    for (i = 0; i + 4 <= size_; i += 4)
      for (int l = 0; l < 4; ++l) m2s[l] += (block_[i + l] - mean) * (block_[i + l] - mean);
    for (; i < size_; ++i) m2s[0] += (block_[i] - mean) * (block_[i] - mean);
    const double m2 = (m2s[0] + m2s[1]) + (m2s[2] + m2s[3]);
    const double block_lo = std::min(std::min(lo[0], lo[1]), std::min(lo[2], lo[3]));
    const double block_hi = std::max(std::max(hi[0], hi[1]), std::max(hi[2], hi[3]));
    const uint64_t na = out_->finite(), nb = size_;
    out_->rows += nb;
    if (na == 0) {
      out_->min = block_lo, out_->max = block_hi, out_->mean = mean, out_->m2 = m2;
    } else {
      const double n = static_cast<double>(na + nb), delta = mean - out_->mean;
      out_->min = std::min(out_->min, block_lo);
      out_->max = std::max(out_->max, block_hi);
      out_->mean += delta * static_cast<double>(nb) / n;
      out_->m2 += m2 + delta * delta * static_cast<double>(na) * static_cast<double>(nb) / n;
    }
    out_->sketch.AddMany(block_, size_);
    size_ = 0;
  }
  static constexpr size_t kBlock = 256;
  FeatureSummary* out_;
  double block_[kBlock];
  size_t size_ = 0;
};

// Rows [begin, end) of `column` (those `keep` marks) into `out`, each non-null one as
// value_of(i): one loop per type, so the type is decided once per call, not once per value.
template <typename ValueOf>
void SummarizeEach(const Column& column, size_t begin, size_t end, const std::vector<uint8_t>* keep, BlockSummer& out,
                   ValueOf value_of) {
  for (size_t i = begin; i < end; ++i) {
    if (keep && !(*keep)[i - begin]) continue;
    if (column.is_null(i)) {
      out.AddNull();
      continue;
    }
    out.Add(value_of(i));
  }
}

}  // namespace

void SummarizeRows(const Column& column, size_t begin, size_t end, const std::vector<uint8_t>* keep,
                   FeatureSummary* summary) {
  BlockSummer out(summary);
  switch (column.type) {
    case FeatureType::kBool:
    case FeatureType::kInt32:
    case FeatureType::kInt64:
    case FeatureType::kTimestamp:
      SummarizeEach(column, begin, end, keep, out, [&](size_t i) { return static_cast<double>(column.ints[i]); });
      break;
    case FeatureType::kFloat32:
    case FeatureType::kFloat64:
      SummarizeEach(column, begin, end, keep, out, [&](size_t i) { return column.doubles[i]; });
      break;
    case FeatureType::kString:
    case FeatureType::kBytes:
      SummarizeEach(column, begin, end, keep, out,
                    [&](size_t i) { return static_cast<double>(column.strings[i].size()); });
      break;
    case FeatureType::kFloat32Vector:
      SummarizeEach(column, begin, end, keep, out, [&](size_t i) {
        double sum = 0;
        const float* v = column.floats.data() + i * column.dim;
        for (uint32_t d = 0; d < column.dim; ++d) sum += static_cast<double>(v[d]) * v[d];
        return std::sqrt(sum);
      });
      break;
    default:  // lists (never stored): only their nulls count
      for (size_t i = begin; i < end; ++i)
        if ((!keep || (*keep)[i - begin]) && column.is_null(i)) out.AddNull();
  }
}

}  // namespace pitstore
