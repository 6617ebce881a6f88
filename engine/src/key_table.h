// KeyTable: where each key of a row batch starts, found by the key's hash. A point read probes
// every row batch not merged yet (the tail) for its key; one probe of this table replaces a
// filter check and a binary search over the batch's keys (two dozen cache misses for a batch of
// 100,000 rows). Held in memory beside a batch, never stored.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pitstore {

class KeyTable {
 public:
  KeyTable() = default;
  // The table of `keys`, sorted (a key's rows adjacent), with hash(k) = KeyFilterHash(k).
  static KeyTable Build(const std::vector<std::string>& keys);

  // Rows [first, last) of `keys` (the vector Build was given) holding `key`; first == last when
  // none do. `hash` is KeyFilterHash(key). Without a table (never built), a binary search.
  std::pair<size_t, size_t> Find(const std::vector<std::string>& keys, std::string_view key, uint64_t hash) const;

  size_t MemoryBytes() const { return slots_.capacity() * sizeof(Slot); }

 private:
  // A key's first row, and the high 32 bits of its hash (a probe compares keys only when they
  // agree). row_plus_one == 0 marks an empty slot.
  struct Slot {
    uint32_t hash_high = 0;
    uint32_t row_plus_one = 0;
  };
  std::vector<Slot> slots_;  // a power of two, at most half full: linear probing ends fast
};

}  // namespace pitstore
