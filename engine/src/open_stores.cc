#include "open_stores.h"

#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <mutex>

#include "data_file.h"

namespace pitstore {
namespace {

struct Registry {
  std::mutex mu;
  std::map<std::pair<uint64_t, uint64_t>, std::string> paths;  // (device, inode) -> the path it was opened by
  pid_t owner = 0;  // the process the entries belong to (a forked child inherits its parent's)
};

Registry& TheRegistry() {
  static Registry* registry = new Registry;  // never destroyed: stores may close during exit
  return *registry;
}

// Entries inherited through fork() belong to the parent: a child starts afresh.
void ForgetIfForked(Registry& r) {
  if (r.owner != ::getpid()) {
    r.paths.clear();
    r.owner = ::getpid();
  }
}

Result<std::pair<uint64_t, uint64_t>> IdentityOf(const DataFile& file) {
  struct stat st;
  if (::fstat(file.fd(), &st) != 0) return ErrnoStatus("fstat " + file.path(), errno);
  return std::make_pair(static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino));
}

Status Insert(Registry& r, std::pair<uint64_t, uint64_t> id, const std::string& path) {
  auto [it, fresh] = r.paths.emplace(id, path);
  if (!fresh)
    return Status::Busy(path + " is already open in this process (as " + it->second +
                        "); share that Store between threads instead of opening it again");
  return Status::OK();
}

}  // namespace

Result<std::unique_ptr<OpenStoreClaim>> OpenStoreClaim::Claim(const DataFile& file) {
  PITSTORE_ASSIGN_OR_RETURN(auto id, IdentityOf(file));
  Registry& r = TheRegistry();
  std::lock_guard<std::mutex> lock(r.mu);
  ForgetIfForked(r);
  PITSTORE_RETURN_IF_ERROR(Insert(r, id, file.path()));
  return std::unique_ptr<OpenStoreClaim>(new OpenStoreClaim(id.first, id.second));
}

OpenStoreClaim::~OpenStoreClaim() {
  Registry& r = TheRegistry();
  std::lock_guard<std::mutex> lock(r.mu);
  ForgetIfForked(r);
  r.paths.erase({device_, inode_});
}

Status OpenStoreClaim::MoveTo(const DataFile& file) {
  PITSTORE_ASSIGN_OR_RETURN(auto id, IdentityOf(file));
  Registry& r = TheRegistry();
  std::lock_guard<std::mutex> lock(r.mu);
  ForgetIfForked(r);
  PITSTORE_RETURN_IF_ERROR(Insert(r, id, file.path()));
  r.paths.erase({device_, inode_});
  device_ = id.first;
  inode_ = id.second;
  return Status::OK();
}

}  // namespace pitstore
