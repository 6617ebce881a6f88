#include "window_aggregate.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

#include "column_slots.h"

namespace pitstore {

const char* AggregateFunctionName(AggregateFunction function) {
  switch (function) {
    case AggregateFunction::kCount:
      return "count";
    case AggregateFunction::kSum:
      return "sum";
    case AggregateFunction::kMean:
      return "mean";
    case AggregateFunction::kMin:
      return "min";
    case AggregateFunction::kMax:
      return "max";
    case AggregateFunction::kStddev:
      return "stddev";
    case AggregateFunction::kLast:
      return "last";
    case AggregateFunction::kCountDistinct:
      return "count_distinct";
    case AggregateFunction::kLastK:
      return "last_k";
  }
  return "?";
}

bool ParseAggregateFunction(const std::string& name, AggregateFunction* out) {
  for (auto f : {AggregateFunction::kCount, AggregateFunction::kSum, AggregateFunction::kMean, AggregateFunction::kMin,
                 AggregateFunction::kMax, AggregateFunction::kStddev, AggregateFunction::kLast,
                 AggregateFunction::kCountDistinct, AggregateFunction::kLastK})
    if (name == AggregateFunctionName(f)) {
      *out = f;
      return true;
    }
  if (name == "avg") {
    *out = AggregateFunction::kMean;
    return true;
  }
  return false;
}

std::string WindowText(int64_t window_us) {
  static const std::pair<int64_t, const char*> kUnits[] = {
      {86'400'000'000, "d"}, {3'600'000'000, "h"}, {60'000'000, "m"}, {1'000'000, "s"}, {1'000, "ms"}};
  for (const auto& [unit, suffix] : kUnits)
    if (window_us % unit == 0) return std::to_string(window_us / unit) + suffix;
  return std::to_string(window_us) + "us";
}

std::string DefaultAggregateName(const WindowAggregate& a) {
  if (a.function == AggregateFunction::kLastK)
    return a.column + "_last_" + std::to_string(a.k) + "_" + WindowText(a.window_us);
  return a.column + "_" + AggregateFunctionName(a.function) + "_" + WindowText(a.window_us);
}

namespace {
bool IsInteger(FeatureType t) {
  return t == FeatureType::kBool || t == FeatureType::kInt32 || t == FeatureType::kInt64;
}
bool IsFloat(FeatureType t) { return t == FeatureType::kFloat32 || t == FeatureType::kFloat64; }
bool IsString(FeatureType t) { return t == FeatureType::kString || t == FeatureType::kBytes; }
}  // namespace

bool AggregateResultType(AggregateFunction function, FeatureType column, FeatureType* out) {
  switch (function) {
    case AggregateFunction::kCount:
      *out = FeatureType::kInt64;
      return true;
    case AggregateFunction::kCountDistinct:
      *out = FeatureType::kInt64;
      return column != FeatureType::kFloat32Vector;
    case AggregateFunction::kSum:
      *out = IsFloat(column) ? FeatureType::kFloat64 : FeatureType::kInt64;
      return IsInteger(column) || IsFloat(column);
    case AggregateFunction::kMean:
    case AggregateFunction::kStddev:
      *out = FeatureType::kFloat64;
      return IsInteger(column) || IsFloat(column);
    case AggregateFunction::kMin:
    case AggregateFunction::kMax:
      *out = column;
      return column != FeatureType::kFloat32Vector;
    case AggregateFunction::kLast:
      *out = column;
      return true;
    case AggregateFunction::kLastK:
      *out = ListOf(column);
      return column != FeatureType::kFloat32Vector;
  }
  return false;
}

Status BindAggregates(const ViewInfo& view, const std::vector<WindowAggregate>& aggregates,
                      std::vector<BoundAggregate>* bound, std::vector<int>* columns) {
  bound->clear();
  columns->clear();
  if (aggregates.empty()) return Status::InvalidArgument("no aggregates asked for");
  for (const WindowAggregate& a : aggregates) {
    BoundAggregate b;
    b.function = a.function;
    b.window_us = a.window_us;
    b.label = a.name.empty() ? DefaultAggregateName(a) : a.name;
    const std::string what = "aggregate '" + b.label + "' of view '" + view.def.name + "': ";
    const int stored = view.FeatureIndex(a.column);
    if (stored < 0) return Status::NotFound(what + "the view has no feature '" + a.column + "'");
    if (a.window_us <= 0) return Status::InvalidArgument(what + "the window must be longer than 0");
    if (a.function == AggregateFunction::kLastK && (a.k < 1 || a.k > kMaxLastK))
      return Status::InvalidArgument(what + "last_k needs k from 1 to " + std::to_string(kMaxLastK));
    if (a.function != AggregateFunction::kLastK && a.k != 0)
      return Status::InvalidArgument(what + "k goes with last_k only");
    b.input_type = view.types.types[stored];
    b.dim = view.types.dims[stored];
    if (!AggregateResultType(a.function, b.input_type, &b.output_type))
      return Status::InvalidArgument(what + AggregateFunctionName(a.function) + " does not apply to " +
                                     FeatureTypeName(b.input_type) + " values");
    if (b.output_type != b.input_type) b.dim = 0;
    if (a.function == AggregateFunction::kLastK) b.dim = a.k;
    auto at = std::find(columns->begin(), columns->end(), stored);
    b.input = static_cast<size_t>(at - columns->begin());
    if (at == columns->end()) columns->push_back(stored);
    bound->push_back(std::move(b));
  }
  return Status::OK();
}

void KeyVersions::Reset(const ViewInfo& view, const std::vector<int>& stored) {
  event_ts.clear();
  system_ts.clear();
  columns.resize(stored.size());
  for (size_t c = 0; c < stored.size(); ++c) {
    Column& col = columns[c];
    col.type = view.types.types[stored[c]];
    col.dim = view.types.dims[stored[c]];
    col.valid.clear();
    col.ints.clear();
    col.doubles.clear();
    col.strings.clear();
    col.floats.clear();
  }
}

void KeyVersions::Append(const Run& run, size_t i, const std::vector<int>& stored) {
  event_ts.push_back(run.event_ts[i]);
  system_ts.push_back(run.system_ts[i]);
  for (size_t c = 0; c < stored.size(); ++c) {
    Column& col = columns[c];
    const size_t f = static_cast<size_t>(stored[c]);
    if (f < run.columns.size())
      col.AppendFrom(run.columns[f], i);
    else
      col.AppendNull();
  }
}

void KeyVersions::Fill(const ViewInfo& view, const std::vector<int>& stored, std::vector<RunRow>* rows, Timestamp from,
                       Timestamp to, Timestamp known_at) {
  Reset(view, stored);
  std::erase_if(*rows, [&](const RunRow& r) {
    return r.run->event_ts[r.row] < from || r.run->event_ts[r.row] > to || r.run->system_ts[r.row] > known_at;
  });
  std::sort(rows->begin(), rows->end(),
            [](const RunRow& a, const RunRow& b) { return a.run->version(a.row) < b.run->version(b.row); });
  for (const RunRow& r : *rows) Append(*r.run, r.row, stored);
}

Timestamp WindowStart(Timestamp t, int64_t window_us) {
  // t - w + 1 without leaving int64: windows reaching before the earliest time start there.
  if (t < std::numeric_limits<Timestamp>::min() + window_us) return std::numeric_limits<Timestamp>::min();
  return t - window_us + 1;
}

WindowEvaluator::WindowEvaluator(const std::vector<BoundAggregate>& bound) : bound_(bound) {
  for (const BoundAggregate& b : bound) widest_ = std::max(widest_, b.window_us);
}

namespace {
// Numbers by value for count_distinct: 0.0 and -0.0 one value, every NaN one value.
int64_t DistinctBits(double d) {
  if (std::isnan(d)) return std::bit_cast<int64_t>(std::numeric_limits<double>::quiet_NaN());
  if (d == 0) return 0;
  return std::bit_cast<int64_t>(d);
}
// a < b, NaN above every number.
bool FloatLess(double a, double b) {
  if (std::isnan(a)) return false;
  if (std::isnan(b)) return true;
  return a < b;
}
}  // namespace

Status WindowEvaluator::Evaluate(const KeyVersions& v, Timestamp t, Timestamp known_at, std::vector<Column>* out,
                                 size_t row, WindowEvents* events) {
  // The events of the widest window: for each event time, its last version known at known_at
  // (versions of one event time are in (system_ts, ingest) order).
  winners_.clear();
  const auto lo = std::lower_bound(v.event_ts.begin(), v.event_ts.end(), WindowStart(t, widest_));
  const auto hi = std::upper_bound(lo, v.event_ts.end(), t);
  for (size_t i = static_cast<size_t>(lo - v.event_ts.begin()), end = static_cast<size_t>(hi - v.event_ts.begin());
       i < end; ++i) {
    if (v.system_ts[i] > known_at) continue;
    if (!winners_.empty() && v.event_ts[winners_.back()] == v.event_ts[i])
      winners_.back() = i;
    else
      winners_.push_back(i);
  }
  *events = WindowEvents{};
  if (!winners_.empty()) {
    events->found = true;
    events->event_ts = v.event_ts[winners_.back()];
    events->system_ts = v.system_ts[winners_.back()];
  }
  for (size_t a = 0; a < bound_.size(); ++a) {
    const BoundAggregate& b = bound_[a];
    const Column& in = v.columns[b.input];
    Column& dst = (*out)[a];
    const Timestamp start = WindowStart(t, b.window_us);
    size_t first = static_cast<size_t>(
        std::partition_point(winners_.begin(), winners_.end(), [&](size_t r) { return v.event_ts[r] < start; }) -
        winners_.begin());
    const bool is_int = IsInteger(in.type) || in.type == FeatureType::kTimestamp;
    const bool is_float = IsFloat(in.type);
    int64_t n = 0;
    switch (b.function) {
      case AggregateFunction::kCount:
        for (size_t w = first; w < winners_.size(); ++w) n += !in.is_null(winners_[w]);
        dst.valid[row] = 1;
        dst.ints[row] = n;
        break;
      case AggregateFunction::kSum:
      case AggregateFunction::kMean: {
        __int128 isum = 0;
        double dsum = 0;
        for (size_t w = first; w < winners_.size(); ++w) {
          const size_t r = winners_[w];
          if (in.is_null(r)) continue;
          ++n;
          if (is_int)
            isum += in.ints[r];
          else
            dsum += in.doubles[r];
        }
        if (b.function == AggregateFunction::kSum) {
          dst.valid[row] = n > 0;
          if (is_float) {
            dst.doubles[row] = dsum;
          } else {
            if (isum > std::numeric_limits<int64_t>::max() || isum < std::numeric_limits<int64_t>::min())
              return Status::InvalidArgument("aggregate '" + b.label + "': the sum leaves int64 at time " +
                                             std::to_string(t));
            dst.ints[row] = static_cast<int64_t>(isum);
          }
        } else if (n > 0) {
          dst.valid[row] = 1;
          dst.doubles[row] =
              is_float ? dsum / static_cast<double>(n) : static_cast<double>(static_cast<long double>(isum) / n);
        }
        break;
      }
      case AggregateFunction::kStddev: {
        // Welford's update, in event order.
        double mean = 0, m2 = 0;
        for (size_t w = first; w < winners_.size(); ++w) {
          const size_t r = winners_[w];
          if (in.is_null(r)) continue;
          const double x = is_float ? in.doubles[r] : static_cast<double>(in.ints[r]);
          ++n;
          const double delta = x - mean;
          mean += delta / static_cast<double>(n);
          m2 += delta * (x - mean);
        }
        if (n > 1) {
          dst.valid[row] = 1;
          dst.doubles[row] = std::sqrt(m2 / static_cast<double>(n - 1));
        }
        break;
      }
      case AggregateFunction::kMin:
      case AggregateFunction::kMax: {
        const bool want_max = b.function == AggregateFunction::kMax;
        size_t best = SIZE_MAX;
        for (size_t w = first; w < winners_.size(); ++w) {
          const size_t r = winners_[w];
          if (in.is_null(r)) continue;
          if (best == SIZE_MAX) {
            best = r;
            continue;
          }
          bool less = is_int     ? in.ints[r] < in.ints[best]
                      : is_float ? FloatLess(in.doubles[r], in.doubles[best])
                                 : in.strings[r] < in.strings[best];
          bool greater = is_int     ? in.ints[best] < in.ints[r]
                         : is_float ? FloatLess(in.doubles[best], in.doubles[r])
                                    : in.strings[best] < in.strings[r];
          if (want_max ? greater : less) best = r;
        }
        if (best != SIZE_MAX) CopyValue(dst, row, in, best);
        break;
      }
      case AggregateFunction::kLast:
        for (size_t w = winners_.size(); w > first; --w)
          if (!in.is_null(winners_[w - 1])) {
            CopyValue(dst, row, in, winners_[w - 1]);
            break;
          }
        break;
      case AggregateFunction::kLastK: {
        // Newest first: item 0 is what last gives.
        uint32_t items = 0;
        for (size_t w = winners_.size(); w > first && items < b.dim; --w)
          if (!in.is_null(winners_[w - 1])) CopyListItem(dst, row * b.dim + items++, in, winners_[w - 1]);
        dst.lengths[row] = items;
        dst.valid[row] = items > 0;
        break;
      }
      case AggregateFunction::kCountDistinct:
        if (IsString(in.type)) {
          distinct_strings_.clear();
          for (size_t w = first; w < winners_.size(); ++w)
            if (!in.is_null(winners_[w])) distinct_strings_.insert(in.strings[winners_[w]]);
          n = static_cast<int64_t>(distinct_strings_.size());
        } else {
          distinct_numbers_.clear();
          for (size_t w = first; w < winners_.size(); ++w) {
            const size_t r = winners_[w];
            if (!in.is_null(r)) distinct_numbers_.insert(is_float ? DistinctBits(in.doubles[r]) : in.ints[r]);
          }
          n = static_cast<int64_t>(distinct_numbers_.size());
        }
        dst.valid[row] = 1;
        dst.ints[row] = n;
        break;
    }
  }
  return Status::OK();
}

}  // namespace pitstore
