#include "registry.h"

#include <algorithm>
#include <set>

#include "pitstore/expression.h"
#include "pitstore_generated.h"
#include "window_aggregate.h"

namespace pitstore {

const EntityDef* Registry::FindEntity(std::string_view name) const {
  for (const EntityDef& e : entities)
    if (e.name == name) return &e;
  return nullptr;
}
const ViewInfo* Registry::FindView(std::string_view name) const {
  for (const ViewInfo& v : views)
    if (v.def.name == name) return &v;
  return nullptr;
}
const AggregationViewDef* Registry::FindAggregationView(std::string_view name) const {
  for (const AggregationViewDef& a : aggregation_views)
    if (a.name == name) return &a;
  return nullptr;
}

const OnDemandViewDef* Registry::FindOnDemandView(std::string_view name) const {
  for (const OnDemandViewDef& o : on_demand_views)
    if (o.name == name) return &o;
  return nullptr;
}

const FeatureServiceDef* Registry::FindService(std::string_view name) const {
  for (const FeatureServiceDef& s : services)
    if (s.name == name) return &s;
  return nullptr;
}
const ViewInfo* Registry::FindViewById(uint32_t id) const {
  for (const ViewInfo& v : views)
    if (v.id == id) return &v;
  return nullptr;
}

FeatureViewDef ViewInfo::Visible() const {
  FeatureViewDef out = def;
  out.features.clear();
  for (int i : all_features) out.features.push_back(def.features[i]);
  return out;
}

int ViewInfo::FeatureIndex(std::string_view name) const {
  for (int i : all_features)
    if (def.features[i].name == name) return i;
  return -1;
}

Status Registry::Resolve() {
  for (ViewInfo& v : views) {
    v.key_columns.clear();
    v.types = {};
    for (const std::string& name : v.def.entities) {
      const EntityDef* e = FindEntity(name);
      if (!e) return Status::InvalidArgument("view '" + v.def.name + "' uses unknown entity '" + name + "'");
      v.key_columns.insert(v.key_columns.end(), e->join_keys.begin(), e->join_keys.end());
    }
    v.all_features.clear();
    v.dropped.resize(v.def.features.size(), 0);
    for (size_t i = 0; i < v.def.features.size(); ++i) {
      const FeatureDef& f = v.def.features[i];
      if (!v.dropped[i]) v.all_features.push_back(static_cast<int>(i));
      v.types.types.push_back(f.type);
      v.types.dims.push_back(f.dim);
    }
  }
  for (const FeatureServiceDef& s : services) {
    for (const std::string& ref : s.features) {
      std::string view, feature;
      ParseFeatureRef(ref, &view, &feature);  // checked by ValidateServiceDef
      const ViewInfo* v = FindView(view);
      if (!v && (FindAggregationView(view) || FindOnDemandView(view))) continue;  // checked below, with the view
      if (!v) return Status::InvalidArgument("service '" + s.name + "': no feature view '" + view + "'");
      if (v->FeatureIndex(feature) < 0)
        return Status::InvalidArgument("service '" + s.name + "': view '" + view + "' has no feature '" + feature +
                                       "'");
    }
  }
  for (const AggregationViewDef& a : aggregation_views) {
    if (FindView(a.name))
      return Status::InvalidArgument("aggregation view '" + a.name + "': a feature view has that name");
    const ViewInfo* source = FindView(a.source);
    if (!source)
      return Status::InvalidArgument("aggregation view '" + a.name + "': no feature view '" + a.source + "'");
    std::vector<BoundAggregate> bound;
    std::vector<int> columns;
    Status st = BindAggregates(*source, a.aggregates, &bound, &columns);
    if (!st.ok()) return Status::InvalidArgument("aggregation view '" + a.name + "': " + st.message());
    std::set<std::string> names;
    for (const BoundAggregate& b : bound)
      if (!names.insert(b.label).second)
        return Status::InvalidArgument("aggregation view '" + a.name + "': two aggregates are named '" + b.label +
                                       "' (give one a name)");
    for (const FeatureServiceDef& s : services)
      for (const std::string& ref : s.features) {
        std::string view, feature;
        ParseFeatureRef(ref, &view, &feature);
        if (view == a.name && !names.count(feature))
          return Status::InvalidArgument("service '" + s.name + "': aggregation view '" + a.name +
                                         "' has no feature '" + feature + "'");
      }
  }
  return ResolveOnDemandViews();
}

// The type of "view.feature" (split at the last '.'), a feature of a view or an aggregation
// view, for an on-demand expression.
static Status ResolveViewFeature(const Registry& r, const std::string& name, ExpressionInput* out) {
  size_t dot = name.rfind('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == name.size()) return Status::NotFound("");
  const std::string view = name.substr(0, dot), feature = name.substr(dot + 1);
  if (const ViewInfo* v = r.FindView(view)) {
    int i = v->FeatureIndex(feature);
    if (i < 0) return Status::NotFound("view '" + view + "' has no feature '" + feature + "'");
    out->type = v->def.features[i].type;
    out->dim = v->def.features[i].dim;
    return Status::OK();
  }
  if (const AggregationViewDef* a = r.FindAggregationView(view)) {
    const ViewInfo* source = r.FindView(a->source);
    std::vector<BoundAggregate> bound;
    std::vector<int> columns;
    if (source && BindAggregates(*source, a->aggregates, &bound, &columns).ok())
      for (const BoundAggregate& b : bound)
        if (b.label == feature) {
          out->type = b.output_type;
          out->dim = b.dim;
          return Status::OK();
        }
    return Status::NotFound("aggregation view '" + view + "' has no feature '" + feature + "'");
  }
  if (r.FindOnDemandView(view))
    return Status::InvalidArgument("'" + name +
                                   "' is an on-demand feature: on-demand views read feature views and "
                                   "aggregation views, not each other");
  return Status::NotFound("");
}

Status Registry::ResolveOnDemandViews() {
  on_demand_reads.clear();
  for (OnDemandViewDef& o : on_demand_views) {
    if (FindView(o.name) || FindAggregationView(o.name))
      return Status::InvalidArgument("on-demand view '" + o.name + "': a view has that name");
    std::vector<std::string>& reads = on_demand_reads[o.name];
    for (OnDemandFeatureDef& f : o.features) {
      auto resolve = [&](const std::string& name, ExpressionInput* out) -> Status {
        for (const RequestInputDef& in : o.request)
          if (in.name == name) {
            out->type = in.type;
            out->dim = in.dim;
            return Status::OK();
          }
        Status st = ResolveViewFeature(*this, name, out);
        if (st.ok() || !st.IsNotFound() || !st.message().empty()) return st;
        return Status::NotFound("no input '" + name + "': name a view's feature as view.feature, or declare '" + name +
                                "' under request");
      };
      auto compiled = Expression::Compile(f.expression, resolve);
      if (!compiled.ok())
        return Status::InvalidArgument("on-demand view '" + o.name + "', feature '" + f.name +
                                       "': " + compiled.status().message());
      f.type = compiled->type();
      f.dim = compiled->dim();
      for (const ExpressionInput& in : compiled->inputs()) {
        size_t dot = in.name.rfind('.');
        bool is_request = false;
        for (const RequestInputDef& r : o.request) is_request |= r.name == in.name;
        if (is_request || dot == std::string::npos) continue;
        std::string ref = in.name.substr(0, dot) + ":" + in.name.substr(dot + 1);
        if (std::find(reads.begin(), reads.end(), ref) == reads.end()) reads.push_back(ref);
      }
    }
  }
  for (const FeatureServiceDef& s : services)
    for (const std::string& ref : s.features) {
      std::string view, feature;
      ParseFeatureRef(ref, &view, &feature);
      const OnDemandViewDef* o = FindOnDemandView(view);
      if (!o) continue;
      bool known = false;
      for (const OnDemandFeatureDef& f : o->features) known |= f.name == feature;
      if (!known)
        return Status::InvalidArgument("service '" + s.name + "': on-demand view '" + view + "' has no feature '" +
                                       feature + "'");
    }
  return Status::OK();
}

static bool ValidName(const std::string& s) {
  return !s.empty() && s.size() <= 256 && s.find('\0') == std::string::npos;
}

Status ValidateEntityDef(const EntityDef& e) {
  if (!ValidName(e.name)) return Status::InvalidArgument("entity name must be 1..256 bytes without NUL");
  if (e.join_keys.empty()) return Status::InvalidArgument("entity '" + e.name + "' needs at least one join key");
  std::set<std::string> seen;
  for (const JoinKeyDef& k : e.join_keys) {
    if (!ValidName(k.name)) return Status::InvalidArgument("entity '" + e.name + "': bad join key name");
    if (k.type != KeyType::kInt64 && k.type != KeyType::kString)
      return Status::InvalidArgument("entity '" + e.name + "': join key type must be int64 or string");
    if (!seen.insert(k.name).second)
      return Status::InvalidArgument("entity '" + e.name + "': duplicate join key '" + k.name + "'");
  }
  return Status::OK();
}

Status ValidateViewDef(const FeatureViewDef& v) {
  if (!ValidName(v.name)) return Status::InvalidArgument("view name must be 1..256 bytes without NUL");
  if (v.entities.empty()) return Status::InvalidArgument("view '" + v.name + "' needs at least one entity");
  if (v.features.empty()) return Status::InvalidArgument("view '" + v.name + "' needs at least one feature");
  if (v.ttl_us < 0) return Status::InvalidArgument("view '" + v.name + "': ttl must be >= 0");
  if (v.retention_us < 0) return Status::InvalidArgument("view '" + v.name + "': retention must be >= 0");
  if (v.freshness_us < 0) return Status::InvalidArgument("view '" + v.name + "': freshness must be >= 0");
  std::set<std::string> seen;
  for (const FeatureDef& f : v.features) {
    if (!ValidName(f.name)) return Status::InvalidArgument("view '" + v.name + "': bad feature name");
    if (!seen.insert(f.name).second)
      return Status::InvalidArgument("view '" + v.name + "': duplicate feature '" + f.name + "'");
    uint8_t t = static_cast<uint8_t>(f.type);
    if (t < 1 || t > 9) return Status::InvalidArgument("feature '" + f.name + "': unknown type");
    if (f.type == FeatureType::kFloat32Vector ? (f.dim == 0 || f.dim > 65536) : f.dim != 0)
      return Status::InvalidArgument("feature '" + f.name +
                                     "': dim must be 1..65536 for float32 vectors and 0 otherwise");
  }
  return Status::OK();
}

Status ValidateServiceDef(const FeatureServiceDef& s) {
  if (!ValidName(s.name)) return Status::InvalidArgument("service name must be 1..256 bytes without NUL");
  if (s.features.empty()) return Status::InvalidArgument("service '" + s.name + "' needs at least one feature");
  std::set<std::string> seen;
  for (const std::string& ref : s.features) {
    std::string view, feature;
    if (!ParseFeatureRef(ref, &view, &feature))
      return Status::InvalidArgument("service '" + s.name + "': '" + ref + "' is not a view:feature reference");
    if (!seen.insert(ref).second)
      return Status::InvalidArgument("service '" + s.name + "': '" + ref + "' is listed twice");
  }
  return Status::OK();
}

Status ValidateAggregationViewDef(const AggregationViewDef& a) {
  if (!ValidName(a.name)) return Status::InvalidArgument("aggregation view name must be 1..256 bytes without NUL");
  if (a.aggregates.empty())
    return Status::InvalidArgument("aggregation view '" + a.name + "' needs at least one aggregate");
  for (const WindowAggregate& w : a.aggregates) {
    const uint8_t f = static_cast<uint8_t>(w.function);
    if (f < 1 || f > 9) return Status::InvalidArgument("aggregation view '" + a.name + "': unknown function");
    if ((w.function == AggregateFunction::kLastK) != (w.k != 0) || w.k > kMaxLastK)
      return Status::InvalidArgument("aggregation view '" + a.name + "': last_k needs k from 1 to " +
                                     std::to_string(kMaxLastK) + ", the other functions none");
    if (!w.name.empty() && !ValidName(w.name))
      return Status::InvalidArgument("aggregation view '" + a.name + "': bad aggregate name");
  }
  return Status::OK();
}

Status ValidateOnDemandViewDef(const OnDemandViewDef& o) {
  if (!ValidName(o.name)) return Status::InvalidArgument("on-demand view name must be 1..256 bytes without NUL");
  if (o.features.empty()) return Status::InvalidArgument("on-demand view '" + o.name + "' needs at least one feature");
  std::set<std::string> names;
  for (const RequestInputDef& in : o.request) {
    if (!ValidName(in.name)) return Status::InvalidArgument("on-demand view '" + o.name + "': bad request input name");
    if (!names.insert(in.name).second)
      return Status::InvalidArgument("on-demand view '" + o.name + "': request input '" + in.name +
                                     "' is declared twice");
    // The types expressions compute in (an int32 or float32 would read differently online and
    // from an Arrow label column, which narrows).
    const FeatureType t = in.type;
    if (t != FeatureType::kBool && t != FeatureType::kInt64 && t != FeatureType::kFloat64 &&
        t != FeatureType::kString && t != FeatureType::kTimestamp && t != FeatureType::kFloat32Vector)
      return Status::InvalidArgument("on-demand view '" + o.name + "': request input '" + in.name +
                                     "' must be bool, int64, float64, string, timestamp or float32_vector");
    if (in.type == FeatureType::kFloat32Vector ? (in.dim == 0 || in.dim > 65536) : in.dim != 0)
      return Status::InvalidArgument("on-demand view '" + o.name + "': request input '" + in.name +
                                     "': dim must be 1..65536 for vectors and 0 otherwise");
  }
  names.clear();
  for (const OnDemandFeatureDef& f : o.features) {
    if (!ValidName(f.name)) return Status::InvalidArgument("on-demand view '" + o.name + "': bad feature name");
    if (!names.insert(f.name).second)
      return Status::InvalidArgument("on-demand view '" + o.name + "': duplicate feature '" + f.name + "'");
  }
  return Status::OK();
}

std::string EncodeRegistry(const Registry& r) {
  flatbuffers::FlatBufferBuilder fbb;
  std::vector<flatbuffers::Offset<fb::Entity>> entities;
  for (const EntityDef& e : r.entities) {
    std::vector<flatbuffers::Offset<fb::JoinKey>> keys;
    for (const JoinKeyDef& k : e.join_keys)
      keys.push_back(fb::CreateJoinKeyDirect(fbb, k.name.c_str(), static_cast<fb::KeyType>(k.type)));
    entities.push_back(fb::CreateEntityDirect(fbb, e.name.c_str(), &keys, e.description.c_str()));
  }
  std::vector<flatbuffers::Offset<fb::FeatureView>> views;
  for (const ViewInfo& vi : r.views) {
    const FeatureViewDef& v = vi.def;
    std::vector<flatbuffers::Offset<flatbuffers::String>> ents;
    for (const std::string& e : v.entities) ents.push_back(fbb.CreateString(e));
    std::vector<flatbuffers::Offset<fb::Feature>> feats;
    for (size_t i = 0; i < v.features.size(); ++i) {
      const FeatureDef& f = v.features[i];
      feats.push_back(fb::CreateFeatureDirect(fbb, f.name.c_str(), static_cast<fb::FeatureType>(f.type), f.dim,
                                              f.description.c_str(), vi.IsDropped(i)));
    }
    std::vector<flatbuffers::Offset<fb::Tag>> tags;
    for (const auto& [k, val] : v.tags) tags.push_back(fb::CreateTagDirect(fbb, k.c_str(), val.c_str()));
    views.push_back(fb::CreateFeatureViewDirect(
        fbb, vi.id, v.name.c_str(), &ents, &feats, v.ttl_us, v.description.c_str(), &tags, v.owner.c_str(),
        v.event_ts_column.c_str(), v.created_ts_column.c_str(), v.retention_us, v.freshness_us));
  }
  std::vector<flatbuffers::Offset<fb::FeatureService>> services;
  for (const FeatureServiceDef& sv : r.services) {
    std::vector<flatbuffers::Offset<flatbuffers::String>> refs;
    for (const std::string& f : sv.features) refs.push_back(fbb.CreateString(f));
    std::vector<flatbuffers::Offset<fb::Tag>> tags;
    for (const auto& [k, val] : sv.tags) tags.push_back(fb::CreateTagDirect(fbb, k.c_str(), val.c_str()));
    services.push_back(
        fb::CreateFeatureServiceDirect(fbb, sv.name.c_str(), &refs, sv.description.c_str(), &tags, sv.owner.c_str()));
  }
  std::vector<flatbuffers::Offset<fb::AggregationView>> aggregation_views;
  for (const AggregationViewDef& a : r.aggregation_views) {
    std::vector<flatbuffers::Offset<fb::Aggregate>> aggs;
    for (const WindowAggregate& w : a.aggregates)
      aggs.push_back(fb::CreateAggregateDirect(fbb, w.column.c_str(), static_cast<uint8_t>(w.function), w.window_us,
                                               w.name.c_str(), w.k));
    std::vector<flatbuffers::Offset<fb::Tag>> tags;
    for (const auto& [k, val] : a.tags) tags.push_back(fb::CreateTagDirect(fbb, k.c_str(), val.c_str()));
    aggregation_views.push_back(fb::CreateAggregationViewDirect(fbb, a.name.c_str(), a.source.c_str(), &aggs,
                                                                a.description.c_str(), &tags, a.owner.c_str()));
  }
  std::vector<flatbuffers::Offset<fb::OnDemandView>> on_demand_views;
  for (const OnDemandViewDef& o : r.on_demand_views) {
    std::vector<flatbuffers::Offset<fb::RequestInput>> request;
    for (const RequestInputDef& in : o.request)
      request.push_back(
          fb::CreateRequestInputDirect(fbb, in.name.c_str(), static_cast<fb::FeatureType>(in.type), in.dim));
    std::vector<flatbuffers::Offset<fb::OnDemandFeature>> features;
    for (const OnDemandFeatureDef& f : o.features)
      features.push_back(fb::CreateOnDemandFeatureDirect(fbb, f.name.c_str(), f.expression.c_str(),
                                                         static_cast<fb::FeatureType>(f.type), f.dim,
                                                         f.description.c_str()));
    std::vector<flatbuffers::Offset<fb::Tag>> tags;
    for (const auto& [k, val] : o.tags) tags.push_back(fb::CreateTagDirect(fbb, k.c_str(), val.c_str()));
    on_demand_views.push_back(fb::CreateOnDemandViewDirect(fbb, o.name.c_str(), &request, &features,
                                                           o.description.c_str(), &tags, o.owner.c_str()));
  }
  // Empty service, aggregation and on-demand lists are left out, so stores without them keep
  // their bytes.
  fbb.Finish(fb::CreateRegistryDirect(fbb, &entities, &views, r.next_view_id, services.empty() ? nullptr : &services,
                                      aggregation_views.empty() ? nullptr : &aggregation_views,
                                      on_demand_views.empty() ? nullptr : &on_demand_views));
  return std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize());
}

static std::string Str(const flatbuffers::String* s) { return s ? s->str() : std::string(); }

Result<std::shared_ptr<const Registry>> DecodeRegistry(std::string_view unaligned) {
  std::string bytes(unaligned);  // flatbuffers reads need an aligned buffer
  flatbuffers::Verifier verifier(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  if (!fb::VerifyRegistryBuffer(verifier)) return Status::Corruption("registry does not verify");
  const fb::Registry* in = fb::GetRegistry(bytes.data());
  auto r = std::make_shared<Registry>();
  r->next_view_id = in->next_view_id();
  if (in->entities()) {
    for (const fb::Entity* e : *in->entities()) {
      EntityDef def{Str(e->name()), {}, Str(e->description())};
      if (e->join_keys())
        for (const fb::JoinKey* k : *e->join_keys())
          def.join_keys.push_back({Str(k->name()), static_cast<KeyType>(k->type())});
      PITSTORE_RETURN_IF_ERROR(ValidateEntityDef(def));
      r->entities.push_back(std::move(def));
    }
  }
  if (in->views()) {
    for (const fb::FeatureView* v : *in->views()) {
      ViewInfo vi;
      vi.id = v->id();
      FeatureViewDef& d = vi.def;
      d.name = Str(v->name());
      if (v->entities())
        for (const flatbuffers::String* e : *v->entities()) d.entities.push_back(e->str());
      if (v->features())
        for (const fb::Feature* f : *v->features()) {
          d.features.push_back({Str(f->name()), static_cast<FeatureType>(f->type()), f->dim(), Str(f->description())});
          vi.dropped.push_back(f->dropped() ? 1 : 0);
        }
      d.ttl_us = v->ttl_us();
      d.description = Str(v->description());
      if (v->tags())
        for (const fb::Tag* t : *v->tags()) d.tags.emplace_back(Str(t->key()), Str(t->value()));
      d.owner = Str(v->owner());
      d.event_ts_column = Str(v->event_ts_column());
      d.created_ts_column = Str(v->created_ts_column());
      d.retention_us = v->retention_us();
      d.freshness_us = v->freshness_us();
      // The visible features by the rules of definitions; dropped ones for their types only.
      for (int i = 0, n = static_cast<int>(d.features.size()); i < n; ++i)
        if (!vi.dropped[i]) vi.all_features.push_back(i);
      Status st = ValidateViewDef(vi.Visible());
      for (size_t i = 0; st.ok() && i < d.features.size(); ++i)
        if (vi.dropped[i]) {
          FeatureViewDef one = d;
          one.features = {d.features[i]};
          st = ValidateViewDef(one);
        }
      if (!st.ok()) return Status::Corruption("registry: " + st.message());
      r->views.push_back(std::move(vi));
    }
  }
  if (in->services()) {
    for (const fb::FeatureService* sv : *in->services()) {
      FeatureServiceDef d;
      d.name = Str(sv->name());
      if (sv->features())
        for (const flatbuffers::String* f : *sv->features()) d.features.push_back(f->str());
      d.description = Str(sv->description());
      if (sv->tags())
        for (const fb::Tag* t : *sv->tags()) d.tags.emplace_back(Str(t->key()), Str(t->value()));
      d.owner = Str(sv->owner());
      Status st = ValidateServiceDef(d);
      if (!st.ok()) return Status::Corruption("registry: " + st.message());
      r->services.push_back(std::move(d));
    }
  }
  if (in->aggregation_views()) {
    for (const fb::AggregationView* av : *in->aggregation_views()) {
      AggregationViewDef d;
      d.name = Str(av->name());
      d.source = Str(av->source());
      if (av->aggregates())
        for (const fb::Aggregate* a : *av->aggregates())
          d.aggregates.push_back({Str(a->column()), static_cast<AggregateFunction>(a->function()), a->window_us(),
                                  Str(a->name()), a->k()});
      d.description = Str(av->description());
      if (av->tags())
        for (const fb::Tag* t : *av->tags()) d.tags.emplace_back(Str(t->key()), Str(t->value()));
      d.owner = Str(av->owner());
      Status st = ValidateAggregationViewDef(d);
      if (!st.ok()) return Status::Corruption("registry: " + st.message());
      r->aggregation_views.push_back(std::move(d));
    }
  }
  if (in->on_demand_views()) {
    for (const fb::OnDemandView* ov : *in->on_demand_views()) {
      OnDemandViewDef d;
      d.name = Str(ov->name());
      if (ov->request())
        for (const fb::RequestInput* in : *ov->request())
          d.request.push_back({Str(in->name()), static_cast<FeatureType>(in->type()), in->dim()});
      if (ov->features())
        for (const fb::OnDemandFeature* f : *ov->features())
          d.features.push_back({Str(f->name()), Str(f->expression()), static_cast<FeatureType>(f->type()), f->dim(),
                                Str(f->description())});
      d.description = Str(ov->description());
      if (ov->tags())
        for (const fb::Tag* t : *ov->tags()) d.tags.emplace_back(Str(t->key()), Str(t->value()));
      d.owner = Str(ov->owner());
      Status st = ValidateOnDemandViewDef(d);
      if (!st.ok()) return Status::Corruption("registry: " + st.message());
      r->on_demand_views.push_back(std::move(d));
    }
  }
  Status st = r->Resolve();
  if (!st.ok()) return Status::Corruption("registry: " + st.message());
  return std::shared_ptr<const Registry>(std::move(r));
}

}  // namespace pitstore
