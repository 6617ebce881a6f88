#include "column_slots.h"

#include <algorithm>
#include <string>

#include "populated_array.h"

namespace pitstore {

Column NullColumn(FeatureType type, uint32_t dim, size_t n) {
  Column col = Column::Of(type, dim);
  AssignPopulated<uint8_t>(&col.valid, n, 0);
  switch (type) {
    case FeatureType::kFloat32:
    case FeatureType::kFloat64:
      AssignPopulated(&col.doubles, n, 0.0);
      break;
    case FeatureType::kString:
    case FeatureType::kBytes:
      col.strings.assign(n, std::string());
      break;
    case FeatureType::kFloat32Vector:
      AssignPopulated(&col.floats, n * dim, 0.0f);
      break;
    default:
      AssignPopulated<int64_t>(&col.ints, n, 0);
  }
  return col;
}

void CopyValue(Column& dst, size_t i, const Column& src, size_t r) {
  dst.valid[i] = 1;
  switch (dst.type) {
    case FeatureType::kFloat32:
    case FeatureType::kFloat64:
      dst.doubles[i] = src.doubles[r];
      break;
    case FeatureType::kString:
    case FeatureType::kBytes:
      dst.strings[i] = src.strings[r];
      break;
    case FeatureType::kFloat32Vector:
      std::copy_n(src.floats.begin() + static_cast<std::ptrdiff_t>(r * dst.dim), dst.dim,
                  dst.floats.begin() + static_cast<std::ptrdiff_t>(i * dst.dim));
      break;
    default:
      dst.ints[i] = src.ints[r];
  }
}

}  // namespace pitstore
