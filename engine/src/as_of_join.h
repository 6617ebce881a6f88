// The point-in-time join's core (pitstore/join.h), independent of how pages are read: labels
// sorted by (key, t) are merged against the rows of every block at once (a k-way merge by key,
// pages decoded ahead on worker threads), so each label is visited once whatever the number of
// blocks.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pitstore/join.h"
#include "pitstore/status.h"
#include "run.h"

namespace pitstore {

// A page as the join reads it: its rows' times and joined features, and its keys as runs (one
// entry per key, not a string per row). Made by Of or OfRun, which fill `prefixes`.
struct JoinPage {
  std::shared_ptr<const Run> rows;  // its `keys` may be empty: `keys` has them
  KeyRuns keys;
  std::vector<uint64_t> prefixes;  // of each run's key: bytes 1..8, big-endian, zero-padded
  // False when rows->seq is not to be read (a page decoded without its rows' ingest order
  // has every seq 0): the join loads that order (JoinPageSource::LoadSeq of `block` and
  // `page`) only when rows of equal times from different blocks need it, and keeps it in
  // `loaded_seq`, so such a page must be the caller's alone (LoadPage).
  bool seq_read = true;
  size_t block = 0, page = 0;
  mutable std::vector<uint64_t> loaded_seq;

  static std::shared_ptr<JoinPage> Of(std::shared_ptr<const Run> rows, KeyRuns keys);
  // The page of a run that carries its keys a row each (a row batch, a cached page).
  static std::shared_ptr<const JoinPage> OfRun(std::shared_ptr<const Run> run);
};

// Where the join reads a view's rows: blocks, each sorted by (key, version), in pages.
class JoinPageSource {
 public:
  virtual ~JoinPageSource() = default;
  virtual size_t blocks() const = 0;
  virtual size_t pages(size_t block) const = 0;
  // No key of the block is below min_key or above max_key (empty: unknown).
  virtual std::string min_key(size_t block) const = 0;
  virtual std::string max_key(size_t block) const = 0;
  // The keys of a page's first and last rows (empty: unknown, as for row batches): they let a
  // join of overlapping blocks split in two key ranges, each merged on its own thread.
  virtual std::string page_first_key(size_t, size_t) const { return {}; }
  virtual std::string page_last_key(size_t, size_t) const { return {}; }
  // The greatest event time in the block (kMaxTimestamp: unknown). Overlapping blocks are
  // merged oldest first, so a key's versions mostly come in order.
  virtual Timestamp max_event_ts(size_t) const { return kMaxTimestamp; }
  // Said before any page is loaded when every key's rows are in one block (the blocks' key
  // ranges are disjoint): no versions of a key come from several blocks, so none need ingest
  // order. (The store's source reads none anyway; LoadSeq gives it when needed.)
  virtual void SetOneBlockPerKey() {}
  // Must be safe to call from several threads at once. A page with seq_read false must be
  // made for this call, not shared: the join writes its loaded_seq.
  virtual Result<std::shared_ptr<const JoinPage>> LoadPage(size_t block, size_t page) = 0;
  // The ingest order (seq) of a page's rows, for pages loaded without it (JoinPage::seq_read
  // false). Must be safe to call from several threads at once.
  virtual Result<std::vector<uint64_t>> LoadSeq(size_t block, size_t page) {
    return Status::NotSupported("block " + std::to_string(block) + ", page " + std::to_string(page) +
                                ": no ingest order to read");
  }
};

// The most blocks a join's merge scans for the least key (beyond, a loser tree finds it).
inline constexpr size_t kJoinScanBlocks = 32;
static_assert(kJoinScanBlocks <= 32, "the scan keeps a bit per block in a uint32_t");

struct JoinSpec {
  std::vector<int> projection;  // feature indexes of the view, one per output column
  ColumnTypes types;            // of the output columns
  int64_t ttl_us = 0;
  JoinOptions options;
};

// `labels` must already be checked against the view's key (count and types of columns, sizes).
Status RunAsOfJoin(JoinPageSource& source, const JoinLabels& labels, const JoinSpec& spec, JoinResult* out);

// The same join by one point read per label (JoinPlan::kSeek): `seek` gives the winning row of
// an encoded key among rows with event_ts <= t and system_ts <= known_at (null run: none).
using AsOfSeek = std::function<Status(const std::string& key, Timestamp t, Timestamp known_at,
                                      std::shared_ptr<const Run>* run, size_t* row)>;
Status RunAsOfSeeks(const AsOfSeek& seek, const JoinLabels& labels, const JoinSpec& spec, JoinResult* out);

// The knowledge horizon of a label at time t: +inf (kNow), the fixed time, or t itself.
inline Timestamp KnownAtOf(const JoinOptions& options, Timestamp t) {
  return options.known_at == KnownAt::kLabelTime ? t
         : options.known_at == KnownAt::kFixed   ? options.fixed_known_at
                                                 : kMaxTimestamp;
}

// The encoded entity key of label i.
std::string LabelKey(const JoinLabels& labels, size_t i);

// Labels in (key, t, input order) order: by the key's first eight bytes after its tag (an int64
// key whole), then the whole key only on a tie, then time and input order. Also under the
// windowed-aggregate join (store_window.cc).
struct SortedLabels {
  bool exact = false;                // the prefix is the whole key: no strings kept
  std::vector<std::string> encoded;  // by label index, when !exact
  // By sorted position, an array each (the merge reads them in order; the join's output takes
  // over the first two, and the third is the order to put results back in): each label's key
  // prefix (its bits: KeyPrefix, as uint64), time, and index in the input.
  std::vector<int64_t> prefix_bits;
  std::vector<Timestamp> times;
  std::vector<uint32_t> indexes;
  JoinOptions options;  // its known-at mode
  // Arrays of size() the sort used and no longer needs (their contents are not kept): the
  // join's matched times take them rather than fresh pages.
  std::vector<std::vector<int64_t>> done_with;

  size_t size() const { return indexes.size(); }
  uint64_t prefix(size_t j) const { return static_cast<uint64_t>(prefix_bits[j]); }
  Timestamp known_at(size_t j) const { return KnownAtOf(options, times[j]); }
  // <0, 0, >0 as the label at sorted position j's key is below, equal to, above the row key.
  int Compare(size_t j, uint64_t row_prefix, std::string_view row_key) const {
    if (prefix(j) != row_prefix) return prefix(j) < row_prefix ? -1 : 1;
    if (exact) return 0;
    return std::string_view(encoded[indexes[j]]).compare(row_key);
  }
};

// A radix sort by prefix (stable, so input order breaks ties), then each prefix's labels by the
// rest of the key and time.
SortedLabels SortLabels(const JoinLabels& labels, const JoinOptions& options);

// A join's result made by sorted position put in label order: row sorted->indexes[j] of each
// of out's arrays (status, times, columns) := row j of by_position's, an array at a time on
// `threads` threads (by_position and sorted's arrays are consumed, the latter's storage reused
// for out's; out->plan is left alone).
void PutInLabelOrder(JoinResult& by_position, SortedLabels* sorted, int threads, JoinResult* out);

}  // namespace pitstore
