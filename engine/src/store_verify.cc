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
    st.required_features = s.file->required_features();
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
  // 1. Every block of the data file: framing, checksum, decoding, order. Each block is decoded,
  // summarized and let go (memory holds one block, whatever the file's size); a segment's
  // feature statistics are checked against its rows while they are at hand.
  struct Summary {
    BlockType type = BlockType::kRows;
    uint32_t view_id = 0;
    uint64_t rows = 0;
    int64_t min_event_ts = 0, max_event_ts = 0;
    bool stats_match = true;
  };
  std::map<uint64_t, Summary> live, in_txn;  // data blocks not superseded; the current transaction's
  uint64_t good_end = 0;
  std::string tail;
  auto on_block = [&](const TxnBlock& b) -> Status {
    Summary sum;
    sum.type = b.type;
    sum.min_event_ts = INT64_MAX;
    sum.max_event_ts = INT64_MIN;
    std::vector<FeatureSummary> want;  // a segment's statistics, from its rows
    auto add = [&](const Run& rows) {
      sum.view_id = rows.view_id;
      sum.rows += rows.size();
      for (size_t i = 0; i < rows.size(); ++i) {
        sum.min_event_ts = std::min(sum.min_event_ts, rows.event_ts[i]);
        sum.max_event_ts = std::max(sum.max_event_ts, rows.event_ts[i]);
      }
      if (b.type != BlockType::kSegment) return;
      want.resize(rows.columns.size());
      for (size_t f = 0; f < rows.columns.size(); ++f)
        SummarizeRows(rows.columns[f], 0, rows.size(), nullptr, &want[f]);
    };
    if (b.run) {
      add(*b.run);
    } else {  // a segment, a page at a time (ScanTxns checked its framing and checksum)
      Status st = ForEachSegmentPage(b.raw->payload, b.offset + kBlockHeaderSize, *b.types, true,
                                     [&](const SegmentLayout&, const Run& page) {
                                       add(page);
                                       return Status::OK();
                                     });
      if (!st.ok())
        return st.WithMessage(path_ + ": segment at offset " + std::to_string(b.offset) + ": " + st.message());
    }
    report.rows_checked += sum.rows;
    if (sum.rows == 0) sum.min_event_ts = sum.max_event_ts = 0;
    if (b.type == BlockType::kSegment && b.end <= indexed) {  // pending blocks are not the index's yet
      auto layout = GetSegmentLayout(s, b.offset);
      if (!layout.ok()) return layout.status();
      const std::vector<FeatureSummary>& stored = (*layout)->stats;
      auto same_double = [](double x, double y) { return (std::isnan(x) && std::isnan(y)) || x == y; };
      for (size_t f = 0; f < stored.size() && f < want.size() && sum.stats_match; ++f) {
        const FeatureSummary& got = stored[f];
        sum.stats_match = got.rows == want[f].rows && got.nulls == want[f].nulls &&
                          got.non_finite == want[f].non_finite && same_double(got.min, want[f].min) &&
                          same_double(got.max, want[f].max) && got.sketch.Encode() == want[f].sketch.Encode();
      }
    }
    in_txn[b.offset] = sum;
    return Status::OK();
  };
  Status scan = ScanTxns(
      *s.file, 0, std::make_shared<Registry>(),
      [&](ParsedTxn& t) -> Status {
        report.blocks_checked += t.blocks.size() + 1 + (t.registry ? 1 : 0);
        if (t.end > indexed) {  // durable, not yet published: a normal state, not damage
          report.pending_transactions++;
          report.pending_bytes += t.end - t.start;
        } else {
          for (const TxnBlock& b : t.blocks) live[b.offset] = in_txn[b.offset];
          for (uint64_t o : t.commit.obsolete) live.erase(o);
        }
        in_txn.clear();
        return Status::OK();
      },
      &good_end, &tail, on_block);
  if (!scan.ok()) report.problems.push_back(scan.message());
  // An incomplete last transaction is what a crash mid-write leaves (damage followed by
  // intact commits is an error from ScanTxns): the next read-write open cuts it away.
  if (!tail.empty()) report.torn_tail = tail;
  // 2. The index against the data, reading segments page by page in key order (the order of
  // `latest`), so memory holds a page per segment.
  auto check_index = [&]() -> Result<bool> {
    if (s.meta.applied_offset > good_end)
      report.problems.push_back("index is ahead of the intact data (" + std::to_string(s.meta.applied_offset) + " > " +
                                std::to_string(good_end) + ")");
    std::vector<BlockEntry> blocks;
    PITSTORE_RETURN_IF_ERROR(SnapshotBlocks(s, &blocks));
    for (const BlockEntry& b : blocks) {
      report.index_entries_checked++;
      auto it = live.find(b.offset);
      const Summary* sum = it == live.end() ? nullptr : &it->second;
      bool same = sum && sum->type == b.type && sum->view_id == b.view_id && sum->rows == b.rows;
      if (same && sum->rows) same = sum->min_event_ts == b.min_event_ts && sum->max_event_ts == b.max_event_ts;
      if (!same) {
        report.problems.push_back("index entry of block " + std::to_string(b.offset) +
                                  " does not match a live block of the data file");
        continue;
      }
      // A segment's feature statistics describe its rows.
      if (!sum->stats_match)
        report.problems.push_back("segment " + std::to_string(b.offset) + ": statistics do not match its rows");
    }
    if (auto merges = index_->GetMergeCounters(s.txn.get()); !merges.ok())
      report.problems.push_back(merges.status().message());
    // Each key's greatest version among segments and how many segments hold it, as `latest`
    // must hold them: the live segments of each view merged in key order (ViewRows), so memory
    // holds a page per segment. Each segment's page keys and filter were checked against its
    // rows with the blocks above.
    size_t keys_in_segments = 0;
    std::map<uint32_t, std::vector<BlockEntry>> segments_of_view;
    for (const BlockEntry& b : blocks)
      if (b.type == BlockType::kSegment) segments_of_view[b.view_id].push_back(b);
    for (const auto& [view_id, segments] : segments_of_view) {
      const ViewInfo* v = s.registry->FindViewById(view_id);
      if (!v) {  // DropView supersedes a view's blocks before it drops the definition
        report.problems.push_back(std::to_string(segments.size()) + " live segment(s) of view id " +
                                  std::to_string(view_id) + ", which no definition names");
        continue;
      }
      ViewRows rows;
      PITSTORE_RETURN_IF_ERROR(rows.Open(*this, s, segments, view_id));
      std::string lkey;
      std::vector<uint64_t> holding;  // the segments of the current key
      std::shared_ptr<const Run> best_page;
      size_t best_row = 0;
      auto finish_key = [&]() -> Status {
        keys_in_segments++;
        PITSTORE_ASSIGN_OR_RETURN(auto stored, index_->GetLatest(s.txn.get(), lkey));
        bool same = stored.has_value();
        if (same) {
          Version version;
          std::vector<Value> values;
          Status st = DecodeLatestValues(lkey, *stored, v->types, true, v->all_features, &version, &values);
          auto segments_counted = LatestSegments(lkey, *stored);
          same = st.ok() && segments_counted.ok() && *segments_counted == holding.size() &&
                 !(version < best_page->version(best_row)) && !(best_page->version(best_row) < version);
          for (size_t f = 0; same && f < v->all_features.size(); ++f) {
            const int c = v->all_features[f];
            same =
                values[f] == (static_cast<size_t>(c) < best_page->columns.size() ? best_page->columns[c].Get(best_row)
                                                                                 : Value::Null());
          }
        }
        if (!same) report.problems.push_back("view '" + v->def.name + "': latest value differs from the data file");
        return Status::OK();
      };
      while (!rows.done()) {
        const std::string& key = rows.page()->keys[rows.row()];
        if (lkey.size() < 4 || std::string_view(lkey).substr(4) != key) {
          if (best_page) PITSTORE_RETURN_IF_ERROR(finish_key());
          lkey = LatestKey(view_id, key);
          holding.clear();
        }
        if (std::find(holding.begin(), holding.end(), rows.block()) == holding.end()) holding.push_back(rows.block());
        // Rows come in version order: the key's last row is its greatest version.
        best_page = rows.page();
        best_row = rows.row();
        PITSTORE_RETURN_IF_ERROR(rows.Next());
      }
      if (best_page) PITSTORE_RETURN_IF_ERROR(finish_key());
    }
    // Every latest entry decodes, names a view, and belongs to a key some segment holds.
    size_t latest_count = 0;
    PITSTORE_RETURN_IF_ERROR(index_->ForEachLatest(s.txn.get(), [&](std::string_view lkey, std::string_view value) {
      report.index_entries_checked++;
      latest_count++;
      if (lkey.size() < 4) {
        report.problems.push_back("latest key too short");
        return Status::OK();
      }
      const ViewInfo* v = s.registry->FindViewById(ViewIdOf(lkey));
      if (!v) {
        report.problems.push_back("latest entry of unknown view id " + std::to_string(ViewIdOf(lkey)));
        return Status::OK();
      }
      Version version;
      std::vector<Value> values;
      Status st = DecodeLatestValues(lkey, value, v->types, true, v->all_features, &version, &values);
      if (!st.ok()) report.problems.push_back("view '" + v->def.name + "': " + st.message());
      return Status::OK();
    }));
    // Entries missing from the index (a damaged LMDB page can lose some) would hide rows.
    if (blocks.size() != live.size())
      report.problems.push_back("index lists " + std::to_string(blocks.size()) + " blocks for " +
                                std::to_string(live.size()) + " live blocks in the data file");
    if (latest_count != keys_in_segments)
      report.problems.push_back("index has " + std::to_string(latest_count) + " latest entries for " +
                                std::to_string(keys_in_segments) + " keys in segments");
    return true;
  };
  auto checked = check_index();
  if (!checked.ok()) report.problems.push_back(checked.status().ToString());
  return report;
}

}  // namespace pitstore
