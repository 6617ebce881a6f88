// The block reader and its cache: row batches, segment footers and pages, by (file generation,
// offset); a key's rows found in each live segment by its filter and page keys; the live blocks
// of a state.
#include "store_impl.h"

namespace pitstore {
namespace {

// The index of the block at `offset` in `blocks` (in offset order), or blocks.size().
size_t BlockAt(const std::vector<BlockEntry>& blocks, uint64_t offset) {
  auto at = std::lower_bound(blocks.begin(), blocks.end(), offset,
                             [](const BlockEntry& e, uint64_t o) { return e.offset < o; });
  return at != blocks.end() && at->offset == offset ? static_cast<size_t>(at - blocks.begin()) : blocks.size();
}

// Whether a segment's footer admits the key by its key range and filter (before page keys).
bool FooterAdmits(const SegmentLayout& l, std::string_view key, uint64_t hash) {
  return l.pages() > 0 && key >= l.min_key && key <= l.max_key && KeyFilterMayContain(l.key_filter, hash);
}

}  // namespace

Result<std::shared_ptr<const Run>> StoreImpl::GetRun(SnapshotImpl& s, uint64_t offset) {
  const uint64_t generation = s.file->generation();
  {
    // A row batch of the live-block list is held there (decoded once; the tail index holds the
    // same run): no cache lookup, and no second copy when the cache has let it go.
    MutexLock lock(caches_mu_);
    if (live_ && live_generation_ == generation) {
      const size_t at = BlockAt(live_->tail, offset);
      if (at < live_->tail.size() && live_->tail_runs[at]) return live_->tail_runs[at];
    }
  }
  if (auto hit = cache_.Get(generation, offset)) return hit;
  auto b = s.file->ReadBlock(offset, s.visible_end(), options_.verify_checksums);
  if (!b.ok()) return b.status();
  if (b->header.type != BlockType::kRows && b->header.type != BlockType::kSegment)
    return Status::Corruption(path_ + ": index points to offset " + std::to_string(offset) +
                              ", which is not a row block");
  auto run = DecodeDataBlock(*b, *s.registry, options_.verify_checksums);
  if (!run.ok()) return Status::Corruption(path_ + ": " + run.status().message());
  // A row batch kept for readers gets its key table (TailSpans); replays and Verify, which
  // decode blocks without this, do not pay for one.
  if (b->header.type == BlockType::kRows) run->key_table = KeyTable::Build(run->keys);
  auto shared = std::make_shared<const Run>(std::move(run).value());
  // Cached until the live-block list holds it; unread from then on, it ages out of the cache.
  if (b->header.type == BlockType::kRows) cache_.Put(generation, offset, shared);
  return shared;
}

Result<std::shared_ptr<const SegmentLayout>> StoreImpl::GetSegmentLayout(SnapshotImpl& s, uint64_t offset) {
  {
    MutexLock lock(caches_mu_);
    auto it = layouts_.find({s.file->generation(), offset});
    if (it != layouts_.end()) return it->second;
  }
  char header[kBlockHeaderSize];
  PITSTORE_RETURN_IF_ERROR(s.file->ReadExact(offset, kBlockHeaderSize, header));
  auto h = ParseBlockHeader(header, offset);
  if (!h.ok()) return Status::Corruption(path_ + ": " + h.status().message());
  if (h->type != BlockType::kSegment)
    return Status::Corruption(path_ + "-index: a segment entry points to offset " + std::to_string(offset) +
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
  // Checked whatever Options::verify_checksums says: its page keys and filter steer every point
  // read, and a damaged bound would hide rows rather than fail (one hash per footer cached).
  auto decoded = DecodeSegmentFooter(footer, tail, payload, footer_at, true);
  if (!decoded.ok())
    return Status::Corruption(path_ + ": segment at offset " + std::to_string(offset) + ": " +
                              decoded.status().message());
  auto layout = std::make_shared<const SegmentLayout>(std::move(decoded).value());
  MutexLock lock(caches_mu_);
  layouts_[{s.file->generation(), offset}] = layout;
  return std::shared_ptr<const SegmentLayout>(layout);
}

uint64_t StoreImpl::PageColumns(SnapshotImpl& s, const SegmentLayout& l, const std::vector<int>*& only) const {
  // A projection is cached apart from whole pages (features past 64, or every feature, read
  // whole pages); a whole page serves any projection.
  if (!only) return BlockCache::kAllColumns;
  uint64_t columns = 0;
  for (int f : *only) columns |= f >= 0 && f < 64 ? uint64_t{1} << f : BlockCache::kAllColumns;
  const ViewInfo* v = s.registry->FindViewById(l.view_id);
  const size_t features = v ? v->types.types.size() : 64;
  if (features < 64 && columns == (uint64_t{1} << features) - 1) columns = BlockCache::kAllColumns;
  if (columns == BlockCache::kAllColumns) only = nullptr;
  return columns;
}

std::shared_ptr<const Run> StoreImpl::CachedSegmentPage(SnapshotImpl& s, uint64_t block, size_t page,
                                                        uint64_t columns) {
  const uint32_t part = static_cast<uint32_t>(page + 1);
  std::shared_ptr<const Run> run = cache_.Get(s.file->generation(), block, part);
  if (!run && columns != BlockCache::kAllColumns) run = cache_.Get(s.file->generation(), block, part, columns);
  return run;
}

Result<std::string_view> StoreImpl::ReadSegmentPageBytes(SnapshotImpl& s, const SegmentLayout& l, size_t page,
                                                         const std::vector<int>* only, std::string* storage) {
  auto [off, len] = l.PageRange(page);
  // The chunks the decoders read: the keys, times and seq, and the features FeatureWanted says
  // (without `only`, every chunk: the page whole), each at its place in the page's range; a gap
  // of under 4 KiB between two of them is read through, costing less than another read. A
  // page's chunks are laid end to end, in this order.
  const size_t per_page = 4 + size_t{l.features};
  std::vector<std::pair<uint64_t, uint64_t>> spans;  // [begin, end) in the payload
  for (size_t k = 0; k < per_page; ++k) {
    if (k >= 4 && !FeatureWanted(only, k - 4)) continue;
    const auto& [at, size] = l.chunks[page * per_page + k];
    if (!spans.empty() && at < spans.back().second + 4096)
      spans.back().second = std::max(spans.back().second, at + size);
    else
      spans.push_back({at, at + size});
  }
  const uint64_t end = spans.back().second;
  if (spans.front().first != off || end > off + len) return Status::Corruption("segment chunk outside its page");
  // Pages of up to 1 MiB are read into one buffer per thread, reused (a fresh string is
  // allocated and zero-filled for every page); larger ones into the caller's string, so that
  // no thread keeps more than 1 MiB once it is done.
  thread_local std::string buffer;
  std::string* into = end - off <= (size_t{1} << 20) ? &buffer : storage;
  into->resize(end - off);
  for (const auto& [begin, stop] : spans)
    PITSTORE_RETURN_IF_ERROR(s.file->ReadExact(l.payload_offset + begin, stop - begin, into->data() + (begin - off)));
  return std::string_view(into->data(), end - off);
}

Result<const ViewInfo*> StoreImpl::SegmentView(SnapshotImpl& s, const SegmentLayout& l, uint64_t block) const {
  const ViewInfo* v = s.registry->FindViewById(l.view_id);
  if (!v) return Status::Corruption(path_ + ": segment at offset " + std::to_string(block) + " of an unknown view");
  return v;
}

Result<std::shared_ptr<const Run>> StoreImpl::SharedPage(Result<Run> decoded, uint64_t block, size_t page) const {
  if (!decoded.ok())
    return Status::Corruption(path_ + ": segment at offset " + std::to_string(block) + ", page " +
                              std::to_string(page) + ": " + decoded.status().message());
  return std::make_shared<const Run>(std::move(decoded).value());
}

Result<std::shared_ptr<const Run>> StoreImpl::GetSegmentPage(SnapshotImpl& s, uint64_t block, const SegmentLayout& l,
                                                             size_t page, bool cache, const std::vector<int>* only) {
  const uint64_t columns = PageColumns(s, l, only);
  std::shared_ptr<const Run> run = CachedSegmentPage(s, block, page, columns);
  if (run) return run;
  PITSTORE_ASSIGN_OR_RETURN(const ViewInfo* v, SegmentView(s, l, block));
  std::string storage;
  PITSTORE_ASSIGN_OR_RETURN(std::string_view bytes, ReadSegmentPageBytes(s, l, page, only, &storage));
  PITSTORE_ASSIGN_OR_RETURN(
      run, SharedPage(DecodeSegmentPage(l, page, bytes, v->types, options_.verify_checksums, only), block, page));
  if (cache) cache_.Put(s.file->generation(), block, run, static_cast<uint32_t>(page + 1), columns);
  return run;
}

Result<std::shared_ptr<const Run>> StoreImpl::GetSegmentPageKeyRuns(SnapshotImpl& s, uint64_t block,
                                                                    const SegmentLayout& l, size_t page,
                                                                    const std::vector<int>& only, KeyRuns* keys,
                                                                    bool seq) {
  const std::vector<int>* wanted = &only;
  const uint64_t columns = PageColumns(s, l, wanted);
  if (std::shared_ptr<const Run> cached = CachedSegmentPage(s, block, page, columns)) {
    *keys = KeyRunsOf(*cached);
    return cached;
  }
  PITSTORE_ASSIGN_OR_RETURN(const ViewInfo* v, SegmentView(s, l, block));
  std::string storage;
  PITSTORE_ASSIGN_OR_RETURN(std::string_view bytes, ReadSegmentPageBytes(s, l, page, wanted, &storage));
  return SharedPage(DecodeSegmentPage(l, page, bytes, v->types, options_.verify_checksums, wanted, keys, seq), block,
                    page);
}

Result<std::shared_ptr<const Run>> StoreImpl::GetSegmentPageKey(SnapshotImpl& s, uint64_t block, const SegmentLayout& l,
                                                                size_t page, std::string_view key,
                                                                const std::vector<int>* only, size_t* first_row) {
  PITSTORE_ASSIGN_OR_RETURN(const ViewInfo* v, SegmentView(s, l, block));
  std::string storage;
  PITSTORE_ASSIGN_OR_RETURN(std::string_view bytes, ReadSegmentPageBytes(s, l, page, only, &storage));
  return SharedPage(DecodeSegmentPageKey(l, page, bytes, v->types, options_.verify_checksums, only, key, first_row),
                    block, page);
}

Status StoreImpl::KeyPages::Open(StoreImpl& store, SnapshotImpl& s, std::string_view key, const KeyRange& e,
                                 const std::vector<int>* only) {
  store_ = &store;
  snap_ = &s;
  only_ = only;
  key_ = key;
  loc_ = e;
  auto mismatch = [&] {
    return Status::Corruption(store.path_ + ": the rows of a key in segment " + std::to_string(e.block) +
                              " are not where its page keys say");
  };
  layout_ = e.layout;  // FindInSegment read it
  if (e.count == 0 || !layout_) return mismatch();
  if (uint64_t{e.first} + e.count > layout_->rows || layout_->page_rows == 0) return mismatch();
  first_page_ = e.first / layout_->page_rows;
  last_page_ = (size_t{e.first} + e.count - 1) / layout_->page_rows;
  return Status::OK();
}

Result<StoreImpl::RowSpan> StoreImpl::KeyPages::Page(size_t page) {
  std::shared_ptr<const Run> run;
  size_t page_start = page * layout_->page_rows;  // the segment row of the run's row 0
  if (page == first_page_ && loc_.first_page) {
    run = loc_.first_page;
    page_start += loc_.first_page_row;
  } else if (page == last_page_ && loc_.last_page) {
    run = loc_.last_page;
  } else {
    PITSTORE_ASSIGN_OR_RETURN(run, store_->GetSegmentPage(*snap_, loc_.block, *layout_, page, true, only_));
  }
  const size_t end = size_t{loc_.first} + loc_.count;
  RowSpan span{run, std::max<size_t>(loc_.first, page_start) - page_start,
               std::min(end, page_start + run->size()) - page_start};
  if (span.begin >= span.end || run->keys[span.begin] != key_ || run->keys[span.end - 1] != key_)
    return Status::Corruption(store_->path_ + ": the rows of a key in segment " + std::to_string(loc_.block) +
                              " are not where its page keys say");
  return span;
}

Result<size_t> StoreImpl::KeyPages::LastPageStartingBy(Timestamp t) {
  // The key's rows are in version order, so the event time of its first row on each page never
  // decreases from page to page: a binary search, one page read per step.
  size_t lo = first_page_, hi = last_page_;  // the answer is in [lo, hi]; lo's first row is <= t
  while (lo < hi) {
    const size_t mid = lo + (hi - lo + 1) / 2;
    PITSTORE_ASSIGN_OR_RETURN(RowSpan span, Page(mid));
    if (span.run->event_ts[span.begin] <= t)
      lo = mid;
    else
      hi = mid - 1;
  }
  return lo;
}

Result<size_t> StoreImpl::KeyPages::FirstPageEndingFrom(Timestamp from) {
  size_t lo = first_page_, hi = last_page_;  // the answer is in [lo, hi]
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    PITSTORE_ASSIGN_OR_RETURN(RowSpan span, Page(mid));
    if (span.run->event_ts[span.end - 1] >= from)
      hi = mid;
    else
      lo = mid + 1;
  }
  return lo;
}

Status StoreImpl::ReadRows(SnapshotImpl& s, std::string_view key, const KeyRange& e, Timestamp from, Timestamp to,
                           std::vector<RowSpan>* out, const std::vector<int>* only) {
  KeyPages pages;
  PITSTORE_RETURN_IF_ERROR(pages.Open(*this, s, key, e, only));
  // Only the pages that may hold rows with from <= event_ts <= to: a window of a key with
  // millions of versions reads a few pages, not all of them.
  size_t first = pages.first_page(), last = pages.last_page();
  if (last - first > 2) {
    if (from > e.min_event_ts) {
      PITSTORE_ASSIGN_OR_RETURN(first, pages.FirstPageEndingFrom(from));
    }
    if (to < e.max_event_ts) {
      PITSTORE_ASSIGN_OR_RETURN(last, pages.LastPageStartingBy(to));
    }
  }
  for (size_t page = first; page <= last; ++page) {
    PITSTORE_ASSIGN_OR_RETURN(RowSpan span, pages.Page(page));
    out->push_back(std::move(span));
  }
  return Status::OK();
}

Status StoreImpl::BestInSegment(SnapshotImpl& s, std::string_view key, const KeyRange& e, Timestamp t,
                                Timestamp known_at, std::shared_ptr<const Run>* best_run, size_t* best_row,
                                const std::vector<int>* only) {
  KeyPages pages;
  PITSTORE_RETURN_IF_ERROR(pages.Open(*this, s, key, e, only));
  // From the last row with event_ts <= t backwards, the first row known by known_at is the
  // greatest eligible version here (rows are in version order): usually one or two pages.
  size_t page = pages.last_page();
  if (t < e.max_event_ts) {
    PITSTORE_ASSIGN_OR_RETURN(page, pages.LastPageStartingBy(t));
  }
  for (;;) {
    PITSTORE_ASSIGN_OR_RETURN(RowSpan span, pages.Page(page));
    const Run& run = *span.run;
    for (size_t i = span.end; i-- > span.begin;) {
      if (run.event_ts[i] > t || run.system_ts[i] > known_at) continue;
      if (*best_run && !((*best_run)->version(*best_row) < run.version(i))) return Status::OK();
      *best_run = span.run;
      *best_row = i;
      return Status::OK();
    }
    if (page == pages.first_page()) return Status::OK();
    --page;
  }
}

Status StoreImpl::SnapshotBlocks(SnapshotImpl& s, std::vector<BlockEntry>* out) {
  PITSTORE_RETURN_IF_ERROR(index_->ListBlocks(s.txn.get(), out));
  if (s.pending) out->insert(out->end(), s.pending->blocks.begin(), s.pending->blocks.end());
  return Status::OK();
}

Result<std::shared_ptr<const StoreImpl::LiveBlocks>> StoreImpl::GetLiveBlocks(SnapshotImpl& s) {
  if (s.pending) {  // rare (a writer stopped before publishing): not cached
    std::vector<BlockEntry> blocks;
    PITSTORE_RETURN_IF_ERROR(SnapshotBlocks(s, &blocks));
    auto live = std::make_shared<LiveBlocks>();
    for (const BlockEntry& b : blocks)
      if (b.type == BlockType::kRows)
        live->tail.push_back(b);
      else
        live->segments.push_back(b);
    live->tail_runs.resize(live->tail.size());  // read by TailSpans, through the block cache
    return std::shared_ptr<const LiveBlocks>(live);
  }
  const uint64_t generation = s.file->generation();
  {
    MutexLock lock(caches_mu_);
    if (live_ && live_seq_ == s.meta.commit_seq && live_file_id_ == s.meta.file_id) return live_;
  }
  std::vector<BlockEntry> blocks;
  PITSTORE_RETURN_IF_ERROR(index_->ListBlocks(s.txn.get(), &blocks));
  auto live = std::make_shared<LiveBlocks>();
  for (const BlockEntry& b : blocks)
    if (b.type == BlockType::kRows)
      live->tail.push_back(b);
    else
      live->segments.push_back(b);  // ListBlocks is in offset order
  // The row batches, by GetRun: those of the state before as its list holds them (the cache may
  // have let them go), new ones from the cache (a commit puts its batch there) or the file.
  for (const BlockEntry& b : live->tail) {
    auto read = GetRun(s, b.offset);
    live->tail_runs.push_back(read.ok() ? std::move(read).value() : nullptr);
  }
  MutexLock lock(caches_mu_);
  live_ = live;
  live_seq_ = s.meta.commit_seq;
  live_file_id_ = s.meta.file_id;
  live_generation_ = generation;
  // Footers of segments no longer live (merged away, or of a file a vacuum replaced) leave the
  // cache, which every point read now fills for every segment of its view. A reader still on an
  // older state reads such a footer again if it needs it.
  for (auto it = layouts_.begin(); it != layouts_.end();) {
    const bool is_live =
        it->first.first == generation && BlockAt(live->segments, it->first.second) < live->segments.size();
    it = is_live ? std::next(it) : layouts_.erase(it);
  }
  return std::shared_ptr<const LiveBlocks>(live);
}

Result<bool> StoreImpl::FindInSegment(SnapshotImpl& s, uint64_t block, std::string_view key, uint64_t hash,
                                      KeyRange* out, const std::vector<int>* only) {
  PITSTORE_ASSIGN_OR_RETURN(std::shared_ptr<const SegmentLayout> l, GetSegmentLayout(s, block));
  const size_t pages = l->pages();
  if (!FooterAdmits(*l, key, hash)) return false;
  auto page_at = [&](size_t p) { return GetSegmentPage(s, block, *l, p, true, only); };
  // The first or last key of page p: from the footer, or (segments written before page keys)
  // from the page itself, held until the next call.
  std::shared_ptr<const Run> held;
  auto page_key = [&](size_t p, bool last) -> Result<std::string_view> {
    const std::vector<std::string>& keys = last ? l->page_last_keys : l->page_first_keys;
    if (!keys.empty()) return std::string_view(keys[p]);
    PITSTORE_ASSIGN_OR_RETURN(held, page_at(p));
    return std::string_view(last ? held->keys.back() : held->keys.front());
  };
  // The pages that may hold the key: from the first whose last key is >= key to the last whose
  // first key is <= key.
  size_t lo = 0, hi = pages;  // lo: first page with last key >= key
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    PITSTORE_ASSIGN_OR_RETURN(std::string_view last_key, page_key(mid, true));
    if (last_key < key)
      lo = mid + 1;
    else
      hi = mid;
  }
  size_t a = lo, b = pages;  // a: first page with first key > key
  while (a < b) {
    const size_t mid = a + (b - a) / 2;
    PITSTORE_ASSIGN_OR_RETURN(std::string_view first_key, page_key(mid, false));
    if (first_key > key)
      b = mid;
    else
      a = mid + 1;
  }
  if (lo >= pages || a == lo) return false;  // between two pages, or past the last: a filter false positive
  const size_t last_page = a - 1;
  out->block = block;
  out->layout = l;
  std::shared_ptr<const Run> first_run;  // the page of the key's first row
  if (last_page == lo && !l->page_first_keys.empty()) {
    const std::vector<int>* projection = only;
    const uint64_t columns = PageColumns(s, *l, projection);
    first_run = CachedSegmentPage(s, block, lo, columns);
    if (!first_run && !cache_.AdmitWholePage(s.file->generation(), block, static_cast<uint32_t>(lo + 1), columns)) {
      // The key's rows share a page the cache lacks (the common point read of a key with a few
      // versions): its rows alone are decoded, not the page's, and not cached, unless the page
      // is read twice more soon (BlockCache::AdmitWholePage).
      size_t first_row = 0;
      PITSTORE_ASSIGN_OR_RETURN(auto rows, GetSegmentPageKey(s, block, *l, lo, key, projection, &first_row));
      if (rows->size() == 0) return false;  // inside the page's key range, but absent
      out->first_page = rows;
      out->first_page_row = static_cast<uint32_t>(first_row);
      out->first = static_cast<uint32_t>(lo * l->page_rows + first_row);
      out->count = static_cast<uint32_t>(rows->size());
      out->min_event_ts = rows->event_ts.front();
      out->max_event_ts = rows->event_ts.back();
      out->min_system_ts = *std::min_element(rows->system_ts.begin(), rows->system_ts.end());
      return true;
    }
  }
  auto equal = [](const Run& run, std::string_view k) {
    return std::equal_range(run.keys.begin(), run.keys.end(), k,
                            [](std::string_view x, std::string_view y) { return x < y; });
  };
  if (!first_run) {  // not found in the cache above: read (and cache) it
    PITSTORE_ASSIGN_OR_RETURN(first_run, page_at(lo));
  }
  auto [begin, end] = equal(*first_run, key);
  if (begin == end) return false;  // inside the page's key range, but absent
  const size_t begin_row = static_cast<size_t>(begin - first_run->keys.begin());
  out->first_page = first_run;
  out->first = static_cast<uint32_t>(lo * l->page_rows + begin_row);
  out->min_event_ts = first_run->event_ts[begin_row];
  if (last_page == lo) {
    const size_t end_row = static_cast<size_t>(end - first_run->keys.begin());
    out->count = static_cast<uint32_t>(end_row - begin_row);
    out->max_event_ts = first_run->event_ts[end_row - 1];
    out->min_system_ts =
        *std::min_element(first_run->system_ts.begin() + begin_row, first_run->system_ts.begin() + end_row);
    return true;
  }
  PITSTORE_ASSIGN_OR_RETURN(auto last_run, page_at(last_page));
  auto [last_begin, last_end] = equal(*last_run, key);
  if (last_begin != last_run->keys.begin() || last_end == last_begin)
    return Status::Corruption(path_ + ": segment at offset " + std::to_string(block) + ": page " +
                              std::to_string(last_page) + " does not start with the key its page keys say");
  const size_t end_row = static_cast<size_t>(last_end - last_run->keys.begin());
  out->count = static_cast<uint32_t>(last_page * l->page_rows + end_row - out->first);
  out->last_page = last_run;
  out->max_event_ts = last_run->event_ts[end_row - 1];
  out->min_system_ts = l->min_system_ts;
  return true;
}

Status StoreImpl::LiveLocations(SnapshotImpl& s, const std::string& lkey, std::vector<KeyRange>* out,
                                const std::vector<int>* only, Timestamp from, Timestamp to) {
  PITSTORE_ASSIGN_OR_RETURN(auto live, GetLiveBlocks(s));
  const std::string_view key = std::string_view(lkey).substr(4);
  const uint32_t view_id = ViewIdOf(lkey);
  const uint64_t hash = KeyFilterHash(key);
  out->clear();
  size_t unprobed = 0;
  for (const BlockEntry& b : live->segments) {
    if (b.view_id != view_id) continue;
    // A segment whose event times (its index entry, checked by verify) miss [from, to] holds no
    // row asked for: no page of it is read.
    if (b.max_event_ts < from || b.min_event_ts > to) {
      PITSTORE_ASSIGN_OR_RETURN(bool may, SegmentMayHold(s, b.offset, key, hash));
      unprobed += may;
      continue;
    }
    KeyRange range;
    PITSTORE_ASSIGN_OR_RETURN(bool found, FindInSegment(s, b.offset, key, hash, &range, only));
    if (found) out->push_back(range);
  }
  PITSTORE_ASSIGN_OR_RETURN(auto latest, index_->GetLatest(s.txn.get(), lkey));
  uint32_t expected = 0;
  if (latest) {
    auto segments = LatestSegments(lkey, *latest);
    if (!segments.ok()) return Status::Corruption(path_ + "-index: " + segments.status().message());
    expected = *segments;
  }
  return CheckSegmentCount(expected, out->size(), unprobed);
}

Result<bool> StoreImpl::SegmentMayHold(SnapshotImpl& s, uint64_t block, std::string_view key, uint64_t hash) {
  PITSTORE_ASSIGN_OR_RETURN(std::shared_ptr<const SegmentLayout> l, GetSegmentLayout(s, block));
  if (!FooterAdmits(*l, key, hash)) return false;
  if (l->page_first_keys.empty()) return true;  // written before page keys
  // Between two pages (the first whose last key is >= key starts after it): absent. The
  // filter's false positives that land inside a page's key range remain.
  auto page = std::lower_bound(l->page_last_keys.begin(), l->page_last_keys.end(), key,
                               [](const std::string& last, std::string_view k) { return last < k; });
  return page != l->page_last_keys.end() && l->page_first_keys[page - l->page_last_keys.begin()] <= key;
}

Status StoreImpl::CheckSegmentCount(uint32_t expected, size_t found, size_t unprobed) {
  // The key's latest entry counts the live segments holding it: one fewer found (a damaged
  // filter or page keys) would let an older row pass for the answer. (Row batches have no
  // latest entries: TailSpans finds them.) A segment not probed, whose filter and page keys
  // admit the key, may or may not be one of them: there the check is weaker (a segment
  // missed by a probe is hidden when a filter false positive, about 1%, admits the key in a
  // segment not read).
  if (found > expected || expected > found + unprobed)
    return Status::Corruption(path_ + ": a key is in " + std::to_string(found) +
                              " live segments where its latest entry counts " + std::to_string(expected) +
                              (unprobed ? " (" + std::to_string(unprobed) + " more not read may hold it)" : "") +
                              " (the index or a segment is damaged; run pitstore verify, then pitstore repair)");
  return Status::OK();
}

Status StoreImpl::TailSpans(SnapshotImpl& s, const std::string& lkey, Timestamp from, Timestamp to,
                            std::vector<RowSpan>* out) {
  // Row batches not merged yet: each one's key table finds the rows.
  PITSTORE_ASSIGN_OR_RETURN(auto live, GetLiveBlocks(s));
  std::string_view key = std::string_view(lkey).substr(4);
  uint32_t view_id = ViewIdOf(lkey);
  const uint64_t hash = KeyFilterHash(key);
  for (size_t i = 0; i < live->tail.size(); ++i) {
    const BlockEntry& b = live->tail[i];
    if (b.view_id != view_id || b.max_event_ts < from || b.min_event_ts > to) continue;
    std::shared_ptr<const Run> run = live->tail_runs[i];
    if (!run) {
      PITSTORE_ASSIGN_OR_RETURN(run, GetRun(s, b.offset));
    }
    auto [first, last] = run->key_table.Find(run->keys, key, hash);
    if (first != last) out->push_back({run, first, last});
  }
  return Status::OK();
}

Status StoreImpl::KeySpans(SnapshotImpl& s, const std::string& lkey, Timestamp from, Timestamp to, Timestamp known_at,
                           std::vector<RowSpan>* out, const std::vector<int>* only) {
  std::string_view key = std::string_view(lkey).substr(4);
  // Segments: each one's filter and page keys say where the key's rows are (zone maps skip blocks).
  std::vector<KeyRange> locs;
  PITSTORE_RETURN_IF_ERROR(LiveLocations(s, lkey, &locs, only, from, to));
  for (const KeyRange& e : locs) {
    if (e.max_event_ts < from || e.min_event_ts > to || e.min_system_ts > known_at) continue;
    PITSTORE_RETURN_IF_ERROR(ReadRows(s, key, e, from, to, out, only));
  }
  return TailSpans(s, lkey, from, to, out);
}

}  // namespace pitstore
