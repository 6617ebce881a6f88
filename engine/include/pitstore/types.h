// Timestamps, feature types, values, entity keys and the definitions of entities and views.
//
// Timestamps are int64 microseconds since the Unix epoch, UTC. kMaxTimestamp stands for +inf
// ("everything", "the latest") and kMinTimestamp for -inf.
//
// A feature view is a named, typed set of features describing one kind of entity key. Its key is
// the join keys of its entities in order: a view over entities (user, item) has the key
// (user_id, item_id). Each feature keeps its index forever (features are only appended), so rows
// written before a feature existed read it as null.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "pitstore/export.h"

namespace pitstore {

using Timestamp = int64_t;  // microseconds since 1970-01-01T00:00:00Z
inline constexpr Timestamp kMaxTimestamp = std::numeric_limits<int64_t>::max();
inline constexpr Timestamp kMinTimestamp = std::numeric_limits<int64_t>::min();
inline constexpr int64_t kMicrosPerSecond = 1'000'000;

// On-disk values; never renumber (see format/pitstore.fbs).
enum class FeatureType : uint8_t {
  kBool = 1,
  kInt32 = 2,
  kInt64 = 3,
  kFloat32 = 4,
  kFloat64 = 5,
  kString = 6,
  kBytes = 7,
  kTimestamp = 8,
  kFloat32Vector = 9,  // fixed length, FeatureDef::dim
};
// "int64", "float32_vector", "list<string>".
PITSTORE_EXPORT const char* FeatureTypeName(FeatureType type);

// Lists: the values of the last_k aggregate, never the type of a stored feature. A list type is
// kListFlag | its element's type, a scalar type (not a vector); with it, `dim` is the greatest
// length. List values hold no nulls and are never empty (an empty list reads as null).
inline constexpr uint8_t kListFlag = 0x80;
constexpr FeatureType ListOf(FeatureType element) {
  return static_cast<FeatureType>(kListFlag | static_cast<uint8_t>(element));
}
constexpr bool IsListType(FeatureType type) { return (static_cast<uint8_t>(type) & kListFlag) != 0; }
constexpr FeatureType ListElementType(FeatureType list) {
  return static_cast<FeatureType>(static_cast<uint8_t>(list) & ~kListFlag);
}

enum class KeyType : uint8_t { kInt64 = 1, kString = 2 };

// One nullable feature value. A null Value fits a feature of any type.
class PITSTORE_EXPORT Value {
 public:
  Value() = default;  // null
  static Value Null() { return Value(); }
  static Value Bool(bool v) { return Value(FeatureType::kBool, v ? 1 : 0); }
  static Value Int32(int32_t v) { return Value(FeatureType::kInt32, v); }
  static Value Int64(int64_t v) { return Value(FeatureType::kInt64, v); }
  static Value Time(Timestamp v) { return Value(FeatureType::kTimestamp, v); }
  static Value Float32(float v);
  static Value Float64(double v);
  static Value String(std::string v);
  static Value Bytes(std::string v);
  static Value Vector(std::vector<float> v);
  // A list of non-null values of the scalar type `element` (type() is ListOf(element)).
  static Value List(FeatureType element, std::vector<Value> items);

  bool is_null() const { return null_; }
  FeatureType type() const { return type_; }  // meaningless when is_null()
  bool as_bool() const { return i_ != 0; }
  int32_t as_int32() const { return static_cast<int32_t>(i_); }
  int64_t as_int64() const { return i_; }  // also Timestamp
  float as_float32() const { return static_cast<float>(d_); }
  double as_float64() const { return d_; }
  const std::string& as_string() const { return s_; }  // String and Bytes
  const std::vector<float>& as_vector() const { return v_; }
  const std::vector<Value>& as_list() const { return list_; }

  // Exact equality: same nullness, type and bits (NaN equals NaN with the same bits).
  bool operator==(const Value& other) const;
  // Readable form for tools and test failures: null, true, 42, 0.5, "text", 0x0a0b, [1,2],
  // and lists as [3,1] or ["a","b"].
  std::string ToString() const;

 private:
  friend struct ValueAccess;  // the engine's decoders: they set values in place (engine/src/run.h)
  Value(FeatureType t, int64_t i) : null_(false), type_(t), i_(i) {}
  bool null_ = true;
  FeatureType type_ = FeatureType::kInt64;
  int64_t i_ = 0;
  double d_ = 0;
  std::string s_;
  std::vector<float> v_;
  std::vector<Value> list_;
};

// One part of an entity key: an int64 or a string join-key value.
using KeyPart = std::variant<int64_t, std::string>;
// A whole entity key, one part per join key of the view, in order.
using EntityKey = std::vector<KeyPart>;
PITSTORE_EXPORT std::string EntityKeyToString(const EntityKey& key);

struct JoinKeyDef {
  std::string name;
  KeyType type = KeyType::kInt64;
};

struct EntityDef {
  std::string name;
  std::vector<JoinKeyDef> join_keys;  // at least one
  std::string description;
};

struct FeatureDef {
  std::string name;
  FeatureType type = FeatureType::kInt64;
  uint32_t dim = 0;  // vector length; required (> 0) for kFloat32Vector, else 0
  std::string description;
};

struct FeatureViewDef {
  std::string name;
  std::vector<std::string> entities;  // entity names; at least one
  std::vector<FeatureDef> features;   // at least one; names unique
  int64_t ttl_us = 0;                 // 0: no TTL
  std::string description;
  std::vector<std::pair<std::string, std::string>> tags;
  std::string owner;
  std::string event_ts_column;    // source column names, for ingestion tools
  std::string created_ts_column;  // empty: system_ts is the commit time
  // 0: keep every version. Else merges (compaction, automatic merges, vacuum, copy) drop the
  // versions whose event_ts is older than the merge's time minus retention_us, keeping each
  // key's newest such version, so latest and as-of reads at times within the retention window
  // (known now) keep their answers.
  int64_t retention_us = 0;
  // 0: no objective. Else the view is stale when the newest row it learned (greatest
  // system_ts) is older than now minus freshness_us (`pitstore freshness`, for monitoring).
  int64_t freshness_us = 0;
};

// A feature service: the named set of features one model reads, as "view:feature" references
// (Feast's FeatureService). Joins and lookups can ask for a service instead of listing features.
struct FeatureServiceDef {
  std::string name;
  std::vector<std::string> features;  // "view:feature", at least one, no duplicates
  std::string description;
  std::vector<std::pair<std::string, std::string>> tags;
  std::string owner;
};

// Windowed aggregation functions (semantics in pitstore/aggregation.h); never renumber (stored).
enum class AggregateFunction : uint8_t {
  kCount = 1,
  kSum = 2,
  kMean = 3,
  kMin = 4,
  kMax = 5,
  kStddev = 6,
  kLast = 7,
  kCountDistinct = 8,
  kLastK = 9,
};

// One aggregated feature: a function of one feature of a view over one window.
struct WindowAggregate {
  std::string column;  // a feature of the view
  AggregateFunction function = AggregateFunction::kCount;
  int64_t window_us = 0;  // > 0
  std::string name;       // of the output; empty: DefaultAggregateName (aggregation.h)
  uint32_t k = 0;         // last_k: how many values, 1..kMaxLastK; 0 for the other functions
};
inline constexpr uint32_t kMaxLastK = 1000;

// An aggregation view: features computed from the events of a source view over time windows
// (Tecton's and Chronon's aggregations), read like a view by get and join. Its names share the
// views' namespace.
struct AggregationViewDef {
  std::string name;
  std::string source;                       // the feature view whose rows are the events
  std::vector<WindowAggregate> aggregates;  // at least one; output names unique
  std::string description;
  std::vector<std::pair<std::string, std::string>> tags;
  std::string owner;
};

// A value an on-demand view takes with each request (Feast's request source): the CLI's
// --request name=value, the server's `entities` map, a label column of the same name in a join.
struct RequestInputDef {
  std::string name;
  FeatureType type = FeatureType::kInt64;  // bool, int64, float64, string, timestamp or a vector
  uint32_t dim = 0;                        // for kFloat32Vector
};

// One feature of an on-demand view: an expression (pitstore/expression.h) over features of
// views and aggregation views ("view.feature") and the view's request inputs.
struct OnDemandFeatureDef {
  std::string name;
  std::string expression;
  FeatureType type = FeatureType::kInt64;  // of the result: set by Apply from the expression
  uint32_t dim = 0;                        // (values given here are ignored)
  std::string description;
};

// An on-demand view: features computed at request time, by the same code online and in joins
// (Feast's on-demand feature views). Nothing is stored per row. Its names share the views'
// namespace.
struct OnDemandViewDef {
  std::string name;
  std::vector<RequestInputDef> request;
  std::vector<OnDemandFeatureDef> features;  // at least one; names unique
  std::string description;
  std::vector<std::pair<std::string, std::string>> tags;
  std::string owner;
};

// Splits "view:feature" at its last ':'; false when either side is empty.
PITSTORE_EXPORT bool ParseFeatureRef(const std::string& ref, std::string* view, std::string* feature);

// Everything a definitions file declares, applied by Store::Apply in one commit.
struct Definitions {
  std::vector<EntityDef> entities;
  std::vector<FeatureViewDef> views;
  std::vector<FeatureServiceDef> services;
  std::vector<AggregationViewDef> aggregation_views;
  std::vector<OnDemandViewDef> on_demand_views;
};

}  // namespace pitstore
