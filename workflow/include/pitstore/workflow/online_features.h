// Online features across views (libpitstore_workflow): Feast's get_online_features. For entity
// rows given as columns (join key name -> one value per row), each requested feature's value,
// status and event time, all from one snapshot of the store.
//
// Each feature's view takes its join keys from the columns of the same names (other columns
// are ignored). With `as_of` and `known_at` left at +inf the answer is Store::Latest (TTL
// judged by `read.now`, the system clock by default); otherwise Store::AsOf(key, as_of,
// known_at) (TTL judged from as_of). A key without a row is kNotFound, with a null value and
// event time 0.
//
// On-demand features (on_demand.h) are computed from the stored features they read and from
// `request`; now() is `as_of` when given, else the reader's clock (read.now, or the system
// clock read once, which also judges TTL). Their status is kPresent or kNull, their event time
// the newest among the stored features they read.
//
// Errors: those of ResolveFeatures; InvalidArgument naming the column (and row) for a missing
// join key column, columns of different lengths, or a value of the wrong key type; naming the
// request input a requested on-demand feature needs and the request lacks.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "pitstore/store.h"
#include "pitstore/workflow/feature_refs.h"

namespace pitstore::workflow {

struct EntityRows {
  std::vector<std::pair<std::string, std::vector<KeyPart>>> columns;  // join key name -> values
  // Request input name -> values (one per row, or one for every row), for on-demand features.
  std::vector<std::pair<std::string, std::vector<Value>>> request;
};

class OnDemandPlan;

struct OnlineOptions {
  ReadOptions read;
  Timestamp as_of = kMaxTimestamp;
  Timestamp known_at = kMaxTimestamp;
  // The on-demand plan of these refs (OnDemandPlanCache, on_demand.h), made now when null.
  std::shared_ptr<const OnDemandPlan> plan;
};

struct OnlineFeatureColumn {
  FeatureRef ref;
  std::vector<Value> values;          // one per entity row
  std::vector<ValueStatus> statuses;  // one per entity row
  std::vector<Timestamp> event_ts;    // of the row that answered; 0 when none did
};

struct OnlineFeatures {
  size_t rows = 0;
  std::vector<OnlineFeatureColumn> features;  // in the order of the request
};

Result<OnlineFeatures> GetOnlineFeatures(Store& store, const std::vector<FeatureRef>& refs, const EntityRows& rows,
                                         const OnlineOptions& options = {});

}  // namespace pitstore::workflow
