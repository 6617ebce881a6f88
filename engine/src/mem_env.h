// MemEnv: an Env of files in memory (NewMemEnv), which also models what a power loss keeps,
// for tests: a file's bytes as of its last Sync, and the directory's names as of the last
// SyncDir (one directory: every name). On top of that it fails chosen operations.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "pitstore/env.h"

namespace pitstore {

class MemEnv : public Env {
 public:
  enum Op { kOpen, kRead, kWrite, kSync, kTruncate, kRename, kLink, kRemove, kSyncDir, kOpCount };
  static const char* OpName(Op op);

  explicit MemEnv(unsigned max_threads = 1) : max_threads_(max_threads) {}

  Result<std::unique_ptr<EnvFile>> Open(const std::string& path, bool writable, bool create) override;
  bool Exists(const std::string& path) override;
  Status Rename(const std::string& from, const std::string& to) override;
  Status Link(const std::string& from, const std::string& to) override;
  Status Remove(const std::string& path) override;
  Status SyncDir(const std::string& path) override;
  int64_t NowMicros() override;
  unsigned MaxThreads() override { return max_threads_; }

  // ---- faults (tests) ----
  // The nth operation of kind `op` from now (1: the next) fails with IOError, once.
  void FailNth(Op op, uint64_t n);
  // After `ops` more operations that change something (writes, syncs, truncations, renames,
  // links, removals, directory syncs, creations), the power is out: every operation fails
  // with IOError until PowerLoss().
  void CutPowerAfter(uint64_t ops);
  // What a power loss leaves: every file's bytes as of its last Sync (with `torn`, plus a
  // prefix of what was written after it, as a write cut short leaves), every name as of the
  // last SyncDir. The power is back on after it; failures asked for are forgotten.
  void PowerLoss(bool torn, uint64_t seed);
  // Forgets the failures asked for (FailNth) that have not happened.
  void ClearFailures();
  uint64_t count(Op op) const;
  uint64_t changes() const;  // operations that changed something, so far
  // Bytes the engine advised could leave the cache (EnvFile::ReleaseCached), and of those the
  // bytes not yet durable when it did (advice given too early: a real kernel would write them
  // back then and there).
  uint64_t released_bytes() const;
  uint64_t released_before_sync() const;
  void CountRelease(uint64_t bytes, uint64_t not_durable);

  struct Data;          // one file's bytes (shared by its names and open handles)
  Status Check(Op op);  // counts op; the failure asked for, if this is it

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Data>> names_, durable_names_;
  uint64_t counts_[kOpCount] = {};
  uint64_t fail_at_[kOpCount] = {};  // 0: none
  uint64_t changes_ = 0;
  uint64_t released_ = 0, released_before_sync_ = 0;
  uint64_t power_out_at_ = 0;  // 0: power stays on
  bool power_out_ = false;
  uint64_t next_inode_ = 1;
  unsigned max_threads_;
};

}  // namespace pitstore
