// A view's stored rows exported as Parquet (libpitstore_workflow), as `pitstore dump --out`
// writes them.
//
// Columns: the view's join keys (int64 or string), event_ts and system_ts (TIMESTAMP, UTC), then
// the requested features in their types (pitstore/io/parquet_writer.h). Rows in key order, each
// key's versions in order (Store::Scan), up to `limit` rows, as known at `known_at`.
// Row groups of 1,000,000 rows: memory holds one row group whatever the view's size.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "pitstore/store.h"

namespace pitstore::workflow {

struct ViewExportOptions {
  std::vector<std::string> features;  // empty: all, in the view's order
  Timestamp known_at = kMaxTimestamp;
  uint64_t limit = UINT64_MAX;  // at most this many rows (0: none, a file with only the schema)
};

// Writes the Parquet file to `out` (not closed). NotFound for an unknown view or feature.
Status ExportViewToParquet(Store& store, const std::string& view, const ViewExportOptions& options, FILE* out);

}  // namespace pitstore::workflow
