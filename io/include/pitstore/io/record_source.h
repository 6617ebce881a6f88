// RecordSource (libpitstore_io): records read in a stream from a CSV or JSON Lines file (or
// standard input), with the line and column of every field, for ingest and label files.
//
// CSV follows RFC 4180: a header row names the columns; fields are separated by commas; a
// field in double quotes may hold commas, newlines and doubled quotes (""). Lines end in LF or
// CRLF. An unquoted empty field is null; a quoted empty field ("") is an empty string. Every
// record must have as many fields as the header.
//
// JSON Lines: one JSON object per line (blank lines are skipped); members are matched by name.
// A member that is absent or null is null. Values keep their JSON kind, so a reader can refuse
// a string where a number belongs.
//
// Parquet as records (parquet_source.cc; see src/parquet/reader.h for what is read), for label
// files joined into CSV or JSON Lines; ingest and Parquet-to-Parquet joins read Parquet as typed
// tables instead (parquet_tables.h). Columns are matched by name; values keep their kind
// (numbers, bools, strings, float lists as arrays); timestamps and dates arrive as kTimestamp. Read one row group at a
// time. Errors name the file, the row (1-based, counted over the whole file: `line` below) and the column.
//
// Memory is bounded by the longest record (Parquet: the largest row group), whatever the
// file's size.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "pitstore/status.h"

namespace pitstore::io {

struct Field {
  enum Kind : uint8_t {
    kMissing,    // the record has no such column (JSON member absent)
    kNull,       // CSV: unquoted empty field; JSON: null
    kText,       // CSV: any other field (quoted or not)
    kString,     // JSON string (unescaped)
    kNumber,     // JSON number (its text)
    kBool,       // JSON true/false ("true" / "false")
    kArray,      // JSON array (its text, "[...]")
    kTimestamp,  // Parquet timestamp or date: microseconds since the epoch, as decimal text
  };
  Kind kind = kMissing;
  std::string text;
  // After PreferTypedValues, a Parquet source gives numbers, bools and timestamps as values,
  // not text (`text` is then empty): ints and bools (0/1) and timestamps (microseconds) in
  // int_value, floats in double_value. Readers must check `typed` before `text`.
  enum Typed : uint8_t { kNoValue, kIntValue, kDoubleValue };
  Typed typed = kNoValue;
  int64_t int_value = 0;
  double double_value = 0;
  uint64_t line = 0;    // 1-based, where the field starts (Parquet: its row)
  uint64_t column = 0;  // 1-based byte column, where the field starts (Parquet: column index)
};

class RecordSource {
 public:
  virtual ~RecordSource() = default;
  // The file's columns in order: a CSV header, or the members of the first JSON Lines record.
  // Optional; call before Bind. Empty for an empty input.
  virtual Result<std::vector<std::string>> ColumnNames() = 0;
  // Binds names[i] to slot i; called once, before Next. A column of the file outside `names`
  // is an error naming it, unless `ignore_extra`. A CSV header missing one of `required`
  // (a subset of names) is an error.
  virtual Status Bind(const std::vector<std::string>& names, const std::vector<std::string>& required,
                      bool ignore_extra) = 0;
  // Fills `fields` (one per slot) with the next record and `line` with where it starts.
  // Returns false at the end of the input. Errors name the file, line and column.
  virtual Result<bool> Next(std::vector<Field>* fields, uint64_t* line) = 0;
  // Bytes consumed so far (for progress reports).
  virtual uint64_t bytes_read() const = 0;
  // "path:line:column: " for messages.
  virtual std::string Where(uint64_t line, uint64_t column) const = 0;
  // Asks for typed values where the format has them (Parquet), sparing the text round trip;
  // see Field::typed. Other sources ignore it.
  virtual void PreferTypedValues() {}
  // Parquet TIMESTAMP columns not adjusted to UTC (naive local times, as pandas writes tz-naive
  // datetimes) are read in a zone `offset_us` east of UTC (default 0: as UTC). Text sources
  // ignore it: their naive times take a zone suffix instead (workflow's `timezone`).
  virtual void SetNaiveTimeOffset(int64_t /*offset_us*/) {}
};

enum class SourceFormat { kCsv, kJsonLines, kParquet };

// The format a file's name implies: .jsonl, .ndjson, .json: JSON Lines; .parquet, .pq: Parquet;
// anything else (and "-", standard input): CSV.
SourceFormat SourceFormatOfPath(const std::string& path);
// "csv", "jsonl" or "parquet"; InvalidArgument for another name.
Result<SourceFormat> SourceFormatNamed(const std::string& name);

// Opens `path` ("-" for standard input, except Parquet, which needs to seek). The source owns
// the file.
Result<std::unique_ptr<RecordSource>> OpenRecordSource(const std::string& path, SourceFormat format);

// Reads times written without a zone in `zone` (NaiveZoneSuffix: "UTC" or "+hh:mm"): sets
// *suffix to what naive text times take, and has the source's naive Parquet timestamps shifted
// by the zone's offset. InvalidArgument for another zone.
Status ReadNaiveTimesIn(const std::string& zone, RecordSource& source, std::string* suffix);
// For tests and fuzzing: reads CSV or JSON Lines from memory.
std::unique_ptr<RecordSource> RecordSourceFromString(std::string data, const std::string& name, SourceFormat format);
// A Parquet file in memory; fails if its footer or schema is unreadable.
Result<std::unique_ptr<RecordSource>> ParquetSourceFromString(std::string data, const std::string& name);

}  // namespace pitstore::io
