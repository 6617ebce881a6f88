#include "pitstore/workflow/definitions.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <set>

#include "pitstore/io/suggest.h"

namespace pitstore::workflow {
namespace {

constexpr size_t kMaxDefinitionsBytes = 1 << 20;
constexpr int kMaxFlowDepth = 32;

class Loader {
 public:
  // yaml-cpp parses flow collections ([...], {...}) recursively: refuse deep nesting before it
  // can exhaust the stack. Brackets inside quotes and comments do not count.
  Status CheckNesting(const std::string& text) const {
    int depth = 0, line = 1;
    char quote = 0;
    bool comment = false;
    for (size_t i = 0; i < text.size(); ++i) {
      char c = text[i];
      if (c == '\n') {
        ++line;
        comment = false;
        continue;
      }
      if (comment) continue;
      if (quote) {
        if (c == quote)
          quote = 0;
        else if (c == '\\' && quote == '"')
          ++i;
        continue;
      }
      if (c == '"' || c == '\'')
        quote = c;
      else if (c == '#')
        comment = true;
      else if ((c == '[' || c == '{') && ++depth > kMaxFlowDepth)
        return Status::InvalidArgument(path_ + ":" + std::to_string(line) + ": nested deeper than " +
                                       std::to_string(kMaxFlowDepth) + " levels");
      else if ((c == ']' || c == '}') && depth > 0)
        --depth;
    }
    return Status::OK();
  }

  Loader(std::string path, DefinitionPlaces* places) : path_(std::move(path)), places_(places) {}

  std::string Place(const YAML::Node& node) const {
    const YAML::Mark m = node.Mark();
    return path_ + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
  }

  Status Error(const YAML::Node& node, const std::string& what) const {
    return Status::InvalidArgument(Place(node) + ": " + what);
  }

  // A second YAML document would be ignored by YAML::Load. Found by its marker: a line "---"
  // (or "..." then more) after content. (YAML::LoadAll can loop for ever on malformed input:
  // found by fuzz_definitions.)
  Status OneDocument(const std::string& text) const {
    bool content = false, ended = false;
    int line = 0;
    for (size_t start = 0; start <= text.size();) {
      size_t end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();
      std::string_view l(text.data() + start, end - start);
      ++line;
      start = end + 1;
      if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
      bool marker = l.substr(0, 3) == "---" && (l.size() == 3 || l[3] == ' ' || l[3] == '\t');
      if ((marker && content) || (ended && !l.empty() && l[0] != '#' && !marker))
        return Status::InvalidArgument(path_ + ":" + std::to_string(line) +
                                       ":1: a second YAML document: a definitions file is one document (no '---' "
                                       "between parts)");
      if (l == "...") ended = content;
      size_t first = l.find_first_not_of(" \t");
      if (!marker && first != std::string_view::npos && l[first] != '#' && l[0] != '%') content = true;
      if (end == text.size()) break;
    }
    return Status::OK();
  }

  // yaml-cpp keeps the first of two equal keys and hides the second: a changed type written
  // below the original would be ignored. Refused, in every mapping of the file.
  Status NoDuplicateKeys(const YAML::Node& node, size_t* visited, int depth = 0) const {
    // Aliases share nodes: a file of nested aliases expands exponentially when walked, and an
    // alias inside its own anchor (`a: &a [*a]`) makes a cycle (found by fuzz_definitions).
    if (++*visited > 200'000) return Error(node, "the file expands to more than 200,000 nodes (aliases of aliases?)");
    if (depth > 64)
      return Error(node, "nested more than 64 levels deep (an alias inside its own anchor, such as `a: &a [*a]`?)");
    if (node.IsMap()) {
      std::map<std::string, YAML::Node> seen;
      for (const auto& kv : node) {
        if (kv.first.IsScalar()) {
          std::string key = kv.first.Scalar();
          auto [it, inserted] = seen.emplace(key, kv.first);
          if (!inserted)
            return Error(kv.first, "key '" + key + "' given twice in one mapping (first at " + Place(it->second) + ")");
        }
        PITSTORE_RETURN_IF_ERROR(NoDuplicateKeys(kv.second, visited, depth + 1));
      }
    } else if (node.IsSequence()) {
      for (const YAML::Node& item : node) PITSTORE_RETURN_IF_ERROR(NoDuplicateKeys(item, visited, depth + 1));
    }
    return Status::OK();
  }

  // Refuses keys outside `allowed` (typos must not pass silently).
  Status OnlyKeys(const YAML::Node& map, const std::set<std::string>& allowed, const std::string& what) const {
    if (!map.IsMap()) return Error(map, what + " must be a mapping");
    for (const auto& kv : map) {
      std::string key = kv.first.as<std::string>();
      if (!allowed.count(key))
        return Error(kv.first, "unknown key '" + key + "' in " + what +
                                   io::DidYouMean(key, std::vector<std::string>(allowed.begin(), allowed.end())));
    }
    return Status::OK();
  }

  // A key given under two names (pitstore's and Feast's): at most one of them.
  Result<std::string> EitherScalar(const YAML::Node& map, const std::string& key, const std::string& feast_key,
                                   const std::string& what) const {
    if (map[key] && map[feast_key])
      return Error(map[feast_key], "'" + key + "' and '" + feast_key + "' name the same thing: give one");
    return Scalar(map, map[feast_key] ? feast_key : key, false, what);
  }

  Result<std::string> Scalar(const YAML::Node& map, const std::string& key, bool required,
                             const std::string& what) const {
    YAML::Node n = map[key];
    if (!n) {
      if (required) return Error(map, what + " needs '" + key + "'");
      return std::string();
    }
    if (!n.IsScalar()) return Error(n, "'" + key + "' must be a single value");
    return n.as<std::string>();
  }

  // The optional `tags` mapping of a view or service.
  Status Tags(const YAML::Node& n, std::vector<std::pair<std::string, std::string>>* out) const {
    YAML::Node tags = n["tags"];
    if (!tags) return Status::OK();
    if (!tags.IsMap()) return Error(tags, "tags must be a mapping");
    for (const auto& kv : tags) out->emplace_back(kv.first.as<std::string>(), kv.second.as<std::string>());
    return Status::OK();
  }

  Result<FeatureType> Type(const YAML::Node& node, const std::string& name) const {
    FeatureType t;
    if (ParseFeatureType(name, &t)) return t;
    static const std::vector<std::string> kNames = {
        "bool", "int32", "int64", "float32", "float64", "string", "bytes", "timestamp",     "float32_vector",
        "Bool", "Int32", "Int64", "Float32", "Float64", "String", "Bytes", "UnixTimestamp", "Array(Float32)"};
    return Error(node, "unknown type '" + name + "'" + io::DidYouMean(name, kNames) +
                           " (bool, int32, int64, float32, float64, string, bytes, timestamp, float32_vector; or "
                           "Feast's Bool, Int32, Int64, Float32, Float64, String, Bytes, UnixTimestamp, "
                           "Array(Float32))");
  }

  // A join key's type: int64 or string (Feast's value_type spellings too: INT64, Int64, STRING,
  // String; INT32 widens to int64).
  Result<KeyType> KeyTypeOf(const YAML::Node& node, const std::string& type) const {
    if (type.empty() || type == "int64" || type == "Int64" || type == "INT64" || type == "int32" || type == "Int32" ||
        type == "INT32" || type == "ValueType.INT64" || type == "ValueType.INT32")
      return KeyType::kInt64;
    if (type == "string" || type == "String" || type == "STRING" || type == "ValueType.STRING") return KeyType::kString;
    return Error(node,
                 "join key type must be int64 or string (Feast's value_type INT64 or STRING), got '" + type + "'");
  }

  // Feast's Entity too: join keys as plain names, typed by `value_type` (default int64), and
  // its `tags` and `owner` (accepted; an entity keeps only its name, keys and description).
  Result<EntityDef> Entity(const YAML::Node& n) const {
    PITSTORE_RETURN_IF_ERROR(
        OnlyKeys(n, {"name", "description", "join_keys", "value_type", "tags", "owner"}, "an entity"));
    EntityDef e;
    PITSTORE_ASSIGN_OR_RETURN(e.name, Scalar(n, "name", true, "an entity"));
    PITSTORE_ASSIGN_OR_RETURN(e.description, Scalar(n, "description", false, "an entity"));
    PITSTORE_ASSIGN_OR_RETURN(std::string value_type, Scalar(n, "value_type", false, "an entity"));
    std::vector<std::pair<std::string, std::string>> ignored_tags;
    PITSTORE_RETURN_IF_ERROR(Tags(n, &ignored_tags));
    YAML::Node keys = n["join_keys"];
    if (!keys || !keys.IsSequence() || keys.size() == 0)
      return Error(n, "entity '" + e.name + "' needs a list of join_keys");
    for (const YAML::Node& k : keys) {
      JoinKeyDef jk;
      if (k.IsScalar()) {  // Feast: a name; the type from the entity's value_type
        jk.name = k.as<std::string>();
        PITSTORE_ASSIGN_OR_RETURN(jk.type, KeyTypeOf(n["value_type"] ? n["value_type"] : k, value_type));
      } else {
        PITSTORE_RETURN_IF_ERROR(OnlyKeys(k, {"name", "type"}, "a join key"));
        PITSTORE_ASSIGN_OR_RETURN(jk.name, Scalar(k, "name", true, "a join key"));
        PITSTORE_ASSIGN_OR_RETURN(std::string type, Scalar(k, "type", false, "a join key"));
        PITSTORE_ASSIGN_OR_RETURN(jk.type, KeyTypeOf(k["type"] ? k["type"] : k, type.empty() ? value_type : type));
      }
      e.join_keys.push_back(jk);
    }
    return e;
  }

  // Feast's FeatureView too: `schema` (fields with `dtype`) for `features`, `timestamp_field`
  // and `created_timestamp_column` (on the view or its `source`) for `event_timestamp` and
  // `created_timestamp`, `online` (every pitstore view is online and offline), and `source`
  // (its time columns are read; its path is not stored: `pitstore ingest` names the file).
  Result<FeatureViewDef> View(const YAML::Node& n, const std::vector<EntityDef>& entities) const {
    PITSTORE_RETURN_IF_ERROR(OnlyKeys(
        n,
        {"name", "entities", "features", "ttl", "description", "owner", "tags", "event_timestamp", "created_timestamp",
         "schema", "timestamp_field", "created_timestamp_column", "online", "source", "retention", "freshness"},
        "a feature view"));
    FeatureViewDef v;
    PITSTORE_ASSIGN_OR_RETURN(v.name, Scalar(n, "name", true, "a feature view"));
    PITSTORE_ASSIGN_OR_RETURN(v.description, Scalar(n, "description", false, "a feature view"));
    PITSTORE_ASSIGN_OR_RETURN(v.owner, Scalar(n, "owner", false, "a feature view"));
    PITSTORE_ASSIGN_OR_RETURN(v.event_ts_column,
                              EitherScalar(n, "event_timestamp", "timestamp_field", "a feature view"));
    PITSTORE_ASSIGN_OR_RETURN(v.created_ts_column,
                              EitherScalar(n, "created_timestamp", "created_timestamp_column", "a feature view"));
    if (YAML::Node source = n["source"]) {
      if (source.IsMap()) {
        PITSTORE_RETURN_IF_ERROR(OnlyKeys(source,
                                          {"name", "path", "type", "file_format", "timestamp_field",
                                           "created_timestamp_column", "description", "owner", "tags", "field_mapping"},
                                          "a source"));
        if (source["field_mapping"])
          return Error(source["field_mapping"],
                       "field_mapping is not supported: name the columns as the view does (or rename them "
                       "before ingest)");
        for (auto [key, field] : {std::pair{"timestamp_field", &v.event_ts_column},
                                  std::pair{"created_timestamp_column", &v.created_ts_column}}) {
          PITSTORE_ASSIGN_OR_RETURN(std::string from_source, Scalar(source, key, false, "a source"));
          if (from_source.empty()) continue;
          if (!field->empty() && *field != from_source)
            return Error(source[key], std::string("the view and its source give different ") + key + "s ('" + *field +
                                          "', '" + from_source + "')");
          *field = from_source;
        }
      } else if (!source.IsScalar()) {
        return Error(source, "source must be a mapping (path, timestamp_field, created_timestamp_column) or a name");
      }
    }
    if (YAML::Node online = n["online"];
        online && (!online.IsScalar() || (online.as<std::string>() != "true" && online.as<std::string>() != "false")))
      return Error(online, "online must be true or false");
    PITSTORE_ASSIGN_OR_RETURN(std::string ttl, Scalar(n, "ttl", false, "a feature view"));
    if (!ttl.empty() && !ParseDuration(ttl, &v.ttl_us))
      return Error(n["ttl"], "ttl '" + ttl + "' is not a duration like 90d, 6h, 15m, 30s, 86400 (seconds) or 0");
    PITSTORE_ASSIGN_OR_RETURN(std::string retention, Scalar(n, "retention", false, "a feature view"));
    if (!retention.empty() && !ParseDuration(retention, &v.retention_us))
      return Error(n["retention"],
                   "retention '" + retention + "' is not a duration like 365d, 90d, 6h or 0 (keep all)");
    PITSTORE_ASSIGN_OR_RETURN(std::string freshness, Scalar(n, "freshness", false, "a feature view"));
    if (!freshness.empty() && !ParseDuration(freshness, &v.freshness_us))
      return Error(n["freshness"], "freshness '" + freshness + "' is not a duration like 2h, 15m, 1d or 0 (none)");
    YAML::Node ents = n["entities"];
    if (!ents || !ents.IsSequence() || ents.size() == 0)
      return Error(n, "view '" + v.name + "' needs a list of entities");
    for (const YAML::Node& e : ents) {
      if (!e.IsScalar()) return Error(e, "an entity name must be a single value");
      v.entities.push_back(e.as<std::string>());
    }
    PITSTORE_RETURN_IF_ERROR(Tags(n, &v.tags));
    if (n["features"] && n["schema"])
      return Error(n["schema"], "'features' and 'schema' name the same thing: give one");
    const bool feast = static_cast<bool>(n["schema"]);
    YAML::Node feats = feast ? n["schema"] : n["features"];
    if (!feats || !feats.IsSequence() || feats.size() == 0)
      return Error(n, "view '" + v.name + "' needs a list of features");
    // Feast's schema may list the entities' join keys: they are the key columns, not features.
    std::set<std::string> join_keys;
    for (const EntityDef& e : entities)
      if (std::find(v.entities.begin(), v.entities.end(), e.name) != v.entities.end())
        for (const JoinKeyDef& k : e.join_keys) join_keys.insert(k.name);
    for (const YAML::Node& f : feats) {
      const char* type_key = feast ? "dtype" : "type";
      PITSTORE_RETURN_IF_ERROR(feast ? OnlyKeys(f, {"name", "dtype", "description", "tags", "vector_length"}, "a field")
                                     : OnlyKeys(f, {"name", "type", "dim", "description"}, "a feature"));
      FeatureDef fd;
      PITSTORE_ASSIGN_OR_RETURN(fd.name, Scalar(f, "name", true, "a feature"));
      PITSTORE_ASSIGN_OR_RETURN(std::string type, Scalar(f, type_key, true, "a feature"));
      if (feast && join_keys.count(fd.name)) continue;
      PITSTORE_ASSIGN_OR_RETURN(fd.type, Type(f[type_key], type));
      PITSTORE_ASSIGN_OR_RETURN(fd.description, Scalar(f, "description", false, "a feature"));
      PITSTORE_ASSIGN_OR_RETURN(std::string dim, Scalar(f, feast ? "vector_length" : "dim", false, "a feature"));
      if (!dim.empty()) {
        char* end = nullptr;
        unsigned long d = std::strtoul(dim.c_str(), &end, 10);
        if (*end != '\0' || d == 0 || d > 65536)
          return Error(f[feast ? "vector_length" : "dim"], "dim must be 1..65536");
        fd.dim = static_cast<uint32_t>(d);
      }
      if ((fd.type == FeatureType::kFloat32Vector) != (fd.dim > 0))
        return Error(f, "feature '" + fd.name + "': " + (feast ? "vector_length" : "dim") + " goes with " +
                            (feast ? "Array(Float32)" : "float32_vector") + ", and only with it");
      v.features.push_back(fd);
    }
    return v;
  }

  // `view:*` expands to every feature of the view as this file defines it (or, when the file
  // does not define the view, as the store will find it: left for the store to resolve).
  Result<FeatureServiceDef> Service(const YAML::Node& n, const std::vector<FeatureViewDef>& views) const {
    PITSTORE_RETURN_IF_ERROR(OnlyKeys(n, {"name", "features", "description", "tags", "owner"}, "a feature service"));
    FeatureServiceDef s;
    PITSTORE_ASSIGN_OR_RETURN(s.name, Scalar(n, "name", true, "a feature service"));
    PITSTORE_ASSIGN_OR_RETURN(s.description, Scalar(n, "description", false, "a feature service"));
    PITSTORE_ASSIGN_OR_RETURN(s.owner, Scalar(n, "owner", false, "a feature service"));
    PITSTORE_RETURN_IF_ERROR(Tags(n, &s.tags));
    YAML::Node feats = n["features"];
    if (!feats || !feats.IsSequence() || feats.size() == 0)
      return Error(n, "service '" + s.name + "' needs a list of view:feature references");
    for (const YAML::Node& f : feats) {
      if (!f.IsScalar()) return Error(f, "a feature reference must be a single value like view:feature");
      std::string ref = f.as<std::string>(), view, feature;
      if (!ParseFeatureRef(ref, &view, &feature)) return Error(f, "'" + ref + "' is not a view:feature reference");
      if (feature != "*") {
        s.features.push_back(ref);
        continue;
      }
      const FeatureViewDef* def = nullptr;
      for (const FeatureViewDef& v : views)
        if (v.name == view) def = &v;
      if (!def) return Error(f, "'" + ref + "': view:* needs the view '" + view + "' defined in this file");
      for (const FeatureDef& fd : def->features) s.features.push_back(view + ":" + fd.name);
    }
    return s;
  }

  // An aggregation view: each entry of `aggregations` is one function of one column over one
  // or more windows, one aggregate per window.
  Result<AggregationViewDef> AggregationView(const YAML::Node& n) const {
    const std::string what = "an aggregation view";
    PITSTORE_RETURN_IF_ERROR(OnlyKeys(n, {"name", "source", "aggregations", "description", "tags", "owner"}, what));
    AggregationViewDef a;
    PITSTORE_ASSIGN_OR_RETURN(a.name, Scalar(n, "name", true, what));
    PITSTORE_ASSIGN_OR_RETURN(a.source, Scalar(n, "source", true, what));
    PITSTORE_ASSIGN_OR_RETURN(a.description, Scalar(n, "description", false, what));
    PITSTORE_ASSIGN_OR_RETURN(a.owner, Scalar(n, "owner", false, what));
    PITSTORE_RETURN_IF_ERROR(Tags(n, &a.tags));
    YAML::Node list = n["aggregations"];
    if (!list || !list.IsSequence() || list.size() == 0)
      return Error(n, "aggregation view '" + a.name + "' needs a list of aggregations");
    for (const YAML::Node& item : list) {
      PITSTORE_RETURN_IF_ERROR(
          OnlyKeys(item, {"column", "function", "windows", "window", "name", "k"}, "an aggregation"));
      WindowAggregate w;
      PITSTORE_ASSIGN_OR_RETURN(w.column, Scalar(item, "column", true, "an aggregation"));
      PITSTORE_ASSIGN_OR_RETURN(std::string function, Scalar(item, "function", true, "an aggregation"));
      if (!ParseAggregateFunction(function, &w.function))
        return Error(item["function"], "unknown function '" + function +
                                           "' (count, sum, mean, min, max, stddev, last, count_distinct, last_k)");
      PITSTORE_ASSIGN_OR_RETURN(w.name, Scalar(item, "name", false, "an aggregation"));
      PITSTORE_ASSIGN_OR_RETURN(std::string k, Scalar(item, "k", false, "an aggregation"));
      if (w.function == AggregateFunction::kLastK) {
        char* end = nullptr;
        const unsigned long long parsed = k.empty() ? 0 : std::strtoull(k.c_str(), &end, 10);
        if (k.empty() || *end != '\0' || k[0] == '-' || parsed < 1 || parsed > kMaxLastK)
          return Error(k.empty() ? item : item["k"],
                       "last_k needs k, how many values to keep, from 1 to " + std::to_string(kMaxLastK));
        w.k = static_cast<uint32_t>(parsed);
      } else if (!k.empty()) {
        return Error(item["k"], "k goes with last_k only");
      }
      std::vector<YAML::Node> windows;
      if (item["window"] && item["windows"]) return Error(item, "give 'window' or 'windows', not both");
      if (item["window"]) windows.push_back(item["window"]);
      if (YAML::Node ws = item["windows"]) {
        if (!ws.IsSequence()) return Error(ws, "'windows' must be a list such as [1h, 1d, 7d]");
        for (const YAML::Node& w : ws) windows.push_back(w);
      }
      if (windows.empty()) return Error(item, "an aggregation needs 'window' or 'windows'");
      if (!w.name.empty() && windows.size() > 1)
        return Error(item["name"], "a name goes with one window (names of several are column_function_window)");
      for (const YAML::Node& wn : windows) {
        if (!wn.IsScalar() || !ParseDuration(wn.Scalar(), &w.window_us) || w.window_us <= 0)
          return Error(wn, "a window is a duration longer than 0 such as 90s, 15m, 1h or 7d");
        a.aggregates.push_back(w);
      }
    }
    return a;
  }

  // An on-demand view: request inputs and features, each feature an expression (compiled by
  // the store at apply; places.expressions maps its error columns to the file's).
  Result<OnDemandViewDef> OnDemandView(const YAML::Node& n, DefinitionPlaces* places) const {
    const std::string what = "an on-demand view";
    PITSTORE_RETURN_IF_ERROR(OnlyKeys(n, {"name", "request", "features", "description", "tags", "owner"}, what));
    OnDemandViewDef o;
    PITSTORE_ASSIGN_OR_RETURN(o.name, Scalar(n, "name", true, what));
    PITSTORE_ASSIGN_OR_RETURN(o.description, Scalar(n, "description", false, what));
    PITSTORE_ASSIGN_OR_RETURN(o.owner, Scalar(n, "owner", false, what));
    PITSTORE_RETURN_IF_ERROR(Tags(n, &o.tags));
    if (YAML::Node request = n["request"]) {
      if (!request.IsSequence()) return Error(request, "'request' must be a list of {name, type}");
      for (const YAML::Node& item : request) {
        PITSTORE_RETURN_IF_ERROR(OnlyKeys(item, {"name", "type", "dim"}, "a request input"));
        RequestInputDef in;
        PITSTORE_ASSIGN_OR_RETURN(in.name, Scalar(item, "name", true, "a request input"));
        PITSTORE_ASSIGN_OR_RETURN(std::string type, Scalar(item, "type", true, "a request input"));
        PITSTORE_ASSIGN_OR_RETURN(in.type, Type(item["type"], type));
        PITSTORE_ASSIGN_OR_RETURN(std::string dim, Scalar(item, "dim", false, "a request input"));
        if (!dim.empty()) {
          auto r = std::from_chars(dim.data(), dim.data() + dim.size(), in.dim);
          if (r.ec != std::errc() || r.ptr != dim.data() + dim.size())
            return Error(item["dim"], "dim must be a whole number");
        }
        o.request.push_back(std::move(in));
      }
    }
    YAML::Node list = n["features"];
    if (!list || !list.IsSequence() || list.size() == 0)
      return Error(n, "on-demand view '" + o.name + "' needs a list of features");
    for (const YAML::Node& item : list) {
      PITSTORE_RETURN_IF_ERROR(OnlyKeys(item, {"name", "expression", "description"}, "an on-demand feature"));
      OnDemandFeatureDef f;
      PITSTORE_ASSIGN_OR_RETURN(f.name, Scalar(item, "name", true, "an on-demand feature"));
      PITSTORE_ASSIGN_OR_RETURN(f.expression, Scalar(item, "expression", true, "an on-demand feature"));
      PITSTORE_ASSIGN_OR_RETURN(f.description, Scalar(item, "description", false, "an on-demand feature"));
      auto [it, inserted] = places->expressions.emplace(std::make_pair(o.name, f.name),
                                                        ExpressionPlace(item["expression"], f.expression));
      if (!inserted) return Error(item, "on-demand view '" + o.name + "': feature '" + f.name + "' defined twice");
      o.features.push_back(std::move(f));
    }
    return o;
  }

  // Where an expression's text starts in the file, and whether its columns are the file's: a
  // one-line plain or quoted scalar without escapes (a block scalar is placed at its start).
  DefinitionPlaces::ExpressionPlace ExpressionPlace(const YAML::Node& node, const std::string& value) const {
    const YAML::Mark m = node.Mark();
    DefinitionPlaces::ExpressionPlace p{path_, static_cast<uint64_t>(m.line + 1), static_cast<uint64_t>(m.column + 1),
                                        false};
    if (value.find('\n') != std::string::npos || m.pos < 0 || static_cast<size_t>(m.pos) >= text_.size()) return p;
    size_t at = static_cast<size_t>(m.pos);
    char first = text_[at];
    if (first == '"' || first == '\'') {
      p.exact = text_.compare(at + 1, value.size(), value) == 0 && text_.size() > at + 1 + value.size() &&
                text_[at + 1 + value.size()] == first;
      if (p.exact) ++p.column;
    } else {
      p.exact = text_.compare(at, value.size(), value) == 0;
    }
    return p;
  }

  Result<Definitions> Load(const std::string& text) const {
    text_ = text;
    if (text.size() > kMaxDefinitionsBytes) return Status::InvalidArgument(path_ + ": larger than 1 MiB");
    PITSTORE_RETURN_IF_ERROR(CheckNesting(text));
    PITSTORE_RETURN_IF_ERROR(OneDocument(text));
    YAML::Node root;
    try {
      root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
      return Status::InvalidArgument(path_ + ":" + std::to_string(e.mark.line + 1) + ":" +
                                     std::to_string(e.mark.column + 1) + ": " + e.msg);
    } catch (const std::exception& e) {
      return Status::InvalidArgument(path_ + ": " + e.what());
    }
    Definitions d;
    DefinitionPlaces places;
    try {
      if (!root || root.IsNull()) return d;
      size_t visited = 0;
      PITSTORE_RETURN_IF_ERROR(NoDuplicateKeys(root, &visited));
      PITSTORE_RETURN_IF_ERROR(OnlyKeys(
          root, {"entities", "feature_views", "feature_services", "aggregation_views", "on_demand_views"}, "the file"));
      for (const char* section :
           {"entities", "feature_views", "feature_services", "aggregation_views", "on_demand_views"}) {
        YAML::Node list = root[section];
        if (!list) continue;
        if (!list.IsSequence()) return Error(list, std::string("'") + section + "' must be a list");
        for (const YAML::Node& item : list) {
          if (section == std::string("entities")) {
            PITSTORE_ASSIGN_OR_RETURN(EntityDef e, Entity(item));
            PITSTORE_RETURN_IF_ERROR(Once(item, "entity", e.name, &places.entities));
            d.entities.push_back(std::move(e));
          } else if (section == std::string("on_demand_views")) {
            PITSTORE_ASSIGN_OR_RETURN(OnDemandViewDef o, OnDemandView(item, &places));
            PITSTORE_RETURN_IF_ERROR(Once(item, "on-demand view", o.name, &places.on_demand));
            d.on_demand_views.push_back(std::move(o));
          } else if (section == std::string("aggregation_views")) {
            PITSTORE_ASSIGN_OR_RETURN(AggregationViewDef a, AggregationView(item));
            PITSTORE_RETURN_IF_ERROR(Once(item, "aggregation view", a.name, &places.aggregations));
            d.aggregation_views.push_back(std::move(a));
          } else if (section == std::string("feature_services")) {
            PITSTORE_ASSIGN_OR_RETURN(FeatureServiceDef sv, Service(item, d.views));
            PITSTORE_RETURN_IF_ERROR(Once(item, "feature service", sv.name, &places.services));
            d.services.push_back(std::move(sv));
          } else {
            PITSTORE_ASSIGN_OR_RETURN(FeatureViewDef v, View(item, d.entities));
            PITSTORE_RETURN_IF_ERROR(Once(item, "feature view", v.name, &places.views));
            const YAML::Node feats = item["features"] ? item["features"] : item["schema"];
            for (const YAML::Node& f : feats) {
              const std::string name = f["name"].as<std::string>();
              if (std::none_of(v.features.begin(), v.features.end(),
                               [&](const FeatureDef& fd) { return fd.name == name; }))
                continue;  // a join key listed in Feast's schema
              auto [it, inserted] = places.features.emplace(std::make_pair(v.name, name), Place(f));
              if (!inserted)
                return Error(
                    f, "view '" + v.name + "': feature '" + name + "' defined twice (first at " + it->second + ")");
            }
            d.views.push_back(std::move(v));
          }
        }
      }
    } catch (const YAML::Exception& e) {  // a value of the wrong shape (as<> on a sequence, ...)
      return Status::InvalidArgument(path_ + ":" + std::to_string(e.mark.line + 1) + ":" +
                                     std::to_string(e.mark.column + 1) + ": " + e.msg);
    } catch (const std::exception& e) {
      return Status::InvalidArgument(path_ + ": " + e.what());
    }
    if (places_) *places_ = std::move(places);
    return d;
  }

 private:
  // Records where `name` is defined; a second definition of it is an error.
  Status Once(const YAML::Node& node, const std::string& kind, const std::string& name,
              std::map<std::string, std::string>* seen) const {
    auto [it, inserted] = seen->emplace(name, Place(node));
    if (!inserted) return Error(node, kind + " '" + name + "' defined twice (first at " + it->second + ")");
    return Status::OK();
  }

  std::string path_;
  DefinitionPlaces* places_;
  mutable std::string_view text_;  // of the Load under way, for ExpressionPlace
};

// The name in quotes after `prefix` at `at` in `s`, or "".
std::string QuotedAfter(const std::string& s, size_t at, const std::string& prefix) {
  if (s.compare(at, prefix.size(), prefix) != 0) return "";
  size_t from = at + prefix.size(), end = s.find('\'', from);
  return end == std::string::npos ? "" : s.substr(from, end - from);
}

}  // namespace

bool ParseFeatureType(const std::string& name, FeatureType* out) {
  static const std::pair<const char*, FeatureType> kTypes[] = {{"bool", FeatureType::kBool},
                                                               {"int32", FeatureType::kInt32},
                                                               {"int64", FeatureType::kInt64},
                                                               {"float32", FeatureType::kFloat32},
                                                               {"float64", FeatureType::kFloat64},
                                                               {"string", FeatureType::kString},
                                                               {"bytes", FeatureType::kBytes},
                                                               {"timestamp", FeatureType::kTimestamp},
                                                               {"float32_vector", FeatureType::kFloat32Vector},
                                                               // Feast's names
                                                               {"Bool", FeatureType::kBool},
                                                               {"Int32", FeatureType::kInt32},
                                                               {"Int64", FeatureType::kInt64},
                                                               {"Float32", FeatureType::kFloat32},
                                                               {"Float64", FeatureType::kFloat64},
                                                               {"String", FeatureType::kString},
                                                               {"Bytes", FeatureType::kBytes},
                                                               {"UnixTimestamp", FeatureType::kTimestamp},
                                                               {"Array(Float32)", FeatureType::kFloat32Vector}};
  for (const auto& [n, t] : kTypes)
    if (name == n) {
      *out = t;
      return true;
    }
  return false;
}

bool ParseDuration(const std::string& text, int64_t* micros) {
  if (text == "0") {
    *micros = 0;
    return true;
  }
  char* end = nullptr;
  long long n = std::strtoll(text.c_str(), &end, 10);
  if (end == text.c_str() || n < 0) return false;
  if (*end == '\0') end = const_cast<char*>("s");  // a bare number: seconds, as Feast's ttl in seconds
  if (std::string(end).size() != 1) return false;
  int64_t unit;
  switch (*end) {
    case 'd':
      unit = 86400;
      break;
    case 'h':
      unit = 3600;
      break;
    case 'm':
      unit = 60;
      break;
    case 's':
      unit = 1;
      break;
    default:
      return false;
  }
  if (n > INT64_MAX / (unit * kMicrosPerSecond)) return false;
  *micros = n * unit * kMicrosPerSecond;
  return true;
}

std::string DefinitionPlaces::Of(const std::string& message) const {
  auto find = [](const std::map<std::string, std::string>& m, const std::string& k) {
    auto it = m.find(k);
    return it == m.end() ? std::string() : it->second;
  };
  if (std::string a = QuotedAfter(message, 0, "aggregation view '"); !a.empty()) return find(aggregations, a);
  if (std::string o = QuotedAfter(message, 0, "on-demand view '"); !o.empty()) {
    // "on-demand view 'o', feature 'f': column N: ...": the place of column N of f's expression.
    const std::string prefix = "on-demand view '" + o + "', ";
    std::string f =
        message.compare(0, prefix.size(), prefix) == 0 ? QuotedAfter(message, prefix.size(), "feature '") : "";
    auto it = expressions.find({o, f});
    if (it == expressions.end()) return find(on_demand, o);
    const ExpressionPlace& p = it->second;
    uint64_t column = p.column;
    size_t at = message.find("': column ");
    if (p.exact && at != std::string::npos) column += std::strtoull(message.c_str() + at + 10, nullptr, 10) - 1;
    return p.path + ":" + std::to_string(p.line) + ":" + std::to_string(column);
  }
  if (std::string view = QuotedAfter(message, 0, "view '"); !view.empty()) {
    // "view 'v', feature 'f': ..." or "view 'v': duplicate feature 'f'": the feature's place.
    size_t at = message.find("feature '", view.size() + 6);
    if (at != std::string::npos) {
      auto it = features.find({view, QuotedAfter(message, at, "feature '")});
      if (it != features.end()) return it->second;
    }
    return find(views, view);
  }
  if (std::string e = QuotedAfter(message, 0, "entity '"); !e.empty()) return find(entities, e);
  if (std::string sv = QuotedAfter(message, 0, "service '"); !sv.empty()) return find(services, sv);
  return "";
}

// A refusal of the store, prefixed with the place in the file of what it refuses.
static Status Placed(const DefinitionPlaces& places, const Status& st) {
  if (st.ok()) return st;
  std::string place = places.Of(st.message());
  return place.empty() ? st : st.WithMessage(place + ": " + st.message());
}

Status ApplyDefinitions(Store& store, const Definitions& defs, const DefinitionPlaces& places,
                        std::vector<std::string>* changes) {
  return Placed(places, store.Apply(defs, changes));
}

Status PlanDefinitions(Store& store, const Definitions& defs, const DefinitionPlaces& places,
                       std::vector<std::string>* changes) {
  return Placed(places, store.Plan(defs, changes));
}

Result<Definitions> LoadDefinitions(const std::string& path, DefinitionPlaces* places) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(path + ": cannot read the file");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return Status::IOError(path + ": read failed");
  return Loader(path, places).Load(text);
}

Result<Definitions> ParseDefinitions(const std::string& text, const std::string& name, DefinitionPlaces* places) {
  return Loader(name, places).Load(text);
}

}  // namespace pitstore::workflow
