// The block reader and its cache: row batches, segment footers and pages, by (file generation,
// offset); a key's rows through its locations; the live blocks of a state.
#include "store_impl.h"

namespace pitstore {

Result<std::shared_ptr<const Run>> StoreImpl::GetRun(SnapshotImpl& s, uint64_t offset) {
  if (auto hit = cache_.Get(s.file->generation(), offset)) return hit;
  auto b = s.file->ReadBlock(offset, s.visible_end(), options_.verify_checksums);
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
    MutexLock lock(caches_mu_);
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
  MutexLock lock(caches_mu_);
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
        live->segments.push_back(b.offset);
    return std::shared_ptr<const LiveBlocks>(live);
  }
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
      live->segments.push_back(b.offset);  // ListBlocks is in offset order
  MutexLock lock(caches_mu_);
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
  // The key's latest entry counts the live segments holding it: one location fewer (a lost or
  // damaged LMDB key) would let an older row pass for the answer. (Row batches have no latest
  // entries: they are found below.)
  PITSTORE_ASSIGN_OR_RETURN(auto latest, index_->GetLatest(s.txn.get(), lkey));
  uint32_t expected = 0;
  if (latest) {
    auto segments = LatestSegments(lkey, *latest);
    if (!segments.ok()) return Status::Corruption(path_ + "-index: " + segments.status().message());
    expected = *segments;
  }
  size_t found = 0;
  for (const LocEntry& e : locs) {
    if (!live->IsLiveSegment(e.block)) continue;  // superseded by a merge; awaiting deletion
    ++found;
    if (e.max_event_ts < from || e.min_event_ts > to || e.min_system_ts > known_at) continue;
    PITSTORE_RETURN_IF_ERROR(ReadRows(s, key, e, out));
  }
  auto damaged = [&](const std::string& what) {
    return Status::Corruption(path_ + "-index: " + what + " (the index is damaged; run pitstore repair)");
  };
  if (found != expected)
    return damaged("a key has " + std::to_string(found) + " segment locations where its latest entry counts " +
                   std::to_string(expected));
  // Row batches not merged yet: each is sorted by key, so a binary search finds the rows.
  uint32_t view_id = ViewIdOf(lkey);
  for (const BlockEntry& b : live->tail) {
    if (b.view_id != view_id || b.max_event_ts < from || b.min_event_ts > to) continue;
    PITSTORE_ASSIGN_OR_RETURN(auto run, GetRun(s, b.offset));
    auto [lo, hi] = std::equal_range(run->keys.begin(), run->keys.end(), key,
                                     [](std::string_view a, std::string_view b) { return a < b; });
    if (lo != hi) {
      out->push_back({run, static_cast<size_t>(lo - run->keys.begin()), static_cast<size_t>(hi - run->keys.begin())});
    }
  }
  return Status::OK();
}

}  // namespace pitstore
