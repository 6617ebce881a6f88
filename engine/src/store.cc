// StoreImpl: the write path (transactions appended to the data file, then published to the
// index), recovery, the three read paths, merges, vacuum and verification.
#include "pitstore/store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <unordered_map>

#include "as_of_join.h"
#include "block_cache.h"
#include "data_file.h"
#include "index.h"
#include "key_codec.h"
#include "open_stores.h"
#include "registry.h"
#include "run.h"
#include "store_format.h"

namespace pitstore {
namespace {

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Timestamp NowOr(const ReadOptions& options) { return options.now != kMinTimestamp ? options.now : NowMicros(); }

// 16 random bytes naming one data file; a vacuumed copy gets a new one.
std::string NewFileId() {
  std::random_device rd;
  std::mt19937_64 gen((static_cast<uint64_t>(rd()) << 32) ^ rd() ^ static_cast<uint64_t>(NowMicros()));
  std::string id;
  for (int i = 0; i < 2; ++i) {
    uint64_t r = gen();
    id.append(reinterpret_cast<char*>(&r), 8);
  }
  return id;
}

// The view id of a `latest` or `loc` key (its first four bytes, big-endian).
uint32_t ViewIdOf(std::string_view lkey) {
  return (uint32_t{static_cast<uint8_t>(lkey[0])} << 24) | (uint32_t{static_cast<uint8_t>(lkey[1])} << 16) |
         (uint32_t{static_cast<uint8_t>(lkey[2])} << 8) | static_cast<uint8_t>(lkey[3]);
}

// t - event_ts > ttl, without overflow.
bool OutsideTtl(int64_t ttl, Timestamp t, Timestamp event_ts) {
  return ttl > 0 && static_cast<__int128>(t) - event_ts > ttl;
}

constexpr uint32_t kMaxRowsPerRowBlock = 1u << 20;

// One block of a transaction, decoded.
struct TxnBlock {
  uint64_t offset = 0;
  uint64_t end = 0;
  BlockType type = BlockType::kRows;
  std::shared_ptr<const Run> run;  // rows and segments
};

struct ParsedTxn {
  uint64_t start = 0;
  uint64_t end = 0;
  std::vector<TxnBlock> blocks;
  std::shared_ptr<const Registry> registry;  // set when the txn holds a REGISTRY block
  uint64_t registry_offset = 0;
  CommitRecord commit;
  // Decoded obsolete blocks the writer already holds (a merge's inputs), so publishing need
  // not read them again to find their keys.
  std::unordered_map<uint64_t, std::shared_ptr<const Run>> obsolete_runs;
};

// Builds a transaction's bytes in memory, then it is written with one pwrite.
class TxnBuilder {
 public:
  explicit TxnBuilder(uint64_t base) : base_(base) {}
  uint64_t next_offset() const { return base_ + bytes_.size(); }
  // Appends a framed block; only row blocks are recorded in the transaction's block list.
  TxnBlock Add(BlockType type, std::string_view raw, int zstd_level) {
    TxnBlock b;
    b.offset = next_offset();
    b.type = type;
    AppendBlock(&bytes_, b.offset, type, raw, zstd_level);
    b.end = next_offset();
    return b;
  }
  // zstd_level: of the row batch block, or of each segment chunk.
  void AddRun(BlockType type, std::shared_ptr<const Run> run, int zstd_level, uint32_t page_rows = 0) {
    uint64_t at = next_offset();
    std::string raw = type == BlockType::kRows ? EncodeRowsBlock(*run)
                                               : EncodeSegment(*run, at + kBlockHeaderSize, zstd_level, page_rows);
    bytes_.reserve(bytes_.size() + kBlockHeaderSize + raw.size() + 4096);
    // Segments compress per chunk; their block is stored as is.
    TxnBlock b = Add(type, raw, type == BlockType::kRows ? zstd_level : 0);
    b.run = std::move(run);
    txn_.blocks.push_back(std::move(b));
  }
  void AddRegistry(std::shared_ptr<const Registry> registry) {
    txn_.registry_offset = next_offset();
    Add(BlockType::kRegistry, EncodeRegistry(*registry), 1);
    txn_.registry = std::move(registry);
  }
  ParsedTxn& Finish(CommitRecord commit) {
    commit.txn_start = base_;
    txn_.start = base_;
    Add(BlockType::kCommit, EncodeCommit(commit), 0);
    txn_.commit = std::move(commit);
    txn_.end = next_offset();
    return txn_;
  }
  const std::string& bytes() const { return bytes_; }

 private:
  uint64_t base_;
  std::string bytes_;
  ParsedTxn txn_;
};

Result<Run> DecodeDataBlock(const RawBlock& b, const Registry& reg, bool verify) {
  if (b.payload.size() < 4) return Status::Corruption("data block too short at offset " + std::to_string(b.offset));
  uint32_t view_id = LoadFixed32(b.payload.data());
  const ViewInfo* v = reg.FindViewById(view_id);
  if (!v)
    return Status::Corruption("block at offset " + std::to_string(b.offset) + " names unknown view id " +
                              std::to_string(view_id));
  Result<Run> run = b.header.type == BlockType::kRows
                        ? DecodeRowsBlock(b.payload, v->types)
                        : DecodeSegment(b.payload, b.offset + kBlockHeaderSize, v->types, verify);
  if (!run.ok())
    return Status::Corruption(run.status().message() + " (block at offset " + std::to_string(b.offset) + ")");
  PITSTORE_RETURN_IF_ERROR(run->Validate("block at offset " + std::to_string(b.offset)));
  return run;
}

// What a snapshot reads through: one index read transaction and the state it names.
struct SnapshotParts {
  IndexTxn txn;
  std::shared_ptr<const Registry> registry;
  std::shared_ptr<DataFile> file;
  IndexMeta meta;
};

class SnapshotImpl : public Snapshot {
 public:
  SnapshotImpl(SnapshotParts parts, std::atomic<int>* open_count)
      : txn(std::move(parts.txn)),
        registry(std::move(parts.registry)),
        file(std::move(parts.file)),
        meta(std::move(parts.meta)),
        open_count_(open_count) {
    if (open_count_) ++*open_count_;
  }
  ~SnapshotImpl() override {
    if (open_count_) --*open_count_;
  }
  uint64_t commit_seq() const override { return meta.commit_seq; }

  IndexTxn txn;
  std::shared_ptr<const Registry> registry;
  std::shared_ptr<DataFile> file;
  IndexMeta meta;

 private:
  std::atomic<int>* open_count_;
};

class StoreImpl : public Store {
 public:
  StoreImpl(std::string path, Options options)
      : path_(std::move(path)), options_(options), cache_(options.block_cache_bytes) {}
  ~StoreImpl() override {
    if (index_ && !options_.read_only) (void)index_->ForceSync();
  }

  Status Init();

  Status DefineEntity(const EntityDef& entity) override;
  Status DefineView(const FeatureViewDef& view) override;
  using Store::Apply;
  Status Apply(const Definitions& definitions, std::vector<std::string>* changes) override;
  Result<FeatureViewDef> GetView(const std::string& name) override;
  Result<EntityDef> GetEntity(const std::string& name) override;
  Result<FeatureServiceDef> GetService(const std::string& name) override;
  Result<std::vector<std::string>> ListServices() override;
  Result<std::vector<std::string>> ListViews() override;
  Result<std::vector<std::string>> ListEntities() override;
  Result<CommitInfo> Append(const std::string& view, const WriteBatch& batch, const WriteOptions& options) override;
  Result<Lookup> Latest(const std::string& view, const EntityKey& key, const std::vector<std::string>& features,
                        const ReadOptions& options) override;
  Status LatestInto(const std::string& view, const EntityKey& key, Lookup* out,
                    const std::vector<std::string>& features, const ReadOptions& options) override;
  Result<std::vector<Lookup>> LatestBatch(const std::string& view, const std::vector<EntityKey>& keys,
                                          const std::vector<std::string>& features,
                                          const ReadOptions& options) override;
  Result<Lookup> AsOf(const std::string& view, const EntityKey& key, Timestamp t, Timestamp known_at,
                      const std::vector<std::string>& features, const ReadOptions& options) override;
  Result<std::vector<VersionedRow>> History(const std::string& view, const EntityKey& key, Timestamp from, Timestamp to,
                                            Timestamp known_at, const std::vector<std::string>& features,
                                            const ReadOptions& options) override;
  Result<std::unique_ptr<Snapshot>> GetSnapshot() override;
  Status Compact(const CompactOptions& options) override;
  Status Vacuum() override;
  Status CopyTo(const std::string& dest) override;
  Status RebuildIndex() override;
  Result<VerifyReport> Verify() override;
  Result<StoreStats> Stats() override;
  Result<std::vector<BlockInfo>> ListBlocks(const std::string& view) override;
  Status Scan(const std::string& view, const ScanVisitor& visit, Timestamp known_at,
              const std::vector<std::string>& features, const ReadOptions& options) override;
  Result<JoinResult> AsOfJoin(const std::string& view, const JoinLabels& labels,
                              const std::vector<std::string>& features, const JoinOptions& join,
                              const ReadOptions& options) override;

 private:
  // ---- reading ----
  // Begins an index read transaction and collects the state it names.
  Result<SnapshotParts> BeginSnapshot();
  Result<std::unique_ptr<SnapshotImpl>> NewSnapshot();
  // Runs fn with the caller's snapshot or a fresh one.
  template <typename Fn>
  auto WithSnapshot(const ReadOptions& options, Fn&& fn) -> decltype(fn(std::declval<SnapshotImpl&>()));
  // The registry block at offset (the writer's, or a reader's cached one, or read now).
  Result<std::shared_ptr<const Registry>> RegistryAt(const DataFile& file, uint64_t offset);
  // The writer's registry: changed only by commits of this process (and Init).
  std::shared_ptr<const Registry> CurrentRegistry();
  Status LoadCurrentRegistry();
  // The data file and its id, as readers must see them: Vacuum swaps both.
  std::shared_ptr<DataFile> CurrentFile(std::string* file_id);
  // A whole data block decoded (row batches are cached; segments are not: merges only).
  Result<std::shared_ptr<const Run>> GetRun(SnapshotImpl& s, uint64_t offset);
  // The rows a location entry names, as spans of the cached segment pages that hold them.
  // Checks that every row belongs to the key.
  struct RowSpan {
    std::shared_ptr<const Run> run;
    size_t begin, end;
  };
  Status ReadRows(SnapshotImpl& s, std::string_view key, const LocEntry& e, std::vector<RowSpan>* out);
  // The footer of the segment at offset, read once and cached (locations name segments only).
  Result<std::shared_ptr<const SegmentLayout>> GetSegmentLayout(SnapshotImpl& s, uint64_t offset);
  // One page of the segment at `block`, from the cache or the file (then cached if `cache`).
  Result<std::shared_ptr<const Run>> GetSegmentPage(SnapshotImpl& s, uint64_t block, const SegmentLayout& l,
                                                    size_t page, bool cache);
  Result<const ViewInfo*> FindView(const Registry& reg, const std::string& name);
  Result<std::vector<int>> Projection(const ViewInfo& v, const std::vector<std::string>& features);
  // The encoded entity key, checked against the view's join keys.
  Result<std::string> KeyFor(const ViewInfo& v, const EntityKey& key, const std::string& where);
  Status LatestIn(SnapshotImpl& s, const ViewInfo& v, const std::string& lkey, const std::vector<int>& proj,
                  Timestamp now, Lookup* out);
  // The winning row among the key's rows with event_ts <= t and system_ts <= known_at.
  // The live blocks of a committed state (cached per state): the row batches not merged yet,
  // and the offsets of live segments (locations of other segments await deletion: skip them).
  struct LiveBlocks {
    std::vector<BlockEntry> tail;
    std::vector<uint64_t> segments;  // sorted
    bool IsLiveSegment(uint64_t offset) const { return std::binary_search(segments.begin(), segments.end(), offset); }
  };
  Result<std::shared_ptr<const LiveBlocks>> GetLiveBlocks(SnapshotImpl& s);
  // Every stored row of a key that may have from <= event_ts <= to and system_ts <= known_at
  // (zone maps skip blocks; callers still filter rows).
  Status KeySpans(SnapshotImpl& s, const std::string& lkey, Timestamp from, Timestamp to, Timestamp known_at,
                  std::vector<RowSpan>* out);
  Status BestAsOf(SnapshotImpl& s, const std::string& lkey, Timestamp t, Timestamp known_at,
                  std::shared_ptr<const Run>* run, size_t* row);
  void FillLookup(const ViewInfo& v, const Run& run, size_t row, const std::vector<int>& proj, Timestamp t,
                  Lookup* out);

  // ---- writing ----
  Result<Run> BuildRun(const ViewInfo& v, const WriteBatch& batch, uint64_t commit_seq, int64_t commit_ts);
  // Writes the transaction, syncs, publishes it to the index. On any failure nothing of it
  // stays: the data file is cut back and the index transaction aborted.
  Status WriteAndPublish(const TxnBuilder& tb, ParsedTxn& txn, bool sync);
  // Publishes one transaction's blocks into the index (within the caller's write txn).
  Status ApplyTxn(MDB_txn* txn, const ParsedTxn& t, IndexMeta* meta);
  // Deletes the locations of superseded segments listed by merges, in bounded transactions.
  // `held`: decoded segments the caller still has (else they are read from the file).
  Status CleanupLocations(const std::unordered_map<uint64_t, std::shared_ptr<const Run>>* held);
  Status CommitRegistry(std::shared_ptr<Registry> next);
  Status MergeView(const ViewInfo& v, const std::vector<BlockEntry>& inputs);
  // Merges the view's tail when Options::auto_flush_* says it is due (after a commit).
  Status AutoFlush(const ViewInfo& v);
  // Writes the current state, compacted, as a new data file at `dest` (synced).
  Result<std::shared_ptr<DataFile>> WriteCompactedCopy(const std::string& dest, std::string* file_id);
  std::vector<Run> MergeRuns(const std::vector<std::shared_ptr<const Run>>& inputs);

  // ---- recovery ----
  // Reads transactions from `from` to the end of the file; calls fn for each complete one.
  // *good_end is the end of the last complete transaction; *damage is set when a bad block
  // is followed by further valid commits (not a torn tail).
  Status ScanTxns(DataFile& file, uint64_t from, std::shared_ptr<const Registry> reg,
                  const std::function<Status(ParsedTxn&)>& fn, uint64_t* good_end, std::string* tail_problem);
  bool ValidCommitAfter(DataFile& file, uint64_t from, uint64_t size);
  Status Recover(uint64_t from);
  Status RebuildLocked(DataFile& file);

  std::string path_;
  Options options_;
  BlockCache cache_;
  std::mutex file_mu_;  // guards file_, file_id_ and previous_* against Vacuum's swap (writers hold write_mu_)
  std::shared_ptr<DataFile> file_;
  std::unique_ptr<OpenStoreClaim> claim_;     // this process's claim on the store (open_stores.h)
  std::shared_ptr<DataFile> previous_file_;  // during Vacuum's index rebuild: the file replaced
  std::string previous_file_id_;
  std::unique_ptr<Index> index_;
  std::string file_id_;

  std::mutex write_mu_;                       // serializes writers
  // Registries by the (file generation, offset) of their block: a vacuumed file reuses offsets.
  std::mutex reg_mu_;                         // guards registry_* and read_registry_*
  std::shared_ptr<const Registry> registry_;  // the writer's; see CurrentRegistry
  uint64_t registry_generation_ = 0, registry_offset_ = 0;
  std::shared_ptr<const Registry> read_registry_;  // the last other one a reader loaded
  uint64_t read_registry_generation_ = 0, read_registry_offset_ = 0;
  IndexMeta meta_;  // writer's view of the published state
  std::atomic<int> open_snapshots_{0};
  std::mutex live_mu_;  // guards live_*
  std::shared_ptr<const LiveBlocks> live_;
  uint64_t live_seq_ = 0;
  std::string live_file_id_;
  std::mutex info_mu_;
  // One per segment, by (file generation, offset): a vacuumed file reuses offsets.
  std::map<std::pair<uint64_t, uint64_t>, std::shared_ptr<const SegmentLayout>> layouts_;
};

// ======================= open and recovery =======================

Status StoreImpl::Init() {
  struct stat st;
  bool exists = ::stat(path_.c_str(), &st) == 0;
  if (!exists && (!options_.create_if_missing || options_.read_only))
    return Status::NotFound(path_ + ": no such store");
  // Claimed before the lock and LMDB: one environment per store per process (open_stores.h).
  PITSTORE_ASSIGN_OR_RETURN(file_, DataFile::Open(path_, options_.read_only, !options_.read_only,
                                                  [&](const DataFile& f) -> Status {
                                                    PITSTORE_ASSIGN_OR_RETURN(claim_, OpenStoreClaim::Claim(f));
                                                    return Status::OK();
                                                  }));
  PITSTORE_ASSIGN_OR_RETURN(uint64_t size, file_->FileSize());
  if (size == 0) {
    if (options_.read_only) return Status::Corruption(path_ + ": empty file");
    // A new store: the header, an empty registry, and the first commit.
    FileHeader h;
    h.file_id = NewFileId();
    h.created_ts = NowMicros();
    TxnBuilder tb(0);
    tb.Add(BlockType::kHeader, EncodeFileHeader(h), 0);
    tb.AddRegistry(std::make_shared<Registry>());
    CommitRecord c;
    c.commit_seq = 1;
    c.commit_ts = h.created_ts;
    tb.Finish(c);
    PITSTORE_RETURN_IF_ERROR(file_->WriteAt(0, tb.bytes()));
    PITSTORE_RETURN_IF_ERROR(file_->Sync());
    PITSTORE_RETURN_IF_ERROR(SyncDirectoryOf(path_));
    size = tb.bytes().size();
  }
  PITSTORE_ASSIGN_OR_RETURN(RawBlock hb, file_->ReadBlock(0, size, true));
  if (hb.header.type != BlockType::kHeader) return Status::Corruption(path_ + ": first block is not a header");
  PITSTORE_ASSIGN_OR_RETURN(FileHeader header, DecodeFileHeader(hb.payload));
  file_id_ = header.file_id;

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
  if (options_.read_only) {
    if (!meta.ok()) return meta.status();
    if (meta->file_id != file_id_)
      // Not damage: a vacuum or copy replaced the data file and its index was not rebuilt yet.
      return Status::NotFound(path_ + ": the index (" + path_ +
                              "-index) describes another data file; open the store read-write once to rebuild it");
    meta_ = *meta;
    return LoadCurrentRegistry();
  }
  if (!meta.ok() || meta->file_id != file_id_ || meta->applied_offset > size || meta->applied_offset == 0) {
    PITSTORE_RETURN_IF_ERROR(RebuildLocked(*file_));
  } else {
    meta_ = *meta;
    PITSTORE_RETURN_IF_ERROR(LoadCurrentRegistry());
    PITSTORE_RETURN_IF_ERROR(Recover(meta_.applied_offset));
  }
  return CleanupLocations(nullptr);  // what a merge (or this recovery) left to delete
}

Result<std::shared_ptr<const Registry>> StoreImpl::RegistryAt(const DataFile& file, uint64_t offset) {
  const uint64_t generation = file.generation();
  {
    std::lock_guard<std::mutex> lock(reg_mu_);
    if (registry_ && registry_generation_ == generation && registry_offset_ == offset) return registry_;
    if (read_registry_ && read_registry_generation_ == generation && read_registry_offset_ == offset)
      return read_registry_;
  }
  PITSTORE_ASSIGN_OR_RETURN(uint64_t size, file.FileSize());
  PITSTORE_ASSIGN_OR_RETURN(RawBlock b, file.ReadBlock(offset, size, true));
  if (b.header.type != BlockType::kRegistry)
    return Status::Corruption("index points to a registry at offset " + std::to_string(offset) + " that is not one");
  PITSTORE_ASSIGN_OR_RETURN(auto reg, DecodeRegistry(b.payload));
  // Readers cache what they load apart from the writer's registry: a reader on an older
  // snapshot must never hand the writer an older schema.
  std::lock_guard<std::mutex> lock(reg_mu_);
  read_registry_ = reg;
  read_registry_generation_ = generation;
  read_registry_offset_ = offset;
  return reg;
}

std::shared_ptr<DataFile> StoreImpl::CurrentFile(std::string* file_id) {
  std::lock_guard<std::mutex> lock(file_mu_);
  *file_id = file_id_;
  return file_;
}

std::shared_ptr<const Registry> StoreImpl::CurrentRegistry() {
  std::lock_guard<std::mutex> lock(reg_mu_);
  return registry_;
}

Status StoreImpl::LoadCurrentRegistry() {
  PITSTORE_ASSIGN_OR_RETURN(auto reg, RegistryAt(*file_, meta_.registry_offset));
  std::lock_guard<std::mutex> lock(reg_mu_);
  registry_ = reg;
  registry_generation_ = file_->generation();
  registry_offset_ = meta_.registry_offset;
  return Status::OK();
}

bool StoreImpl::ValidCommitAfter(DataFile& file, uint64_t from, uint64_t size) {
  // Slow path, only after a bad block: look for any intact commit block further on.
  const size_t kChunk = 1 << 20;
  std::string buf;
  for (uint64_t base = from + 1; base + kBlockHeaderSize <= size; base += kChunk) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(kChunk + kBlockHeaderSize, size - base));
    buf.resize(n);
    if (!file.ReadExact(base, n, buf.data()).ok()) return false;
    for (size_t i = 0; i + kBlockHeaderSize <= n && i < kChunk; ++i) {
      if (LoadFixed32(buf.data() + i) != kBlockMagic || buf[i + 4] != static_cast<char>(BlockType::kCommit)) continue;
      auto b = file.ReadBlock(base + i, size, true);
      if (b.ok() && DecodeCommit(b->payload).ok()) return true;
    }
  }
  return false;
}

Status StoreImpl::ScanTxns(DataFile& file, uint64_t from, std::shared_ptr<const Registry> reg,
                           const std::function<Status(ParsedTxn&)>& fn, uint64_t* good_end, std::string* tail_problem) {
  PITSTORE_ASSIGN_OR_RETURN(uint64_t size, file.FileSize());
  uint64_t pos = from;
  *good_end = from;
  ParsedTxn txn;
  txn.start = pos;
  while (pos < size) {
    auto b = file.ReadBlock(pos, size, true);
    Status bad;
    if (!b.ok()) {
      bad = b.status();
    } else if (b->header.type == BlockType::kCommit) {
      auto c = DecodeCommit(b->payload);
      if (!c.ok() || c->txn_start != txn.start) {
        bad = Status::Corruption(path_ + ": commit record at offset " + std::to_string(pos) +
                                 " does not match its transaction");
      } else {
        txn.commit = std::move(c).value();
        txn.end = b->end();
        PITSTORE_RETURN_IF_ERROR(fn(txn));
        if (txn.registry) reg = txn.registry;
        *good_end = txn.end;
        txn = ParsedTxn();
        txn.start = b->end();
      }
    } else if (b->header.type == BlockType::kHeader) {
      if (pos != 0) bad = Status::Corruption(path_ + ": header block at offset " + std::to_string(pos));
    } else if (b->header.type == BlockType::kRegistry) {
      auto r = DecodeRegistry(b->payload);
      if (!r.ok()) {
        bad = Status::Corruption(path_ + ": registry at offset " + std::to_string(pos) + ": " + r.status().message());
      } else {
        txn.registry = *r;
        txn.registry_offset = pos;
      }
    } else {
      auto run = DecodeDataBlock(*b, txn.registry ? *txn.registry : *reg, true);
      if (!run.ok()) {
        bad = Status::Corruption(path_ + ": " + run.status().message());
      } else {
        TxnBlock tb;
        tb.offset = pos;
        tb.end = b->end();
        tb.type = b->header.type;
        tb.run = std::make_shared<Run>(std::move(run).value());
        txn.blocks.push_back(std::move(tb));
      }
    }
    if (!bad.ok()) {
      if (bad.IsIOError()) return bad;
      if (ValidCommitAfter(file, pos, size))
        return Status::Corruption(bad.message() + "; later commits exist, so this is damage, not a torn write");
      *tail_problem = bad.message();
      return Status::OK();
    }
    pos = b->end();
  }
  if (*good_end != size) *tail_problem = "transaction at offset " + std::to_string(*good_end) + " has no commit record";
  return Status::OK();
}

Status StoreImpl::Recover(uint64_t from) {
  PITSTORE_ASSIGN_OR_RETURN(IndexTxn wt, index_->BeginWrite());
  IndexMeta meta = meta_;
  std::shared_ptr<const Registry> reg = CurrentRegistry();
  uint64_t registry_offset = meta_.registry_offset;
  uint64_t good_end = from;
  std::string tail;
  PITSTORE_RETURN_IF_ERROR(ScanTxns(
      *file_, from, reg,
      [&](ParsedTxn& t) -> Status {
        if (t.registry) {
          reg = t.registry;
          registry_offset = t.registry_offset;
        }
        return ApplyTxn(wt.get(), t, &meta);
      },
      &good_end, &tail));
  PITSTORE_ASSIGN_OR_RETURN(uint64_t size, file_->FileSize());
  if (good_end != size) PITSTORE_RETURN_IF_ERROR(file_->Truncate(good_end));  // a torn tail: ignore it
  meta.applied_offset = good_end;
  meta.file_id = file_id_;
  PITSTORE_RETURN_IF_ERROR(index_->PutMeta(wt.get(), meta));
  PITSTORE_RETURN_IF_ERROR(wt.Commit());
  meta_ = meta;
  std::lock_guard<std::mutex> lock(reg_mu_);
  registry_ = reg;
  registry_generation_ = file_->generation();
  registry_offset_ = registry_offset;
  return Status::OK();
}

Status StoreImpl::RebuildLocked(DataFile& file) {
  cache_.Clear();
  {
    std::lock_guard<std::mutex> lock(info_mu_);
    layouts_.clear();
  }
  PITSTORE_ASSIGN_OR_RETURN(IndexTxn wt, index_->BeginWrite());
  PITSTORE_RETURN_IF_ERROR(index_->DropAll(wt.get()));
  IndexMeta meta;
  meta.file_id = file_id_;
  {
    std::lock_guard<std::mutex> lock(reg_mu_);
    registry_.reset();
    read_registry_.reset();
  }
  // The registry block of the first transaction precedes every row block.
  std::shared_ptr<const Registry> reg = std::make_shared<Registry>();
  uint64_t registry_offset = 0;
  uint64_t good_end = 0;
  std::string tail;
  PITSTORE_RETURN_IF_ERROR(ScanTxns(
      file, 0, reg,
      [&](ParsedTxn& t) -> Status {
        if (t.registry) {
          reg = t.registry;
          registry_offset = t.registry_offset;
        }
        return ApplyTxn(wt.get(), t, &meta);
      },
      &good_end, &tail));
  if (good_end == 0) return Status::Corruption(path_ + ": no complete transaction in the file: " + tail);
  PITSTORE_ASSIGN_OR_RETURN(uint64_t size, file.FileSize());
  if (good_end != size) PITSTORE_RETURN_IF_ERROR(file.Truncate(good_end));
  meta.applied_offset = good_end;
  PITSTORE_RETURN_IF_ERROR(index_->PutMeta(wt.get(), meta));
  PITSTORE_RETURN_IF_ERROR(wt.Commit());
  meta_ = meta;
  {
    std::lock_guard<std::mutex> lock(reg_mu_);
    registry_ = reg;
    registry_generation_ = file.generation();
    registry_offset_ = registry_offset;
  }
  return CleanupLocations(nullptr);  // locations of every segment a later merge superseded
}

Status StoreImpl::ApplyTxn(MDB_txn* txn, const ParsedTxn& t, IndexMeta* meta) {
  bool rewrite = t.commit.flags & kCommitRewrite;
  for (const TxnBlock& b : t.blocks) {
    const Run& run = *b.run;
    BlockEntry be;
    be.offset = b.offset;
    be.type = b.type;
    be.view_id = run.view_id;
    be.rows = static_cast<uint32_t>(run.size());
    be.stored_bytes = b.end - b.offset;
    be.raw_bytes = run.LogicalBytes();
    be.min_event_ts = run.size() ? *std::min_element(run.event_ts.begin(), run.event_ts.end()) : 0;
    be.max_event_ts = run.size() ? *std::max_element(run.event_ts.begin(), run.event_ts.end()) : 0;
    PITSTORE_RETURN_IF_ERROR(index_->PutBlock(txn, be));
    auto cursors = index_->Cursors(txn);
    PITSTORE_RETURN_IF_ERROR(cursors->status());
    std::string lkey;
    for (size_t i = 0; i < run.size();) {
      size_t j = i + 1;
      int64_t min_sys = run.system_ts[i];
      while (j < run.size() && run.keys[j] == run.keys[i]) min_sys = std::min(min_sys, run.system_ts[j++]);
      lkey = LatestKey(run.view_id, run.keys[i]);
      LocEntry e{b.offset,        static_cast<uint32_t>(i), static_cast<uint32_t>(j - i),
                 run.event_ts[i], run.event_ts[j - 1],      min_sys};
      // Segments get a location per key; row batches none: they are few, sorted and found by a
      // binary search (KeySpans), which keeps a commit from rewriting the location table.
      if (b.type == BlockType::kSegment) PITSTORE_RETURN_IF_ERROR(cursors->PutLoc(lkey, e));
      if (!rewrite) {
        // Rows are sorted, so the group's last row is its greatest version.
        PITSTORE_ASSIGN_OR_RETURN(auto cur, cursors->GetLatest(lkey));
        bool replace = !cur.has_value();
        if (!replace) {
          PITSTORE_ASSIGN_OR_RETURN(Version v, DecodeLatestVersion(lkey, *cur));
          replace = v < run.version(j - 1);
        }
        if (replace) PITSTORE_RETURN_IF_ERROR(cursors->PutLatest(lkey, EncodeLatest(lkey, run, j - 1)));
      }
      i = j;
    }
  }
  std::vector<uint64_t> superseded_segments;
  for (uint64_t off : t.commit.obsolete) {
    PITSTORE_ASSIGN_OR_RETURN(std::optional<BlockEntry> entry, index_->GetBlock(txn, off));
    if (!entry)
      return Status::Corruption(path_ + ": a commit supersedes block " + std::to_string(off) + ", which is not live");
    // A segment's locations are deleted after this commit, in bounded transactions
    // (CleanupLocations); until then readers skip them, as the block is no longer live.
    if (entry->type == BlockType::kSegment) superseded_segments.push_back(off);
    PITSTORE_RETURN_IF_ERROR(index_->DelBlock(txn, off));
    cache_.EraseBlock(file_->generation(), off);
    std::lock_guard<std::mutex> lock(info_mu_);
    layouts_.erase({file_->generation(), off});
  }
  if (!superseded_segments.empty()) {
    PITSTORE_ASSIGN_OR_RETURN(std::vector<uint64_t> pending, index_->GetPendingCleanup(txn));
    pending.insert(pending.end(), superseded_segments.begin(), superseded_segments.end());
    PITSTORE_RETURN_IF_ERROR(index_->PutPendingCleanup(txn, pending));
  }
  if (t.registry) meta->registry_offset = t.registry_offset;
  meta->commit_seq = t.commit.commit_seq;
  meta->commit_ts = std::max(meta->commit_ts, t.commit.commit_ts);
  meta->applied_offset = t.end;
  return Status::OK();
}

// ======================= writing =======================

Status StoreImpl::WriteAndPublish(const TxnBuilder& tb, ParsedTxn& t, bool sync) {
  uint64_t base = t.start;
  PITSTORE_RETURN_IF_ERROR(file_->WriteAt(base, tb.bytes()));
  auto undo = [&](Status st) {
    (void)file_->Truncate(base);
    return st;
  };
  if (sync) {
    Status st = file_->Sync();
    if (!st.ok()) return undo(st);
  }
  auto wt = index_->BeginWrite();
  if (!wt.ok()) return undo(wt.status());
  IndexMeta meta = meta_;
  Status st = ApplyTxn(wt->get(), t, &meta);
  if (st.ok()) st = index_->PutMeta(wt->get(), meta);
  if (!sync) index_->SetSync(false);
  if (st.ok()) st = wt->Commit();
  if (!sync) index_->SetSync(true);
  if (!st.ok()) return undo(st);
  meta_ = meta;
  for (const TxnBlock& b : t.blocks)
    if (b.type == BlockType::kRows) cache_.Put(file_->generation(), b.offset, b.run);
  if (t.registry) {
    std::lock_guard<std::mutex> lock(reg_mu_);
    registry_ = t.registry;
    registry_generation_ = file_->generation();
    registry_offset_ = t.registry_offset;
  }
  return Status::OK();
}

Result<Run> StoreImpl::BuildRun(const ViewInfo& v, const WriteBatch& batch, uint64_t commit_seq, int64_t commit_ts) {
  const size_t n = batch.size();
  const size_t nfeat = v.def.features.size();
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
    return Status::InvalidArgument("view '" + v.def.name + "': " + std::to_string(batch.keys().size()) +
                                   " keys for " + std::to_string(n) + " rows");
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
      if (values.size() != nfeat)
        return Status::InvalidArgument(where(i, "*") + "expected " + std::to_string(nfeat) + " values, got " +
                                       std::to_string(values.size()));
      for (size_t c = 0; c < nfeat; ++c) {
        PITSTORE_RETURN_IF_ERROR(check(v.def.features[c], values[c], i));
        run.columns[c].Append(values[c]);
      }
    }
    return run;
  }
  std::vector<const Column*> given(nfeat, nullptr);
  for (const auto& [name, col] : batch.columns()) {
    size_t c = 0;
    while (c < nfeat && v.def.features[c].name != name) ++c;
    if (c == nfeat) return Status::InvalidArgument("view '" + v.def.name + "': unknown column '" + name + "'");
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
  if (options_.read_only) return Status::InvalidArgument("store is open read-only");
  std::lock_guard<std::mutex> lock(write_mu_);
  std::shared_ptr<const Registry> reg = CurrentRegistry();  // held: v points into it
  PITSTORE_ASSIGN_OR_RETURN(const ViewInfo* v, FindView(*reg, view));
  CommitRecord c;
  c.commit_seq = meta_.commit_seq + 1;
  c.commit_ts = std::max(NowMicros(), meta_.commit_ts + 1);
  PITSTORE_ASSIGN_OR_RETURN(Run run, BuildRun(*v, batch, c.commit_seq, c.commit_ts));
  CommitInfo info{c.commit_seq, c.commit_ts, batch.size(), Status::OK()};
  if (batch.empty()) return info;
  run.Sort();
  TxnBuilder tb(meta_.applied_offset);
  if (run.size() <= kMaxRowsPerRowBlock) {
    tb.AddRun(BlockType::kRows, std::make_shared<Run>(std::move(run)), options_.row_block_zstd_level);
  } else {
    for (size_t start = 0; start < run.size(); start += kMaxRowsPerRowBlock) {
      auto piece = std::make_shared<Run>(run.EmptyLike());
      for (size_t i = start; i < std::min(run.size(), start + size_t{kMaxRowsPerRowBlock}); ++i)
        piece->AppendRow(run, i);
      tb.AddRun(BlockType::kRows, std::move(piece), options_.row_block_zstd_level);
    }
  }
  ParsedTxn& t = tb.Finish(c);
  PITSTORE_RETURN_IF_ERROR(WriteAndPublish(tb, t, options.sync));
  if (options_.auto_flush_row_blocks > 0 || options_.auto_flush_rows > 0) info.merge = AutoFlush(*v);
  return info;
}

Status StoreImpl::AutoFlush(const ViewInfo& v) {
  PITSTORE_ASSIGN_OR_RETURN(IndexTxn rt, index_->BeginRead());
  std::vector<BlockEntry> blocks;
  PITSTORE_RETURN_IF_ERROR(index_->ListBlocks(rt.get(), &blocks));
  PITSTORE_RETURN_IF_ERROR(rt.Commit());
  std::vector<BlockEntry> inputs;
  uint64_t row_blocks = 0, tail_rows = 0;
  for (const BlockEntry& b : blocks) {
    if (b.view_id != v.id) continue;
    if (b.type == BlockType::kRows) {
      ++row_blocks;
      tail_rows += b.rows;
    }
    if (b.type == BlockType::kRows || b.rows < options_.segment_max_rows / 2) inputs.push_back(b);
  }
  bool flush = (options_.auto_flush_row_blocks && row_blocks >= options_.auto_flush_row_blocks) ||
               (options_.auto_flush_rows && tail_rows >= options_.auto_flush_rows);
  // The batch is committed; a failed merge leaves it (and everything else) as it was.
  return flush ? MergeView(v, inputs) : Status::OK();
}

Status StoreImpl::CommitRegistry(std::shared_ptr<Registry> next) {
  PITSTORE_RETURN_IF_ERROR(next->Resolve());
  TxnBuilder tb(meta_.applied_offset);
  tb.AddRegistry(next);
  CommitRecord c;
  c.commit_seq = meta_.commit_seq + 1;
  c.commit_ts = std::max(NowMicros(), meta_.commit_ts + 1);
  ParsedTxn& t = tb.Finish(c);
  return WriteAndPublish(tb, t, true);
}

// Merges one entity into `next`; `changes` gets a line when something changes.
static Status MergeEntityDef(Registry* next, const EntityDef& entity, std::vector<std::string>* changes) {
  PITSTORE_RETURN_IF_ERROR(ValidateEntityDef(entity));
  for (EntityDef& e : next->entities) {
    if (e.name != entity.name) continue;
    bool same_keys = e.join_keys.size() == entity.join_keys.size();
    for (size_t i = 0; same_keys && i < e.join_keys.size(); ++i)
      same_keys = e.join_keys[i].name == entity.join_keys[i].name && e.join_keys[i].type == entity.join_keys[i].type;
    if (!same_keys)
      return Status::InvalidArgument("entity '" + entity.name + "' exists with other join keys; keys cannot change");
    if (e.description != entity.description) {
      e.description = entity.description;
      changes->push_back("update entity '" + entity.name + "' (description)");
    }
    return Status::OK();
  }
  next->entities.push_back(entity);
  changes->push_back("create entity '" + entity.name + "'");
  return Status::OK();
}

// Merges one view into `next` under the evolution rules of Store::DefineView.
static Status MergeViewDef(Registry* next, const FeatureViewDef& view, std::vector<std::string>* changes) {
  PITSTORE_RETURN_IF_ERROR(ValidateViewDef(view));
  for (const std::string& e : view.entities)
    if (!next->FindEntity(e)) return Status::InvalidArgument("view '" + view.name + "': unknown entity '" + e + "'");
  for (ViewInfo& vi : next->views) {
    if (vi.def.name != view.name) continue;
    const FeatureViewDef& old = vi.def;
    if (old.entities != view.entities)
      return Status::InvalidArgument("view '" + view.name + "': its entities cannot change");
    if (view.features.size() < old.features.size())
      return Status::InvalidArgument("view '" + view.name + "': features cannot be removed");
    for (size_t i = 0; i < old.features.size(); ++i) {
      const FeatureDef &a = old.features[i], &b = view.features[i];
      if (a.name != b.name)
        return Status::InvalidArgument("view '" + view.name + "': feature " + std::to_string(i) + " is '" + a.name +
                                       "'; features cannot be renamed, removed or reordered");
      if (a.type != b.type || a.dim != b.dim)
        return Status::InvalidArgument("view '" + view.name + "', feature '" + a.name + "': type cannot change (" +
                                       FeatureTypeName(a.type) + " to " + FeatureTypeName(b.type) + ")");
    }
    std::vector<std::string> what;
    for (size_t i = old.features.size(); i < view.features.size(); ++i)
      what.push_back("add feature '" + view.features[i].name + "'");
    if (view.ttl_us != old.ttl_us) what.push_back("ttl");
    bool described = view.description != old.description;
    for (size_t i = 0; i < old.features.size(); ++i)
      described |= old.features[i].description != view.features[i].description;
    if (described) what.push_back("descriptions");
    if (view.tags != old.tags) what.push_back("tags");
    if (view.owner != old.owner) what.push_back("owner");
    if (view.event_ts_column != old.event_ts_column || view.created_ts_column != old.created_ts_column)
      what.push_back("source columns");
    if (what.empty()) return Status::OK();
    std::string line = "update view '" + view.name + "':";
    for (const std::string& w : what) line += " " + w;
    changes->push_back(line);
    vi.def = view;
    return Status::OK();
  }
  ViewInfo vi;
  vi.id = next->next_view_id++;
  vi.def = view;
  next->views.push_back(std::move(vi));
  changes->push_back("create view '" + view.name + "'");
  return Status::OK();
}

// Creates or replaces one service in `next` (checked against the views by Resolve).
static Status MergeServiceDef(Registry* next, const FeatureServiceDef& service, std::vector<std::string>* changes) {
  PITSTORE_RETURN_IF_ERROR(ValidateServiceDef(service));
  for (FeatureServiceDef& s : next->services) {
    if (s.name != service.name) continue;
    if (s.features == service.features && s.description == service.description && s.tags == service.tags &&
        s.owner == service.owner)
      return Status::OK();
    s = service;
    changes->push_back("update service '" + service.name + "'");
    return Status::OK();
  }
  next->services.push_back(service);
  changes->push_back("create service '" + service.name + "'");
  return Status::OK();
}

Status StoreImpl::Apply(const Definitions& defs, std::vector<std::string>* changes) {
  if (options_.read_only) return Status::InvalidArgument("store is open read-only");
  std::vector<std::string> local;
  if (!changes) changes = &local;
  std::lock_guard<std::mutex> lock(write_mu_);
  auto next = std::make_shared<Registry>(*CurrentRegistry());
  for (const EntityDef& e : defs.entities) PITSTORE_RETURN_IF_ERROR(MergeEntityDef(next.get(), e, changes));
  for (const FeatureViewDef& v : defs.views) PITSTORE_RETURN_IF_ERROR(MergeViewDef(next.get(), v, changes));
  for (const FeatureServiceDef& sv : defs.services) PITSTORE_RETURN_IF_ERROR(MergeServiceDef(next.get(), sv, changes));
  if (changes->empty()) return Status::OK();
  return CommitRegistry(next);
}

Status StoreImpl::DefineEntity(const EntityDef& entity) { return Apply(Definitions{{entity}, {}, {}}, nullptr); }

Status StoreImpl::DefineView(const FeatureViewDef& view) { return Apply(Definitions{{}, {view}, {}}, nullptr); }

// ======================= merging =======================

std::vector<Run> StoreImpl::MergeRuns(const std::vector<std::shared_ptr<const Run>>& inputs) {
  // A k-way merge of sorted runs (heap of cursors): O(rows log k) comparisons.
  struct Ref {
    uint32_t run, row;
  };
  auto greater = [&](const Ref& a, const Ref& b) {
    const Run &x = *inputs[a.run], &y = *inputs[b.run];
    int c = x.keys[a.row].compare(y.keys[b.row]);
    if (c != 0) return c > 0;
    return y.version(b.row) < x.version(a.row);
  };
  std::vector<Ref> heap;
  size_t total = 0;
  for (uint32_t r = 0; r < inputs.size(); ++r) {
    total += inputs[r]->size();
    if (inputs[r]->size()) heap.push_back({r, 0});
  }
  std::make_heap(heap.begin(), heap.end(), greater);
  std::vector<Ref> order;
  order.reserve(total);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), greater);
    Ref top = heap.back();
    order.push_back(top);
    if (++heap.back().row < inputs[top.run]->size())
      std::push_heap(heap.begin(), heap.end(), greater);
    else
      heap.pop_back();
  }
  // The widest input decides the column set (older blocks may know fewer features).
  const Run* widest = inputs.front().get();
  for (const auto& r : inputs)
    if (r->columns.size() > widest->columns.size()) widest = r.get();
  // Output runs of at most segment_max_rows rows, cut at key boundaries.
  std::vector<Run> out;
  size_t start = 0;
  while (start < order.size()) {
    size_t end = std::min(order.size(), start + size_t{options_.segment_max_rows});
    auto key_of = [&](size_t i) -> const std::string& { return inputs[order[i].run]->keys[order[i].row]; };
    while (end < order.size() && key_of(end) == key_of(end - 1)) ++end;
    Run r = widest->EmptyLike();
    r.view_id = widest->view_id;
    size_t n = end - start;
    r.keys.reserve(n);
    r.event_ts.reserve(n);
    r.system_ts.reserve(n);
    r.seq.reserve(n);
    for (size_t i = start; i < end; ++i) {
      const Run& src = *inputs[order[i].run];
      uint32_t row = order[i].row;
      r.keys.push_back(src.keys[row]);
      r.event_ts.push_back(src.event_ts[row]);
      r.system_ts.push_back(src.system_ts[row]);
      r.seq.push_back(src.seq[row]);
    }
    // Column at a time: the type switch stays outside the row loop.
    for (size_t c = 0; c < r.columns.size(); ++c) {
      Column& dst = r.columns[c];
      dst.Reserve(n);
      bool any_null = false;
      for (const auto& in : inputs) any_null |= c >= in->columns.size() || !in->columns[c].valid.empty();
      if (any_null) dst.valid.reserve(n);
      for (size_t i = start; i < end; ++i) {
        const Run& src = *inputs[order[i].run];
        uint32_t row = order[i].row;
        if (c >= src.columns.size() || src.columns[c].is_null(row)) {
          dst.AppendNull();
          continue;
        }
        const Column& from = src.columns[c];
        if (!dst.valid.empty()) dst.valid.push_back(1);
        switch (dst.type) {
          case FeatureType::kFloat32:
          case FeatureType::kFloat64:
            dst.doubles.push_back(from.doubles[row]);
            break;
          case FeatureType::kString:
          case FeatureType::kBytes:
            dst.strings.push_back(from.strings[row]);
            break;
          case FeatureType::kFloat32Vector:
            dst.floats.insert(dst.floats.end(), from.floats.begin() + size_t{row} * dst.dim,
                              from.floats.begin() + (size_t{row} + 1) * dst.dim);
            break;
          default:
            dst.ints.push_back(from.ints[row]);
        }
      }
    }
    out.push_back(std::move(r));
    start = end;
  }
  return out;
}

Status StoreImpl::MergeView(const ViewInfo& v, const std::vector<BlockEntry>& inputs) {
  if (inputs.empty()) return Status::OK();
  if (inputs.size() == 1 && inputs[0].type == BlockType::kSegment) return Status::OK();
  auto snap = NewSnapshot();
  if (!snap.ok()) return snap.status();
  std::vector<std::shared_ptr<const Run>> runs;
  for (const BlockEntry& b : inputs) {
    PITSTORE_ASSIGN_OR_RETURN(auto r, GetRun(**snap, b.offset));
    if (r->view_id != v.id)
      return Status::Corruption("block at offset " + std::to_string(b.offset) + " is of another view");
    runs.push_back(std::move(r));
  }
  snap->reset();
  std::vector<Run> merged = MergeRuns(runs);
  TxnBuilder tb(meta_.applied_offset);
  for (Run& r : merged)
    tb.AddRun(BlockType::kSegment, std::make_shared<Run>(std::move(r)), options_.segment_zstd_level,
              options_.segment_page_rows);
  CommitRecord c;
  c.commit_seq = meta_.commit_seq + 1;
  c.commit_ts = std::max(NowMicros(), meta_.commit_ts + 1);
  c.flags = kCommitRewrite;
  for (const BlockEntry& b : inputs) c.obsolete.push_back(b.offset);
  ParsedTxn& t = tb.Finish(c);
  for (size_t i = 0; i < inputs.size(); ++i) t.obsolete_runs[inputs[i].offset] = runs[i];
  PITSTORE_RETURN_IF_ERROR(WriteAndPublish(tb, t, true));
  // The merge stands; stale locations are harmless (readers skip them) and a failure here is
  // retried by the next merge or open.
  return CleanupLocations(&t.obsolete_runs);
}

Status StoreImpl::CleanupLocations(const std::unordered_map<uint64_t, std::shared_ptr<const Run>>* held) {
  // Deletes per LMDB transaction: a transaction may free only so many pages (MDB_TXN_FULL);
  // measured on 20,000,000 locations, deleting them in one failed.
  constexpr size_t kDeletesPerTxn = 100000;
  for (;;) {
    std::vector<uint64_t> pending;
    {
      PITSTORE_ASSIGN_OR_RETURN(IndexTxn rt, index_->BeginRead());
      PITSTORE_ASSIGN_OR_RETURN(pending, index_->GetPendingCleanup(rt.get()));
    }
    if (pending.empty()) return Status::OK();
    uint64_t off = pending.front();
    std::shared_ptr<const Run> old;
    if (held) {
      auto it = held->find(off);
      if (it != held->end()) old = it->second;
    }
    if (!old) {
      PITSTORE_ASSIGN_OR_RETURN(uint64_t size, file_->FileSize());
      PITSTORE_ASSIGN_OR_RETURN(RawBlock rb, file_->ReadBlock(off, size, true));
      PITSTORE_ASSIGN_OR_RETURN(Run r, DecodeDataBlock(rb, *CurrentRegistry(), true));
      old = std::make_shared<Run>(std::move(r));
    }
    // Chunks of deletes; the last one (the only one for an empty segment) drops it from the list.
    size_t i = 0;
    do {
      PITSTORE_ASSIGN_OR_RETURN(IndexTxn wt, index_->BeginWrite());
      auto cursors = index_->Cursors(wt.get());  // the keys are sorted: deletes walk the tree in order
      PITSTORE_RETURN_IF_ERROR(cursors->status());
      for (size_t deleted = 0; i < old->size() && deleted < kDeletesPerTxn; ++i)
        if (i == 0 || old->keys[i] != old->keys[i - 1]) {
          PITSTORE_RETURN_IF_ERROR(cursors->DelLoc(LatestKey(old->view_id, old->keys[i]), off));
          ++deleted;
        }
      if (i == old->size()) {
        PITSTORE_ASSIGN_OR_RETURN(std::vector<uint64_t> now, index_->GetPendingCleanup(wt.get()));
        now.erase(std::remove(now.begin(), now.end(), off), now.end());
        PITSTORE_RETURN_IF_ERROR(index_->PutPendingCleanup(wt.get(), now));
      }
      cursors.reset();
      PITSTORE_RETURN_IF_ERROR(wt.Commit());
    } while (i < old->size());
  }
}

Status StoreImpl::Compact(const CompactOptions& options) {
  if (options_.read_only) return Status::InvalidArgument("store is open read-only");
  std::lock_guard<std::mutex> lock(write_mu_);
  std::vector<BlockEntry> blocks;
  {
    PITSTORE_ASSIGN_OR_RETURN(IndexTxn rt, index_->BeginRead());
    PITSTORE_RETURN_IF_ERROR(index_->ListBlocks(rt.get(), &blocks));
  }
  std::shared_ptr<const Registry> reg = CurrentRegistry();
  for (const ViewInfo& v : reg->views) {
    std::vector<BlockEntry> inputs;
    for (const BlockEntry& b : blocks)
      if (b.view_id == v.id && (options.full || b.type == BlockType::kRows || b.rows < options_.segment_max_rows / 2))
        inputs.push_back(b);
    PITSTORE_RETURN_IF_ERROR(MergeView(v, inputs));
  }
  PITSTORE_ASSIGN_OR_RETURN(IndexTxn wt, index_->BeginWrite());
  PITSTORE_RETURN_IF_ERROR(index_->RepackLatest(wt.get()));
  return wt.Commit();
}

Result<std::shared_ptr<DataFile>> StoreImpl::WriteCompactedCopy(const std::string& dest, std::string* file_id) {
  PITSTORE_ASSIGN_OR_RETURN(auto snap, NewSnapshot());  // one consistent state is copied
  std::vector<BlockEntry> blocks;
  PITSTORE_RETURN_IF_ERROR(index_->ListBlocks(snap->txn.get(), &blocks));
  std::shared_ptr<const Registry> reg = snap->registry;
  PITSTORE_ASSIGN_OR_RETURN(auto out, DataFile::Open(dest, false, true));
  auto fail = [&](Status st) {
    ::unlink(dest.c_str());
    return st;
  };
  // A new header (new file id), the registry, then each view's rows merged into segments.
  FileHeader h;
  h.file_id = NewFileId();
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
    end = tb.bytes().size();
  }
  for (const ViewInfo& v : reg->views) {
    std::vector<std::shared_ptr<const Run>> runs;
    for (const BlockEntry& b : blocks) {
      if (b.view_id != v.id) continue;
      auto r = GetRun(*snap, b.offset);
      if (!r.ok()) return fail(r.status());
      runs.push_back(std::move(r).value());
    }
    if (runs.empty()) continue;
    std::vector<Run> merged = MergeRuns(runs);
    runs.clear();
    TxnBuilder tb(end);
    for (Run& r : merged)
      tb.AddRun(BlockType::kSegment, std::make_shared<Run>(std::move(r)), options_.segment_zstd_level,
                options_.segment_page_rows);
    // Flags 0: in the new file these segments are the only copy of their rows.
    tb.Finish(CommitRecord{++seq, ++ts, 0, 0, {}});
    Status st = out->WriteAt(end, tb.bytes());
    if (!st.ok()) return fail(st);
    end += tb.bytes().size();
  }
  Status st = out->Sync();
  if (!st.ok()) return fail(st);
  *file_id = h.file_id;
  return out;
}

Status StoreImpl::Vacuum() {
  if (options_.read_only) return Status::InvalidArgument("store is open read-only");
  std::lock_guard<std::mutex> lock(write_mu_);
  if (open_snapshots_.load() > 0) return Status::Busy("Vacuum needs every snapshot closed");
  std::string tmp_path = path_ + ".vacuum";
  ::unlink(tmp_path.c_str());
  std::string file_id;
  PITSTORE_ASSIGN_OR_RETURN(auto tmp, WriteCompactedCopy(tmp_path, &file_id));
  if (::rename(tmp_path.c_str(), path_.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp_path.c_str());
    return ErrnoStatus("rename " + tmp_path, err);
  }
  PITSTORE_RETURN_IF_ERROR(SyncDirectoryOf(path_));
  PITSTORE_RETURN_IF_ERROR(claim_->MoveTo(*tmp));
  {
    std::lock_guard<std::mutex> lock(file_mu_);
    previous_file_ = file_;  // readers whose index transaction predates the rebuild still read it
    previous_file_id_ = file_id_;
    file_ = tmp;  // holds the writer lock on the new file
    file_id_ = file_id;
  }
  Status st = RebuildLocked(*file_);
  std::lock_guard<std::mutex> swap_lock(file_mu_);
  previous_file_.reset();  // its space returns once the last reader of it lets go
  previous_file_id_.clear();
  return st;
}

Status StoreImpl::CopyTo(const std::string& dest) {
  struct stat st;
  if (::stat(dest.c_str(), &st) == 0) return Status::AlreadyExists(dest + " exists");
  std::string file_id;
  { PITSTORE_ASSIGN_OR_RETURN(auto copy, WriteCompactedCopy(dest, &file_id)); }
  PITSTORE_RETURN_IF_ERROR(SyncDirectoryOf(dest));
  // Build the copy's index now, so it can be opened read-only where it is shipped.
  auto copy = Store::Open(dest, Options{});
  return copy.ok() ? Status::OK() : copy.status();
}

Status StoreImpl::RebuildIndex() {
  if (options_.read_only) return Status::InvalidArgument("store is open read-only");
  std::lock_guard<std::mutex> lock(write_mu_);
  return RebuildLocked(*file_);
}

// ======================= reading =======================

Result<SnapshotParts> StoreImpl::BeginSnapshot() {
  // A vacuum here swaps the file before it rebuilds the index: an index transaction from before
  // the rebuild names the previous file (kept open until the rebuild is committed), one from
  // after it the new one. A file id that is neither, after a few looks, means another process
  // rewrote the file.
  for (int attempt = 0;; ++attempt) {
    std::shared_ptr<DataFile> current, previous;
    std::string current_id, previous_id;
    {
      std::lock_guard<std::mutex> lock(file_mu_);
      current = file_;
      current_id = file_id_;
      previous = previous_file_;
      previous_id = previous_file_id_;
    }
    PITSTORE_ASSIGN_OR_RETURN(IndexTxn txn, index_->BeginRead());
    PITSTORE_ASSIGN_OR_RETURN(IndexMeta meta, index_->GetMeta(txn.get()));
    std::shared_ptr<DataFile> file = meta.file_id == current_id                ? current
                                     : previous && meta.file_id == previous_id ? previous
                                                                               : nullptr;
    if (!file) {
      if (attempt < 8) continue;  // a vacuum of this process finished between the two looks
      return Status::Busy(path_ + " was rewritten (vacuumed) by another process; reopen the store");
    }
    PITSTORE_ASSIGN_OR_RETURN(auto reg, RegistryAt(*file, meta.registry_offset));
    return SnapshotParts{std::move(txn), std::move(reg), std::move(file), std::move(meta)};
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

template <typename Fn>
auto StoreImpl::WithSnapshot(const ReadOptions& options, Fn&& fn) -> decltype(fn(std::declval<SnapshotImpl&>())) {
  if (options.snapshot) {
    // const_cast: the snapshot's txn is used read-only; reads do not modify it.
    return fn(const_cast<SnapshotImpl&>(static_cast<const SnapshotImpl&>(*options.snapshot)));
  }
  // A private snapshot, not counted as open by Vacuum (it cannot outlive this call).
  PITSTORE_ASSIGN_OR_RETURN(SnapshotParts parts, BeginSnapshot());
  SnapshotImpl s(std::move(parts), nullptr);
  return fn(s);
}

Result<std::shared_ptr<const Run>> StoreImpl::GetRun(SnapshotImpl& s, uint64_t offset) {
  if (auto hit = cache_.Get(s.file->generation(), offset)) return hit;
  auto b = s.file->ReadBlock(offset, s.meta.applied_offset, options_.verify_checksums);
  if (!b.ok()) return b.status();
  if (b->header.type != BlockType::kRows && b->header.type != BlockType::kSegment)
    return Status::Corruption(path_ + ": index points to offset " + std::to_string(offset) +
                              ", which is not a row block");
  auto run = DecodeDataBlock(*b, *s.registry, options_.verify_checksums);
  if (!run.ok()) return Status::Corruption(path_ + ": " + run.status().message());
  auto shared = std::make_shared<const Run>(std::move(run).value());
  if (b->header.type == BlockType::kRows) cache_.Put(s.file->generation(), offset, shared);
  return shared;
}

Result<std::shared_ptr<const SegmentLayout>> StoreImpl::GetSegmentLayout(SnapshotImpl& s, uint64_t offset) {
  {
    std::lock_guard<std::mutex> lock(info_mu_);
    auto it = layouts_.find({s.file->generation(), offset});
    if (it != layouts_.end()) return it->second;
  }
  char header[kBlockHeaderSize];
  PITSTORE_RETURN_IF_ERROR(s.file->ReadExact(offset, kBlockHeaderSize, header));
  auto h = ParseBlockHeader(header, offset);
  if (!h.ok()) return Status::Corruption(path_ + ": " + h.status().message());
  if (h->type != BlockType::kSegment)
    return Status::Corruption(path_ + "-index: a location points to offset " + std::to_string(offset) +
                              ", which is not a segment");
  // Footer only: a point read never reads the whole segment.
  uint64_t payload = offset + kBlockHeaderSize;
  if (h->codec != Codec::kNone || h->stored_len < 4 + kSegmentTailBytes ||
      payload + h->stored_len > s.meta.applied_offset)
    return Status::Corruption(path_ + ": segment block at offset " + std::to_string(offset) + " has a bad header");
  std::string tail(kSegmentTailBytes, '\0');
  PITSTORE_RETURN_IF_ERROR(s.file->ReadExact(payload + h->stored_len - kSegmentTailBytes, tail.size(), tail.data()));
  auto footer_len = SegmentFooterLength(tail);
  if (!footer_len.ok() || *footer_len > h->stored_len - 4 - kSegmentTailBytes)
    return Status::Corruption(path_ + ": segment at offset " + std::to_string(offset) + ": bad footer");
  uint64_t footer_at = h->stored_len - kSegmentTailBytes - *footer_len;
  std::string footer(*footer_len, '\0');
  PITSTORE_RETURN_IF_ERROR(s.file->ReadExact(payload + footer_at, footer.size(), footer.data()));
  auto decoded = DecodeSegmentFooter(footer, tail, payload, footer_at, options_.verify_checksums);
  if (!decoded.ok())
    return Status::Corruption(path_ + ": segment at offset " + std::to_string(offset) + ": " +
                              decoded.status().message());
  auto layout = std::make_shared<const SegmentLayout>(std::move(decoded).value());
  std::lock_guard<std::mutex> lock(info_mu_);
  layouts_[{s.file->generation(), offset}] = layout;
  return std::shared_ptr<const SegmentLayout>(layout);
}

Result<std::shared_ptr<const Run>> StoreImpl::GetSegmentPage(SnapshotImpl& s, uint64_t block, const SegmentLayout& l,
                                                             size_t page, bool cache) {
  std::shared_ptr<const Run> run = cache_.Get(s.file->generation(), block, static_cast<uint32_t>(page + 1));
  if (run) return run;
  auto [off, len] = l.PageRange(page);
  std::string bytes(len, '\0');
  PITSTORE_RETURN_IF_ERROR(s.file->ReadExact(l.payload_offset + off, len, bytes.data()));
  const ViewInfo* v = s.registry->FindViewById(l.view_id);
  if (!v) return Status::Corruption(path_ + ": segment at offset " + std::to_string(block) + " of an unknown view");
  auto page_run = DecodeSegmentPage(l, page, bytes, v->types, options_.verify_checksums);
  if (!page_run.ok())
    return Status::Corruption(path_ + ": segment at offset " + std::to_string(block) + ", page " +
                              std::to_string(page) + ": " + page_run.status().message());
  run = std::make_shared<const Run>(std::move(page_run).value());
  if (cache) cache_.Put(s.file->generation(), block, run, static_cast<uint32_t>(page + 1));
  return run;
}

Status StoreImpl::ReadRows(SnapshotImpl& s, std::string_view key, const LocEntry& e, std::vector<RowSpan>* out) {
  auto mismatch = [&] {
    return Status::Corruption(path_ + "-index: location of a key in block " + std::to_string(e.block) +
                              " does not match the block");
  };
  if (e.count == 0) return mismatch();
  PITSTORE_ASSIGN_OR_RETURN(auto layout, GetSegmentLayout(s, e.block));
  const SegmentLayout& l = *layout;
  if (uint64_t{e.first} + e.count > l.rows) return mismatch();
  size_t first = out->size();
  size_t end = size_t{e.first} + e.count;
  for (size_t page = e.first / l.page_rows; page * l.page_rows < end; ++page) {
    PITSTORE_ASSIGN_OR_RETURN(std::shared_ptr<const Run> run, GetSegmentPage(s, e.block, l, page, true));
    size_t page_start = page * l.page_rows;
    out->push_back({run, std::max<size_t>(e.first, page_start) - page_start,
                    std::min(end, page_start + run->size()) - page_start});
  }
  for (size_t i = first; i < out->size(); ++i)
    for (size_t r = (*out)[i].begin; r < (*out)[i].end; ++r)
      if ((*out)[i].run->keys[r] != key) return mismatch();
  return Status::OK();
}

Result<const ViewInfo*> StoreImpl::FindView(const Registry& reg, const std::string& name) {
  const ViewInfo* v = reg.FindView(name);
  if (!v) return Status::NotFound("no feature view '" + name + "'");
  return v;
}

Result<std::vector<int>> StoreImpl::Projection(const ViewInfo& v, const std::vector<std::string>& features) {
  std::vector<int> proj;
  if (features.empty()) {
    for (size_t i = 0; i < v.def.features.size(); ++i) proj.push_back(static_cast<int>(i));
    return proj;
  }
  for (const std::string& f : features) {
    size_t i = 0;
    while (i < v.def.features.size() && v.def.features[i].name != f) ++i;
    if (i == v.def.features.size())
      return Status::NotFound("view '" + v.def.name + "' has no feature '" + f + "'");
    proj.push_back(static_cast<int>(i));
  }
  return proj;
}

Result<std::string> StoreImpl::KeyFor(const ViewInfo& v, const EntityKey& key, const std::string& where) {
  if (key.size() != v.key_columns.size())
    return Status::InvalidArgument(where + "expected a key of " + std::to_string(v.key_columns.size()) +
                                   " part(s), got " + std::to_string(key.size()));
  for (size_t i = 0; i < key.size(); ++i) {
    bool is_int = std::holds_alternative<int64_t>(key[i]);
    if (is_int != (v.key_columns[i].type == KeyType::kInt64))
      return Status::InvalidArgument(where + "join key '" + v.key_columns[i].name + "' must be " +
                                     (is_int ? "a string" : "an int64"));
  }
  std::string enc = EncodeEntityKey(key);
  if (enc.size() > kMaxEncodedKeyBytes)
    return Status::InvalidArgument(where + "entity key longer than " + std::to_string(kMaxEncodedKeyBytes) +
                                   " encoded bytes");
  return enc;
}

void StoreImpl::FillLookup(const ViewInfo& v, const Run& run, size_t row, const std::vector<int>& proj, Timestamp t,
                           Lookup* out) {
  out->found = true;
  out->event_ts = run.event_ts[row];
  out->system_ts = run.system_ts[row];
  bool expired = OutsideTtl(v.def.ttl_us, t, out->event_ts);
  out->values.clear();
  out->status.clear();
  for (int c : proj) {
    Value val = expired || static_cast<size_t>(c) >= run.columns.size() ? Value::Null() : run.columns[c].Get(row);
    out->status.push_back(expired ? ValueStatus::kExpired : val.is_null() ? ValueStatus::kNull : ValueStatus::kPresent);
    out->values.push_back(std::move(val));
  }
}

static void NotFound(size_t n, Lookup* out) {
  out->found = false;
  out->values.assign(n, Value::Null());
  out->status.assign(n, ValueStatus::kNotFound);
}

Status StoreImpl::LatestIn(SnapshotImpl& s, const ViewInfo& v, const std::string& lkey, const std::vector<int>& proj,
                           Timestamp now, Lookup* out) {
  PITSTORE_ASSIGN_OR_RETURN(auto raw, index_->GetLatest(s.txn.get(), lkey));
  if (!raw) {
    NotFound(proj.size(), out);
    return Status::OK();
  }
  Version version;
  Status st = DecodeLatestValues(lkey, *raw, v.types, options_.verify_checksums, proj, &version, &out->values);
  if (!st.ok()) return Status::Corruption(path_ + "-index: view '" + v.def.name + "': " + st.message());
  out->found = true;
  out->event_ts = version.event_ts;
  out->system_ts = version.system_ts;
  bool expired = OutsideTtl(v.def.ttl_us, now, version.event_ts);
  out->status.resize(proj.size());
  for (size_t i = 0; i < proj.size(); ++i) {
    if (expired) out->values[i] = Value::Null();
    out->status[i] = expired                    ? ValueStatus::kExpired
                     : out->values[i].is_null() ? ValueStatus::kNull
                                                : ValueStatus::kPresent;
  }
  return Status::OK();
}

Result<Lookup> StoreImpl::Latest(const std::string& view, const EntityKey& key,
                                 const std::vector<std::string>& features, const ReadOptions& options) {
  Lookup out;
  PITSTORE_RETURN_IF_ERROR(LatestInto(view, key, &out, features, options));
  return out;
}

Status StoreImpl::LatestInto(const std::string& view, const EntityKey& key, Lookup* out,
                             const std::vector<std::string>& features, const ReadOptions& options) {
  return WithSnapshot(options, [&](SnapshotImpl& s) -> Status {
    PITSTORE_ASSIGN_OR_RETURN(const ViewInfo* v, FindView(*s.registry, view));
    PITSTORE_ASSIGN_OR_RETURN(std::string enc, KeyFor(*v, key, ""));
    std::string lkey = LatestKey(v->id, enc);
    if (features.empty()) return LatestIn(s, *v, lkey, v->all_features, NowOr(options), out);
    PITSTORE_ASSIGN_OR_RETURN(std::vector<int> proj, Projection(*v, features));
    return LatestIn(s, *v, lkey, proj, NowOr(options), out);
  });
}

Result<std::vector<Lookup>> StoreImpl::LatestBatch(const std::string& view, const std::vector<EntityKey>& keys,
                                                   const std::vector<std::string>& features,
                                                   const ReadOptions& options) {
  return WithSnapshot(options, [&](SnapshotImpl& s) -> Result<std::vector<Lookup>> {
    PITSTORE_ASSIGN_OR_RETURN(const ViewInfo* v, FindView(*s.registry, view));
    PITSTORE_ASSIGN_OR_RETURN(std::vector<int> proj, Projection(*v, features));
    Timestamp now = NowOr(options);
    std::vector<Lookup> out(keys.size());
    for (size_t i = 0; i < keys.size(); ++i) {
      PITSTORE_ASSIGN_OR_RETURN(std::string enc, KeyFor(*v, keys[i], "key " + std::to_string(i) + ": "));
      std::string lkey = LatestKey(v->id, enc);
      PITSTORE_RETURN_IF_ERROR(LatestIn(s, *v, lkey, proj, now, &out[i]));
    }
    return out;
  });
}

Result<std::shared_ptr<const StoreImpl::LiveBlocks>> StoreImpl::GetLiveBlocks(SnapshotImpl& s) {
  {
    std::lock_guard<std::mutex> lock(live_mu_);
    if (live_ && live_seq_ == s.meta.commit_seq && live_file_id_ == s.meta.file_id) return live_;
  }
  std::vector<BlockEntry> blocks;
  PITSTORE_RETURN_IF_ERROR(index_->ListBlocks(s.txn.get(), &blocks));
  auto live = std::make_shared<LiveBlocks>();
  for (const BlockEntry& b : blocks)
    if (b.type == BlockType::kRows)
      live->tail.push_back(b);
    else
      live->segments.push_back(b.offset);  // ListBlocks is in offset order
  std::lock_guard<std::mutex> lock(live_mu_);
  live_ = live;
  live_seq_ = s.meta.commit_seq;
  live_file_id_ = s.meta.file_id;
  return std::shared_ptr<const LiveBlocks>(live);
}

Status StoreImpl::KeySpans(SnapshotImpl& s, const std::string& lkey, Timestamp from, Timestamp to, Timestamp known_at,
                           std::vector<RowSpan>* out) {
  std::string_view key = std::string_view(lkey).substr(4);
  // Segments: the location index says where the key's rows are (zone maps skip blocks).
  PITSTORE_ASSIGN_OR_RETURN(auto live, GetLiveBlocks(s));
  std::vector<LocEntry> locs;
  PITSTORE_RETURN_IF_ERROR(index_->ScanLoc(s.txn.get(), lkey, &locs));
  for (const LocEntry& e : locs) {
    if (e.max_event_ts < from || e.min_event_ts > to || e.min_system_ts > known_at) continue;
    if (!live->IsLiveSegment(e.block)) continue;  // superseded by a merge; awaiting deletion
    PITSTORE_RETURN_IF_ERROR(ReadRows(s, key, e, out));
  }
  // Row batches not merged yet: each is sorted by key, so a binary search finds the rows.
  uint32_t view_id = ViewIdOf(lkey);
  for (const BlockEntry& b : live->tail) {
    if (b.view_id != view_id || b.max_event_ts < from || b.min_event_ts > to) continue;
    PITSTORE_ASSIGN_OR_RETURN(auto run, GetRun(s, b.offset));
    auto [lo, hi] = std::equal_range(run->keys.begin(), run->keys.end(), key,
                                     [](std::string_view a, std::string_view b) { return a < b; });
    if (lo != hi)
      out->push_back({run, static_cast<size_t>(lo - run->keys.begin()), static_cast<size_t>(hi - run->keys.begin())});
  }
  return Status::OK();
}

Status StoreImpl::BestAsOf(SnapshotImpl& s, const std::string& lkey, Timestamp t, Timestamp known_at,
                           std::shared_ptr<const Run>* best_run, size_t* best_row) {
  std::vector<RowSpan> spans;
  PITSTORE_RETURN_IF_ERROR(KeySpans(s, lkey, kMinTimestamp, t, known_at, &spans));
  for (const RowSpan& span : spans)
    for (size_t i = span.begin; i < span.end; ++i) {
      const Run& run = *span.run;
      if (run.event_ts[i] > t || run.system_ts[i] > known_at) continue;
      if (!*best_run || (*best_run)->version(*best_row) < run.version(i)) {
        *best_run = span.run;
        *best_row = i;
      }
    }
  return Status::OK();
}

Result<Lookup> StoreImpl::AsOf(const std::string& view, const EntityKey& key, Timestamp t, Timestamp known_at,
                               const std::vector<std::string>& features, const ReadOptions& options) {
  return WithSnapshot(options, [&](SnapshotImpl& s) -> Result<Lookup> {
    PITSTORE_ASSIGN_OR_RETURN(const ViewInfo* v, FindView(*s.registry, view));
    PITSTORE_ASSIGN_OR_RETURN(std::vector<int> proj, Projection(*v, features));
    PITSTORE_ASSIGN_OR_RETURN(std::string enc, KeyFor(*v, key, ""));
    std::string lkey = LatestKey(v->id, enc);
    std::shared_ptr<const Run> run;
    size_t row = 0;
    PITSTORE_RETURN_IF_ERROR(BestAsOf(s, lkey, t, known_at, &run, &row));
    Lookup out;
    if (!run)
      NotFound(proj.size(), &out);
    else
      FillLookup(*v, *run, row, proj, t, &out);
    return out;
  });
}

Result<std::vector<VersionedRow>> StoreImpl::History(const std::string& view, const EntityKey& key, Timestamp from,
                                                     Timestamp to, Timestamp known_at,
                                                     const std::vector<std::string>& features,
                                                     const ReadOptions& options) {
  return WithSnapshot(options, [&](SnapshotImpl& s) -> Result<std::vector<VersionedRow>> {
    PITSTORE_ASSIGN_OR_RETURN(const ViewInfo* v, FindView(*s.registry, view));
    PITSTORE_ASSIGN_OR_RETURN(std::vector<int> proj, Projection(*v, features));
    PITSTORE_ASSIGN_OR_RETURN(std::string enc, KeyFor(*v, key, ""));
    std::string lkey = LatestKey(v->id, enc);
    std::vector<RowSpan> spans;
    PITSTORE_RETURN_IF_ERROR(KeySpans(s, lkey, from, to, known_at, &spans));
    std::vector<std::pair<Version, VersionedRow>> rows;
    for (const RowSpan& span : spans)
      for (size_t i = span.begin; i < span.end; ++i) {
        const Run& run = *span.run;
        if (run.event_ts[i] < from || run.event_ts[i] > to || run.system_ts[i] > known_at) continue;
        VersionedRow r{run.event_ts[i], run.system_ts[i], {}};
        for (int c : proj)
          r.values.push_back(static_cast<size_t>(c) < run.columns.size() ? run.columns[c].Get(i) : Value::Null());
        rows.emplace_back(run.version(i), std::move(r));
      }
    std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<VersionedRow> out;
    out.reserve(rows.size());
    for (auto& r : rows) out.push_back(std::move(r.second));
    return out;
  });
}

// Definitions as committed now (through a snapshot, so a read-only process sees new views).
Result<FeatureViewDef> StoreImpl::GetView(const std::string& name) {
  return WithSnapshot(ReadOptions{}, [&](SnapshotImpl& s) -> Result<FeatureViewDef> {
    PITSTORE_ASSIGN_OR_RETURN(const ViewInfo* v, FindView(*s.registry, name));
    return v->def;
  });
}

Result<EntityDef> StoreImpl::GetEntity(const std::string& name) {
  return WithSnapshot(ReadOptions{}, [&](SnapshotImpl& s) -> Result<EntityDef> {
    const EntityDef* e = s.registry->FindEntity(name);
    if (!e) return Status::NotFound("no entity '" + name + "'");
    return *e;
  });
}

Result<FeatureServiceDef> StoreImpl::GetService(const std::string& name) {
  return WithSnapshot(ReadOptions{}, [&](SnapshotImpl& s) -> Result<FeatureServiceDef> {
    const FeatureServiceDef* sv = s.registry->FindService(name);
    if (!sv) return Status::NotFound("no feature service '" + name + "'");
    return *sv;
  });
}

Result<std::vector<std::string>> StoreImpl::ListServices() {
  std::vector<std::string> out;
  PITSTORE_RETURN_IF_ERROR(WithSnapshot(ReadOptions{}, [&](SnapshotImpl& s) -> Status {
    for (const FeatureServiceDef& sv : s.registry->services) out.push_back(sv.name);
    return Status::OK();
  }));
  return out;
}

Result<std::vector<std::string>> StoreImpl::ListViews() {
  std::vector<std::string> out;
  PITSTORE_RETURN_IF_ERROR(WithSnapshot(ReadOptions{}, [&](SnapshotImpl& s) -> Status {
    for (const ViewInfo& v : s.registry->views) out.push_back(v.def.name);
    return Status::OK();
  }));
  return out;
}

Result<std::vector<std::string>> StoreImpl::ListEntities() {
  std::vector<std::string> out;
  PITSTORE_RETURN_IF_ERROR(WithSnapshot(ReadOptions{}, [&](SnapshotImpl& s) -> Status {
    for (const EntityDef& e : s.registry->entities) out.push_back(e.name);
    return Status::OK();
  }));
  return out;
}

// ======================= inspection =======================

Result<std::vector<BlockInfo>> StoreImpl::ListBlocks(const std::string& view) {
  return WithSnapshot(ReadOptions{}, [&](SnapshotImpl& s) -> Result<std::vector<BlockInfo>> {
    PITSTORE_ASSIGN_OR_RETURN(const ViewInfo* v, FindView(*s.registry, view));
    std::vector<BlockEntry> blocks;
    PITSTORE_RETURN_IF_ERROR(index_->ListBlocks(s.txn.get(), &blocks));
    std::vector<BlockInfo> out;
    for (const BlockEntry& b : blocks) {
      if (b.view_id != v->id) continue;
      BlockInfo info;
      info.offset = b.offset;
      info.segment = b.type == BlockType::kSegment;
      info.rows = b.rows;
      info.stored_bytes = b.stored_bytes;
      info.raw_bytes = b.raw_bytes;
      info.min_event_ts = b.min_event_ts;
      info.max_event_ts = b.max_event_ts;
      if (info.segment) {
        PITSTORE_ASSIGN_OR_RETURN(auto layout, GetSegmentLayout(s, b.offset));
        info.pages = layout->pages();
        info.page_rows = layout->page_rows;
      }
      out.push_back(info);
    }
    return out;
  });
}

Result<JoinResult> StoreImpl::AsOfJoin(const std::string& view, const JoinLabels& labels,
                                       const std::vector<std::string>& features, const JoinOptions& join,
                                       const ReadOptions& options) {
  return WithSnapshot(options, [&](SnapshotImpl& s) -> Result<JoinResult> {
    PITSTORE_ASSIGN_OR_RETURN(const ViewInfo* v, FindView(*s.registry, view));
    JoinSpec spec;
    PITSTORE_ASSIGN_OR_RETURN(spec.projection, Projection(*v, features));
    for (int f : spec.projection) {
      spec.types.types.push_back(v->types.types[f]);
      spec.types.dims.push_back(v->types.dims[f]);
    }
    spec.ttl_us = v->def.ttl_us;
    spec.options = join;
    // The labels must carry the view's key, column by column.
    const size_t n = labels.times.size();
    if (labels.keys.size() != v->key_columns.size())
      return Status::InvalidArgument("join with view '" + view + "': expected " +
                                     std::to_string(v->key_columns.size()) + " key column(s), got " +
                                     std::to_string(labels.keys.size()));
    if (n >= (uint64_t{1} << 32)) return Status::InvalidArgument("a join takes at most 2^32 - 1 labels");
    for (size_t c = 0; c < labels.keys.size(); ++c) {
      const Column& col = labels.keys[c];
      bool is_int = v->key_columns[c].type == KeyType::kInt64;
      if (col.type != (is_int ? FeatureType::kInt64 : FeatureType::kString) || col.size() != n ||
          (!col.valid.empty() && std::find(col.valid.begin(), col.valid.end(), 0) != col.valid.end()))
        return Status::InvalidArgument("join with view '" + view + "': key column " + std::to_string(c) + " ('" +
                                       v->key_columns[c].name + "') must be " + (is_int ? "int64" : "string") +
                                       ", without nulls, one value per label");
    }
    std::vector<BlockEntry> all, blocks;
    PITSTORE_RETURN_IF_ERROR(index_->ListBlocks(s.txn.get(), &all));
    for (const BlockEntry& b : all)
      if (b.view_id == v->id && b.rows > 0) blocks.push_back(b);

    class Source : public JoinPageSource {
     public:
      Source(StoreImpl& store, SnapshotImpl& snap, std::vector<BlockEntry> blocks)
          : store_(store), snap_(snap), blocks_(std::move(blocks)) {}
      Status Init() {
        for (const BlockEntry& b : blocks_) {
          std::shared_ptr<const SegmentLayout> layout;
          if (b.type == BlockType::kSegment) {
            PITSTORE_ASSIGN_OR_RETURN(layout, store_.GetSegmentLayout(snap_, b.offset));
          }
          layouts_.push_back(std::move(layout));
        }
        return Status::OK();
      }
      size_t blocks() const override { return blocks_.size(); }
      size_t pages(size_t b) const override { return layouts_[b] ? layouts_[b]->pages() : 1; }
      std::string min_key(size_t b) const override { return layouts_[b] ? layouts_[b]->min_key : std::string(); }
      std::string max_key(size_t b) const override { return layouts_[b] ? layouts_[b]->max_key : std::string(); }
      Result<std::shared_ptr<const Run>> LoadPage(size_t b, size_t p) override {
        // Pages are read once: they do not go into the block cache.
        if (layouts_[b]) return store_.GetSegmentPage(snap_, blocks_[b].offset, *layouts_[b], p, false);
        return store_.GetRun(snap_, blocks_[b].offset);
      }

     private:
      StoreImpl& store_;
      SnapshotImpl& snap_;
      std::vector<BlockEntry> blocks_;
      std::vector<std::shared_ptr<const SegmentLayout>> layouts_;
    } source(*this, s, std::move(blocks));
    PITSTORE_RETURN_IF_ERROR(source.Init());
    JoinResult result;
    PITSTORE_RETURN_IF_ERROR(RunAsOfJoin(source, labels, spec, &result));
    return result;
  });
}

Status StoreImpl::Scan(const std::string& view, const ScanVisitor& visit, Timestamp known_at,
                       const std::vector<std::string>& features, const ReadOptions& options) {
  return WithSnapshot(options, [&](SnapshotImpl& s) -> Status {
    PITSTORE_ASSIGN_OR_RETURN(const ViewInfo* v, FindView(*s.registry, view));
    PITSTORE_ASSIGN_OR_RETURN(std::vector<int> proj, Projection(*v, features));
    std::vector<BlockEntry> blocks;
    PITSTORE_RETURN_IF_ERROR(index_->ListBlocks(s.txn.get(), &blocks));
    // One cursor per block, each over sorted rows; a heap merges them (as MergeRuns does).
    struct Cursor {
      uint64_t block = 0;
      std::shared_ptr<const SegmentLayout> layout;  // segments only
      size_t page = 0;
      std::shared_ptr<const Run> run;
      size_t row = 0;
    };
    std::vector<Cursor> cursors;
    for (const BlockEntry& b : blocks) {
      if (b.view_id != v->id || b.rows == 0) continue;
      Cursor c;
      c.block = b.offset;
      if (b.type == BlockType::kSegment) {
        PITSTORE_ASSIGN_OR_RETURN(c.layout, GetSegmentLayout(s, b.offset));
        PITSTORE_ASSIGN_OR_RETURN(c.run, GetSegmentPage(s, b.offset, *c.layout, 0, false));
      } else {
        PITSTORE_ASSIGN_OR_RETURN(c.run, GetRun(s, b.offset));
      }
      if (c.run->size()) cursors.push_back(std::move(c));
    }
    auto greater = [&](size_t a, size_t b) {
      const Cursor &x = cursors[a], &y = cursors[b];
      int c = x.run->keys[x.row].compare(y.run->keys[y.row]);
      if (c != 0) return c > 0;
      return y.run->version(y.row) < x.run->version(x.row);
    };
    std::vector<size_t> heap;
    for (size_t i = 0; i < cursors.size(); ++i) heap.push_back(i);
    std::make_heap(heap.begin(), heap.end(), greater);
    std::string last_key;
    EntityKey key;
    VersionedRow row;
    while (!heap.empty()) {
      std::pop_heap(heap.begin(), heap.end(), greater);
      Cursor& c = cursors[heap.back()];
      const Run& run = *c.run;
      if (run.system_ts[c.row] <= known_at) {
        if (key.empty() || run.keys[c.row] != last_key) {
          last_key = run.keys[c.row];
          auto decoded = DecodeEntityKey(last_key);
          if (!decoded.ok())
            return Status::Corruption(path_ + ": block at offset " + std::to_string(c.block) + ": bad key");
          key = std::move(decoded).value();
        }
        row.event_ts = run.event_ts[c.row];
        row.system_ts = run.system_ts[c.row];
        row.values.clear();
        for (int p : proj)
          row.values.push_back(static_cast<size_t>(p) < run.columns.size() ? run.columns[p].Get(c.row) : Value());
        if (!visit(key, row)) return Status::OK();
      }
      if (++c.row == run.size()) {
        c.row = 0;
        c.run.reset();
        if (c.layout && ++c.page < c.layout->pages()) {
          PITSTORE_ASSIGN_OR_RETURN(c.run, GetSegmentPage(s, c.block, *c.layout, c.page, false));
        }
        if (!c.run || c.run->size() == 0) {
          heap.pop_back();
          continue;
        }
      }
      std::push_heap(heap.begin(), heap.end(), greater);
    }
    return Status::OK();
  });
}

Result<StoreStats> StoreImpl::Stats() {
  return WithSnapshot(ReadOptions{}, [&](SnapshotImpl& s) -> Result<StoreStats> {
    StoreStats st;
    PITSTORE_ASSIGN_OR_RETURN(st.file_bytes, s.file->FileSize());
    st.commit_seq = s.meta.commit_seq;
    std::vector<BlockEntry> blocks;
    PITSTORE_RETURN_IF_ERROR(index_->ListBlocks(s.txn.get(), &blocks));
    std::map<uint32_t, StoreStats::View> by_id;
    for (const ViewInfo& v : s.registry->views) by_id[v.id].name = v.def.name;
    for (const BlockEntry& b : blocks) {
      StoreStats::View& v = by_id[b.view_id];
      v.rows += b.rows;
      (b.type == BlockType::kRows ? v.row_blocks : v.segments) += 1;
      v.stored_bytes += b.stored_bytes;
      v.raw_bytes += b.raw_bytes;
      v.min_event_ts = std::min(v.min_event_ts, b.min_event_ts);
      v.max_event_ts = std::max(v.max_event_ts, b.max_event_ts);
      st.live_bytes += b.stored_bytes;
    }
    PITSTORE_RETURN_IF_ERROR(index_->ForEachLatest(s.txn.get(), [&](std::string_view k, std::string_view) {
      if (k.size() >= 4) by_id[ViewIdOf(k)].entities++;
      return Status::OK();
    }));
    for (auto& [id, v] : by_id) st.views.push_back(v);
    return st;
  });
}

Result<VerifyReport> StoreImpl::Verify() {
  VerifyReport report;
  // 1. Every block of the data file: framing, checksum, decoding, order.
  std::map<uint64_t, std::shared_ptr<const Run>> live;  // data blocks not superseded
  std::map<uint64_t, BlockType> live_type;
  uint64_t good_end = 0;
  std::string tail;
  std::string file_id;
  std::shared_ptr<DataFile> file = CurrentFile(&file_id);
  Status scan = ScanTxns(
      *file, 0, std::make_shared<Registry>(),
      [&](ParsedTxn& t) -> Status {
        report.blocks_checked += t.blocks.size() + 1 + (t.registry ? 1 : 0);
        for (const TxnBlock& b : t.blocks) {
          report.rows_checked += b.run->size();
          live[b.offset] = b.run;
          live_type[b.offset] = b.type;
        }
        for (uint64_t o : t.commit.obsolete) live.erase(o);
        return Status::OK();
      },
      &good_end, &tail);
  if (!scan.ok()) report.problems.push_back(scan.message());
  if (!tail.empty()) report.problems.push_back("torn or damaged tail: " + tail);
  // 2. The index against the data.
  auto checked = WithSnapshot(ReadOptions{}, [&](SnapshotImpl& s) -> Result<bool> {
    if (s.meta.applied_offset > good_end)
      report.problems.push_back("index is ahead of the intact data (" + std::to_string(s.meta.applied_offset) + " > " +
                                std::to_string(good_end) + ")");
    std::vector<BlockEntry> blocks;
    PITSTORE_RETURN_IF_ERROR(index_->ListBlocks(s.txn.get(), &blocks));
    for (const BlockEntry& b : blocks) {
      report.index_entries_checked++;
      auto it = live.find(b.offset);
      const Run* run = it == live.end() ? nullptr : it->second.get();
      bool same = run && live_type[b.offset] == b.type && run->view_id == b.view_id && run->size() == b.rows;
      if (same && run->size())
        same = *std::min_element(run->event_ts.begin(), run->event_ts.end()) == b.min_event_ts &&
               *std::max_element(run->event_ts.begin(), run->event_ts.end()) == b.max_event_ts;
      if (!same)
        report.problems.push_back("index entry of block " + std::to_string(b.offset) +
                                  " does not match a live block of the data file");
    }
    std::set<std::string> keys_with_rows;  // view id + key, from locations and row batches
    // Locations of superseded segments may wait for deletion (CleanupLocations); readers skip
    // them. Any other location must be exact.
    PITSTORE_ASSIGN_OR_RETURN(std::vector<uint64_t> pending_list, index_->GetPendingCleanup(s.txn.get()));
    std::set<uint64_t> pending(pending_list.begin(), pending_list.end());
    for (uint64_t o : pending)
      if (live.count(o)) report.problems.push_back("index lists live block " + std::to_string(o) + " as superseded");
    size_t loc_count = 0;
    PITSTORE_RETURN_IF_ERROR(index_->ForEachLoc(s.txn.get(), [&](std::string_view lkey, const LocEntry& e) {
      report.index_entries_checked++;
      if (pending.count(e.block)) return Status::OK();
      loc_count++;
      keys_with_rows.insert(std::string(lkey));
      auto it = live.find(e.block);
      bool right = it != live.end() && live_type[e.block] == BlockType::kSegment &&
                   uint64_t{e.first} + e.count <= it->second->size() && e.count != 0;
      if (right) {
        // The whole span is the key's, nothing of it lies outside, and the zone map is exact.
        const Run& run = *it->second;
        size_t end = size_t{e.first} + e.count;
        int64_t min_sys = kMaxTimestamp;
        for (size_t r = e.first; right && r < end; ++r) {
          right = run.keys[r] == lkey.substr(4);
          min_sys = std::min(min_sys, run.system_ts[r]);
        }
        right = right && (e.first == 0 || run.keys[e.first - 1] != lkey.substr(4)) &&
                (end == run.size() || run.keys[end] != lkey.substr(4)) && run.event_ts[e.first] == e.min_event_ts &&
                run.event_ts[end - 1] == e.max_event_ts && min_sys == e.min_system_ts;
      }
      if (!right)
        report.problems.push_back("index location for a key in block " + std::to_string(e.block) + " is wrong");
      return Status::OK();
    }));
    size_t latest_count = 0;
    PITSTORE_RETURN_IF_ERROR(index_->ForEachLatest(s.txn.get(), [&](std::string_view lkey, std::string_view value) {
      report.index_entries_checked++;
      latest_count++;
      if (lkey.size() < 4) {
        report.problems.push_back("latest key too short");
        return Status::OK();
      }
      uint32_t id = ViewIdOf(lkey);
      const ViewInfo* v = s.registry->FindViewById(id);
      if (!v) {
        report.problems.push_back("latest entry of unknown view id " + std::to_string(id));
        return Status::OK();
      }
      Version version;
      std::vector<Value> values;
      Status st = DecodeLatestValues(lkey, value, v->types, true, v->all_features, &version, &values);
      if (!st.ok()) {
        report.problems.push_back("view '" + v->def.name + "': " + st.message());
        return Status::OK();
      }
      std::shared_ptr<const Run> best;
      size_t best_row = 0;
      std::string key(lkey);
      st = BestAsOf(s, key, kMaxTimestamp, kMaxTimestamp, &best, &best_row);
      if (!st.ok()) {
        report.problems.push_back(st.message());
        return Status::OK();
      }
      bool same = best && !(best->version(best_row) < version) && !(version < best->version(best_row));
      for (size_t c = 0; same && c < values.size(); ++c)
        same = (c < best->columns.size() ? best->columns[c].Get(best_row) : Value::Null()) == values[c];
      if (!same) report.problems.push_back("view '" + v->def.name + "': latest value differs from the data file");
      return Status::OK();
    }));
    // Entries missing from the index (a damaged LMDB page can lose some) would hide rows.
    size_t loc_expected = 0;
    for (const auto& [offset, run] : live) {
      if (live_type[offset] == BlockType::kRows)
        for (const std::string& k : run->keys) keys_with_rows.insert(LatestKey(run->view_id, k));
      else
        for (size_t r = 0; r < run->size(); ++r) {
          loc_expected += r == 0 || run->keys[r] != run->keys[r - 1];
          if (r == 0 || run->keys[r] != run->keys[r - 1]) keys_with_rows.insert(LatestKey(run->view_id, run->keys[r]));
        }
    }
    if (blocks.size() != live.size())
      report.problems.push_back("index lists " + std::to_string(blocks.size()) + " blocks for " +
                                std::to_string(live.size()) + " live blocks in the data file");
    if (loc_count != loc_expected)
      report.problems.push_back("index has " + std::to_string(loc_count) + " locations for " +
                                std::to_string(loc_expected) + " keys in segments");
    if (latest_count != keys_with_rows.size())
      report.problems.push_back("index has " + std::to_string(latest_count) + " latest entries for " +
                                std::to_string(keys_with_rows.size()) + " keys with rows");
    return true;
  });
  if (!checked.ok()) report.problems.push_back(checked.status().ToString());
  return report;
}

}  // namespace

Result<std::unique_ptr<Store>> Store::Open(const std::string& path, const Options& options) {
  auto store = std::make_unique<StoreImpl>(path, options);
  PITSTORE_RETURN_IF_ERROR(store->Init());
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace pitstore
