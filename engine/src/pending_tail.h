// PendingTail: transactions a writer made durable in the data file but did not publish to the
// index, because it stopped (was killed) in between. The next read-write open publishes every
// one of them (Recover); until then a read-only reader sees them through this overlay, so that
// it answers as recovery will: the same rows, the same counts.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "index.h"
#include "registry.h"
#include "run.h"

namespace pitstore {

struct PendingTail {
  uint64_t from = 0;                         // the index's applied offset
  uint64_t end = 0;                          // the end of the last complete transaction after it
  uint64_t transactions = 0;                 // complete transactions in [from, end)
  std::shared_ptr<const Registry> registry;  // the newest registry among them, or null
  uint64_t registry_offset = 0;
  // Their row batches. A merge among them is left out: it changes no row, and the batches it
  // would supersede stay visible in its place.
  std::vector<BlockEntry> blocks;  // read as any block (GetRun reads up to `end`)
  // The greatest pending row of each key (latest-table key).
  std::unordered_map<std::string, std::pair<std::shared_ptr<const Run>, size_t>> latest;
};

}  // namespace pitstore
