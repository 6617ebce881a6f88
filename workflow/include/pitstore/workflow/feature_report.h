// Feature statistics for people: a picture of each feature's distribution (an SVG of small
// histograms, one per feature), and of its drift when a second window is given (drawn over the
// first, with the population stability index in each panel's title).
#pragma once

#include <string>
#include <vector>

#include "pitstore/feature_stats.h"

namespace pitstore::workflow {

struct HistogramOptions {
  int bins = 40;
  std::string title;                     // the picture's heading
  std::string first_label = "all";       // legend of the first distribution
  std::string second_label = "current";  // and of the second, when given
};

// One panel per summary of `first` (with `second[i]` drawn over `first[i]` when `second` is
// given; same features in the same order). Bars are each bin's share of the panel's finite
// values, from the sketches; a bin's range runs from the 0.5th to the 99.5th percentile (of both
// windows), and the outer bins also hold what lies beyond.
std::string HistogramSvg(const std::vector<FeatureSummary>& first, const std::vector<FeatureSummary>* second,
                         const HistogramOptions& options);

// "stable" (PSI < 0.1), "moderate" (< 0.25), "large", or "n/a" (NaN).
const char* DriftVerdict(double psi);

}  // namespace pitstore::workflow
