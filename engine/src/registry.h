// Registry: the entities and feature views of a store, as held in memory and as stored in a
// REGISTRY block (flatbuffers pitstore.fb.Registry). Immutable once built; a change makes a new
// one, published by a commit.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pitstore/status.h"
#include "pitstore/types.h"
#include "run.h"

namespace pitstore {

struct ViewInfo {
  uint32_t id = 0;
  // Every feature ever defined, by stored index (columns of rows), dropped ones included.
  FeatureViewDef def;
  std::vector<uint8_t> dropped;         // per feature of def: 1 when dropped (empty: none)
  std::vector<JoinKeyDef> key_columns;  // the join keys of its entities, in order
  ColumnTypes types;                    // of its features, in order
  std::vector<int> all_features;        // the features not dropped: the projection for "every feature"
  bool IsDropped(size_t feature) const { return feature < dropped.size() && dropped[feature]; }
  // The view as users see it: without its dropped features.
  FeatureViewDef Visible() const;
  // The stored index of the visible feature `name`, or -1.
  int FeatureIndex(std::string_view name) const;
};

struct Registry {
  std::vector<EntityDef> entities;
  std::vector<ViewInfo> views;
  std::vector<FeatureServiceDef> services;
  std::vector<AggregationViewDef> aggregation_views;
  std::vector<OnDemandViewDef> on_demand_views;  // feature types filled by Resolve
  uint32_t next_view_id = 1;
  // By Resolve: the "view:feature" references each on-demand view's expressions read.
  std::map<std::string, std::vector<std::string>> on_demand_reads;

  const EntityDef* FindEntity(std::string_view name) const;
  const ViewInfo* FindView(std::string_view name) const;
  const ViewInfo* FindViewById(uint32_t id) const;
  const FeatureServiceDef* FindService(std::string_view name) const;
  const AggregationViewDef* FindAggregationView(std::string_view name) const;
  const OnDemandViewDef* FindOnDemandView(std::string_view name) const;
  // Fills key_columns and types of every view; InvalidArgument if an entity is missing, a
  // service names a view or feature that does not exist, or an aggregation view does not bind
  // to its source (window_aggregate.h), or an on-demand view's expression does not compile
  // (pitstore/expression.h: the message names the view, feature and column).
  Status Resolve();

 private:
  Status ResolveOnDemandViews();
};

std::string EncodeRegistry(const Registry& registry);
Result<std::shared_ptr<const Registry>> DecodeRegistry(std::string_view bytes);

// Checks a definition on its own (names, types, dims); the registry checks the rest.
Status ValidateEntityDef(const EntityDef& entity);
Status ValidateViewDef(const FeatureViewDef& view);
Status ValidateServiceDef(const FeatureServiceDef& service);
// What can be checked of an aggregation view alone (names, at least one aggregate); its source
// and columns are checked by Registry::Resolve.
Status ValidateAggregationViewDef(const AggregationViewDef& view);
// Names, types and at least one feature; the expressions are compiled by Registry::Resolve.
Status ValidateOnDemandViewDef(const OnDemandViewDef& view);

}  // namespace pitstore
