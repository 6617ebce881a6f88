#include "pitstore/column.h"

#include <algorithm>
#include <cstddef>

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
  switch (IsListType(t) ? ListElementType(t) : t) {
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
  if (IsListType(type)) return lengths.size();
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
  if (IsListType(type)) {
    lengths.reserve(n);
    n *= dim;
  }
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

namespace {
// Item j of a list column's slots, or the value of a scalar column's row j.
Value ScalarAt(const Column& c, FeatureType type, size_t j) {
  switch (type) {
    case FeatureType::kBool:
      return Value::Bool(c.ints[j] != 0);
    case FeatureType::kInt32:
      return Value::Int32(static_cast<int32_t>(c.ints[j]));
    case FeatureType::kInt64:
      return Value::Int64(c.ints[j]);
    case FeatureType::kTimestamp:
      return Value::Time(c.ints[j]);
    case FeatureType::kFloat32:
      return Value::Float32(static_cast<float>(c.doubles[j]));
    case FeatureType::kFloat64:
      return Value::Float64(c.doubles[j]);
    case FeatureType::kString:
      return Value::String(c.strings[j]);
    case FeatureType::kBytes:
      return Value::Bytes(c.strings[j]);
    case FeatureType::kFloat32Vector:
      break;
  }
  return Value::Null();
}

// Appends `count` default slots (a list row's unused ones).
void AppendDefaults(Column& c, Storage storage, size_t count) {
  switch (storage) {
    case Storage::kInts:
      c.ints.insert(c.ints.end(), count, 0);
      break;
    case Storage::kDoubles:
      c.doubles.insert(c.doubles.end(), count, 0.0);
      break;
    case Storage::kStrings:
      c.strings.insert(c.strings.end(), count, std::string());
      break;
    case Storage::kFloats:
      c.floats.insert(c.floats.end(), count, 0.0f);
      break;
  }
}
}  // namespace

Value Column::Get(size_t i) const {
  if (is_null(i)) return Value::Null();
  if (IsListType(type)) {
    std::vector<Value> items;
    items.reserve(lengths[i]);
    for (size_t j = 0; j < lengths[i]; ++j) items.push_back(ScalarAt(*this, ListElementType(type), i * dim + j));
    return Value::List(ListElementType(type), std::move(items));
  }
  if (type == FeatureType::kFloat32Vector)
    return Value::Vector(std::vector<float>(floats.begin() + i * dim, floats.begin() + (i + 1) * dim));
  return ScalarAt(*this, type, i);
}

void Column::AppendNull() {
  size_t n = size();
  if (valid.empty()) valid.assign(n, 1);
  valid.push_back(0);
  if (IsListType(type)) {
    lengths.push_back(0);
    return AppendDefaults(*this, StorageOf(type), dim);
  }
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

namespace {
// Appends v's storage (a scalar, a vector's floats) to c's.
void PushValue(Column& c, Storage storage, const Value& v) {
  switch (storage) {
    case Storage::kInts:
      c.ints.push_back(v.as_int64());
      break;
    case Storage::kDoubles:
      c.doubles.push_back(v.as_float64());
      break;
    case Storage::kStrings:
      c.strings.push_back(v.as_string());
      break;
    case Storage::kFloats:
      c.floats.insert(c.floats.end(), v.as_vector().begin(), v.as_vector().end());
      break;
  }
}
}  // namespace

void Column::Append(const Value& v) {
  if (v.is_null()) return AppendNull();
  if (!valid.empty()) valid.push_back(1);
  if (!IsListType(type)) return PushValue(*this, StorageOf(type), v);
  const size_t n = std::min<size_t>(v.as_list().size(), dim);
  lengths.push_back(static_cast<uint32_t>(n));
  for (size_t j = 0; j < n; ++j) PushValue(*this, StorageOf(type), v.as_list()[j]);
  AppendDefaults(*this, StorageOf(type), dim - n);
}

void Column::AppendFrom(const Column& o, size_t i) {
  if (o.is_null(i)) return AppendNull();
  if (!valid.empty()) valid.push_back(1);
  if (IsListType(type)) {
    lengths.push_back(o.lengths[i]);
    const auto from = static_cast<std::ptrdiff_t>(i * dim), to = from + static_cast<std::ptrdiff_t>(dim);
    switch (StorageOf(type)) {
      case Storage::kInts:
        ints.insert(ints.end(), o.ints.begin() + from, o.ints.begin() + to);
        break;
      case Storage::kDoubles:
        doubles.insert(doubles.end(), o.doubles.begin() + from, o.doubles.begin() + to);
        break;
      case Storage::kStrings:
        strings.insert(strings.end(), o.strings.begin() + from, o.strings.begin() + to);
        break;
      case Storage::kFloats:
        break;
    }
    return;
  }
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
