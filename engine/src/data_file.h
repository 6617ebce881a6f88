// DataFile: the append-only NAME.pit file. Reads are pread()s and may run from any thread; a
// single writer appends whole transactions (one write, then fdatasync) at the end.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "block.h"
#include "pitstore/env.h"
#include "pitstore/status.h"

namespace pitstore {

struct RawBlock {
  uint64_t offset = 0;  // of the block header
  BlockHeader header{};
  std::string payload;  // decoded (decompressed) payload
  uint64_t end() const { return offset + kBlockHeaderSize + header.stored_len; }
};

class DataFile {
 public:
  // Opens (creating with `create`) the file. A read-write open then takes an exclusive advisory
  // lock (flock) and fails with Busy if another process holds it; `before_lock`, when given,
  // runs on the open file first (so a second open within this process is told so, not that
  // another process holds the lock).
  static Result<std::shared_ptr<DataFile>> Open(Env* env, const std::string& path, bool read_only, bool create,
                                                const std::function<Status(const DataFile&)>& before_lock = {});
  ~DataFile();
  DataFile(const DataFile&) = delete;
  DataFile& operator=(const DataFile&) = delete;

  const std::string& path() const { return path_; }
  // Unique among the DataFiles this process opened: caches key what they hold by (generation,
  // offset), since a vacuumed file reuses the offsets of the file it replaces.
  uint64_t generation() const { return generation_; }
  // The required feature bits of the file's header (store_format.h), once the header was read
  // or written: what new blocks may use (0, the oldest layout, until then).
  uint64_t required_features() const { return required_features_.load(std::memory_order_acquire); }
  void set_required_features(uint64_t bits) { required_features_.store(bits, std::memory_order_release); }
  // What names the file whatever path reached it (open_stores.h).
  Result<std::pair<uint64_t, uint64_t>> Identity() const { return file_->Identity(); }
  // Current size of the file on disk.
  Result<uint64_t> FileSize() const;
  // Reads, verifies (if verify) and decodes the block at offset, which must end by `limit`.
  Result<RawBlock> ReadBlock(uint64_t offset, uint64_t limit, bool verify) const;
  // Reads exactly n bytes at offset.
  Status ReadExact(uint64_t offset, size_t n, char* dst) const;
  // Writes bytes at offset (the end of the committed data); on failure the file is cut back to
  // offset so nothing partial stays behind.
  Status WriteAt(uint64_t offset, const std::string& bytes);
  // fdatasync. After a failure nothing is known of what reached the disk, and the file is not
  // trusted again (every later write fails): a retry that succeeded would claim data durable
  // that the kernel may have dropped (the "fsyncgate" lesson).
  Status Sync();
  // Advice that synced bytes will not be read soon (EnvFile::ReleaseCached).
  void ReleaseCached(uint64_t offset, uint64_t n) { file_->ReleaseCached(offset, n); }
  // Cuts the file to `size` and syncs.
  Status Truncate(uint64_t size);
  // True when another open file holds the writer's lock (a read-write Store somewhere). A probe:
  // the shared lock it takes is released at once.
  bool WriterActive() const;

 private:
  DataFile(std::string path, std::unique_ptr<EnvFile> file);
  std::string path_;
  std::unique_ptr<EnvFile> file_;
  uint64_t generation_;
  std::atomic<uint64_t> required_features_{0};
  Status sync_failed_;  // set by a failed Sync: every later write and sync fails with it
};

// errno as a Status: NotFound, AlreadyExists or IOError, naming `what` (env_posix.cc).
Status ErrnoStatus(const std::string& what, int err);

}  // namespace pitstore
