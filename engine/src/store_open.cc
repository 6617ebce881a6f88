// Opening a store, the current state (the data file, its id and registry) and snapshots of it.
#include <thread>

#include "store_impl.h"

namespace pitstore {

// 16 random bytes naming one data file; a vacuumed copy gets a new one.
std::string NewFileId(Env* env) {
  std::random_device rd;
  std::mt19937_64 gen((static_cast<uint64_t>(rd()) << 32) ^ rd() ^ static_cast<uint64_t>(env->NowMicros()));
  std::string id;
  for (int i = 0; i < 2; ++i) {
    uint64_t r = gen();
    id.append(reinterpret_cast<char*>(&r), 8);
  }
  return id;
}

// The id in the header of a data file; the file learns its required features.
static Result<std::string> FileIdOf(DataFile& file) {
  PITSTORE_ASSIGN_OR_RETURN(uint64_t size, file.FileSize());
  PITSTORE_ASSIGN_OR_RETURN(RawBlock hb, file.ReadBlock(0, size, true));
  if (hb.header.type != BlockType::kHeader) return Status::Corruption(file.path() + ": first block is not a header");
  PITSTORE_ASSIGN_OR_RETURN(FileHeader header, DecodeFileHeader(hb.payload));
  file.set_required_features(header.required_features);
  return header.file_id;
}

std::string StoreImpl::PreviousFilePath() const { return path_ + ".vacuum-previous"; }

Result<bool> StoreImpl::AdoptFile(const std::string& file_id) {
  // The data file a vacuum in another process put at the path (its index now committed), or
  // the one it replaced, kept linked until then (Vacuum).
  for (const std::string& candidate : {path_, PreviousFilePath()}) {
    auto file = DataFile::Open(env_, candidate, true, false);
    if (!file.ok()) continue;
    auto id = FileIdOf(**file);
    if (!id.ok() || *id != file_id) continue;
    PITSTORE_RETURN_IF_ERROR(claim_->MoveTo(**file));
    Publish(StoreState{*file, file_id, nullptr, 0, nullptr, "", nullptr});
    return true;
  }
  return false;
}

Status StoreImpl::Init() {
  bool exists = env_->Exists(path_);
  if (!exists && (!options_.create_if_missing || options_.read_only))
    return Status::NotFound(path_ + ": no such store");
  // Set up as a writer would be (nothing else runs yet, but the rules are the same).
  MutexLock lock(write_mu_);
  // Claimed before the lock and LMDB: one environment per store per process (open_stores.h).
  std::shared_ptr<DataFile> file;
  PITSTORE_ASSIGN_OR_RETURN(
      file, DataFile::Open(env_, path_, options_.read_only, !options_.read_only, [&](const DataFile& f) -> Status {
        PITSTORE_ASSIGN_OR_RETURN(claim_, OpenStoreClaim::Claim(f));
        return Status::OK();
      }));
  PITSTORE_ASSIGN_OR_RETURN(uint64_t size, file->FileSize());
  if (size == 0) {
    if (options_.read_only) return Status::Corruption(path_ + ": empty file");
    // Empty is new only where nothing else of a store exists: beside an index it is a store cut
    // to nothing, and a new store there would hide the loss.
    struct stat index_st;
    if (::stat((path_ + "-index").c_str(), &index_st) == 0)
      return Status::Corruption(path_ + " is empty, but its index (" + path_ +
                                "-index) describes a store: the data file was cut short or replaced. Restore it "
                                "from a copy; nothing was changed");
    // A new store: the header, an empty registry, and the first commit.
    FileHeader h;
    h.file_id = NewFileId(env_);
    h.created_ts = NowMicros();
    TxnBuilder tb(0);
    tb.Add(BlockType::kHeader, EncodeFileHeader(h), 0);
    tb.AddRegistry(std::make_shared<Registry>());
    CommitRecord c;
    c.commit_seq = 1;
    c.commit_ts = h.created_ts;
    tb.Finish(c);
    PITSTORE_RETURN_IF_ERROR(file->WriteAt(0, tb.bytes()));
    PITSTORE_RETURN_IF_ERROR(file->Sync());
    PITSTORE_RETURN_IF_ERROR(env_->SyncDir(path_));
    size = tb.bytes().size();
  }
  PITSTORE_ASSIGN_OR_RETURN(RawBlock hb, file->ReadBlock(0, size, true));
  if (hb.header.type != BlockType::kHeader) return Status::Corruption(path_ + ": first block is not a header");
  PITSTORE_ASSIGN_OR_RETURN(FileHeader header, DecodeFileHeader(hb.payload));
  file->set_required_features(header.required_features);
  const std::string file_id = header.file_id;
  Publish(StoreState{file, file_id, nullptr, 0, nullptr, "", nullptr});

  std::string index_path = path_ + "-index";
  auto idx = Index::Open(index_path, options_.read_only, options_.index_map_size, true);
  if (!idx.ok() && !options_.read_only && idx.status().IsCorruption()) {
    // A damaged index is derived data: drop it and rebuild from the data file.
    ::unlink(index_path.c_str());
    ::unlink((index_path + "-lock").c_str());
    idx = Index::Open(index_path, false, options_.index_map_size, true);
  }
  if (!idx.ok()) {
    if (options_.read_only)
      return Status(idx.status().IsNotFound()
                        ? Status::NotFound(path_ + ": the index (" + index_path +
                                           ") is missing; open the store read-write once to rebuild it")
                        : idx.status());
    return idx.status();
  }
  index_ = std::move(idx).value();

  PITSTORE_ASSIGN_OR_RETURN(IndexTxn rt, index_->BeginRead());
  auto meta = index_->GetMeta(rt.get());
  PITSTORE_RETURN_IF_ERROR(rt.Commit());
  // An index that knew a longer file: commits were cut away. Refused, never silently dropped.
  // (The size is taken again after the index: a writer beside us appends before it indexes.)
  PITSTORE_ASSIGN_OR_RETURN(size, file->FileSize());
  // Shorter only by commits made without sync: a crash may take those (WriteOptions::sync), and
  // the index, which published them, is rebuilt from what the file holds.
  const bool lost_unsynced =
      meta.ok() && meta->file_id == file_id && meta->applied_offset > size && meta->synced_offset <= size;
  if (lost_unsynced && options_.read_only)
    return Status::NotFound(path_ +
                            ": commits made without sync were lost in a crash, and the index still lists them; "
                            "open the store read-write once to rebuild it");
  if (meta.ok() && meta->file_id == file_id && meta->applied_offset > size && !lost_unsynced)
    return Status::Corruption(
        path_ + " is " + std::to_string(size) + " bytes, but its index says " + std::to_string(meta->applied_offset) +
        " bytes were committed: the file was cut short, and the commits after byte " + std::to_string(size) +
        " are gone. Restore it from a copy, or keep what is left with "
        "`pitstore repair` (it sets the index aside and rebuilds it from the file)");
  if (options_.read_only) {
    const std::string rebuild = "read-write once to rebuild it (`pitstore repair " + path_ + "` does)";
    if (meta.status().code() == Status::Code::kNotSupported)
      return Status::NotSupported(path_ + ": the index (" + path_ + "-index) has " + meta.status().message() +
                                  ", written by another version of pitstore (this one reads format " +
                                  std::to_string(kIndexFormat) + "); open the store " + rebuild);
    if (!meta.ok()) return meta.status();
    if (!index_->has_latest_int())
      return Status::NotFound(path_ + ": the index (" + path_ +
                              "-index) has no latest_int table (damaged, or rebuilt by another process meanwhile); "
                              "open the store again, or " +
                              rebuild);
    // Not damage: a vacuum of another process replaced the data file and has not committed the
    // rebuilt index yet; until it does, readers read the file it replaced (linked beside it
    // meanwhile). A later look at the index may find a later vacuum's file: look again.
    for (int attempt = 0; meta->file_id != Current()->file_id; ++attempt) {
      PITSTORE_ASSIGN_OR_RETURN(bool adopted, AdoptFile(meta->file_id));
      if (adopted) break;
      if (attempt == 8)
        return Status::NotFound(path_ + ": the index (" + path_ +
                                "-index) describes another data file; open the store read-write once to rebuild it");
      PITSTORE_ASSIGN_OR_RETURN(IndexTxn again, index_->BeginRead());
      meta = index_->GetMeta(again.get());
      PITSTORE_RETURN_IF_ERROR(again.Commit());
      if (!meta.ok()) return meta.status();
    }
    meta_ = *meta;
    return LoadCurrentRegistry();
  }
  const bool rebuild = !meta.ok() || meta->file_id != file_id || meta->applied_offset == 0 || lost_unsynced;
  if (rebuild) {
    PITSTORE_RETURN_IF_ERROR(RebuildLocked(*file));  // which builds the tail index too
  } else {
    meta_ = *meta;
    PITSTORE_RETURN_IF_ERROR(LoadCurrentRegistry());
    PITSTORE_RETURN_IF_ERROR(Recover(meta_.applied_offset));
  }
  // The index describes the file at the path now: a link a killed vacuum left is not needed.
  PITSTORE_RETURN_IF_ERROR(env_->Remove(PreviousFilePath()));
  return rebuild ? Status::OK() : ResetTail();
}

Result<std::shared_ptr<const Registry>> StoreImpl::RegistryAt(const DataFile& file, uint64_t offset) {
  const uint64_t generation = file.generation();
  std::shared_ptr<const StoreState> v = Current();
  if (v->registry && v->file->generation() == generation && v->registry_offset == offset) return v->registry;
  {
    MutexLock lock(caches_mu_);
    if (read_registry_ && read_registry_generation_ == generation && read_registry_offset_ == offset)
      return read_registry_;
  }
  PITSTORE_ASSIGN_OR_RETURN(uint64_t size, file.FileSize());
  PITSTORE_ASSIGN_OR_RETURN(RawBlock b, file.ReadBlock(offset, size, true));
  if (b.header.type != BlockType::kRegistry)
    return Status::Corruption("index points to a registry at offset " + std::to_string(offset) + " that is not one");
  PITSTORE_ASSIGN_OR_RETURN(auto reg, DecodeRegistry(b.payload));
  // Readers cache what they load apart from the current version: a reader on an older
  // snapshot must never hand the writer an older schema.
  MutexLock lock(caches_mu_);
  read_registry_ = reg;
  read_registry_generation_ = generation;
  read_registry_offset_ = offset;
  return reg;
}

void StoreImpl::PublishRegistry(std::shared_ptr<const Registry> registry, uint64_t offset) {
  StoreState next = *Current();
  next.registry = std::move(registry);
  next.registry_offset = offset;
  Publish(std::move(next));
}

Status StoreImpl::LoadCurrentRegistry() {
  PITSTORE_ASSIGN_OR_RETURN(auto reg, RegistryAt(*Current()->file, meta_.registry_offset));
  PublishRegistry(std::move(reg), meta_.registry_offset);
  return Status::OK();
}

Result<SnapshotParts> StoreImpl::BeginSnapshot(bool with_pending, bool need_tail) {
  // A vacuum here swaps the file before it rebuilds the index: an index transaction from before
  // the rebuild names the previous file (kept open until the rebuild is committed), one from
  // after it the new one. A file id that is neither, after a few looks, means another process
  // rewrote the file.
  int tail_waits = 0;
  for (int attempt = 0;; ++attempt) {
    std::shared_ptr<const StoreState> v = Current();  // looked at before the index transaction
    PITSTORE_ASSIGN_OR_RETURN(IndexTxn txn, index_->BeginRead());
    PITSTORE_ASSIGN_OR_RETURN(IndexMeta meta, index_->GetMetaOfRead(txn.get()));
    std::shared_ptr<DataFile> file = meta.file_id == v->file_id                                ? v->file
                                     : v->previous_file && meta.file_id == v->previous_file_id ? v->previous_file
                                                                                               : nullptr;
    if (!file) {
      if (attempt < 8) {
        // A vacuum of this process finished between the two looks, or one of another process
        // replaced the file: a reader follows it to the file the index now names.
        if (options_.read_only && attempt % 2 == 1) {
          MutexLock lock(write_mu_);
          PITSTORE_ASSIGN_OR_RETURN(bool adopted, AdoptFile(meta.file_id));
          (void)adopted;
        }
        continue;
      }
      return Status::Busy(path_ + " was rewritten (vacuumed) by another process, and its index names neither file");
    }
    PITSTORE_ASSIGN_OR_RETURN(auto reg, RegistryAt(*file, meta.registry_offset));
    // The tail index must hold every row batch of this index snapshot. The writer covers each
    // commit before committing it and replaces the tail after merges, so a tail found short was
    // replaced meanwhile: look again. A read-only store brings its own up to date.
    std::shared_ptr<const TailIndex> tail = v->tail;
    if (need_tail && (!tail || tail->covered() < meta.commit_seq)) {
      if (options_.read_only) {
        SnapshotImpl s(SnapshotParts{std::move(txn), reg, file, meta, nullptr, nullptr}, nullptr);
        MutexLock lock(write_mu_);
        PITSTORE_RETURN_IF_ERROR(CatchUpTail(s));
      } else if (++tail_waits > 100000) {
        return Status::Busy(path_ + ": the tail index does not reach commit " + std::to_string(meta.commit_seq));
      } else if (tail_waits > 8) {
        std::this_thread::yield();
      }
      --attempt;  // not a look at another file
      continue;
    }
    std::shared_ptr<const PendingTail> pending;
    if (with_pending && options_.read_only) {
      PITSTORE_ASSIGN_OR_RETURN(pending, PendingAfter(*file, meta, reg));
      if (pending && pending->registry) reg = pending->registry;
    }
    return SnapshotParts{std::move(txn),  std::move(reg),     std::move(file),
                         std::move(meta), std::move(pending), std::move(tail)};
  }
}

Result<std::unique_ptr<SnapshotImpl>> StoreImpl::NewSnapshot() {
  PITSTORE_ASSIGN_OR_RETURN(SnapshotParts parts, BeginSnapshot());
  return std::make_unique<SnapshotImpl>(std::move(parts), &open_snapshots_);
}

Result<std::unique_ptr<Snapshot>> StoreImpl::GetSnapshot() {
  PITSTORE_ASSIGN_OR_RETURN(auto s, NewSnapshot());
  return std::unique_ptr<Snapshot>(std::move(s));
}

Result<std::unique_ptr<Store>> Store::Open(const std::string& path, const Options& options) {
  // Zero would make every merge write a segment per key, or pages of no rows.
  if (options.segment_max_rows == 0 || options.segment_max_bytes == 0 || options.segment_page_rows == 0)
    return Status::InvalidArgument(path +
                                   ": segment_max_rows, segment_max_bytes and segment_page_rows must be at least 1");
  auto store = std::make_unique<StoreImpl>(path, options);
  PITSTORE_RETURN_IF_ERROR(store->Init());
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace pitstore
