// Store: an embedded, bitemporal feature store in one data file (NAME.pit) with a rebuildable
// LMDB index beside it (NAME.pit-index, plus LMDB's NAME.pit-index-lock).
//
// ## Semantics (the contract every read path keeps)
// A row of a feature view is (entity key, event_ts, system_ts, nullable feature values).
// event_ts is when the values were true; system_ts is when the store learned them: the commit
// time unless the row supplies one. Rows are totally ordered per key by
// (event_ts, system_ts, ingest order): a later row with the same (key, event_ts) is a correction
// that wins for readers who know it, and rows equal in both times are ordered by ingest (a later
// commit, or a later row in the same batch, wins).
//
//  AsOf(key, t, K):  among rows with event_ts <= t and system_ts <= K, the greatest in that
//                    order. None if the view has a TTL and t - event_ts > ttl (status kExpired).
//                    K = kMaxTimestamp means "everything stored".
//  Latest(key):      AsOf(key, +inf, +inf) without TTL, served from the index in one B-tree
//                    read. If the view has a TTL and now - event_ts > ttl by the reader's clock
//                    (ReadOptions::now) the values are withheld with status kExpired, like
//                    Feast's OUTSIDE_MAX_AGE. A late-arriving older row never replaces it.
//  History(key, from, to, K): every row with from <= event_ts <= to and system_ts <= K, in
//                    order, including superseded versions. A row identical to a later one in
//                    both times and every value (which shadows it for every other read) is
//                    dropped by the first merge holding both; until then History shows both.
// Values are never filled from an older row: a null in the winning row reads null.
//
// ## Durability
// Append writes the batch's blocks and a commit record to the end of the data file, fdatasyncs
// it (WriteOptions::sync), then publishes it to the index. After a crash a torn tail is detected
// by checksums and ignored; the index is brought up to date from the data file on the next
// read-write open. A commit that returned OK with sync survives kill -9 and power loss.
//
// ## Thread safety and processes
// A Store may be used from many threads: reads run concurrently; writes (Append, Define*,
// Compact, Vacuum, RebuildIndex) are serialized. One process at a time may open a store
// read-write (a second gets Busy at once); any number may open it read-only and see each commit
// once it is published. Do not use a Store across fork(). Close every Snapshot before the Store.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "pitstore/aggregation.h"
#include "pitstore/export.h"
#include "pitstore/feature_stats.h"
#include "pitstore/join.h"
#include "pitstore/options.h"
#include "pitstore/status.h"
#include "pitstore/types.h"
#include "pitstore/write_batch.h"

namespace pitstore {

enum class ValueStatus : uint8_t {
  kPresent = 0,   // the row exists and the value is non-null
  kNull = 1,      // the row exists and the value is null
  kNotFound = 2,  // no row for this key (at this time / knowledge)
  kExpired = 3,   // the row is older than the view's TTL; the value is withheld (null)
};
PITSTORE_EXPORT const char* ValueStatusName(ValueStatus status);

// The answer to Latest and AsOf for one key.
struct Lookup {
  bool found = false;               // a row matched (it may still be expired)
  Timestamp event_ts = 0;           // of the matched row, when found
  Timestamp system_ts = 0;          // of the matched row, when found
  std::vector<Value> values;        // one per requested feature
  std::vector<ValueStatus> status;  // one per requested feature
};

// One stored version of a row.
struct VersionedRow {
  Timestamp event_ts = 0;
  Timestamp system_ts = 0;
  std::vector<Value> values;  // one per requested feature
};

struct CommitInfo {
  uint64_t commit_seq = 0;  // increases by one per commit of the data file
  Timestamp commit_ts = 0;  // system_ts given to rows that supplied none
  uint64_t rows = 0;
  // OK, or why an automatic merge failed (the commit itself succeeded): the merge this commit
  // ran, or, with Options::background_merges, the last background merge not reported yet.
  Status merge;
};

struct StoreStats {
  struct View {
    std::string name;
    uint64_t rows = 0;          // live rows (all versions)
    uint64_t row_blocks = 0;    // row batches not yet merged
    uint64_t segments = 0;      // columnar segments
    uint64_t stored_bytes = 0;  // bytes of live blocks in the data file
    uint64_t raw_bytes = 0;     // the same rows uncompressed
    uint64_t entities = 0;      // distinct keys
    Timestamp min_event_ts = kMaxTimestamp, max_event_ts = kMinTimestamp;
    Timestamp max_system_ts = kMinTimestamp;  // when the view last learned something (freshness)
  };
  uint64_t file_bytes = 0;  // size of NAME.pit
  uint64_t live_bytes = 0;  // bytes Vacuum would keep
  uint64_t commit_seq = 0;
  // The data file header's required feature bits (format/FORMAT.md 1.3): 1 when its
  // segments may have time chunks with restart points (files made on 2026-12-06), 2 when their
  // keys of one int64 may be written as differences, 4 when their time chunks may be frames (a
  // file made now has 2 and 4: 6); older files keep their layout until a copy or vacuum.
  uint64_t required_features = 0;
  std::vector<View> views;
  // What merges (automatic ones and Compact) did since the index was built (a vacuum carries
  // the counts across; an index rebuild starts them over): rows and stored bytes in and out,
  // and time spent, in total and for the last merge.
  struct Merges {
    uint64_t count = 0, rows_in = 0, rows_out = 0, bytes_in = 0, bytes_out = 0, micros = 0;
    Timestamp last_at = 0;
    uint64_t last_rows_in = 0, last_bytes_in = 0, last_bytes_out = 0, last_micros = 0;
  } merges;
};

// One block of a view in the data file, as Store::ListBlocks describes it.
struct BlockInfo {
  uint64_t offset = 0;   // of the block in the data file
  bool segment = false;  // a columnar segment; else a row batch
  uint64_t rows = 0;
  uint64_t pages = 0;  // segments: pages of page_rows rows (the last may be shorter)
  uint64_t page_rows = 0;
  uint64_t stored_bytes = 0;  // in the file, header included
  uint64_t raw_bytes = 0;     // the same rows uncompressed
  Timestamp min_event_ts = 0, max_event_ts = 0;
};

struct VerifyReport {
  uint64_t blocks_checked = 0;
  uint64_t rows_checked = 0;
  uint64_t index_entries_checked = 0;
  // Normal states after a writer stopped (killed) mid-commit, or beside a running one, not
  // damage: transactions durable in the data file but not yet in the index (readers see them;
  // the next read-write open publishes them), and an incomplete last transaction (a write cut
  // short; the next read-write open removes it).
  uint64_t pending_transactions = 0;
  uint64_t pending_bytes = 0;
  std::string torn_tail;              // empty, or what is incomplete
  std::vector<std::string> problems;  // empty: the store is sound
  bool ok() const { return problems.empty(); }
};

// A consistent read view: every read through it sees the same committed state, whatever is
// committed meanwhile. Holds an LMDB read transaction: keep it short-lived, as a long-lived one
// makes the index file grow while writers commit. Must be destroyed before its Store.
class PITSTORE_EXPORT Snapshot {
 public:
  virtual ~Snapshot() = default;
  virtual uint64_t commit_seq() const = 0;
};

class PITSTORE_EXPORT Store {
 public:
  // Opens or creates the store at `path` (the data file; the index is path + "-index").
  static Result<std::unique_ptr<Store>> Open(const std::string& path, const Options& options = {});
  virtual ~Store() = default;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // ---- definitions (each one commit) ----
  // Creates an entity; re-defining an identical one is OK, a different one AlreadyExists.
  virtual Status DefineEntity(const EntityDef& entity) = 0;
  // Creates a view, or evolves an existing one compatibly: new features appended at the end,
  // new description/tags/owner/TTL/columns. A changed entity list or feature type, or a removed
  // or reordered feature, is InvalidArgument and changes nothing.
  virtual Status DefineView(const FeatureViewDef& view) = 0;
  // Applies many definitions in one commit: all of them or, on any error, none. Entities are
  // applied before views and views before services, so each may use what the same call defines.
  // Same rules as DefineEntity and DefineView; a service is created or replaced as given (it is
  // metadata only) and every "view:feature" it lists must exist. Definitions identical to the
  // stored ones change nothing. Aggregation views come last: their source view, columns and
  // functions are checked (aggregation.h), and one is created or replaced as given (nothing is
  // stored per aggregate, so a new window applies to all history at once). On-demand views
  // after them: each expression is compiled against the views and aggregation views as they
  // will be (pitstore/expression.h; an error names the view, the feature and the column in the
  // expression) and its result type recorded. `changes` (optional)
  // receives one line per change ("create view 'x'", ...).
  virtual Status Apply(const Definitions& definitions, std::vector<std::string>* changes = nullptr) = 0;
  // What Apply would do, without doing it (also on a read-only store): the same `changes`, and
  // the same error for definitions Apply would refuse.
  virtual Status Plan(const Definitions& definitions, std::vector<std::string>* changes) = 0;
  Status Apply(const std::vector<EntityDef>& entities, const std::vector<FeatureViewDef>& views,
               std::vector<std::string>* changes = nullptr) {
    return Apply(Definitions{entities, views, {}, {}, {}}, changes);
  }
  // A feature view, or an aggregation view as readers see it (the source's entities, one
  // feature per aggregate, with its output type).
  virtual Result<FeatureViewDef> GetView(const std::string& name) = 0;
  virtual Result<EntityDef> GetEntity(const std::string& name) = 0;
  virtual Result<FeatureServiceDef> GetService(const std::string& name) = 0;
  // The names defined, in definition order. An error (a damaged registry, a file rewritten by
  // another process) is returned, never an empty list in its place.
  virtual Result<std::vector<std::string>> ListViews() = 0;  // feature views
  virtual Result<AggregationViewDef> GetAggregationView(const std::string& name) = 0;
  virtual Result<std::vector<std::string>> ListAggregationViews() = 0;
  // On-demand views (types.h): their features with the result types Apply found. Reads of
  // their features go through the workflow library (online_features.h, joiner.h), which
  // evaluates them; the engine's reads refuse their names as unknown views.
  virtual Result<OnDemandViewDef> GetOnDemandView(const std::string& name) = 0;
  virtual Result<std::vector<std::string>> ListOnDemandViews() = 0;
  virtual Result<std::vector<std::string>> ListEntities() = 0;
  virtual Result<std::vector<std::string>> ListServices() = 0;

  // ---- writes ----
  // Validates and commits every row of `batch` to `view` atomically. Any bad row (wrong key
  // arity or type, wrong value type, vector of the wrong length, empty key) fails the whole
  // batch with InvalidArgument naming the row and column; nothing is written. Any error means
  // nothing of the batch was committed (an IOError when the disk or the index map is full:
  // the file is back at its last commit). Success means committed, and durable unless
  // WriteOptions::sync is false. The merge of the tail that may follow the commit (see
  // Options::auto_flush_row_blocks) never turns a commit into an error: if it fails, the
  // commit stands, CommitInfo::merge says why, and the next commit or Compact() tries again.
  // With Options::background_merges (the default) that merge runs on the store's own thread
  // while later commits go on; readers see its segments once it is published, whole.
  virtual Result<CommitInfo> Append(const std::string& view, const WriteBatch& batch,
                                    const WriteOptions& options = {}) = 0;

  // ---- reads; `features` empty means every feature of the view, in order ----
  // Latest, LatestInto, LatestBatch, AsOf and AsOfJoin also read aggregation views (by name):
  // AsOf(key, t, K) and each join label give the aggregates at t knowing K; latest gives them at
  // the reader's clock (ReadOptions::now) knowing everything. History and Scan refuse them.
  virtual Result<Lookup> Latest(const std::string& view, const EntityKey& key,
                                const std::vector<std::string>& features = {}, const ReadOptions& options = {}) = 0;
  // Latest into a caller-owned Lookup whose buffers are reused across calls: the serving hot
  // path, allocation-free once `out` has grown to the view's width.
  virtual Status LatestInto(const std::string& view, const EntityKey& key, Lookup* out,
                            const std::vector<std::string>& features = {}, const ReadOptions& options = {}) = 0;
  // One lookup per key, in the order given, from one consistent state.
  virtual Result<std::vector<Lookup>> LatestBatch(const std::string& view, const std::vector<EntityKey>& keys,
                                                  const std::vector<std::string>& features = {},
                                                  const ReadOptions& options = {}) = 0;
  // LatestBatch into caller-owned lookups (resized to keys.size()) whose buffers are reused
  // across calls: the batch serving path, allocation-free once they have grown. On error `out`
  // holds no answer to rely on.
  virtual Status LatestBatchInto(const std::string& view, const std::vector<EntityKey>& keys, std::vector<Lookup>* out,
                                 const std::vector<std::string>& features = {}, const ReadOptions& options = {}) = 0;
  virtual Result<Lookup> AsOf(const std::string& view, const EntityKey& key, Timestamp t,
                              Timestamp known_at = kMaxTimestamp, const std::vector<std::string>& features = {},
                              const ReadOptions& options = {}) = 0;
  virtual Result<std::vector<VersionedRow>> History(const std::string& view, const EntityKey& key,
                                                    Timestamp from = kMinTimestamp, Timestamp to = kMaxTimestamp,
                                                    Timestamp known_at = kMaxTimestamp,
                                                    const std::vector<std::string>& features = {},
                                                    const ReadOptions& options = {}) = 0;
  // Every stored version of the view with system_ts <= known_at, in (key, event_ts, system_ts,
  // ingest) order, from one consistent state: visit(key, row) per row until it returns false.
  // Reads one page per block at a time (memory stays bounded whatever the view's size) and
  // leaves the block cache alone.
  using ScanVisitor = std::function<bool(const EntityKey& key, const VersionedRow& row)>;
  virtual Status Scan(const std::string& view, const ScanVisitor& visit, Timestamp known_at = kMaxTimestamp,
                      const std::vector<std::string>& features = {}, const ReadOptions& options = {}) = 0;
  // A point-in-time join of `labels` against one view (see join.h for the contract): for each
  // label row the values AsOf(key, t, K) returns, in one pass, from one consistent state.
  // InvalidArgument when the key columns do not match the view's join keys.
  virtual Result<JoinResult> AsOfJoin(const std::string& view, const JoinLabels& labels,
                                      const std::vector<std::string>& features = {}, const JoinOptions& join = {},
                                      const ReadOptions& options = {}) = 0;
  // Windowed aggregates (aggregation.h) of one key at time t, knowing the rows with system_ts <=
  // known_at: one value per aggregate, in order, status kPresent or kNull. found: the key has an
  // event in the widest window (event_ts and system_ts are then the newest one's).
  // InvalidArgument for an unknown column, a window <= 0 or a function the column's type lacks.
  virtual Result<Lookup> AggregateAt(const std::string& view, const EntityKey& key, Timestamp t, Timestamp known_at,
                                     const std::vector<WindowAggregate>& aggregates,
                                     const ReadOptions& options = {}) = 0;
  // The same for every label of a join (join.h's labels and known-at modes): one column per
  // aggregate, one row per label in label order, each equal to AggregateAt(key, t, K). status is
  // kPresent when the widest window holds an event, else kNotFound (counts still read 0).
  virtual Result<JoinResult> AggregateJoin(const std::string& view, const JoinLabels& labels,
                                           const std::vector<WindowAggregate>& aggregates, const JoinOptions& join = {},
                                           const ReadOptions& options = {}) = 0;
  virtual Result<std::unique_ptr<Snapshot>> GetSnapshot() = 0;

  // ---- maintenance ----
  // Memory of Compact, Vacuum, CopyTo, RebuildIndex and Verify does not grow with the rows of a
  // view: they read a page per block at a time (row batches whole) and write a segment a few
  // pages at a time. What grows with its keys: the index write transaction of a merge or a
  // rebuild, whose rewritten `latest` entries stay in memory until it commits (about 180 bytes
  // a key).
  //
  // Merges row batches and small segments (with full: all segments) of every view into sorted
  // columnar segments, then rewrites the latest table in key order so its pages are full.
  // Readers see the same rows before and after.
  virtual Status Compact(const CompactOptions& options = {}) = 0;
  // Returns once no automatic merge is queued or running (Options::background_merges), with
  // why the last background merge failed if no commit has reported it yet (else OK).
  virtual Status WaitForMerges() = 0;
  // Erasure: removes every version of each key in `keys` from `view` (a person's right to be
  // forgotten) and returns the count of rows removed. Not a correction: no reader sees the rows
  // again, whatever its known-at (snapshots taken before the call keep theirs until released);
  // rows appended later for the same key are stored as usual. The blocks holding the keys are
  // rewritten without them in one synced commit; their old bytes stay in the data file, unread,
  // until Vacuum rewrites the file (then no byte of them remains). Copies made before are
  // separate files the store cannot reach.
  virtual Result<uint64_t> Delete(const std::string& view, const std::vector<EntityKey>& keys) = 0;
  // Removes a feature view and every row of it (two synced commits: the rows, then the
  // definition; a crash between leaves the view defined and empty). Refused while a feature
  // service lists one of its features. Its id is never reused: a view defined later under the
  // same name starts empty. The rows' bytes leave the data file at the next Vacuum.
  virtual Status DropView(const std::string& view) = 0;
  // Removes one feature from a view (one synced commit): reads, joins, writes and definitions no
  // longer see it, and its values read as gone at once; merges write its stored values as
  // null, so they leave the data file at the next `Compact(full)` then `Vacuum` (a compacted
  // copy leaves them out at once). Its stored index is never reused: a feature defined later
  // under the same name is a new one, empty. Refused while a feature service lists it, and for
  // a view's only feature (drop the view).
  virtual Status DropFeature(const std::string& view, const std::string& feature) = 0;
  // Rewrites the data file without superseded blocks (atomically, by rename), then rebuilds the
  // index. Busy while snapshots are open.
  virtual Status Vacuum() = 0;
  // Writes a compacted copy of one consistent state to a new data file `dest` (AlreadyExists
  // if it exists) and builds its index, so the copy can be shipped and opened read-only.
  // Atomic: written as `dest`.partial and linked to `dest` only when complete, so a copy that
  // fails or is killed leaves no `dest`. Works on a read-only store too.
  virtual Status CopyTo(const std::string& dest) = 0;
  // Drops the index and rebuilds it from the data file.
  virtual Status RebuildIndex() = 0;
  // Reads every block and checksum, and checks every index entry against the data file.
  virtual Result<VerifyReport> Verify() = 0;
  virtual Result<StoreStats> Stats() = 0;
  // The live blocks of a view, in file order.
  virtual Result<std::vector<BlockInfo>> ListBlocks(const std::string& view) = 0;
  // Each feature's statistics (count, nulls, min, max, mean, standard deviation, a quantile
  // sketch: pitstore/feature_stats.h) over the stored versions `options` selects, from one
  // consistent state. Segments keep them in their footers: a view compacted into segments is
  // summarized from its footers alone, whatever its size.
  virtual Result<std::vector<FeatureSummary>> Summarize(const std::string& view, const SummarizeOptions& options = {},
                                                        const ReadOptions& read = {}) = 0;

 protected:
  Store() = default;
};

}  // namespace pitstore
