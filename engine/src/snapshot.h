// SnapshotImpl: a consistent read view, one LMDB read transaction and the file and registry it
// names. Counted while a caller holds it (Vacuum waits for none to be open).
#pragma once

#include <atomic>
#include <memory>

#include "data_file.h"
#include "index.h"
#include "pitstore/store.h"
#include "registry.h"

namespace pitstore {

// What a snapshot reads through: one index read transaction and the state it names.
struct SnapshotParts {
  IndexTxn txn;
  std::shared_ptr<const Registry> registry;
  std::shared_ptr<DataFile> file;
  IndexMeta meta;
};

class SnapshotImpl : public Snapshot {
 public:
  SnapshotImpl(SnapshotParts parts, std::atomic<int>* open_count)
      : txn(std::move(parts.txn)),
        registry(std::move(parts.registry)),
        file(std::move(parts.file)),
        meta(std::move(parts.meta)),
        open_count_(open_count) {
    if (open_count_) ++*open_count_;
  }
  ~SnapshotImpl() override {
    if (open_count_) --*open_count_;
  }
  uint64_t commit_seq() const override { return meta.commit_seq; }

  IndexTxn txn;
  std::shared_ptr<const Registry> registry;
  std::shared_ptr<DataFile> file;
  IndexMeta meta;

 private:
  std::atomic<int>* open_count_;
};

}  // namespace pitstore
