// JoinOnExit: a helper thread joined however its scope is left.
#pragma once

#include <optional>
#include <thread>

namespace pitstore {

// Joins `thread` (if started) however the scope is left, an exception included: destroying a
// running std::thread terminates the process.
struct JoinOnExit {
  std::optional<std::thread>& thread;
  ~JoinOnExit() {
    if (thread && thread->joinable()) thread->join();
  }
};

}  // namespace pitstore
