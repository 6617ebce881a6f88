// Merges: row batches and small segments into segments (compaction), and the deletion of the
// locations of superseded segments in bounded transactions.
#include <chrono>
#include <cstring>
#include <set>
#include <string_view>
#include <unordered_map>

#include "store_impl.h"

namespace pitstore {

namespace {

struct MergeRef {
  uint32_t run, row;
};

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
void DropShadowedDuplicates(const std::vector<std::shared_ptr<const Run>>& inputs, std::vector<MergeRef>* order,
                            size_t columns) {
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

}  // namespace

Timestamp StoreImpl::RetentionCutoff(const ViewInfo& v) {
  if (v.def.retention_us <= 0) return kMinTimestamp;
  const int64_t now = NowMicros();
  return now < kMinTimestamp + v.def.retention_us ? kMinTimestamp : now - v.def.retention_us;
}

std::vector<Run> StoreImpl::MergeRuns(const std::vector<std::shared_ptr<const Run>>& inputs,
                                      const std::unordered_set<std::string>* drop_keys, Timestamp keep_from) {
  // A k-way merge of sorted runs (heap of cursors): O(rows log k) comparisons.
  using Ref = MergeRef;
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
  DropShadowedDuplicates(inputs, &order, widest->columns.size());
  if (drop_keys && !drop_keys->empty())
    order.erase(std::remove_if(order.begin(), order.end(),
                               [&](const Ref& r) { return drop_keys->count(inputs[r.run]->keys[r.row]) > 0; }),
                order.end());
  if (keep_from != kMinTimestamp) {
    // Retention: a key's rows older than keep_from are a prefix of its group (rows are in
    // version order); the prefix's last row, the newest of them, stays.
    auto key_of = [&](const Ref& r) -> const std::string& { return inputs[r.run]->keys[r.row]; };
    size_t kept = 0;
    for (size_t start = 0; start < order.size();) {
      size_t end = start + 1;
      while (end < order.size() && key_of(order[end]) == key_of(order[start])) ++end;
      size_t old_end = start;
      while (old_end < end && inputs[order[old_end].run]->event_ts[order[old_end].row] < keep_from) ++old_end;
      for (size_t i = old_end > start ? old_end - 1 : start; i < end; ++i) order[kept++] = order[i];
      start = end;
    }
    order.resize(kept);
  }
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

Status StoreImpl::MergeStream(SnapshotImpl& s, const ViewInfo& v, const std::vector<BlockEntry>& blocks,
                              Timestamp keep_from, const std::function<Status(Run&&)>& emit) {
  // Memory: a page per block (ViewRows), one key's rows, and the segment being filled.
  ViewRows rows;
  PITSTORE_RETURN_IF_ERROR(rows.Open(*this, s, blocks, v.id));
  auto empty_segment = [&] {
    Run r;
    r.view_id = v.id;
    for (size_t c = 0; c < v.types.types.size(); ++c)
      r.columns.push_back(Column::Of(v.types.types[c], v.types.dims[c]));
    return r;
  };
  Run out = empty_segment();
  std::vector<std::shared_ptr<const Run>> group_runs;  // the pages one key's rows are on
  std::vector<MergeRef> group;
  std::string key;
  while (!rows.done()) {
    // Every version of the smallest key, in order.
    group_runs.clear();
    group.clear();
    key = rows.page()->keys[rows.row()];
    while (!rows.done() && rows.page()->keys[rows.row()] == key) {
      uint32_t r = 0;
      while (r < group_runs.size() && group_runs[r] != rows.page()) ++r;
      if (r == group_runs.size()) group_runs.push_back(rows.page());
      group.push_back({r, static_cast<uint32_t>(rows.row())});
      PITSTORE_RETURN_IF_ERROR(rows.Next());
    }
    // What a merge keeps of it: no row a later identical row shadows, and (retention) no
    // version older than keep_from but the newest such.
    DropShadowedDuplicates(group_runs, &group, out.columns.size());
    size_t first = 0;
    if (keep_from != kMinTimestamp) {
      while (first < group.size() && group_runs[group[first].run]->event_ts[group[first].row] < keep_from) ++first;
      if (first > 0) --first;
    }
    for (size_t i = first; i < group.size(); ++i) out.AppendRow(*group_runs[group[i].run], group[i].row);
    if (out.size() >= options_.segment_max_rows) {
      ClearDroppedFeatures(v, &out);
      PITSTORE_RETURN_IF_ERROR(emit(std::move(out)));
      out = empty_segment();
    }
  }
  if (out.size()) {
    ClearDroppedFeatures(v, &out);
    PITSTORE_RETURN_IF_ERROR(emit(std::move(out)));
  }
  return Status::OK();
}

Status StoreImpl::MergeView(const ViewInfo& v, const std::vector<BlockEntry>& inputs,
                            const std::unordered_set<std::string>* drop_keys) {
  if (inputs.empty()) return Status::OK();
  if (inputs.size() == 1 && inputs[0].type == BlockType::kSegment && !drop_keys && RetentionCutoff(v) == kMinTimestamp)
    return Status::OK();
  const auto started = std::chrono::steady_clock::now();
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
  std::vector<Run> merged = MergeRuns(runs, drop_keys, RetentionCutoff(v));
  for (Run& run : merged) ClearDroppedFeatures(v, &run);
  TxnBuilder tb(meta_.applied_offset);
  for (Run& r : merged)
    tb.AddRun(BlockType::kSegment, std::make_shared<Run>(std::move(r)), options_.segment_zstd_level,
              options_.segment_page_rows, env_->MaxThreads());
  CommitRecord c;
  c.commit_seq = meta_.commit_seq + 1;
  c.commit_ts = std::max(NowMicros(), meta_.commit_ts + 1);
  c.flags = kCommitRewrite;
  for (const BlockEntry& b : inputs) c.obsolete.push_back(b.offset);
  ParsedTxn& t = tb.Finish(c);
  for (size_t i = 0; i < inputs.size(); ++i) t.obsolete_runs[inputs[i].offset] = runs[i];
  PITSTORE_RETURN_IF_ERROR(WriteAndPublish(tb, t, true));
  // What it did, for `pitstore info` (informational: a failure here leaves the merge standing).
  MergeCounters done;
  for (const BlockEntry& b : inputs) done.last_rows_in += b.rows, done.last_bytes_in += b.stored_bytes;
  uint64_t rows_out = 0, bytes_out = 0;
  for (const TxnBlock& b : t.blocks) rows_out += b.run->size(), bytes_out += b.end - b.offset;
  done.last_bytes_out = bytes_out;
  done.last_micros = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started).count());
  (void)CountMerge(done, rows_out);
  // The merge stands; stale locations are harmless (readers skip them) and a failure here is
  // retried by the next merge or open.
  return CleanupLocations(&t.obsolete_runs);
}

Status StoreImpl::CountMerge(const MergeCounters& last, uint64_t rows_out) {
  PITSTORE_ASSIGN_OR_RETURN(IndexTxn wt, index_->BeginWrite());
  PITSTORE_ASSIGN_OR_RETURN(MergeCounters c, index_->GetMergeCounters(wt.get()));
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
  PITSTORE_RETURN_IF_ERROR(index_->PutMergeCounters(wt.get(), c));
  return wt.Commit();
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
      std::shared_ptr<const StoreState> v = Current();
      PITSTORE_ASSIGN_OR_RETURN(uint64_t size, v->file->FileSize());
      PITSTORE_ASSIGN_OR_RETURN(RawBlock rb, v->file->ReadBlock(off, size, true));
      const uint32_t view_id = rb.payload.size() >= 4 ? LoadFixed32(rb.payload.data()) : 0;
      if (!v->registry->FindViewById(view_id)) {
        // A dropped view's segment: it cannot be decoded without the view's types, so its
        // locations are found by the view's key prefix instead.
        size_t deleted = 0;
        do {
          PITSTORE_ASSIGN_OR_RETURN(IndexTxn wt, index_->BeginWrite());
          PITSTORE_RETURN_IF_ERROR(index_->DelLocsOfBlock(wt.get(), view_id, off, kDeletesPerTxn, &deleted));
          if (deleted < kDeletesPerTxn) {
            PITSTORE_ASSIGN_OR_RETURN(std::vector<uint64_t> now, index_->GetPendingCleanup(wt.get()));
            now.erase(std::remove(now.begin(), now.end(), off), now.end());
            PITSTORE_RETURN_IF_ERROR(index_->PutPendingCleanup(wt.get(), now));
          }
          PITSTORE_RETURN_IF_ERROR(wt.Commit());
        } while (deleted == kDeletesPerTxn);
        continue;
      }
      PITSTORE_ASSIGN_OR_RETURN(Run r, DecodeDataBlock(rb, *v->registry, true));
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
  // The blocks holding the keys: segments by their locations, row batches by a search of each.
  std::vector<BlockEntry> inputs;
  uint64_t removed = 0;
  {
    PITSTORE_ASSIGN_OR_RETURN(auto snap, NewSnapshot());
    std::vector<BlockEntry> blocks;
    PITSTORE_RETURN_IF_ERROR(index_->ListBlocks(snap->txn.get(), &blocks));
    std::set<uint64_t> segments;
    for (const std::string& enc : drop) {
      std::vector<LocEntry> locs;
      PITSTORE_RETURN_IF_ERROR(index_->ScanLoc(snap->txn.get(), LatestKey(v->id, enc), &locs));
      for (const LocEntry& e : locs) segments.insert(e.block);
    }
    for (const BlockEntry& b : blocks) {
      if (b.view_id != v->id) continue;
      if (b.type == BlockType::kSegment && !segments.count(b.offset)) continue;  // a stale location's block is gone
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

void ClearDroppedFeatures(const ViewInfo& v, Run* run) {
  for (size_t c = 0; c < run->columns.size(); ++c) {
    if (!v.IsDropped(c)) continue;
    Column empty = Column::Of(run->columns[c].type, run->columns[c].dim);
    empty.Reserve(run->size());
    for (size_t i = 0; i < run->size(); ++i) empty.AppendNull();
    run->columns[c] = std::move(empty);
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
    PITSTORE_RETURN_IF_ERROR(CleanupLocations(nullptr));
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
      if (b.view_id == v.id && (options.full || b.type == BlockType::kRows || b.rows < options_.segment_max_rows / 2))
        inputs.push_back(b);
    PITSTORE_RETURN_IF_ERROR(MergeView(v, inputs));
  }
  PITSTORE_ASSIGN_OR_RETURN(IndexTxn wt, index_->BeginWrite());
  PITSTORE_RETURN_IF_ERROR(index_->RepackLatest(wt.get()));
  return wt.Commit();
}

}  // namespace pitstore
