// Ingest (libpitstore_workflow): records from an io::RecordSource (CSV, JSON Lines or Parquet) appended to one feature
// view in batches, as `pitstore ingest` does.
//
// Columns are matched by name: the join keys of the view's entities, the event timestamp column
// (the view's `event_timestamp`, else "event_ts"), the created timestamp column when the view
// declares one (a null or missing value means the commit time), and the features. A column
// that is none of these is an error unless ignored; a missing feature is null.
//
// Values: integers and floats in decimal (floats also nan, inf, -inf); bools true/false/1/0;
// bytes in hex ("0x0a0b" or "0a0b"); float32 vectors as "[1, 2.5]" (a JSON array in JSON
// Lines); timestamps as RFC 3339 with an offset (normalised to UTC, microsecond precision;
// further digits are cut) or as an integer count of `epoch_unit` since the epoch. In JSON
// Lines a value must have the JSON kind of its type: a number for numbers, a string for
// strings, bytes and (or a number) timestamps, true/false for bools, an array for vectors.
//
// Each batch of `batch_rows` records commits atomically. The first bad record stops the run:
// its batch commits nothing, every earlier batch stays committed, and the error names the
// file, line and column and says how many records were committed (so a rerun can skip them
// with `skip_records`). With `dry_run` every record is converted and checked, nothing written.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "pitstore/io/record_source.h"
#include "pitstore/io/table.h"
#include "pitstore/store.h"
#include "pitstore/workflow/entity_keys.h"

namespace pitstore::workflow {

// Units of integer times (io/timestamps.h): the library reads microseconds unless told; the
// tools default to kUnstated, which refuses counts that are implausible as microseconds.
using EpochUnit = io::EpochUnit;

struct IngestProgress {
  uint64_t records = 0;  // read so far
  uint64_t committed = 0;
  uint64_t bytes = 0;  // of the input
  bool done = false;
};

struct IngestOptions {
  size_t batch_rows = 100'000;
  bool ignore_extra_columns = false;
  bool dry_run = false;
  uint64_t skip_records = 0;  // records (after the header) to pass over unread, to resume a run
  EpochUnit epoch_unit = EpochUnit::kMicros;
  // Text times without an offset are read in this zone ("UTC", "+02:00"; io::NaiveZoneSuffix);
  // empty: refused (local times are ambiguous).
  std::string timezone;
  std::string event_ts_column;    // empty: the view's, else "event_ts"
  std::string created_ts_column;  // empty: the view's (none if it has none)
  WriteOptions write;
  // Called after every batch and about every 64k records; may be empty.
  std::function<void(const IngestProgress&)> progress;
};

struct IngestReport {
  uint64_t records_read = 0;  // including skipped ones
  uint64_t records_committed = 0;
  uint64_t batches_committed = 0;
  uint64_t bytes_read = 0;
  // Input columns the view does not have (skipped under ignore_extra_columns), and features no
  // input column holds (stored null): a misspelled feature column shows in both. For JSON
  // Lines, from the members of the first record.
  std::vector<std::string> ignored_columns, features_without_column;
};

// Runs the ingestion; `report` is filled on success and failure alike.
Status Ingest(Store& store, const std::string& view, io::RecordSource& source, const IngestOptions& options,
              IngestReport* report);

// The same from tables (a Parquet file read by io::OpenParquetTables, whose unused columns are
// then never decoded; an Arrow stream): columns matched by name as above, values converted by
// type (io/table.h), never through text. An event or created timestamp column is a timestamp,
// or integers counted in `epoch_unit`. Errors name `source_name`, the row (1-based, over all
// tables) and the column.
Status IngestTables(Store& store, const std::string& view, io::TableReader& tables, const std::string& source_name,
                    const IngestOptions& options, IngestReport* report);

// One timestamp field: RFC 3339 text, or an integer in `unit`. False when it is neither.
bool ParseTimestampField(const std::string& text, bool integer_only, EpochUnit unit, Timestamp* out);

// What ingest and join share, for one field: errors are InvalidArgument with a message that
// names the field (`what`, or the join key) but not where it is; callers add file:line:col.
// A join key: present, a string (CSV text or JSON string) or an int64 (CSV text or JSON
// number).
Result<KeyPart> KeyPartFromField(const io::Field& f, KeyType type, const std::string& name);
// A timestamp (CSV text, JSON string, or JSON integer in `unit`); `f` must not be null.
// A text time without an offset gets `naive_suffix` ("Z", "+02:00") when it is not empty, and is
// refused otherwise.
Result<Timestamp> TimestampFromField(const io::Field& f, EpochUnit unit, const std::string& what,
                                     const std::string& naive_suffix = "");
// A field's value as messages quote it: 'text', or the string "text" for a JSON string.
std::string ShownField(const io::Field& f);

}  // namespace pitstore::workflow
