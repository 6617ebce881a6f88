// Work over a large array split into consecutive parts, one thread per part: the label sort,
// the radix sort's passes and the join's whole-array passes.
#pragma once

#include <algorithm>
#include <cstddef>
#include <thread>
#include <vector>

namespace pitstore {

// How many parts n entries are worth splitting into on `threads` threads: threads cost more
// than they save below 100,000 entries.
inline size_t PartsFor(size_t n, int threads) { return n >= 100'000 ? static_cast<size_t>(std::max(1, threads)) : 1; }

// The bounds of `parts` consecutive parts of [0, n) of about equal size: part p is
// [bounds[p], bounds[p + 1]).
inline std::vector<size_t> EqualParts(size_t n, size_t parts) {
  std::vector<size_t> bounds(parts + 1);
  for (size_t p = 0; p <= parts; ++p) bounds[p] = n * p / parts;
  return bounds;
}

// Calls fn(part, begin, end) for each part of `bounds`, part 0 on this thread and each other
// on a thread of its own; returns when all are done.
template <typename Fn>
void RunParts(const std::vector<size_t>& bounds, Fn&& fn) {
  std::vector<std::thread> pool;
  for (size_t p = 1; p + 1 < bounds.size(); ++p) pool.emplace_back(fn, p, bounds[p], bounds[p + 1]);
  if (bounds.size() >= 2) fn(size_t{0}, bounds[0], bounds[1]);
  for (std::thread& t : pool) t.join();
}

// Calls fn(begin, end) for PartsFor(n, threads) equal parts of [0, n), each on its own thread.
template <typename Fn>
void ForEachPart(size_t n, int threads, Fn&& fn) {
  RunParts(EqualParts(n, PartsFor(n, threads)), [&](size_t, size_t begin, size_t end) { fn(begin, end); });
}

}  // namespace pitstore
