// Reads of a whole view: scans in key order, point-in-time joins, the list of its blocks.
#include <cstring>

#include "store_impl.h"

namespace pitstore {

Result<std::vector<BlockInfo>> StoreImpl::ListBlocks(const std::string& view) {
  return WithSnapshot(ReadOptions{}, [&](SnapshotImpl& s) -> Result<std::vector<BlockInfo>> {
    PITSTORE_ASSIGN_OR_RETURN(const ViewInfo* v, FindView(*s.registry, view));
    std::vector<BlockEntry> blocks;
    PITSTORE_RETURN_IF_ERROR(SnapshotBlocks(s, &blocks));
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

bool StoreImpl::ChooseSeeks(JoinPlan plan, const JoinLabels& labels, const std::vector<BlockEntry>& blocks,
                            const JoinPageSource& source) const {
  if (plan != JoinPlan::kAuto) return plan == JoinPlan::kSeek;
  // The rows each plan decodes: a scan, every row of the view; seeks, a page of every segment
  // whose key range holds the label's key (row batches are read whole by both, and cached).
  // Seeks pay more per row (an index lookup and a page each): they must be cheaper by half.
  const size_t n = labels.times.size();
  uint64_t scan_rows = 0;
  // Each segment's own page size (a copy may use smaller pages than these options).
  std::vector<uint64_t> block_page_rows(blocks.size(), 0);
  uint64_t page_rows = 0;  // the smallest
  for (size_t b = 0; b < blocks.size(); ++b) {
    scan_rows += blocks[b].rows;
    if (blocks[b].type != BlockType::kSegment || source.pages(b) == 0) continue;
    block_page_rows[b] = std::max<uint64_t>(1, (blocks[b].rows + source.pages(b) - 1) / source.pages(b));
    page_rows = page_rows ? std::min(page_rows, block_page_rows[b]) : block_page_rows[b];
  }
  if (page_rows == 0) page_rows = std::max<uint64_t>(1, options_.segment_page_rows);
  if (n == 0 || 2 * n * page_rows >= scan_rows) return false;  // a page per label is already too many
  uint64_t seek_rows = 0;
  for (size_t i = 0; i < n && 2 * seek_rows < scan_rows; ++i) {
    const std::string key = LabelKey(labels, i);
    seek_rows += page_rows / 8;  // the index lookups, even where no segment holds the key
    for (size_t b = 0; b < blocks.size(); ++b)
      if (blocks[b].type == BlockType::kSegment && source.min_key(b) <= key && key <= source.max_key(b))
        seek_rows += std::min<uint64_t>(block_page_rows[b] ? block_page_rows[b] : page_rows, blocks[b].rows);
  }
  return 2 * seek_rows < scan_rows;
}

Status StoreImpl::CheckLabels(const ViewInfo& v, const JoinLabels& labels) {
  // The labels must carry the view's key, column by column.
  const std::string& view = v.def.name;
  const size_t n = labels.times.size();
  if (labels.keys.size() != v.key_columns.size())
    return Status::InvalidArgument("join with view '" + view + "': expected " + std::to_string(v.key_columns.size()) +
                                   " key column(s), got " + std::to_string(labels.keys.size()));
  if (n >= (uint64_t{1} << 32)) return Status::InvalidArgument("a join takes at most 2^32 - 1 labels");
  for (size_t c = 0; c < labels.keys.size(); ++c) {
    const Column& col = labels.keys[c];
    bool is_int = v.key_columns[c].type == KeyType::kInt64;
    if (col.type != (is_int ? FeatureType::kInt64 : FeatureType::kString) || col.size() != n ||
        (!col.valid.empty() && std::find(col.valid.begin(), col.valid.end(), 0) != col.valid.end()))
      return Status::InvalidArgument("join with view '" + view + "': key column " + std::to_string(c) + " ('" +
                                     v.key_columns[c].name + "') must be " + (is_int ? "int64" : "string") +
                                     ", without nulls, one value per label");
  }
  return Status::OK();
}

Result<JoinResult> StoreImpl::AsOfJoin(const std::string& view, const JoinLabels& labels,
                                       const std::vector<std::string>& features, const JoinOptions& join,
                                       const ReadOptions& options) {
  return WithSnapshot(options, [&](SnapshotImpl& s) -> Result<JoinResult> {
    const ViewInfo* events = nullptr;
    std::vector<WindowAggregate> aggregates;
    PITSTORE_ASSIGN_OR_RETURN(bool aggregation, AggregationOf(*s.registry, view, features, &events, &aggregates));
    if (aggregation) return AggregateJoinIn(s, *events, labels, aggregates, join);
    PITSTORE_ASSIGN_OR_RETURN(const ViewInfo* v, FindView(*s.registry, view));
    JoinSpec spec;
    PITSTORE_ASSIGN_OR_RETURN(spec.projection, Projection(*v, features));
    for (int f : spec.projection) {
      spec.types.types.push_back(v->types.types[f]);
      spec.types.dims.push_back(v->types.dims[f]);
    }
    spec.ttl_us = v->def.ttl_us;
    spec.options = join;
    spec.options.threads = std::clamp(join.threads, 1, static_cast<int>(env_->MaxThreads()));  // the one bound
    PITSTORE_RETURN_IF_ERROR(CheckLabels(*v, labels));
    std::vector<BlockEntry> all, blocks;
    PITSTORE_RETURN_IF_ERROR(SnapshotBlocks(s, &all));
    for (const BlockEntry& b : all)
      if (b.view_id == v->id && b.rows > 0) blocks.push_back(b);

    class Source : public JoinPageSource {
     public:
      Source(StoreImpl& store, SnapshotImpl& snap, std::vector<BlockEntry> blocks, const std::vector<int>& columns)
          : store_(store), snap_(snap), blocks_(std::move(blocks)), columns_(columns) {}
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
      std::string page_first_key(size_t b, size_t p) const override {
        return layouts_[b] && p < layouts_[b]->page_first_keys.size() ? layouts_[b]->page_first_keys[p] : std::string();
      }
      std::string page_last_key(size_t b, size_t p) const override {
        return layouts_[b] && p < layouts_[b]->page_last_keys.size() ? layouts_[b]->page_last_keys[p] : std::string();
      }
      Timestamp max_event_ts(size_t b) const override { return blocks_[b].max_event_ts; }
      Result<std::shared_ptr<const JoinPage>> LoadPage(size_t b, size_t p) override {
        // Pages are read once: they do not go into the block cache. Only the joined features
        // are decoded, the keys as runs, and not the ingest order (LoadSeq, when needed).
        if (!layouts_[b]) {
          PITSTORE_ASSIGN_OR_RETURN(std::shared_ptr<const Run> run, store_.GetRun(snap_, blocks_[b].offset));
          return JoinPage::OfRun(std::move(run));
        }
        KeyRuns keys;
        PITSTORE_ASSIGN_OR_RETURN(
            std::shared_ptr<const Run> rows,
            store_.GetSegmentPageKeyRuns(snap_, blocks_[b].offset, *layouts_[b], p, columns_, &keys, false));
        std::shared_ptr<JoinPage> page = JoinPage::Of(std::move(rows), std::move(keys));
        page->seq_read = false;
        page->block = b;
        page->page = p;
        return std::shared_ptr<const JoinPage>(std::move(page));
      }
      Result<std::vector<uint64_t>> LoadSeq(size_t b, size_t p) override {
        if (!layouts_[b]) return JoinPageSource::LoadSeq(b, p);
        KeyRuns keys;
        PITSTORE_ASSIGN_OR_RETURN(
            std::shared_ptr<const Run> rows,
            store_.GetSegmentPageKeyRuns(snap_, blocks_[b].offset, *layouts_[b], p, no_features_, &keys, true));
        return rows->seq;
      }

     private:
      StoreImpl& store_;
      SnapshotImpl& snap_;
      std::vector<BlockEntry> blocks_;
      const std::vector<int>& columns_;
      std::vector<std::shared_ptr<const SegmentLayout>> layouts_;
      const std::vector<int> no_features_;
    } source(*this, s, blocks, spec.projection);
    PITSTORE_RETURN_IF_ERROR(source.Init());
    JoinResult result;
    if (ChooseSeeks(join.plan, labels, blocks, source)) {
      auto seek = [&](const std::string& key, Timestamp t, Timestamp known_at, std::shared_ptr<const Run>* run,
                      size_t* row) {
        const std::string lkey = LatestKey(v->id, key);
        AsOfRow best;
        PITSTORE_RETURN_IF_ERROR(BestAsOf(s, lkey, t, known_at, &best, &spec.projection));
        *row = best.row;
        *run = best.run;
        if (best.latest) {
          PITSTORE_ASSIGN_OR_RETURN(*run, RunOfLatest(*v, lkey, *best.latest));
        }
        return Status::OK();
      };
      PITSTORE_RETURN_IF_ERROR(RunAsOfSeeks(seek, labels, spec, &result));
      result.plan = JoinPlan::kSeek;
    } else {
      PITSTORE_RETURN_IF_ERROR(RunAsOfJoin(source, labels, spec, &result));
    }
    return result;
  });
}

Status StoreImpl::StartOfBlock(SnapshotImpl& s, const BlockEntry& b, uint32_t view_id, const std::string& from_key,
                               const std::vector<int>* only, BlockStart* out) {
  *out = BlockStart{};
  if (b.type == BlockType::kSegment) {
    PITSTORE_ASSIGN_OR_RETURN(out->layout, GetSegmentLayout(s, b.offset));
    const SegmentLayout& l = *out->layout;
    if (!from_key.empty() && l.max_key < from_key) return Status::OK();
    if (l.pages() == 0)
      return Status::Corruption(path_ + ": segment at offset " + std::to_string(b.offset) +
                                " has rows in the index but none in its footer");
    if (!from_key.empty() && l.min_key < from_key) {
      // The first page whose last key is >= from_key (the last page's is: max_key), by the
      // footer's page keys, or the pages themselves in segments written before them.
      size_t lo = 0, hi = l.pages() - 1;
      while (lo < hi) {
        const size_t mid = lo + (hi - lo) / 2;
        std::string last;
        if (mid < l.page_last_keys.size()) {
          last = l.page_last_keys[mid];
        } else {
          PITSTORE_ASSIGN_OR_RETURN(auto page, GetSegmentPage(s, b.offset, l, mid, false, only));
          if (page->size()) last = page->keys.back();
        }
        if (!last.empty() && last < from_key)
          lo = mid + 1;
        else
          hi = mid;
      }
      out->page = lo;
    }
    PITSTORE_ASSIGN_OR_RETURN(out->run, GetSegmentPage(s, b.offset, l, out->page, false, only));
  } else {
    PITSTORE_ASSIGN_OR_RETURN(out->run, GetRun(s, b.offset));
  }
  if (out->run->view_id != view_id)
    return Status::Corruption("block at offset " + std::to_string(b.offset) + " is of another view");
  if (!from_key.empty())
    out->row = static_cast<size_t>(std::lower_bound(out->run->keys.begin(), out->run->keys.end(), from_key) -
                                   out->run->keys.begin());
  if (out->row >= out->run->size()) {
    // Only a row batch may hold nothing from from_key on: a segment's page was chosen by its
    // last key, which is >= from_key.
    if (out->layout)
      return Status::Corruption(path_ + ": segment at offset " + std::to_string(b.offset) + ", page " +
                                std::to_string(out->page) + ": its keys differ from the footer's page keys");
    out->run.reset();
  }
  return Status::OK();
}

Status StoreImpl::ViewRows::Open(StoreImpl& store, SnapshotImpl& s, const std::vector<BlockEntry>& blocks,
                                 uint32_t view_id, const std::string& from_key) {
  store_ = &store;
  snap_ = &s;
  for (const BlockEntry& b : blocks) {
    if (b.view_id != view_id || b.rows == 0) continue;
    BlockStart start;
    PITSTORE_RETURN_IF_ERROR(store.StartOfBlock(s, b, view_id, from_key, nullptr, &start));
    if (start.run) {
      const std::string_view key = start.run->keys[start.row];
      cursors_.push_back({b.offset, std::move(start.layout), start.page, std::move(start.run), start.row, key});
    }
  }
  order_.Reset(cursors_.size());
  return Status::OK();
}

bool StoreImpl::ViewRows::Before::operator()(size_t a, size_t b) const {
  const Cursor &x = (*cursors)[a], &y = (*cursors)[b];
  const int c = CompareKeyBytes(x.key, y.key);
  if (c != 0) return c < 0;
  return x.run->version(x.row) < y.run->version(y.row);
}

Status StoreImpl::ViewRows::Next() {
  Cursor& c = cursors_[order_.top()];
  if (++c.row == c.run->size()) {
    c.row = 0;
    if (hold_) held_.push_back(std::move(c.run));
    c.run.reset();
    if (c.layout && ++c.page < c.layout->pages()) {
      PITSTORE_ASSIGN_OR_RETURN(c.run, store_->GetSegmentPage(*snap_, c.block, *c.layout, c.page, false));
    }
    if (!c.run || c.run->size() == 0) {
      order_.Replay(/*finished=*/true);
      return Status::OK();
    }
  }
  c.key = c.run->keys[c.row];
  order_.Replay();
  return Status::OK();
}

Status StoreImpl::KeyRows::Open(StoreImpl& store, SnapshotImpl& s, const std::vector<BlockEntry>& blocks,
                                uint32_t view_id, const std::string& from_key, std::vector<int> columns) {
  store_ = &store;
  snap_ = &s;
  columns_ = std::move(columns);
  for (const BlockEntry& b : blocks) {
    if (b.view_id != view_id || b.rows == 0) continue;
    BlockStart start;
    PITSTORE_RETURN_IF_ERROR(store.StartOfBlock(s, b, view_id, from_key, &columns_, &start));
    if (start.run) cursors_.push_back({b.offset, std::move(start.layout), start.page, std::move(start.run), start.row});
  }
  return Status::OK();
}

Status StoreImpl::KeyRows::Next(Cursor& c, bool hold) {
  if (++c.row < c.run->size()) return Status::OK();
  if (hold) held_.push_back(std::move(c.run));
  c.run.reset();
  c.row = 0;
  while (c.layout && ++c.page < c.layout->pages()) {
    PITSTORE_ASSIGN_OR_RETURN(c.run, store_->GetSegmentPage(*snap_, c.block, *c.layout, c.page, false, &columns_));
    if (c.run->size() > 0) return Status::OK();
  }
  c.run.reset();
  return Status::OK();
}

Status StoreImpl::KeyRows::Rows(const std::string& key, std::vector<Row>* out) {
  out->clear();
  held_.clear();
  for (Cursor& c : cursors_) {
    while (c.run) {  // one comparison per row: below the key, the key, or past it
      const int cmp = CompareKeyBytes(c.run->keys[c.row], key);
      if (cmp > 0) break;
      if (cmp == 0) out->push_back({c.run.get(), c.row});
      PITSTORE_RETURN_IF_ERROR(Next(c, cmp == 0));
    }
  }
  return Status::OK();
}

Status StoreImpl::Scan(const std::string& view, const ScanVisitor& visit, Timestamp known_at,
                       const std::vector<std::string>& features, const ReadOptions& options) {
  return WithSnapshot(options, [&](SnapshotImpl& s) -> Status {
    PITSTORE_ASSIGN_OR_RETURN(const ViewInfo* v, FindView(*s.registry, view));
    PITSTORE_ASSIGN_OR_RETURN(std::vector<int> proj, Projection(*v, features));
    std::vector<BlockEntry> blocks;
    PITSTORE_RETURN_IF_ERROR(SnapshotBlocks(s, &blocks));
    ViewRows rows;
    PITSTORE_RETURN_IF_ERROR(rows.Open(*this, s, blocks, v->id));
    std::string last_key;
    EntityKey key;
    VersionedRow row;
    while (!rows.done()) {
      const Run& run = *rows.page();
      const size_t i = rows.row();
      if (run.system_ts[i] <= known_at) {
        if (key.empty() || run.keys[i] != last_key) {
          last_key = run.keys[i];
          auto decoded = DecodeEntityKey(last_key);
          if (!decoded.ok())
            return Status::Corruption(path_ + ": block at offset " + std::to_string(rows.block()) + ": bad key");
          key = std::move(decoded).value();
        }
        row.event_ts = run.event_ts[i];
        row.system_ts = run.system_ts[i];
        row.values.clear();
        for (int p : proj)
          row.values.push_back(static_cast<size_t>(p) < run.columns.size() ? run.columns[p].Get(i) : Value());
        if (!visit(key, row)) return Status::OK();
      }
      PITSTORE_RETURN_IF_ERROR(rows.Next());
    }
    return Status::OK();
  });
}

}  // namespace pitstore
