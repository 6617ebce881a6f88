// The engine's side of feature statistics: summaries of a run's rows, as segments keep them in
// their footers (pitstore.fb.FeatureStats) and Store::Summarize merges them.
#pragma once

#include <vector>

#include "pitstore/column.h"
#include "pitstore/feature_stats.h"

namespace pitstore {

// Adds rows [begin, end) of `column` to `out`; with `keep`, only rows i with keep[i - begin].
void SummarizeRows(const Column& column, size_t begin, size_t end, const std::vector<uint8_t>* keep,
                   FeatureSummary* out);

}  // namespace pitstore
