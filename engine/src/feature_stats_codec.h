// The engine's side of feature statistics: summaries of a run's rows, as segments keep them in
// their footers (pitstore.fb.FeatureStats) and Store::Summarize merges them.
#pragma once

#include <vector>

#include "pitstore/column.h"
#include "pitstore/feature_stats.h"

namespace pitstore {

// Adds rows [begin, end) of `column` to `out`; with `keep`, only rows i with keep[i - begin].
// Finite values go in blocks of 256 (mean and m2 per block, then merged): the result's mean and
// m2 depend, in their last bits, on how rows are split among calls.
void SummarizeRows(const Column& column, size_t begin, size_t end, const std::vector<uint8_t>* keep,
                   FeatureSummary* out);

}  // namespace pitstore
