// Thrift's compact protocol, the encoding of Parquet's metadata: a reader that never trusts its
// input and a writer for the structs pitstore writes.
//
// Compact protocol in brief: a struct is a sequence of fields, each a header byte (high nibble:
// field id delta 1..15, or 0 followed by a zigzag varint i16 id; low nibble: type) and a value,
// ended by a 0 byte. Integers are zigzag varints, doubles 8 bytes little-endian, binaries a
// varint length and bytes, lists a header (size in the high nibble, or 15 and a varint size;
// element type in the low nibble) and elements. Bools in a field header carry their value
// in the type (1 true, 2 false).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pitstore::io::parquet {

namespace thrift {
enum Type : uint8_t {
  kStop = 0,
  kTrue = 1,
  kFalse = 2,
  kByte = 3,
  kI16 = 4,
  kI32 = 5,
  kI64 = 6,
  kDouble = 7,
  kBinary = 8,
  kList = 9,
  kSet = 10,
  kMap = 11,
  kStruct = 12,
};
}  // namespace thrift

// Reads from [data, data + size). Every read checks bounds; the first error sticks (ok() turns
// false, error() says what and at which offset) and later reads return zeros, so parsers can
// check once at the end of a struct.
class ThriftReader {
 public:
  ThriftReader(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  // Struct framing. ReadField returns false at the struct's end (or on error).
  void BeginStruct();
  void EndStruct();
  bool ReadField(int16_t* id, uint8_t* type);

  bool ReadBool(uint8_t field_type);  // a field's bool is in its type
  int32_t ReadI32();
  int64_t ReadI64();
  std::string ReadString();
  // A list header: the element type and count (bounded by the bytes left).
  uint32_t ReadListHeader(uint8_t* elem_type);
  // Skips a value of `type` (nested up to a depth limit).
  void Skip(uint8_t type);

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  size_t offset() const { return pos_; }
  void Fail(const std::string& what);

 private:
  uint64_t ReadVarint();
  void SkipDepth(uint8_t type, int depth);

  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  std::vector<int16_t> last_id_;
  int16_t current_id_ = 0;
  std::string error_;
};

// Appends to a string.
class ThriftWriter {
 public:
  void BeginStruct();  // the top-level struct or a list element
  void EndStruct();
  void FieldStruct(int16_t id);  // a struct-valued field: then its fields, then EndStruct
  void FieldI32(int16_t id, int32_t v);
  void FieldI64(int16_t id, int64_t v);
  void FieldBool(int16_t id, bool v);
  void FieldBinary(int16_t id, std::string_view v);
  void FieldList(int16_t id, uint8_t elem_type, uint32_t size);  // then the elements
  void ElemI32(int32_t v) { Varint(ZigZag(v)); }
  void ElemBinary(std::string_view v);

  std::string& out() { return out_; }

 private:
  static uint64_t ZigZag(int64_t v) { return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63); }
  void Varint(uint64_t v);
  void Header(int16_t id, uint8_t type);

  std::string out_;
  std::vector<int16_t> last_id_;
  int16_t current_id_ = 0;
};

}  // namespace pitstore::io::parquet
