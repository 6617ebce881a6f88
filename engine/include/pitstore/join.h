// Point-in-time joins: the AsOf answer for many (key, time) pairs at once, as a training set
// needs it. Store::AsOfJoin gives each label row the values of the view's row that AsOf(key,
// t, K) would return, for every label in one pass over the view.
//
// Semantics, per label row (key, t):
//   among the view's rows with this key, event_ts <= t and system_ts <= K, the greatest by
//   (event_ts, system_ts, ingest order); none if the view has a TTL and t - event_ts > ttl.
// K, the knowledge horizon, is chosen by JoinOptions::known_at:
//   kNow        everything in the store when the join starts (Feast's behaviour);
//   kFixed      JoinOptions::fixed_known_at for every row: the same output later, whatever is
//               ingested or corrected meanwhile (a reproducible training set);
//   kLabelTime  K = t: each row sees only what had been ingested by its own time, what serving
//               saw then (no timing skew; needs system_ts to be real ingestion times).
// A matched row's null values stay null (never filled from an older row). Labels keep their
// order and duplicates; a label whose key has no eligible row reads null with status kNotFound.
//
// How: labels are sorted by (key, t) once; then every block of the view is read page by page
// in key order (pages decoded on `threads` threads), and each key's rows are merged against its
// labels. Memory: the labels, their sort order, the output, and a few pages per thread.
#pragma once

#include <cstdint>
#include <vector>

#include "pitstore/column.h"
#include "pitstore/types.h"

namespace pitstore {

enum class KnownAt : uint8_t { kNow = 0, kFixed = 1, kLabelTime = 2 };

// How a join reads the view; the answers are the same. kScan merges the labels against every
// block of the view in one pass: its cost follows the view's size, whatever the labels. kSeek
// finds each label's row by a point read (as AsOf does): its cost follows the labels, so a few
// labels against a large view take milliseconds. kAuto estimates both (the pages each plan
// would decode, from the labels' keys and the blocks' key ranges) and takes the cheaper.
enum class JoinPlan : uint8_t { kAuto = 0, kScan = 1, kSeek = 2 };

struct JoinOptions {
  KnownAt known_at = KnownAt::kNow;
  Timestamp fixed_known_at = kMaxTimestamp;  // for kFixed
  int threads = 2;                           // page decoders (at least 1)
  JoinPlan plan = JoinPlan::kAuto;
};

// The label rows, column by column.
struct JoinLabels {
  // One column per join key of the view, in the view's key order: FeatureType::kInt64 (ints)
  // for int64 join keys, FeatureType::kString (strings) for string ones; no nulls.
  std::vector<Column> keys;
  std::vector<Timestamp> times;  // the label time t of each row
};

struct JoinResult {
  // One column per requested feature, one row per label, in label order.
  std::vector<Column> columns;
  // Per label: kPresent when a row matched (its values may still be null), kNotFound, or
  // kExpired (matched but older than the TTL at t; values null).
  std::vector<uint8_t> status;  // a ValueStatus
  // The matched row's times (0 when none matched).
  std::vector<Timestamp> event_ts, system_ts;
  // How the join read the view (kScan or kSeek; JoinOptions::plan).
  JoinPlan plan = JoinPlan::kScan;
};

}  // namespace pitstore
