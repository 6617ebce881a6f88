// What every ingest shares, whatever it reads: batches converted on one thread while the
// previous one commits on the other; the error that names where a bad batch came from and how
// to resume; progress; dry runs.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "pitstore/store.h"
#include "pitstore/workflow/ingest.h"

namespace pitstore::workflow {

// What one input column turns into.
enum class SlotRole { kKey, kEventTs, kCreatedTs, kFeature };

struct Slot {
  SlotRole role;
  std::string name;
  size_t index;  // key part or feature index
  KeyType key_type = KeyType::kInt64;
  FeatureType type = FeatureType::kInt64;
  uint32_t dim = 0;
};

// The columns an ingest into a view reads: its join keys, the event timestamp column (the
// view's, else "event_ts"), the created timestamp column if any, the features; and which must
// be present (keys and the event time).
struct ViewSlots {
  std::vector<Slot> slots;
  std::vector<std::string> names, required;
};
Result<ViewSlots> SlotsOf(Store& store, const std::string& view_name, const IngestOptions& options);
// Fills report->ignored_columns and features_without_column from the input's column names.
void ReportColumns(const std::vector<std::string>& input_columns, const ViewSlots& slots, IngestReport* report);

// A converted batch, and for each row where it came from (a line, or a row number), so an
// error the engine finds in row i can be reported there.
struct ParsedBatch {
  WriteBatch batch;  // empty in a dry run
  std::vector<uint64_t> positions;
  size_t rows = 0;
};
// Gives a batch to the committer; false when it has stopped (the producer then returns).
using HandOver = std::function<bool(ParsedBatch&&)>;
// Converts the input into batches of options.batch_rows rows (after skipping
// options.skip_records), calling hand_over for each; counts records and bytes read as it goes.
// Returns the input's first error: the rows before it in its batch are never handed over.
using Producer =
    std::function<Status(const HandOver& hand_over, std::atomic<uint64_t>& records, std::atomic<uint64_t>& bytes)>;

// Runs `produce` on a thread of its own and commits what it hands over. `where` turns a position
// into the prefix of a message ("file:line:1: ", "file: row 7: ").
Status RunIngest(Store& store, const std::string& view_name, const IngestOptions& options, IngestReport* report,
                 const Producer& produce, const std::function<std::string(uint64_t)>& where);

}  // namespace pitstore::workflow
