// BlockCache: decoded blocks (Runs) by file offset, least recently used evicted first, bounded
// by the bytes the runs hold. Thread-safe. Entries are immutable and shared, so a reader keeps
// using a run even after it is evicted.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "run.h"

namespace pitstore {

class BlockCache {
 public:
  explicit BlockCache(size_t capacity_bytes) : capacity_(capacity_bytes) {}

  std::shared_ptr<const Run> Get(uint64_t offset) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = map_.find(offset);
    if (it == map_.end()) return nullptr;
    lru_.splice(lru_.begin(), lru_, it->second);
    return it->second->run;
  }

  void Put(uint64_t offset, std::shared_ptr<const Run> run) {
    if (!run) return;
    size_t bytes = run->MemoryBytes();
    std::lock_guard<std::mutex> lock(mu_);
    EraseLocked(offset);
    if (bytes > capacity_) return;
    lru_.push_front({offset, std::move(run), bytes});
    map_[offset] = lru_.begin();
    used_ += bytes;
    while (used_ > capacity_ && !lru_.empty()) EraseLocked(lru_.back().offset);
  }

  void Erase(uint64_t offset) {
    std::lock_guard<std::mutex> lock(mu_);
    EraseLocked(offset);
  }

  void Clear() {
    std::lock_guard<std::mutex> lock(mu_);
    map_.clear();
    lru_.clear();
    used_ = 0;
  }

 private:
  struct Entry {
    uint64_t offset;
    std::shared_ptr<const Run> run;
    size_t bytes;
  };
  void EraseLocked(uint64_t offset) {
    auto it = map_.find(offset);
    if (it == map_.end()) return;
    used_ -= it->second->bytes;
    lru_.erase(it->second);
    map_.erase(it);
  }
  size_t capacity_;
  size_t used_ = 0;
  std::mutex mu_;
  std::list<Entry> lru_;
  std::unordered_map<uint64_t, std::list<Entry>::iterator> map_;
};

}  // namespace pitstore
