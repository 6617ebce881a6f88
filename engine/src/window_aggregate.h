// The one computation of windowed aggregates (pitstore/aggregation.h), shared by the online
// read and both join plans: the versions of one key go in, in version order; each label's
// events are picked at its knowledge horizon and each window aggregated over them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "pitstore/aggregation.h"
#include "pitstore/column.h"
#include "pitstore/status.h"
#include "registry.h"
#include "run.h"

namespace pitstore {

// An aggregate checked against its view: which stored column it reads (as an index into
// KeyVersions::columns) and what it returns.
struct BoundAggregate {
  AggregateFunction function = AggregateFunction::kCount;
  int64_t window_us = 0;
  size_t input = 0;  // into KeyVersions::columns
  FeatureType input_type = FeatureType::kInt64;
  FeatureType output_type = FeatureType::kInt64;
  uint32_t dim = 0;   // of a vector output (last)
  std::string label;  // the aggregate's name, for messages
};

// Checks `aggregates` against the view's visible features; fills `bound`, and `columns` with the
// stored feature index of each distinct input column (in first-use order).
Status BindAggregates(const ViewInfo& view, const std::vector<WindowAggregate>& aggregates,
                      std::vector<BoundAggregate>* bound, std::vector<int>* columns);

// One row of a run, as a reader holds it while it collects a key's rows.
struct RunRow {
  const Run* run;
  size_t row;
};

// The versions of one key in version order: times, and the columns the aggregates read.
struct KeyVersions {
  std::vector<Timestamp> event_ts, system_ts;
  std::vector<Column> columns;

  // Empties it, with one column per entry of `stored` (stored feature indexes of `view`).
  void Reset(const ViewInfo& view, const std::vector<int>& stored);
  size_t size() const { return event_ts.size(); }
  // Appends row i of `run` (columns the run lacks, written before a feature existed, are null).
  void Append(const Run& run, size_t i, const std::vector<int>& stored);
  // Reset, then the rows of `rows` (one key's, from any blocks, in any order; reordered here)
  // with from <= event_ts <= to and system_ts <= known_at, in version order.
  void Fill(const ViewInfo& view, const std::vector<int>& stored, std::vector<RunRow>* rows, Timestamp from,
            Timestamp to, Timestamp known_at);
};

// What one evaluation found besides the values: whether the widest window held an event, and
// the newest such event's times.
struct WindowEvents {
  bool found = false;
  Timestamp event_ts = 0, system_ts = 0;
};

// Evaluates every aggregate of `bound` at (t, known_at) over `versions` into slot `row` of
// out[a] (columns of NullColumn slots). InvalidArgument on an integer sum that leaves int64.
// Its buffers are reused between calls: one evaluator per thread.
class WindowEvaluator {
 public:
  explicit WindowEvaluator(const std::vector<BoundAggregate>& bound);
  Status Evaluate(const KeyVersions& versions, Timestamp t, Timestamp known_at, std::vector<Column>* out, size_t row,
                  WindowEvents* events);
  int64_t widest_window() const { return widest_; }

 private:
  const std::vector<BoundAggregate>& bound_;
  int64_t widest_ = 0;
  std::vector<size_t> winners_;  // rows of the events in the widest window, in event order
  std::unordered_set<int64_t> distinct_numbers_;
  std::unordered_set<std::string_view> distinct_strings_;
};

// The smallest event time inside the window of width w ending at t: t - w + 1, saturated.
Timestamp WindowStart(Timestamp t, int64_t window_us);

}  // namespace pitstore
