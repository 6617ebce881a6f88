// On-demand features (libpitstore_workflow): the features of on-demand views (OnDemandViewDef in
// pitstore/types.h, expressions in pitstore/expression.h) computed from the stored features
// they read and from request inputs, by this one code for online reads (online_features.h) and
// joins (joiner.h), so `get`, `join`, the server and Python agree.
//
// A request's features split into stored ones (of feature views and aggregation views, read by
// the store) and on-demand ones. The stored features read are the requested ones, then each
// feature an expression reads that was not requested (once). An on-demand value is its
// expression evaluated on one row with: each source feature's value as the read found it (null
// when the key was not found, the value expired or is null), each request input's value, and
// now() = the row's time: the label's time in a join; in get, the as-of time or, for latest,
// the reader's clock.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "pitstore/expression.h"
#include "pitstore/io/record_source.h"
#include "pitstore/store.h"
#include "pitstore/workflow/feature_refs.h"

namespace pitstore::workflow {

class OnDemandPlan {
 public:
  // Compiles the on-demand features among `refs` (resolved by ResolveFeatures). Errors: those
  // of Store::GetOnDemandView, and InvalidArgument when two on-demand views of the request
  // declare one request input with different types.
  static Result<OnDemandPlan> Make(Store& store, const std::vector<FeatureRef>& refs);

  bool any() const { return !computed_.empty(); }
  // The stored features to read, in order: the requested ones (in request order), then sources.
  const std::vector<FeatureRef>& stored() const { return stored_; }
  // For each requested feature: its index in stored(), or -1 for an on-demand feature.
  const std::vector<int>& stored_index() const { return stored_index_; }
  // Every request input the expressions read, each once, in order of first mention.
  const std::vector<RequestInputDef>& request_inputs() const { return request_inputs_; }
  // The type of each requested on-demand feature, by its position in the request.
  FeatureDef TypeOf(size_t position) const;
  // The stored() indexes on-demand feature at `position` reads (for the time of its answer).
  const std::vector<size_t>& SourcesOf(size_t position) const;

  // The values of the on-demand feature at `position`, one per row. `stored_value(i, row)`
  // gives stored()[i] at a row; `request[j]` holds request_inputs()[j]'s value per row (or one
  // value for every row); `now(row)` the row's time.
  std::vector<Value> Compute(size_t position, size_t rows, const std::function<Value(size_t, size_t)>& stored_value,
                             const std::vector<std::vector<Value>>& request,
                             const std::function<Timestamp(size_t)>& now) const;
  // The same column-wise (Expression::EvaluateColumns), for joins: `stored` one column per
  // stored() entry, `request` one per request_inputs() entry, `now` one time per row.
  Result<Column> ComputeColumns(size_t position, size_t rows, const std::vector<Column>& stored,
                                const std::vector<Column>& request, const std::vector<Timestamp>& now) const;

 private:
  struct Computed {
    size_t position;  // in the request
    Expression expression;
    FeatureDef def;
    // Per expression input: index into stored(), or into request_inputs() when from_request.
    std::vector<size_t> input_index;
    std::vector<uint8_t> from_request;
    std::vector<size_t> sources;  // the stored() indexes read
  };
  const Computed& Find(size_t position) const;

  std::vector<FeatureRef> stored_;
  std::vector<int> stored_index_;
  std::vector<RequestInputDef> request_inputs_;
  std::vector<Computed> computed_;
};

// OnDemandPlan::Make once per set of features while the store's commit sequence stands (a
// plan compiles expressions and reads definitions: a server asks for the same on every call).
// Null for features without on-demand ones (nothing to plan, no snapshot taken). Holds at
// most `max_plans`, then starts over. Thread-safe.
class OnDemandPlanCache {
 public:
  explicit OnDemandPlanCache(size_t max_plans) : max_plans_(max_plans) {}
  Result<std::shared_ptr<const OnDemandPlan>> Get(Store& store, const std::vector<FeatureRef>& refs);

 private:
  size_t max_plans_;
  std::mutex mu_;
  std::map<std::string, std::pair<uint64_t, std::shared_ptr<const OnDemandPlan>>> plans_;
};

// A request input's value from text (the CLI's --request name=value, a CSV label cell): bool
// (true/false), int64, float64, string (as is), timestamp (RFC 3339 with an offset, or integer
// microseconds), vector ("[1, 2.5]" of its length). InvalidArgument naming the input and what
// was expected.
Result<Value> RequestValueFromText(const RequestInputDef& input, const std::string& text);
// The same from a label file's field (CSV text, a JSON value, a Parquet value); null or missing
// is a null value. Errors name the input, not the place (callers add file:line:column).
Result<Value> RequestValueFromField(const RequestInputDef& input, const io::Field& field);

}  // namespace pitstore::workflow
