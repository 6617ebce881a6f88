// The tail index (tail_index.h) of a store: built at open, extended by each commit (the writer)
// or at the first read after one (a read-only store), replaced after merges.
#include "store_impl.h"

namespace pitstore {

Status StoreImpl::ResetTail(SnapshotImpl& s) {
  auto tail = std::make_shared<TailIndex>();
  auto live = GetLiveBlocks(s);
  if (!live.ok()) tail->SetDamage(live.status());
  for (const BlockEntry& b : live.ok() ? (*live)->tail : std::vector<BlockEntry>{}) {
    auto run = GetRun(s, b.offset);
    if (!run.ok()) {  // the store stays open for repair and for reads that do not need it
      tail->SetDamage(run.status());
      continue;
    }
    tail->Insert(b.offset, std::move(run).value());
  }
  tail->Cover(s.meta.commit_seq);
  PublishTail(std::move(tail));
  return Status::OK();
}

void StoreImpl::PublishTail(std::shared_ptr<TailIndex> tail) {
  StoreState next = *Current();
  std::shared_ptr<TailIndex> replaced = std::move(next.tail);
  next.tail = std::move(tail);
  Publish(std::move(next));
  if (replaced) replaced->Retire();
}

Status StoreImpl::ResetTail() {
  PITSTORE_ASSIGN_OR_RETURN(SnapshotParts parts, BeginSnapshot(false, false));
  SnapshotImpl s(std::move(parts), nullptr);
  return ResetTail(s);
}

Status StoreImpl::CatchUpTail(SnapshotImpl& s) {
  std::shared_ptr<TailIndex> tail = Current()->tail;
  if (tail && tail->covered() >= s.meta.commit_seq) return Status::OK();  // another reader did
  if (!tail || s.file != Current()->file) return ResetTail(s);
  PITSTORE_ASSIGN_OR_RETURN(auto live, GetLiveBlocks(s));
  std::set<uint64_t> live_offsets, held;
  for (const BlockEntry& b : live->tail) live_offsets.insert(b.offset);
  for (const auto& batch : tail->batches()) {
    // A batch merged away: its rows are in `latest` now, but start afresh (the tail only grows).
    if (!live_offsets.count(batch.first)) return ResetTail(s);
    held.insert(batch.first);
  }
  for (const BlockEntry& b : live->tail)  // in offset order, which is commit order
    if (!held.count(b.offset)) {
      auto run = GetRun(s, b.offset);
      if (!run.ok()) return ResetTail(s);  // marks the damage
      tail->Insert(b.offset, std::move(run).value());
    }
  tail->Cover(s.meta.commit_seq);
  return Status::OK();
}

}  // namespace pitstore
