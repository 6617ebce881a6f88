// A view's stored rows exported as Parquet, CSV or JSON Lines (libpitstore_workflow), as
// `pitstore dump` writes them; every format ingests back (`pitstore ingest`) to the same rows.
//
// Columns: the view's join keys (int64 or string), its event time column (the view's name for
// it, else event_ts), its system time column (the view's created timestamp column, else
// system_ts, which ingest also reads as the system time), then the requested features. Rows in
// key order, each key's versions in order (Store::Scan), up to `limit` rows, as known at
// `known_at`. Parquet: timestamps as TIMESTAMP (UTC), features in their types, row groups of
// 1,000,000 rows. CSV and JSON Lines: values as workflow/src/value_text.h writes them (null an
// empty CSV field, "" an empty string, NaN as "nan"). Memory holds one chunk of rows whatever
// the view's size.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "pitstore/store.h"

namespace pitstore::workflow {

enum class ExportFormat { kParquet, kCsv, kJsonLines };

struct ViewExportOptions {
  std::vector<std::string> features;  // empty: all, in the view's order
  Timestamp known_at = kMaxTimestamp;
  uint64_t limit = UINT64_MAX;  // at most this many rows (0: none: the header, or only the schema)
  ExportFormat format = ExportFormat::kParquet;
};

// The names of the time columns an export writes: the view's, else event_ts and system_ts.
std::string ExportedEventColumn(const FeatureViewDef& view);
std::string ExportedSystemColumn(const FeatureViewDef& view);

// Writes the rows to `out` (not closed). NotFound for an unknown view or feature.
Status ExportView(Store& store, const std::string& view, const ViewExportOptions& options, FILE* out);

}  // namespace pitstore::workflow
