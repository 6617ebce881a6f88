// Automatic merges on a thread of the store's own (Options::background_merges).
//
// A commit that makes a merge due queues the view and returns. The thread takes the merge's
// inputs and a snapshot under write_mu_, then merges and compresses without it while commits
// go on, and takes write_mu_ again only to write, index and publish the segments: the same
// rewrite transaction a merge in the committing thread writes, so recovery, readers and the
// index see no difference. Readers never wait: until the merge is published they read its
// inputs, then its segments.
#include <new>

#include "store_impl.h"

namespace pitstore {
namespace {

// The merge thread's hold of the writer's lock. std::mutex is not fair, and a committer taking
// the lock back at once kept a merge waiting for a second: while the thread waits, `waiting` is
// raised, and commits step aside for it (CommitBatch).
class SCOPED_CAPABILITY MergeThreadLock {
 public:
  MergeThreadLock(Mutex& mu, std::atomic<int>& waiting) ACQUIRE(mu) : mu_(mu) {
    waiting.fetch_add(1);
    mu_.Lock();
    waiting.fetch_sub(1);
  }
  ~MergeThreadLock() RELEASE() { mu_.Unlock(); }
  MergeThreadLock(const MergeThreadLock&) = delete;
  MergeThreadLock& operator=(const MergeThreadLock&) = delete;

 private:
  Mutex& mu_;
};

// A merge's inputs larger than this many times segment_max_rows run streamed in the committing
// thread's way instead: a background merge holds its whole output until it is published.
constexpr uint64_t kMaxBackgroundMergeSegments = 4;

}  // namespace

Status StoreImpl::RequestMerge(const ViewInfo& v, bool* stall) {
  std::vector<BlockEntry> inputs;
  uint64_t tail_rows = 0, row_blocks = 0;
  Result<bool> due = FlushInputs(v, &inputs, &tail_rows, &row_blocks);
  std::unique_lock<std::mutex> lock(merge_mu_);
  if (!due.ok()) return due.status();  // a background failure stays for the next report
  Status failure = std::move(merge_failure_);
  merge_failure_ = Status::OK();
  if (!*due || merge_stop_) return failure;
  merge_queue_.insert(v.id);
  if (!merge_thread_.joinable()) merge_thread_ = std::thread([this] { MergeThread(); });
  merge_wake_.notify_one();
  *stall = (options_.auto_flush_rows && tail_rows >= 2 * options_.auto_flush_rows) ||
           (options_.auto_flush_row_blocks && row_blocks >= 2 * uint64_t{options_.auto_flush_row_blocks});
  return failure;
}

Status StoreImpl::WaitForMerges() {
  WaitUntilMergesIdle();
  std::unique_lock<std::mutex> lock(merge_mu_);
  Status failure = std::move(merge_failure_);
  merge_failure_ = Status::OK();
  return failure;
}

void StoreImpl::WaitUntilMergesIdle() {
  std::unique_lock<std::mutex> lock(merge_mu_);
  merge_idle_.wait(lock, [&] { return merge_stop_ || (merge_queue_.empty() && !merge_running_); });
}

void StoreImpl::WaitForAMerge() {
  std::unique_lock<std::mutex> lock(merge_mu_);
  const uint64_t finished = merges_finished_;
  merge_idle_.wait(
      lock, [&] { return merge_stop_ || merges_finished_ != finished || (merge_queue_.empty() && !merge_running_); });
}

StoreImpl::MergePause::MergePause(StoreImpl& store) : store_(store) {
  std::unique_lock<std::mutex> lock(store_.merge_mu_);
  ++store_.merge_pauses_;
  store_.merge_idle_.wait(lock, [&] { return !store_.merge_running_; });
}

StoreImpl::MergePause::~MergePause() {
  {
    std::unique_lock<std::mutex> lock(store_.merge_mu_);
    --store_.merge_pauses_;
  }
  store_.merge_wake_.notify_all();
}

void StoreImpl::StopBackgroundMerges() {
  {
    std::unique_lock<std::mutex> lock(merge_mu_);
    merge_stop_ = true;
    merge_queue_.clear();
  }
  merge_wake_.notify_all();
  merge_idle_.notify_all();
  if (merge_thread_.joinable()) merge_thread_.join();
}

void StoreImpl::MergeThread() {
  std::unique_lock<std::mutex> lock(merge_mu_);
  for (;;) {
    merge_wake_.wait(lock, [&] { return merge_stop_ || (!merge_queue_.empty() && merge_pauses_ == 0); });
    if (merge_stop_) return;
    const uint32_t view_id = *merge_queue_.begin();
    merge_queue_.erase(merge_queue_.begin());
    merge_running_ = true;
    lock.unlock();
    bool dropped = false;
    Status st;
    try {
      st = BackgroundMerge(view_id, &dropped);
    } catch (const std::bad_alloc&) {  // the merge's output did not fit: the commits stand
      st = Status::IOError(path_ + ": a background merge ran out of memory");
    }
    lock.lock();
    merge_running_ = false;
    // A merge another writer overtook is tried again at once, with what that writer left (twice
    // at most in a row), so a stalled commit waits for a merge that was published.
    dropped_in_a_row_ = dropped ? dropped_in_a_row_ + 1 : 0;
    if (dropped && dropped_in_a_row_ <= 2 && !merge_stop_) merge_queue_.insert(view_id);
    ++merges_finished_;
    if (!st.ok()) merge_failure_ = std::move(st);
    merge_idle_.notify_all();
  }
}

Status StoreImpl::BackgroundMerge(uint32_t view_id, bool* dropped) {
  uint64_t tail_rows = 0;
  Status st = BackgroundMergeOnce(view_id, &tail_rows, dropped);
  if (!st.ok() && tail_rows > 0) {
    // As after a failed merge in the commit: the next try waits until the tail has doubled.
    MergeThreadLock lock(write_mu_, merge_waiting_);
    auto_flush_retry_rows_ = 2 * tail_rows;
  }
  return st;
}

Status StoreImpl::BackgroundMergeOnce(uint32_t view_id, uint64_t* tail_rows_out, bool* dropped) {
  const auto started = std::chrono::steady_clock::now();
  std::shared_ptr<const StoreState> state;
  const ViewInfo* v = nullptr;
  std::vector<BlockEntry> inputs;
  uint64_t tail_rows = 0;
  std::optional<SnapshotParts> parts;
  {
    MergeThreadLock lock(write_mu_, merge_waiting_);
    PITSTORE_RETURN_IF_ERROR(broken_);
    state = Current();  // holds the registry `v` points into
    v = state->registry ? state->registry->FindViewById(view_id) : nullptr;
    if (!v) return Status::OK();  // dropped meanwhile
    uint64_t row_blocks = 0;
    PITSTORE_ASSIGN_OR_RETURN(bool due, FlushInputs(*v, &inputs, &tail_rows, &row_blocks));
    *tail_rows_out = tail_rows;
    if (!due) return Status::OK();  // another merge took the tail meanwhile
    uint64_t rows = 0;
    for (const BlockEntry& b : inputs) rows += b.rows;
    if (rows > kMaxBackgroundMergeSegments * options_.segment_max_rows) {
      Status st = MergeView(*v, inputs);
      if (st.ok()) auto_flush_retry_rows_ = 0;
      return st;
    }
    Result<SnapshotParts> begun = BeginSnapshot();
    if (!begun.ok()) return begun.status();
    parts.emplace(std::move(begun).value());
  }
  // Merging and compressing, the costly part, while commits and readers go on. Memory: the
  // merge's output, at most kMaxBackgroundMergeSegments segments, decoded and compressed.
  struct Prepared {
    std::shared_ptr<const Run> run;
    CompressedSegment compressed;
    std::vector<uint32_t> segments_left;
  };
  std::vector<Prepared> prepared;
  Status st;
  {
    SnapshotImpl snapshot(std::move(*parts), nullptr);
    st = MergeStream(
        snapshot, *v, inputs, RetentionCutoff(*v), nullptr,
        [&](Run&& segment, std::vector<uint32_t>&& segments_left) -> Status {
          auto run = std::make_shared<const Run>(std::move(segment));
          CompressedSegment compressed =
              CompressSegment(*run, PageFormatFor(options_, *state->file), env_->MaxThreads());
          prepared.push_back({std::move(run), std::move(compressed), std::move(segments_left)});
          return Status::OK();
        },
        nullptr);
  }
  MergeThreadLock lock(write_mu_, merge_waiting_);
  if (st.ok()) st = broken_;
  if (st.ok()) {
    // Published only if the store is as the merge found it: same file (no vacuum), same
    // definitions, every input still live (no Compact or Delete took one). Else dropped.
    std::shared_ptr<const StoreState> now = Current();
    *dropped = true;
    if (now->file_id != state->file_id || now->registry != state->registry) return Status::OK();
    PITSTORE_ASSIGN_OR_RETURN(IndexTxn rt, index_->BeginRead());
    for (const BlockEntry& b : inputs) {
      PITSTORE_ASSIGN_OR_RETURN(std::optional<BlockEntry> live, index_->GetBlock(rt.get(), b.offset));
      if (!live) return Status::OK();
    }
    *dropped = false;
    PITSTORE_RETURN_IF_ERROR(rt.Commit());
    st = PublishMerge(
        *v, inputs,
        [&](const SegmentSink& sink, const DepartSink&, MergeOutput&) -> Status {
          for (Prepared& p : prepared) {
            PITSTORE_RETURN_IF_ERROR(sink(std::move(p.run), &p.compressed, std::move(p.segments_left)));
            p.compressed = CompressedSegment();
          }
          return Status::OK();
        },
        started);
  }
  if (st.ok()) auto_flush_retry_rows_ = 0;
  return st;
}

}  // namespace pitstore
