// The write path: a batch checked and turned into rows, its transaction written and synced, then
// published to the index in one LMDB transaction.
#include <optional>
#include <system_error>
#include <thread>

#include "join_on_exit.h"
#include "store_impl.h"

namespace pitstore {

Status StoreImpl::IndexSegmentKey(IndexCursors& cursors, const Run& run, size_t i, size_t j, int64_t added,
                                  std::string* lkey) {
  AssignLatestKey(run.view_id, run.keys[i], lkey);
  std::string* value = cursors.scratch();  // both buffers reused from key to key
  // Rows are sorted, so the group's last row is its greatest version. Callers index a segment's
  // keys in order, each segment with cursors of its own.
  PITSTORE_ASSIGN_OR_RETURN(auto cur, cursors.GetLatestInOrder(*lkey));
  if (!cur) {
    if (added < 0) return IndexMovesUnknownKey();
    EncodeLatestInto(*lkey, run, j - 1, static_cast<uint32_t>(added), value);
    return cursors.PutLatest(*lkey, *value);
  }
  uint32_t segments = 0;
  PITSTORE_ASSIGN_OR_RETURN(Version v, DecodeLatestVersion(*lkey, *cur, &segments));
  if (int64_t{segments} + added < 0) return IndexMovesUnknownKey();
  const uint32_t now = static_cast<uint32_t>(segments + added);
  // The cursor is still on the entry it found: replaced in place, not searched for again.
  if (v < run.version(j - 1)) {
    EncodeLatestInto(*lkey, run, j - 1, now, value);
    return cursors.ReplaceFound(*lkey, *value);
  }
  if (now != segments) {
    WithLatestSegmentsInto(*lkey, *cur, now, value);
    return cursors.ReplaceFound(*lkey, *value);
  }
  return Status::OK();
}

Status StoreImpl::DepartKey(IndexCursors& cursors, const std::string& lkey, uint32_t leaving) {
  PITSTORE_ASSIGN_OR_RETURN(auto cur, cursors.GetLatest(lkey));
  uint32_t segments = 0;
  if (cur) PITSTORE_RETURN_IF_ERROR(DecodeLatestVersion(lkey, *cur, &segments).status());
  if (!cur || segments < leaving) return IndexMovesUnknownKey();
  if (segments == leaving) return cursors.DelLatest(lkey);  // no segment holds the key any more (an erasure)
  return cursors.ReplaceFound(lkey, WithLatestSegments(lkey, *cur, segments - leaving));
}

Status StoreImpl::IndexMovesUnknownKey() const {
  return Status::Corruption(path_ + "-index: a merge moves a key the index does not hold (rebuild the index)");
}

Status StoreImpl::RetireBlocks(MDB_txn* txn, const std::vector<BlockEntry>& obsolete, IndexMeta* meta) {
  for (const BlockEntry& entry : obsolete) {
    PITSTORE_RETURN_IF_ERROR(index_->DelBlock(txn, entry.offset));
    meta->live_blocks--;
    meta->live_digest ^= BlockDigest(entry.offset, entry.type, entry.view_id);
    const uint64_t generation = Current()->file->generation();
    cache_.EraseBlock(generation, entry.offset);
    MutexLock lock(caches_mu_);
    layouts_.erase({generation, entry.offset});
  }
  return Status::OK();
}

Status StoreImpl::ApplySegmentPages(MDB_txn* txn, const TxnBlock& b, IndexMeta* meta) {
  BlockEntry be;
  be.offset = b.offset;
  be.type = b.type;
  be.stored_bytes = b.end - b.offset;
  be.min_event_ts = INT64_MAX;
  be.max_event_ts = INT64_MIN;
  auto cursors = index_->Cursors(txn);
  PITSTORE_RETURN_IF_ERROR(cursors->status());
  std::string lkey;
  // A key whose rows reach the end of a page may go on in the next: its last row waits here
  // until the key ends, so each key is counted into its segment once, with its greatest version.
  Run carry;
  Status st = ForEachSegmentPage(b.raw->payload, b.offset + kBlockHeaderSize, *b.types, true,
                                 [&](const SegmentLayout& l, const Run& page) REQUIRES(write_mu_) -> Status {
                                   be.view_id = l.view_id;
                                   be.rows += static_cast<uint32_t>(page.size());
                                   be.raw_bytes += page.LogicalBytes();
                                   for (size_t i = 0; i < page.size(); ++i) {
                                     be.min_event_ts = std::min(be.min_event_ts, page.event_ts[i]);
                                     be.max_event_ts = std::max(be.max_event_ts, page.event_ts[i]);
                                   }
                                   for (size_t i = 0; i < page.size();) {
                                     const size_t j = page.KeyEnd(i);
                                     if (carry.size() && carry.keys[0] != page.keys[i]) {
                                       PITSTORE_RETURN_IF_ERROR(IndexSegmentKey(*cursors, carry, 0, 1, 1, &lkey));
                                       carry = Run();
                                     }
                                     if (j == page.size()) {
                                       carry = page.EmptyLike();
                                       carry.AppendRow(page, j - 1);
                                     } else {
                                       carry = Run();  // the key ends here, with a greater version than the one carried
                                       PITSTORE_RETURN_IF_ERROR(IndexSegmentKey(*cursors, page, i, j, 1, &lkey));
                                     }
                                     i = j;
                                   }
                                   return Status::OK();
                                 });
  if (st.ok() && carry.size()) st = IndexSegmentKey(*cursors, carry, 0, 1, 1, &lkey);
  if (!st.ok())
    return st.IsCorruption()
               ? Status::Corruption(path_ + ": segment at offset " + std::to_string(b.offset) + ": " + st.message())
               : st;
  if (be.rows == 0) be.min_event_ts = be.max_event_ts = 0;
  PITSTORE_RETURN_IF_ERROR(index_->PutBlock(txn, be));
  meta->live_blocks++;
  meta->live_digest ^= BlockDigest(be.offset, be.type, be.view_id);
  return Status::OK();
}

Status StoreImpl::ApplyBlock(MDB_txn* txn, const TxnBlock& b, IndexMeta* meta) {
  if (b.raw) return ApplySegmentPages(txn, b, meta);
  const BlockEntry be = BlockEntryOf(b);
  PITSTORE_RETURN_IF_ERROR(index_->PutBlock(txn, be));
  meta->live_blocks++;
  meta->live_digest ^= BlockDigest(be.offset, be.type, be.view_id);
  // Row batches get nothing more: readers find their rows by a key table (TailSpans) and
  // their latest versions in the tail index, so a commit writes a few index pages, not one
  // per key. Their keys reach `latest` when a merge turns them into segments.
  if (b.type == BlockType::kRows) return Status::OK();
  const Run& run = *b.run;
  auto cursors = index_->Cursors(txn);
  PITSTORE_RETURN_IF_ERROR(cursors->status());
  std::string lkey;
  for (size_t i = 0; i < run.size();) {
    const size_t j = run.KeyEnd(i);
    PITSTORE_RETURN_IF_ERROR(IndexSegmentKey(*cursors, run, i, j, 1, &lkey));
    i = j;
  }
  return Status::OK();
}

Status StoreImpl::ApplyCommit(MDB_txn* txn, const ParsedTxn& t, IndexMeta* meta, DataFile& file, const Registry& reg) {
  // The blocks this commit supersedes: each key of a superseded segment leaves it (the new
  // segments, already applied, counted their keys in).
  std::vector<BlockEntry> obsolete;
  std::string lkey;
  for (uint64_t off : t.commit.obsolete) {
    PITSTORE_ASSIGN_OR_RETURN(std::optional<BlockEntry> entry, index_->GetBlock(txn, off));
    if (!entry)
      return Status::Corruption(path_ + ": a commit supersedes block " + std::to_string(off) + ", which is not live");
    obsolete.push_back(*entry);
    if (entry->type != BlockType::kSegment) continue;
    PITSTORE_ASSIGN_OR_RETURN(RawBlock rb, file.ReadBlock(off, t.start, true));
    const ViewInfo* v = ViewOfDataBlock(rb, reg);
    if (!v) return Status::Corruption(path_ + ": segment at offset " + std::to_string(off) + " names no known view");
    auto cursors = index_->Cursors(txn);
    PITSTORE_RETURN_IF_ERROR(cursors->status());
    std::string last_key;  // a key may go on across pages: it leaves once
    bool any = false;
    Status st = ForEachSegmentPage(rb.payload, off + kBlockHeaderSize, v->types, true,
                                   [&](const SegmentLayout&, const Run& page) REQUIRES(write_mu_) -> Status {
                                     for (size_t i = 0; i < page.size(); i = page.KeyEnd(i)) {
                                       if (any && page.keys[i] == last_key) continue;
                                       any = true;
                                       last_key = page.keys[i];
                                       lkey = LatestKey(page.view_id, page.keys[i]);
                                       PITSTORE_RETURN_IF_ERROR(DepartKey(*cursors, lkey, 1));
                                     }
                                     return Status::OK();
                                   });
    if (!st.ok())
      return st.IsCorruption()
                 ? Status::Corruption(path_ + ": segment at offset " + std::to_string(off) + ": " + st.message())
                 : st;
  }
  PITSTORE_RETURN_IF_ERROR(RetireBlocks(txn, obsolete, meta));
  if (t.registry) meta->registry_offset = t.registry_offset;
  meta->commit_seq = t.commit.commit_seq;
  meta->commit_ts = std::max(meta->commit_ts, t.commit.commit_ts);
  meta->applied_offset = t.end;
  return Status::OK();
}

Status StoreImpl::ApplyTxn(MDB_txn* txn, const ParsedTxn& t, IndexMeta* meta, DataFile& file, const Registry& reg) {
  for (const TxnBlock& b : t.blocks) PITSTORE_RETURN_IF_ERROR(ApplyBlock(txn, b, meta));
  return ApplyCommit(txn, t, meta, file, reg);
}

Status StoreImpl::WriteAndPublish(const TxnBuilder& tb, ParsedTxn& t, bool sync) {
  const uint64_t base = t.start;
  std::shared_ptr<DataFile> file = Current()->file;
  auto undo = [&](Status st) {
    (void)file->Truncate(base);
    return st;
  };
  // A synced commit's write (the kernel's copy of the bytes) and sync (the device) go on another
  // thread where the environment allows one (and one can be had), while this one does the
  // index and tail index work. Nothing is published before both are done, and nothing of the
  // index work reads the new bytes (ApplyTxn reads only blocks before t.start). On failure
  // WriteAt cuts the file back.
  // Once synced, the transaction's bytes leave the page cache: this process holds what it wrote
  // in memory (rows in the live-block list and tail index, a registry in the store), so they
  // are read again only by a reopen, a reader in another process, or when a batch does not fit
  // the block cache; cached, they would crowd out the segments readers need. (Pages the kernel
  // must find afresh for every commit also cost, in a virtual machine, ten times the copy of
  // the bytes: bench/README.md.)
  auto write_and_sync = [&] {
    Status st = file->WriteAt(base, tb.bytes());
    if (st.ok() && sync) {
      st = file->Sync();
      if (st.ok()) file->ReleaseCached(base, tb.bytes().size());
    }
    return st;
  };
  Status written;
  std::optional<std::thread> writer;
  JoinOnExit join_writer{writer};  // whatever leaves this function (bad_alloc included)
  if (sync && env_->MaxThreads() > 1) {
    try {
      writer.emplace([&] { written = write_and_sync(); });
    } catch (const std::system_error&) {  // no thread to be had: in turn
      writer.reset();
    }
  }
  if (!writer) {
    written = write_and_sync();
    if (!written.ok()) return undo(written);
  }
  auto joined = [&] {
    if (writer && writer->joinable()) writer->join();
    return written;
  };
  auto wt = index_->BeginWrite();
  if (!wt.ok()) {
    (void)joined();
    return undo(wt.status());
  }
  IndexMeta meta = meta_;
  Status st = ApplyTxn(wt->get(), t, &meta, *file, *Current()->registry);
  if (sync) meta.synced_offset = meta.applied_offset;
  if (st.ok()) st = index_->PutMeta(wt->get(), meta);
  // The tail index learns the commit before the index publishes it (see tail_index.h).
  std::shared_ptr<TailIndex> tail = Current()->tail;
  if (st.ok() && tail) {
    for (const TxnBlock& b : t.blocks)
      if (b.type == BlockType::kRows) tail->Insert(b.offset, b.run);
    tail->Cover(t.commit.commit_seq);
  }
  if (Status s = joined(); st.ok() && !s.ok()) st = s;
  if (!sync) index_->SetSync(false);
  if (st.ok()) st = wt->Commit();
  if (!sync) index_->SetSync(true);
  if (!st.ok()) {
    if (tail) {  // it holds rows of a commit that did not happen: start from what did
      std::set<uint64_t> failed;
      for (const TxnBlock& b : t.blocks) failed.insert(b.offset);
      PublishTail(tail->Without(failed, meta_.commit_seq));
    }
    return undo(st);
  }
  meta_ = meta;
  if (tail) {  // batches a merge superseded leave the tail (their rows are in `latest` now)
    std::set<uint64_t> merged;
    for (const auto& batch : tail->batches())
      if (std::find(t.commit.obsolete.begin(), t.commit.obsolete.end(), batch.first) != t.commit.obsolete.end())
        merged.insert(batch.first);
    if (!merged.empty()) PublishTail(tail->Without(merged, meta_.commit_seq));
  }
  for (const TxnBlock& b : t.blocks)
    if (b.type == BlockType::kRows) cache_.Put(file->generation(), b.offset, b.run);
  if (t.registry) {
    PublishRegistry(t.registry, t.registry_offset);
  }
  return Status::OK();
}

Result<Run> StoreImpl::BuildRun(const ViewInfo& v, const WriteBatch& batch, uint64_t commit_seq, int64_t commit_ts) {
  const size_t n = batch.size();
  const size_t nfeat = v.def.features.size();
  // Batches give the features users see (dropped ones left out, which stay null).
  const std::vector<int>& visible = v.all_features;
  auto where = [&](size_t row, const std::string& column) {
    return "view '" + v.def.name + "', row " + std::to_string(row) + ", column '" + column + "': ";
  };
  Run run;
  run.view_id = v.id;
  for (const FeatureDef& f : v.def.features) {
    run.columns.push_back(Column::Of(f.type, f.dim));
    run.columns.back().Reserve(n);
  }
  run.keys.reserve(n);
  run.event_ts.reserve(n);
  run.system_ts.reserve(n);
  run.seq.reserve(n);
  if (n >= (uint64_t{1} << 32)) return Status::InvalidArgument("a batch holds at most 2^32 - 1 rows");
  bool has_sys = !batch.system_ts().empty();
  if (has_sys && batch.system_ts().size() != n)
    return Status::InvalidArgument("view '" + v.def.name + "': system_ts has " +
                                   std::to_string(batch.system_ts().size()) + " entries for " + std::to_string(n) +
                                   " rows");
  const std::vector<Column>& key_columns = batch.key_columns();
  if (key_columns.empty() && batch.keys().size() != n)
    return Status::InvalidArgument("view '" + v.def.name + "': " + std::to_string(batch.keys().size()) + " keys for " +
                                   std::to_string(n) + " rows");
  if (!key_columns.empty()) {
    if (key_columns.size() != v.key_columns.size())
      return Status::InvalidArgument("view '" + v.def.name + "': " + std::to_string(key_columns.size()) +
                                     " key columns for " + std::to_string(v.key_columns.size()) + " join key(s)");
    for (size_t k = 0; k < key_columns.size(); ++k) {
      const Column& c = key_columns[k];
      const JoinKeyDef& def = v.key_columns[k];
      FeatureType want = def.type == KeyType::kInt64 ? FeatureType::kInt64 : FeatureType::kString;
      if (c.type != want || c.size() != n)
        return Status::InvalidArgument("view '" + v.def.name + "': key column '" + def.name + "' must be " +
                                       (want == FeatureType::kInt64 ? "an int64" : "a string") + " column of " +
                                       std::to_string(n) + " rows");
      for (size_t i = 0; i < c.valid.size(); ++i)
        if (!c.valid[i]) return Status::InvalidArgument(where(i, def.name) + "a join key is null");
    }
  }
  auto key_of = [&](size_t i) -> Result<std::string> {
    if (key_columns.empty()) return KeyFor(v, batch.keys()[i], where(i, "<key>"));
    std::string enc;
    for (const Column& c : key_columns) {
      if (c.type == FeatureType::kInt64)
        EncodeKeyPart(KeyPart(c.ints[i]), &enc);
      else
        EncodeKeyPart(KeyPart(c.strings[i]), &enc);
    }
    if (enc.size() > kMaxEncodedKeyBytes)
      return Status::InvalidArgument(where(i, "<key>") + "entity key longer than " +
                                     std::to_string(kMaxEncodedKeyBytes) + " encoded bytes");
    return enc;
  };
  if (batch.event_ts().size() != n)
    return Status::InvalidArgument("view '" + v.def.name + "': event_ts has the wrong number of entries");
  for (size_t i = 0; i < n; ++i) {
    PITSTORE_ASSIGN_OR_RETURN(std::string key, key_of(i));
    Timestamp ev = batch.event_ts()[i];
    if (ev == kMinTimestamp || ev == kMaxTimestamp)
      return Status::InvalidArgument(where(i, v.def.event_ts_column.empty() ? "event_ts" : v.def.event_ts_column) +
                                     "timestamp out of range");
    Timestamp sys = has_sys ? batch.system_ts()[i] : kCommitTime;
    if (sys == kCommitTime) sys = commit_ts;
    if (sys == kMaxTimestamp) return Status::InvalidArgument(where(i, "system_ts") + "timestamp out of range");
    run.keys.push_back(std::move(key));
    run.event_ts.push_back(ev);
    run.system_ts.push_back(sys);
    run.seq.push_back((commit_seq << 32) | i);
  }
  auto check = [&](const FeatureDef& f, const Value& val, size_t row) -> Status {
    if (val.is_null()) return Status::OK();
    if (val.type() != f.type)
      return Status::InvalidArgument(where(row, f.name) + "expected " + FeatureTypeName(f.type) + ", got " +
                                     FeatureTypeName(val.type()));
    if (f.type == FeatureType::kFloat32Vector && val.as_vector().size() != f.dim)
      return Status::InvalidArgument(where(row, f.name) + "expected a vector of " + std::to_string(f.dim) +
                                     " floats, got " + std::to_string(val.as_vector().size()));
    return Status::OK();
  };
  if (!batch.columnar()) {
    for (size_t i = 0; i < n; ++i) {
      const std::vector<Value>& values = batch.row_values()[i];
      if (values.size() != visible.size())
        return Status::InvalidArgument(where(i, "*") + "expected " + std::to_string(visible.size()) + " values, got " +
                                       std::to_string(values.size()));
      for (size_t k = 0; k < visible.size(); ++k) {
        PITSTORE_RETURN_IF_ERROR(check(v.def.features[visible[k]], values[k], i));
        run.columns[visible[k]].Append(values[k]);
      }
      if (visible.size() != nfeat)
        for (size_t c = 0; c < nfeat; ++c)
          if (v.IsDropped(c)) run.columns[c].AppendNull();
    }
    return run;
  }
  std::vector<const Column*> given(nfeat, nullptr);
  for (const auto& [name, col] : batch.columns()) {
    const int found = v.FeatureIndex(name);
    if (found < 0) return Status::InvalidArgument("view '" + v.def.name + "': unknown column '" + name + "'");
    const size_t c = static_cast<size_t>(found);
    if (given[c]) return Status::InvalidArgument("view '" + v.def.name + "': column '" + name + "' given twice");
    const FeatureDef& f = v.def.features[c];
    if (col.type != f.type || col.dim != f.dim)
      return Status::InvalidArgument("view '" + v.def.name + "', column '" + name + "': expected " +
                                     FeatureTypeName(f.type) + ", got " + FeatureTypeName(col.type) +
                                     (f.type == FeatureType::kFloat32Vector ? " (or another dim)" : ""));
    if (col.size() != n || (!col.valid.empty() && col.valid.size() != n))
      return Status::InvalidArgument("view '" + v.def.name + "', column '" + name + "': " + std::to_string(col.size()) +
                                     " values for " + std::to_string(n) + " rows");
    given[c] = &col;
  }
  for (size_t c = 0; c < nfeat; ++c) {
    if (given[c]) {
      if (v.def.features[c].type == FeatureType::kInt32)
        for (size_t i = 0; i < n; ++i)
          if (given[c]->ints[i] < INT32_MIN || given[c]->ints[i] > INT32_MAX)
            return Status::InvalidArgument(where(i, v.def.features[c].name) + "value out of int32 range");
      if (v.def.features[c].type == FeatureType::kBool)
        for (size_t i = 0; i < n; ++i)
          if (given[c]->ints[i] != 0 && given[c]->ints[i] != 1)
            return Status::InvalidArgument(where(i, v.def.features[c].name) + "bool must be 0 or 1");
      run.columns[c] = *given[c];
    } else {
      for (size_t i = 0; i < n; ++i) run.columns[c].AppendNull();
    }
  }
  return run;
}

Result<CommitInfo> StoreImpl::Append(const std::string& view, const WriteBatch& batch, const WriteOptions& options) {
  bool stall = false;
  Result<CommitInfo> info = CommitBatch(view, batch, options, &stall);
  // The tail outgrew twice the merge limits: merges fall behind, so this commit waits for one
  // (outside the writer's lock, which it needs) rather than let the tail grow without bound.
  if (stall) WaitForAMerge();
  return info;
}

Result<CommitInfo> StoreImpl::CommitBatch(const std::string& view, const WriteBatch& batch, const WriteOptions& options,
                                          bool* stall) {
  if (options_.read_only) return Status::InvalidArgument("store is open read-only");
  for (int spins = 0; merge_waiting_.load(std::memory_order_relaxed) > 0; ++spins) {
    if (spins < 100)
      std::this_thread::yield();
    else
      std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
  MutexLock lock(write_mu_);
  PITSTORE_RETURN_IF_ERROR(broken_);
  std::shared_ptr<const Registry> reg = Current()->registry;  // held: v points into it
  PITSTORE_ASSIGN_OR_RETURN(const ViewInfo* v, FindView(*reg, view));
  CommitRecord c;
  c.commit_seq = meta_.commit_seq + 1;
  c.commit_ts = std::max(NowMicros(), meta_.commit_ts + 1);
  PITSTORE_ASSIGN_OR_RETURN(Run run, BuildRun(*v, batch, c.commit_seq, c.commit_ts));
  CommitInfo info{c.commit_seq, c.commit_ts, batch.size(), Status::OK()};
  if (batch.empty()) return info;
  run.Sort();
  TxnBuilder tb(meta_.applied_offset);
  // Readers find a key's rows in the batch by its key table (TailSpans).
  if (run.size() <= kMaxRowsPerRowBlock) {
    run.key_table = KeyTable::Build(run.keys);
    tb.AddRows(std::make_shared<Run>(std::move(run)), options_.row_block_zstd_level);
  } else {
    for (size_t start = 0; start < run.size(); start += kMaxRowsPerRowBlock) {
      auto piece = std::make_shared<Run>(run.EmptyLike());
      for (size_t i = start; i < std::min(run.size(), start + size_t{kMaxRowsPerRowBlock}); ++i)
        piece->AppendRow(run, i);
      piece->key_table = KeyTable::Build(piece->keys);
      tb.AddRows(std::move(piece), options_.row_block_zstd_level);
    }
  }
  ParsedTxn& t = tb.Finish(c);
  PITSTORE_RETURN_IF_ERROR(WriteAndPublish(tb, t, options.sync));
  if (options_.auto_flush_row_blocks > 0 || options_.auto_flush_rows > 0)
    info.merge = options_.background_merges && env_->MaxThreads() > 1 ? RequestMerge(*v, stall) : AutoFlush(*v);
  return info;
}

Result<bool> StoreImpl::FlushInputs(const ViewInfo& v, std::vector<BlockEntry>* inputs, uint64_t* tail_rows,
                                    uint64_t* row_blocks) {
  PITSTORE_ASSIGN_OR_RETURN(IndexTxn rt, index_->BeginRead());
  std::vector<BlockEntry> blocks;
  PITSTORE_RETURN_IF_ERROR(index_->ListBlocks(rt.get(), &blocks));
  PITSTORE_RETURN_IF_ERROR(rt.Commit());
  *row_blocks = *tail_rows = 0;
  for (const BlockEntry& b : blocks) {
    if (b.view_id != v.id) continue;
    if (b.type == BlockType::kRows) {
      ++*row_blocks;
      *tail_rows += b.rows;
    }
    if (b.type == BlockType::kRows || SmallSegment(b)) inputs->push_back(b);
  }
  const bool flush = (options_.auto_flush_row_blocks && *row_blocks >= options_.auto_flush_row_blocks) ||
                     (options_.auto_flush_rows && *tail_rows >= options_.auto_flush_rows);
  // After a failed merge (a full disk or index map), the next try waits until the tail has
  // doubled: retrying at every commit would redo an ever larger merge for nothing.
  return flush && *tail_rows >= auto_flush_retry_rows_;
}

Status StoreImpl::AutoFlush(const ViewInfo& v) {
  std::vector<BlockEntry> inputs;
  uint64_t row_blocks = 0, tail_rows = 0;
  PITSTORE_ASSIGN_OR_RETURN(bool due, FlushInputs(v, &inputs, &tail_rows, &row_blocks));
  if (!due) return Status::OK();
  // The batch is committed; a failed merge leaves it (and everything else) as it was.
  Status st = MergeView(v, inputs);
  auto_flush_retry_rows_ = st.ok() ? 0 : 2 * tail_rows;
  return st;
}

}  // namespace pitstore
