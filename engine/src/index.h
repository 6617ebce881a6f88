// Index: the LMDB environment NAME.pit-index, derived entirely from the data file.
//
// Named databases (keys big-endian where noted so LMDB's byte order is numeric order):
//   meta    "meta" -> one 84-byte record (see GetMeta);
//           "merges" -> MergeCounters (11 x u64 | u32 check), absent before the first merge
//   latest  view_id u32 BE + entity key  -> the key's greatest row among segments (EncodeLatestInto);
//           row batches not merged yet have none (tail_index.h)
//   latest_int  the same entries for keys of one int64 part in [-2^47, 2^47) of views with ids
//           below 2^16 (most views' keys), keyed by one native u64 (LatestIntKey) with
//           MDB_INTEGERKEY: LMDB compares them as integers, and the shorter keys fill fewer
//           pages, a level fewer for a million keys. Everything here keeps speaking of lkeys.
//   blocks  block offset u64 BE -> BlockEntry (45 bytes; live ROWS and SEGMENT blocks only)
// Every value ends in (meta, blocks) or starts with (latest) a checksum over key and value,
// checked on every read: LMDB's pages carry none. Where a key's rows are inside a segment, the
// segment says itself (its page keys and key filter, run.h): the index holds nothing per key
// and segment.
#pragma once

#include <lmdb.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "block.h"
#include "pitstore/status.h"
#include "run.h"

namespace pitstore {

// 2: no locations for row batches; 3: checksummed entries; 4: the live block set and each key's
// segment count are recorded, so a lost entry is an error rather than a silently older answer;
// 5: `latest` holds segments' versions only (row batches: the in-memory tail index); 6: no `loc`
// table (segments carry page keys and a key filter); 7: `latest_int`.
inline constexpr uint32_t kIndexFormat = 7;

// The `latest_int` key of an lkey (u32 BE view id + encoded key), if it has one: view id << 48 |
// (value + 2^47), which orders as the lkeys do.
bool LatestIntKey(std::string_view lkey, uint64_t* out);
// The lkey of a `latest_int` key.
std::string LkeyOfLatestInt(uint64_t key);

struct IndexMeta {
  uint64_t applied_offset = 0;  // the data file is indexed up to here (a commit boundary)
  std::string file_id;          // the data file this index describes; empty: new index
  uint64_t commit_seq = 0;
  int64_t commit_ts = 0;
  uint64_t registry_offset = 0;
  // The `blocks` table as the writer left it: how many entries, and the XOR of BlockDigest over
  // them. A reader listing the table checks both, so a missing or extra entry is caught.
  uint64_t live_blocks = 0;
  uint64_t live_digest = 0;
  // The data file is durable up to here (commits with WriteOptions::sync, merges, recovery).
  // A crash may take commits after it with it: a file shorter than applied_offset but not
  // than this lost only unsynced commits, which were never promised, not committed data.
  uint64_t synced_offset = 0;
};

// What the merges of this index's life did (Store::Stats, `pitstore info`): informational, kept
// in `meta` under "merges" (11 u64 + check), outside the data file's truth; an index rebuild
// starts it over (a vacuum carries it across).
struct MergeCounters {
  uint64_t merges = 0, rows_in = 0, rows_out = 0, bytes_in = 0, bytes_out = 0, micros = 0;
  int64_t last_at = 0;  // the clock when the last merge finished
  uint64_t last_rows_in = 0, last_bytes_in = 0, last_bytes_out = 0, last_micros = 0;
};

// The digest of one `blocks` entry (its offset, type and view).
uint64_t BlockDigest(uint64_t offset, BlockType type, uint32_t view_id);

struct BlockEntry {
  uint64_t offset = 0;
  BlockType type = BlockType::kRows;
  uint32_t view_id = 0;
  uint32_t rows = 0;
  uint64_t stored_bytes = 0;  // header included
  uint64_t raw_bytes = 0;
  int64_t min_event_ts = 0;
  int64_t max_event_ts = 0;
};

// Cursors on `latest` and `latest_int` for one write transaction. Fed keys in sorted order, as a
// sorted batch does, each lookup and put usually stays on the leaf page the cursor is on
// (LMDB checks the current page before searching from the root).
class IndexCursors {
 public:
  IndexCursors(MDB_txn* txn, MDB_dbi latest, MDB_dbi latest_int);
  ~IndexCursors();
  IndexCursors(const IndexCursors&) = delete;
  Status status() const { return status_; }
  // The stored latest value of lkey, or nullopt; positions the cursor of lkey's table.
  Result<std::optional<std::string_view>> GetLatest(std::string_view lkey);
  // The same, for keys asked in ascending order (a merge indexing a segment's keys): the cursor
  // steps forward from the entry it is on when lkey is a few entries ahead, instead of
  // searching the tree from its root (about ten key comparisons a key). Any order is answered
  // correctly; out of order it searches.
  Result<std::optional<std::string_view>> GetLatestInOrder(std::string_view lkey);
  Status PutLatest(std::string_view lkey, std::string_view value);
  // Replaces the value of the entry GetLatest just found (lkey: its key), without searching
  // for it again.
  Status ReplaceFound(std::string_view lkey, std::string_view value);
  Status DelLatest(std::string_view lkey);  // OK when absent
  // A buffer for the values its caller encodes, kept between keys.
  std::string* scratch() { return &scratch_; }

 private:
  // One per database; an lkey goes to latest_int's when it has a LatestIntKey.
  struct Cursor {
    MDB_cursor* cursor = nullptr;
    bool positioned = false;  // on an entry (GetLatestInOrder may step from it)
  };
  // The cursor of lkey's database, and its key there (`*storage` holds an integer key).
  Cursor& Route(std::string_view lkey, uint64_t* storage, MDB_val* key);
  Cursor latest_, latest_int_;
  Status status_;
  std::string scratch_;
};

// A transaction; aborted on destruction unless committed. Read transactions go back to the
// index's pool.
class Index;
class IndexTxn {
 public:
  IndexTxn(Index* index, MDB_txn* txn, bool write) : index_(index), txn_(txn), write_(write) {}
  IndexTxn(IndexTxn&& o) noexcept : index_(o.index_), txn_(o.txn_), write_(o.write_) { o.txn_ = nullptr; }
  IndexTxn(const IndexTxn&) = delete;
  ~IndexTxn();
  MDB_txn* get() const { return txn_; }
  Status Commit();

 private:
  Index* index_;
  MDB_txn* txn_;
  bool write_;
};

class Index {
 public:
  // read_only: MDB_RDONLY, falling back to MDB_NOLOCK where the lock file cannot be written
  // (a read-only file system).
  static Result<std::unique_ptr<Index>> Open(const std::string& path, bool read_only, size_t map_size, bool sync);
  ~Index();

  Result<IndexTxn> BeginRead();
  Result<IndexTxn> BeginWrite();
  void SetSync(bool sync);
  Status ForceSync();

  Result<IndexMeta> GetMeta(MDB_txn* txn);
  // GetMeta for a read transaction (of BeginRead): the record is looked up every time but
  // decoded and checked only when its bytes differ from the last one's (once per commit, not
  // once per read).
  Result<IndexMeta> GetMetaOfRead(MDB_txn* txn);
  // Decodes and checks a meta record.
  static Result<IndexMeta> ParseMeta(const MDB_val& record);
  Status PutMeta(MDB_txn* txn, const IndexMeta& meta);
  // Zeros when absent.
  Result<MergeCounters> GetMergeCounters(MDB_txn* txn);
  Status PutMergeCounters(MDB_txn* txn, const MergeCounters& c);

  // The stored latest value of a key, or nullopt. The view is valid until the txn ends.
  Result<std::optional<std::string_view>> GetLatest(MDB_txn* txn, std::string_view lkey);
  Status PutBlock(MDB_txn* txn, const BlockEntry& e);
  Status DelBlock(MDB_txn* txn, uint64_t offset);
  Result<std::optional<BlockEntry>> GetBlock(MDB_txn* txn, uint64_t offset);
  Status ListBlocks(MDB_txn* txn, std::vector<BlockEntry>* out);
  // Visits every latest entry (lkey, value) of both tables in lkey order; stops at the first
  // error.
  Status ForEachLatest(MDB_txn* txn, const std::function<Status(std::string_view, std::string_view)>& fn);
  // Rewrites `latest` and `latest_int` in key order with MDB_APPEND, so their pages are full:
  // random-order inserts leave B-tree pages about half full, and a lookup's cost is mostly page
  // misses.
  Status RepackLatest(MDB_txn* txn);
  // Empties every database, and drops the `loc` table of index format 5 (a rebuild runs inside the same write
  // transaction, so readers in other processes see either the old index or the new, never a half-built one).
  Status DropAll(MDB_txn* txn);

  // Whether the index has `latest_int`: not read-only on an index of format 6 or older, a
  // damaged one, or one a writer is upgrading (a read-write open makes the table, dropping the
  // meta record so that the index is rebuilt).
  bool has_latest_int() const { return has_latest_int_; }

  void ReleaseRead(MDB_txn* txn);
  // Its status() says Corruption on an index without `latest_int`.
  std::unique_ptr<IndexCursors> Cursors(MDB_txn* txn) {
    return std::make_unique<IndexCursors>(txn, latest_, has_latest_int_ ? latest_int_ : 0);
  }

 private:
  Index() = default;
  MDB_env* env_ = nullptr;
  MDB_dbi meta_ = 0, latest_ = 0, blocks_ = 0, latest_int_ = 0;
  bool has_latest_int_ = false;  // see has_latest_int()
  bool read_only_ = false;
  std::mutex pool_mu_;
  std::vector<MDB_txn*> read_pool_;  // reset read transactions, renewed on reuse
  std::mutex meta_mu_;
  std::string meta_raw_;  // the meta record meta_of_read_ was parsed from (empty: none)
  IndexMeta meta_of_read_;
};

Status MdbStatus(const std::string& what, int rc);
// view_id (big-endian) + encoded entity key: the key of `latest`.
std::string LatestKey(uint32_t view_id, std::string_view encoded_key);
// The same into `out`, its capacity reused (a merge makes one per key).
void AssignLatestKey(uint32_t view_id, std::string_view encoded_key, std::string* out);
// The view id of a `latest` key (its first four bytes, big-endian).
inline uint32_t ViewIdOf(std::string_view lkey) {
  return (uint32_t{static_cast<uint8_t>(lkey[0])} << 24) | (uint32_t{static_cast<uint8_t>(lkey[1])} << 16) |
         (uint32_t{static_cast<uint8_t>(lkey[2])} << 8) | static_cast<uint8_t>(lkey[3]);
}

// The latest-row value: u64 XXH3(lkey + rest) | u8 version 2 | u32 segments | varint
// feature_count | signed event_ts | signed system_ts | varint seq | row values (EncodeRowValues).
// `segments` counts the live segments holding the key, which a reader must all find: fewer means
// a segment's page keys or filter lost it, and an older row would otherwise look like the answer.
// Written into `out`, its capacity reused: a merge encodes one per key, and a fresh string
// grew three times for ~100 bytes (about 40 ms of a 1.2M-row merge's index step).
void EncodeLatestInto(std::string_view lkey, const Run& run, size_t row, uint32_t segments, std::string* out);
// The segment count of a latest value (checksum verified).
Result<uint32_t> LatestSegments(std::string_view lkey, std::string_view value);
// The same value with another segment count (checksum renewed).
std::string WithLatestSegments(std::string_view lkey, std::string_view value, uint32_t segments);
void WithLatestSegmentsInto(std::string_view lkey, std::string_view value, uint32_t segments, std::string* out);
// Decodes straight into Values: values->at(i) receives feature proj[i] (null where the row
// predates the feature). The latest-lookup hot path, with no intermediate columns.
Status DecodeLatestValues(std::string_view lkey, std::string_view value, const ColumnTypes& types, bool verify,
                          const std::vector<int>& proj, Version* version, std::vector<Value>* values);
// Only the version (and, if asked, the segment count), for the write path (checksum verified).
Result<Version> DecodeLatestVersion(std::string_view lkey, std::string_view value, uint32_t* segments = nullptr);

}  // namespace pitstore
