#include "pitstore/workflow/feature_refs.h"

#include <map>
#include <set>

namespace pitstore::workflow {

Result<std::vector<FeatureRef>> ResolveFeatures(Store& store, const FeatureRequest& request) {
  std::vector<std::string> names;
  if (!request.service.empty()) {
    PITSTORE_ASSIGN_OR_RETURN(FeatureServiceDef service, store.GetService(request.service));
    names = service.features;
  }
  names.insert(names.end(), request.features.begin(), request.features.end());
  if (names.empty()) return Status::InvalidArgument("no features requested: name view:feature, view:* or a service");

  std::map<std::string, FeatureViewDef> views;  // read once each
  std::vector<FeatureRef> refs;
  std::set<std::string> seen_refs;
  std::map<std::string, std::string> output_owner;  // output name -> view:feature
  std::set<std::string> on_demand_views;
  auto add = [&](const std::string& view, const std::string& feature, bool on_demand) -> Status {
    FeatureRef r{view, feature, request.full_feature_names ? view + "__" + feature : feature, on_demand};
    if (!seen_refs.insert(r.Ref()).second)
      return Status::InvalidArgument("feature '" + r.Ref() + "' is requested twice");
    auto [it, fresh] = output_owner.emplace(r.output_name, r.Ref());
    if (!fresh)
      return Status::InvalidArgument(
          "features '" + it->second + "' and '" + r.Ref() + "' would both be named '" + r.output_name + "'" +
          (request.full_feature_names ? "" : "; full feature names (view__feature) tell them apart"));
    refs.push_back(std::move(r));
    return Status::OK();
  };
  for (const std::string& name : names) {
    std::string view, feature;
    if (!ParseFeatureRef(name, &view, &feature))
      return Status::InvalidArgument("'" + name + "' is not a view:feature reference");
    auto it = views.find(view);
    if (it == views.end()) {
      Result<FeatureViewDef> def = store.GetView(view);
      if (!def.ok() && def.status().IsNotFound()) {
        // An on-demand view: its features as a view's, marked to be computed.
        Result<OnDemandViewDef> on_demand = store.GetOnDemandView(view);
        if (!on_demand.ok()) return on_demand.status().IsNotFound() ? def.status() : on_demand.status();
        FeatureViewDef as_view;
        as_view.name = view;
        for (const OnDemandFeatureDef& f : on_demand->features) as_view.features.push_back({f.name, f.type, f.dim, ""});
        on_demand_views.insert(view);
        def = std::move(as_view);
      }
      if (!def.ok()) return def.status();
      it = views.emplace(view, std::move(def).value()).first;
    }
    const FeatureViewDef& def = it->second;
    const bool on_demand = on_demand_views.count(view) > 0;
    if (feature == "*") {
      for (const FeatureDef& f : def.features) PITSTORE_RETURN_IF_ERROR(add(view, f.name, on_demand));
      continue;
    }
    bool known = false;
    for (const FeatureDef& f : def.features) known = known || f.name == feature;
    if (!known) return Status::NotFound("view '" + view + "' has no feature '" + feature + "'");
    PITSTORE_RETURN_IF_ERROR(add(view, feature, on_demand));
  }
  return refs;
}

Result<std::shared_ptr<const std::vector<FeatureRef>>> FeatureRefCache::Resolve(Store& store,
                                                                                const FeatureRequest& request) {
  std::string key = request.service + (request.full_feature_names ? "\x01" : "\x02");
  for (const std::string& f : request.features) key += f + '\0';
  uint64_t seq;
  {
    PITSTORE_ASSIGN_OR_RETURN(auto snapshot, store.GetSnapshot());
    seq = snapshot->commit_seq();
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = resolved_.find(key);
    if (it != resolved_.end() && it->second.first == seq) return it->second.second;
  }
  PITSTORE_ASSIGN_OR_RETURN(std::vector<FeatureRef> refs, ResolveFeatures(store, request));
  auto shared = std::make_shared<const std::vector<FeatureRef>>(std::move(refs));
  std::lock_guard<std::mutex> lock(mu_);
  if (resolved_.size() > max_requests_) resolved_.clear();
  resolved_[key] = {seq, shared};
  return shared;
}

std::vector<ViewFeatures> GroupByView(const std::vector<FeatureRef>& refs) {
  std::vector<ViewFeatures> groups;
  for (size_t i = 0; i < refs.size(); ++i) {
    auto it = std::find_if(groups.begin(), groups.end(), [&](const ViewFeatures& g) { return g.view == refs[i].view; });
    if (it == groups.end()) {
      groups.push_back({refs[i].view, {}, {}});
      it = groups.end() - 1;
    }
    it->features.push_back(refs[i].feature);
    it->positions.push_back(i);
  }
  return groups;
}

}  // namespace pitstore::workflow
