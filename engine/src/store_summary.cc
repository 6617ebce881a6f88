// Feature statistics of a view: segment footers merged, the rest (row batches, segments partly
// outside the window or written before footers kept statistics) read page by page.
#include "feature_stats_codec.h"
#include "store_impl.h"

namespace pitstore {

Result<std::vector<FeatureSummary>> StoreImpl::Summarize(const std::string& view, const SummarizeOptions& options,
                                                         const ReadOptions& read) {
  return WithSnapshot(read, [&](SnapshotImpl& s) -> Result<std::vector<FeatureSummary>> {
    PITSTORE_ASSIGN_OR_RETURN(const ViewInfo* v, FindView(*s.registry, view));
    PITSTORE_ASSIGN_OR_RETURN(std::vector<int> proj, Projection(*v, options.features));
    std::vector<FeatureSummary> out(proj.size());
    for (size_t i = 0; i < proj.size(); ++i) {
      out[i].feature = v->def.features[proj[i]].name;
      out[i].type = v->types.types[proj[i]];
      out[i].measure = MeasureOf(out[i].type);
    }
    auto selected = [&](const Run& run, size_t i) {
      return run.event_ts[i] >= options.from && run.event_ts[i] <= options.to && run.system_ts[i] <= options.known_at;
    };
    // Rows of `run` the options select, per projected feature (features the writer did not know
    // read null).
    std::vector<uint8_t> keep;
    auto add_run = [&](const Run& run) {
      keep.assign(run.size(), 0);
      uint64_t kept = 0;
      for (size_t i = 0; i < run.size(); ++i) kept += keep[i] = selected(run, i);
      if (!kept) return;
      for (size_t i = 0; i < proj.size(); ++i) {
        if (static_cast<size_t>(proj[i]) < run.columns.size()) {
          SummarizeRows(run.columns[proj[i]], 0, run.size(), &keep, &out[i]);
        } else {
          out[i].rows += kept;
          out[i].nulls += kept;
        }
      }
    };
    std::vector<BlockEntry> blocks;
    PITSTORE_RETURN_IF_ERROR(SnapshotBlocks(s, &blocks));
    for (const BlockEntry& b : blocks) {
      if (b.view_id != v->id || b.rows == 0) continue;
      if (b.type != BlockType::kSegment) {
        PITSTORE_ASSIGN_OR_RETURN(auto run, GetRun(s, b.offset));
        add_run(*run);
        continue;
      }
      PITSTORE_ASSIGN_OR_RETURN(auto layout, GetSegmentLayout(s, b.offset));
      if (layout->min_event_ts > options.to || layout->max_event_ts < options.from) continue;
      const bool whole = layout->min_event_ts >= options.from && layout->max_event_ts <= options.to &&
                         layout->max_system_ts <= options.known_at;
      if (whole && !layout->stats.empty()) {
        for (size_t i = 0; i < proj.size(); ++i) {
          if (static_cast<size_t>(proj[i]) < layout->stats.size()) {
            out[i].Merge(layout->stats[proj[i]]);
          } else {
            out[i].rows += layout->rows;
            out[i].nulls += layout->rows;
          }
        }
        continue;
      }
      for (size_t p = 0; p < layout->pages(); ++p) {
        PITSTORE_ASSIGN_OR_RETURN(auto page, GetSegmentPage(s, b.offset, *layout, p, false));
        add_run(*page);
      }
    }
    return out;
  });
}

}  // namespace pitstore
