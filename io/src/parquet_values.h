// How pitstore reads Parquet values, shared by the record source and the table reader: what
// each column's values are (its render), timestamps and dates in microseconds, and errors of a
// damaged input file as bad input.
#pragma once

#include <cstdint>

#include "parquet/metadata.h"
#include "pitstore/status.h"

namespace pitstore::io {

// A damaged input file is bad input (exit 1), not a damaged store (Corruption, exit 3).
inline Status AsInputError(const Status& st) {
  return st.code() == Status::Code::kCorruption ? Status::InvalidArgument(st.message()) : st;
}

enum class Render { kInt, kUint, kFloat, kDouble, kBool, kString, kHex, kTimestamp, kDate };

inline Render RenderOf(const parquet::SchemaElement& e, int64_t* scale_mul, int64_t* scale_div) {
  using namespace parquet;
  *scale_mul = 1;
  *scale_div = 1;
  if (e.type == kInt96) return Render::kTimestamp;
  if (e.type == kBoolean) return Render::kBool;
  if (e.type == kFloat) return Render::kFloat;
  if (e.type == kDouble) return Render::kDouble;
  if (e.type == kByteArray || e.type == kFixedLenByteArray) {
    bool text = e.logical == kLogicalString || e.logical == kLogicalEnum || e.logical == kLogicalJson ||
                e.converted_type == kUtf8 || e.converted_type == kEnum || e.converted_type == kJson;
    return text ? Render::kString : Render::kHex;
  }
  if (e.logical == kLogicalDate || e.converted_type == kDate) return Render::kDate;
  TimeUnit unit = e.logical == kLogicalTimestamp         ? e.unit
                  : e.converted_type == kTimestampMillis ? TimeUnit::kMillis
                  : e.converted_type == kTimestampMicros ? TimeUnit::kMicros
                                                         : TimeUnit::kNone;
  if (unit != TimeUnit::kNone && e.type == kInt64) {
    if (unit == TimeUnit::kMillis) *scale_mul = 1000;
    if (unit == TimeUnit::kNanos) *scale_div = 1000;
    return Render::kTimestamp;
  }
  bool unsigned64 =
      e.type == kInt64 && (e.converted_type == kUint64 || (e.logical == kLogicalInteger && !e.int_signed));
  return unsigned64 ? Render::kUint : Render::kInt;
}

// A TIMESTAMP whose isAdjustedToUTC is false: a local time of an unstated zone (pandas writes
// tz-naive datetimes so). Read as UTC unless a zone is given (SetNaiveTimeOffset).
inline bool IsNaiveTimestamp(const parquet::SchemaElement& e) {
  return e.type == parquet::kInt64 && e.logical == parquet::kLogicalTimestamp && !e.utc;
}

// A naive time `t` read in a zone `offset` microseconds east of UTC: t - offset; false when out
// of range.
inline bool ShiftNaive(int64_t offset, int64_t* t) { return !__builtin_sub_overflow(*t, offset, t); }

// A timestamp or date column's stored value in microseconds since the epoch (nanoseconds
// floored); false when that is out of range.
inline bool ParquetMicros(Render render, int64_t scale_mul, int64_t scale_div, int64_t raw, int64_t* out) {
  if (render == Render::kDate) {
    if (raw > 106'751'991 || raw < -106'751'991) return false;
    *out = raw * 86'400'000'000LL;
    return true;
  }
  if (scale_mul != 1) {
    if (raw > INT64_MAX / scale_mul || raw < INT64_MIN / scale_mul) return false;
    raw *= scale_mul;
  }
  if (scale_div != 1) raw = raw / scale_div - (raw % scale_div < 0 ? 1 : 0);
  *out = raw;
  return true;
}

}  // namespace pitstore::io
