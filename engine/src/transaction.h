// A transaction of the data file (format/FORMAT.md 1.2): TxnBuilder writes one in memory (then
// one pwrite), ParsedTxn is what recovery and publishing read back, DecodeDataBlock turns a row
// block or segment into rows.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "block.h"
#include "data_file.h"
#include "registry.h"
#include "run.h"
#include "store_format.h"

namespace pitstore {

// One block of a transaction, decoded.
struct TxnBlock {
  uint64_t offset = 0;
  uint64_t end = 0;
  BlockType type = BlockType::kRows;
  std::shared_ptr<const Run> run;  // rows and segments
  // A segment handed to a reader that takes it page by page (StoreImpl::ScanTxns' on_block):
  // no `run`, but the block as read (checksum verified) and its view's types, valid for the call.
  const RawBlock* raw = nullptr;
  const ColumnTypes* types = nullptr;
};

struct ParsedTxn {
  uint64_t start = 0;
  uint64_t end = 0;
  std::vector<TxnBlock> blocks;
  std::shared_ptr<const Registry> registry;  // set when the txn holds a REGISTRY block
  uint64_t registry_offset = 0;
  CommitRecord commit;
};

// Builds a transaction's bytes in memory, then it is written with one pwrite.
class TxnBuilder {
 public:
  explicit TxnBuilder(uint64_t base) : base_(base), txn_start_(base) {}
  // A later part of a transaction begun at `txn_start` (earlier parts already written): a merge
  // writes its segments one at a time, then its commit record.
  TxnBuilder(uint64_t base, uint64_t txn_start) : base_(base), txn_start_(txn_start) {}
  uint64_t next_offset() const { return base_ + bytes_.size(); }
  // Appends a framed block; only row blocks are recorded in the transaction's block list.
  TxnBlock Add(BlockType type, std::string_view raw, int zstd_level) {
    TxnBlock b;
    b.offset = next_offset();
    b.type = type;
    AppendBlock(&bytes_, b.offset, type, raw, zstd_level);
    b.end = next_offset();
    return b;
  }
  // A row batch block, compressed at zstd_level. (Segments are written by merges:
  // StoreImpl::WriteSegment, SegmentWriter.)
  void AddRows(std::shared_ptr<const Run> run, int zstd_level) {
    std::string raw = EncodeRowsBlock(*run);
    bytes_.reserve(bytes_.size() + kBlockHeaderSize + raw.size() + 4096);
    TxnBlock b = Add(BlockType::kRows, raw, zstd_level);
    b.run = std::move(run);
    txn_.blocks.push_back(std::move(b));
  }
  void AddRegistry(std::shared_ptr<const Registry> registry) {
    txn_.registry_offset = next_offset();
    Add(BlockType::kRegistry, EncodeRegistry(*registry), 1);
    txn_.registry = std::move(registry);
  }
  ParsedTxn& Finish(CommitRecord commit) {
    commit.txn_start = txn_start_;
    txn_.start = txn_start_;
    Add(BlockType::kCommit, EncodeCommit(commit), 0);
    txn_.commit = std::move(commit);
    txn_.end = next_offset();
    return txn_;
  }
  const std::string& bytes() const { return bytes_; }

 private:
  uint64_t base_, txn_start_;
  std::string bytes_;
  ParsedTxn txn_;
};

Result<Run> DecodeDataBlock(const RawBlock& b, const Registry& reg, bool verify);
// The view a data block's payload names (its first 4 bytes), or null (too short, or unknown).
const ViewInfo* ViewOfDataBlock(const RawBlock& b, const Registry& reg);

}  // namespace pitstore
