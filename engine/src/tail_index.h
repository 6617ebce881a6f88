// TailIndex: the greatest version of each key among the row batches not merged yet (the tail),
// kept in memory beside the LMDB index.
//
// Commits do not write the index's `latest` table: 100,000 random keys dirty most leaf pages of
// a B-tree of a million keys, and LMDB copies each dirty page, so every commit rewrote the table
// (the ingest ceiling was ~100k rows/s). `latest` holds the greatest version among segments
// only, written in key order by merges; a latest read takes the greater of that and this.
//
// One writer (holding the store's write lock) inserts; readers look up without a lock. Every
// node carries its commit number, so a reader whose index snapshot is at commit S sees exactly
// the rows of commits <= S: the writer inserts a commit's rows, then Cover(S) (a release store),
// then commits the index; a reader at S first checks covered() >= S (an acquire load).
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pitstore/status.h"
#include "run.h"

namespace pitstore {

class TailIndex {
 public:
  // One version of one key; `older` is the version it replaced (readers at an earlier commit
  // walk to it).
  struct Node {
    uint64_t hash;
    const Run* run;
    size_t row;
    uint64_t commit_seq;
    const Node* older;
  };

  // Room for `slots` slots (a power of two; at least kInitialSlots) before the table grows.
  explicit TailIndex(size_t slots = kInitialSlots);
  static constexpr size_t kInitialSlots = 1024, kMaxInheritedSlots = size_t{1} << 22;
  TailIndex(const TailIndex&) = delete;
  TailIndex& operator=(const TailIndex&) = delete;
  ~TailIndex();

  // ---- the writer ----
  // Adds the row batch at `offset` (sorted by key and version): each key's greatest row, where
  // it is greater than what the key has.
  void Insert(uint64_t offset, std::shared_ptr<const Run> run);
  // Every row of commits <= commit_seq is inserted (never lowers the mark).
  void Cover(uint64_t commit_seq);
  // Replaced by another TailIndex: readers starting now must take the new one.
  void Retire() { covered_.store(0, std::memory_order_release); }
  // A new TailIndex of the same batches without those at `drop`, covering `covered`. It starts
  // with this one's table size (up to kMaxInheritedSlots, 32 MB: a tail left to grow huge does
  // not pin that much after its merge): the tail grows back to it between merges, and growing
  // again (each doubling rehashes every key) cost commits about 4% of their time.
  std::shared_ptr<TailIndex> Without(const std::set<uint64_t>& drop, uint64_t covered) const;
  // A batch that could not be read (damage): the tail cannot say which keys it holds, so every
  // latest read answers this error until the tail is rebuilt. Set before publishing.
  void SetDamage(Status damage) { damage_ = std::move(damage); }
  const Status& damage() const { return damage_; }
  // The batches inserted, in order.
  const std::vector<std::pair<uint64_t, std::shared_ptr<const Run>>>& batches() const { return batches_; }

  // ---- readers ----
  uint64_t covered() const { return covered_.load(std::memory_order_acquire); }
  // The greatest tail row of the key (view id + encoded key, as in `latest`) among commits
  // <= commit_seq, or null.
  const Node* Find(std::string_view lkey, uint64_t commit_seq) const;
  // Every key with a tail row among commits <= commit_seq, as (view id, encoded key).
  template <typename Fn>
  void ForEachKey(uint64_t commit_seq, Fn&& fn) const {
    const Slots* t = table_.load(std::memory_order_acquire);
    for (size_t i = 0; i <= t->mask; ++i)
      for (const Node* n = t->slots[i].load(std::memory_order_acquire); n; n = n->older)
        if (n->commit_seq <= commit_seq) {
          fn(n->run->view_id, std::string_view(n->run->keys[n->row]));
          break;
        }
  }
  size_t keys() const { return keys_.load(std::memory_order_acquire); }

 private:
  struct Slots {
    size_t mask;
    std::unique_ptr<std::atomic<const Node*>[]> slots;
  };
  static bool Matches(const Node& n, uint64_t hash, uint32_t view_id, std::string_view key) {
    return n.hash == hash && n.run->view_id == view_id && n.run->keys[n.row] == key;
  }
  void Grow();

  Status damage_;
  std::atomic<uint64_t> covered_{0};
  std::atomic<const Slots*> table_;
  std::atomic<size_t> keys_{0};
  // Writer only: readers reach nodes and runs through the slots.
  std::vector<std::unique_ptr<Slots>> tables_;  // earlier tables stay: a reader may still probe one
  std::deque<Node> nodes_;                      // stable addresses
  std::vector<std::pair<uint64_t, std::shared_ptr<const Run>>> batches_;
};

}  // namespace pitstore
