// parquet::FileWriter: the implementation behind pitstore/io/parquet_writer.h (see there for
// the layout written).
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "metadata.h"
#include "pitstore/column.h"
#include "pitstore/io/parquet_writer.h"
#include "pitstore/status.h"

namespace pitstore::io::parquet {

class FileWriter {
 public:
  // Writes to `out` (not owned; left open). Writes the leading magic.
  FileWriter(FILE* out, std::vector<OutputColumn> schema, int zstd_level = 3);

  // Writes rows [begin, end) of `columns` (one per schema column, of its type) as a row group.
  Status WriteRowGroup(const std::vector<const Column*>& columns, size_t begin, size_t end);
  // Writes the metadata and footer and flushes.
  Status Finish();

 private:
  Status Write(const std::string& bytes);
  Status WriteChunk(const OutputColumn& def, const Column& c, size_t begin, size_t end, ColumnMetaData* meta);
  Status WritePage(const std::string& raw, int32_t num_values, ColumnMetaData* meta);

  FILE* out_;
  std::vector<OutputColumn> schema_;
  int zstd_level_;
  uint64_t offset_ = 0;
  FileMetaData meta_;
  Status status_;
};

}  // namespace pitstore::io::parquet
