// Env::Default(): POSIX files (pread/pwrite, fdatasync, flock), the system clock, and the
// machine's cores for threads.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "data_file.h"  // ErrnoStatus
#include "pitstore/env.h"

namespace pitstore {
namespace {

class PosixFile : public EnvFile {
 public:
  PosixFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixFile() override { ::close(fd_); }

  Status Read(uint64_t offset, size_t n, char* dst) const override {
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

  Status Write(uint64_t offset, std::string_view data) override {
    size_t done = 0;
    while (done < data.size()) {
      ssize_t r = ::pwrite(fd_, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
      if (r <= 0) {
        if (r < 0 && errno == EINTR) continue;
        // A write of nothing would loop for ever: some file systems (and emulators) report a
        // full disk that way instead of ENOSPC.
        return ErrnoStatus("write " + path_ + " at offset " + std::to_string(offset + done), r < 0 ? errno : ENOSPC);
      }
      done += static_cast<size_t>(r);
    }
    return Status::OK();
  }

  Status Sync() override { return ::fdatasync(fd_) == 0 ? Status::OK() : ErrnoStatus("fdatasync " + path_, errno); }

  // POSIX_FADV_DONTNEED drops clean pages only, and keeps the partial pages at either end.
  void ReleaseCached(uint64_t offset, uint64_t n) override {
    (void)::posix_fadvise(fd_, static_cast<off_t>(offset), static_cast<off_t>(n), POSIX_FADV_DONTNEED);
  }

  Status Truncate(uint64_t size) override {
    return ::ftruncate(fd_, static_cast<off_t>(size)) == 0 ? Status::OK() : ErrnoStatus("truncate " + path_, errno);
  }

  Result<uint64_t> Size() const override {
    struct stat st;
    if (::fstat(fd_, &st) != 0) return ErrnoStatus("stat " + path_, errno);
    return static_cast<uint64_t>(st.st_size);
  }

  Result<bool> TryLock(bool exclusive) override {
    if (::flock(fd_, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0) return true;
    if (errno == EWOULDBLOCK) return false;
    return ErrnoStatus("lock " + path_, errno);
  }
  void Unlock() override { ::flock(fd_, LOCK_UN); }

  Result<std::pair<uint64_t, uint64_t>> Identity() const override {
    struct stat st;
    if (::fstat(fd_, &st) != 0) return ErrnoStatus("fstat " + path_, errno);
    return std::make_pair(static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino));
  }

 private:
  std::string path_;
  int fd_;
};

class PosixEnv : public Env {
 public:
  Result<std::unique_ptr<EnvFile>> Open(const std::string& path, bool writable, bool create) override {
    int flags = O_CLOEXEC | (writable ? O_RDWR : O_RDONLY) | (create && writable ? O_CREAT : 0);
    int fd = ::open(path.c_str(), flags, 0644);
    if (fd < 0) return ErrnoStatus("open " + path, errno);
    return std::unique_ptr<EnvFile>(new PosixFile(path, fd));
  }
  bool Exists(const std::string& path) override {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0;
  }
  Status Rename(const std::string& from, const std::string& to) override {
    return ::rename(from.c_str(), to.c_str()) == 0 ? Status::OK() : ErrnoStatus("rename " + from + " to " + to, errno);
  }
  Status Link(const std::string& from, const std::string& to) override {
    return ::link(from.c_str(), to.c_str()) == 0 ? Status::OK() : ErrnoStatus("link " + from + " to " + to, errno);
  }
  Status Remove(const std::string& path) override {
    return ::unlink(path.c_str()) == 0 || errno == ENOENT ? Status::OK() : ErrnoStatus("remove " + path, errno);
  }
  Status SyncDir(const std::string& path) override {
    size_t slash = path.rfind('/');
    std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus("open directory " + dir, errno);
    int rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0 && err != EINVAL) return ErrnoStatus("fsync directory " + dir, err);  // EINVAL: cannot be synced
    return Status::OK();
  }
  int64_t NowMicros() override {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  unsigned MaxThreads() override { return std::max(1u, std::thread::hardware_concurrency()); }
};

}  // namespace

Status ErrnoStatus(const std::string& what, int err) {
  std::string msg = what + ": " + std::strerror(err);
  if (err == ENOENT) return Status::NotFound(msg);
  if (err == EEXIST) return Status::AlreadyExists(msg);
  return Status::IOError(msg);
}

Env* Env::Default() {
  static Env* env = new PosixEnv;  // never deleted: stores may close during exit
  return env;
}

}  // namespace pitstore
