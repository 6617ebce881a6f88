// Columns filled slot by slot: a column of n null slots made at once, then rows written into
// it in any order. The output of joins, which produce rows out of label order.
#pragma once

#include <cstddef>
#include <cstdint>

#include "pitstore/column.h"

namespace pitstore {

// A column of n nulls, its storage filled with defaults (large ones by the kernel: see
// populated_array.h).
Column NullColumn(FeatureType type, uint32_t dim, size_t n);

// dst row i := src row r (same type; src row non-null).
void CopyValue(Column& dst, size_t i, const Column& src, size_t r);

// List slot `slot` of dst := slot `src_slot` of src, or row `src_slot` of a scalar column of the
// list's element type.
void CopyListItem(Column& dst, size_t slot, const Column& src, size_t src_slot);

}  // namespace pitstore
