// OpenStoreClaim: the stores this process has open, by their data file's (device, inode).
//
// LMDB allows one environment per file per process: closing a second environment of the same
// index releases the first one's locks. So a second open of one store in one process, by
// whatever path, is refused with a clear error rather than let in (notebooks re-run the cell
// that opens a store). A claim lives as long as its Store; a child after fork() starts with
// no claims (the parent's are not its own).
#pragma once

#include <unistd.h>

#include <cstdint>
#include <memory>
#include <string>

#include "pitstore/status.h"

namespace pitstore {

class DataFile;

class OpenStoreClaim {
 public:
  // Claims the store whose data file is `file`; Busy if this process already has it open, by
  // the same file or the same path.
  static Result<std::unique_ptr<OpenStoreClaim>> Claim(const DataFile& file);
  ~OpenStoreClaim();
  OpenStoreClaim(const OpenStoreClaim&) = delete;
  OpenStoreClaim& operator=(const OpenStoreClaim&) = delete;

  // Vacuum replaced the data file by `file` (a new inode): the claim moves to it.
  Status MoveTo(const DataFile& file);

 private:
  OpenStoreClaim(uint64_t device, uint64_t inode, std::string canonical)
      : device_(device), inode_(inode), canonical_(std::move(canonical)), pid_(::getpid()) {}
  uint64_t device_, inode_;
  std::string canonical_;
  pid_t pid_;  // the process that claimed
};

}  // namespace pitstore
