// Point reads: latest (one LMDB read), as-of and history (the key's rows in every live block).
#include "store_impl.h"

namespace pitstore {

Result<const ViewInfo*> StoreImpl::FindView(const Registry& reg, const std::string& name) {
  const ViewInfo* v = reg.FindView(name);
  if (v) return v;
  if (const AggregationViewDef* a = reg.FindAggregationView(name))
    return Status::InvalidArgument("'" + name + "' is an aggregation view: its values are computed from view '" +
                                   a->source + "' when read (latest, as-of, joins); it stores no rows of its own");
  return Status::NotFound("no feature view '" + name + "'");
}

Result<std::vector<int>> StoreImpl::Projection(const ViewInfo& v, const std::vector<std::string>& features) {
  if (features.empty()) return v.all_features;  // dropped features left out
  std::vector<int> proj;
  for (const std::string& f : features) {
    const int i = v.FeatureIndex(f);
    if (i < 0) return Status::NotFound("view '" + v.def.name + "' has no feature '" + f + "'");
    proj.push_back(i);
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

Status StoreImpl::LatestKeyInto(const ViewInfo& v, const EntityKey& key, std::string* lkey) {
  if (key.size() != v.key_columns.size())
    return Status::InvalidArgument("expected a key of " + std::to_string(v.key_columns.size()) + " part(s), got " +
                                   std::to_string(key.size()));
  lkey->clear();
  for (int shift = 24; shift >= 0; shift -= 8) lkey->push_back(static_cast<char>(v.id >> shift));
  for (size_t i = 0; i < key.size(); ++i) {
    bool is_int = std::holds_alternative<int64_t>(key[i]);
    if (is_int != (v.key_columns[i].type == KeyType::kInt64))
      return Status::InvalidArgument("join key '" + v.key_columns[i].name + "' must be " +
                                     (is_int ? "a string" : "an int64"));
    EncodeKeyPart(key[i], lkey);
  }
  if (lkey->size() - 4 > kMaxEncodedKeyBytes)
    return Status::InvalidArgument("entity key longer than " + std::to_string(kMaxEncodedKeyBytes) + " encoded bytes");
  return Status::OK();
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

// Asks for the cache lines of a `latest` value found in the index: the B-tree search read its
// key, rarely the value's lines after it, which the check and the decoding read next.
static void PrefetchLatest(const std::optional<std::string_view>& raw) {
  if (!raw || raw->empty()) return;
  for (size_t at = 0; at < raw->size(); at += 64) __builtin_prefetch(raw->data() + at);
  __builtin_prefetch(raw->data() + raw->size() - 1);
}

// Asks for the lines of a reused lookup's values, which the decoding overwrites: a batch's
// lookups (10 values of about 100 bytes each) are too many to stay in the cache between batches.
static void PrefetchForWriting(const Lookup& out) {
  const char* first = reinterpret_cast<const char*>(out.values.data());
  const char* end = reinterpret_cast<const char*>(out.values.data() + out.values.size());
  for (const char* at = first; at < end; at += 64) __builtin_prefetch(at, 1);
  if (!out.status.empty()) __builtin_prefetch(out.status.data(), 1);
}

Status StoreImpl::LatestIn(SnapshotImpl& s, const ViewInfo& v, const std::string& lkey, const std::vector<int>& proj,
                           Timestamp now, Lookup* out) {
  PITSTORE_ASSIGN_OR_RETURN(auto raw, index_->GetLatest(s.txn.get(), lkey));
  PrefetchLatest(raw);
  return LatestFrom(s, v, lkey, raw, proj, now, out);
}

Status StoreImpl::LatestFrom(SnapshotImpl& s, const ViewInfo& v, const std::string& lkey,
                             const std::optional<std::string_view>& raw, const std::vector<int>& proj, Timestamp now,
                             Lookup* out) {
  // The greatest of: the segments' latest (the index), the unmerged row batches' (the tail
  // index) and, on a read-only store after a writer's crash, the unpublished commits'.
  const Run* run = nullptr;
  size_t row = 0;
  if (s.tail) {
    if (!s.tail->damage().ok()) return s.tail->damage();
    if (const TailIndex::Node* n = s.tail->Find(lkey, s.meta.commit_seq)) {
      run = n->run;
      row = n->row;
    }
  }
  if (s.pending) {
    auto it = s.pending->latest.find(lkey);
    if (it != s.pending->latest.end() && (!run || run->version(row) < it->second.first->version(it->second.second))) {
      run = it->second.first.get();
      row = it->second.second;
    }
  }
  if (run) {
    bool newer = !raw;
    if (raw) {
      auto published = DecodeLatestVersion(lkey, *raw);
      if (!published.ok())
        return Status::Corruption(path_ + "-index: view '" + v.def.name + "': " + published.status().message());
      newer = *published < run->version(row);
    }
    if (newer) {
      FillLookup(v, *run, row, proj, now, out);
      return Status::OK();
    }
  }
  if (!raw) {
    NotFound(proj.size(), out);
    return Status::OK();
  }
  return FillLookupFromLatest(v, lkey, *raw, false, proj, now, out);
}

Status StoreImpl::FillLookupFromLatest(const ViewInfo& v, const std::string& lkey, std::string_view raw, bool checked,
                                       const std::vector<int>& proj, Timestamp t, Lookup* out) {
  Version version;
  Status st =
      DecodeLatestValues(lkey, raw, v.types, !checked && options_.verify_checksums, proj, &version, &out->values);
  if (!st.ok()) return Status::Corruption(path_ + "-index: view '" + v.def.name + "': " + st.message());
  out->found = true;
  out->event_ts = version.event_ts;
  out->system_ts = version.system_ts;
  bool expired = OutsideTtl(v.def.ttl_us, t, version.event_ts);
  out->status.resize(proj.size());
  for (size_t i = 0; i < proj.size(); ++i) {
    if (expired) out->values[i] = Value::Null();
    out->status[i] = expired                    ? ValueStatus::kExpired
                     : out->values[i].is_null() ? ValueStatus::kNull
                                                : ValueStatus::kPresent;
  }
  return Status::OK();
}

Result<std::shared_ptr<const Run>> StoreImpl::RunOfLatest(const ViewInfo& v, const std::string& lkey,
                                                          std::string_view raw) {
  std::vector<int> every(v.types.types.size());
  for (size_t c = 0; c < every.size(); ++c) every[c] = static_cast<int>(c);
  Version version;
  std::vector<Value> values;
  Status st = DecodeLatestValues(lkey, raw, v.types, false, every, &version, &values);  // checked by BestAsOf
  if (!st.ok()) return Status::Corruption(path_ + "-index: view '" + v.def.name + "': " + st.message());
  auto run = std::make_shared<Run>();
  run->view_id = v.id;
  run->keys.emplace_back(std::string_view(lkey).substr(4));
  run->event_ts.push_back(version.event_ts);
  run->system_ts.push_back(version.system_ts);
  run->seq.push_back(version.seq);
  for (size_t c = 0; c < every.size(); ++c) {
    run->columns.push_back(Column::Of(v.types.types[c], v.types.dims[c]));
    run->columns.back().Append(values[c]);
  }
  return std::shared_ptr<const Run>(std::move(run));
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
    const ViewInfo* v = s.registry->FindView(view);
    if (!v) {  // an aggregation view's latest: its aggregates at the reader's clock
      const ViewInfo* source = nullptr;
      std::vector<WindowAggregate> aggregates;
      PITSTORE_ASSIGN_OR_RETURN(bool aggregation, AggregationOf(*s.registry, view, features, &source, &aggregates));
      if (!aggregation) return FindView(*s.registry, view).status();
      return AggregateAtIn(s, *source, key, NowOr(options), kMaxTimestamp, aggregates, out);
    }
    std::string lkey;
    PITSTORE_RETURN_IF_ERROR(LatestKeyInto(*v, key, &lkey));
    const Timestamp now = v->def.ttl_us > 0 ? NowOr(options) : kMaxTimestamp;  // the clock, only for a TTL
    if (features.empty()) return LatestIn(s, *v, lkey, v->all_features, now, out);
    PITSTORE_ASSIGN_OR_RETURN(std::vector<int> proj, Projection(*v, features));
    return LatestIn(s, *v, lkey, proj, now, out);
  });
}

Result<std::vector<Lookup>> StoreImpl::LatestBatch(const std::string& view, const std::vector<EntityKey>& keys,
                                                   const std::vector<std::string>& features,
                                                   const ReadOptions& options) {
  std::vector<Lookup> out;
  PITSTORE_RETURN_IF_ERROR(LatestBatchInto(view, keys, &out, features, options));
  return out;
}

Status StoreImpl::LatestBatchInto(const std::string& view, const std::vector<EntityKey>& keys, std::vector<Lookup>* out,
                                  const std::vector<std::string>& features, const ReadOptions& options) {
  out->resize(keys.size());
  return WithSnapshot(options, [&](SnapshotImpl& s) -> Status {
    Timestamp now = NowOr(options);
    const ViewInfo* source = nullptr;
    std::vector<WindowAggregate> aggregates;
    PITSTORE_ASSIGN_OR_RETURN(bool aggregation, AggregationOf(*s.registry, view, features, &source, &aggregates));
    if (aggregation) {
      for (size_t i = 0; i < keys.size(); ++i)
        if (Status st = AggregateAtIn(s, *source, keys[i], now, kMaxTimestamp, aggregates, &(*out)[i]); !st.ok())
          return st.WithMessage("key " + std::to_string(i) + ": " + st.message());
      return Status::OK();
    }
    PITSTORE_ASSIGN_OR_RETURN(const ViewInfo* v, FindView(*s.registry, view));
    PITSTORE_ASSIGN_OR_RETURN(std::vector<int> proj, Projection(*v, features));
    // In groups: the index entries of a group are found first, their values' cache lines asked
    // for, then decoded, so the memory reads of one entry overlap the searches of the next.
    constexpr size_t kGroup = 16;
    std::string lkeys[kGroup];
    std::optional<std::string_view> raws[kGroup];
    for (size_t first = 0; first < keys.size(); first += kGroup) {
      const size_t count = std::min(kGroup, keys.size() - first);
      for (size_t g = 0; g < count; ++g) {
        if (Status st = LatestKeyInto(*v, keys[first + g], &lkeys[g]); !st.ok())
          return st.WithMessage("key " + std::to_string(first + g) + ": " + st.message());
        PITSTORE_ASSIGN_OR_RETURN(raws[g], index_->GetLatest(s.txn.get(), lkeys[g]));
        PrefetchLatest(raws[g]);
        PrefetchForWriting((*out)[first + g]);
      }
      for (size_t g = 0; g < count; ++g)
        PITSTORE_RETURN_IF_ERROR(LatestFrom(s, *v, lkeys[g], raws[g], proj, now, &(*out)[first + g]));
    }
    return Status::OK();
  });
}

Status StoreImpl::BestAsOf(SnapshotImpl& s, const std::string& lkey, Timestamp t, Timestamp known_at, AsOfRow* out,
                           const std::vector<int>* only) {
  *out = AsOfRow{};
  // Segments. The key's latest entry is its greatest row among them: when that row is
  // eligible, it is their answer, and no segment is read.
  PITSTORE_ASSIGN_OR_RETURN(auto latest, index_->GetLatest(s.txn.get(), lkey));
  bool latest_wins = false;
  uint32_t segments = 0;  // the entry's count of live segments holding the key
  if (latest) {
    auto version = DecodeLatestVersion(lkey, *latest, &segments);
    if (!version.ok()) return Status::Corruption(path_ + "-index: " + version.status().message());
    latest_wins = version->event_ts <= t && version->system_ts <= known_at;
    if (latest_wins) {
      out->latest = latest;
      out->latest_version = *version;
    }
  }
  if (!latest_wins) {
    // Else each segment holding the key, from the one with the newest event times down (a
    // search from its last row with event_ts <= t backwards: a few pages, however many
    // versions the key has), until the best row found is newer than every row left.
    PITSTORE_ASSIGN_OR_RETURN(auto live, GetLiveBlocks(s));
    const std::string_view key = std::string_view(lkey).substr(4);
    const uint32_t view_id = ViewIdOf(lkey);
    const uint64_t hash = KeyFilterHash(key);
    std::vector<const BlockEntry*> order;
    size_t unprobed = 0;
    for (const BlockEntry& b : live->segments) {
      if (b.view_id != view_id) continue;
      if (b.min_event_ts <= t) {
        order.push_back(&b);
        continue;
      }
      PITSTORE_ASSIGN_OR_RETURN(bool may, SegmentMayHold(s, b.offset, key, hash));
      unprobed += may;
    }
    std::sort(order.begin(), order.end(),
              [](const BlockEntry* a, const BlockEntry* b) { return a->max_event_ts > b->max_event_ts; });
    size_t found = 0;
    for (const BlockEntry* b : order) {
      if (out->run && out->run->event_ts[out->row] > b->max_event_ts) {
        PITSTORE_ASSIGN_OR_RETURN(bool may, SegmentMayHold(s, b->offset, key, hash));
        unprobed += may;
        continue;
      }
      KeyRange e;
      PITSTORE_ASSIGN_OR_RETURN(bool has, FindInSegment(s, b->offset, key, hash, &e, only));
      if (!has) continue;
      ++found;
      if (e.min_event_ts > t || e.min_system_ts > known_at) continue;
      PITSTORE_RETURN_IF_ERROR(BestInSegment(s, key, e, t, known_at, &out->run, &out->row, only));
    }
    PITSTORE_RETURN_IF_ERROR(CheckSegmentCount(segments, found, unprobed));
  }
  // Row batches: their rows of the key.
  std::vector<RowSpan> spans;
  PITSTORE_RETURN_IF_ERROR(TailSpans(s, lkey, kMinTimestamp, t, &spans));
  for (const RowSpan& span : spans)
    for (size_t i = span.begin; i < span.end; ++i) {
      const Run& run = *span.run;
      if (run.event_ts[i] > t || run.system_ts[i] > known_at) continue;
      const bool greater = out->run      ? out->run->version(out->row) < run.version(i)
                           : out->latest ? out->latest_version < run.version(i)
                                         : true;
      if (greater) {
        out->run = span.run;
        out->row = i;
        out->latest.reset();
      }
    }
  return Status::OK();
}

Result<Lookup> StoreImpl::AsOf(const std::string& view, const EntityKey& key, Timestamp t, Timestamp known_at,
                               const std::vector<std::string>& features, const ReadOptions& options) {
  return WithSnapshot(options, [&](SnapshotImpl& s) -> Result<Lookup> {
    const ViewInfo* source = nullptr;
    std::vector<WindowAggregate> aggregates;
    PITSTORE_ASSIGN_OR_RETURN(bool aggregation, AggregationOf(*s.registry, view, features, &source, &aggregates));
    if (aggregation) {
      Lookup out;
      PITSTORE_RETURN_IF_ERROR(AggregateAtIn(s, *source, key, t, known_at, aggregates, &out));
      return out;
    }
    PITSTORE_ASSIGN_OR_RETURN(const ViewInfo* v, FindView(*s.registry, view));
    PITSTORE_ASSIGN_OR_RETURN(std::vector<int> proj, Projection(*v, features));
    PITSTORE_ASSIGN_OR_RETURN(std::string enc, KeyFor(*v, key, ""));
    std::string lkey = LatestKey(v->id, enc);
    AsOfRow best;
    PITSTORE_RETURN_IF_ERROR(BestAsOf(s, lkey, t, known_at, &best, &proj));  // the features asked for alone
    Lookup out;
    if (best.run)
      FillLookup(*v, *best.run, best.row, proj, t, &out);
    else if (best.latest)
      PITSTORE_RETURN_IF_ERROR(FillLookupFromLatest(*v, lkey, *best.latest, true, proj, t, &out));
    else
      NotFound(proj.size(), &out);
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

}  // namespace pitstore
