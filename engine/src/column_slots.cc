#include "column_slots.h"

#include <algorithm>
#include <string>

#include "populated_array.h"

namespace pitstore {

Column NullColumn(FeatureType type, uint32_t dim, size_t n) {
  Column col = Column::Of(type, dim);
  AssignPopulated<uint8_t>(&col.valid, n, 0);
  if (IsListType(type)) {
    AssignPopulated<uint32_t>(&col.lengths, n, 0);
    n *= dim;
  }
  switch (IsListType(type) ? ListElementType(type) : type) {
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

namespace {
// dst's storage slot `slot` := src's slot `src_slot`, both holding scalars of type `scalar`.
void CopySlot(FeatureType scalar, Column& dst, size_t slot, const Column& src, size_t src_slot) {
  switch (scalar) {
    case FeatureType::kFloat32:
    case FeatureType::kFloat64:
      dst.doubles[slot] = src.doubles[src_slot];
      break;
    case FeatureType::kString:
    case FeatureType::kBytes:
      dst.strings[slot] = src.strings[src_slot];
      break;
    default:
      dst.ints[slot] = src.ints[src_slot];
  }
}
}  // namespace

void CopyValue(Column& dst, size_t i, const Column& src, size_t r) {
  dst.valid[i] = 1;
  if (IsListType(dst.type)) {
    dst.lengths[i] = src.lengths[r];
    for (size_t j = 0; j < dst.dim; ++j) CopyListItem(dst, i * dst.dim + j, src, r * dst.dim + j);
  } else if (dst.type == FeatureType::kFloat32Vector) {
    std::copy_n(src.floats.begin() + static_cast<std::ptrdiff_t>(r * dst.dim), dst.dim,
                dst.floats.begin() + static_cast<std::ptrdiff_t>(i * dst.dim));
  } else {
    CopySlot(dst.type, dst, i, src, r);
  }
}

void CopyListItem(Column& dst, size_t slot, const Column& src, size_t src_slot) {
  CopySlot(ListElementType(dst.type), dst, slot, src, src_slot);
}

}  // namespace pitstore
