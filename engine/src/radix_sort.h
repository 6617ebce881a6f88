// A stable LSD radix sort by a 64-bit word, for sorts whose keys are mostly told apart by a word
// or two (encoded entity keys: an int64 key's top bytes are alike across a store's entities).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace pitstore {

// The byte positions (bit i: bits 8i..8i+7) in which some word differs from the first.
template <typename T, typename Word>
uint32_t BytesThatDiffer(const std::vector<T>& entries, Word word) {
  if (entries.empty()) return 0;
  uint64_t differ = 0;
  const uint64_t first = word(entries[0]);
  for (const T& e : entries) differ |= word(e) ^ first;
  uint32_t bytes = 0;
  for (int i = 0; i < 8; ++i)
    if ((differ >> (8 * i)) & 0xff) bytes |= 1u << i;
  return bytes;
}

// Sorts `entries` by word(e), keeping the order of equal words: one counting pass per byte
// in `bytes` (BytesThatDiffer), low bytes first. `spare` is scratch (resized as needed).
template <typename T, typename Word>
void StableRadixSortByWord(std::vector<T>* entries, std::vector<T>* spare, uint32_t bytes, Word word) {
  const size_t n = entries->size();
  if (n < 2 || bytes == 0) return;
  spare->resize(n);
  for (int i = 0; i < 8; ++i) {
    if (!(bytes & (1u << i))) continue;
    const int shift = 8 * i;
    size_t count[257] = {};
    for (const T& e : *entries) ++count[((word(e) >> shift) & 0xff) + 1];
    for (int d = 0; d < 256; ++d) count[d + 1] += count[d];
    for (const T& e : *entries) (*spare)[count[(word(e) >> shift) & 0xff]++] = e;
    entries->swap(*spare);
  }
}

}  // namespace pitstore
