// ParquetFile: reads flat Parquet files (and lists of floats) one column chunk at a time.
//
// What it reads: top-level columns of physical type BOOLEAN, INT32, INT64, INT96 (legacy
// timestamps), FLOAT, DOUBLE, BYTE_ARRAY and FIXED_LEN_BYTE_ARRAY, required or optional, and
// lists of FLOAT or DOUBLE (the three-level LIST layout, the legacy two-level one, or a
// repeated top-level field: how writers store embeddings). Pages: dictionary pages, data
// pages v1 and v2; encodings PLAIN, PLAIN_DICTIONARY / RLE_DICTIONARY, RLE (booleans),
// DELTA_BINARY_PACKED, DELTA_LENGTH_BYTE_ARRAY, DELTA_BYTE_ARRAY and BYTE_STREAM_SPLIT; codecs
// UNCOMPRESSED, ZSTD, SNAPPY and GZIP. Other columns (structs, maps, other lists) are listed
// with the reason they cannot be read, so a caller can refuse them by name or leave them out.
//
// Trust: every length, offset and count in the file is checked before use; damage gives
// Corruption naming the row group, column and byte offset, never a crash or a huge
// allocation. Memory: one column chunk (compressed and decoded) at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "encodings.h"
#include "metadata.h"
#include "pitstore/status.h"

namespace pitstore::io::parquet {

// A top-level column as pitstore reads it.
struct ColumnDesc {
  std::string name;
  std::string unsupported;  // non-empty: why it cannot be read ("a struct", "DECIMAL", ...)
  size_t leaf = 0;          // its column chunk's index in each row group
  SchemaElement element;    // the leaf's schema element (type and annotations)
  int max_def = 0, max_rep = 0;
  bool list = false;
  int list_def = 0;  // lists: def >= list_def means the list is not null
  int elem_def = 0;  // lists: def >= elem_def means an element exists (else the list is empty)
};

// One column chunk decoded: its levels (empty when the maximum level is 0) and its non-null
// values in order.
struct ColumnChunk {
  std::vector<uint32_t> def, rep;
  size_t levels = 0;
  Values values;
};

// INT32 with an unsigned annotation (UINT_8/16/32, or INTEGER unsigned): read zero-extended.
bool IsUnsigned32(const SchemaElement& e);

class ParquetFile {
 public:
  static Result<std::unique_ptr<ParquetFile>> Open(const std::string& path);
  // For tests and fuzzing: a file held in memory.
  static Result<std::unique_ptr<ParquetFile>> FromBuffer(std::string data, const std::string& name);
  ~ParquetFile();

  const FileMetaData& metadata() const { return meta_; }
  const std::vector<ColumnDesc>& columns() const { return columns_; }
  size_t row_groups() const { return meta_.row_groups.size(); }
  int64_t rows(size_t row_group) const { return meta_.row_groups[row_group].num_rows; }
  const std::string& name() const { return name_; }
  uint64_t file_size() const { return size_; }
  // Where a row group's data ends (for progress).
  uint64_t row_group_end(size_t row_group) const;

  // Reads and decodes columns()[column] in `row_group`; the column must be supported.
  Status ReadChunk(size_t row_group, size_t column, ColumnChunk* out) const;

 private:
  ParquetFile() = default;
  Status Init();
  Status ReadAt(uint64_t offset, size_t n, std::string* out) const;
  Status DecodePage(const ColumnDesc& c, const ColumnMetaData& cm, const PageHeader& h, const uint8_t* body,
                    const Values& dictionary, bool has_dictionary, ColumnChunk* out) const;

  std::string name_;
  int fd_ = -1;
  std::string buffer_;  // FromBuffer's data
  uint64_t size_ = 0;
  uint64_t metadata_offset_ = 0;
  FileMetaData meta_;
  std::vector<ColumnDesc> columns_;
  size_t leaves_ = 0;
};

}  // namespace pitstore::io::parquet
