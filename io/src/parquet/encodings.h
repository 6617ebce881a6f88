// Parquet's value and level encodings: the RLE / bit-packed hybrid (levels, dictionary indices,
// booleans), DELTA_BINARY_PACKED, DELTA_LENGTH_BYTE_ARRAY, DELTA_BYTE_ARRAY, BYTE_STREAM_SPLIT
// and PLAIN, decoded into plain arrays; and the hybrid encoder pitstore writes levels with.
// Every decoder checks its bounds and says what ran out (Corruption); none reads past `size`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pitstore/status.h"

namespace pitstore::io::parquet {

// Decoded non-null values of one leaf column, by physical type:
//   BOOLEAN, INT32, INT64 -> ints; INT96 -> ints (microseconds since the epoch);
//   FLOAT, DOUBLE -> doubles; BYTE_ARRAY, FIXED_LEN_BYTE_ARRAY -> strings.
struct Values {
  std::vector<int64_t> ints;
  std::vector<double> doubles;
  std::vector<std::string> strings;
  size_t size() const { return ints.size() + doubles.size() + strings.size(); }
  void clear() {
    ints.clear();
    doubles.clear();
    strings.clear();
  }
};

// How a physical type's values read: the type, FIXED_LEN's width, and whether INT32s are
// unsigned (UINT_8/16/32) and so zero-extended.
struct ValueKind {
  int32_t type = 0;
  int32_t type_length = 0;
  bool unsigned_int = false;
};

// The RLE / bit-packed hybrid: appends `count` values of `bit_width` bits to `out`.
Status DecodeHybrid(const uint8_t* data, size_t size, int bit_width, size_t count, std::vector<uint32_t>* out);
// Appends `count` PLAIN values; *consumed is the bytes read.
Status DecodePlain(const uint8_t* data, size_t size, const ValueKind& kind, size_t count, Values* out,
                   size_t* consumed);
// DELTA_BINARY_PACKED integers (INT32 or INT64): appends up to `count` values.
Status DecodeDeltaBinaryPacked(const uint8_t* data, size_t size, size_t count, std::vector<int64_t>* out,
                               size_t* consumed);
Status DecodeDeltaLengthByteArray(const uint8_t* data, size_t size, size_t count, std::vector<std::string>* out);
Status DecodeDeltaByteArray(const uint8_t* data, size_t size, size_t count, std::vector<std::string>* out);
Status DecodeByteStreamSplit(const uint8_t* data, size_t size, const ValueKind& kind, size_t count, Values* out);

// Bits needed for values up to max_value.
int BitWidth(uint32_t max_value);
// Appends levels in the hybrid encoding: runs of equal values as RLE runs, the rest bit-packed.
void EncodeHybrid(const std::vector<uint8_t>& values, int bit_width, std::string* out);

}  // namespace pitstore::io::parquet
