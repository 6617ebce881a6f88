// ParquetWriter: writes pitstore Columns as a Parquet file that DuckDB, polars, pandas/pyarrow
// and Spark read.
//
// Layout: every column is OPTIONAL (nulls allowed); one column chunk per column per row group,
// split into data pages (v1) of about 1 MiB, values PLAIN, definition (and for lists
// repetition) levels in the RLE / bit-packed hybrid, each page compressed with zstd. Types:
//   kBool -> BOOLEAN; kInt32 -> INT32; kInt64 -> INT64;
//   kTimestamp -> INT64 TIMESTAMP(MICROS, isAdjustedToUTC = true);
//   kFloat32 -> FLOAT; kFloat64 -> DOUBLE; kString -> BYTE_ARRAY STRING; kBytes -> BYTE_ARRAY;
//   kFloat32Vector -> LIST of required FLOAT (three-level: NAME.list.element).
// No statistics, dictionaries or indexes are written.
//
// Use: Create, WriteRowGroup for each slice of rows, Finish (writes the footer). Nothing
// is valid Parquet until Finish returns OK; a caller writes to a temporary name and renames.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "metadata.h"
#include "pitstore/column.h"
#include "pitstore/status.h"

namespace pitstore::tools::parquet {

struct OutputColumn {
  std::string name;
  FeatureType type = FeatureType::kInt64;
  uint32_t dim = 0;  // kFloat32Vector only
};

class ParquetWriter {
 public:
  // Writes to `out` (not owned; left open). Writes the leading magic.
  ParquetWriter(FILE* out, std::vector<OutputColumn> schema, int zstd_level = 3);

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

}  // namespace pitstore::tools::parquet
