// What the engine benchmarks (engine_bench.cc, ingest_bench.cc) generate alike: feature names
// and the order in which entities arrive.
#pragma once

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace pitstore::bench {

inline std::string FeatureName(int f) {
  std::string name = "f";  // not "f" + to_string(f): GCC 12 warns falsely (-Wrestrict) on that
  name += std::to_string(f);
  return name;
}

// The entity of row `row` (ids 1..entities): a random order per pass over all entities, so every
// batch holds random keys (as arrival order does) and every entity gets exactly one row per pass.
inline int64_t EntityOfRow(int64_t entities, int64_t row) {
  static std::vector<int64_t> perm;
  static int64_t perm_pass = -1, perm_entities = -1;
  int64_t pass = row / entities;
  if (pass != perm_pass || entities != perm_entities) {
    perm.resize(entities);
    for (int64_t i = 0; i < entities; ++i) perm[i] = i + 1;
    std::mt19937_64 rng(1000 + pass);
    std::shuffle(perm.begin(), perm.end(), rng);
    perm_pass = pass;
    perm_entities = entities;
  }
  return perm[row % entities];
}

}  // namespace pitstore::bench
