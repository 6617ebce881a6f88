// TailIndex (tail_index.h): an open-addressing hash table of version chains, one writer, readers
// without locks.
#include "tail_index.h"

#include <algorithm>

#include "index.h"
#include "xxh3.h"

namespace pitstore {

TailIndex::TailIndex(size_t slots) {
  size_t size = kInitialSlots;
  while (size < slots) size *= 2;
  auto t = std::make_unique<Slots>();
  t->mask = size - 1;
  t->slots.reset(new std::atomic<const Node*>[size]);
  for (size_t i = 0; i < size; ++i) t->slots[i].store(nullptr, std::memory_order_relaxed);
  table_.store(t.get(), std::memory_order_release);
  tables_.push_back(std::move(t));
}

TailIndex::~TailIndex() = default;

void TailIndex::Grow() {
  const Slots* old = tables_.back().get();
  size_t size = (old->mask + 1) * 2;
  auto t = std::make_unique<Slots>();
  t->mask = size - 1;
  t->slots.reset(new std::atomic<const Node*>[size]);
  for (size_t i = 0; i < size; ++i) t->slots[i].store(nullptr, std::memory_order_relaxed);
  for (size_t i = 0; i <= old->mask; ++i) {
    const Node* n = old->slots[i].load(std::memory_order_relaxed);
    if (!n) continue;
    size_t s = n->hash & t->mask;
    while (t->slots[s].load(std::memory_order_relaxed)) s = (s + 1) & t->mask;
    t->slots[s].store(n, std::memory_order_relaxed);
  }
  table_.store(t.get(), std::memory_order_release);  // readers see it filled
  tables_.push_back(std::move(t));
}

void TailIndex::Insert(uint64_t offset, std::shared_ptr<const Run> run) {
  const Run& r = *run;
  batches_.emplace_back(offset, std::move(run));
  // Each key group's greatest row and its hash, first: then the table is grown once for the
  // batch, and each probe's slot (and the node it holds) is prefetched a few keys ahead, so a
  // batch of random keys is not one cache miss after another.
  struct Pending {
    size_t row;
    uint64_t hash;
  };
  std::vector<Pending> pending;
  std::string lkey;
  for (size_t i = 0; i < r.size();) {
    const size_t j = r.KeyEnd(i);
    AssignLatestKey(r.view_id, r.keys[j - 1], &lkey);  // no allocation per key
    pending.push_back({j - 1, XXH3_64bits(lkey.data(), lkey.size())});  // sorted: the last row is the greatest
    i = j;
  }
  while ((keys_.load(std::memory_order_relaxed) + pending.size()) * 2 > tables_.back()->mask + 1) Grow();
  Slots& t = *tables_.back();
  constexpr size_t kSlotAhead = 16, kNodeAhead = 8;
  for (size_t k = 0; k < pending.size(); ++k) {
    if (k + kSlotAhead < pending.size()) __builtin_prefetch(&t.slots[pending[k + kSlotAhead].hash & t.mask]);
    if (k + kNodeAhead < pending.size()) {
      const Node* ahead = t.slots[pending[k + kNodeAhead].hash & t.mask].load(std::memory_order_relaxed);
      if (ahead) __builtin_prefetch(ahead);
    }
    const size_t row = pending[k].row;
    const uint64_t hash = pending[k].hash;
    for (size_t s = hash & t.mask;; s = (s + 1) & t.mask) {
      const Node* head = t.slots[s].load(std::memory_order_relaxed);
      if (!head) {
        nodes_.push_back(Node{hash, &r, row, r.seq[row] >> 32, nullptr});
        t.slots[s].store(&nodes_.back(), std::memory_order_release);
        keys_.fetch_add(1, std::memory_order_release);
        break;
      }
      if (!Matches(*head, hash, r.view_id, r.keys[row])) continue;
      // A late older row never replaces a newer one; it is never the answer at any commit.
      if (r.version(row) < head->run->version(head->row)) break;
      nodes_.push_back(Node{hash, &r, row, r.seq[row] >> 32, head});
      t.slots[s].store(&nodes_.back(), std::memory_order_release);
      break;
    }
  }
}

void TailIndex::Cover(uint64_t commit_seq) {
  if (commit_seq > covered_.load(std::memory_order_relaxed)) covered_.store(commit_seq, std::memory_order_release);
}

std::shared_ptr<TailIndex> TailIndex::Without(const std::set<uint64_t>& drop, uint64_t covered) const {
  auto next = std::make_shared<TailIndex>(std::min(tables_.back()->mask + 1, kMaxInheritedSlots));
  next->damage_ = damage_;
  for (const auto& [offset, run] : batches_)
    if (!drop.count(offset)) next->Insert(offset, run);
  next->Cover(covered);
  return next;
}

const TailIndex::Node* TailIndex::Find(std::string_view lkey, uint64_t commit_seq) const {
  if (keys_.load(std::memory_order_acquire) == 0) return nullptr;
  const uint64_t hash = XXH3_64bits(lkey.data(), lkey.size());
  const uint32_t view_id = ViewIdOf(lkey);
  const std::string_view key = lkey.substr(4);
  const Slots* t = table_.load(std::memory_order_acquire);
  for (size_t s = hash & t->mask;; s = (s + 1) & t->mask) {
    const Node* n = t->slots[s].load(std::memory_order_acquire);
    if (!n) return nullptr;
    if (!Matches(*n, hash, view_id, key)) continue;
    while (n && n->commit_seq > commit_seq) n = n->older;
    return n;
  }
}

}  // namespace pitstore
