// The YAML definitions loader on arbitrary text: a Definitions value or an error naming the
// place, never a crash, a hang or a leak (yaml-cpp's recursion is guarded by a depth check).
#include <cstddef>
#include <cstdint>
#include <string>

#include "pitstore/workflow/definitions.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)pitstore::workflow::ParseDefinitions(std::string(reinterpret_cast<const char*>(data), size), "in.yaml");
  return 0;
}
