// Statistics and verification: every block, checksum and index entry checked against the data
// file.
#include <cmath>

#include "feature_stats_codec.h"
#include "store_impl.h"

namespace pitstore {

Result<StoreStats> StoreImpl::Stats() {
  return WithSnapshot(ReadOptions{}, [&](SnapshotImpl& s) -> Result<StoreStats> {
    StoreStats st;
    PITSTORE_ASSIGN_OR_RETURN(st.file_bytes, s.file->FileSize());
    st.commit_seq = s.meta.commit_seq;
    PITSTORE_ASSIGN_OR_RETURN(MergeCounters m, index_->GetMergeCounters(s.txn.get()));
    st.merges = {m.merges,  m.rows_in,      m.rows_out,      m.bytes_in,       m.bytes_out,  m.micros,
                 m.last_at, m.last_rows_in, m.last_bytes_in, m.last_bytes_out, m.last_micros};
    std::vector<BlockEntry> blocks;
    PITSTORE_RETURN_IF_ERROR(SnapshotBlocks(s, &blocks));
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
      // The newest system time: from a segment's footer, or a row batch's rows (the tail).
      if (b.type == BlockType::kSegment) {
        PITSTORE_ASSIGN_OR_RETURN(auto layout, GetSegmentLayout(s, b.offset));
        v.max_system_ts = std::max(v.max_system_ts, layout->max_system_ts);
      } else {
        PITSTORE_ASSIGN_OR_RETURN(auto run, GetRun(s, b.offset));
        for (int64_t t : run->system_ts) v.max_system_ts = std::max(v.max_system_ts, t);
      }
    }
    PITSTORE_RETURN_IF_ERROR(index_->ForEachLatest(s.txn.get(), [&](std::string_view k, std::string_view) {
      if (k.size() >= 4) by_id[ViewIdOf(k)].entities++;
      return Status::OK();
    }));
    // Keys only in row batches not merged yet (the tail index) or in unpublished commits.
    std::set<std::string> tail_only;
    auto count_tail = [&](const std::string& lkey) -> Status {
      PITSTORE_ASSIGN_OR_RETURN(auto published, index_->GetLatest(s.txn.get(), lkey));
      if (!published && tail_only.insert(lkey).second) by_id[ViewIdOf(lkey)].entities++;
      return Status::OK();
    };
    if (s.tail) {
      Status st;
      s.tail->ForEachKey(s.meta.commit_seq, [&](uint32_t view_id, std::string_view key) {
        if (st.ok()) st = count_tail(LatestKey(view_id, key));
      });
      PITSTORE_RETURN_IF_ERROR(st);
    }
    if (s.pending)
      for (const auto& [lkey, row] : s.pending->latest) PITSTORE_RETURN_IF_ERROR(count_tail(lkey));
    for (auto& [id, v] : by_id) st.views.push_back(v);
    return st;
  });
}

Result<VerifyReport> StoreImpl::Verify() {
  VerifyReport report;
  // The index first, then the file, which then reaches at least as far (a writer beside us
  // only appends). Without the pending tail: the index is checked against what it published.
  PITSTORE_ASSIGN_OR_RETURN(SnapshotParts parts, BeginSnapshot(false, false));  // nor the tail index
  SnapshotImpl s(std::move(parts), nullptr);
  const uint64_t indexed = s.meta.applied_offset;
  // 1. Every block of the data file: framing, checksum, decoding, order.
  std::map<uint64_t, std::shared_ptr<const Run>> live;  // data blocks not superseded
  std::map<uint64_t, BlockType> live_type;
  uint64_t good_end = 0;
  std::string tail;
  Status scan = ScanTxns(
      *s.file, 0, std::make_shared<Registry>(),
      [&](ParsedTxn& t) -> Status {
        report.blocks_checked += t.blocks.size() + 1 + (t.registry ? 1 : 0);
        for (const TxnBlock& b : t.blocks) report.rows_checked += b.run->size();
        if (t.end > indexed) {  // durable, not yet published: a normal state, not damage
          report.pending_transactions++;
          report.pending_bytes += t.end - t.start;
          return Status::OK();
        }
        for (const TxnBlock& b : t.blocks) {
          live[b.offset] = b.run;
          live_type[b.offset] = b.type;
        }
        for (uint64_t o : t.commit.obsolete) live.erase(o);
        return Status::OK();
      },
      &good_end, &tail);
  if (!scan.ok()) report.problems.push_back(scan.message());
  // An incomplete last transaction is what a crash mid-write leaves (damage followed by
  // intact commits is an error from ScanTxns): the next read-write open cuts it away.
  if (!tail.empty()) report.torn_tail = tail;
  // 2. The index against the data.
  auto check_index = [&]() -> Result<bool> {
    if (s.meta.applied_offset > good_end)
      report.problems.push_back("index is ahead of the intact data (" + std::to_string(s.meta.applied_offset) + " > " +
                                std::to_string(good_end) + ")");
    std::vector<BlockEntry> blocks;
    PITSTORE_RETURN_IF_ERROR(SnapshotBlocks(s, &blocks));
    for (const BlockEntry& b : blocks) {
      report.index_entries_checked++;
      auto it = live.find(b.offset);
      const Run* run = it == live.end() ? nullptr : it->second.get();
      bool same = run && live_type[b.offset] == b.type && run->view_id == b.view_id && run->size() == b.rows;
      if (same && run->size())
        same = *std::min_element(run->event_ts.begin(), run->event_ts.end()) == b.min_event_ts &&
               *std::max_element(run->event_ts.begin(), run->event_ts.end()) == b.max_event_ts;
      if (!same) {
        report.problems.push_back("index entry of block " + std::to_string(b.offset) +
                                  " does not match a live block of the data file");
        continue;
      }
      // A segment's feature statistics describe its rows.
      if (b.type == BlockType::kSegment) {
        PITSTORE_ASSIGN_OR_RETURN(auto layout, GetSegmentLayout(s, b.offset));
        for (size_t f = 0; f < layout->stats.size() && f < run->columns.size(); ++f) {
          FeatureSummary want;
          SummarizeRows(run->columns[f], 0, run->size(), nullptr, &want);
          const FeatureSummary& got = layout->stats[f];
          auto same_double = [](double x, double y) { return (std::isnan(x) && std::isnan(y)) || x == y; };
          if (got.rows != want.rows || got.nulls != want.nulls || got.non_finite != want.non_finite ||
              !same_double(got.min, want.min) || !same_double(got.max, want.max) ||
              got.sketch.Encode() != want.sketch.Encode())
            report.problems.push_back("segment " + std::to_string(b.offset) + ": statistics of feature " +
                                      std::to_string(f) + " do not match its rows");
        }
      }
    }
    if (auto merges = index_->GetMergeCounters(s.txn.get()); !merges.ok())
      report.problems.push_back(merges.status().message());
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
    // Each key group of a live segment: one location, and a candidate for the key's latest.
    std::map<std::string, std::pair<const Run*, size_t>> segment_latest;  // key -> its greatest segment row
    size_t loc_expected = 0;
    for (const auto& [offset, run] : live) {
      if (live_type[offset] != BlockType::kSegment) continue;
      for (size_t r = 0; r < run->size();) {
        const size_t last = run->KeyEnd(r) - 1;  // the group's greatest version
        ++loc_expected;
        auto [it, fresh] = segment_latest.try_emplace(LatestKey(run->view_id, run->keys[last]), run.get(), last);
        if (!fresh && it->second.first->version(it->second.second) < run->version(last)) it->second = {run.get(), last};
        r = last + 1;
      }
    }
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
      // `latest` holds the greatest version among segments (row batches are the tail index's).
      auto it = segment_latest.find(std::string(lkey));
      const Run* best = it == segment_latest.end() ? nullptr : it->second.first;
      size_t best_row = best ? it->second.second : 0;
      bool same = best && !(best->version(best_row) < version) && !(version < best->version(best_row));
      for (size_t i = 0; same && i < values.size(); ++i) {  // values of the features not dropped
        const size_t c = static_cast<size_t>(v->all_features[i]);
        same = (c < best->columns.size() ? best->columns[c].Get(best_row) : Value::Null()) == values[i];
      }
      if (!same) report.problems.push_back("view '" + v->def.name + "': latest value differs from the data file");
      return Status::OK();
    }));
    // Entries missing from the index (a damaged LMDB page can lose some) would hide rows.
    if (blocks.size() != live.size())
      report.problems.push_back("index lists " + std::to_string(blocks.size()) + " blocks for " +
                                std::to_string(live.size()) + " live blocks in the data file");
    if (loc_count != loc_expected)
      report.problems.push_back("index has " + std::to_string(loc_count) + " locations for " +
                                std::to_string(loc_expected) + " keys in segments");
    if (latest_count != segment_latest.size())
      report.problems.push_back("index has " + std::to_string(latest_count) + " latest entries for " +
                                std::to_string(segment_latest.size()) + " keys in segments");
    return true;
  };
  auto checked = check_index();
  if (!checked.ok()) report.problems.push_back(checked.status().ToString());
  return report;
}

}  // namespace pitstore
