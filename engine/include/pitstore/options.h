// Options for opening a store, writing and reading. Defaults are set in place; each field says
// what it costs and what it means after a crash.
#pragma once

#include <cstddef>
#include <cstdint>

#include "pitstore/types.h"

namespace pitstore {

class Env;
class Snapshot;

struct Options {
  // The operating system as the engine sees it: the data file, the clock, how many threads an
  // operation may use (pitstore/env.h). nullptr: Env::Default(). Not owned; must outlive the
  // Store.
  Env* env = nullptr;
  // Create NAME.pit (and its index) if it does not exist. Otherwise a missing file is NotFound.
  bool create_if_missing = true;
  // Open without writing anything: no lock file is created (LMDB MDB_NOLOCK | MDB_RDONLY), the
  // data file is opened O_RDONLY, so a store on a read-only file system can be served. The
  // index must exist; it is used as it stands (it always describes whole commits).
  bool read_only = false;
  // Upper bound of the LMDB index's memory map. It is address space, not memory or disk: the
  // index file grows only as needed. Too small gives IOError "MDB_MAP_FULL" on write.
  size_t index_map_size = size_t{1} << 40;  // 1 TiB
  // Decoded blocks kept in memory for as-of and history reads.
  size_t block_cache_bytes = size_t{256} << 20;
  // Verify the checksum of every block and latest value read. Leave on: it costs a hash
  // (XXH3, several GB/s) per read and is the only thing between a flipped bit and a wrong value.
  // Segment footers are checked even when off: their page keys and key filter steer every read.
  bool verify_checksums = true;
  // After an Append, the view's row batches (the tail) are merged into columnar segments once
  // there are this many of them, or they hold this many rows (0: no limit; with both 0, only
  // Compact() merges). Reads look in every tail batch for a key (its key filter, then a binary
  // search where the filter lets the key through), so a long tail makes as-of reads slower and, beyond the block cache,
  // much slower. Every process that opens the store also holds the tail in memory (its latest versions are answered
  // from there) and reads it at open: these limits bound both.
  uint32_t auto_flush_row_blocks = 32;
  uint64_t auto_flush_rows = uint64_t{1} << 20;
  // Run those merges on a thread of the store's own, beside commits: a commit that makes one due
  // queues it and returns; the merge reads and compresses without the writer's lock and takes
  // it only to write and publish its segments. Commits wait for merges (a stall) only when the
  // tail reaches twice the limits above. A merge larger than 4 x segment_max_rows (a tail
  // raised far above the defaults) runs in the committing thread instead, streamed. Closing the
  // store lets a running merge finish and drops queued ones (later commits ask again); call
  // Store::WaitForMerges() first to leave the tail merged. false, or an Env allowing one thread:
  // every merge runs in the commit that made it due, as before.
  bool background_merges = true;
  // A merge writes segments of this many rows, cut at the end of an entity's rows. Its last may
  // hold up to half as many more: a rest under half this size would be a segment the next
  // automatic merge takes again (it takes segments under half this size along with the tail).
  uint32_t segment_max_rows = 1u << 20;
  // ... or once its rows hold this many bytes (their plain size: 24 a row, the key, 8 a number,
  // 4 a vector element, string lengths), whichever comes first, so that wide rows (embeddings,
  // long strings) make segments a block can hold. At most 1 GiB (a larger value counts as 1 GiB);
  // a segment is "small" (merged again) only when under half of both limits.
  uint64_t segment_max_bytes = uint64_t{1} << 30;
  // Rows per segment page: the unit a point read decodes (and caches). Smaller pages make
  // cold as-of reads cheaper and compress a little worse. Open refuses 0 for this and the two
  // limits above (InvalidArgument).
  uint32_t segment_page_rows = 1024;
  // zstd level for row batches, which are on the commit path and are merged into compressed
  // segments later (0: store raw). Compressing saves space until the next Vacuum and costs
  // commit time (measured: 70 of 117 ms encoding 100,000 rows of random doubles at level 1).
  int row_block_zstd_level = 0;
  // zstd level for segment chunks (row batches use level 1: they are on the commit path).
  int segment_zstd_level = 3;
};

struct WriteOptions {
  // fdatasync the data file (and sync the index) before Append returns. With false a crash or
  // power loss may lose the latest commits, but never tears one: a commit is present whole or
  // not at all after reopening.
  bool sync = true;
};

struct ReadOptions {
  // Read from this snapshot (from Store::GetSnapshot) instead of the current state.
  const Snapshot* snapshot = nullptr;
  // The reader's clock for TTL expiry in latest reads; kMinTimestamp means the system clock.
  Timestamp now = kMinTimestamp;
};

struct CompactOptions {
  // Merge every block of a view into fresh segments, not just row batches and small segments.
  bool full = false;
};

}  // namespace pitstore
