#include "data_file.h"

#include <atomic>

namespace pitstore {

Result<std::shared_ptr<DataFile>> DataFile::Open(Env* env, const std::string& path, bool read_only, bool create,
                                                 const std::function<Status(const DataFile&)>& before_lock) {
  PITSTORE_ASSIGN_OR_RETURN(auto f, env->Open(path, !read_only, create && !read_only));
  std::shared_ptr<DataFile> file(new DataFile(path, std::move(f)));
  if (before_lock) PITSTORE_RETURN_IF_ERROR(before_lock(*file));
  if (!read_only) {
    PITSTORE_ASSIGN_OR_RETURN(bool locked, file->file_->TryLock(true));
    if (!locked) return Status::Busy(path + " is open read-write by another process (one writer at a time)");
  }
  return file;
}

DataFile::DataFile(std::string path, std::unique_ptr<EnvFile> file) : path_(std::move(path)), file_(std::move(file)) {
  static std::atomic<uint64_t> next_generation{1};
  generation_ = next_generation.fetch_add(1);
}

DataFile::~DataFile() = default;

bool DataFile::WriterActive() const {
  auto locked = file_->TryLock(false);
  if (!locked.ok() || !*locked) return locked.ok();
  file_->Unlock();
  return false;
}

Result<uint64_t> DataFile::FileSize() const { return file_->Size(); }

Status DataFile::ReadExact(uint64_t offset, size_t n, char* dst) const { return file_->Read(offset, n, dst); }
Result<RawBlock> DataFile::ReadBlock(uint64_t offset, uint64_t limit, bool verify) const {
  RawBlock block;
  block.offset = offset;
  if (offset + kBlockHeaderSize > limit)
    return Status::Corruption(path_ + ": block header past the end at offset " + std::to_string(offset));
  char header[kBlockHeaderSize];
  PITSTORE_RETURN_IF_ERROR(ReadExact(offset, kBlockHeaderSize, header));
  auto h = ParseBlockHeader(header, offset);
  if (!h.ok()) return Status::Corruption(path_ + ": " + h.status().message());
  block.header = *h;
  if (block.end() > limit)
    return Status::Corruption(path_ + ": block at offset " + std::to_string(offset) + " runs past the end of the data");
  std::string stored(h->stored_len, '\0');
  PITSTORE_RETURN_IF_ERROR(ReadExact(offset + kBlockHeaderSize, stored.size(), stored.data()));
  auto payload = DecodeBlockPayload(*h, header, std::move(stored), offset, verify);
  if (!payload.ok()) return Status::Corruption(path_ + ": " + payload.status().message());
  block.payload = std::move(payload).value();
  return block;
}

Status DataFile::WriteAt(uint64_t offset, const std::string& bytes) {
  PITSTORE_RETURN_IF_ERROR(sync_failed_);
  Status st = file_->Write(offset, bytes);
  if (!st.ok()) (void)file_->Truncate(offset);  // leave no partial transaction
  return st;
}

Status DataFile::Sync() {
  PITSTORE_RETURN_IF_ERROR(sync_failed_);
  Status st = file_->Sync();
  if (!st.ok())
    sync_failed_ = st.WithMessage(st.message() +
                                  " (a failed sync is never retried: reopen the store, which recovers from what is "
                                  "on disk)");
  return sync_failed_.ok() ? st : sync_failed_;
}

Status DataFile::Truncate(uint64_t size) {
  // Allowed after a failed sync too: cutting back a commit that failed is the best left to do.
  PITSTORE_RETURN_IF_ERROR(file_->Truncate(size));
  Status st = file_->Sync();
  if (!st.ok() && sync_failed_.ok()) sync_failed_ = st;
  return st;
}

}  // namespace pitstore
