// Large arrays whose fresh pages the kernel fills in one call (MADV_POPULATE_WRITE), split
// over threads: filling a fresh multi-megabyte array otherwise takes one page fault per 4 KiB,
// and on virtual machines the fill is a large part of a big join.
//
// Why not huge pages: they were tried (MADV_HUGEPAGE). Measured on the large join (5M labels;
// bench/README.md): back to back, huge pages took 2.98-4.51 s, bimodal, with sys 0.80-2.40 s;
// right after another process (DuckDB) freed gigabytes, 4.30-4.61 s with sys 2.2-2.4 s. With
// 4 KiB pages filled this way: 3.84-4.10 s in both cases, sys 0.8-1.0 s, at the cost of more
// user time in TLB misses (5.8 against 4.3 s over both threads). Steady beats bimodal.
#pragma once

#include <sys/mman.h>

#include <cstdint>
#include <thread>
#include <vector>

namespace pitstore {

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14; older kernels say EINVAL and fault on demand
#endif

// Makes room for n elements in v. When v must grow by a megabyte or more, its pages are filled
// by the kernel in one call per thread (`threads` of them for 16 MiB or more).
template <typename T>
void ReservePopulated(std::vector<T>* v, size_t n, int threads = 1) {
  constexpr uintptr_t kPage = 4096;
  if (n * sizeof(T) < (uintptr_t{1} << 20) || v->capacity() >= n) return;
  std::vector<T>().swap(*v);
  v->reserve(n);  // large: a fresh mmap, not yet touched
  uintptr_t data = reinterpret_cast<uintptr_t>(v->data()), bytes = n * sizeof(T);
  uintptr_t first = data & ~(kPage - 1), last = data + bytes;
  auto populate = [](uintptr_t from, uintptr_t to) {
    if (to > from) (void)::madvise(reinterpret_cast<void*>(from), to - from, MADV_POPULATE_WRITE);
  };
  if (threads <= 1 || bytes < (uintptr_t{16} << 20)) {
    populate(first, last);
  } else {
    std::vector<std::thread> pool;
    uintptr_t part = ((last - first) / static_cast<uintptr_t>(threads) + kPage - 1) & ~(kPage - 1);
    for (uintptr_t from = first; from < last; from += part)
      pool.emplace_back(populate, from, from + part < last ? from + part : last);
    for (std::thread& t : pool) t.join();
  }
}

// v := n copies of value, its pages filled as ReservePopulated fills them.
template <typename T>
void AssignPopulated(std::vector<T>* v, size_t n, const T& value, int threads = 1) {
  ReservePopulated(v, n, threads);
  v->assign(n, value);
}

// An empty v made n default-made elements long, its pages filled as ReservePopulated fills
// them: for a type whose default constructor sets nothing, no element is written, and the
// caller fills them (on threads). (Elements v held would not be kept when it must grow.)
template <typename T>
void ResizePopulated(std::vector<T>* v, size_t n, int threads = 1) {
  ReservePopulated(v, n, threads);
  v->resize(n);
}

}  // namespace pitstore
