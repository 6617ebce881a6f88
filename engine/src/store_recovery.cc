// Reading transactions back from the data file: recovery after a crash, and rebuilding the index.
#include <chrono>

#include "store_impl.h"

namespace pitstore {

bool StoreImpl::ValidCommitAfter(DataFile& file, uint64_t from, uint64_t size) {
  // Slow path, only after a bad block: look for any intact commit block further on.
  const size_t kChunk = 1 << 20;
  std::string buf;
  for (uint64_t base = from + 1; base + kBlockHeaderSize <= size; base += kChunk) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(kChunk + kBlockHeaderSize, size - base));
    buf.resize(n);
    if (!file.ReadExact(base, n, buf.data()).ok()) return false;
    for (size_t i = 0; i + kBlockHeaderSize <= n && i < kChunk; ++i) {
      if (LoadFixed32(buf.data() + i) != kBlockMagic || buf[i + 4] != static_cast<char>(BlockType::kCommit)) continue;
      auto b = file.ReadBlock(base + i, size, true);
      if (b.ok() && DecodeCommit(b->payload).ok()) return true;
    }
  }
  return false;
}

Status StoreImpl::ScanTxns(DataFile& file, uint64_t from, std::shared_ptr<const Registry> reg,
                           const std::function<Status(ParsedTxn&)>& fn, uint64_t* good_end, std::string* tail_problem,
                           const std::function<Status(const TxnBlock&)>& on_block, uint64_t limit) {
  PITSTORE_ASSIGN_OR_RETURN(uint64_t size, file.FileSize());
  size = std::min(size, limit);
  uint64_t pos = from;
  *good_end = from;
  ParsedTxn txn;
  txn.start = pos;
  while (pos < size) {
    auto b = file.ReadBlock(pos, size, true);
    Status bad;
    if (!b.ok()) {
      bad = b.status();
    } else if (b->header.type == BlockType::kCommit) {
      auto c = DecodeCommit(b->payload);
      if (!c.ok() || c->txn_start != txn.start) {
        bad = Status::Corruption(path_ + ": commit record at offset " + std::to_string(pos) +
                                 " does not match its transaction");
      } else {
        txn.commit = std::move(c).value();
        txn.end = b->end();
        PITSTORE_RETURN_IF_ERROR(fn(txn));
        if (txn.registry) reg = txn.registry;
        *good_end = txn.end;
        txn = ParsedTxn();
        txn.start = b->end();
      }
    } else if (b->header.type == BlockType::kHeader) {
      if (pos != 0) bad = Status::Corruption(path_ + ": header block at offset " + std::to_string(pos));
    } else if (b->header.type == BlockType::kRegistry) {
      auto r = DecodeRegistry(b->payload);
      if (!r.ok()) {
        bad = Status::Corruption(path_ + ": registry at offset " + std::to_string(pos) + ": " + r.status().message());
      } else {
        txn.registry = *r;
        txn.registry_offset = pos;
      }
    } else if (on_block && b->header.type == BlockType::kSegment) {
      // Decoded page by page by on_block (ApplyBlock, Verify): its rows are never held whole.
      // The block checksum held, so rows that do not decode are damage, not a torn write: on_block
      // fails with Corruption rather than the tail being cut here.
      const ViewInfo* v = ViewOfDataBlock(*b, txn.registry ? *txn.registry : *reg);
      if (!v) {
        bad = Status::Corruption(path_ + ": segment at offset " + std::to_string(pos) + " names no known view");
      } else {
        TxnBlock tb;
        tb.offset = pos;
        tb.end = b->end();
        tb.type = b->header.type;
        tb.raw = &*b;
        tb.types = &v->types;
        PITSTORE_RETURN_IF_ERROR(on_block(tb));
        tb.raw = nullptr;
        tb.types = nullptr;
        txn.blocks.push_back(std::move(tb));
      }
    } else {
      auto run = DecodeDataBlock(*b, txn.registry ? *txn.registry : *reg, true);
      if (!run.ok()) {
        bad = Status::Corruption(path_ + ": " + run.status().message());
      } else {
        TxnBlock tb;
        tb.offset = pos;
        tb.end = b->end();
        tb.type = b->header.type;
        tb.run = std::make_shared<Run>(std::move(run).value());
        if (on_block) {
          PITSTORE_RETURN_IF_ERROR(on_block(tb));
          tb.run.reset();
        }
        txn.blocks.push_back(std::move(tb));
      }
    }
    if (!bad.ok()) {
      if (bad.IsIOError()) return bad;
      if (ValidCommitAfter(file, pos, size))
        return Status::Corruption(bad.message() + "; later commits exist, so this is damage, not a torn write");
      *tail_problem = bad.message();
      return Status::OK();
    }
    pos = b->end();
  }
  if (*good_end != size) *tail_problem = "transaction at offset " + std::to_string(*good_end) + " has no commit record";
  return Status::OK();
}

Result<std::shared_ptr<const PendingTail>> StoreImpl::LoadPendingTail(DataFile& file, const IndexMeta& meta,
                                                                      std::shared_ptr<const Registry> reg) {
  auto tail = std::make_shared<PendingTail>();
  tail->from = meta.applied_offset;
  uint64_t good_end = meta.applied_offset;
  std::string torn;  // an incomplete last transaction: recovery cuts it away, readers skip it
  PITSTORE_RETURN_IF_ERROR(ScanTxns(
      file, meta.applied_offset, reg,
      [&](ParsedTxn& t) -> Status {
        tail->transactions++;
        if (t.registry) {
          tail->registry = t.registry;
          tail->registry_offset = t.registry_offset;
        }
        if (t.commit.flags & kCommitRewrite) return Status::OK();
        for (const TxnBlock& b : t.blocks) {
          if (b.type != BlockType::kRows) continue;
          const Run& run = *b.run;
          tail->blocks.push_back(BlockEntryOf(b));
          cache_.Put(file.generation(), b.offset, b.run);
          for (size_t i = 0; i < run.size(); ++i) {
            if (i + 1 < run.size() && run.keys[i + 1] == run.keys[i]) continue;  // a key's last row is its greatest
            auto [it, fresh] = tail->latest.try_emplace(LatestKey(run.view_id, run.keys[i]), b.run, i);
            if (!fresh && it->second.first->version(it->second.second) < run.version(i)) it->second = {b.run, i};
          }
        }
        return Status::OK();
      },
      &good_end, &torn));
  tail->end = good_end;
  if (tail->transactions == 0) return std::shared_ptr<const PendingTail>();
  return std::shared_ptr<const PendingTail>(std::move(tail));
}

Result<std::shared_ptr<const PendingTail>> StoreImpl::PendingAfter(DataFile& file, const IndexMeta& meta,
                                                                   std::shared_ptr<const Registry> reg) {
  const std::pair<uint64_t, uint64_t> key{file.generation(), meta.applied_offset};
  const int64_t now =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
          .count();
  // The common case, on every read of a read-only store: no tail, looked at lately. No lock.
  const uint64_t key_hash = key.first * 0x9E3779B97F4A7C15ull ^ key.second;
  if (no_pending_key_.load(std::memory_order_acquire) == key_hash &&
      now < no_pending_until_.load(std::memory_order_acquire))
    return std::shared_ptr<const PendingTail>();
  {
    MutexLock lock(caches_mu_);
    if (pending_key_ == key && now - pending_checked_ < 50'000) return pending_;
  }
  auto remember_none = [&] {
    no_pending_until_.store(0, std::memory_order_release);  // the key first: never a stale pair
    no_pending_key_.store(key_hash, std::memory_order_release);
    no_pending_until_.store(now + 50'000, std::memory_order_release);
  };
  PITSTORE_ASSIGN_OR_RETURN(uint64_t size, file.FileSize());
  std::shared_ptr<const PendingTail> tail;
  {
    MutexLock lock(caches_mu_);
    if (pending_key_ == key && pending_size_ == size) {
      pending_checked_ = now;
      if (!pending_) remember_none();
      return pending_;
    }
  }
  // A writer at work may still cut back a transaction it could not publish: only a tail no
  // writer owns is certain to be published by the next read-write open.
  if (size > meta.applied_offset && !file.WriterActive()) {
    PITSTORE_ASSIGN_OR_RETURN(tail, LoadPendingTail(file, meta, std::move(reg)));
  }
  MutexLock lock(caches_mu_);
  pending_ = tail;
  pending_key_ = key;
  pending_size_ = size;
  pending_checked_ = now;
  if (!tail) remember_none();
  return tail;
}

Status StoreImpl::Replay(MDB_txn* wt, DataFile& file, uint64_t from, IndexMeta* meta,
                         std::shared_ptr<const Registry>* reg, uint64_t* registry_offset, uint64_t* good_end,
                         std::string* tail, uint64_t limit, bool* redo) {
  bool open_txn_applied = false;  // blocks of a transaction whose commit record is not read yet
  *redo = false;
  Status st = ScanTxns(
      file, from, *reg,
      [&](ParsedTxn& t) REQUIRES(write_mu_) -> Status {  // called by ScanTxns, in this writer
        open_txn_applied = false;
        if (t.registry) {
          *reg = t.registry;
          *registry_offset = t.registry_offset;
        }
        return ApplyCommit(wt, t, meta, file, **reg);
      },
      good_end, tail,
      [&](const TxnBlock& b) REQUIRES(write_mu_) -> Status {
        open_txn_applied = true;
        return ApplyBlock(wt, b, meta);
      },
      limit);
  if (st.ok() && open_txn_applied) *redo = true;
  return st;
}

Status StoreImpl::Recover(uint64_t from) {
  std::shared_ptr<const StoreState> v = Current();
  for (uint64_t limit = UINT64_MAX;;) {
    PITSTORE_ASSIGN_OR_RETURN(IndexTxn wt, index_->BeginWrite());
    IndexMeta meta = meta_;
    std::shared_ptr<const Registry> reg = v->registry;
    uint64_t registry_offset = meta_.registry_offset;
    uint64_t good_end = from;
    std::string tail;
    bool redo = false;
    PITSTORE_RETURN_IF_ERROR(
        Replay(wt.get(), *v->file, from, &meta, &reg, &registry_offset, &good_end, &tail, limit, &redo));
    if (redo) {  // the torn transaction's blocks are in `wt`: start over without them
      limit = good_end;
      continue;
    }
    PITSTORE_ASSIGN_OR_RETURN(uint64_t size, v->file->FileSize());
    if (good_end != size) PITSTORE_RETURN_IF_ERROR(v->file->Truncate(good_end));  // a torn tail: ignore it
    // What is published from now on is durable: commits a crashed writer made without sync may
    // sit in the page cache only.
    PITSTORE_RETURN_IF_ERROR(v->file->Sync());
    meta.applied_offset = good_end;
    meta.synced_offset = good_end;
    meta.file_id = v->file_id;
    PITSTORE_RETURN_IF_ERROR(index_->PutMeta(wt.get(), meta));
    PITSTORE_RETURN_IF_ERROR(wt.Commit());
    meta_ = meta;
    PublishRegistry(std::move(reg), registry_offset);
    return Status::OK();
  }
}

Status StoreImpl::RebuildLocked(DataFile& file) {
  cache_.Clear();
  {
    MutexLock lock(caches_mu_);
    layouts_.clear();
    read_registry_.reset();
  }
  std::optional<IndexTxn> wt;
  IndexMeta meta;
  std::shared_ptr<const Registry> reg;
  uint64_t registry_offset = 0;
  uint64_t good_end = 0;
  std::string tail;
  for (uint64_t limit = UINT64_MAX;;) {
    wt.reset();  // (aborted: a redo)
    {
      PITSTORE_ASSIGN_OR_RETURN(IndexTxn begun, index_->BeginWrite());
      wt.emplace(std::move(begun));
    }
    PITSTORE_RETURN_IF_ERROR(index_->DropAll(wt->get()));
    meta = IndexMeta();
    meta.file_id = Current()->file_id;
    // The registry block of the first transaction precedes every row block.
    reg = std::make_shared<Registry>();
    registry_offset = 0;
    good_end = 0;
    tail.clear();
    bool redo = false;
    PITSTORE_RETURN_IF_ERROR(Replay(wt->get(), file, 0, &meta, &reg, &registry_offset, &good_end, &tail, limit, &redo));
    if (!redo) break;
    limit = good_end;  // the torn transaction's blocks are in `wt`: start over without them
  }
  if (good_end == 0) return Status::Corruption(path_ + ": no complete transaction in the file: " + tail);
  PITSTORE_ASSIGN_OR_RETURN(uint64_t size, file.FileSize());
  if (good_end != size) PITSTORE_RETURN_IF_ERROR(file.Truncate(good_end));
  PITSTORE_RETURN_IF_ERROR(file.Sync());
  meta.applied_offset = good_end;
  meta.synced_offset = good_end;
  PITSTORE_RETURN_IF_ERROR(index_->PutMeta(wt->get(), meta));
  // The same rows as before (the same file, or a vacuumed copy of it): the tail index stays
  // right for readers until it is rebuilt for the new offsets, below.
  if (std::shared_ptr<TailIndex> tail = Current()->tail) tail->Cover(meta.commit_seq);
  PITSTORE_RETURN_IF_ERROR(wt->Commit());
  meta_ = meta;
  PublishRegistry(std::move(reg), registry_offset);
  return ResetTail();
}

}  // namespace pitstore
