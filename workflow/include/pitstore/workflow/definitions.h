// Definitions files: entities, feature views and feature services in YAML, as `pitstore apply` reads them.
//
//   entities:
//     - name: user
//       description: A signed-up user
//       join_keys:
//         - {name: user_id, type: int64}        # int64 or string
//   feature_views:
//     - name: user_stats
//       entities: [user]
//       ttl: 30d                                # <n>d, <n>h, <n>m, <n>s, or 0 for none
//       event_timestamp: event_ts               # source column names, for ingestion
//       created_timestamp: created_ts           # optional: else system_ts is the commit time
//       description: Session statistics
//       owner: growth@example.com
//       tags: {team: growth}
//       features:
//         - {name: sessions_7d, type: int64, description: sessions in the last 7 days}
//         - {name: embedding, type: float32_vector, dim: 8}
//   feature_services:
//     - name: churn_model_v2
//       description: What the churn model reads
//       features: [user_stats:sessions_7d, user_stats:embedding]   # view:feature, or view:* for all
//   aggregation_views:                      # features computed from a view's rows over windows
//     - name: user_spend
//       source: transactions                # a feature view: its rows are the events
//       aggregations:
//         - {column: amount, function: sum, windows: [1h, 1d, 7d]}   # amount_sum_1h, ...
//         - {column: amount, function: mean, window: 7d, name: avg_amount_7d}
//         - {column: merchant, function: last_k, k: 5, window: 1d}    # merchant_last_5_1d, a list
//   (functions: count, sum, mean, min, max, stddev, last, count_distinct, last_k (with k, 1 to
//   1000); pitstore/aggregation.h)
//   on_demand_views:                        # features computed per request (pitstore/expression.h)
//     - name: spend_signals
//       request:                            # values given with each request or label row
//         - {name: amount, type: float64}
//       features:
//         - {name: amount_vs_mean, expression: "amount / user_spend.amount_mean_7d"}
//         - {name: big, expression: "amount > 3 * coalesce(user_spend.amount_mean_7d, 0)"}
//   (view.feature reads a view's or aggregation view's feature; a bare name a request input)
//
// Feature types: bool, int32, int64, float32, float64, string, bytes, timestamp,
// float32_vector (with dim). Unknown keys are errors, so a typo is never silently ignored; so
// are a key given twice in one mapping, a name defined twice, and a second YAML document. Every
// error names the file, line and column, including the store's refusals of what the file asks
// (ApplyDefinitions).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "pitstore/status.h"
#include "pitstore/store.h"
#include "pitstore/types.h"

namespace pitstore::workflow {

// Where each definition sits in its file, as "path:line:column".
struct DefinitionPlaces {
  std::map<std::string, std::string> entities, views, services, aggregations, on_demand;
  // Where an on-demand feature's expression starts; `exact` when its columns are the file's
  // (a one-line scalar without escapes), so an error's column in it maps to one in the file.
  struct ExpressionPlace {
    std::string path;
    uint64_t line = 0, column = 0;
    bool exact = false;
  };
  std::map<std::pair<std::string, std::string>, ExpressionPlace> expressions;  // (view, feature)
  std::map<std::pair<std::string, std::string>, std::string> features;         // (view, feature)
  // The place of what a message of the store's is about ("view 'v', feature 'f': ..."), or "".
  std::string Of(const std::string& message) const;
};

Result<Definitions> LoadDefinitions(const std::string& path, DefinitionPlaces* places = nullptr);
// The same from text in memory; `name` stands for the path in messages.
Result<Definitions> ParseDefinitions(const std::string& text, const std::string& name,
                                     DefinitionPlaces* places = nullptr);
// Store::Apply, each refusal prefixed with the place in the file of what it refuses.
Status ApplyDefinitions(Store& store, const Definitions& defs, const DefinitionPlaces& places,
                        std::vector<std::string>* changes);
// Store::Plan (what Apply would do, without doing it), refusals placed the same way.
Status PlanDefinitions(Store& store, const Definitions& defs, const DefinitionPlaces& places,
                       std::vector<std::string>* changes);
// A feature type by its name in definitions files ("int64", "float32_vector", ...; Feast's
// "Int64", "Array(Float32)", ...); false for another name.
bool ParseFeatureType(const std::string& name, FeatureType* out);
// "30d", "6h", "15m", "90s", "86400" (seconds), "0" -> microseconds; false when malformed.
bool ParseDuration(const std::string& text, int64_t* micros);

}  // namespace pitstore::workflow
