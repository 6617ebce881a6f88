// Value, Status, WriteBatch and the small naming helpers of the public API.
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "pitstore/status.h"
#include "pitstore/store.h"
#include "pitstore/types.h"
#include "pitstore/write_batch.h"

namespace pitstore {

std::string Status::ToString() const {
  static const char* kNames[] = {"OK",           "NotFound", "Corruption",   "IOError", "InvalidArgument",
                                 "NotSupported", "Busy",     "AlreadyExists"};
  if (ok()) return "OK";
  return std::string(kNames[static_cast<int>(code_)]) + ": " + message_;
}

bool ParseFeatureRef(const std::string& ref, std::string* view, std::string* feature) {
  size_t colon = ref.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == ref.size()) return false;
  *view = ref.substr(0, colon);
  *feature = ref.substr(colon + 1);
  return true;
}

const char* FeatureTypeName(FeatureType type) {
  if (IsListType(type)) {
    switch (ListElementType(type)) {
      case FeatureType::kBool:
        return "list<bool>";
      case FeatureType::kInt32:
        return "list<int32>";
      case FeatureType::kInt64:
        return "list<int64>";
      case FeatureType::kFloat32:
        return "list<float32>";
      case FeatureType::kFloat64:
        return "list<float64>";
      case FeatureType::kString:
        return "list<string>";
      case FeatureType::kBytes:
        return "list<bytes>";
      case FeatureType::kTimestamp:
        return "list<timestamp>";
      case FeatureType::kFloat32Vector:
        break;
    }
    return "unknown";
  }
  switch (type) {
    case FeatureType::kBool:
      return "bool";
    case FeatureType::kInt32:
      return "int32";
    case FeatureType::kInt64:
      return "int64";
    case FeatureType::kFloat32:
      return "float32";
    case FeatureType::kFloat64:
      return "float64";
    case FeatureType::kString:
      return "string";
    case FeatureType::kBytes:
      return "bytes";
    case FeatureType::kTimestamp:
      return "timestamp";
    case FeatureType::kFloat32Vector:
      return "float32_vector";
  }
  return "unknown";
}

const char* ValueStatusName(ValueStatus status) {
  switch (status) {
    case ValueStatus::kPresent:
      return "present";
    case ValueStatus::kNull:
      return "null";
    case ValueStatus::kNotFound:
      return "not_found";
    case ValueStatus::kExpired:
      return "expired";
  }
  return "unknown";
}

Value Value::Float32(float v) {
  Value x(FeatureType::kFloat32, 0);
  x.d_ = v;
  return x;
}
Value Value::Float64(double v) {
  Value x(FeatureType::kFloat64, 0);
  x.d_ = v;
  return x;
}
Value Value::String(std::string v) {
  Value x(FeatureType::kString, 0);
  x.s_ = std::move(v);
  return x;
}
Value Value::Bytes(std::string v) {
  Value x(FeatureType::kBytes, 0);
  x.s_ = std::move(v);
  return x;
}
Value Value::Vector(std::vector<float> v) {
  Value x(FeatureType::kFloat32Vector, 0);
  x.v_ = std::move(v);
  return x;
}

Value Value::List(FeatureType element, std::vector<Value> items) {
  Value x(ListOf(element), 0);
  x.list_ = std::move(items);
  return x;
}

bool Value::operator==(const Value& o) const {
  if (null_ || o.null_) return null_ == o.null_;
  if (type_ != o.type_ || i_ != o.i_ || s_ != o.s_ || v_.size() != o.v_.size() || list_ != o.list_) return false;
  if (std::memcmp(&d_, &o.d_, sizeof d_) != 0) return false;
  return v_.empty() || std::memcmp(v_.data(), o.v_.data(), v_.size() * sizeof(float)) == 0;
}

std::string Value::ToString() const {
  if (null_) return "null";
  if (IsListType(type_)) {
    std::string out = "[";
    for (size_t i = 0; i < list_.size(); ++i) {
      if (i) out += ',';
      out += list_[i].ToString();
    }
    return out + "]";
  }
  char buf[64];
  switch (type_) {
    case FeatureType::kBool:
      return i_ ? "true" : "false";
    case FeatureType::kInt32:
    case FeatureType::kInt64:
    case FeatureType::kTimestamp:
      return std::to_string(i_);
    case FeatureType::kFloat32: {
      auto r = std::to_chars(buf, buf + sizeof buf, static_cast<float>(d_));  // shortest round trip
      return std::string(buf, r.ptr);
    }
    case FeatureType::kFloat64: {
      auto r = std::to_chars(buf, buf + sizeof buf, d_);
      return std::string(buf, r.ptr);
    }
    case FeatureType::kString:
      return "\"" + s_ + "\"";
    case FeatureType::kBytes: {
      std::string out = "0x";
      for (unsigned char c : s_) {
        std::snprintf(buf, sizeof buf, "%02x", c);
        out += buf;
      }
      return out;
    }
    case FeatureType::kFloat32Vector: {
      std::string out = "[";
      for (size_t i = 0; i < v_.size(); ++i) {
        std::snprintf(buf, sizeof buf, "%s%.9g", i ? "," : "", v_[i]);
        out += buf;
      }
      return out + "]";
    }
  }
  return "?";
}

std::string EntityKeyToString(const EntityKey& key) {
  std::string out;
  for (size_t i = 0; i < key.size(); ++i) {
    if (i) out += ",";
    if (const int64_t* v = std::get_if<int64_t>(&key[i]))
      out += std::to_string(*v);
    else
      out += std::get<std::string>(key[i]);
  }
  return out;
}

void WriteBatch::Add(EntityKey key, Timestamp event_ts, std::vector<Value> values, Timestamp system_ts) {
  keys_.push_back(std::move(key));
  event_ts_.push_back(event_ts);
  system_ts_.push_back(system_ts);
  row_values_.push_back(std::move(values));
}

void WriteBatch::SetColumns(std::vector<EntityKey> keys, std::vector<Timestamp> event_ts,
                            std::vector<Timestamp> system_ts, std::vector<std::pair<std::string, Column>> columns) {
  Clear();
  columnar_ = true;
  keys_ = std::move(keys);
  event_ts_ = std::move(event_ts);
  system_ts_ = std::move(system_ts);
  columns_ = std::move(columns);
}

void WriteBatch::SetColumns(std::vector<Column> key_columns, std::vector<Timestamp> event_ts,
                            std::vector<Timestamp> system_ts, std::vector<std::pair<std::string, Column>> columns) {
  Clear();
  columnar_ = true;
  key_columns_ = std::move(key_columns);
  event_ts_ = std::move(event_ts);
  system_ts_ = std::move(system_ts);
  columns_ = std::move(columns);
}

void WriteBatch::Clear() {
  columnar_ = false;
  keys_.clear();
  key_columns_.clear();
  event_ts_.clear();
  system_ts_.clear();
  row_values_.clear();
  columns_.clear();
}

}  // namespace pitstore
