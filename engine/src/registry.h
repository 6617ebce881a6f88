// Registry: the entities and feature views of a store, as held in memory and as stored in a
// REGISTRY block (flatbuffers pitstore.fb.Registry). Immutable once built; a change makes a new
// one, published by a commit.
#pragma once

#include <cstdint>
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
  FeatureViewDef def;
  std::vector<JoinKeyDef> key_columns;  // the join keys of its entities, in order
  ColumnTypes types;                    // of its features, in order
  std::vector<int> all_features;        // 0..n-1: the projection for "every feature"
};

struct Registry {
  std::vector<EntityDef> entities;
  std::vector<ViewInfo> views;
  std::vector<FeatureServiceDef> services;
  uint32_t next_view_id = 1;

  const EntityDef* FindEntity(std::string_view name) const;
  const ViewInfo* FindView(std::string_view name) const;
  const ViewInfo* FindViewById(uint32_t id) const;
  const FeatureServiceDef* FindService(std::string_view name) const;
  // Fills key_columns and types of every view; InvalidArgument if an entity is missing or a
  // service names a view or feature that does not exist.
  Status Resolve();
};

std::string EncodeRegistry(const Registry& registry);
Result<std::shared_ptr<const Registry>> DecodeRegistry(std::string_view bytes);

// Checks a definition on its own (names, types, dims); the registry checks the rest.
Status ValidateEntityDef(const EntityDef& entity);
Status ValidateViewDef(const FeatureViewDef& view);
Status ValidateServiceDef(const FeatureServiceDef& service);

}  // namespace pitstore
