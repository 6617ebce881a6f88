// Feature references (libpitstore_workflow): what a request names ("view:feature", "view:*", a
// feature service) resolved against a store, in one place for every front end. The view may
// be a feature view, an aggregation view or an on-demand view.
//
// A request lists a feature service's features (when `service` is named), then each entry of
// `features`: "view:feature", or "view:*" for every feature of the view in its order. The
// output name of each is the feature's name, or "view__feature" with full feature names (as
// Feast names them). The same view:feature twice, or two features whose output names clash,
// are refused (InvalidArgument, naming them and the remedy).
//
// Errors: InvalidArgument for a malformed reference or an empty request; NotFound for a view,
// feature or service the store does not have.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "pitstore/status.h"
#include "pitstore/store.h"

namespace pitstore::workflow {

struct FeatureRef {
  std::string view;
  std::string feature;
  std::string output_name;  // feature, or view__feature
  bool on_demand = false;   // a feature of an on-demand view, computed (on_demand.h)
  std::string Ref() const { return view + ":" + feature; }
};

struct FeatureRequest {
  std::vector<std::string> features;  // "view:feature" or "view:*"
  std::string service;                // a feature service's name; empty: none
  bool full_feature_names = false;
};

Result<std::vector<FeatureRef>> ResolveFeatures(Store& store, const FeatureRequest& request);

// ResolveFeatures once per request while the store's commit sequence stands (definitions change
// only by commits): what a server (pitstore serve, the Python package's online lookups) asks
// for on every call. Holds at most `max_requests` requests, then starts over. Thread-safe.
class FeatureRefCache {
 public:
  explicit FeatureRefCache(size_t max_requests) : max_requests_(max_requests) {}
  Result<std::shared_ptr<const std::vector<FeatureRef>>> Resolve(Store& store, const FeatureRequest& request);

 private:
  size_t max_requests_;
  std::mutex mu_;
  std::map<std::string, std::pair<uint64_t, std::shared_ptr<const std::vector<FeatureRef>>>> resolved_;
};

// The features of `refs` that belong to `view`, in order, and where each sits in `refs`.
struct ViewFeatures {
  std::string view;
  std::vector<std::string> features;
  std::vector<size_t> positions;  // into refs
};
// One entry per distinct view, in order of first mention.
std::vector<ViewFeatures> GroupByView(const std::vector<FeatureRef>& refs);

}  // namespace pitstore::workflow
