// Stores sharded by entity key (libpitstore_workflow): a directory of shard stores, each an
// ordinary pitstore store, named by a manifest, opened and read as one (format/SHARDS.md).
//
// A row belongs to shard pmod(xxhash64(k1, k2, ...), shards), where k1, k2, ... are the values
// of the manifest's shard keys (join keys every view of the store has) and xxhash64 is Spark
// SQL's function of that name: XXH64 with seed 42 over the first value, each next value hashed
// with the hash so far as its seed; an int64 as its 8 little-endian bytes, a string as its
// UTF-8 bytes. Spark computes it natively (`pmod(xxhash64(col), n)`), the Python package and
// this library with ShardOfKey: the three agree (python/tests/test_spark.py checks it).
//
// The manifest is the commit point: files in the directory it does not name (a failed or
// speculative task's attempt, an interrupted build) are ignored.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "pitstore/status.h"
#include "pitstore/store.h"
#include "pitstore/workflow/online_features.h"

namespace pitstore::workflow {

// Spark's xxhash64 of the parts, in order (see above). Empty parts: 42.
int64_t SparkXxHash64(const std::vector<KeyPart>& parts);

// The shard of a key: pmod(SparkXxHash64(parts), shards), in [0, shards). shards > 0.
uint32_t ShardOfKey(const std::vector<KeyPart>& parts, uint32_t shards);

// One shard as the manifest names it.
struct ShardEntry {
  uint32_t shard = 0;
  std::string path;  // the data file, relative to the manifest's directory
  uint64_t rows = 0;
  uint64_t bytes = 0;    // the data file's size when the manifest was written
  std::string checksum;  // XXH3-64 of the data file's bytes, 16 hex digits
  Timestamp min_event_ts = 0, max_event_ts = 0, min_system_ts = 0, max_system_ts = 0;  // 0 0 0 0: no rows
};

struct ShardManifest {
  std::string directory;                // where the manifest lives; shard paths are relative to it
  uint64_t generation = 0;              // 1 for the first build, +1 per increment
  std::vector<std::string> shard_keys;  // join key names, in hash order
  std::vector<ShardEntry> shards;       // one per shard, in shard order
};

// Reads `path`: a manifest file, or a directory holding MANIFEST (format/SHARDS.md).
// InvalidArgument naming the field for a malformed manifest (and the file); NotFound when absent.
Result<ShardManifest> ReadShardManifest(const std::string& path);

// XXH3-64 of a file's bytes as 16 hex digits (the manifest's checksum).
Result<std::string> FileChecksum(const std::string& path);

struct ShardedOptions {
  bool read_only = true;          // shards are built elsewhere; a serving node only reads them
  bool verify_checksums = false;  // read every data file whole and compare it to the manifest
};

// The shards of a manifest, opened as one store for reads. Thread-safe as Store is.
class ShardedStore {
 public:
  // Opens every shard. Refuses (Corruption, naming the file) a shard whose data file is shorter
  // than the manifest says or, with verify_checksums, whose bytes differ, and shards whose
  // feature views (by name) differ from shard 0's.
  // `current`: a generation of the same store this process has open (a server's, on reload);
  // shards whose file it names are shared with it, not opened again (a store opens once per
  // process), and stay open while either generation holds them.
  static Result<std::unique_ptr<ShardedStore>> Open(const std::string& path, const ShardedOptions& options = {},
                                                    const ShardedStore* current = nullptr);

  const ShardManifest& manifest() const { return manifest_; }
  uint32_t shard_count() const { return static_cast<uint32_t>(shards_.size()); }
  Store& shard(uint32_t i) { return *shards_[i]; }
  // Shard 0: definitions, which every shard shares.
  Store& any() { return *shards_[0]; }

  // The shard holding `key` of `view` (whose join keys include the shard keys).
  Result<uint32_t> ShardOf(const std::string& view, const EntityKey& key);

  // Latest / AsOf / History of one key, from its shard.
  Result<Lookup> Latest(const std::string& view, const EntityKey& key, const ReadOptions& options = {});
  Result<Lookup> AsOf(const std::string& view, const EntityKey& key, Timestamp t, Timestamp known_at,
                      const ReadOptions& options = {});

  // GetOnlineFeatures (online_features.h) over the shards: each entity row goes to its shard
  // (by the shard key columns of `rows`), the answers come back in the rows' order; one clock
  // (read.now, or the system clock read once) judges TTL in every shard.
  Result<OnlineFeatures> GetOnlineFeatures(const std::vector<FeatureRef>& refs, const EntityRows& rows,
                                           const OnlineOptions& options = {});

 private:
  ShardedStore() = default;
  ShardManifest manifest_;
  std::vector<std::shared_ptr<Store>> shards_;
};

}  // namespace pitstore::workflow
