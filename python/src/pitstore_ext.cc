// _pitstore: the engine, I/O and workflow libraries for Python (nanobind). A thin layer: the
// typed, documented API is pitstore/store.py; this file converts values, moves Arrow streams in
// and out as PyCapsules (the Arrow C Stream Interface, zero-copy where the layout allows),
// releases the GIL around engine work, and turns a Status into a Python exception.
#include <nanobind/nanobind.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "pitstore/io/arrow_c.h"
#include "pitstore/io/parquet_tables.h"
#include "pitstore/io/record_source.h"
#include "pitstore/store.h"
#include "pitstore/workflow/definitions.h"
#include "pitstore/workflow/entity_keys.h"
#include "pitstore/workflow/feature_refs.h"
#include "pitstore/workflow/ingest.h"
#include "pitstore/workflow/joiner.h"
#include "pitstore/workflow/on_demand.h"
#include "pitstore/workflow/online_features.h"
#include "pitstore/workflow/sharded_store.h"

namespace nb = nanobind;
using namespace nb::literals;

namespace pitstore::python {
namespace {

// A Status that is not OK, on its way to Python (translated by the module's translator into
// pitstore.errors' class for its code).
struct StatusError {
  Status status;
};

void Check(const Status& st) {
  if (!st.ok()) throw StatusError{st};
}
template <typename T>
T Unwrap(Result<T> r) {
  if (!r.ok()) throw StatusError{r.status()};
  return std::move(r).value();
}

// Runs engine work without the GIL (other Python threads run meanwhile).
template <typename Fn>
auto Released(Fn&& fn) -> decltype(fn()) {
  nb::gil_scoped_release release;
  return fn();
}

// ---- Arrow streams as PyCapsules ("arrow_array_stream", the Arrow PyCapsule interface) ----

std::unique_ptr<io::TableReader> ImportCapsule(nb::handle capsule) {
  if (!PyCapsule_IsValid(capsule.ptr(), "arrow_array_stream"))
    throw StatusError{Status::InvalidArgument("expected an Arrow stream (a PyCapsule named 'arrow_array_stream')")};
  auto* stream = static_cast<ArrowArrayStream*>(PyCapsule_GetPointer(capsule.ptr(), "arrow_array_stream"));
  return Unwrap(io::ImportStream(stream));  // moves the stream out; the capsule then releases nothing
}

nb::object ExportCapsule(std::unique_ptr<io::TableReader> reader) {
  auto* stream = new ArrowArrayStream;
  Status st = io::ExportStream(std::move(reader), stream);
  if (!st.ok()) {
    delete stream;
    throw StatusError{st};
  }
  PyObject* capsule = PyCapsule_New(stream, "arrow_array_stream", [](PyObject* c) {
    auto* s = static_cast<ArrowArrayStream*>(PyCapsule_GetPointer(c, "arrow_array_stream"));
    if (s->release) s->release(s);
    delete s;
  });
  if (!capsule) {
    if (stream->release) stream->release(stream);
    delete stream;
    throw nb::python_error();
  }
  return nb::steal(capsule);
}

// ---- values ----

nb::object ToPython(const Value& v) {
  if (v.is_null()) return nb::none();
  if (IsListType(v.type())) {  // last_k: a list of its items
    nb::list out;
    for (const Value& item : v.as_list()) out.append(ToPython(item));
    return out;
  }
  switch (v.type()) {
    case FeatureType::kBool:
      return nb::bool_(v.as_bool());
    case FeatureType::kInt32:
    case FeatureType::kInt64:
    case FeatureType::kTimestamp:  // microseconds; the Python layer makes datetimes
      return nb::int_(v.as_int64());
    case FeatureType::kFloat32:
      return nb::float_(static_cast<double>(v.as_float32()));
    case FeatureType::kFloat64:
      return nb::float_(v.as_float64());
    case FeatureType::kString:
      return nb::str(v.as_string().data(), v.as_string().size());
    case FeatureType::kBytes:
      return nb::bytes(v.as_string().data(), v.as_string().size());
    case FeatureType::kFloat32Vector: {
      nb::list out;
      for (float f : v.as_vector()) out.append(nb::float_(static_cast<double>(f)));
      return out;
    }
  }
  return nb::none();
}

KeyPart KeyPartOf(nb::handle h, const std::string& where) {
  if (nb::isinstance<nb::bool_>(h))
    throw StatusError{Status::InvalidArgument(where + ": a join key is an int or a str, not a bool")};
  if (nb::isinstance<nb::int_>(h)) return KeyPart(nb::cast<int64_t>(h));
  if (nb::isinstance<nb::str>(h)) return KeyPart(nb::cast<std::string>(h));
  throw StatusError{Status::InvalidArgument(where + ": a join key is an int or a str, got " +
                                            nb::cast<std::string>(nb::str(h.type())))};
}

// A request input's value from Python: None, bool, int, float, str, or a list (numpy values
// by tolist()), read by the input's type as workflow::RequestValueFromText reads text.
Value RequestValueOf(nb::handle h, const RequestInputDef& input, const std::string& where) {
  if (h.is_none()) return Value::Null();
  nb::object o = nb::borrow(h);
  if (nb::hasattr(o, "tolist") && !nb::isinstance<nb::str>(o)) o = o.attr("tolist")();
  std::string text;
  if (nb::isinstance<nb::bool_>(o)) {
    text = nb::cast<bool>(o) ? "true" : "false";
  } else if (nb::isinstance<nb::str>(o)) {
    text = nb::cast<std::string>(o);
  } else if (nb::isinstance<nb::list>(o) || nb::isinstance<nb::tuple>(o)) {
    text = "[";
    for (nb::handle x : o) text += (text.size() > 1 ? "," : "") + nb::cast<std::string>(nb::repr(x));
    text += "]";
  } else {
    text = nb::cast<std::string>(nb::repr(o));
  }
  Result<Value> v = workflow::RequestValueFromText(input, text);
  if (!v.ok()) throw StatusError{Status::InvalidArgument(where + ": " + v.status().message())};
  return std::move(v).value();
}

EntityKey KeyOf(nb::handle key) {
  EntityKey out;
  if (nb::isinstance<nb::tuple>(key) || nb::isinstance<nb::list>(key)) {
    size_t i = 0;
    for (nb::handle part : key) out.push_back(KeyPartOf(part, "key part " + std::to_string(i++)));
  } else {
    out.push_back(KeyPartOf(key, "key"));
  }
  return out;
}

nb::dict LookupToPython(const Lookup& l) {
  nb::list values, statuses;
  for (const Value& v : l.values) values.append(ToPython(v));
  for (ValueStatus s : l.status) statuses.append(nb::str(ValueStatusName(s)));
  nb::dict d;
  d["found"] = l.found;
  d["event_ts"] = l.event_ts;
  d["system_ts"] = l.system_ts;
  d["values"] = values;
  d["statuses"] = statuses;
  return d;
}

// ---- definitions from Python dicts (pitstore/definitions.py builds them) ----

std::string Str(nb::dict d, const char* key, const std::string& fallback = "") {
  return d.contains(key) && !d[key].is_none() ? nb::cast<std::string>(d[key]) : fallback;
}

std::vector<std::pair<std::string, std::string>> Tags(nb::dict d) {
  std::vector<std::pair<std::string, std::string>> out;
  if (d.contains("tags"))
    for (auto [k, v] : nb::cast<nb::dict>(d["tags"]))
      out.emplace_back(nb::cast<std::string>(k), nb::cast<std::string>(v));
  return out;
}

FeatureType FeatureTypeNamed(const std::string& name) {
  FeatureType t;
  if (!workflow::ParseFeatureType(name, &t))
    throw StatusError{Status::InvalidArgument("unknown feature type '" + name + "'")};
  return t;
}

Definitions DefinitionsOf(nb::list entities, nb::list views, nb::list services) {
  Definitions defs;
  for (nb::handle h : entities) {
    nb::dict e = nb::cast<nb::dict>(h);
    EntityDef def{Str(e, "name"), {}, Str(e, "description")};
    for (nb::handle k : nb::cast<nb::list>(e["join_keys"])) {
      auto [name, type] = nb::cast<std::pair<std::string, std::string>>(k);
      def.join_keys.push_back({name, type == "string" ? KeyType::kString : KeyType::kInt64});
    }
    defs.entities.push_back(std::move(def));
  }
  for (nb::handle h : views) {
    nb::dict v = nb::cast<nb::dict>(h);
    FeatureViewDef def;
    def.name = Str(v, "name");
    for (nb::handle e : nb::cast<nb::list>(v["entities"])) def.entities.push_back(nb::cast<std::string>(e));
    for (nb::handle f : nb::cast<nb::list>(v["features"])) {
      nb::dict fd = nb::cast<nb::dict>(f);
      def.features.push_back({Str(fd, "name"), FeatureTypeNamed(Str(fd, "type")),
                              fd.contains("dim") ? nb::cast<uint32_t>(fd["dim"]) : 0u, Str(fd, "description")});
    }
    def.ttl_us = v.contains("ttl_us") ? nb::cast<int64_t>(v["ttl_us"]) : 0;
    def.retention_us = v.contains("retention_us") ? nb::cast<int64_t>(v["retention_us"]) : 0;
    def.freshness_us = v.contains("freshness_us") ? nb::cast<int64_t>(v["freshness_us"]) : 0;
    def.description = Str(v, "description");
    def.tags = Tags(v);
    def.owner = Str(v, "owner");
    def.event_ts_column = Str(v, "event_timestamp");
    def.created_ts_column = Str(v, "created_timestamp");
    defs.views.push_back(std::move(def));
  }
  for (nb::handle h : services) {
    nb::dict s = nb::cast<nb::dict>(h);
    FeatureServiceDef def;
    def.name = Str(s, "name");
    for (nb::handle f : nb::cast<nb::list>(s["features"])) def.features.push_back(nb::cast<std::string>(f));
    def.description = Str(s, "description");
    def.tags = Tags(s);
    def.owner = Str(s, "owner");
    defs.services.push_back(std::move(def));
  }
  return defs;
}

workflow::EpochUnit UnitNamed(const std::string& unit) {
  if (unit == "s") return workflow::EpochUnit::kSeconds;
  if (unit == "ms") return workflow::EpochUnit::kMillis;
  if (unit == "us") return workflow::EpochUnit::kMicros;
  if (unit == "ns") return workflow::EpochUnit::kNanos;
  if (unit.empty()) return workflow::EpochUnit::kUnstated;  // us, refusing implausible counts
  throw StatusError{Status::InvalidArgument("epoch unit '" + unit + "': s, ms, us or ns")};
}

workflow::FeatureRequest RequestOf(const std::vector<std::string>& features, const std::string& service,
                                   bool full_names) {
  workflow::FeatureRequest r;
  r.features = features;
  r.service = service;
  r.full_feature_names = full_names;
  return r;
}

nb::dict ReportOf(const workflow::IngestReport& r) {
  nb::dict d;
  d["records_read"] = r.records_read;
  d["records_committed"] = r.records_committed;
  d["batches_committed"] = r.batches_committed;
  d["ignored_columns"] = r.ignored_columns;
  d["features_without_column"] = r.features_without_column;
  return d;
}

// ---- the store ----

class PyStore {
 public:
  PyStore(const std::string& path, bool read_only, bool create, uint32_t page_rows, uint32_t segment_rows,
          uint64_t segment_bytes)
      : path_(path) {
    Options o;
    o.read_only = read_only;
    o.create_if_missing = create;
    if (page_rows) o.segment_page_rows = page_rows;  // 0: the default, as the two below
    if (segment_rows) o.segment_max_rows = segment_rows;
    if (segment_bytes) o.segment_max_bytes = segment_bytes;
    nb::gil_scoped_release release;
    store_ = Unwrap(Store::Open(path, o));
  }

  Store& store() {
    if (!store_) throw StatusError{Status::InvalidArgument(path_ + ": the store is closed")};
    return *store_;
  }
  void Close() {
    nb::gil_scoped_release release;
    store_.reset();
  }
  bool closed() const { return !store_; }
  const std::string& path() const { return path_; }

  std::vector<std::string> ApplyYaml(const std::string& text, const std::string& name, bool is_file) {
    Store& s = store();
    nb::gil_scoped_release release;
    workflow::DefinitionPlaces places;
    Definitions defs =
        Unwrap(is_file ? workflow::LoadDefinitions(name, &places) : workflow::ParseDefinitions(text, name, &places));
    std::vector<std::string> changes;
    Check(workflow::ApplyDefinitions(s, defs, places, &changes));
    return changes;
  }

  std::vector<std::string> ApplyObjects(nb::list entities, nb::list views, nb::list services) {
    Definitions defs = DefinitionsOf(entities, views, services);
    Store& s = store();
    nb::gil_scoped_release release;
    std::vector<std::string> changes;
    Check(s.Apply(defs, &changes));
    return changes;
  }

  nb::dict Describe() {
    Store& s = store();
    std::vector<EntityDef> entities;
    std::vector<FeatureViewDef> views;
    std::vector<FeatureServiceDef> services;
    std::vector<std::pair<AggregationViewDef, FeatureViewDef>> aggregations;  // as defined, as read
    std::vector<OnDemandViewDef> on_demand;
    {
      nb::gil_scoped_release release;
      for (const std::string& n : Unwrap(s.ListEntities())) entities.push_back(Unwrap(s.GetEntity(n)));
      for (const std::string& n : Unwrap(s.ListViews())) views.push_back(Unwrap(s.GetView(n)));
      for (const std::string& n : Unwrap(s.ListServices())) services.push_back(Unwrap(s.GetService(n)));
      for (const std::string& n : Unwrap(s.ListAggregationViews()))
        aggregations.emplace_back(Unwrap(s.GetAggregationView(n)), Unwrap(s.GetView(n)));
      for (const std::string& n : Unwrap(s.ListOnDemandViews())) on_demand.push_back(Unwrap(s.GetOnDemandView(n)));
    }
    nb::list es, vs, ss, as, os;
    for (const OnDemandViewDef& o : on_demand) {
      nb::list request, feats;
      for (const RequestInputDef& in : o.request) {
        nb::dict d;
        d["name"] = in.name;
        d["type"] = FeatureTypeName(in.type);
        d["dim"] = in.dim;
        request.append(d);
      }
      for (const OnDemandFeatureDef& f : o.features) {
        nb::dict d;
        d["name"] = f.name;
        d["type"] = FeatureTypeName(f.type);
        d["dim"] = f.dim;
        d["expression"] = f.expression;
        d["description"] = f.description;
        feats.append(d);
      }
      nb::dict d;
      d["name"] = o.name;
      d["request"] = request;
      d["features"] = feats;
      d["description"] = o.description;
      os.append(d);
    }
    for (const auto& [def, read] : aggregations) {
      nb::list feats;
      for (size_t i = 0; i < read.features.size() && i < def.aggregates.size(); ++i) {
        const WindowAggregate& w = def.aggregates[i];
        nb::dict fd;
        fd["name"] = read.features[i].name;
        fd["type"] = FeatureTypeName(read.features[i].type);
        fd["column"] = w.column;
        fd["function"] = AggregateFunctionName(w.function);
        fd["window_us"] = w.window_us;
        if (w.function == AggregateFunction::kLastK) fd["k"] = w.k;
        feats.append(fd);
      }
      nb::list ents;
      for (const std::string& e : read.entities) ents.append(e);
      nb::dict d;
      d["name"] = def.name;
      d["source"] = def.source;
      d["entities"] = ents;
      d["features"] = feats;
      d["description"] = def.description;
      as.append(d);
    }
    for (const EntityDef& e : entities) {
      nb::list keys;
      for (const JoinKeyDef& k : e.join_keys)
        keys.append(nb::make_tuple(k.name, k.type == KeyType::kString ? "string" : "int64"));
      nb::dict d;
      d["name"] = e.name;
      d["join_keys"] = keys;
      d["description"] = e.description;
      es.append(d);
    }
    for (const FeatureViewDef& v : views) {
      nb::list feats, ents;
      for (const FeatureDef& f : v.features) {
        nb::dict fd;
        fd["name"] = f.name;
        fd["type"] = FeatureTypeName(f.type);
        fd["dim"] = f.dim;
        fd["description"] = f.description;
        feats.append(fd);
      }
      for (const std::string& e : v.entities) ents.append(e);
      nb::dict d, tags;
      for (const auto& [k, val] : v.tags) tags[k.c_str()] = val;
      d["name"] = v.name;
      d["entities"] = ents;
      d["features"] = feats;
      d["ttl_us"] = v.ttl_us;
      d["retention_us"] = v.retention_us;
      d["freshness_us"] = v.freshness_us;
      d["description"] = v.description;
      d["owner"] = v.owner;
      d["tags"] = tags;
      d["event_timestamp"] = v.event_ts_column;
      d["created_timestamp"] = v.created_ts_column;
      vs.append(d);
    }
    for (const FeatureServiceDef& sv : services) {
      nb::list feats;
      for (const std::string& f : sv.features) feats.append(f);
      nb::dict d;
      d["name"] = sv.name;
      d["features"] = feats;
      d["description"] = sv.description;
      ss.append(d);
    }
    nb::dict out;
    out["entities"] = es;
    out["feature_views"] = vs;
    out["feature_services"] = ss;
    out["aggregation_views"] = as;
    out["on_demand_views"] = os;
    return out;
  }

  workflow::IngestOptions IngestOptionsOf(nb::dict o) {
    workflow::IngestOptions io;
    if (o.contains("batch_rows")) io.batch_rows = nb::cast<size_t>(o["batch_rows"]);
    if (o.contains("ignore_extra_columns")) io.ignore_extra_columns = nb::cast<bool>(o["ignore_extra_columns"]);
    if (o.contains("dry_run")) io.dry_run = nb::cast<bool>(o["dry_run"]);
    if (o.contains("epoch_unit")) io.epoch_unit = UnitNamed(nb::cast<std::string>(o["epoch_unit"]));
    io.event_ts_column = Str(o, "event_timestamp");
    io.created_ts_column = Str(o, "created_timestamp");
    io.timezone = Str(o, "timezone");
    return io;
  }

  nb::dict IngestStream(const std::string& view, nb::handle capsule, const std::string& source_name, nb::dict o) {
    workflow::IngestOptions options = IngestOptionsOf(o);
    std::unique_ptr<io::TableReader> tables = ImportCapsule(capsule);
    Store& s = store();
    workflow::IngestReport report;
    Status st;
    {
      nb::gil_scoped_release release;
      st = workflow::IngestTables(s, view, *tables, source_name, options, &report);
    }
    Check(st);
    return ReportOf(report);
  }

  nb::dict IngestFile(const std::string& view, const std::string& path, const std::string& format, nb::dict o) {
    workflow::IngestOptions options = IngestOptionsOf(o);
    Store& s = store();
    workflow::IngestReport report;
    Status st;
    {
      nb::gil_scoped_release release;
      io::SourceFormat f = format == "csv"       ? io::SourceFormat::kCsv
                           : format == "jsonl"   ? io::SourceFormat::kJsonLines
                           : format == "parquet" ? io::SourceFormat::kParquet
                                                 : io::SourceFormatOfPath(path);
      if (f == io::SourceFormat::kParquet) {
        auto tables = io::OpenParquetTables(path);
        st = tables.ok() ? workflow::IngestTables(s, view, **tables, path, options, &report) : tables.status();
      } else {
        auto source = io::OpenRecordSource(path, f);
        st = source.ok() ? workflow::Ingest(s, view, **source, options, &report) : source.status();
      }
    }
    Check(st);
    return ReportOf(report);
  }

  // The training set as an Arrow stream (a PyCapsule). `known_at`: "now", "label" or "fixed"
  // (then `fixed_known_at`, microseconds).
  nb::object Join(nb::handle labels, const std::vector<std::string>& features, const std::string& service,
                  bool full_names, const std::string& known_at, int64_t fixed_known_at,
                  const std::string& label_time_column, const std::string& epoch_unit) {
    std::unique_ptr<io::TableReader> label_tables = ImportCapsule(labels);
    Store& s = store();
    JoinOptions join;
    join.known_at = known_at == "label" ? KnownAt::kLabelTime : known_at == "fixed" ? KnownAt::kFixed : KnownAt::kNow;
    join.fixed_known_at = fixed_known_at;
    workflow::JoinTablesOptions o;
    o.label_time_column = label_time_column;
    o.epoch_unit = UnitNamed(epoch_unit);
    std::unique_ptr<io::TableReader> out;
    {
      nb::gil_scoped_release release;
      auto joiner = Unwrap(workflow::TrainingSetJoiner::Open(s, RequestOf(features, service, full_names), join));
      out = Unwrap(workflow::JoinTables(std::move(joiner), std::move(label_tables), o));
    }
    return ExportCapsule(std::move(out));
  }

  // Feast's get_online_features: entity rows as columns (join key name -> values).
  nb::dict Online(const std::vector<std::string>& features, const std::string& service, bool full_names,
                  nb::dict columns, int64_t as_of, int64_t known_at, int64_t now) {
    Store& s = store();
    std::shared_ptr<const std::vector<workflow::FeatureRef>> refs;
    std::shared_ptr<const workflow::OnDemandPlan> plan;
    std::map<std::string, RequestInputDef> request_inputs;  // of the on-demand features requested
    {
      nb::gil_scoped_release release;
      refs = Unwrap(refs_.Resolve(s, RequestOf(features, service, full_names)));
      plan = Unwrap(plans_.Get(s, *refs));
      if (plan)
        for (const RequestInputDef& in : plan->request_inputs()) request_inputs.emplace(in.name, in);
    }
    workflow::EntityRows rows;
    for (auto [name, values] : columns) {
      std::string column = nb::cast<std::string>(name);
      if (auto in = request_inputs.find(column); in != request_inputs.end()) {
        std::vector<Value> typed;
        size_t i = 0;
        for (nb::handle v : values)
          typed.push_back(RequestValueOf(v, in->second, "entity row " + std::to_string(i++) + ", '" + column + "'"));
        rows.request.emplace_back(column, std::move(typed));
        // A request input may share its name with a join key: then it is the key too.
        bool key_like = true;
        for (nb::handle v : values)
          key_like =
              key_like && !nb::isinstance<nb::bool_>(v) && (nb::isinstance<nb::int_>(v) || nb::isinstance<nb::str>(v));
        if (!key_like) continue;
      }
      std::vector<KeyPart> parts;
      size_t i = 0;
      for (nb::handle v : values)
        parts.push_back(KeyPartOf(v, "entity row " + std::to_string(i++) + ", '" + column + "'"));
      rows.columns.emplace_back(column, std::move(parts));
    }
    workflow::OnlineFeatures result;
    {
      nb::gil_scoped_release release;
      workflow::OnlineOptions o;
      o.as_of = as_of;
      o.known_at = known_at;
      o.read.now = now;
      o.plan = plan;
      result = Unwrap(workflow::GetOnlineFeatures(s, *refs, rows, o));
    }
    nb::list names, values, statuses, times;
    for (const workflow::OnlineFeatureColumn& c : result.features) {
      names.append(c.ref.output_name);
      nb::list vs, ss, ts;
      for (const Value& v : c.values) vs.append(ToPython(v));
      for (ValueStatus st : c.statuses) ss.append(nb::str(ValueStatusName(st)));
      for (Timestamp t : c.event_ts) ts.append(t);
      values.append(vs);
      statuses.append(ss);
      times.append(ts);
    }
    nb::dict out;
    out["rows"] = result.rows;
    out["names"] = names;
    out["values"] = values;
    out["statuses"] = statuses;
    out["event_ts"] = times;
    return out;
  }

  nb::dict Latest(const std::string& view, nb::handle key, const std::vector<std::string>& features, int64_t now) {
    EntityKey k = KeyOf(key);
    Store& s = store();
    ReadOptions ro;
    ro.now = now;
    Lookup l = Released([&] { return Unwrap(s.Latest(view, k, features, ro)); });
    return LookupToPython(l);
  }

  nb::dict AsOf(const std::string& view, nb::handle key, int64_t t, int64_t known_at,
                const std::vector<std::string>& features) {
    EntityKey k = KeyOf(key);
    Store& s = store();
    Lookup l = Released([&] { return Unwrap(s.AsOf(view, k, t, known_at, features)); });
    return LookupToPython(l);
  }

  nb::list History(const std::string& view, nb::handle key, int64_t from, int64_t to, int64_t known_at,
                   const std::vector<std::string>& features) {
    EntityKey k = KeyOf(key);
    Store& s = store();
    std::vector<VersionedRow> rows = Released([&] { return Unwrap(s.History(view, k, from, to, known_at, features)); });
    nb::list out;
    for (const VersionedRow& r : rows) {
      nb::list values;
      for (const Value& v : r.values) values.append(ToPython(v));
      out.append(nb::make_tuple(r.event_ts, r.system_ts, values));
    }
    return out;
  }

  // A view's stored rows, in key order, as an Arrow stream of tables of `batch_rows` rows:
  // the join keys, event_ts, system_ts, then the features.
  nb::object Scan(const std::string& view_name, int64_t known_at, const std::vector<std::string>& wanted,
                  size_t batch_rows) {
    Store& s = store();
    std::vector<io::ColumnSchema> schema;
    std::vector<io::Table> tables;
    {
      nb::gil_scoped_release release;
      FeatureViewDef view = Unwrap(s.GetView(view_name));
      std::vector<JoinKeyDef> keys = Unwrap(workflow::ViewKeyColumns(s, view));
      std::vector<FeatureDef> features;
      for (const FeatureDef& f : view.features)
        if (wanted.empty() || std::find(wanted.begin(), wanted.end(), f.name) != wanted.end()) features.push_back(f);
      std::vector<std::string> names;
      for (const FeatureDef& f : features) names.push_back(f.name);
      std::vector<std::pair<std::string, Column>> cols;
      auto reset = [&] {
        cols.clear();
        for (const JoinKeyDef& k : keys)
          cols.emplace_back(k.name, Column::Of(k.type == KeyType::kInt64 ? FeatureType::kInt64 : FeatureType::kString));
        cols.emplace_back("event_ts", Column::Of(FeatureType::kTimestamp));
        cols.emplace_back("system_ts", Column::Of(FeatureType::kTimestamp));
        for (const FeatureDef& f : features) cols.emplace_back(f.name, Column::Of(f.type, f.dim));
      };
      auto flush = [&] {
        io::Table t;
        t.rows = static_cast<int64_t>(cols[0].second.size());
        for (auto& [name, c] : cols) {
          t.columns.push_back(io::ArrayFromColumn(c));
          t.schema.push_back({name, t.columns.back().type, static_cast<int32_t>(c.dim)});
        }
        if (schema.empty()) schema = t.schema;
        tables.push_back(std::move(t));
        reset();
      };
      reset();
      Check(s.Scan(
          view.name,
          [&](const EntityKey& key, const VersionedRow& r) {
            size_t c = 0;
            for (const KeyPart& part : key) {
              if (std::holds_alternative<int64_t>(part))
                cols[c++].second.Append(Value::Int64(std::get<int64_t>(part)));
              else
                cols[c++].second.Append(Value::String(std::get<std::string>(part)));
            }
            cols[c++].second.Append(Value::Time(r.event_ts));
            cols[c++].second.Append(Value::Time(r.system_ts));
            for (const Value& v : r.values) cols[c++].second.Append(v);
            if (cols[0].second.size() >= batch_rows) flush();
            return true;
          },
          known_at, names));
      if (cols[0].second.size() > 0 || tables.empty()) flush();
    }
    return ExportCapsule(io::ReaderOfTables(std::move(schema), std::move(tables)));
  }

  nb::dict Info() {
    Store& s = store();
    StoreStats st = Released([&] { return Unwrap(s.Stats()); });
    nb::list views;
    for (const StoreStats::View& v : st.views) {
      nb::dict d;
      d["name"] = v.name;
      d["rows"] = v.rows;
      d["entities"] = v.entities;
      d["row_batches"] = v.row_blocks;
      d["segments"] = v.segments;
      d["stored_bytes"] = v.stored_bytes;
      d["raw_bytes"] = v.raw_bytes;
      d["min_event_ts"] = v.rows ? nb::object(nb::int_(v.min_event_ts)) : nb::none();
      d["max_event_ts"] = v.rows ? nb::object(nb::int_(v.max_event_ts)) : nb::none();
      views.append(d);
    }
    nb::dict out;
    out["path"] = path_;
    out["file_bytes"] = st.file_bytes;
    out["required_features"] = st.required_features;
    out["live_bytes"] = st.live_bytes;
    out["commit_seq"] = st.commit_seq;
    out["views"] = views;
    nb::dict merges;
    merges["count"] = st.merges.count;
    merges["rows_in"] = st.merges.rows_in;
    merges["rows_out"] = st.merges.rows_out;
    merges["bytes_in"] = st.merges.bytes_in;
    merges["bytes_out"] = st.merges.bytes_out;
    merges["seconds"] = st.merges.micros / 1e6;
    merges["last_at"] = st.merges.count ? nb::object(nb::int_(st.merges.last_at)) : nb::none();
    merges["last_seconds"] = st.merges.last_micros / 1e6;
    out["merges"] = merges;
    return out;
  }

  nb::dict Verify() {
    Store& s = store();
    VerifyReport r = Released([&] { return Unwrap(s.Verify()); });
    nb::dict out;
    out["ok"] = r.ok();
    out["problems"] = r.problems;
    out["blocks_checked"] = r.blocks_checked;
    out["rows_checked"] = r.rows_checked;
    out["index_entries_checked"] = r.index_entries_checked;
    out["pending_transactions"] = r.pending_transactions;
    out["torn_tail"] = r.torn_tail;
    return out;
  }

  void Compact(bool full) {
    Store& s = store();
    nb::gil_scoped_release release;
    Check(s.Compact(CompactOptions{full}));
  }
  void WaitForMerges() {
    Store& s = store();
    nb::gil_scoped_release release;
    Check(s.WaitForMerges());
  }
  // Each feature's statistics over [from, to] (event times), known at known_at; with a second
  // window (c_from <= c_to), also the stability index of the second against the first.
  nb::list Summarize(const std::string& view, std::vector<std::string> features, int64_t from, int64_t to,
                     int64_t known_at, std::vector<double> quantiles, int64_t c_from, int64_t c_to) {
    Store& s = store();
    SummarizeOptions o;
    o.from = from, o.to = to, o.known_at = known_at, o.features = std::move(features);
    std::vector<FeatureSummary> first = Released([&] { return Unwrap(s.Summarize(view, o)); });
    std::vector<FeatureSummary> second;
    if (c_from <= c_to) {
      o.from = c_from, o.to = c_to;
      second = Released([&] { return Unwrap(s.Summarize(view, o)); });
    }
    auto number = [](double v) { return std::isnan(v) ? nb::none() : nb::object(nb::float_(v)); };
    nb::list out;
    for (size_t i = 0; i < first.size(); ++i) {
      const FeatureSummary& f = first[i];
      nb::dict d;
      d["feature"] = f.feature;
      d["type"] = FeatureTypeName(f.type);
      d["measure"] = MeasureName(f.measure);
      d["rows"] = f.rows;
      d["nulls"] = f.nulls;
      d["non_finite"] = f.non_finite;
      d["min"] = number(f.min);
      d["max"] = number(f.max);
      d["mean"] = number(f.mean);
      d["stddev"] = number(f.stddev());
      nb::list qs;
      for (double q : quantiles) qs.append(number(f.Quantile(q)));
      d["quantiles"] = qs;
      if (!second.empty()) {
        d["current_rows"] = second[i].rows;
        d["current_nulls"] = second[i].nulls;
        d["current_mean"] = number(second[i].mean);
        nb::list cqs;
        for (double q : quantiles) cqs.append(number(second[i].Quantile(q)));
        d["current_quantiles"] = cqs;
        d["psi"] = number(PopulationStabilityIndex(f, second[i]));
      }
      out.append(d);
    }
    return out;
  }
  void DropView(const std::string& view) {
    Store& s = store();
    nb::gil_scoped_release release;
    Check(s.DropView(view));
  }
  void DropFeature(const std::string& view, const std::string& feature) {
    Store& s = store();
    nb::gil_scoped_release release;
    Check(s.DropFeature(view, feature));
  }
  uint64_t Delete(const std::string& view, nb::list keys) {
    std::vector<EntityKey> ks;
    for (nb::handle k : keys) ks.push_back(KeyOf(k));
    Store& s = store();
    nb::gil_scoped_release release;
    Result<uint64_t> r = s.Delete(view, ks);
    Check(r.status());
    return *r;
  }
  void Vacuum() {
    Store& s = store();
    nb::gil_scoped_release release;
    Check(s.Vacuum());
  }
  void CopyTo(const std::string& dest) {
    Store& s = store();
    nb::gil_scoped_release release;
    Check(s.CopyTo(dest));
  }

 private:
  std::string path_;
  std::unique_ptr<Store> store_;
  workflow::FeatureRefCache refs_{256};
  workflow::OnDemandPlanCache plans_{256};
};

// One shard key part from Python: an int (int64) or a str.
KeyPart ShardKeyPart(nb::handle v, size_t column, size_t row) {
  if (nb::isinstance<nb::bool_>(v) || !(nb::isinstance<nb::int_>(v) || nb::isinstance<nb::str>(v)))
    Check(Status::InvalidArgument("shard key column " + std::to_string(column) + ", row " + std::to_string(row) +
                                  ": expected an int or a str, got " +
                                  nb::cast<std::string>(nb::str(nb::handle(v.type())))));
  if (nb::isinstance<nb::str>(v)) return nb::cast<std::string>(v);
  return nb::cast<int64_t>(v);
}

// The shard of every row of `columns` (one sequence per shard key, equally long).
std::vector<uint32_t> ShardsOf(nb::list columns, uint32_t shards) {
  if (shards == 0) Check(Status::InvalidArgument("shards must be at least 1"));
  if (columns.size() == 0) Check(Status::InvalidArgument("no shard key columns"));
  std::vector<nb::sequence> cols;
  for (nb::handle c : columns) cols.push_back(nb::cast<nb::sequence>(c));
  size_t n = nb::len(cols[0]);
  for (size_t k = 1; k < cols.size(); ++k)
    if (nb::len(cols[k]) != n) Check(Status::InvalidArgument("shard key columns of different lengths"));
  std::vector<uint32_t> out(n);
  std::vector<KeyPart> parts(cols.size());
  for (size_t i = 0; i < n; ++i) {
    for (size_t k = 0; k < cols.size(); ++k) parts[k] = ShardKeyPart(cols[k][i], k, i);
    out[i] = workflow::ShardOfKey(parts, shards);
  }
  return out;
}

int64_t SparkHash(nb::list parts) {
  std::vector<KeyPart> key;
  size_t k = 0;
  for (nb::handle v : parts) key.push_back(ShardKeyPart(v, k++, 0));
  return workflow::SparkXxHash64(key);
}

}  // namespace
}  // namespace pitstore::python

NB_MODULE(_pitstore, m) {
  using namespace pitstore;
  using namespace pitstore::python;
  m.doc() = "The pitstore engine (internal: use the pitstore package).";
  m.attr("MAX_TIMESTAMP") = kMaxTimestamp;
  m.attr("MIN_TIMESTAMP") = kMinTimestamp;
  nb::register_exception_translator([](const std::exception_ptr& p, void*) {
    try {
      std::rethrow_exception(p);
    } catch (const StatusError& e) {
      nb::object errors = nb::module_::import_("pitstore.errors");
      nb::object cls = errors.attr("error_class")(static_cast<int>(e.status.code()));
      PyErr_SetString(cls.ptr(), e.status.message().c_str());
    }
  });
  m.def("shards_of", &ShardsOf, "columns"_a, "shards"_a);
  m.def("spark_xxhash64", &SparkHash, "parts"_a);
  m.def(
      "file_checksum", [](const std::string& path) { return Unwrap(workflow::FileChecksum(path)); }, "path"_a);
  nb::class_<PyStore>(m, "Store")
      .def(nb::init<const std::string&, bool, bool, uint32_t, uint32_t, uint64_t>(), "path"_a, "read_only"_a,
           "create"_a, "page_rows"_a, "segment_rows"_a, "segment_bytes"_a)
      .def("close", &PyStore::Close)
      .def_prop_ro("closed", &PyStore::closed)
      .def_prop_ro("path", &PyStore::path)
      .def("apply_yaml", &PyStore::ApplyYaml)
      .def("apply_objects", &PyStore::ApplyObjects)
      .def("describe", &PyStore::Describe)
      .def("ingest_stream", &PyStore::IngestStream)
      .def("ingest_file", &PyStore::IngestFile)
      .def("join", &PyStore::Join)
      .def("online", &PyStore::Online)
      .def("latest", &PyStore::Latest)
      .def("as_of", &PyStore::AsOf)
      .def("history", &PyStore::History)
      .def("scan", &PyStore::Scan)
      .def("info", &PyStore::Info)
      .def("verify", &PyStore::Verify)
      .def("compact", &PyStore::Compact)
      .def("wait_for_merges", &PyStore::WaitForMerges)
      .def("vacuum", &PyStore::Vacuum)
      .def("delete", &PyStore::Delete)
      .def("summarize", &PyStore::Summarize)
      .def("drop_view", &PyStore::DropView)
      .def("drop_feature", &PyStore::DropFeature)
      .def("copy_to", &PyStore::CopyTo);
}
