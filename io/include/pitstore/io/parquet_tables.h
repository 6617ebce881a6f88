// Parquet files as Tables (libpitstore_io): one row group at a time, each value as the file
// types it, never through text.
//
// Types: BOOLEAN -> bool; INT32 -> int32; INT64 -> int64 (UINT_64 too, an error past INT64_MAX);
// FLOAT, DOUBLE -> float32, float64; strings (STRING, UTF8, ENUM, JSON) -> string; other byte
// arrays -> binary; TIMESTAMP (millis, micros, nanos floored; with or without UTC adjustment),
// INT96 and DATE (midnight) -> timestamp (UTC microseconds); lists of FLOAT or DOUBLE -> lists of
// float32 (a null element is an error naming the row). What parquet/reader.h refuses (DECIMAL,
// structs, ...) is refused by name when selected. Errors name the file, row group, row and column;
// a damaged file is InvalidArgument (bad input), never a crash.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "pitstore/io/table.h"

namespace pitstore::io {

// A reader of the file's row groups. schema() lists every column the file has (those that
// cannot be read too, typed by what they would be); Select narrows what Next decodes.
class ParquetTableReader : public TableReader {
 public:
  // Decodes only these columns (in the file's order), skipping the others' pages entirely;
  // NotSupported for a selected column pitstore cannot read, InvalidArgument for an unknown name.
  virtual Status Select(const std::vector<std::string>& names) = 0;
  // Bytes of the file up to the end of the last row group read (for progress).
  virtual uint64_t bytes_read() const = 0;
  virtual const std::string& name() const = 0;
  // TIMESTAMP columns not adjusted to UTC are read in a zone `offset_us` east of UTC (default 0).
  virtual void SetNaiveTimeOffset(int64_t offset_us) = 0;
};

Result<std::unique_ptr<ParquetTableReader>> OpenParquetTables(const std::string& path);
// The tables' naive TIMESTAMP columns read in `zone` (NaiveZoneSuffix's forms); InvalidArgument
// for another zone.
Status ReadNaiveTimesIn(const std::string& zone, ParquetTableReader& tables);
// For tests and fuzzing: a file in memory.
Result<std::unique_ptr<ParquetTableReader>> ParquetTablesFromBuffer(std::string data, const std::string& name);

}  // namespace pitstore::io
