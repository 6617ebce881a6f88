// Column: a typed, nullable array of feature values; the columnar form of a batch.
//
// Storage by type: kBool/kInt32/kInt64/kTimestamp in `ints`; kFloat32/kFloat64 in `doubles`
// (a float32 widens to double exactly and narrows back unchanged); kString/kBytes in `strings`;
// kFloat32Vector in `floats`, `dim` floats per row. A list type (types.h: ListOf) keeps `dim`
// slots per row in its element's storage and the row's length in `lengths` (items of row i at
// i * dim .. i * dim + lengths[i]). `valid[i] == 0` marks row i null (its slot still exists and
// holds a default). An empty `valid` means every row is present.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pitstore/export.h"
#include "pitstore/types.h"

namespace pitstore {

struct PITSTORE_EXPORT Column {
  FeatureType type = FeatureType::kInt64;
  uint32_t dim = 0;
  std::vector<uint8_t> valid;
  std::vector<int64_t> ints;
  std::vector<double> doubles;
  std::vector<std::string> strings;
  std::vector<float> floats;
  std::vector<uint32_t> lengths;  // list types only

  static Column Of(FeatureType type, uint32_t dim = 0);
  size_t size() const;
  bool is_null(size_t i) const { return !valid.empty() && valid[i] == 0; }
  // The value at row i (a null Value when the row is null).
  Value Get(size_t i) const;
  // Appends v, which must be null or of this column's type (checked by the caller).
  void Append(const Value& v);
  void AppendNull();
  // Appends row i of `other` (same type and dim).
  void AppendFrom(const Column& other, size_t i);
  void Reserve(size_t n);
};

}  // namespace pitstore
