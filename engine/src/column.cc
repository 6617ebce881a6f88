#include "pitstore/column.h"

namespace pitstore {

Column Column::Of(FeatureType type, uint32_t dim) {
  Column c;
  c.type = type;
  c.dim = dim;
  return c;
}

namespace {
enum class Storage { kInts, kDoubles, kStrings, kFloats };
Storage StorageOf(FeatureType t) {
  switch (t) {
    case FeatureType::kFloat32:
    case FeatureType::kFloat64:
      return Storage::kDoubles;
    case FeatureType::kString:
    case FeatureType::kBytes:
      return Storage::kStrings;
    case FeatureType::kFloat32Vector:
      return Storage::kFloats;
    default:
      return Storage::kInts;
  }
}
}  // namespace

size_t Column::size() const {
  switch (StorageOf(type)) {
    case Storage::kInts:
      return ints.size();
    case Storage::kDoubles:
      return doubles.size();
    case Storage::kStrings:
      return strings.size();
    case Storage::kFloats:
      return dim == 0 ? valid.size() : floats.size() / dim;
  }
  return 0;
}

void Column::Reserve(size_t n) {
  switch (StorageOf(type)) {
    case Storage::kInts:
      ints.reserve(n);
      break;
    case Storage::kDoubles:
      doubles.reserve(n);
      break;
    case Storage::kStrings:
      strings.reserve(n);
      break;
    case Storage::kFloats:
      floats.reserve(n * dim);
      break;
  }
}

Value Column::Get(size_t i) const {
  if (is_null(i)) return Value::Null();
  switch (type) {
    case FeatureType::kBool:
      return Value::Bool(ints[i] != 0);
    case FeatureType::kInt32:
      return Value::Int32(static_cast<int32_t>(ints[i]));
    case FeatureType::kInt64:
      return Value::Int64(ints[i]);
    case FeatureType::kTimestamp:
      return Value::Time(ints[i]);
    case FeatureType::kFloat32:
      return Value::Float32(static_cast<float>(doubles[i]));
    case FeatureType::kFloat64:
      return Value::Float64(doubles[i]);
    case FeatureType::kString:
      return Value::String(strings[i]);
    case FeatureType::kBytes:
      return Value::Bytes(strings[i]);
    case FeatureType::kFloat32Vector:
      return Value::Vector(std::vector<float>(floats.begin() + i * dim, floats.begin() + (i + 1) * dim));
  }
  return Value::Null();
}

void Column::AppendNull() {
  size_t n = size();
  if (valid.empty()) valid.assign(n, 1);
  valid.push_back(0);
  switch (StorageOf(type)) {
    case Storage::kInts:
      ints.push_back(0);
      break;
    case Storage::kDoubles:
      doubles.push_back(0);
      break;
    case Storage::kStrings:
      strings.emplace_back();
      break;
    case Storage::kFloats:
      floats.insert(floats.end(), dim, 0.0f);
      break;
  }
}

void Column::Append(const Value& v) {
  if (v.is_null()) return AppendNull();
  if (!valid.empty()) valid.push_back(1);
  switch (StorageOf(type)) {
    case Storage::kInts:
      ints.push_back(v.as_int64());
      break;
    case Storage::kDoubles:
      doubles.push_back(v.as_float64());
      break;
    case Storage::kStrings:
      strings.push_back(v.as_string());
      break;
    case Storage::kFloats:
      floats.insert(floats.end(), v.as_vector().begin(), v.as_vector().end());
      break;
  }
}

void Column::AppendFrom(const Column& o, size_t i) {
  if (o.is_null(i)) return AppendNull();
  if (!valid.empty()) valid.push_back(1);
  switch (StorageOf(type)) {
    case Storage::kInts:
      ints.push_back(o.ints[i]);
      break;
    case Storage::kDoubles:
      doubles.push_back(o.doubles[i]);
      break;
    case Storage::kStrings:
      strings.push_back(o.strings[i]);
      break;
    case Storage::kFloats:
      floats.insert(floats.end(), o.floats.begin() + i * dim, o.floats.begin() + (i + 1) * dim);
      break;
  }
}

}  // namespace pitstore
