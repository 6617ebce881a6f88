#include "open_stores.h"

#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <map>
#include <mutex>

#include "data_file.h"

namespace pitstore {
namespace {

// Claims by the data file's (device, inode) and by its canonical path: the inode catches a
// second name for the file (a symlink, a hard link), the path a file another process replaced
// (a vacuum) while this one still has the old one open; both would share the index.
struct Registry {
  std::mutex mu;
  std::map<std::pair<uint64_t, uint64_t>, std::string> by_inode;  // -> the path it was opened by
  std::map<std::string, std::string> by_path;                     // canonical path -> that path
  pid_t owner = 0;  // the process the entries belong to (a forked child inherits its parent's)
};

Registry& TheRegistry() {
  static Registry* registry = new Registry;  // never destroyed: stores may close during exit
  return *registry;
}

// Entries inherited through fork() belong to the parent: a child starts afresh.
void ForgetIfForked(Registry& r) {
  if (r.owner != ::getpid()) {
    r.by_inode.clear();
    r.by_path.clear();
    r.owner = ::getpid();
  }
}

Result<std::pair<uint64_t, uint64_t>> IdentityOf(const DataFile& file) { return file.Identity(); }

std::string CanonicalPath(const std::string& path) {
  char buf[PATH_MAX];
  return ::realpath(path.c_str(), buf) ? std::string(buf) : path;
}

Status AlreadyOpen(const std::string& path, const std::string& as) {
  return Status::Busy(path + " is already open in this process (as " + as +
                      "); share that Store between threads instead of opening it again");
}

}  // namespace

Result<std::unique_ptr<OpenStoreClaim>> OpenStoreClaim::Claim(const DataFile& file) {
  PITSTORE_ASSIGN_OR_RETURN(auto id, IdentityOf(file));
  std::string canonical = CanonicalPath(file.path());
  Registry& r = TheRegistry();
  std::lock_guard<std::mutex> lock(r.mu);
  ForgetIfForked(r);
  if (auto it = r.by_inode.find(id); it != r.by_inode.end()) return AlreadyOpen(file.path(), it->second);
  if (auto it = r.by_path.find(canonical); it != r.by_path.end()) return AlreadyOpen(file.path(), it->second);
  r.by_inode.emplace(id, file.path());
  r.by_path.emplace(canonical, file.path());
  return std::unique_ptr<OpenStoreClaim>(new OpenStoreClaim(id.first, id.second, canonical));
}

OpenStoreClaim::~OpenStoreClaim() {
  if (pid_ != ::getpid()) return;  // a forked child's copy of its parent's Store: not its claim
  Registry& r = TheRegistry();
  std::lock_guard<std::mutex> lock(r.mu);
  ForgetIfForked(r);
  r.by_inode.erase({device_, inode_});
  r.by_path.erase(canonical_);
}

Status OpenStoreClaim::MoveTo(const DataFile& file) {
  PITSTORE_ASSIGN_OR_RETURN(auto id, IdentityOf(file));
  Registry& r = TheRegistry();
  std::lock_guard<std::mutex> lock(r.mu);
  ForgetIfForked(r);
  if (auto it = r.by_inode.find(id); it != r.by_inode.end()) return AlreadyOpen(file.path(), it->second);
  r.by_inode.emplace(id, file.path());
  r.by_inode.erase({device_, inode_});
  device_ = id.first;
  inode_ = id.second;
  return Status::OK();
}

}  // namespace pitstore
