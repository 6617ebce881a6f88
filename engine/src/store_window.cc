// Windowed aggregations (pitstore/aggregation.h): the online read and the join, both evaluated
// by WindowEvaluator over a key's versions, so they agree by construction.
#include <algorithm>
#include <numeric>
#include <thread>

#include "column_slots.h"
#include "store_impl.h"

namespace pitstore {

Status StoreImpl::KeyVersionsIn(SnapshotImpl& s, const ViewInfo& v, const std::string& lkey, Timestamp from,
                                Timestamp to, Timestamp known_at, const std::vector<int>& stored, KeyVersions* out) {
  std::vector<RowSpan> spans;
  PITSTORE_RETURN_IF_ERROR(KeySpans(s, lkey, from, to, known_at, &spans, &stored));  // the columns read alone
  std::vector<RunRow> rows;
  for (const RowSpan& span : spans)
    for (size_t i = span.begin; i < span.end; ++i) rows.push_back({span.run.get(), i});
  out->Fill(v, stored, &rows, from, to, known_at);
  return Status::OK();
}

Status StoreImpl::AggregateAtIn(SnapshotImpl& s, const ViewInfo& v, const EntityKey& key, Timestamp t,
                                Timestamp known_at, const std::vector<WindowAggregate>& aggregates, Lookup* out) {
  std::vector<BoundAggregate> bound;
  std::vector<int> stored;
  PITSTORE_RETURN_IF_ERROR(BindAggregates(v, aggregates, &bound, &stored));
  PITSTORE_ASSIGN_OR_RETURN(std::string enc, KeyFor(v, key, ""));
  WindowEvaluator evaluator(bound);
  KeyVersions versions;
  PITSTORE_RETURN_IF_ERROR(KeyVersionsIn(s, v, LatestKey(v.id, enc), WindowStart(t, evaluator.widest_window()), t,
                                         known_at, stored, &versions));
  std::vector<Column> values;
  for (const BoundAggregate& b : bound) values.push_back(NullColumn(b.output_type, b.dim, 1));
  WindowEvents events;
  Status st = evaluator.Evaluate(versions, t, known_at, &values, 0, &events);
  if (!st.ok()) return Status::InvalidArgument("key " + EntityKeyToString(key) + ": " + st.message());
  out->found = events.found;
  out->event_ts = events.event_ts;
  out->system_ts = events.system_ts;
  out->values.clear();
  out->status.clear();
  for (const Column& c : values) {
    out->values.push_back(c.Get(0));
    out->status.push_back(c.is_null(0) ? ValueStatus::kNull : ValueStatus::kPresent);
  }
  return Status::OK();
}

Result<Lookup> StoreImpl::AggregateAt(const std::string& view, const EntityKey& key, Timestamp t, Timestamp known_at,
                                      const std::vector<WindowAggregate>& aggregates, const ReadOptions& options) {
  return WithSnapshot(options, [&](SnapshotImpl& s) -> Result<Lookup> {
    PITSTORE_ASSIGN_OR_RETURN(const ViewInfo* v, FindView(*s.registry, view));
    Lookup out;
    PITSTORE_RETURN_IF_ERROR(AggregateAtIn(s, *v, key, t, known_at, aggregates, &out));
    return out;
  });
}

Result<bool> StoreImpl::AggregationOf(const Registry& reg, const std::string& name,
                                      const std::vector<std::string>& features, const ViewInfo** source,
                                      std::vector<WindowAggregate>* aggregates) {
  const AggregationViewDef* a = reg.FindAggregationView(name);
  if (!a) return false;
  PITSTORE_ASSIGN_OR_RETURN(*source, FindView(reg, a->source));
  aggregates->clear();
  auto named = [](WindowAggregate w) {
    if (w.name.empty()) w.name = DefaultAggregateName(w);
    return w;
  };
  if (features.empty()) {
    for (const WindowAggregate& w : a->aggregates) aggregates->push_back(named(w));
    return true;
  }
  for (const std::string& f : features) {
    auto it = std::find_if(a->aggregates.begin(), a->aggregates.end(),
                           [&](const WindowAggregate& w) { return named(w).name == f; });
    if (it == a->aggregates.end())
      return Status::NotFound("aggregation view '" + name + "' has no feature '" + f + "'");
    aggregates->push_back(named(*it));
  }
  return true;
}

FeatureViewDef StoreImpl::AggregationViewAsView(const AggregationViewDef& a, const ViewInfo& source) {
  FeatureViewDef def;
  def.name = a.name;
  def.entities = source.def.entities;
  def.description = a.description;
  def.tags = a.tags;
  def.owner = a.owner;
  def.event_ts_column = source.def.event_ts_column;  // labels' time column by default, as the source's
  std::vector<BoundAggregate> bound;
  std::vector<int> stored;
  if (BindAggregates(source, a.aggregates, &bound, &stored).ok())  // checked when applied
    for (const BoundAggregate& b : bound) def.features.push_back({b.label, b.output_type, b.dim, ""});
  return def;
}

Result<JoinResult> StoreImpl::AggregateJoin(const std::string& view, const JoinLabels& labels,
                                            const std::vector<WindowAggregate>& aggregates, const JoinOptions& join,
                                            const ReadOptions& options) {
  return WithSnapshot(options, [&](SnapshotImpl& s) -> Result<JoinResult> {
    PITSTORE_ASSIGN_OR_RETURN(const ViewInfo* v, FindView(*s.registry, view));
    return AggregateJoinIn(s, *v, labels, aggregates, join);
  });
}

Result<JoinResult> StoreImpl::AggregateJoinIn(SnapshotImpl& s, const ViewInfo& view, const JoinLabels& labels,
                                              const std::vector<WindowAggregate>& aggregates, const JoinOptions& join) {
  {
    const ViewInfo* v = &view;
    std::vector<BoundAggregate> bound;
    std::vector<int> stored;
    PITSTORE_RETURN_IF_ERROR(BindAggregates(*v, aggregates, &bound, &stored));
    PITSTORE_RETURN_IF_ERROR(CheckLabels(*v, labels));
    const size_t n = labels.times.size();
    // Labels in (key, t, input order) order (as the point-in-time join sorts them): each key's
    // labels are evaluated over its versions. Up to two threads (the one bound: Env::MaxThreads).
    const int threads = std::clamp(join.threads, 1, std::min(2, static_cast<int>(env_->MaxThreads())));
    JoinOptions sort_options = join;
    sort_options.threads = threads;
    SortedLabels sorted = SortLabels(labels, sort_options);
    std::vector<std::vector<int64_t>>().swap(sorted.done_with);  // not used here: freed now
    auto order_of = [&](size_t j) { return sorted.indexes[j]; };
    const bool exact = sorted.exact;
    // The encoded keys, which rows are compared with: SortLabels keeps them when inexact, else
    // each key group's is encoded when reached.
    std::vector<std::string> keys = std::move(sorted.encoded);
    auto key_at = [&](size_t j) {
      if (!exact) return keys[order_of(j)];
      std::string key;  // the prefix is the int64 key with its sign bit flipped (SortLabels)
      EncodeKeyPart(KeyPart(static_cast<int64_t>(sorted.prefix(j) ^ (uint64_t{1} << 63))), &key);
      return key;
    };
    // Results by sorted position (each thread writes its own positions, in order), put in label
    // order at the end a column at a time: random writes per label cost more than the rest.
    JoinResult by_position;
    for (const BoundAggregate& b : bound) by_position.columns.push_back(NullColumn(b.output_type, b.dim, n));
    by_position.status.assign(n, static_cast<uint8_t>(ValueStatus::kNotFound));
    by_position.event_ts.assign(n, 0);
    by_position.system_ts.assign(n, 0);
    JoinPlan plan = JoinPlan::kScan;
    auto finish = [&]() -> Result<JoinResult> {
      JoinResult result;
      result.plan = plan;
      std::vector<std::string>().swap(keys);
      PutInLabelOrder(by_position, &sorted, threads, &result);  // `sorted`'s arrays are empty after
      return result;
    };

    WindowEvaluator evaluator(bound);
    KeyVersions versions;
    versions.Reset(*v, stored);
    // The labels at sorted positions [from, to), one key's, over `versions`.
    // Each label's slots are written by one thread only.
    auto evaluate = [&](WindowEvaluator& evaluator, const KeyVersions& versions, size_t from, size_t to) -> Status {
      for (size_t j = from; j < to; ++j) {
        const Timestamp t = sorted.times[j];
        WindowEvents events;
        Status st = evaluator.Evaluate(versions, t, KnownAtOf(join, t), &by_position.columns, j, &events);
        if (!st.ok()) return Status::InvalidArgument("label " + std::to_string(order_of(j)) + ": " + st.message());
        if (events.found) {
          by_position.status[j] = static_cast<uint8_t>(ValueStatus::kPresent);
          by_position.event_ts[j] = events.event_ts;
          by_position.system_ts[j] = events.system_ts;
        }
      }
      return Status::OK();
    };
    auto group_end = [&](size_t j) {
      size_t g = j;
      while (g < n && sorted.prefix_bits[g] == sorted.prefix_bits[j] &&
             (exact || keys[order_of(g)] == keys[order_of(j)]))
        ++g;
      return g;
    };
    // The event times a key's labels [from, to) can see.
    auto first_event = [&](size_t from) { return WindowStart(sorted.times[from], evaluator.widest_window()); };
    auto last_event = [&](size_t to) { return sorted.times[to - 1]; };
    Timestamp widest_known = kMinTimestamp;
    for (size_t i = 0; i < n; ++i) widest_known = std::max(widest_known, KnownAtOf(join, labels.times[i]));

    std::vector<BlockEntry> all, blocks;
    PITSTORE_RETURN_IF_ERROR(SnapshotBlocks(s, &all));
    uint64_t view_rows = 0;
    for (const BlockEntry& b : all)
      if (b.view_id == v->id && b.rows > 0) {
        blocks.push_back(b);
        view_rows += b.rows;
      }
    size_t distinct_keys = 0;
    for (size_t j = 0; j < n; j = group_end(j)) ++distinct_keys;
    // Seeks read about a page per segment per key; a scan, every row. Pages: the largest of
    // the view's segments (a copy may use smaller ones than these options).
    uint64_t page_rows = 0;
    for (const BlockEntry& b : blocks)
      if (b.type == BlockType::kSegment) {
        PITSTORE_ASSIGN_OR_RETURN(auto layout, GetSegmentLayout(s, b.offset));
        page_rows = std::max<uint64_t>(page_rows, layout->page_rows);
      }
    if (page_rows == 0) page_rows = std::max<uint64_t>(1, options_.segment_page_rows);
    const bool seek =
        join.plan == JoinPlan::kSeek || (join.plan == JoinPlan::kAuto && 2 * distinct_keys * page_rows < view_rows);
    plan = seek ? JoinPlan::kSeek : JoinPlan::kScan;
    if (seek) {
      for (size_t j = 0; j < n;) {
        const size_t g = group_end(j);
        PITSTORE_RETURN_IF_ERROR(KeyVersionsIn(s, *v, LatestKey(v->id, key_at(j)), first_event(j), last_event(g),
                                               widest_known, stored, &versions));
        PITSTORE_RETURN_IF_ERROR(evaluate(evaluator, versions, j, g));
        j = g;
      }
      return finish();
    }
    // The labels [begin, end) (whole key groups) in one pass over the view's rows from the
    // first one's key on: each key's rows from every block, ordered as versions, then its labels.
    auto scan = [&](size_t begin, size_t end) -> Status {
      WindowEvaluator part_evaluator(bound);
      KeyVersions part_versions;
      KeyRows rows;
      PITSTORE_RETURN_IF_ERROR(rows.Open(*this, s, blocks, v->id, begin > 0 ? key_at(begin) : std::string(), stored));
      std::vector<RunRow> key_rows;
      for (size_t j = begin; j < end;) {
        const size_t g = group_end(j);
        PITSTORE_RETURN_IF_ERROR(rows.Rows(key_at(j), &key_rows));
        part_versions.Fill(*v, stored, &key_rows, first_event(j), last_event(g), widest_known);
        PITSTORE_RETURN_IF_ERROR(evaluate(part_evaluator, part_versions, j, g));
        j = g;
      }
      return Status::OK();
    };
    // Two threads (JoinOptions::threads) split the labels at a key group near the middle; the
    // second starts its pass at that key (a binary search over each segment's pages).
    const bool two = threads > 1 && n > 1;
    size_t mid = two ? group_end(n / 2) : n;
    if (mid >= n && two) mid = group_end(0);  // the middle is in the last group
    if (mid >= n) {
      PITSTORE_RETURN_IF_ERROR(scan(0, n));
      return finish();
    }
    Status second;
    std::thread upper([&] { second = scan(mid, n); });
    Status first = scan(0, mid);
    upper.join();
    PITSTORE_RETURN_IF_ERROR(first);
    PITSTORE_RETURN_IF_ERROR(second);
    return finish();
  }
}

}  // namespace pitstore
