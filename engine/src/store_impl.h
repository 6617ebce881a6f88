// StoreImpl: the store behind pitstore/store.h. Its parts live in one file each:
//   store_open.cc      opening, the current state (file, registry) and snapshots of it
//   store_recovery.cc  reading transactions back: recovery, index rebuilds
//   store_write.cc     the write path: batches into rows, transactions written and published
//   store_schema.cc    definitions: entities, views, services
//   store_merge.cc     merges: compaction, erasures, dropping a view's rows
//   store_background.cc automatic merges on a thread of their own, beside commits
//   store_vacuum.cc    vacuum and copy (compacted rewrites of the file)
//   store_blocks.cc    the block reader and its cache: row batches, segment footers and pages
//   store_read.cc      point reads: latest, as-of, history
//   store_tail.cc      the tail index: the unmerged row batches' latest versions, in memory
//   store_scan.cc      scans and joins over a view, block listings
//   store_verify.cc    statistics and verification
//   store_summary.cc   feature statistics (footers merged, the rest read)
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "as_of_join.h"
#include "block_cache.h"
#include "data_file.h"
#include "index.h"
#include "key_codec.h"
#include "key_filter.h"
#include "loser_tree.h"
#include "mutex.h"
#include "open_stores.h"
#include "pitstore/env.h"
#include "pitstore/store.h"
#include "registry.h"
#include "run.h"
#include "segment_writer.h"
#include "snapshot.h"
#include "store_format.h"
#include "transaction.h"
#include "window_aggregate.h"

namespace pitstore {

// 16 random bytes naming one data file; a vacuumed copy gets a new one.
std::string NewFileId(Env* env);

// The `blocks` index entry of a data block of a transaction.
inline BlockEntry BlockEntryOf(const TxnBlock& b) {
  const Run& run = *b.run;
  BlockEntry be;
  be.offset = b.offset;
  be.type = b.type;
  be.view_id = run.view_id;
  be.rows = static_cast<uint32_t>(run.size());
  be.stored_bytes = b.end - b.offset;
  be.raw_bytes = run.LogicalBytes();
  be.min_event_ts = run.size() ? *std::min_element(run.event_ts.begin(), run.event_ts.end()) : 0;
  be.max_event_ts = run.size() ? *std::max_element(run.event_ts.begin(), run.event_ts.end()) : 0;
  return be;
}

// Where one key's rows sit in one segment: rows [first, first + count), in version order, found
// from the segment's page keys (FindInSegment). min_system_ts bounds the rows' system times
// from below (exact when they share one page, else the segment's).
struct KeyRange {
  uint64_t block = 0;
  uint32_t first = 0;
  uint32_t count = 0;
  int64_t min_event_ts = 0;
  int64_t max_event_ts = 0;
  int64_t min_system_ts = 0;
  // What FindInSegment read to find the range, so the read that follows need not look it up
  // again: the footer, and the pages holding the key's first and last rows. first_page may hold
  // the key's rows alone (StoreImpl::GetSegmentPageKey): its row 0 is then row first_page_row of
  // its page, not 0.
  std::shared_ptr<const SegmentLayout> layout;
  std::shared_ptr<const Run> first_page, last_page;
  uint32_t first_page_row = 0;
};

// t - event_ts > ttl, without overflow.
inline bool OutsideTtl(int64_t ttl, Timestamp t, Timestamp event_ts) {
  return ttl > 0 && static_cast<__int128>(t) - event_ts > ttl;
}

constexpr uint32_t kMaxRowsPerRowBlock = 1u << 20;

// Sets the values of the view's dropped features in rows [begin, end) of `run` to null (merges
// write them so, and the values leave the data file at the next vacuum).
void ClearDroppedFeatures(const ViewInfo& v, Run* run, size_t begin, size_t end);

// Where a merge (StoreImpl::MergeStream) puts its rows, key by key: each key's rows are appended
// to rows(), then KeyDone; a segment ends (SegmentDone) at the end of the key that takes it to
// segment_max_rows rows (StoreImpl::SegmentFull), and at the merge's end.
class MergeOutput {
 public:
  virtual ~MergeOutput() = default;
  // Where the next key's rows go (after SegmentDone, maybe another Run).
  virtual Run& rows() = 0;
  // Rows of the segment being made, written or not.
  virtual uint64_t segment_rows() const = 0;
  // The key whose rows are the last of rows() is complete; `segments_left`: how many input
  // segments (not row batches) held it.
  virtual Status KeyDone(uint32_t segments_left) = 0;
  virtual Status SegmentDone() = 0;
  // True when KeyDone does not read rows(): the merge may then append several keys' rows at
  // once, a column at a time (before SegmentDone, which sees them all).
  virtual bool rows_read_at_segment_end() const { return false; }
};

// How segments written into `file` are encoded: the options' page size and zstd level, and
// time chunks with restarts or as frames, and int64 key differences, where the file's header
// requires them.
inline PageFormat PageFormatFor(const Options& options, const DataFile& file) {
  const uint64_t required = file.required_features();
  return {options.segment_page_rows, options.segment_zstd_level, (required & kFeatureDeltaRestarts) != 0,
          (required & kFeatureInt64KeyRuns) != 0, (required & kFeatureTimeFrames) != 0};
}

// A MergeOutput whose segments a SegmentWriter writes a few pages at a time, each at `end` (which
// a subclass's SegmentDone moves past the segment it finished).
class WrittenSegments : public MergeOutput {
 public:
  WrittenSegments(DataFile& file, const uint64_t& end, const ViewInfo& v, const Options& options, unsigned threads)
      : file_(file), end_(end), v_(v), options_(options), threads_(threads) {}
  Run& rows() override {
    if (!writer_) writer_.emplace(file_, end_, v_.id, v_.types, PageFormatFor(options_, file_), threads_);
    return writer_->pending();
  }
  uint64_t segment_rows() const override { return writer_ ? writer_->rows() : 0; }

 protected:
  SegmentWriter& writer() { return *writer_; }
  // Writes the rest of the segment being made; its index entry.
  Result<BlockEntry> FinishSegment() {
    Result<BlockEntry> e = writer_->Finish();
    writer_.reset();
    return e;
  }

 private:
  DataFile& file_;
  const uint64_t& end_;
  const ViewInfo& v_;
  const Options& options_;
  const unsigned threads_;
  std::optional<SegmentWriter> writer_;
};

// The state every read starts from: the data file, its id and registry; while Vacuum rebuilds
// the index of a new file, the file it replaced (index transactions begun before the rebuild
// still name it).
struct StoreState {
  std::shared_ptr<DataFile> file;
  std::string file_id;
  std::shared_ptr<const Registry> registry;  // the file's current registry (null while unknown)
  uint64_t registry_offset = 0;              // where its block is
  std::shared_ptr<DataFile> previous_file;
  std::string previous_file_id;
  // The unmerged row batches' greatest version per key (tail_index.h); the writer adds to it
  // under write_mu_. Null until built (a read-only store builds it at its first read).
  std::shared_ptr<TailIndex> tail;
};

class StoreImpl : public Store {
 public:
  StoreImpl(std::string path, Options options)
      : path_(std::move(path)),
        options_(options),
        env_(options.env ? options.env : Env::Default()),
        cache_(options.block_cache_bytes) {}
  ~StoreImpl() override {
    StopBackgroundMerges();
    if (index_ && !options_.read_only) (void)index_->ForceSync();
  }

  Status Init();

  Status DefineEntity(const EntityDef& entity) override;
  Status DefineView(const FeatureViewDef& view) override;
  using Store::Apply;
  Status Apply(const Definitions& definitions, std::vector<std::string>* changes) override;
  Status Plan(const Definitions& definitions, std::vector<std::string>* changes) override;
  Result<FeatureViewDef> GetView(const std::string& name) override;
  Result<EntityDef> GetEntity(const std::string& name) override;
  Result<FeatureServiceDef> GetService(const std::string& name) override;
  Result<std::vector<std::string>> ListServices() override;
  Result<AggregationViewDef> GetAggregationView(const std::string& name) override;
  Result<std::vector<std::string>> ListAggregationViews() override;
  Result<OnDemandViewDef> GetOnDemandView(const std::string& name) override;
  Result<std::vector<std::string>> ListOnDemandViews() override;
  Result<std::vector<std::string>> ListViews() override;
  Result<std::vector<std::string>> ListEntities() override;
  Result<CommitInfo> Append(const std::string& view, const WriteBatch& batch, const WriteOptions& options) override;
  Result<Lookup> Latest(const std::string& view, const EntityKey& key, const std::vector<std::string>& features,
                        const ReadOptions& options) override;
  Status LatestInto(const std::string& view, const EntityKey& key, Lookup* out,
                    const std::vector<std::string>& features, const ReadOptions& options) override;
  Result<std::vector<Lookup>> LatestBatch(const std::string& view, const std::vector<EntityKey>& keys,
                                          const std::vector<std::string>& features,
                                          const ReadOptions& options) override;
  Status LatestBatchInto(const std::string& view, const std::vector<EntityKey>& keys, std::vector<Lookup>* out,
                         const std::vector<std::string>& features, const ReadOptions& options) override;
  Result<Lookup> AsOf(const std::string& view, const EntityKey& key, Timestamp t, Timestamp known_at,
                      const std::vector<std::string>& features, const ReadOptions& options) override;
  Result<std::vector<VersionedRow>> History(const std::string& view, const EntityKey& key, Timestamp from, Timestamp to,
                                            Timestamp known_at, const std::vector<std::string>& features,
                                            const ReadOptions& options) override;
  Result<std::unique_ptr<Snapshot>> GetSnapshot() override;
  Status Compact(const CompactOptions& options) override;
  Status WaitForMerges() override;
  Result<uint64_t> Delete(const std::string& view, const std::vector<EntityKey>& keys) override;
  Status DropView(const std::string& view) override;
  Status DropFeature(const std::string& view, const std::string& feature) override;
  Status Vacuum() override;
  Status CopyTo(const std::string& dest) override;
  Status RebuildIndex() override;
  Result<VerifyReport> Verify() override;
  Result<StoreStats> Stats() override;
  Result<std::vector<BlockInfo>> ListBlocks(const std::string& view) override;
  Result<std::vector<FeatureSummary>> Summarize(const std::string& view, const SummarizeOptions& options,
                                                const ReadOptions& read) override;
  Status Scan(const std::string& view, const ScanVisitor& visit, Timestamp known_at,
              const std::vector<std::string>& features, const ReadOptions& options) override;
  Result<JoinResult> AsOfJoin(const std::string& view, const JoinLabels& labels,
                              const std::vector<std::string>& features, const JoinOptions& join,
                              const ReadOptions& options) override;
  Result<Lookup> AggregateAt(const std::string& view, const EntityKey& key, Timestamp t, Timestamp known_at,
                             const std::vector<WindowAggregate>& aggregates, const ReadOptions& options) override;
  Result<JoinResult> AggregateJoin(const std::string& view, const JoinLabels& labels,
                                   const std::vector<WindowAggregate>& aggregates, const JoinOptions& join,
                                   const ReadOptions& options) override;

 private:
  int64_t NowMicros() const { return env_->NowMicros(); }
  Timestamp NowOr(const ReadOptions& options) const {
    return options.now != kMinTimestamp ? options.now : env_->NowMicros();
  }

  // ---- reading ----
  // Where Vacuum keeps the data file it replaces linked until the new one is indexed, so that
  // readers in other processes can read on meanwhile.
  std::string PreviousFilePath() const;
  // A read-only store follows a vacuum of another process: opens the file at the path, or the
  // one the vacuum replaced, whichever has `file_id`, and makes it current. False: neither.
  Result<bool> AdoptFile(const std::string& file_id) REQUIRES(write_mu_);
  // Begins an index read transaction and collects the state it names; on a read-only store,
  // with the transactions a stopped writer left unpublished (`with_pending`, see PendingTail).
  // `need_tail`: the snapshot comes with a TailIndex that covers it (building or catching one
  // up first on a read-only store); false only for the code that builds it.
  Result<SnapshotParts> BeginSnapshot(bool with_pending = true, bool need_tail = true);
  // A new TailIndex of the snapshot's live row batches (CatchUpTail: the current one extended
  // by the batches it lacks, where none it holds was merged away), published as current.
  Status ResetTail(SnapshotImpl& s) REQUIRES(write_mu_);
  Status CatchUpTail(SnapshotImpl& s) REQUIRES(write_mu_);
  // The writer's: from a fresh snapshot.
  Status ResetTail() REQUIRES(write_mu_);
  // Makes `tail` current and retires the one it replaces (readers starting now take the new).
  void PublishTail(std::shared_ptr<TailIndex> tail) REQUIRES(write_mu_);
  // The unpublished transactions after `meta`'s applied offset, when no writer is active (else,
  // or when there are none, null). Looked for again at most every 50 ms, and whenever the index
  // moves on.
  Result<std::shared_ptr<const PendingTail>> PendingAfter(DataFile& file, const IndexMeta& meta,
                                                          std::shared_ptr<const Registry> reg);
  Result<std::shared_ptr<const PendingTail>> LoadPendingTail(DataFile& file, const IndexMeta& meta,
                                                             std::shared_ptr<const Registry> reg);
  // The snapshot's live blocks: the index's, then the pending tail's row batches.
  Status SnapshotBlocks(SnapshotImpl& s, std::vector<BlockEntry>* out);
  Result<std::unique_ptr<SnapshotImpl>> NewSnapshot();
  // Runs fn with the caller's snapshot or a fresh one.
  template <typename Fn>
  auto WithSnapshot(const ReadOptions& options, Fn&& fn) -> decltype(fn(std::declval<SnapshotImpl&>()));
  // The registry block at offset of `file` (the current version's, or a reader's cached one,
  // or read now).
  Result<std::shared_ptr<const Registry>> RegistryAt(const DataFile& file, uint64_t offset);
  // The writer's registry: changed only by commits of this process (and Init).
  Status LoadCurrentRegistry() REQUIRES(write_mu_);
  // The data file and its id, as readers must see them: Vacuum swaps both.
  // The state readers start from, published whole (see StoreState).
  std::shared_ptr<const StoreState> Current() const EXCLUDES(state_mu_) {
    MutexLock lock(state_mu_);
    return state_;
  }
  void Publish(StoreState next) REQUIRES(write_mu_) EXCLUDES(state_mu_) {
    auto published = std::make_shared<const StoreState>(std::move(next));
    MutexLock lock(state_mu_);
    state_ = std::move(published);
  }
  // The current version with another registry.
  void PublishRegistry(std::shared_ptr<const Registry> registry, uint64_t offset) REQUIRES(write_mu_);
  // A whole data block decoded (row batches are cached; segments are not: merges only).
  Result<std::shared_ptr<const Run>> GetRun(SnapshotImpl& s, uint64_t offset);
  // The rows a key range names, as spans of the cached segment pages that hold them.
  // Checks that every row belongs to the key.
  struct RowSpan {
    std::shared_ptr<const Run> run;
    size_t begin, end;
  };
  // A key's rows in one segment (a KeyRange), page by page. The rows are in version order, so
  // pages can be found by event time with a binary search, one page read per step.
  class KeyPages {
   public:
    // With `only`, its pages hold those feature columns alone (GetSegmentPage).
    Status Open(StoreImpl& store, SnapshotImpl& s, std::string_view key, const KeyRange& e,
                const std::vector<int>* only = nullptr);
    size_t first_page() const { return first_page_; }
    size_t last_page() const { return last_page_; }
    // The key's rows on `page` (Corruption if they are not the key's).
    Result<RowSpan> Page(size_t page);
    // The last page whose first row of the key has event_ts <= t (first_page() if none).
    Result<size_t> LastPageStartingBy(Timestamp t);
    // The first page whose last row of the key has event_ts >= from (last_page() if none).
    Result<size_t> FirstPageEndingFrom(Timestamp from);

   private:
    StoreImpl* store_ = nullptr;
    SnapshotImpl* snap_ = nullptr;
    std::string_view key_;
    const std::vector<int>* only_ = nullptr;
    KeyRange loc_{};
    std::shared_ptr<const SegmentLayout> layout_;
    size_t first_page_ = 0, last_page_ = 0;
  };
  // The key's rows of range `e` on pages that may hold event times in [from, to].
  Status ReadRows(SnapshotImpl& s, std::string_view key, const KeyRange& e, Timestamp from, Timestamp to,
                  std::vector<RowSpan>* out, const std::vector<int>* only = nullptr);
  // The greatest version of the key in range `e` with event_ts <= t and system_ts <=
  // known_at, if greater than *best_run's *best_row (or there is none yet).
  Status BestInSegment(SnapshotImpl& s, std::string_view key, const KeyRange& e, Timestamp t, Timestamp known_at,
                       std::shared_ptr<const Run>* best_run, size_t* best_row, const std::vector<int>* only = nullptr);
  // The key's rows in the live segment `block`: false when it holds none (its key range, filter
  // or page keys rule the key out, or the pages found lack it). `hash` is KeyFilterHash(key).
  Result<bool> FindInSegment(SnapshotImpl& s, uint64_t block, std::string_view key, uint64_t hash, KeyRange* out,
                             const std::vector<int>* only = nullptr);
  // The key's rows in each live segment of its view whose event times overlap [from, to],
  // checked against its latest entry's segment count (CheckSegmentCount).
  Status LiveLocations(SnapshotImpl& s, const std::string& lkey, std::vector<KeyRange>* out,
                       const std::vector<int>* only = nullptr, Timestamp from = kMinTimestamp,
                       Timestamp to = kMaxTimestamp);
  // Corruption unless the key's latest entry counts (`expected`, 0 without an entry) between
  // `found` (segments found holding it) and found + `unprobed` (segments not read whose filters
  // admit it).
  Status CheckSegmentCount(uint32_t expected, size_t found, size_t unprobed);
  // Whether segment `block` may hold the key, by its footer's key range and filter (no page).
  Result<bool> SegmentMayHold(SnapshotImpl& s, uint64_t block, std::string_view key, uint64_t hash);
  // The key's rows in row batches not merged yet whose event times overlap [from, to].
  Status TailSpans(SnapshotImpl& s, const std::string& lkey, Timestamp from, Timestamp to, std::vector<RowSpan>* out);
  // The footer of the segment at offset, read once and cached.
  Result<std::shared_ptr<const SegmentLayout>> GetSegmentLayout(SnapshotImpl& s, uint64_t offset);
  // One page of the segment at `block`, from the cache or the file (then cached if `cache`).
  // With `only`, a page of those feature columns alone (DecodeSegmentPage), cached apart from
  // whole pages; a whole page in the cache serves it.
  Result<std::shared_ptr<const Run>> GetSegmentPage(SnapshotImpl& s, uint64_t block, const SegmentLayout& l,
                                                    size_t page, bool cache, const std::vector<int>* only = nullptr);
  // A page for a join, from the cache or the file (not cached then): the `only` features, and
  // its keys into *keys as runs. A page decoded from the file leaves the run's own `keys`
  // empty, and without `seq` has every row's seq 0 (DecodeSegmentPage); a cached page keeps
  // its key a row and its seq.
  Result<std::shared_ptr<const Run>> GetSegmentPageKeyRuns(SnapshotImpl& s, uint64_t block, const SegmentLayout& l,
                                                           size_t page, const std::vector<int>& only, KeyRuns* keys,
                                                           bool seq);
  // The rows of `key` on one page of the segment at `block`, alone (DecodeSegmentPageKey), read
  // from the file and not cached; *first_row is the page row of their first. `only` as
  // PageColumns left it.
  Result<std::shared_ptr<const Run>> GetSegmentPageKey(SnapshotImpl& s, uint64_t block, const SegmentLayout& l,
                                                       size_t page, std::string_view key, const std::vector<int>* only,
                                                       size_t* first_row);
  // The block cache's column mask for a page read with `only`; sets `only` to null when the
  // projection is the whole page.
  uint64_t PageColumns(SnapshotImpl& s, const SegmentLayout& l, const std::vector<int>*& only) const;
  // A page in the cache, whole or of those columns; null when absent.
  std::shared_ptr<const Run> CachedSegmentPage(SnapshotImpl& s, uint64_t block, size_t page, uint64_t columns);
  // The view of the segment at `block` (Corruption when the registry has none of its id).
  Result<const ViewInfo*> SegmentView(SnapshotImpl& s, const SegmentLayout& l, uint64_t block) const;
  // A decoded page of the segment at `block`, shared; Corruption naming the segment and page
  // when its decoding failed.
  Result<std::shared_ptr<const Run>> SharedPage(Result<Run> decoded, uint64_t block, size_t page) const;
  // The page's bytes from its start through the last chunk a decoder given `only` reads (null:
  // the page whole); the bytes of chunks it does not read are left unread, whatever they
  // hold. In a buffer of the calling thread's, or in *storage for a page over 1 MiB: valid
  // until the thread's next call and while *storage lives.
  Result<std::string_view> ReadSegmentPageBytes(SnapshotImpl& s, const SegmentLayout& l, size_t page,
                                                const std::vector<int>* only, std::string* storage);
  // The rows of one view's blocks in (key, version) order: one cursor per block over its pages
  // (a row batch whole), merged by a heap. Memory holds a page per block. Under scans and
  // streaming merges.
  class ViewRows {
   public:
    ViewRows() = default;
    ViewRows(const ViewRows&) = delete;  // the order points at the cursors
    // Blocks of other views and empty ones are left out; a block whose rows are of another view
    // is Corruption. With `from_key`, rows of smaller keys are skipped: each segment's first
    // page holding a key >= from_key is found by a binary search over its pages.
    Status Open(StoreImpl& store, SnapshotImpl& s, const std::vector<BlockEntry>& blocks, uint32_t view_id,
                const std::string& from_key = std::string());
    // Pages a cursor has passed stay alive until ReleaseHeld(), so the caller may point at their
    // rows without owning them (a merge gathering rows in bulk: a shared_ptr copy per key was an
    // atomic increment and decrement per row).
    void HoldPassedPages() { hold_ = true; }
    size_t held_pages() const { return held_.size(); }
    void ReleaseHeld() { held_.clear(); }
    bool done() const { return order_.empty(); }
    // The smallest row not passed yet: the page holding it, its index there, and its block.
    const std::shared_ptr<const Run>& page() const { return cursors_[order_.top()].run; }
    size_t row() const { return cursors_[order_.top()].row; }
    std::string_view key() const { return cursors_[order_.top()].key; }  // page()->keys[row()]
    uint64_t block() const { return cursors_[order_.top()].block; }
    // Moves past the smallest row (reading its block's next page when the page ends).
    Status Next();

   private:
    struct Cursor {
      uint64_t block = 0;
      std::shared_ptr<const SegmentLayout> layout;  // segments only
      size_t page = 0;
      std::shared_ptr<const Run> run;
      size_t row = 0;
      std::string_view key;  // run->keys[row], held here for the heap's comparisons
    };
    // Cursor a's row sorts before b's: by key, then version.
    struct Before {
      const std::vector<Cursor>* cursors;
      bool operator()(size_t a, size_t b) const;
    };
    StoreImpl* store_ = nullptr;
    SnapshotImpl* snap_ = nullptr;
    std::vector<Cursor> cursors_;
    LoserTree<Before> order_{Before{&cursors_}};
    bool hold_ = false;
    std::vector<std::shared_ptr<const Run>> held_;
  };
  // Where a pass over block `b` from `from_key` on starts: its footer (segments), and the page
  // and row of its first row with a key >= from_key (run null when every key is smaller).
  // Pages are read with `only` (GetSegmentPage) and not cached.
  struct BlockStart {
    std::shared_ptr<const SegmentLayout> layout;
    size_t page = 0;
    std::shared_ptr<const Run> run;
    size_t row = 0;
  };
  Status StartOfBlock(SnapshotImpl& s, const BlockEntry& b, uint32_t view_id, const std::string& from_key,
                      const std::vector<int>* only, BlockStart* out);
  // The rows of one view key by key, for readers that take every version of the keys they ask
  // for (windowed aggregates): one cursor per block, not merged (the caller orders a key's
  // versions, a few per block), pages decoded with only the feature columns asked for.
  class KeyRows {
   public:
    using Row = RunRow;
    // As ViewRows::Open; `columns`: the feature columns the rows are read for.
    Status Open(StoreImpl& store, SnapshotImpl& s, const std::vector<BlockEntry>& blocks, uint32_t view_id,
                const std::string& from_key, std::vector<int> columns);
    // The rows of `key` in `out`, block by block (each block's in version order), passing over
    // smaller keys. Keys are asked for in increasing order; the rows stay valid until the next
    // call.
    Status Rows(const std::string& key, std::vector<Row>* out);

   private:
    struct Cursor {
      uint64_t block = 0;
      std::shared_ptr<const SegmentLayout> layout;  // segments only
      size_t page = 0;
      std::shared_ptr<const Run> run;  // null when the block is done
      size_t row = 0;
    };
    // Moves c to its next row, reading its next page when the page ends; `hold` keeps the
    // page passed (its rows were handed out).
    Status Next(Cursor& c, bool hold);
    StoreImpl* store_ = nullptr;
    SnapshotImpl* snap_ = nullptr;
    std::vector<int> columns_;
    std::vector<Cursor> cursors_;
    std::vector<std::shared_ptr<const Run>> held_;  // pages passed during the last Rows call
  };
  Result<const ViewInfo*> FindView(const Registry& reg, const std::string& name);
  Result<std::vector<int>> Projection(const ViewInfo& v, const std::vector<std::string>& features);
  // The encoded entity key, checked against the view's join keys.
  Result<std::string> KeyFor(const ViewInfo& v, const EntityKey& key, const std::string& where);
  // The same check, writing the `latest` key (view id + encoded key) into a reused buffer.
  Status LatestKeyInto(const ViewInfo& v, const EntityKey& key, std::string* lkey);
  Status LatestIn(SnapshotImpl& s, const ViewInfo& v, const std::string& lkey, const std::vector<int>& proj,
                  Timestamp now, Lookup* out);
  // LatestIn given the key's `latest` entry, already read (nullopt: none).
  Status LatestFrom(SnapshotImpl& s, const ViewInfo& v, const std::string& lkey,
                    const std::optional<std::string_view>& raw, const std::vector<int>& proj, Timestamp now,
                    Lookup* out);
  // The winning row among the key's rows with event_ts <= t and system_ts <= known_at.
  // The live blocks of a committed state (cached per state): the row batches not merged yet,
  // and the live segments.
  struct LiveBlocks {
    std::vector<BlockEntry> tail;
    // The row batches decoded, beside `tail` (null where one could not be read: TailSpans reads
    // it again, for the error). The tail index holds them in memory anyway; held here, readers
    // take them without a block cache lookup (GetRun looks here first), so the cache's copies
    // are no longer read and age out, leaving its budget to segment pages.
    std::vector<std::shared_ptr<const Run>> tail_runs;
    std::vector<BlockEntry> segments;
  };
  Result<std::shared_ptr<const LiveBlocks>> GetLiveBlocks(SnapshotImpl& s);
  // Every stored row of a key that may have from <= event_ts <= to and system_ts <= known_at
  // (zone maps skip blocks; callers still filter rows).
  Status KeySpans(SnapshotImpl& s, const std::string& lkey, Timestamp from, Timestamp to, Timestamp known_at,
                  std::vector<RowSpan>* out, const std::vector<int>* only = nullptr);
  // The as-of answer: a row of a block, or the key's `latest` entry (its greatest row among
  // segments) when that one qualifies and no row batch holds a greater: then no page is read.
  struct AsOfRow {
    std::shared_ptr<const Run> run;
    size_t row = 0;
    std::optional<std::string_view> latest;  // the entry's bytes, valid in the snapshot
    Version latest_version{};
  };
  // With `only`, segment pages are read with those feature columns alone (GetSegmentPage).
  Status BestAsOf(SnapshotImpl& s, const std::string& lkey, Timestamp t, Timestamp known_at, AsOfRow* out,
                  const std::vector<int>* only = nullptr);
  // The answer of a `latest` entry for the features `proj`, TTL judged at t.
  Status FillLookupFromLatest(const ViewInfo& v, const std::string& lkey, std::string_view raw, bool checked,
                              const std::vector<int>& proj, Timestamp t, Lookup* out);
  // A `latest` entry as a one-row Run with every feature of the view (for readers of rows).
  Result<std::shared_ptr<const Run>> RunOfLatest(const ViewInfo& v, const std::string& lkey, std::string_view raw);
  // Whether a join reads its labels by point reads (JoinPlan in pitstore/join.h).
  // Windowed aggregates of the view `v` (store_window.cc), inside a snapshot.
  Status AggregateAtIn(SnapshotImpl& s, const ViewInfo& v, const EntityKey& key, Timestamp t, Timestamp known_at,
                       const std::vector<WindowAggregate>& aggregates, Lookup* out);
  Result<JoinResult> AggregateJoinIn(SnapshotImpl& s, const ViewInfo& v, const JoinLabels& labels,
                                     const std::vector<WindowAggregate>& aggregates, const JoinOptions& join);
  // When `name` is an aggregation view: true, its source view and its aggregates named by
  // `features` (all when empty), each with its output name. False for another name.
  Result<bool> AggregationOf(const Registry& reg, const std::string& name, const std::vector<std::string>& features,
                             const ViewInfo** source, std::vector<WindowAggregate>* aggregates);
  // An aggregation view as readers see it: the source's entities, one feature per aggregate.
  static FeatureViewDef AggregationViewAsView(const AggregationViewDef& a, const ViewInfo& source);
  // InvalidArgument unless the labels' key columns match the view's join keys.
  Status CheckLabels(const ViewInfo& v, const JoinLabels& labels);
  // The versions of one key with from <= event_ts <= to and system_ts <= known_at, in version
  // order, with the stored columns `stored` (window_aggregate.h).
  Status KeyVersionsIn(SnapshotImpl& s, const ViewInfo& v, const std::string& lkey, Timestamp from, Timestamp to,
                       Timestamp known_at, const std::vector<int>& stored, KeyVersions* out);
  bool ChooseSeeks(JoinPlan plan, const JoinLabels& labels, const std::vector<BlockEntry>& blocks,
                   const JoinPageSource& source) const;
  void FillLookup(const ViewInfo& v, const Run& run, size_t row, const std::vector<int>& proj, Timestamp t,
                  Lookup* out);

  // ---- writing ----
  Result<Run> BuildRun(const ViewInfo& v, const WriteBatch& batch, uint64_t commit_seq, int64_t commit_ts);
  // Writes the transaction, syncs, publishes it to the index. On any failure nothing of it
  // stays: the data file is cut back and the index transaction aborted.
  Status WriteAndPublish(const TxnBuilder& tb, ParsedTxn& txn, bool sync) REQUIRES(write_mu_);
  // Publishes one transaction into the index (within the caller's write txn): its blocks
  // (ApplyBlock, one at a time, so a replay need not hold a whole merge), then its commit
  // (ApplyCommit: superseded blocks leave; `file` and `reg` read the segments among them).
  Status ApplyTxn(MDB_txn* txn, const ParsedTxn& t, IndexMeta* meta, DataFile& file, const Registry& reg)
      REQUIRES(write_mu_);
  Status ApplyBlock(MDB_txn* txn, const TxnBlock& b, IndexMeta* meta) REQUIRES(write_mu_);
  // ApplyBlock of a segment given as read (TxnBlock::raw), decoded a page at a time.
  Status ApplySegmentPages(MDB_txn* txn, const TxnBlock& b, IndexMeta* meta) REQUIRES(write_mu_);
  Status ApplyCommit(MDB_txn* txn, const ParsedTxn& t, IndexMeta* meta, DataFile& file, const Registry& reg)
      REQUIRES(write_mu_);
  // Indexes rows [i, j) of a new segment, one key's: its latest
  // entry, whose segment count changes by `added` (one, less the superseded segments the key
  // leaves). `lkey` is a reused buffer.
  Status IndexSegmentKey(IndexCursors& cursors, const Run& run, size_t i, size_t j, int64_t added, std::string* lkey)
      REQUIRES(write_mu_);
  // A key leaves `leaving` superseded segments and arrives in none (an erasure).
  Status DepartKey(IndexCursors& cursors, const std::string& lkey, uint32_t leaving) REQUIRES(write_mu_);
  Status IndexMovesUnknownKey() const;
  // Removes superseded blocks from the index (and their pages and footers from the caches).
  Status RetireBlocks(MDB_txn* txn, const std::vector<BlockEntry>& obsolete, IndexMeta* meta) REQUIRES(write_mu_);
  Status CommitRegistry(std::shared_ptr<Registry> next) REQUIRES(write_mu_);
  // Merges `inputs` (blocks of v) into segments in one rewrite commit; rows of `drop_keys`
  // (encoded keys) are left out.
  Status MergeView(const ViewInfo& v, const std::vector<BlockEntry>& inputs,
                   const std::unordered_set<std::string>* drop_keys = nullptr) REQUIRES(write_mu_);
  // What a merge produces, handed over one segment at a time: a segment (with its pages
  // compressed beforehand, or null) and per key how many input segments held it; and keys an
  // erasure removes, with the same count.
  using SegmentSink =
      std::function<Status(std::shared_ptr<const Run>, CompressedSegment*, std::vector<uint32_t>&& segments_left)>;
  using DepartSink = std::function<Status(const std::string& key, uint32_t segments_left)>;
  // The rewrite transaction of a merge superseding `inputs` (all live): `produce` feeds it its
  // segments, each written to the file and indexed as it comes, whole (the SegmentSink) or row
  // by row (the MergeOutput: pages are written as they fill, so a segment is never held whole);
  // then the commit record, a sync, and the index published. On failure nothing of it stays.
  Status PublishMerge(const ViewInfo& v, const std::vector<BlockEntry>& inputs,
                      const std::function<Status(const SegmentSink&, const DepartSink&, MergeOutput&)>& produce,
                      std::chrono::steady_clock::time_point started) REQUIRES(write_mu_);
  // The blocks an automatic merge of view `v` takes (row batches and small segments), and
  // whether Options::auto_flush_* says one is due.
  Result<bool> FlushInputs(const ViewInfo& v, std::vector<BlockEntry>* inputs, uint64_t* tail_rows,
                           uint64_t* row_blocks) REQUIRES(write_mu_);

  // ---- background merges (Options::background_merges; store_background.cc) ----
  // Asks the merge thread (started on first use) for a merge of `v` when one is due. Returns
  // why the last background merge failed, once (OK if none did); *stall: the tail is so long
  // that the committer should wait for a merge (WaitForAMerge) before returning.
  Status RequestMerge(const ViewInfo& v, bool* stall) REQUIRES(write_mu_);
  // Returns when no background merge runs or waits to run.
  void WaitUntilMergesIdle() EXCLUDES(write_mu_);
  // Returns when the merge running now (or the next to run) has finished: a stalled commit's
  // wait, until the tail is shorter, not until it is empty.
  void WaitForAMerge() EXCLUDES(write_mu_);
  // Lets a running merge finish, drops queued ones, and joins the thread.
  void StopBackgroundMerges() EXCLUDES(write_mu_);
  void MergeThread() EXCLUDES(write_mu_);
  // One automatic merge of view `view_id`, the costly part (merging, compressing) outside
  // write_mu_: the inputs and a snapshot are taken under it, and it is taken again to write and
  // publish the result, which is dropped if a vacuum, a definition change or another merge came
  // in between (the next commit asks again).
  // *dropped: it was, and may be tried again at once. A failure makes the next try wait until
  // the tail has doubled, as in the commit.
  Status BackgroundMerge(uint32_t view_id, bool* dropped) EXCLUDES(write_mu_);
  Status BackgroundMergeOnce(uint32_t view_id, uint64_t* tail_rows, bool* dropped) EXCLUDES(write_mu_);
  // While one lives, no background merge runs (it waits for the running one to finish): a
  // vacuum, whose index rebuild should not run beside a merge's long read transaction.
  class MergePause {
   public:
    explicit MergePause(StoreImpl& store);
    ~MergePause();

   private:
    StoreImpl& store_;
  };
  Result<CommitInfo> CommitBatch(const std::string& view, const WriteBatch& batch, const WriteOptions& options,
                                 bool* stall) EXCLUDES(write_mu_);
  // Adds one merge to the index's MergeCounters in `txn` (`last` holds its figures in the last_*
  // fields).
  Status CountMerge(MDB_txn* txn, const MergeCounters& last, uint64_t rows_out) REQUIRES(write_mu_);
  // Merges the view's tail when Options::auto_flush_* says it is due (after a commit).
  Status AutoFlush(const ViewInfo& v) REQUIRES(write_mu_);
  // Whether a merge's segment of `rows` rows ends after the key just added, `rest` rows of its
  // inputs still to read: at segment_max_rows, unless the rest would make a segment under half
  // that (merged again by the next automatic merge), up to one and a half times it; and
  // whatever its rows, once they hold SegmentMaxBytes() (Run::LogicalBytes), so that wide rows
  // still make a segment a block can hold (kMaxBlockBytes: encoded, a segment stays within
  // about 1.3x its rows' logical size).
  static constexpr uint64_t kSegmentMaxLogicalBytes = uint64_t{1} << 30;
  uint64_t SegmentMaxBytes() const {
    return std::max<uint64_t>(1, std::min(options_.segment_max_bytes, kSegmentMaxLogicalBytes));
  }
  bool SegmentFull(uint64_t rows, uint64_t logical_bytes, uint64_t rest) const {
    const uint64_t max = options_.segment_max_rows;
    return logical_bytes >= SegmentMaxBytes() || (rows >= max && (rest >= max / 2 || rows >= max + max / 2));
  }
  // A segment under half of both limits: merges take it again, with the tail.
  bool SmallSegment(const BlockEntry& b) const {
    return b.rows < options_.segment_max_rows / 2 && b.raw_bytes < SegmentMaxBytes() / 2;
  }
  // Writes the current state, compacted, as a new data file at `dest` (synced).
  Result<std::shared_ptr<DataFile>> WriteCompactedCopy(const std::string& dest, std::string* file_id);
  // The merged rows of the view's `blocks`, read page by page and put in `out` key by key
  // (segments of segment_max_rows rows, cut at a key: SegmentFull), so memory stays bounded whatever the
  // view's size. Left out: rows a later identical row shadows, rows of `drop_keys`, and
  // (retention) versions with event_ts < keep_from except each key's newest such version.
  // `departed` (when set) gets each key of `drop_keys` with the count of input segments that
  // held it: what the index's segment counts lose.
  Status MergeStream(SnapshotImpl& s, const ViewInfo& v, const std::vector<BlockEntry>& blocks, Timestamp keep_from,
                     const std::unordered_set<std::string>* drop_keys, MergeOutput& out,
                     const std::function<Status(const std::string& key, uint32_t segments_left)>& departed);
  // The same, each segment handed to `emit` whole, with per key in order its count of input
  // segments: for merges that compress apart from writing (a background merge).
  Status MergeStream(SnapshotImpl& s, const ViewInfo& v, const std::vector<BlockEntry>& blocks, Timestamp keep_from,
                     const std::unordered_set<std::string>* drop_keys,
                     const std::function<Status(Run&&, std::vector<uint32_t>&& segments_left)>& emit,
                     const std::function<Status(const std::string& key, uint32_t segments_left)>& departed);
  // The retention cutoff of a merge of view `v` now (kMinTimestamp: keep everything).
  Timestamp RetentionCutoff(const ViewInfo& v);

  // ---- recovery ----
  // Reads transactions from `from` to the end of the file; calls fn for each complete one.
  // *good_end is the end of the last complete transaction; *damage is set when a bad block
  // is followed by further valid commits (not a torn tail).
  // With `on_block`, each data block is handed to it as it is decoded and then let go: the
  // transactions fn sees then hold no rows (TxnBlock::run is null), and memory holds one block.
  // `limit`: read no further than this offset. `on_block`, when set, gets each data block as it
  // is read (and the transaction given to `fn` keeps no rows).
  Status ScanTxns(DataFile& file, uint64_t from, std::shared_ptr<const Registry> reg,
                  const std::function<Status(ParsedTxn&)>& fn, uint64_t* good_end, std::string* tail_problem,
                  const std::function<Status(const TxnBlock&)>& on_block = nullptr, uint64_t limit = UINT64_MAX);
  bool ValidCommitAfter(DataFile& file, uint64_t from, uint64_t size);
  // Publishes every complete transaction from `from` (up to `limit`) into the index write
  // transaction `wt`, following the registry as transactions change it. Blocks are indexed as
  // they are read, so memory stays at a block whatever a transaction's size; when the file
  // ends in a torn transaction some of whose blocks were indexed, *redo is set: the caller
  // aborts `wt` and replays again with limit = *good_end.
  Status Replay(MDB_txn* wt, DataFile& file, uint64_t from, IndexMeta* meta, std::shared_ptr<const Registry>* reg,
                uint64_t* registry_offset, uint64_t* good_end, std::string* tail, uint64_t limit, bool* redo)
      REQUIRES(write_mu_);
  Status Recover(uint64_t from) REQUIRES(write_mu_);
  Status RebuildLocked(DataFile& file) REQUIRES(write_mu_);

  std::string path_;
  Options options_;
  Env* env_;  // the data file, the clock, the thread bound: everything below the engine
  BlockCache cache_;
  std::unique_ptr<OpenStoreClaim> claim_;  // this process's claim on the store (open_stores.h)
  std::unique_ptr<Index> index_;

  // Writers (commits, merges, definitions, vacuum) run one at a time, holding write_mu_.
  Mutex write_mu_;
  IndexMeta meta_ GUARDED_BY(write_mu_);  // the writer's view of the published state
  // Set when a vacuum failed after replacing the file: the index may not describe it, so every
  // later write is refused (with this error) until the store is reopened, which rebuilds it.
  Status broken_ GUARDED_BY(write_mu_);
  // An automatic merge failed: the next waits until the tail has this many rows (AutoFlush).
  uint64_t auto_flush_retry_rows_ GUARDED_BY(write_mu_) = 0;

  // Background merges: views waiting for a merge, whether one runs, the last failure not yet
  // reported, and the thread (plain std::mutex: a condition variable waits on it).
  std::mutex merge_mu_;
  std::condition_variable merge_wake_;  // the thread: work queued, or stop
  std::condition_variable merge_idle_;  // waiters: nothing queued or running
  std::set<uint32_t> merge_queue_;
  bool merge_running_ = false;
  // The merge thread waits for write_mu_. A committer releases it and takes it again at once,
  // and std::mutex is not fair: commits step aside while this is set, or a merge would wait
  // for a stall.
  std::atomic<int> merge_waiting_{0};
  uint64_t merges_finished_ = 0;
  int merge_pauses_ = 0;           // MergePause objects alive
  uint32_t dropped_in_a_row_ = 0;  // merges dropped since the last one that was not
  bool merge_stop_ = false;
  Status merge_failure_;
  std::thread merge_thread_;

  // The current state, one immutable value behind one pointer: writers publish a new StoreState
  // (holding write_mu_), readers copy the pointer once and keep what they copied. state_mu_ is
  // held only to copy or swap the pointer (libstdc++'s atomic<shared_ptr> is no faster, and
  // ThreadSanitizer cannot see its lock).
  mutable Mutex state_mu_;
  std::shared_ptr<const StoreState> state_ GUARDED_BY(state_mu_);
  std::atomic<int> open_snapshots_{0};

  // Caches of what readers decoded, all keyed by the file's generation (a vacuumed file
  // reuses offsets): a registry other than the current one, the live blocks of the last state
  // read, and segment footers.
  Mutex caches_mu_;
  std::shared_ptr<const Registry> read_registry_ GUARDED_BY(caches_mu_);
  uint64_t read_registry_generation_ GUARDED_BY(caches_mu_) = 0;
  uint64_t read_registry_offset_ GUARDED_BY(caches_mu_) = 0;
  std::shared_ptr<const LiveBlocks> live_ GUARDED_BY(caches_mu_);
  uint64_t live_seq_ GUARDED_BY(caches_mu_) = 0;
  std::string live_file_id_ GUARDED_BY(caches_mu_);
  uint64_t live_generation_ GUARDED_BY(caches_mu_) = 0;
  std::map<std::pair<uint64_t, uint64_t>, std::shared_ptr<const SegmentLayout>> layouts_ GUARDED_BY(caches_mu_);
  // The pending tail last looked for: of (file generation, applied offset), at file size
  // pending_size_, when (steady clock, microseconds).
  std::shared_ptr<const PendingTail> pending_ GUARDED_BY(caches_mu_);
  std::pair<uint64_t, uint64_t> pending_key_ GUARDED_BY(caches_mu_){0, 0};
  uint64_t pending_size_ GUARDED_BY(caches_mu_) = 0;
  int64_t pending_checked_ GUARDED_BY(caches_mu_) = INT64_MIN;
  // "No pending tail after this (generation, offset) hash", believed until this time: the
  // lock-free answer for the reads of a read-only store.
  std::atomic<uint64_t> no_pending_key_{0};
  std::atomic<int64_t> no_pending_until_{0};
};

template <typename Fn>
auto StoreImpl::WithSnapshot(const ReadOptions& options, Fn&& fn) -> decltype(fn(std::declval<SnapshotImpl&>())) {
  if (options.snapshot) {
    // const_cast: the snapshot's txn is used read-only; reads do not modify it.
    return fn(const_cast<SnapshotImpl&>(static_cast<const SnapshotImpl&>(*options.snapshot)));
  }
  // A private snapshot, not counted as open by Vacuum (it cannot outlive this call).
  PITSTORE_ASSIGN_OR_RETURN(SnapshotParts parts, BeginSnapshot());
  SnapshotImpl s(std::move(parts), nullptr);
  return fn(s);
}

}  // namespace pitstore
