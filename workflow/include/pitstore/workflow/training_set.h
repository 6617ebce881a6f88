// Training sets: label rows from a CSV or JSON Lines file joined point-in-time with features of
// one or more views (Store::AsOfJoin per view), written as CSV or JSON Lines, as
// `pitstore join` does.
//
// Labels: every column of the label file is kept, in order, with each row's original text
// (JSON values keep their kind); rows keep their order, duplicates included. The label time
// column (default event_ts) is RFC 3339 with an offset or an integer epoch in `epoch_unit`.
// Each requested view needs its join keys as label columns of the same names; a label whose
// key or time is missing or malformed is an error naming its file, line and column.
//
// Output: the label columns, then one column per requested feature named `feature`, or
// `view__feature` with full_feature_names; a name that would appear twice is refused before
// any work. Unmatched, expired and null values are empty in CSV and null in JSON Lines. In
// JSON Lines output, label cells read from CSV are written as numbers when they are JSON
// numbers, else as strings.
// Parquet output (pitstore/io/parquet_writer.h, zstd, row groups of 1,000,000 rows): features keep their
// types; the label time column is a TIMESTAMP (microseconds, UTC); join keys keep their key
// type; any other label column is BOOLEAN if its cells are bools, TIMESTAMP if timestamps,
// INT64 if every non-null cell is an integer, DOUBLE if every one is a number, else a string.
//
// Memory: bounded by `chunk_labels` (fewer with last_k lists: joiner.h's LabelsPerPass).
// Labels are read, joined and written that many at a time
// (every chunk from one snapshot of the store, so the output is one consistent training set);
// memory holds one chunk's text, parsed keys and times, and joined columns. Each chunk costs
// a pass over the requested views' blocks, so a label set that fits is best joined in one
// chunk. In Parquet output a
// label column typed differently by a later chunk (see above) is an error naming it.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "pitstore/io/record_source.h"
#include "pitstore/store.h"
#include "pitstore/workflow/feature_refs.h"
#include "pitstore/workflow/ingest.h"

namespace pitstore::workflow {

class ShardedStore;

struct TrainingSetOptions {
  FeatureRequest request;         // the features, in output order (feature_refs.h)
  std::string label_time_column;  // empty: the views' event timestamp column, event_ts, event_timestamp
  std::string timezone;           // label times without an offset: read in this zone ("UTC", "+02:00"); empty: refused
  EpochUnit epoch_unit = EpochUnit::kMicros;
  JoinOptions join;
  size_t chunk_labels = 10'000'000;  // labels in memory at a time; 0: all
  enum class Output { kCsv, kJsonLines, kParquet };
  Output output = Output::kCsv;
  // Called at each phase ("read", "join VIEW", "write") with the labels so far; may be empty.
  std::function<void(const std::string& phase, uint64_t labels)> progress;
};

struct TrainingSetReport {
  uint64_t labels = 0;
  uint64_t chunks = 0;            // passes: labels read, joined and written together
  std::vector<uint64_t> matched;  // per requested feature: non-null values written
  uint64_t null_labels = 0;       // labels with a null key or time (kept, features null)
  double read_secs = 0, join_secs = 0, write_secs = 0;
};

Status BuildTrainingSet(Store& store, io::RecordSource& labels, const TrainingSetOptions& options, FILE* out,
                        TrainingSetReport* report);
// The same over a sharded store (sharded_store.h): each label joined by its shard
// (sharded_joiner.h); the same output as one store holding every shard's rows.
Status BuildTrainingSet(ShardedStore& store, io::RecordSource& labels, const TrainingSetOptions& options, FILE* out,
                        TrainingSetReport* report);

}  // namespace pitstore::workflow
