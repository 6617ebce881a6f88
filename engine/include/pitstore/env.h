// Env: everything the engine asks of the operating system for its data file, the clock and
// threads, behind one interface (as LevelDB's Env), so that tests can run the engine over
// files in memory, and inject failures and power losses below it.
//
// Env::Default() is POSIX: pread/pwrite, fdatasync, flock, rename, link. The LMDB index
// (NAME.pit-index) is outside it: LMDB does its own I/O on a real file. It is derived data,
// rebuilt from the data file whenever it is lost or does not match.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "pitstore/export.h"
#include "pitstore/status.h"

namespace pitstore {

// One open file of an Env.
class PITSTORE_EXPORT EnvFile {
 public:
  virtual ~EnvFile() = default;
  // Exactly n bytes at offset (Corruption "short read" when the file ends first).
  virtual Status Read(uint64_t offset, size_t n, char* dst) const = 0;
  // All of data at offset (IOError when not all of it could be written).
  virtual Status Write(uint64_t offset, std::string_view data) = 0;
  // Makes every write so far durable (fdatasync). A failure leaves it unknown what reached the
  // disk: the engine never retries a sync as if it had succeeded.
  virtual Status Sync() = 0;
  virtual Status Truncate(uint64_t size) = 0;
  virtual Result<uint64_t> Size() const = 0;
  // Advisory lock of the whole file, as flock(LOCK_NB): false when another open file holds a
  // conflicting one. Released by Unlock or when the file is closed.
  virtual Result<bool> TryLock(bool exclusive) = 0;
  virtual void Unlock() = 0;
  // What names the file whatever path reached it (device and inode on POSIX).
  virtual Result<std::pair<uint64_t, uint64_t>> Identity() const = 0;
  // Advice: bytes [offset, offset + n), already synced, will not be read soon, so the operating
  // system may let go of its cached copy (whole pages inside the range). Nothing else changes;
  // the default does nothing.
  virtual void ReleaseCached(uint64_t offset, uint64_t n) {
    (void)offset;
    (void)n;
  }
};

class PITSTORE_EXPORT Env {
 public:
  virtual ~Env() = default;
  // The process-wide POSIX environment (never deleted).
  static Env* Default();

  // Opens `path` for reading, or reading and writing; NotFound when it does not exist and
  // `create` is false.
  virtual Result<std::unique_ptr<EnvFile>> Open(const std::string& path, bool writable, bool create) = 0;
  virtual bool Exists(const std::string& path) = 0;
  // Replaces `to` atomically.
  virtual Status Rename(const std::string& from, const std::string& to) = 0;
  // A second name for a file; AlreadyExists when `to` exists (never replaces it).
  virtual Status Link(const std::string& from, const std::string& to) = 0;
  // OK when `path` does not exist.
  virtual Status Remove(const std::string& path) = 0;
  // Makes the creations, renames and removals in the directory holding `path` durable.
  virtual Status SyncDir(const std::string& path) = 0;
  // Microseconds since the epoch, UTC.
  virtual int64_t NowMicros() = 0;
  // The most threads one operation of the engine runs at once (a join, a segment's encoding);
  // at least 1. The one place that bounds them.
  virtual unsigned MaxThreads() = 0;
};

// Files kept in memory (the index still lives on disk beside the store's path): fast tests,
// and the ground for fault injection. Threads: 1 unless told otherwise.
PITSTORE_EXPORT std::unique_ptr<Env> NewMemEnv(unsigned max_threads = 1);

}  // namespace pitstore
