// Windowed aggregations: features that are functions of a key's events over a time window
// ("sum of amount over the last hour"), computed exactly, by one implementation for the
// online read (Store::AggregateAt) and the point-in-time join (Store::AggregateJoin).
//
// Semantics, for key k, time t, window w and knowledge horizon K:
//   the events of k are its distinct event times; an event's value is its version that
//   Store::AsOf would pick at K (the greatest by (system_ts, ingest order) with system_ts <= K;
//   a correction replaces the value, it does not add an event). The aggregate is taken over
//   the events with  t - w < event_ts <= t  whose value in the column is not null.
//   Exact at microsecond precision: no hops, no tiles, no sketches; an event exactly w before t
//   is out, one at t is in.
// Results, by function (nulls skipped; an empty window gives 0 for count and
// count_distinct, null for the others):
//   count           int64, the non-null values
//   sum             int64 over bool/int32/int64 columns (InvalidArgument on overflow, never a
//                   wrapped value), float64 over float columns, added in event-time order
//   mean            float64
//   min, max        the column's type; numbers, timestamps, strings and bytes (by bytes);
//                   NaN is greater than every number (as DuckDB and PostgreSQL order it)
//   stddev          float64, the sample standard deviation (n - 1; DuckDB's stddev); null for
//                   fewer than two values
//   last            the column's type: the value of the newest event in the window
//   last_k          a list of the column's type (types.h: ListOf; not of vectors) holding the
//                   values of the k newest events in the window, newest first (item 0 is last's
//                   value); fewer when the window holds fewer, null when it holds none
//   count_distinct  int64, exact (every distinct value is kept while the window is read);
//                   numbers compare by value (0.0 == -0.0, every NaN is one value)
// The view's TTL does not apply: the window bounds what is read.
//
// AggregateFunction, WindowAggregate and AggregationViewDef (a named set of aggregates over a
// source view, kept in the registry) are in pitstore/types.h.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pitstore/export.h"
#include "pitstore/types.h"

namespace pitstore {

// "count", "sum", "mean", "min", "max", "stddev", "last", "count_distinct", "last_k".
PITSTORE_EXPORT const char* AggregateFunctionName(AggregateFunction function);
// The function by its name (also "avg" for mean); false for another name.
PITSTORE_EXPORT bool ParseAggregateFunction(const std::string& name, AggregateFunction* out);

// "<column>_<function>_<window>", the window in its largest whole unit: amount_sum_1h,
// amount_count_7d, amount_max_90s, amount_mean_1500ms, amount_min_10us; last_k names its k:
// item_last_5_1d.
PITSTORE_EXPORT std::string DefaultAggregateName(const WindowAggregate& aggregate);
// "1h", "7d", "90s", "1500ms", "10us": the largest unit that divides the window.
PITSTORE_EXPORT std::string WindowText(int64_t window_us);

// The type of an aggregate's values over a column of type `column`; false when the function
// does not apply to the type (sum of a string, min of a vector). last_k's is a list type whose
// dim is its k.
PITSTORE_EXPORT bool AggregateResultType(AggregateFunction function, FeatureType column, FeatureType* out);

}  // namespace pitstore
