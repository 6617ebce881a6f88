// ParquetWriter (libpitstore_io): writes pitstore Columns as a Parquet file that DuckDB, polars, pandas/pyarrow
// and Spark read.
//
// Layout: every column is OPTIONAL (nulls allowed); one column chunk per column per row group,
// split into data pages (v1) of about 1 MiB, values PLAIN, definition (and for lists
// repetition) levels in the RLE / bit-packed hybrid, each page compressed with zstd. Types:
//   kBool -> BOOLEAN; kInt32 -> INT32; kInt64 -> INT64;
//   kTimestamp -> INT64 TIMESTAMP(MICROS, isAdjustedToUTC = true);
//   kFloat32 -> FLOAT; kFloat64 -> DOUBLE; kString -> BYTE_ARRAY STRING; kBytes -> BYTE_ARRAY;
//   kFloat32Vector -> LIST of required FLOAT (three-level: NAME.list.element);
//   list types (last_k) -> LIST of their required element, typed as above.
// No statistics, dictionaries or indexes are written.
//
// Use: Create, WriteRowGroup for each slice of rows, Finish (writes the footer). Nothing
// is valid Parquet until Finish returns OK; a caller writes to a temporary name and renames.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "pitstore/column.h"
#include "pitstore/io/table.h"
#include "pitstore/status.h"

namespace pitstore::io {

namespace parquet {
class FileWriter;
}

// One column of the file: its name and the pitstore type its values have.
struct OutputColumn {
  std::string name;
  FeatureType type = FeatureType::kInt64;
  uint32_t dim = 0;  // kFloat32Vector: its length; a list type: the most items
};

class ParquetWriter {
 public:
  // Writes to `out` (not owned; left open). Writes the leading magic.
  ParquetWriter(FILE* out, std::vector<OutputColumn> schema, int zstd_level = 3);
  ~ParquetWriter();
  ParquetWriter(const ParquetWriter&) = delete;
  ParquetWriter& operator=(const ParquetWriter&) = delete;

  // Writes rows [begin, end) of `columns` (one per schema column, of its type) as a row group.
  Status WriteRowGroup(const std::vector<const Column*>& columns, size_t begin, size_t end);
  // Writes the metadata and footer and flushes.
  Status Finish();

 private:
  std::unique_ptr<parquet::FileWriter> impl_;
};

// Writes every table of `tables` to `out` (not closed) as one Parquet file: the first table's
// schema, columns in their types (binary as bytes), row groups of at most `row_group_rows` rows
// (a table larger than that is cut). Lists must have a known dim.
Status WriteParquet(TableReader& tables, FILE* out, size_t row_group_rows = 1'000'000);

}  // namespace pitstore::io
