// SnapshotImpl: a consistent read view, one LMDB read transaction and the file and registry it
// names. Counted while a caller holds it (Vacuum waits for none to be open).
#pragma once

#include <atomic>
#include <memory>

#include "data_file.h"
#include "index.h"
#include "pending_tail.h"
#include "pitstore/store.h"
#include "registry.h"
#include "tail_index.h"

namespace pitstore {

// What a snapshot reads through: one index read transaction and the state it names.
struct SnapshotParts {
  IndexTxn txn;
  std::shared_ptr<const Registry> registry;
  std::shared_ptr<DataFile> file;
  IndexMeta meta;
  std::shared_ptr<const PendingTail> pending;  // read-only stores after a writer's crash
  std::shared_ptr<const TailIndex> tail;       // covers meta.commit_seq
};

class SnapshotImpl : public Snapshot {
 public:
  SnapshotImpl(SnapshotParts parts, std::atomic<int>* open_count)
      : txn(std::move(parts.txn)),
        registry(std::move(parts.registry)),
        file(std::move(parts.file)),
        meta(std::move(parts.meta)),
        pending(std::move(parts.pending)),
        tail(std::move(parts.tail)),
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
  std::shared_ptr<const PendingTail> pending;
  std::shared_ptr<const TailIndex> tail;  // the unmerged row batches' greatest versions (or null)
  // The end of what this snapshot reads in the file.
  uint64_t visible_end() const { return pending ? pending->end : meta.applied_offset; }

 private:
  std::atomic<int>* open_count_;
};

}  // namespace pitstore
