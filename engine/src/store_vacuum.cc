// Compacted rewrites of the data file: vacuum (in place) and copy (to ship), and index rebuilds on
// demand.
#include "store_impl.h"

namespace pitstore {

Result<std::shared_ptr<DataFile>> StoreImpl::WriteCompactedCopy(const std::string& dest, std::string* file_id) {
  PITSTORE_ASSIGN_OR_RETURN(auto snap, NewSnapshot());  // one consistent state is copied
  std::vector<BlockEntry> blocks;
  PITSTORE_RETURN_IF_ERROR(SnapshotBlocks(*snap, &blocks));
  std::shared_ptr<const Registry> reg = snap->registry;
  PITSTORE_ASSIGN_OR_RETURN(auto out, DataFile::Open(env_, dest, false, true));
  auto fail = [&](Status st) {
    (void)env_->Remove(dest);
    return st;
  };
  if (Status st = out->Truncate(0); !st.ok()) return fail(st);  // what an interrupted copy left
  // A new header (new file id), the registry, then each view's rows merged into segments.
  FileHeader h;
  h.file_id = NewFileId(env_);
  h.created_ts = NowMicros();
  uint64_t end = 0, seq = snap->meta.commit_seq;
  int64_t ts = std::max(NowMicros(), snap->meta.commit_ts + 1);
  {
    TxnBuilder tb(0);
    tb.Add(BlockType::kHeader, EncodeFileHeader(h), 0);
    tb.AddRegistry(reg);
    tb.Finish(CommitRecord{++seq, ts, 0, 0, {}});
    Status st = out->WriteAt(0, tb.bytes());
    if (!st.ok()) return fail(st);
    out->set_required_features(h.required_features);
    end = tb.bytes().size();
  }
  // Each view merged page by page and written a few pages at a time; each segment its own
  // transaction, so neither this nor the index rebuild that reads the file back holds more
  // than a few pages of rows.
  class Segments : public WrittenSegments {
   public:
    Segments(StoreImpl& store, const ViewInfo& v, DataFile& out, uint64_t& end, uint64_t& seq, int64_t& ts)
        : WrittenSegments(out, end, v, store.options_, store.env_->MaxThreads()),
          out_(out),
          end_(end),
          seq_(seq),
          ts_(ts) {}
    Status KeyDone(uint32_t) override { return writer().WriteFullPages(); }
    Status SegmentDone() override {
      PITSTORE_ASSIGN_OR_RETURN(BlockEntry b, FinishSegment());
      const uint64_t block_end = b.offset + b.stored_bytes;
      TxnBuilder tb(block_end, end_);
      // Flags 0: in the new file these segments are the only copy of their rows.
      tb.Finish(CommitRecord{++seq_, ++ts_, 0, 0, {}});
      PITSTORE_RETURN_IF_ERROR(out_.WriteAt(block_end, tb.bytes()));
      end_ = block_end + tb.bytes().size();
      return Status::OK();
    }

   private:
    DataFile& out_;
    uint64_t& end_;
    uint64_t& seq_;
    int64_t& ts_;
  };
  for (const ViewInfo& v : reg->views) {
    Segments segments(*this, v, *out, end, seq, ts);
    Status st = MergeStream(*snap, v, blocks, RetentionCutoff(v), nullptr, segments, nullptr);
    if (!st.ok()) return fail(st);
  }
  Status st = out->Sync();
  if (!st.ok()) return fail(st);
  *file_id = h.file_id;
  return out;
}

Status StoreImpl::Vacuum() {
  if (options_.read_only) return Status::InvalidArgument("store is open read-only");
  // No merge runs meanwhile: one published after the copy would be dropped, and its read
  // transaction would keep the index rebuild from reusing pages.
  MergePause pause(*this);
  MutexLock lock(write_mu_);
  PITSTORE_RETURN_IF_ERROR(broken_);
  if (open_snapshots_.load() > 0) return Status::Busy("Vacuum needs every snapshot closed");
  std::string tmp_path = path_ + ".vacuum";
  PITSTORE_RETURN_IF_ERROR(env_->Remove(tmp_path));
  MergeCounters merges;  // carried across the index rebuild
  {
    PITSTORE_ASSIGN_OR_RETURN(IndexTxn rt, index_->BeginRead());
    PITSTORE_ASSIGN_OR_RETURN(merges, index_->GetMergeCounters(rt.get()));
  }
  std::string file_id;
  PITSTORE_ASSIGN_OR_RETURN(auto tmp, WriteCompactedCopy(tmp_path, &file_id));
  // Readers in other processes (and a reader opening now) read the file the index names: until
  // the rebuilt index is committed, that is the old file, kept reachable under a second name.
  const std::string previous = PreviousFilePath();
  PITSTORE_RETURN_IF_ERROR(env_->Remove(previous));
  (void)env_->Link(path_, previous);  // where links are refused, readers wait for the rebuild
  if (Status st = env_->Rename(tmp_path, path_); !st.ok()) {
    (void)env_->Remove(tmp_path);
    (void)env_->Remove(previous);
    return st;
  }
  // The file at the path is the new one now: whatever fails from here on, this Store must not
  // write to the old one (its commits would be lost at the next open).
  Status synced = env_->SyncDir(path_);
  Status moved = claim_->MoveTo(*tmp);
  {
    std::shared_ptr<const StoreState> old = Current();
    // Readers whose index transaction predates the rebuild still read the previous file.
    // The tail index stays: the new file holds the same rows (see RebuildLocked).
    Publish(StoreState{tmp, file_id, nullptr, 0, old->file, old->file_id, old->tail});  // tmp holds the writer lock
  }
  Status st = RebuildLocked(*Current()->file);
  if (!st.ok()) {  // the previous file stays for readers of the old index
    broken_ = st.WithMessage("vacuum replaced the data file but could not index it (" + st.message() +
                             "); writes are refused until the store is reopened");
    return broken_;
  }
  if (merges.merges > 0) {
    auto wt = index_->BeginWrite();
    if (wt.ok() && index_->PutMergeCounters(wt->get(), merges).ok()) (void)wt->Commit();
  }
  (void)env_->Remove(previous);  // readers of the old file keep it open; its space returns when they let go
  StoreState done = *Current();
  done.previous_file.reset();  // its space returns once the last reader of it lets go
  done.previous_file_id.clear();
  Publish(std::move(done));
  return !synced.ok() ? synced : moved;
}

Status StoreImpl::CopyTo(const std::string& dest) {
  if (env_->Exists(dest)) return Status::AlreadyExists(dest + " exists");
  // Built under a temporary name beside `dest` and linked into place only when complete: a copy
  // killed part way leaves no `dest` (a retry starts over), never a file missing rows. A
  // partial file left by such a copy is reused; one another copy still writes stays locked.
  const std::string tmp = dest + ".partial";
  const std::string dest_index = dest + "-index", tmp_index = tmp + "-index";
  auto remove_tmp = [&] {
    (void)env_->Remove(tmp);
    ::unlink(tmp_index.c_str());
    ::unlink((tmp_index + "-lock").c_str());
  };
  {
    std::string file_id;
    auto copy = WriteCompactedCopy(tmp, &file_id);
    if (!copy.ok())
      return copy.status().IsBusy() ? Status::Busy("another copy to " + dest + " is running (" + tmp + " is locked)")
                                    : copy.status();
  }
  ::unlink(tmp_index.c_str());  // a stale index of an earlier partial copy
  ::unlink((tmp_index + "-lock").c_str());
  {
    // Build the copy's index now, so it can be opened read-only where it is shipped.
    Options copy_options;
    copy_options.env = env_;
    auto copy = Store::Open(tmp, copy_options);
    if (!copy.ok()) {
      remove_tmp();
      return copy.status();
    }
  }
  ::unlink((tmp_index + "-lock").c_str());
  // link() refuses to replace a `dest` that appeared meanwhile; rename() would not.
  if (Status st = env_->Link(tmp, dest); !st.ok()) {
    remove_tmp();
    return st.IsAlreadyExists() ? Status::AlreadyExists(dest + " exists") : st;
  }
  // From here `dest` is complete; were the index lost now, a read-write open rebuilds it.
  if (::rename(tmp_index.c_str(), dest_index.c_str()) != 0) {
    int err = errno;
    remove_tmp();
    return ErrnoStatus("rename " + tmp_index, err);
  }
  PITSTORE_RETURN_IF_ERROR(env_->Remove(tmp));
  return env_->SyncDir(dest);
}

Status StoreImpl::RebuildIndex() {
  if (options_.read_only) return Status::InvalidArgument("store is open read-only");
  MutexLock lock(write_mu_);
  return RebuildLocked(*Current()->file);
}

}  // namespace pitstore
