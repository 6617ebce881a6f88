// BlockCache: decoded blocks and segment pages (Runs) by (file generation, offset, part), least recently used evicted
// first, bounded by the bytes the runs hold. The generation (DataFile::generation) is part of the key because Vacuum
// swaps in a file that reuses offsets while readers of the old file may still be loading blocks. Thread-safe. Entries
// are immutable and shared, so a reader keeps using a run even after it is evicted.
#pragma once

#include <array>
#include <atomic>
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

  // part: 0 for a whole row batch, 1 + page for a segment page. columns: kAllColumns, or a
  // page decoded with only some features (bit f for feature f).
  static constexpr uint64_t kAllColumns = ~uint64_t{0};
  std::shared_ptr<const Run> Get(uint64_t generation, uint64_t offset, uint32_t part = 0,
                                 uint64_t columns = kAllColumns) {
    Key key{generation, offset, part, columns};
    std::lock_guard<std::mutex> lock(mu_);
    auto it = map_.find(key);
    if (it == map_.end()) return nullptr;
    lru_.splice(lru_.begin(), lru_, it->second);
    return it->second->run;
  }

  void Put(uint64_t generation, uint64_t offset, std::shared_ptr<const Run> run, uint32_t part = 0,
           uint64_t columns = kAllColumns) {
    if (!run) return;
    Key key{generation, offset, part, columns};
    size_t bytes = run->MemoryBytes();
    std::lock_guard<std::mutex> lock(mu_);
    EraseLocked(key);
    if (bytes > capacity_) return;
    lru_.push_front({key, std::move(run), bytes});
    map_[key] = lru_.begin();
    used_ += bytes;
    while (used_ > capacity_ && !lru_.empty()) EraseLocked(lru_.back().key);
  }

  // Admission on a third touch (true: decode the page whole and cache it): point reads decode a cold page's rows of one
  // key alone and cache nothing, unless the page was read so twice recently (remembered here): then it is decoded whole
  // and cached. Pages of hot keys, and a working set the cache holds, are served from the cache, while reads spread
  // over more pages than it holds do not churn it with whole pages read once or twice (the second touch admitted 18% of
  // the online reads of the windows benchmark for a few hits each, and made its median 2 us slower). Counts this touch.
  bool AdmitWholePage(uint64_t generation, uint64_t offset, uint32_t part, uint64_t columns) {
    if (capacity_ == 0) return false;  // nothing would be kept
    // KeyHash differs between a segment's pages in its low bits only: mixed, then its top bits
    // pick one of 4,096 slots; the low two bits count the touches (0 marks an empty slot). A page
    // is forgotten when another lands on its slot.
    const uint64_t h = (KeyHash()(Key{generation, offset, part, columns}) * 0x9e3779b97f4a7c15ULL) & ~uint64_t{3};
    std::atomic<uint64_t>& slot = touched_[h >> 52];
    const uint64_t seen = slot.load(std::memory_order_relaxed);
    const uint64_t touches = (seen & ~uint64_t{3}) == h ? (seen & 3) + 1 : 1;
    if (touches >= 3) {
      slot.store(0, std::memory_order_relaxed);
      return true;
    }
    slot.store(h | touches, std::memory_order_relaxed);
    return false;
  }

  // Drops every part of the block at offset.
  void EraseBlock(uint64_t generation, uint64_t offset) {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = lru_.begin(); it != lru_.end();) {
      auto next = std::next(it);
      if (it->key.generation == generation && it->key.offset == offset) EraseLocked(it->key);
      it = next;
    }
  }

  void Clear() {
    std::lock_guard<std::mutex> lock(mu_);
    map_.clear();
    lru_.clear();
    used_ = 0;
  }

 private:
  struct Key {
    uint64_t generation;
    uint64_t offset;
    uint32_t part;
    uint64_t columns;
    bool operator==(const Key& o) const {
      return generation == o.generation && offset == o.offset && part == o.part && columns == o.columns;
    }
  };
  struct KeyHash {
    size_t operator()(const Key& k) const {
      return std::hash<uint64_t>()((k.offset * 0x9e3779b97f4a7c15ULL ^ k.part) + k.generation * 0xc2b2ae3d27d4eb4fULL +
                                   k.columns * 0x165667b19e3779f9ULL);
    }
  };
  struct Entry {
    Key key;
    std::shared_ptr<const Run> run;
    size_t bytes;
  };
  void EraseLocked(const Key& key) {
    auto it = map_.find(key);
    if (it == map_.end()) return;
    used_ -= it->second->bytes;
    lru_.erase(it->second);
    map_.erase(it);
  }
  size_t capacity_;
  size_t used_ = 0;
  std::mutex mu_;
  std::list<Entry> lru_;
  std::unordered_map<Key, std::list<Entry>::iterator, KeyHash> map_;
  std::array<std::atomic<uint64_t>, 4096> touched_{};
};

}  // namespace pitstore
