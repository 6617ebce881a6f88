// Table (libpitstore_io): columns in Apache Arrow's memory layout, the currency that flows
// between sources, the store, joins and sinks, and across the Arrow C Data Interface
// (arrow_c.h) to pyarrow, pandas, polars, DuckDB and Spark without a copy.
//
// Layout, per Arrow's columnar format: a validity bitmap (bit i of byte i / 8, least
// significant first; set = present; absent = every row present), then by type:
//   kBool                 values: a bitmap
//   kInt32, kInt64        values: little-endian int32 / int64
//   kFloat32, kFloat64    values: IEEE 754 float / double
//   kTimestamp            values: int64 microseconds since the epoch, UTC (Arrow "tsu:UTC")
//   kString, kBinary      offsets: rows + 1 int32 (int64 when `large_offsets`) into `values`
//   kFloat32List          fixed-size lists of `dim` float32 (values: rows * dim floats); with
//                         `offsets`, lists of any length (Arrow list<float>, kept as imported)
//   kList                 lists of any length (at most `dim`) of `element` values: offsets
//                         (int32, int64 when `large_offsets`) into `child`, an array of the
//                         items (last_k aggregates: exported and written to Parquet, never
//                         imported); string and binary items always have int64 offsets
// Buffers are shared and immutable once built: a Table is cheap to copy, and an imported
// Arrow array's memory stays alive while any Table refers to it.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pitstore/column.h"
#include "pitstore/io/timestamps.h"
#include "pitstore/status.h"

namespace pitstore::io {

enum class DataType : uint8_t {
  kBool,
  kInt32,
  kInt64,
  kFloat32,
  kFloat64,
  kTimestamp,
  kString,
  kBinary,
  kFloat32List,
  kList
};
const char* DataTypeName(DataType type);

// Bytes that live as long as their owner: memory allocated here (64-byte aligned, zeroed) or
// memory of an imported Arrow array (held by the array's release callback).
class Buffer {
 public:
  static std::shared_ptr<Buffer> Allocate(size_t bytes);
  static std::shared_ptr<Buffer> Wrap(const void* data, size_t bytes, std::shared_ptr<void> owner);
  ~Buffer();
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  const uint8_t* data() const { return data_; }
  uint8_t* mutable_data() { return data_; }  // only while building
  size_t size() const { return size_; }

 private:
  Buffer() = default;
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  bool owned_ = false;
  std::shared_ptr<void> owner_;
};

struct Array {
  DataType type = DataType::kInt64;
  int32_t dim = 0;  // kFloat32List: floats per list (0: lists of any length, with offsets); kList: most items
  DataType element = DataType::kInt64;  // kList
  std::shared_ptr<const Array> child;   // kList: the items
  int64_t length = 0;
  int64_t null_count = 0;
  bool large_offsets = false;  // kString / kBinary / variable lists: int64 offsets
  std::shared_ptr<Buffer> validity, values, offsets;

  bool IsNull(int64_t i) const { return validity && !((validity->data()[i >> 3] >> (i & 7)) & 1); }
  template <typename T>
  T ValueAt(int64_t i) const {  // fixed-width types
    T v;
    std::memcpy(&v, values->data() + i * sizeof(T), sizeof(T));
    return v;
  }
  bool BoolAt(int64_t i) const { return (values->data()[i >> 3] >> (i & 7)) & 1; }
  int64_t OffsetAt(int64_t i) const {
    if (large_offsets) return reinterpret_cast<const int64_t*>(offsets->data())[i];
    return reinterpret_cast<const int32_t*>(offsets->data())[i];
  }
  std::string_view StringAt(int64_t i) const {  // kString, kBinary
    int64_t from = OffsetAt(i);
    return {reinterpret_cast<const char*>(values->data()) + from, static_cast<size_t>(OffsetAt(i + 1) - from)};
  }
  // kFloat32List: the floats of list i and how many.
  const float* ListAt(int64_t i, int64_t* n) const {
    int64_t from = offsets ? OffsetAt(i) : i * dim;
    *n = offsets ? OffsetAt(i + 1) - from : dim;
    return reinterpret_cast<const float*>(values->data()) + from;
  }
};

struct ColumnSchema {
  std::string name;
  DataType type = DataType::kInt64;
  int32_t dim = 0;                      // kFloat32List; kList: the most items
  bool large_offsets = false;           // strings, binaries, variable lists: int64 offsets in a stream
  DataType element = DataType::kInt64;  // kList
};

struct Table {
  std::vector<ColumnSchema> schema;
  std::vector<Array> columns;  // one per schema entry, each `rows` long
  int64_t rows = 0;
  // The column named `name`, or -1.
  int Find(const std::string& name) const;
};

// Tables one after another (record batches of one schema): a file read in row groups, a join
// written in chunks, an Arrow stream.
class TableReader {
 public:
  virtual ~TableReader() = default;
  virtual const std::vector<ColumnSchema>& schema() const = 0;
  // The next table; false at the end.
  virtual Result<bool> Next(Table* out) = 0;
};

// The engine's columns as Arrow arrays (copies) and back. The Arrow type of a feature type:
// bool, int32, int64, float32, float64, timestamp, string and bytes (binary) as themselves;
// float32_vector as fixed-size lists of `dim` floats; list types (last_k) as kList of their
// element's data type (DataTypeOf(ListElementType(type))).
DataType DataTypeOf(FeatureType type);
// Rows [begin, begin + count) of `column` (count -1: to the end).
Array ArrayFromColumn(const Column& column, size_t begin = 0, int64_t count = -1);
// The feature type a data type is stored as (kBinary: bytes; kFloat32List: vectors; kList: see
// the next).
FeatureType FeatureTypeOf(DataType type);
// The feature type of a column, lists included (kList: ListOf its element's).
FeatureType FeatureTypeOf(const ColumnSchema& column);
// Which rows of an array a conversion takes, and the number its first row has in messages.
struct Rows {
  int64_t begin = 0;
  int64_t count = -1;  // -1: to the end
  int64_t first_number = 0;
};
// Converts `a` to a column of `type` (dim for vectors): exact types, int32 -> int64, float32 <->
// float64, integers -> floats, int64 -> int32 when in range, strings -> bytes, lists of `dim`
// floats, kList of at most `dim` items to a list type; InvalidArgument naming
// `what` (and the row, numbered from rows.first_number) otherwise.
Result<Column> ColumnFromArray(const Array& a, FeatureType type, uint32_t dim, const std::string& what, Rows rows = {});
// Appends the rows of `from` to `to` (same type and dim), moving its strings.
void AppendColumn(Column&& from, Column* to);
// Keys as the join and WriteBatch take them: kInt64 (int32 widened) or kString columns, no nulls.
// A null is an error naming the row, unless `null_rows` is given: then it reads as 0 or "" and
// null_rows gets 1 for it (0 for the others), one entry per row.
Result<Column> KeyColumnFromArray(const Array& a, KeyType type, const std::string& what, Rows rows = {},
                                  std::vector<uint8_t>* null_rows = nullptr);
// Times as microseconds: a timestamp column, or integers counted in `unit` (timestamps.h);
// out-of-range (or, kUnstated, implausible) values are errors naming the row, and so are nulls
// unless `null_as` is given (then they read as it).
Result<std::vector<Timestamp>> TimesFromArray(const Array& a, EpochUnit unit, const std::string& what, Rows rows = {},
                                              const Timestamp* null_as = nullptr);

// Builds an Array row by row (for tests and small tables).
class ArrayBuilder {
 public:
  explicit ArrayBuilder(DataType type, int32_t dim = 0);
  void AppendNull();
  void AppendInt(int64_t v);                  // kBool (0/1), kInt32, kInt64, kTimestamp
  void AppendDouble(double v);                // kFloat32, kFloat64
  void AppendString(std::string_view v);      // kString, kBinary
  void AppendList(const float* v, size_t n);  // kFloat32List: n == dim, or any n when dim is 0
  Array Finish();

 private:
  void Present();
  DataType type_;
  int32_t dim_;
  int64_t length_ = 0, nulls_ = 0;
  std::vector<uint8_t> validity_;
  std::string values_;
  std::vector<int64_t> offsets_{0};
};

}  // namespace pitstore::io
