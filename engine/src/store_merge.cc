// Merges: row batches and small segments into segments (compaction), erasures of keys, and
// dropping a view's rows.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <new>
#include <optional>
#include <set>
#include <string_view>
#include <system_error>
#include <thread>
#include <unordered_map>

#include "join_on_exit.h"
#include "store_impl.h"

namespace pitstore {

namespace {

// The row batches of `tail` among a merge's inputs: they leave the tail once it is published.
std::set<uint64_t> MergedBatches(const TailIndex& tail, const std::vector<BlockEntry>& inputs) {
  std::set<uint64_t> merged;
  for (const auto& batch : tail.batches())
    if (std::any_of(inputs.begin(), inputs.end(), [&](const BlockEntry& b) { return b.offset == batch.first; }))
      merged.insert(batch.first);
  return merged;
}

struct MergeRef {
  uint32_t run, row;
};

// A row a merge keeps, waiting to be appended.
struct GatherRef {
  const Run* run;
  uint32_t row;
};

// Appends the rows `refs` name to `out`, a column at a time: one type decision per column, not
// one per value, and each column's values copied in one loop (row by row, with a call and a
// switch per value, this was the largest cost of a merge).
void GatherRows(const std::vector<GatherRef>& refs, Run* out) {
  out->keys.reserve(out->keys.size() + refs.size());
  for (const GatherRef& r : refs) out->keys.push_back(r.run->keys[r.row]);
  for (const GatherRef& r : refs) out->event_ts.push_back(r.run->event_ts[r.row]);
  for (const GatherRef& r : refs) out->system_ts.push_back(r.run->system_ts[r.row]);
  for (const GatherRef& r : refs) out->seq.push_back(r.run->seq[r.row]);
  for (size_t c = 0; c < out->columns.size(); ++c) {
    Column& dst = out->columns[c];
    auto plain = [&](auto member) {  // int64 or double slots, one per row
      auto& values = dst.*member;
      for (const GatherRef& r : refs) {
        if (c >= r.run->columns.size() || r.run->columns[c].is_null(r.row)) {
          dst.AppendNull();
          continue;
        }
        if (!dst.valid.empty()) dst.valid.push_back(1);
        values.push_back((r.run->columns[c].*member)[r.row]);
      }
    };
    switch (IsListType(dst.type) ? FeatureType::kFloat32Vector : dst.type) {
      case FeatureType::kBool:
      case FeatureType::kInt32:
      case FeatureType::kInt64:
      case FeatureType::kTimestamp:
        plain(&Column::ints);
        break;
      case FeatureType::kFloat32:
      case FeatureType::kFloat64:
        plain(&Column::doubles);
        break;
      default:  // strings, vectors, lists
        for (const GatherRef& r : refs)
          if (c < r.run->columns.size())
            dst.AppendFrom(r.run->columns[c], r.row);
          else
            dst.AppendNull();
    }
  }
}

// Row i of `a` and row j of `b` hold the same value in each of the first `columns` columns (a
// column a run lacks reads null); floats compare by their bits, so a NaN equals itself.
bool SameValues(const Run& a, uint32_t i, const Run& b, uint32_t j, size_t columns) {
  for (size_t c = 0; c < columns; ++c) {
    const bool a_null = c >= a.columns.size() || a.columns[c].is_null(i);
    const bool b_null = c >= b.columns.size() || b.columns[c].is_null(j);
    if (a_null || b_null) {
      if (a_null != b_null) return false;
      continue;
    }
    const Column &x = a.columns[c], &y = b.columns[c];
    switch (x.type) {
      case FeatureType::kFloat32:
      case FeatureType::kFloat64:
        if (std::memcmp(&x.doubles[i], &y.doubles[j], sizeof(double)) != 0) return false;
        break;
      case FeatureType::kString:
      case FeatureType::kBytes:
        if (x.strings[i] != y.strings[j]) return false;
        break;
      case FeatureType::kFloat32Vector:
        if (std::memcmp(&x.floats[size_t{i} * x.dim], &y.floats[size_t{j} * y.dim], sizeof(float) * x.dim) != 0)
          return false;
        break;
      default:
        if (x.ints[i] != y.ints[j]) return false;
    }
  }
  return true;
}

// A hash of row i's values in the first `columns` columns, equal for rows SameValues calls equal.
uint64_t ValuesHash(const Run& r, uint32_t i, size_t columns) {
  uint64_t h = 0x243F6A8885A308D3ULL;
  auto mix = [&](uint64_t v) { h = (h ^ v) * 0x9E3779B97F4A7C15ULL; };
  for (size_t c = 0; c < columns; ++c) {
    if (c >= r.columns.size() || r.columns[c].is_null(i)) {
      mix(0x6E756C6CULL);  // null
      continue;
    }
    const Column& x = r.columns[c];
    switch (x.type) {
      case FeatureType::kFloat32:
      case FeatureType::kFloat64: {
        uint64_t bits;
        std::memcpy(&bits, &x.doubles[i], sizeof bits);
        mix(bits);
        break;
      }
      case FeatureType::kString:
      case FeatureType::kBytes:
        mix(std::hash<std::string_view>()(x.strings[i]));
        break;
      case FeatureType::kFloat32Vector:
        mix(std::hash<std::string_view>()(
            std::string_view(reinterpret_cast<const char*>(&x.floats[size_t{i} * x.dim]), sizeof(float) * x.dim)));
        break;
      default:
        mix(static_cast<uint64_t>(x.ints[i]));
    }
  }
  return h;
}

// Drops each row for which a later-ingested row has the same key, both times and every value
// (a retried load). Such a row never answers a read: rows equal in both times are ordered by
// ingest, so the later one wins wherever either is visible. Defined by pairs, not neighbours,
// so merges of any subset of blocks remove the same rows a merge of all of them would.
void DropShadowedDuplicates(const std::vector<const Run*>& inputs, std::vector<MergeRef>* order, size_t columns) {
  auto same_times = [&](const MergeRef& x, const MergeRef& y) {
    const Run &a = *inputs[x.run], &b = *inputs[y.run];
    return a.event_ts[x.row] == b.event_ts[y.row] && a.system_ts[x.row] == b.system_ts[y.row] &&
           a.keys[x.row] == b.keys[y.row];
  };
  std::vector<MergeRef>& o = *order;
  size_t kept = 0;  // in place: o[0, kept) are the rows kept so far
  std::vector<uint8_t> keep;
  std::unordered_multimap<uint64_t, size_t> later;  // values hash -> a kept later row of the group
  for (size_t start = 0; start < o.size();) {
    size_t end = start + 1;  // [start, end): one key and both times, in ingest order
    while (end < o.size() && same_times(o[start], o[end])) ++end;
    if (end - start <= 8) {  // the usual group: one row, or a few
      for (size_t i = start; i < end; ++i) {
        bool shadowed = false;
        for (size_t j = i + 1; j < end && !shadowed; ++j)
          shadowed = SameValues(*inputs[o[i].run], o[i].row, *inputs[o[j].run], o[j].row, columns);
        if (!shadowed) o[kept++] = o[i];
      }
    } else {  // a large group (one key loaded many times with the same times): by hash, not pairs
      keep.assign(end - start, 0);
      later.clear();
      for (size_t i = end; i-- > start;) {
        const uint64_t h = ValuesHash(*inputs[o[i].run], o[i].row, columns);
        bool shadowed = false;
        for (auto [it, last] = later.equal_range(h); it != last && !shadowed; ++it)
          shadowed = SameValues(*inputs[o[i].run], o[i].row, *inputs[o[it->second].run], o[it->second].row, columns);
        if (!shadowed) {
          keep[i - start] = 1;
          later.emplace(h, i);
        }
      }
      for (size_t i = start; i < end; ++i)
        if (keep[i - start]) o[kept++] = o[i];
    }
    start = end;
  }
  o.resize(kept);
}

// A row's logical bytes (Run::LogicalBytes) without a look at every column: the fixed widths
// summed once per view, string lengths per row.
class RowBytes {
 public:
  explicit RowBytes(const ViewInfo& v) {
    for (size_t c = 0; c < v.types.types.size(); ++c) {
      const FeatureType type = v.types.types[c];
      if (type == FeatureType::kString || type == FeatureType::kBytes)
        string_columns_.push_back(c);
      else
        fixed_ += type == FeatureType::kBool            ? 1
                  : type == FeatureType::kFloat32Vector ? uint64_t{4} * v.types.dims[c]
                                                        : 8;
    }
  }
  uint64_t fixed() const { return fixed_; }  // a row's bytes, keys and strings left out
  uint64_t Of(const Run& run, size_t row) const {
    uint64_t bytes = fixed_ + run.keys[row].size();
    for (size_t c : string_columns_)  // a batch written before a feature was added lacks its column
      if (c < run.columns.size() && !run.columns[c].strings.empty()) bytes += run.columns[c].strings[row].size();
    return bytes;
  }

 private:
  uint64_t fixed_ = 24;  // event_ts, system_ts, seq
  std::vector<size_t> string_columns_;
};

// The rows of view `view_id` among `blocks`: what a merge of them reads.
uint64_t RowsOfView(const std::vector<BlockEntry>& blocks, uint32_t view_id) {
  uint64_t rows = 0;
  for (const BlockEntry& b : blocks)
    if (b.view_id == view_id) rows += b.rows;
  return rows;
}

}  // namespace

Timestamp StoreImpl::RetentionCutoff(const ViewInfo& v) {
  if (v.def.retention_us <= 0) return kMinTimestamp;
  const int64_t now = NowMicros();
  return now < kMinTimestamp + v.def.retention_us ? kMinTimestamp : now - v.def.retention_us;
}

Status StoreImpl::MergeStream(SnapshotImpl& s, const ViewInfo& v, const std::vector<BlockEntry>& blocks,
                              Timestamp keep_from, const std::unordered_set<std::string>* drop_keys,
                              MergeOutput& output,
                              const std::function<Status(const std::string&, uint32_t)>& departed) {
  // Memory: a page per block (ViewRows), one key's rows, and what `output` holds.
  ViewRows rows;
  rows.HoldPassedPages();  // the rows of `group` and `waiting` point into them
  PITSTORE_RETURN_IF_ERROR(rows.Open(*this, s, blocks, v.id));
  std::vector<uint64_t> segments;  // the input segments, sorted: a key's count is of these
  for (const BlockEntry& b : blocks)
    if (b.view_id == v.id && b.type == BlockType::kSegment) segments.push_back(b.offset);
  const uint64_t input_rows = RowsOfView(blocks, v.id);
  uint64_t rows_read = 0;
  auto rest = [&] { return input_rows > rows_read ? input_rows - rows_read : 0; };
  const RowBytes row_bytes(v);
  uint64_t segment_bytes = 0;  // the logical bytes of the rows the current segment holds
  std::sort(segments.begin(), segments.end());
  std::vector<const Run*> group_runs;    // the pages one key's rows are on
  std::vector<uint64_t> group_segments;  // the input segments holding the key
  std::vector<MergeRef> group;
  std::string key;
  const size_t features = v.types.types.size();
  // Rows kept but not yet appended (when the output allows: rows_read_at_segment_end): a few
  // thousand rows. Their pages are the cursors' own or held by `rows` until appended; a merge
  // that drops most rows (retention, erasures) appends early rather than hold many pages.
  const bool gather_later = output.rows_read_at_segment_end();
  constexpr size_t kGatherRows = 4096;
  constexpr size_t kMaxHeldPages = 64;
  std::vector<GatherRef> waiting;
  auto append_waiting = [&] {
    if (!waiting.empty()) {
      Run& out = output.rows();
      const size_t begin = out.size();
      GatherRows(waiting, &out);
      ClearDroppedFeatures(v, &out, begin, out.size());
      waiting.clear();
    }
    rows.ReleaseHeld();
  };
  while (!rows.done()) {
    if (!gather_later)
      rows.ReleaseHeld();  // the last key's rows are appended
    else if (rows.held_pages() >= kMaxHeldPages)
      append_waiting();
    // Every version of the smallest key, in order.
    group_runs.clear();
    group_segments.clear();
    group.clear();
    key = rows.key();
    while (!rows.done() && rows.key() == key) {
      uint32_t r = 0;
      while (r < group_runs.size() && group_runs[r] != rows.page().get()) ++r;
      if (r == group_runs.size()) {
        group_runs.push_back(rows.page().get());
        const uint64_t block = rows.block();
        if (std::binary_search(segments.begin(), segments.end(), block) &&
            std::find(group_segments.begin(), group_segments.end(), block) == group_segments.end())
          group_segments.push_back(block);
      }
      group.push_back({r, static_cast<uint32_t>(rows.row())});
      PITSTORE_RETURN_IF_ERROR(rows.Next());
    }
    rows_read += group.size();
    const auto segments_left = static_cast<uint32_t>(group_segments.size());
    if (drop_keys && drop_keys->count(key)) {  // an erasure: the key leaves
      if (departed && segments_left > 0) PITSTORE_RETURN_IF_ERROR(departed(key, segments_left));
      continue;
    }
    // What a merge keeps of it: no row a later identical row shadows, and (retention) no
    // version older than keep_from but the newest such.
    DropShadowedDuplicates(group_runs, &group, features);
    size_t first = 0;
    if (keep_from != kMinTimestamp) {
      while (first < group.size() && group_runs[group[first].run]->event_ts[group[first].row] < keep_from) ++first;
      if (first > 0) --first;
    }
    for (size_t i = first; i < group.size(); ++i)
      segment_bytes += row_bytes.Of(*group_runs[group[i].run], group[i].row);
    if (gather_later) {
      for (size_t i = first; i < group.size(); ++i) waiting.push_back({group_runs[group[i].run], group[i].row});
      PITSTORE_RETURN_IF_ERROR(output.KeyDone(segments_left));
      if (SegmentFull(output.segment_rows() + waiting.size(), segment_bytes, rest())) {
        append_waiting();
        PITSTORE_RETURN_IF_ERROR(output.SegmentDone());
        segment_bytes = 0;
      } else if (waiting.size() >= kGatherRows) {
        append_waiting();
      }
      continue;
    }
    Run& out = output.rows();
    const size_t begin = out.size();
    for (size_t i = first; i < group.size(); ++i) out.AppendRow(*group_runs[group[i].run], group[i].row);
    ClearDroppedFeatures(v, &out, begin, out.size());
    PITSTORE_RETURN_IF_ERROR(output.KeyDone(segments_left));
    if (SegmentFull(output.segment_rows(), segment_bytes, rest())) {
      PITSTORE_RETURN_IF_ERROR(output.SegmentDone());
      segment_bytes = 0;
    }
  }
  append_waiting();
  if (output.segment_rows() > 0) PITSTORE_RETURN_IF_ERROR(output.SegmentDone());
  return Status::OK();
}

Status StoreImpl::MergeStream(SnapshotImpl& s, const ViewInfo& v, const std::vector<BlockEntry>& blocks,
                              Timestamp keep_from, const std::unordered_set<std::string>* drop_keys,
                              const std::function<Status(Run&&, std::vector<uint32_t>&&)>& emit,
                              const std::function<Status(const std::string&, uint32_t)>& departed) {
  // A segment is emitted once it is full (SegmentFull), after the key group that got it there:
  // room for that many rows and a group's worth more, so it is filled without moving.
  const uint64_t input_rows = RowsOfView(blocks, v.id);
  class WholeSegments : public MergeOutput {
   public:
    WholeSegments(const ViewInfo& v, size_t capacity, const std::function<Status(Run&&, std::vector<uint32_t>&&)>& emit)
        : v_(v), capacity_(capacity), emit_(emit) {
      Reset();
    }
    Run& rows() override { return out_; }
    uint64_t segment_rows() const override { return out_.size(); }
    Status KeyDone(uint32_t segments_left) override {
      segments_left_.push_back(segments_left);
      return Status::OK();
    }
    Status SegmentDone() override {
      PITSTORE_RETURN_IF_ERROR(emit_(std::move(out_), std::move(segments_left_)));
      Reset();
      return Status::OK();
    }
    bool rows_read_at_segment_end() const override { return true; }

   private:
    void Reset() {
      out_ = Run();
      out_.view_id = v_.id;
      for (size_t c = 0; c < v_.types.types.size(); ++c)
        out_.columns.push_back(Column::Of(v_.types.types[c], v_.types.dims[c]));
      out_.Reserve(capacity_);
      segments_left_ = {};
    }
    const ViewInfo& v_;
    const size_t capacity_;
    const std::function<Status(Run&&, std::vector<uint32_t>&&)>& emit_;
    Run out_;
    std::vector<uint32_t> segments_left_;
  } output(
      v,
      static_cast<size_t>(std::min({input_rows, uint64_t{options_.segment_max_rows} + options_.segment_max_rows / 2,
                                    SegmentMaxBytes() / RowBytes(v).fixed() + 1})) +
          4096,
      emit);
  return MergeStream(s, v, blocks, keep_from, drop_keys, output, departed);
}

Status StoreImpl::MergeView(const ViewInfo& v, const std::vector<BlockEntry>& inputs,
                            const std::unordered_set<std::string>* drop_keys) {
  if (inputs.empty()) return Status::OK();
  if (inputs.size() == 1 && inputs[0].type == BlockType::kSegment && !drop_keys && RetentionCutoff(v) == kMinTimestamp)
    return Status::OK();
  const auto started = std::chrono::steady_clock::now();
  // Streamed: each merged segment is written and indexed as MergeStream makes it, then let go.
  return PublishMerge(
      v, inputs,
      [&](const SegmentSink&, const DepartSink& depart, MergeOutput& streamed) -> Status {
        PITSTORE_ASSIGN_OR_RETURN(auto snap, NewSnapshot());
        return MergeStream(*snap, v, inputs, RetentionCutoff(v), drop_keys, streamed, depart);
      },
      started);
}

Status StoreImpl::PublishMerge(
    const ViewInfo& v, const std::vector<BlockEntry>& inputs,
    const std::function<Status(const SegmentSink&, const DepartSink&, MergeOutput&)>& produce,
    std::chrono::steady_clock::time_point started) {
  // One rewrite transaction written in parts: each merged segment is written to the file and
  // indexed as it is made (then let go), the commit record last. Memory: what `produce` holds,
  // one encoded segment, and the index transaction's dirty pages. Until the commit record is
  // written and synced nothing of it is visible; a crash before leaves a torn tail, cut away by
  // the next open.
  std::shared_ptr<DataFile> file = Current()->file;
  const uint64_t start = meta_.applied_offset;
  uint64_t end = start;
  PITSTORE_ASSIGN_OR_RETURN(IndexTxn wt, index_->BeginWrite());
  IndexMeta meta = meta_;
  std::vector<BlockEntry> obsolete;
  for (const BlockEntry& b : inputs) {
    PITSTORE_ASSIGN_OR_RETURN(std::optional<BlockEntry> entry, index_->GetBlock(wt.get(), b.offset));
    if (!entry)
      return Status::Corruption(path_ + ": a merge supersedes block " + std::to_string(b.offset) +
                                ", which is not live");
    obsolete.push_back(*entry);
  }
  // The tail index without the batches this merge supersedes, built on a thread of its own
  // while the merge writes and indexes: once published, the merge swaps it in at once.
  std::shared_ptr<TailIndex> tail = Current()->tail;
  std::set<uint64_t> merged = tail ? MergedBatches(*tail, inputs) : std::set<uint64_t>();
  const uint64_t merge_seq = meta_.commit_seq + 1;
  std::shared_ptr<TailIndex> next_tail;
  std::optional<std::thread> tail_builder;
  JoinOnExit join_builder{tail_builder};
  if (!merged.empty() && env_->MaxThreads() > 1) {
    try {
      tail_builder.emplace([&] {
        try {
          next_tail = tail->Without(merged, merge_seq);
        } catch (const std::bad_alloc&) {  // built again after the commit, on the merge's thread
        }
      });
    } catch (const std::system_error&) {  // no thread to be had: built after the commit
      tail_builder.reset();
    }
  }
  uint64_t rows_out = 0;
  std::string lkey;
  // A segment written page by page: each key indexed as it completes, the block entered once
  // the segment is.
  class Streamed : public WrittenSegments {
   public:
    Streamed(StoreImpl& store, const ViewInfo& v, DataFile& file, MDB_txn* txn, IndexMeta& meta, uint64_t& end,
             uint64_t& rows_out)
        : WrittenSegments(file, end, v, store.options_, store.env_->MaxThreads()),
          store_(store),
          txn_(txn),
          meta_(meta),
          end_(end),
          rows_out_(rows_out) {}
    Status KeyDone(uint32_t segments_left) override REQUIRES(store_.write_mu_) {
      if (!cursors_) {
        cursors_ = store_.index_->Cursors(txn_);
        PITSTORE_RETURN_IF_ERROR(cursors_->status());
      }
      const Run& pending = writer().pending();
      const size_t last = pending.size() - 1;  // the key's greatest version
      PITSTORE_RETURN_IF_ERROR(
          store_.IndexSegmentKey(*cursors_, pending, last, last + 1, 1 - int64_t{segments_left}, &lkey_));
      return writer().WriteFullPages();
    }
    Status SegmentDone() override {
      cursors_.reset();  // a write transaction's cursors must close before it commits
      PITSTORE_ASSIGN_OR_RETURN(BlockEntry be, FinishSegment());
      PITSTORE_RETURN_IF_ERROR(store_.index_->PutBlock(txn_, be));
      meta_.live_blocks++;
      meta_.live_digest ^= BlockDigest(be.offset, be.type, be.view_id);
      rows_out_ += be.rows;
      end_ = be.offset + be.stored_bytes;
      return Status::OK();
    }

   private:
    StoreImpl& store_;
    MDB_txn* txn_;
    IndexMeta& meta_;
    uint64_t& end_;
    uint64_t& rows_out_;
    std::unique_ptr<IndexCursors> cursors_;
    std::string lkey_;
  } streamed(*this, v, *file, wt.get(), meta, end, rows_out);
  // From here until the index commit makes the merge the store's, leaving this function any
  // other way (an error, or an exception: bad_alloc, which the background merge turns into a
  // failed merge) cuts the file back to where the merge began.
  struct UndoUnlessCommitted {
    DataFile& file;
    uint64_t start;
    bool committed = false;
    ~UndoUnlessCommitted() {
      if (!committed) (void)file.Truncate(start);
    }
  } undo{*file, start};
  Status st = produce(
      [&](std::shared_ptr<const Run> run, CompressedSegment* compressed, std::vector<uint32_t>&& segments_left)
          REQUIRES(write_mu_) -> Status {
            // The segment's bytes are placed (checksummed with their offsets) and written, a few
            // pages at a time, on a second thread while its keys go to the index here: commits
            // wait for this lock, so the other core would be idle. The index needs only the
            // rows; the block's entry goes in once its size is known. (One thread only: in
            // turn.) The writer is joined however this scope is left: an exception (bad_alloc,
            // which the background merge turns into a failed merge) must not destroy a running
            // thread.
            std::optional<TxnBlock> placed;
            Status written;
            // Made before: a handler of bad_alloc must not allocate (moved in, not copied).
            Status out_of_memory = Status::IOError("out of memory writing a merged segment");
            auto place_and_write = [&] {
              try {
                CompressedSegment made;
                if (!compressed) made = CompressSegment(*run, PageFormatFor(options_, *file), env_->MaxThreads());
                Result<uint64_t> payload =
                    WriteCompressedSegment(*file, end, *run, std::move(compressed ? *compressed : made));
                if (!payload.ok()) {
                  written = payload.status();
                  return;
                }
                TxnBlock b;
                b.offset = end;
                b.end = end + kBlockHeaderSize + *payload;
                b.type = BlockType::kSegment;
                b.run = run;
                placed = std::move(b);
                // Durable here, beside the indexing: the sync after the commit record then
                // waits for that record alone, with commits waiting on this lock.
                written = file->Sync();
              } catch (const std::bad_alloc&) {
                written = std::move(out_of_memory);
              }
            };
            std::optional<std::thread> writer;
            JoinOnExit join_writer{writer};
            if (env_->MaxThreads() > 1) {
              try {
                writer.emplace(place_and_write);
              } catch (const std::system_error&) {  // no thread to be had: in turn
                writer.reset();
                place_and_write();
              }
            } else {
              place_and_write();
            }
            Status indexed = [&]() REQUIRES(write_mu_) -> Status {
              auto cursors = index_->Cursors(wt.get());
              PITSTORE_RETURN_IF_ERROR(cursors->status());
              size_t k = 0;
              for (size_t i = 0; i < run->size(); ++k) {
                const size_t j = run->KeyEnd(i);
                PITSTORE_RETURN_IF_ERROR(IndexSegmentKey(*cursors, *run, i, j, 1 - int64_t{segments_left[k]}, &lkey));
                i = j;
              }
              return Status::OK();
            }();
            if (writer) writer->join();
            PITSTORE_RETURN_IF_ERROR(written);
            PITSTORE_RETURN_IF_ERROR(indexed);
            const TxnBlock& b = *placed;
            const BlockEntry be = BlockEntryOf(b);
            PITSTORE_RETURN_IF_ERROR(index_->PutBlock(wt.get(), be));
            meta.live_blocks++;
            meta.live_digest ^= BlockDigest(be.offset, be.type, be.view_id);
            rows_out += run->size();
            end = b.end;
            return Status::OK();
          },
      [&](const std::string& key, uint32_t segments_left) REQUIRES(write_mu_) -> Status {
        auto cursors = index_->Cursors(wt.get());
        PITSTORE_RETURN_IF_ERROR(cursors->status());
        return DepartKey(*cursors, LatestKey(v.id, key), segments_left);
      },
      streamed);
  if (!st.ok()) return st;
  const uint64_t segments_end = end;
  CommitRecord c;
  c.commit_seq = merge_seq;
  c.commit_ts = std::max(NowMicros(), meta_.commit_ts + 1);
  c.flags = kCommitRewrite;
  for (const BlockEntry& b : inputs) c.obsolete.push_back(b.offset);
  TxnBuilder last(end, start);
  const ParsedTxn& t = last.Finish(c);
  st = file->WriteAt(end, last.bytes());
  if (st.ok()) st = file->Sync();
  if (st.ok()) st = RetireBlocks(wt.get(), obsolete, &meta);
  if (!st.ok()) return st;
  meta.commit_seq = c.commit_seq;
  meta.commit_ts = std::max(meta.commit_ts, c.commit_ts);
  meta.applied_offset = t.end;
  meta.synced_offset = t.end;
  // What it did, for `pitstore info`, in the same index transaction (one sync, not two).
  MergeCounters done;
  for (const BlockEntry& b : inputs) done.last_rows_in += b.rows, done.last_bytes_in += b.stored_bytes;
  done.last_bytes_out = segments_end - start;
  done.last_micros = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started).count());
  st = CountMerge(wt.get(), done, rows_out);
  if (st.ok()) st = index_->PutMeta(wt.get(), meta);
  // The tail index learns the commit before the index publishes it (see tail_index.h): the
  // one published now, which is `tail` unless `produce` replaced it (then rebuilt below).
  std::shared_ptr<TailIndex> now = Current()->tail;
  if (now != tail) {
    if (tail_builder && tail_builder->joinable()) tail_builder->join();  // it reads `merged`
    next_tail.reset();
    merged = now ? MergedBatches(*now, inputs) : std::set<uint64_t>();
  }
  if (st.ok() && now) now->Cover(c.commit_seq);
  if (st.ok()) st = wt.Commit();
  if (!st.ok()) return st;
  undo.committed = true;
  meta_ = meta;
  if (!merged.empty()) {  // batches the merge superseded leave the tail (their rows are in `latest` now)
    if (tail_builder && tail_builder->joinable()) tail_builder->join();
    PublishTail(next_tail ? std::move(next_tail) : now->Without(merged, meta_.commit_seq));
  }
  return Status::OK();
}

Status StoreImpl::CountMerge(MDB_txn* txn, const MergeCounters& last, uint64_t rows_out) {
  // Informational: counters that do not read back (damage) start over rather than stop merges.
  Result<MergeCounters> stored = index_->GetMergeCounters(txn);
  MergeCounters c = stored.ok() ? *stored : MergeCounters();
  c.merges++;
  c.rows_in += last.last_rows_in;
  c.rows_out += rows_out;
  c.bytes_in += last.last_bytes_in;
  c.bytes_out += last.last_bytes_out;
  c.micros += last.last_micros;
  c.last_at = NowMicros();
  c.last_rows_in = last.last_rows_in;
  c.last_bytes_in = last.last_bytes_in;
  c.last_bytes_out = last.last_bytes_out;
  c.last_micros = last.last_micros;
  return index_->PutMergeCounters(txn, c);
}

Result<uint64_t> StoreImpl::Delete(const std::string& view, const std::vector<EntityKey>& keys) {
  if (options_.read_only) return Status::InvalidArgument("store is open read-only");
  MutexLock lock(write_mu_);
  PITSTORE_RETURN_IF_ERROR(broken_);
  std::shared_ptr<const Registry> reg = Current()->registry;
  PITSTORE_ASSIGN_OR_RETURN(const ViewInfo* v, FindView(*reg, view));
  std::unordered_set<std::string> drop;
  for (const EntityKey& key : keys) {
    PITSTORE_ASSIGN_OR_RETURN(std::string enc, KeyFor(*v, key, ""));
    drop.insert(std::move(enc));
  }
  // The blocks holding the keys: segments found by their filters and page keys, row batches by
  // a search of each.
  std::vector<BlockEntry> inputs;
  uint64_t removed = 0;
  {
    PITSTORE_ASSIGN_OR_RETURN(auto snap, NewSnapshot());
    std::vector<BlockEntry> blocks;
    PITSTORE_RETURN_IF_ERROR(index_->ListBlocks(snap->txn.get(), &blocks));
    std::set<uint64_t> segments;
    for (const std::string& enc : drop) {
      std::vector<KeyRange> ranges;
      PITSTORE_RETURN_IF_ERROR(LiveLocations(*snap, LatestKey(v->id, enc), &ranges));
      for (const KeyRange& e : ranges) segments.insert(e.block);
    }
    for (const BlockEntry& b : blocks) {
      if (b.view_id != v->id) continue;
      if (b.type == BlockType::kSegment && !segments.count(b.offset)) continue;
      PITSTORE_ASSIGN_OR_RETURN(auto run, GetRun(*snap, b.offset));
      uint64_t in_block = 0;
      for (const std::string& enc : drop) {
        auto [lo, hi] = std::equal_range(run->keys.begin(), run->keys.end(), enc);
        in_block += static_cast<uint64_t>(hi - lo);
      }
      if (in_block == 0) continue;
      removed += in_block;
      inputs.push_back(b);
    }
  }
  if (inputs.empty()) return uint64_t{0};
  PITSTORE_RETURN_IF_ERROR(MergeView(*v, inputs, &drop));
  return removed;
}

// The services listing a feature of `view` (`feature` alone, when given), as "'a', 'b'".
static std::string ServicesUsing(const Registry& reg, const std::string& view, const std::string* feature) {
  std::string users;
  for (const FeatureServiceDef& sv : reg.services)
    for (const std::string& ref : sv.features) {
      std::string ref_view, ref_feature;
      if (ParseFeatureRef(ref, &ref_view, &ref_feature) && ref_view == view && (!feature || ref_feature == *feature)) {
        users += (users.empty() ? "'" : ", '") + sv.name + "'";
        break;
      }
    }
  return users;
}

// The aggregation views reading `view` (`feature` of it alone, when given), as "'a', 'b'".
static std::string AggregationsUsing(const Registry& reg, const std::string& view, const std::string* feature) {
  std::string users;
  for (const AggregationViewDef& a : reg.aggregation_views) {
    if (a.source != view) continue;
    bool uses = !feature;
    for (const WindowAggregate& w : a.aggregates) uses |= feature && w.column == *feature;
    if (uses) users += (users.empty() ? "'" : ", '") + a.name + "'";
  }
  return users;
}

// The on-demand views whose expressions read `view` (`feature` of it alone, when given).
static std::string OnDemandUsing(const Registry& reg, const std::string& view, const std::string* feature) {
  std::string users;
  for (const auto& [name, reads] : reg.on_demand_reads) {
    bool uses = false;
    for (const std::string& ref : reads) uses |= feature ? ref == view + ":" + *feature : ref.starts_with(view + ":");
    if (uses) users += (users.empty() ? "'" : ", '") + name + "'";
  }
  return users;
}

void ClearDroppedFeatures(const ViewInfo& v, Run* run, size_t begin, size_t end) {
  for (size_t c = 0; c < run->columns.size(); ++c) {
    if (!v.IsDropped(c)) continue;
    Column& col = run->columns[c];
    if (col.valid.empty()) col.valid.assign(col.size(), 1);
    for (size_t i = begin; i < end; ++i) {  // null, holding the default AppendNull leaves
      col.valid[i] = 0;
      if (!col.ints.empty()) col.ints[i] = 0;
      if (!col.doubles.empty()) col.doubles[i] = 0;
      if (!col.strings.empty()) col.strings[i].clear();
      if (col.dim > 0 && !col.floats.empty())
        std::fill(col.floats.begin() + i * col.dim, col.floats.begin() + (i + 1) * col.dim, 0.0f);
    }
  }
}

Status StoreImpl::DropFeature(const std::string& view, const std::string& feature) {
  if (options_.read_only) return Status::InvalidArgument("store is open read-only");
  MutexLock lock(write_mu_);
  PITSTORE_RETURN_IF_ERROR(broken_);
  std::shared_ptr<const Registry> reg = Current()->registry;
  PITSTORE_ASSIGN_OR_RETURN(const ViewInfo* v, FindView(*reg, view));
  const int index = v->FeatureIndex(feature);
  if (index < 0) return Status::NotFound("view '" + view + "' has no feature '" + feature + "'");
  if (v->all_features.size() == 1)
    return Status::InvalidArgument("'" + feature + "' is the only feature of view '" + view +
                                   "': drop the view instead");
  const std::string users = ServicesUsing(*reg, view, &feature);
  if (!users.empty())
    return Status::InvalidArgument("feature '" + view + ":" + feature + "' is used by feature service(s) " + users +
                                   ": remove it from them first");
  const std::string aggregations = AggregationsUsing(*reg, view, &feature);
  if (!aggregations.empty())
    return Status::InvalidArgument("feature '" + view + ":" + feature + "' is aggregated by aggregation view(s) " +
                                   aggregations + ": remove its aggregates first");
  const std::string on_demand = OnDemandUsing(*reg, view, &feature);
  if (!on_demand.empty())
    return Status::InvalidArgument("feature '" + view + ":" + feature + "' is read by on-demand view(s) " + on_demand +
                                   ": change their expressions first");
  auto next = std::make_shared<Registry>(*reg);
  for (ViewInfo& vi : next->views)
    if (vi.id == v->id) {
      vi.dropped.resize(vi.def.features.size(), 0);
      vi.dropped[index] = 1;
    }
  return CommitRegistry(next);
}

Status StoreImpl::DropView(const std::string& name) {
  if (options_.read_only) return Status::InvalidArgument("store is open read-only");
  MutexLock lock(write_mu_);
  PITSTORE_RETURN_IF_ERROR(broken_);
  std::shared_ptr<const Registry> reg = Current()->registry;
  PITSTORE_ASSIGN_OR_RETURN(const ViewInfo* v, FindView(*reg, name));
  const uint32_t id = v->id;
  const std::string users = ServicesUsing(*reg, name, nullptr);
  if (!users.empty())
    return Status::InvalidArgument("view '" + name + "' is used by feature service(s) " + users +
                                   ": remove its features from them first");
  const std::string aggregations = AggregationsUsing(*reg, name, nullptr);
  if (!aggregations.empty())
    return Status::InvalidArgument("view '" + name + "' is the source of aggregation view(s) " + aggregations +
                                   ": remove them first");
  const std::string on_demand = OnDemandUsing(*reg, name, nullptr);
  if (!on_demand.empty())
    return Status::InvalidArgument("view '" + name + "' is read by on-demand view(s) " + on_demand +
                                   ": change their expressions first");
  // First the rows: one rewrite commit superseding every block of the view, adding none.
  std::vector<BlockEntry> blocks;
  {
    PITSTORE_ASSIGN_OR_RETURN(IndexTxn rt, index_->BeginRead());
    PITSTORE_RETURN_IF_ERROR(index_->ListBlocks(rt.get(), &blocks));
  }
  CommitRecord c;
  c.commit_seq = meta_.commit_seq + 1;
  c.commit_ts = std::max(NowMicros(), meta_.commit_ts + 1);
  c.flags = kCommitRewrite;
  for (const BlockEntry& b : blocks)
    if (b.view_id == id) c.obsolete.push_back(b.offset);
  if (!c.obsolete.empty()) {
    TxnBuilder tb(meta_.applied_offset);
    ParsedTxn& t = tb.Finish(c);
    PITSTORE_RETURN_IF_ERROR(WriteAndPublish(tb, t, true));
  }
  // Then the definition.
  auto next = std::make_shared<Registry>(*Current()->registry);
  next->views.erase(
      std::remove_if(next->views.begin(), next->views.end(), [&](const ViewInfo& vi) { return vi.id == id; }),
      next->views.end());
  return CommitRegistry(next);
}

Status StoreImpl::Compact(const CompactOptions& options) {
  if (options_.read_only) return Status::InvalidArgument("store is open read-only");
  WaitUntilMergesIdle();  // a background merge this would supersede is work thrown away
  MutexLock lock(write_mu_);
  PITSTORE_RETURN_IF_ERROR(broken_);
  std::vector<BlockEntry> blocks;
  {
    PITSTORE_ASSIGN_OR_RETURN(IndexTxn rt, index_->BeginRead());
    PITSTORE_RETURN_IF_ERROR(index_->ListBlocks(rt.get(), &blocks));
  }
  std::shared_ptr<const Registry> reg = Current()->registry;
  for (const ViewInfo& v : reg->views) {
    std::vector<BlockEntry> inputs;
    for (const BlockEntry& b : blocks)
      if (b.view_id == v.id && (options.full || b.type == BlockType::kRows || SmallSegment(b))) inputs.push_back(b);
    PITSTORE_RETURN_IF_ERROR(MergeView(v, inputs));
  }
  PITSTORE_ASSIGN_OR_RETURN(IndexTxn wt, index_->BeginWrite());
  PITSTORE_RETURN_IF_ERROR(index_->RepackLatest(wt.get()));
  return wt.Commit();
}

}  // namespace pitstore
