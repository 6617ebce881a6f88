#include "data_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

namespace pitstore {

Status ErrnoStatus(const std::string& what, int err) {
  std::string msg = what + ": " + std::strerror(err);
  if (err == ENOENT) return Status::NotFound(msg);
  return Status::IOError(msg);
}

Status SyncDirectoryOf(const std::string& path) {
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open directory " + dir, errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0 && err != EINVAL) return ErrnoStatus("fsync directory " + dir, err);
  return Status::OK();
}

Result<std::shared_ptr<DataFile>> DataFile::Open(const std::string& path, bool read_only, bool create,
                                                 const std::function<Status(const DataFile&)>& before_lock) {
  int flags = O_CLOEXEC | (read_only ? O_RDONLY : O_RDWR);
  if (create && !read_only) flags |= O_CREAT;
  int fd = ::open(path.c_str(), flags, 0644);
  if (fd < 0) return ErrnoStatus("open " + path, errno);
  std::shared_ptr<DataFile> file(new DataFile(path, fd));  // closes fd on every error below
  if (before_lock) PITSTORE_RETURN_IF_ERROR(before_lock(*file));
  if (!read_only && ::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    if (err == EWOULDBLOCK) return Status::Busy(path + " is open read-write by another process (one writer at a time)");
    return ErrnoStatus("lock " + path, err);
  }
  return file;
}

DataFile::DataFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {
  static std::atomic<uint64_t> next_generation{1};
  generation_ = next_generation.fetch_add(1);
}

DataFile::~DataFile() { ::close(fd_); }

bool DataFile::WriterActive() const {
  if (::flock(fd_, LOCK_SH | LOCK_NB) != 0) return errno == EWOULDBLOCK;
  ::flock(fd_, LOCK_UN);
  return false;
}

Result<uint64_t> DataFile::FileSize() const {
  struct stat st;
  if (::fstat(fd_, &st) != 0) return ErrnoStatus("stat " + path_, errno);
  return static_cast<uint64_t>(st.st_size);
}

Status DataFile::ReadExact(uint64_t offset, size_t n, char* dst) const {
  size_t done = 0;
  while (done < n) {
    ssize_t r = ::pread(fd_, dst + done, n - done, static_cast<off_t>(offset + done));
    if (r < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("read " + path_ + " at offset " + std::to_string(offset + done), errno);
    }
    if (r == 0)
      return Status::Corruption(path_ + ": unexpected end of file at offset " + std::to_string(offset + done));
    done += static_cast<size_t>(r);
  }
  return Status::OK();
}

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
  auto payload = DecodeBlockPayload(*h, header, stored, offset, verify);
  if (!payload.ok()) return Status::Corruption(path_ + ": " + payload.status().message());
  block.payload = std::move(payload).value();
  return block;
}

Status DataFile::WriteAt(uint64_t offset, const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t r = ::pwrite(fd_, bytes.data() + done, bytes.size() - done, static_cast<off_t>(offset + done));
    if (r <= 0) {
      if (r < 0 && errno == EINTR) continue;
      // A write of nothing would loop for ever: some file systems (and emulators) report a full
      // disk that way instead of ENOSPC.
      int err = r < 0 ? errno : ENOSPC;
      (void)::ftruncate(fd_, static_cast<off_t>(offset));  // leave no partial transaction
      return ErrnoStatus("write " + path_ + " at offset " + std::to_string(offset + done), err);
    }
    done += static_cast<size_t>(r);
  }
  return Status::OK();
}

Status DataFile::Sync() {
  if (::fdatasync(fd_) != 0) return ErrnoStatus("fdatasync " + path_, errno);
  return Status::OK();
}

Status DataFile::Truncate(uint64_t size) {
  if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) return ErrnoStatus("truncate " + path_, errno);
  return Sync();
}

}  // namespace pitstore
