#include "key_table.h"

#include <algorithm>

#include "key_filter.h"

namespace pitstore {

KeyTable KeyTable::Build(const std::vector<std::string>& keys) {
  size_t distinct = 0;
  for (size_t i = 0; i < keys.size(); ++i) distinct += i == 0 || keys[i] != keys[i - 1];
  KeyTable t;
  if (distinct == 0) return t;
  size_t size = 4;
  while (size < 2 * distinct) size *= 2;
  t.slots_.resize(size);
  const size_t mask = size - 1;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (i > 0 && keys[i] == keys[i - 1]) continue;
    const uint64_t hash = KeyFilterHash(keys[i]);
    size_t at = static_cast<size_t>(hash) & mask;
    while (t.slots_[at].row_plus_one != 0) at = (at + 1) & mask;
    t.slots_[at] = {static_cast<uint32_t>(hash >> 32), static_cast<uint32_t>(i + 1)};
  }
  return t;
}

std::pair<size_t, size_t> KeyTable::Find(const std::vector<std::string>& keys, std::string_view key,
                                         uint64_t hash) const {
  if (slots_.empty()) {  // no table (a batch decoded by a reader that builds none): a binary search
    auto [lo, hi] =
        std::equal_range(keys.begin(), keys.end(), key, [](std::string_view a, std::string_view b) { return a < b; });
    return {static_cast<size_t>(lo - keys.begin()), static_cast<size_t>(hi - keys.begin())};
  }
  const size_t mask = slots_.size() - 1;
  const uint32_t high = static_cast<uint32_t>(hash >> 32);
  for (size_t at = static_cast<size_t>(hash) & mask;; at = (at + 1) & mask) {
    const Slot s = slots_[at];
    if (s.row_plus_one == 0) return {0, 0};
    if (s.hash_high != high) continue;
    const size_t first = s.row_plus_one - 1;
    if (first >= keys.size() || keys[first] != key) continue;
    // The key's last row: a gallop forward, then a binary search (a key has a few rows per
    // batch, and sometimes thousands). keys[lo - 1] is the key; the end is in [lo, hi].
    size_t lo = first + 1, hi = first + 1, step = 1;
    while (hi < keys.size() && keys[hi] == key) {
      lo = hi + 1;
      hi = std::min(keys.size(), hi + step);
      step *= 2;
    }
    auto it =
        std::upper_bound(keys.begin() + static_cast<std::ptrdiff_t>(lo), keys.begin() + static_cast<std::ptrdiff_t>(hi),
                         key, [](std::string_view k, const std::string& x) { return k < x; });
    return {first, static_cast<size_t>(it - keys.begin())};
  }
}

}  // namespace pitstore
