#include "pitstore/workflow/online_features.h"

#include <algorithm>

#include "pitstore/env.h"
#include "pitstore/workflow/entity_keys.h"
#include "pitstore/workflow/on_demand.h"

namespace pitstore::workflow {
namespace {

// The view's keys for every row, from the entity columns named by its join keys.
Result<std::vector<EntityKey>> KeysOf(const std::vector<JoinKeyDef>& key_defs, const std::string& view,
                                      const EntityRows& rows, size_t n) {
  std::vector<const std::vector<KeyPart>*> sources;
  for (const JoinKeyDef& k : key_defs) {
    const std::vector<KeyPart>* found = nullptr;
    for (const auto& [name, values] : rows.columns)
      if (name == k.name) found = &values;
    if (!found)
      return Status::InvalidArgument("the entity rows have no column '" + k.name + "' (a join key of view '" + view +
                                     "')");
    sources.push_back(found);
  }
  std::vector<EntityKey> keys(n);
  for (size_t i = 0; i < n; ++i) {
    keys[i].reserve(key_defs.size());
    for (size_t k = 0; k < key_defs.size(); ++k) {
      const KeyPart& part = (*sources[k])[i];
      bool is_int = std::holds_alternative<int64_t>(part);
      if (is_int != (key_defs[k].type == KeyType::kInt64))
        return Status::InvalidArgument("entity column '" + key_defs[k].name + "', row " + std::to_string(i) +
                                       ": expected " + (is_int ? "a string" : "an integer") + " (the join key is " +
                                       (is_int ? "a string" : "an int64") + ")");
      keys[i].push_back(part);
    }
  }
  return keys;
}

// The stored features `refs` (of feature views and aggregation views) for every row.
Result<OnlineFeatures> GetStoredFeatures(Store& store, const std::vector<FeatureRef>& refs, const EntityRows& rows,
                                         const OnlineOptions& options) {
  OnlineFeatures out;
  out.rows = rows.columns.empty() ? 0 : rows.columns[0].second.size();
  for (const auto& [name, values] : rows.columns)
    if (values.size() != out.rows)
      return Status::InvalidArgument("entity column '" + name + "' has " + std::to_string(values.size()) +
                                     " value(s), column '" + rows.columns[0].first + "' " + std::to_string(out.rows));
  out.features.resize(refs.size());
  for (size_t i = 0; i < refs.size(); ++i) out.features[i].ref = refs[i];

  // One snapshot for every view, unless the caller brought one.
  std::unique_ptr<Snapshot> snapshot;
  ReadOptions read = options.read;
  if (!read.snapshot) {
    PITSTORE_ASSIGN_OR_RETURN(snapshot, store.GetSnapshot());
    read.snapshot = snapshot.get();
  }
  const bool latest = options.as_of == kMaxTimestamp && options.known_at == kMaxTimestamp;
  for (const ViewFeatures& group : GroupByView(refs)) {
    PITSTORE_ASSIGN_OR_RETURN(FeatureViewDef def, store.GetView(group.view));
    PITSTORE_ASSIGN_OR_RETURN(std::vector<JoinKeyDef> key_defs, ViewKeyColumns(store, def));
    PITSTORE_ASSIGN_OR_RETURN(std::vector<EntityKey> keys, KeysOf(key_defs, group.view, rows, out.rows));
    std::vector<Lookup> lookups;
    if (latest) {
      PITSTORE_ASSIGN_OR_RETURN(lookups, store.LatestBatch(group.view, keys, group.features, read));
    } else {
      lookups.reserve(keys.size());
      for (const EntityKey& key : keys) {
        PITSTORE_ASSIGN_OR_RETURN(Lookup l,
                                  store.AsOf(group.view, key, options.as_of, options.known_at, group.features, read));
        lookups.push_back(std::move(l));
      }
    }
    for (size_t f = 0; f < group.features.size(); ++f) {
      OnlineFeatureColumn& col = out.features[group.positions[f]];
      col.values.reserve(out.rows);
      for (const Lookup& l : lookups) {
        if (!l.found) {
          col.values.push_back(Value::Null());
          col.statuses.push_back(ValueStatus::kNotFound);
          col.event_ts.push_back(0);
          continue;
        }
        col.values.push_back(l.values[f]);
        col.statuses.push_back(l.status[f]);
        col.event_ts.push_back(l.event_ts);
      }
    }
  }
  return out;
}

}  // namespace

Result<OnlineFeatures> GetOnlineFeatures(Store& store, const std::vector<FeatureRef>& refs, const EntityRows& rows,
                                         const OnlineOptions& options) {
  // A request of stored features alone (the common one) makes no plan.
  if (!options.plan && std::none_of(refs.begin(), refs.end(), [](const FeatureRef& r) { return r.on_demand; }))
    return GetStoredFeatures(store, refs, rows, options);
  std::shared_ptr<const OnDemandPlan> made = options.plan;
  if (!made) {
    PITSTORE_ASSIGN_OR_RETURN(OnDemandPlan plan, OnDemandPlan::Make(store, refs));
    made = std::make_shared<const OnDemandPlan>(std::move(plan));
  }
  const OnDemandPlan& plan = *made;
  if (!plan.any()) return GetStoredFeatures(store, refs, rows, options);
  // One clock for TTL and now(): the reader's, read once.
  OnlineOptions o = options;
  if (o.read.now == kMinTimestamp) o.read.now = Env::Default()->NowMicros();
  const Timestamp now = o.as_of != kMaxTimestamp ? o.as_of : o.read.now;
  PITSTORE_ASSIGN_OR_RETURN(OnlineFeatures stored, GetStoredFeatures(store, plan.stored(), rows, o));
  OnlineFeatures out;
  out.rows = stored.rows;
  if (rows.columns.empty()) {  // no keys: as many rows as the longest request column, at least one
    out.rows = 1;
    for (const auto& [name, values] : rows.request) out.rows = std::max(out.rows, values.size());
  }
  std::vector<std::vector<Value>> request;
  for (const RequestInputDef& in : plan.request_inputs()) {
    const std::vector<Value>* found = nullptr;
    for (const auto& [name, values] : rows.request)
      if (name == in.name) found = &values;
    if (!found)
      return Status::InvalidArgument("the request has no value for '" + in.name + "' (a request input, " +
                                     ExpressionTypeName(in.type, in.dim) + ", of a requested on-demand feature)");
    if (found->size() != 1 && found->size() != out.rows)
      return Status::InvalidArgument("request input '" + in.name + "' has " + std::to_string(found->size()) +
                                     " value(s) for " + std::to_string(out.rows) + " row(s)");
    request.push_back(*found);
  }
  auto stored_value = [&](size_t i, size_t row) { return stored.features[i].values[row]; };
  auto row_time = [&](size_t) { return now; };
  for (size_t p = 0; p < refs.size(); ++p) {
    int at = plan.stored_index()[p];
    if (at >= 0) {
      out.features.push_back(stored.features[static_cast<size_t>(at)]);
      out.features.back().ref = refs[p];  // the plan may be cached from a request named otherwise
      continue;
    }
    OnlineFeatureColumn col;
    col.ref = refs[p];
    col.values = plan.Compute(p, out.rows, stored_value, request, row_time);
    for (size_t row = 0; row < out.rows; ++row) {
      col.statuses.push_back(col.values[row].is_null() ? ValueStatus::kNull : ValueStatus::kPresent);
      Timestamp ts = 0;  // the newest answer among the sources read
      for (size_t source : plan.SourcesOf(p)) ts = std::max(ts, stored.features[source].event_ts[row]);
      col.event_ts.push_back(ts);
    }
    out.features.push_back(std::move(col));
  }
  return out;
}

}  // namespace pitstore::workflow
