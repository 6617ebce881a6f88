// The Arrow C Data Interface (libpitstore_io): Tables in and out of the ABI-stable C structs
// that pyarrow, polars, DuckDB, Spark and nanoarrow exchange, written from the Arrow
// specification ("The Arrow C data interface", "The Arrow C stream interface"); no Arrow C++.
//
// A Table travels as a struct array ("+s") with one child per column. Formats written:
//   bool "b", int32 "i", int64 "l", float32 "f", float64 "g", timestamp "tsu:UTC",
//   string "u" ("U" past 2 GiB), binary "z" ("Z"), float32 vectors "+w:DIM" of "f".
// Formats read, zero-copy (the Table's buffers point into the producer's memory, which its
// release callback frees when the last Table using it goes): all of those, "U" and "Z" (int64
// offsets), "tsu:" with any time zone or none (Arrow stores UTC instants either way), lists
// "+l"/"+L" of "f". Read with a copy: int8/16 and unsigned ints ("c", "s", "C", "S", "I", "L";
// a uint64 beyond int64 is an error), other timestamp units ("tss:", "tsm:", "tsn:", nanoseconds
// floored), date32 "tdD" (midnight UTC), lists of "g", and any array with a non-zero offset.
// Anything else (dictionaries, string views, decimals, nested structs) is refused with
// InvalidArgument naming the column and its format.
//
// Ownership follows the specification: an exported struct belongs to the consumer, who calls
// its release callback once; an imported struct is moved from (its release is set to null).
#pragma once

#include <cstdint>
#include <memory>

#include "pitstore/io/table.h"
#include "pitstore/status.h"

extern "C" {
#ifndef ARROW_C_DATA_INTERFACE
#define ARROW_C_DATA_INTERFACE

#define ARROW_FLAG_DICTIONARY_ORDERED 1
#define ARROW_FLAG_NULLABLE 2
#define ARROW_FLAG_MAP_KEYS_SORTED 4

struct ArrowSchema {
  const char* format;
  const char* name;
  const char* metadata;
  int64_t flags;
  int64_t n_children;
  struct ArrowSchema** children;
  struct ArrowSchema* dictionary;
  void (*release)(struct ArrowSchema*);
  void* private_data;
};

struct ArrowArray {
  int64_t length;
  int64_t null_count;
  int64_t offset;
  int64_t n_buffers;
  int64_t n_children;
  const void** buffers;
  struct ArrowArray** children;
  struct ArrowArray* dictionary;
  void (*release)(struct ArrowArray*);
  void* private_data;
};
#endif  // ARROW_C_DATA_INTERFACE

#ifndef ARROW_C_STREAM_INTERFACE
#define ARROW_C_STREAM_INTERFACE
struct ArrowArrayStream {
  int (*get_schema)(struct ArrowArrayStream*, struct ArrowSchema* out);
  int (*get_next)(struct ArrowArrayStream*, struct ArrowArray* out);
  const char* (*get_last_error)(struct ArrowArrayStream*);
  void (*release)(struct ArrowArrayStream*);
  void* private_data;
};
#endif  // ARROW_C_STREAM_INTERFACE
}

namespace pitstore::io {

// The schema alone (a struct with one child per column).
Status ExportSchema(const std::vector<ColumnSchema>& schema, ArrowSchema* out);
// The table as one struct array and its schema; zero-copy (the arrays share the Table's buffers).
Status ExportTable(const Table& table, ArrowSchema* schema, ArrowArray* array);
// Takes `array` (and reads `schema`, which stays the caller's): a struct array of columns.
Result<Table> ImportTable(const ArrowSchema& schema, ArrowArray* array);
Result<std::vector<ColumnSchema>> ImportSchema(const ArrowSchema& schema);

// A stream of the reader's tables; the stream owns the reader (so whatever the reader needs,
// a Store for a training set, must outlive the stream). Errors of the reader reach the
// consumer as EIO or EINVAL with get_last_error's message, and stay: after one, get_next fails
// again. Every batch has the offset widths the schema announced.
Status ExportStream(std::unique_ptr<TableReader> reader, ArrowArrayStream* out);
// Takes `stream`: its batches as Tables.
Result<std::unique_ptr<TableReader>> ImportStream(ArrowArrayStream* stream);

// A reader over tables already in memory (for tests, and to export a Table as a stream).
std::unique_ptr<TableReader> ReaderOfTables(std::vector<ColumnSchema> schema, std::vector<Table> tables);

}  // namespace pitstore::io
