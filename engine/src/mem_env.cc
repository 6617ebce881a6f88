#include "mem_env.h"

#include <chrono>
#include <random>

namespace pitstore {

struct MemEnv::Data {
  std::mutex mu;
  std::string bytes;    // what reads see
  std::string durable;  // what a power loss keeps: the bytes at the last Sync
  uint64_t inode = 0;
  int shared_locks = 0;
  bool exclusive_lock = false;
};

namespace {

bool Changes(MemEnv::Op op) { return op != MemEnv::kRead && op != MemEnv::kOpen; }

class MemFile : public EnvFile {
 public:
  MemFile(MemEnv* env, std::string path, std::shared_ptr<MemEnv::Data> data, bool writable)
      : env_(env), path_(std::move(path)), data_(std::move(data)), writable_(writable) {}
  ~MemFile() override { Unlock(); }

  Status Read(uint64_t offset, size_t n, char* dst) const override {
    PITSTORE_RETURN_IF_ERROR(env_->Check(MemEnv::kRead));
    std::lock_guard<std::mutex> lock(data_->mu);
    if (offset > data_->bytes.size() || n > data_->bytes.size() - offset)
      return Status::Corruption(path_ + ": unexpected end of file at offset " +
                                std::to_string(std::min<uint64_t>(offset, data_->bytes.size())));
    data_->bytes.copy(dst, n, offset);
    return Status::OK();
  }
  Status Write(uint64_t offset, std::string_view data) override {
    if (!writable_) return Status::IOError(path_ + ": opened read-only");
    PITSTORE_RETURN_IF_ERROR(env_->Check(MemEnv::kWrite));
    std::lock_guard<std::mutex> lock(data_->mu);
    if (data_->bytes.size() < offset + data.size()) data_->bytes.resize(offset + data.size(), '\0');
    data_->bytes.replace(offset, data.size(), data);
    return Status::OK();
  }
  Status Sync() override {
    PITSTORE_RETURN_IF_ERROR(env_->Check(MemEnv::kSync));
    std::lock_guard<std::mutex> lock(data_->mu);
    data_->durable = data_->bytes;
    return Status::OK();
  }
  void ReleaseCached(uint64_t offset, uint64_t n) override {
    bool durable;
    {
      std::lock_guard<std::mutex> lock(data_->mu);
      durable = offset + n <= data_->bytes.size() && offset + n <= data_->durable.size() &&
                data_->bytes.compare(offset, n, data_->durable, offset, n) == 0;
    }
    env_->CountRelease(n, durable ? 0 : n);
  }
  Status Truncate(uint64_t size) override {
    if (!writable_) return Status::IOError(path_ + ": opened read-only");
    PITSTORE_RETURN_IF_ERROR(env_->Check(MemEnv::kTruncate));
    std::lock_guard<std::mutex> lock(data_->mu);
    data_->bytes.resize(size, '\0');
    return Status::OK();
  }
  Result<uint64_t> Size() const override {
    std::lock_guard<std::mutex> lock(data_->mu);
    return static_cast<uint64_t>(data_->bytes.size());
  }
  Result<bool> TryLock(bool exclusive) override {
    std::lock_guard<std::mutex> lock(data_->mu);
    if (held_ != 0) return true;
    if (data_->exclusive_lock || (exclusive && data_->shared_locks > 0)) return false;
    if (exclusive)
      data_->exclusive_lock = true;
    else
      data_->shared_locks++;
    held_ = exclusive ? 2 : 1;
    return true;
  }
  void Unlock() override {
    std::lock_guard<std::mutex> lock(data_->mu);
    if (held_ == 2) data_->exclusive_lock = false;
    if (held_ == 1) data_->shared_locks--;
    held_ = 0;
  }
  Result<std::pair<uint64_t, uint64_t>> Identity() const override {
    return std::make_pair(uint64_t{0xffff}, data_->inode);
  }

 private:
  MemEnv* env_;
  std::string path_;
  std::shared_ptr<MemEnv::Data> data_;
  bool writable_;
  int held_ = 0;  // 0 none, 1 shared, 2 exclusive
};

}  // namespace

void MemEnv::CountRelease(uint64_t bytes, uint64_t not_durable) {
  std::lock_guard<std::mutex> lock(mu_);
  released_ += bytes;
  released_before_sync_ += not_durable;
}

uint64_t MemEnv::released_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return released_;
}

uint64_t MemEnv::released_before_sync() const {
  std::lock_guard<std::mutex> lock(mu_);
  return released_before_sync_;
}

const char* MemEnv::OpName(Op op) {
  static const char* names[] = {"open", "read", "write", "sync", "truncate", "rename", "link", "remove", "syncdir"};
  return names[op];
}

Status MemEnv::Check(Op op) {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t n = ++counts_[op];
  if (power_out_) return Status::IOError(std::string("power is out (") + OpName(op) + ")");
  if (Changes(op) && power_out_at_ != 0 && ++changes_ >= power_out_at_) {
    power_out_ = true;  // this change never happens
    return Status::IOError(std::string("power went out (") + OpName(op) + ")");
  }
  if (Changes(op) && power_out_at_ == 0) ++changes_;
  if (fail_at_[op] != 0 && n == fail_at_[op]) {
    fail_at_[op] = 0;
    return Status::IOError(std::string("injected failure of ") + OpName(op) + " " + std::to_string(n));
  }
  return Status::OK();
}

Result<std::unique_ptr<EnvFile>> MemEnv::Open(const std::string& path, bool writable, bool create) {
  bool exists;
  {
    std::lock_guard<std::mutex> lock(mu_);
    exists = names_.count(path) > 0;
  }
  if (!exists && !(create && writable)) return Status::NotFound("open " + path + ": No such file or directory");
  PITSTORE_RETURN_IF_ERROR(Check(exists ? kOpen : kWrite));  // creating a file changes the directory
  std::lock_guard<std::mutex> lock(mu_);
  auto& data = names_[path];
  if (!data) {
    data = std::make_shared<Data>();
    data->inode = next_inode_++;
  }
  return std::unique_ptr<EnvFile>(new MemFile(this, path, data, writable));
}

bool MemEnv::Exists(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  return names_.count(path) > 0;
}

Status MemEnv::Rename(const std::string& from, const std::string& to) {
  PITSTORE_RETURN_IF_ERROR(Check(kRename));
  std::lock_guard<std::mutex> lock(mu_);
  auto it = names_.find(from);
  if (it == names_.end()) return Status::NotFound("rename " + from + ": No such file or directory");
  auto data = it->second;
  names_.erase(it);
  names_[to] = std::move(data);
  return Status::OK();
}

Status MemEnv::Link(const std::string& from, const std::string& to) {
  PITSTORE_RETURN_IF_ERROR(Check(kLink));
  std::lock_guard<std::mutex> lock(mu_);
  auto it = names_.find(from);
  if (it == names_.end()) return Status::NotFound("link " + from + ": No such file or directory");
  if (names_.count(to)) return Status::AlreadyExists("link " + from + " to " + to + ": File exists");
  names_[to] = it->second;
  return Status::OK();
}

Status MemEnv::Remove(const std::string& path) {
  PITSTORE_RETURN_IF_ERROR(Check(kRemove));
  std::lock_guard<std::mutex> lock(mu_);
  names_.erase(path);
  return Status::OK();
}

Status MemEnv::SyncDir(const std::string&) {
  PITSTORE_RETURN_IF_ERROR(Check(kSyncDir));
  std::lock_guard<std::mutex> lock(mu_);
  durable_names_ = names_;
  return Status::OK();
}

int64_t MemEnv::NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void MemEnv::FailNth(Op op, uint64_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  fail_at_[op] = counts_[op] + n;
}

void MemEnv::CutPowerAfter(uint64_t ops) {
  std::lock_guard<std::mutex> lock(mu_);
  changes_ = 0;
  power_out_at_ = ops + 1;
}

void MemEnv::PowerLoss(bool torn, uint64_t seed) {
  std::lock_guard<std::mutex> lock(mu_);
  std::mt19937_64 rng(seed);
  names_ = durable_names_;
  for (auto& [name, data] : names_) {
    std::lock_guard<std::mutex> data_lock(data->mu);
    std::string kept = data->durable;
    // A write cut short: some of what followed the last sync, if it only appended.
    if (torn && data->bytes.size() > kept.size() && data->bytes.compare(0, kept.size(), kept) == 0)
      kept = data->bytes.substr(0, kept.size() + rng() % (data->bytes.size() - kept.size() + 1));
    data->bytes = kept;
    data->durable = kept;
  }
  power_out_ = false;
  power_out_at_ = 0;
  changes_ = 0;
  for (uint64_t& f : fail_at_) f = 0;
}

void MemEnv::ClearFailures() {
  std::lock_guard<std::mutex> lock(mu_);
  for (uint64_t& f : fail_at_) f = 0;
}

uint64_t MemEnv::count(Op op) const {
  std::lock_guard<std::mutex> lock(mu_);
  return counts_[op];
}

uint64_t MemEnv::changes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return changes_;
}

std::unique_ptr<Env> NewMemEnv(unsigned max_threads) { return std::make_unique<MemEnv>(max_threads); }

}  // namespace pitstore
