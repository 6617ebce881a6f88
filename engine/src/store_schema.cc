// Definitions: entities, feature views and services, committed as a new registry.
#include "store_impl.h"

namespace pitstore {

Status StoreImpl::CommitRegistry(std::shared_ptr<Registry> next) {
  PITSTORE_RETURN_IF_ERROR(next->Resolve());
  TxnBuilder tb(meta_.applied_offset);
  tb.AddRegistry(next);
  CommitRecord c;
  c.commit_seq = meta_.commit_seq + 1;
  c.commit_ts = std::max(NowMicros(), meta_.commit_ts + 1);
  ParsedTxn& t = tb.Finish(c);
  return WriteAndPublish(tb, t, true);
}

// Merges one entity into `next`; `changes` gets a line when something changes.
static Status MergeEntityDef(Registry* next, const EntityDef& entity, std::vector<std::string>* changes) {
  PITSTORE_RETURN_IF_ERROR(ValidateEntityDef(entity));
  for (EntityDef& e : next->entities) {
    if (e.name != entity.name) continue;
    bool same_keys = e.join_keys.size() == entity.join_keys.size();
    for (size_t i = 0; same_keys && i < e.join_keys.size(); ++i)
      same_keys = e.join_keys[i].name == entity.join_keys[i].name && e.join_keys[i].type == entity.join_keys[i].type;
    if (!same_keys)
      return Status::InvalidArgument("entity '" + entity.name + "' exists with other join keys; keys cannot change");
    if (e.description != entity.description) {
      e.description = entity.description;
      changes->push_back("update entity '" + entity.name + "' (description)");
    }
    return Status::OK();
  }
  next->entities.push_back(entity);
  changes->push_back("create entity '" + entity.name + "'");
  return Status::OK();
}

// A feature a source could not tell from a join key or a timestamp column of its view: such a
// view could never be ingested into. Checked for features from `first` on (those being added:
// a store made before this rule keeps its views).
static Status CheckColumnNames(const Registry& next, const FeatureViewDef& view, size_t first) {
  for (size_t i = first; i < view.features.size(); ++i) {
    const std::string& name = view.features[i].name;
    auto clash = [&](const std::string& what) {
      return Status::InvalidArgument("view '" + view.name + "', feature '" + name + "': named like " + what +
                                     "; a source could not tell the two columns apart");
    };
    for (const std::string& e : view.entities)
      for (const JoinKeyDef& k : next.FindEntity(e)->join_keys)
        if (k.name == name) return clash("the join key of entity '" + e + "'");
    // Sources name the event time `event_ts` unless the view says otherwise.
    if (name == (view.event_ts_column.empty() ? "event_ts" : view.event_ts_column))
      return clash("the view's event timestamp column");
    if (!view.created_ts_column.empty() && name == view.created_ts_column)
      return clash("the view's created timestamp column");
  }
  return Status::OK();
}

// Merges one view into `next` under the evolution rules of Store::DefineView.
static Status MergeViewDef(Registry* next, const FeatureViewDef& view, std::vector<std::string>* changes) {
  PITSTORE_RETURN_IF_ERROR(ValidateViewDef(view));
  for (const std::string& e : view.entities)
    if (!next->FindEntity(e)) return Status::InvalidArgument("view '" + view.name + "': unknown entity '" + e + "'");
  size_t known_features = 0;
  for (const ViewInfo& vi : next->views)
    if (vi.def.name == view.name) known_features = std::min(vi.all_features.size(), view.features.size());
  PITSTORE_RETURN_IF_ERROR(CheckColumnNames(*next, view, known_features));
  for (ViewInfo& vi : next->views) {
    if (vi.def.name != view.name) continue;
    // Definitions name the features users see; dropped ones keep their stored indexes.
    const FeatureViewDef old = vi.Visible();
    if (old.entities != view.entities)
      return Status::InvalidArgument("view '" + view.name + "': its entities cannot change");
    if (view.features.size() < old.features.size())
      return Status::InvalidArgument("view '" + view.name + "': features cannot be removed");
    for (size_t i = 0; i < old.features.size(); ++i) {
      const FeatureDef &a = old.features[i], &b = view.features[i];
      bool was_dropped = false;
      for (size_t d = 0; d < vi.def.features.size(); ++d)
        was_dropped |= vi.IsDropped(d) && vi.def.features[d].name == b.name && a.name != b.name;
      if (was_dropped)
        return Status::InvalidArgument("view '" + view.name + "': feature '" + b.name +
                                       "' was dropped; remove it from the definitions (listed again at the end, it "
                                       "is a new, empty feature)");
      if (a.name != b.name)
        return Status::InvalidArgument("view '" + view.name + "': feature " + std::to_string(i) + " is '" + a.name +
                                       "'; features cannot be renamed, removed or reordered");
      if (a.type != b.type || a.dim != b.dim)
        return Status::InvalidArgument("view '" + view.name + "', feature '" + a.name + "': type cannot change (" +
                                       FeatureTypeName(a.type) + " to " + FeatureTypeName(b.type) + ")");
    }
    std::vector<std::string> what;
    for (size_t i = old.features.size(); i < view.features.size(); ++i)
      what.push_back("add feature '" + view.features[i].name + "'");
    if (view.ttl_us != old.ttl_us) what.push_back("ttl");
    if (view.retention_us != old.retention_us) what.push_back("retention");
    if (view.freshness_us != old.freshness_us) what.push_back("freshness");
    bool described = view.description != old.description;
    for (size_t i = 0; i < old.features.size(); ++i)
      described |= old.features[i].description != view.features[i].description;
    if (described) what.push_back("descriptions");
    if (view.tags != old.tags) what.push_back("tags");
    if (view.owner != old.owner) what.push_back("owner");
    if (view.event_ts_column != old.event_ts_column || view.created_ts_column != old.created_ts_column)
      what.push_back("source columns");
    if (what.empty()) return Status::OK();
    std::string line = "update view '" + view.name + "':";
    for (const std::string& w : what) line += " " + w;
    changes->push_back(line);
    FeatureViewDef stored = view;
    stored.features = vi.def.features;
    for (size_t i = 0; i < old.features.size(); ++i) stored.features[vi.all_features[i]] = view.features[i];
    for (size_t i = old.features.size(); i < view.features.size(); ++i) {
      vi.all_features.push_back(static_cast<int>(stored.features.size()));
      vi.types.types.push_back(view.features[i].type);
      vi.types.dims.push_back(view.features[i].dim);
      stored.features.push_back(view.features[i]);
      vi.dropped.push_back(0);
    }
    vi.def = std::move(stored);
    return Status::OK();
  }
  ViewInfo vi;
  vi.id = next->next_view_id++;
  vi.def = view;
  vi.dropped.assign(view.features.size(), 0);
  for (size_t i = 0; i < view.features.size(); ++i) {
    vi.all_features.push_back(static_cast<int>(i));
    vi.types.types.push_back(view.features[i].type);
    vi.types.dims.push_back(view.features[i].dim);
  }
  next->views.push_back(std::move(vi));
  changes->push_back("create view '" + view.name + "'");
  return Status::OK();
}

// Creates `def` in `list`, or replaces the definition of its name unless `same` says it is
// unchanged: services, aggregation views and on-demand views are metadata (nothing is stored
// per aggregate or per expression), so a new definition applies to all history at once.
// `kind` names it in `changes`.
template <typename Def, typename Same>
static void CreateOrReplace(std::vector<Def>* list, const Def& def, Same same, const std::string& kind,
                            std::vector<std::string>* changes) {
  for (Def& have : *list) {
    if (have.name != def.name) continue;
    if (same(have, def)) return;
    have = def;
    changes->push_back("update " + kind + " '" + def.name + "'");
    return;
  }
  list->push_back(def);
  changes->push_back("create " + kind + " '" + def.name + "'");
}

// Creates or replaces one service in `next` (checked against the views by Resolve).
static Status MergeServiceDef(Registry* next, const FeatureServiceDef& service, std::vector<std::string>* changes) {
  PITSTORE_RETURN_IF_ERROR(ValidateServiceDef(service));
  auto same = [](const FeatureServiceDef& a, const FeatureServiceDef& b) {
    return a.features == b.features && a.description == b.description && a.tags == b.tags && a.owner == b.owner;
  };
  CreateOrReplace(&next->services, service, same, "service", changes);
  return Status::OK();
}

// Creates or replaces one aggregation view in `next` (checked against its source by Resolve).
static Status MergeAggregationViewDef(Registry* next, const AggregationViewDef& view,
                                      std::vector<std::string>* changes) {
  PITSTORE_RETURN_IF_ERROR(ValidateAggregationViewDef(view));
  auto same = [](const AggregationViewDef& a, const AggregationViewDef& b) {
    if (a.source != b.source || a.description != b.description || a.tags != b.tags || a.owner != b.owner ||
        a.aggregates.size() != b.aggregates.size())
      return false;
    for (size_t i = 0; i < a.aggregates.size(); ++i) {
      const WindowAggregate &x = a.aggregates[i], &y = b.aggregates[i];
      if (x.column != y.column || x.function != y.function || x.window_us != y.window_us || x.name != y.name ||
          x.k != y.k)
        return false;
    }
    return true;
  };
  CreateOrReplace(&next->aggregation_views, view, same, "aggregation view", changes);
  return Status::OK();
}

// Creates or replaces one on-demand view in `next` (its expressions are compiled by Resolve,
// which also records their result types: `same` leaves those out).
static Status MergeOnDemandViewDef(Registry* next, const OnDemandViewDef& view, std::vector<std::string>* changes) {
  PITSTORE_RETURN_IF_ERROR(ValidateOnDemandViewDef(view));
  auto same = [](const OnDemandViewDef& a, const OnDemandViewDef& b) {
    if (a.description != b.description || a.tags != b.tags || a.owner != b.owner ||
        a.request.size() != b.request.size() || a.features.size() != b.features.size())
      return false;
    for (size_t i = 0; i < a.request.size(); ++i)
      if (a.request[i].name != b.request[i].name || a.request[i].type != b.request[i].type ||
          a.request[i].dim != b.request[i].dim)
        return false;
    for (size_t i = 0; i < a.features.size(); ++i)
      if (a.features[i].name != b.features[i].name || a.features[i].expression != b.features[i].expression ||
          a.features[i].description != b.features[i].description)
        return false;
    return true;
  };
  CreateOrReplace(&next->on_demand_views, view, same, "on-demand view", changes);
  return Status::OK();
}

// Every definition of `defs` merged into `next`, in order: entities, views, services,
// aggregation views, on-demand views (Registry::Resolve checks them together).
static Status MergeDefinitions(Registry* next, const Definitions& defs, std::vector<std::string>* changes) {
  for (const EntityDef& e : defs.entities) PITSTORE_RETURN_IF_ERROR(MergeEntityDef(next, e, changes));
  for (const FeatureViewDef& v : defs.views) PITSTORE_RETURN_IF_ERROR(MergeViewDef(next, v, changes));
  for (const FeatureServiceDef& sv : defs.services) PITSTORE_RETURN_IF_ERROR(MergeServiceDef(next, sv, changes));
  for (const AggregationViewDef& a : defs.aggregation_views)
    PITSTORE_RETURN_IF_ERROR(MergeAggregationViewDef(next, a, changes));
  for (const OnDemandViewDef& o : defs.on_demand_views)
    PITSTORE_RETURN_IF_ERROR(MergeOnDemandViewDef(next, o, changes));
  return Status::OK();
}

Status StoreImpl::Apply(const Definitions& defs, std::vector<std::string>* changes) {
  if (options_.read_only) return Status::InvalidArgument("store is open read-only");
  std::vector<std::string> local;
  if (!changes) changes = &local;
  MutexLock lock(write_mu_);
  PITSTORE_RETURN_IF_ERROR(broken_);
  auto next = std::make_shared<Registry>(*Current()->registry);
  PITSTORE_RETURN_IF_ERROR(MergeDefinitions(next.get(), defs, changes));
  if (changes->empty()) return Status::OK();
  return CommitRegistry(next);
}

Status StoreImpl::Plan(const Definitions& defs, std::vector<std::string>* changes) {
  return WithSnapshot(ReadOptions{}, [&](SnapshotImpl& s) -> Status {
    Registry next(*s.registry);
    PITSTORE_RETURN_IF_ERROR(MergeDefinitions(&next, defs, changes));
    return changes->empty() ? Status::OK() : next.Resolve();  // what CommitRegistry would refuse
  });
}

Status StoreImpl::DefineEntity(const EntityDef& entity) {
  return Apply(Definitions{{entity}, {}, {}, {}, {}}, nullptr);
}

Status StoreImpl::DefineView(const FeatureViewDef& view) { return Apply(Definitions{{}, {view}, {}, {}, {}}, nullptr); }

// Definitions as committed now (through a snapshot, so a read-only process sees new views).
Result<FeatureViewDef> StoreImpl::GetView(const std::string& name) {
  return WithSnapshot(ReadOptions{}, [&](SnapshotImpl& s) -> Result<FeatureViewDef> {
    if (const AggregationViewDef* a = s.registry->FindAggregationView(name)) {
      PITSTORE_ASSIGN_OR_RETURN(const ViewInfo* source, FindView(*s.registry, a->source));
      return AggregationViewAsView(*a, *source);
    }
    PITSTORE_ASSIGN_OR_RETURN(const ViewInfo* v, FindView(*s.registry, name));
    return v->Visible();
  });
}

Result<EntityDef> StoreImpl::GetEntity(const std::string& name) {
  return WithSnapshot(ReadOptions{}, [&](SnapshotImpl& s) -> Result<EntityDef> {
    const EntityDef* e = s.registry->FindEntity(name);
    if (!e) return Status::NotFound("no entity '" + name + "'");
    return *e;
  });
}

Result<FeatureServiceDef> StoreImpl::GetService(const std::string& name) {
  return WithSnapshot(ReadOptions{}, [&](SnapshotImpl& s) -> Result<FeatureServiceDef> {
    const FeatureServiceDef* sv = s.registry->FindService(name);
    if (!sv) return Status::NotFound("no feature service '" + name + "'");
    return *sv;
  });
}

Result<std::vector<std::string>> StoreImpl::ListServices() {
  std::vector<std::string> out;
  PITSTORE_RETURN_IF_ERROR(WithSnapshot(ReadOptions{}, [&](SnapshotImpl& s) -> Status {
    for (const FeatureServiceDef& sv : s.registry->services) out.push_back(sv.name);
    return Status::OK();
  }));
  return out;
}

Result<AggregationViewDef> StoreImpl::GetAggregationView(const std::string& name) {
  return WithSnapshot(ReadOptions{}, [&](SnapshotImpl& s) -> Result<AggregationViewDef> {
    const AggregationViewDef* a = s.registry->FindAggregationView(name);
    if (!a) return Status::NotFound("no aggregation view '" + name + "'");
    return *a;
  });
}

Result<std::vector<std::string>> StoreImpl::ListAggregationViews() {
  std::vector<std::string> out;
  PITSTORE_RETURN_IF_ERROR(WithSnapshot(ReadOptions{}, [&](SnapshotImpl& s) -> Status {
    for (const AggregationViewDef& a : s.registry->aggregation_views) out.push_back(a.name);
    return Status::OK();
  }));
  return out;
}

Result<OnDemandViewDef> StoreImpl::GetOnDemandView(const std::string& name) {
  return WithSnapshot(ReadOptions{}, [&](SnapshotImpl& s) -> Result<OnDemandViewDef> {
    const OnDemandViewDef* o = s.registry->FindOnDemandView(name);
    if (!o) return Status::NotFound("no on-demand view '" + name + "'");
    return *o;
  });
}

Result<std::vector<std::string>> StoreImpl::ListOnDemandViews() {
  std::vector<std::string> out;
  PITSTORE_RETURN_IF_ERROR(WithSnapshot(ReadOptions{}, [&](SnapshotImpl& s) -> Status {
    for (const OnDemandViewDef& o : s.registry->on_demand_views) out.push_back(o.name);
    return Status::OK();
  }));
  return out;
}

Result<std::vector<std::string>> StoreImpl::ListViews() {
  std::vector<std::string> out;
  PITSTORE_RETURN_IF_ERROR(WithSnapshot(ReadOptions{}, [&](SnapshotImpl& s) -> Status {
    for (const ViewInfo& v : s.registry->views) out.push_back(v.def.name);
    return Status::OK();
  }));
  return out;
}

Result<std::vector<std::string>> StoreImpl::ListEntities() {
  std::vector<std::string> out;
  PITSTORE_RETURN_IF_ERROR(WithSnapshot(ReadOptions{}, [&](SnapshotImpl& s) -> Status {
    for (const EntityDef& e : s.registry->entities) out.push_back(e.name);
    return Status::OK();
  }));
  return out;
}

}  // namespace pitstore
