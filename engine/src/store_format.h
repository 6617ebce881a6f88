// The small fixed records of the data file: the file header and the commit record.
//
// HEADER payload (the first block of every file, at offset 0):
//   8  magic "PITSTORE" | u32 format_version (1) | u64 required_features (readers refuse bits
//   they do not know) | u64 optional_features | 16 file_id (random) | i64 created_ts
// COMMIT payload (ends a transaction; all blocks from txn_start up to it belong to it):
//   u64 commit_seq | i64 commit_ts | u64 txn_start | u32 flags | u32 n | n x u64 obsolete offsets
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "pitstore/status.h"

namespace pitstore {

inline constexpr uint32_t kFormatVersion = 1;
// Required feature bits. kFeatureDeltaRestarts: segment time chunks may be DELTA_RESTARTS
// (FORMAT.md 1.10). Files made on 2026-12-06 set it (kFeatureTimeFrames took its place since);
// writers use restarts only in files that have it and not frames, so a build that reads neither
// refuses the file at open rather than calling a page corrupt.
inline constexpr uint64_t kFeatureDeltaRestarts = 1;
// kFeatureInt64KeyRuns: segment key chunks may be KEY_INT64_RUNS (FORMAT.md 1.10), the same way.
inline constexpr uint64_t kFeatureInt64KeyRuns = 2;
// kFeatureTimeFrames: segment time chunks may be FRAMES (FORMAT.md 1.10), the same way.
inline constexpr uint64_t kFeatureTimeFrames = 4;
inline constexpr uint64_t kKnownRequiredFeatures = kFeatureDeltaRestarts | kFeatureInt64KeyRuns | kFeatureTimeFrames;
// What a file this build creates requires (a new store, `copy`, `vacuum`): frames, not restarts,
// for its time chunks.
inline constexpr uint64_t kNewFileFeatures = kFeatureInt64KeyRuns | kFeatureTimeFrames;

struct FileHeader {
  uint32_t format_version = kFormatVersion;
  uint64_t required_features = kNewFileFeatures;  // a new file's
  uint64_t optional_features = 0;
  std::string file_id;  // 16 bytes
  int64_t created_ts = 0;
};

enum CommitFlags : uint32_t {
  // The transaction's row blocks hold rows already committed before (a merge or a vacuum
  // copy): they replace the obsolete blocks and leave latest values unchanged.
  kCommitRewrite = 1,
};

struct CommitRecord {
  uint64_t commit_seq = 0;
  int64_t commit_ts = 0;
  uint64_t txn_start = 0;
  uint32_t flags = 0;
  std::vector<uint64_t> obsolete;  // blocks this commit supersedes
};

std::string EncodeFileHeader(const FileHeader& h);
Result<FileHeader> DecodeFileHeader(std::string_view payload);
std::string EncodeCommit(const CommitRecord& c);
Result<CommitRecord> DecodeCommit(std::string_view payload);

}  // namespace pitstore
