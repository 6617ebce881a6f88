// A stable LSD radix sort by a 64-bit word, for sorts whose keys are mostly told apart by a word
// or two (encoded entity keys: an int64 key's top bytes are alike across a store's entities).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "parts_on_threads.h"

namespace pitstore {

// The bits in which some word differs from the first.
template <typename T, typename Word>
uint64_t BitsThatDiffer(const std::vector<T>& entries, Word word) {
  if (entries.empty()) return 0;
  uint64_t differ = 0;
  const uint64_t first = word(entries[0]);
  for (const T& e : entries) differ |= word(e) ^ first;
  return differ;
}

// The number of bytes of a word in which `bits` has a bit set.
inline int BytesWithBits(uint64_t bits) {
  int bytes = 0;
  for (int i = 0; i < 8; ++i) bytes += ((bits >> (8 * i)) & 0xff) != 0;
  return bytes;
}

// Sorts `entries` by word(e) from the lowest bit set in `bits` up, keeping the order of equal
// words: bits below it are not looked at, and above it those not in `bits` must be alike in
// every word (BitsThatDiffer gives such a mask). One counting pass per digit of up to 11 bits,
// low digits first, digits skipping bits alike in every word: a million int64 keys (20 bits)
// take two passes. From 100,000 entries and threads > 1 each pass splits the entries into that
// many parts: each counts its own, then moves its own to where the counts of the parts before
// it end (which keeps the sort stable). `spare` is scratch.
template <typename T, typename Word>
void StableRadixSortByWord(std::vector<T>* entries, std::vector<T>* spare, uint64_t bits, Word word, int threads = 1) {
  constexpr int kDigitBits = 11;
  const size_t n = entries->size();
  if (n < 2 || bits == 0) return;
  const size_t parts = PartsFor(n, threads);
  const std::vector<size_t> bounds = EqualParts(n, parts);
  spare->resize(n);
  std::vector<size_t> counts(parts << kDigitBits);
  for (int shift = __builtin_ctzll(bits);;) {
    const int width = std::min(kDigitBits, 64 - shift);
    const uint64_t mask = (uint64_t{1} << width) - 1;
    const size_t digits = size_t{1} << width;
    std::fill(counts.begin(), counts.end(), 0);
    RunParts(bounds, [&](size_t part, size_t begin, size_t end) {
      size_t* count = &counts[part << kDigitBits];
      for (size_t i = begin; i < end; ++i) ++count[(word((*entries)[i]) >> shift) & mask];
    });
    size_t sum = 0;  // each (digit, part)'s first place: digits in order, parts in order within
    for (size_t d = 0; d < digits; ++d)
      for (size_t part = 0; part < parts; ++part) {
        const size_t c = counts[(part << kDigitBits) + d];
        counts[(part << kDigitBits) + d] = sum;
        sum += c;
      }
    RunParts(bounds, [&](size_t part, size_t begin, size_t end) {
      size_t* next = &counts[part << kDigitBits];
      for (size_t i = begin; i < end; ++i) {
        const T& e = (*entries)[i];
        (*spare)[next[(word(e) >> shift) & mask]++] = e;
      }
    });
    entries->swap(*spare);
    if (shift + width >= 64 || (bits >> (shift + width)) == 0) break;
    shift += width + __builtin_ctzll(bits >> (shift + width));  // past bits alike in every word
  }
}

}  // namespace pitstore
