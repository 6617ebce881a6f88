#include "as_of_join.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>

#include "huge_pages.h"
#include "key_codec.h"
#include "pitstore/store.h"

namespace pitstore {
namespace {

constexpr uint64_t kNoRow = ~uint64_t{0};

// Bytes 1..8 of an encoded key, big-endian, zero-padded. Every key of a view starts with the
// same tag byte, so ordering by this prefix (then by the whole key on a tie) is key order; for
// a single int64 join key it is the whole key.
uint64_t KeyPrefix(std::string_view encoded) {
  uint64_t p = 0;
  for (size_t i = 1; i < 9; ++i) p = (p << 8) | (i < encoded.size() ? static_cast<uint8_t>(encoded[i]) : 0);
  return p;
}

// Labels in (key, t, input order) order.
struct SortedLabels {
  struct Entry {
    uint64_t prefix;
    Timestamp t;
    uint32_t index;  // of the label in the input
  };
  bool exact = false;                // the prefix is the whole key: no strings kept
  std::vector<std::string> encoded;  // by label index, when !exact
  std::vector<Entry> entries;
  KnownAt mode = KnownAt::kNow;
  Timestamp fixed_known_at = kMaxTimestamp;

  size_t size() const { return entries.size(); }
  Timestamp known_at(size_t j) const {
    return mode == KnownAt::kLabelTime ? entries[j].t : mode == KnownAt::kFixed ? fixed_known_at : kMaxTimestamp;
  }
  // <0, 0, >0 as the label at sorted position j's key is below, equal to, above the row key.
  int Compare(size_t j, uint64_t row_prefix, std::string_view row_key) const {
    if (entries[j].prefix != row_prefix) return entries[j].prefix < row_prefix ? -1 : 1;
    if (exact) return 0;
    return std::string_view(encoded[entries[j].index]).compare(row_key);
  }
};

SortedLabels SortLabels(const JoinLabels& labels, const JoinOptions& options) {
  using Entry = SortedLabels::Entry;
  const size_t n = labels.times.size();
  SortedLabels s;
  s.mode = options.known_at;
  s.fixed_known_at = options.fixed_known_at;
  s.exact = labels.keys.size() == 1 && labels.keys[0].type == FeatureType::kInt64;
  std::vector<Entry>& entries = s.entries;
  AssignHuge(&entries, n, Entry{});
  if (!s.exact) s.encoded.resize(n);
  std::string key;
  for (size_t i = 0; i < n; ++i) {
    if (s.exact) {
      entries[i] = {static_cast<uint64_t>(labels.keys[0].ints[i]) ^ (uint64_t{1} << 63), labels.times[i],
                    static_cast<uint32_t>(i)};
      continue;
    }
    key.clear();
    for (const Column& c : labels.keys) {
      if (c.type == FeatureType::kInt64)
        EncodeKeyPart(KeyPart(c.ints[i]), &key);
      else
        EncodeKeyPart(KeyPart(c.strings[i]), &key);
    }
    entries[i] = {KeyPrefix(key), labels.times[i], static_cast<uint32_t>(i)};
    s.encoded[i] = key;
  }
  auto less = [&](const Entry& a, const Entry& b) {
    if (a.prefix != b.prefix) return a.prefix < b.prefix;
    if (!s.exact) {
      int c = s.encoded[a.index].compare(s.encoded[b.index]);
      if (c != 0) return c < 0;
    }
    if (a.t != b.t) return a.t < b.t;
    return a.index < b.index;
  };
  // Two halves sorted on two threads, then merged.
  if (options.threads > 1 && n > 100'000) {
    auto mid = entries.begin() + static_cast<std::ptrdiff_t>(n / 2);
    std::thread half([&] { std::sort(entries.begin(), mid, less); });
    std::sort(mid, entries.end(), less);
    half.join();
    std::inplace_merge(entries.begin(), mid, entries.end(), less);
  } else {
    std::sort(entries.begin(), entries.end(), less);
  }
  return s;
}

// A column of n nulls, its storage filled with defaults.
Column NullColumn(FeatureType type, uint32_t dim, size_t n) {
  Column col = Column::Of(type, dim);
  AssignHuge<uint8_t>(&col.valid, n, 0);
  switch (type) {
    case FeatureType::kFloat32:
    case FeatureType::kFloat64:
      AssignHuge(&col.doubles, n, 0.0);
      break;
    case FeatureType::kString:
    case FeatureType::kBytes:
      col.strings.assign(n, std::string());
      break;
    case FeatureType::kFloat32Vector:
      AssignHuge(&col.floats, n * dim, 0.0f);
      break;
    default:
      AssignHuge<int64_t>(&col.ints, n, 0);
  }
  return col;
}

// dst row i := src row r (same type; src row non-null).
void CopyValue(Column& dst, size_t i, const Column& src, size_t r) {
  dst.valid[i] = 1;
  switch (dst.type) {
    case FeatureType::kFloat32:
    case FeatureType::kFloat64:
      dst.doubles[i] = src.doubles[r];
      break;
    case FeatureType::kString:
    case FeatureType::kBytes:
      dst.strings[i] = src.strings[r];
      break;
    case FeatureType::kFloat32Vector:
      std::copy_n(src.floats.begin() + static_cast<std::ptrdiff_t>(r * dst.dim), dst.dim,
                  dst.floats.begin() + static_cast<std::ptrdiff_t>(i * dst.dim));
      break;
    default:
      dst.ints[i] = src.ints[r];
  }
}

// out[index[j]] := in[j] for every j, column by column (in is consumed).
Column Scatter(Column in, const std::vector<SortedLabels::Entry>& entries) {
  const size_t n = entries.size();
  Column out = NullColumn(in.type, in.dim, n);
  for (size_t j = 0; j < n; ++j) out.valid[entries[j].index] = in.valid[j];
  switch (in.type) {
    case FeatureType::kFloat32:
    case FeatureType::kFloat64:
      for (size_t j = 0; j < n; ++j) out.doubles[entries[j].index] = in.doubles[j];
      break;
    case FeatureType::kString:
    case FeatureType::kBytes:
      for (size_t j = 0; j < n; ++j) out.strings[entries[j].index] = std::move(in.strings[j]);
      break;
    case FeatureType::kFloat32Vector:
      for (size_t j = 0; j < n; ++j)
        std::copy_n(in.floats.begin() + static_cast<std::ptrdiff_t>(j * in.dim), in.dim,
                    out.floats.begin() + static_cast<std::ptrdiff_t>(size_t{entries[j].index} * in.dim));
      break;
    default:
      for (size_t j = 0; j < n; ++j) out.ints[entries[j].index] = in.ints[j];
  }
  return out;
}

// Decodes the pages of every block in order on worker threads, at most `window` ahead of the
// consumer, and hands them over in order.
class PagePipeline {
 public:
  PagePipeline(JoinPageSource& source, int threads) : source_(source) {
    for (size_t b = 0; b < source.blocks(); ++b)
      for (size_t p = 0; p < source.pages(b); ++p) tasks_.push_back({b, p});
    slots_.resize(tasks_.size());
    window_ = static_cast<size_t>(std::max(1, threads)) * 4;
    for (int i = 0; i < std::max(1, threads); ++i) workers_.emplace_back([this] { Work(); });
  }
  ~PagePipeline() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    changed_.notify_all();
    for (std::thread& t : workers_) t.join();
  }
  size_t size() const { return tasks_.size(); }
  // The i-th page (in block, page order); call with i = 0, 1, 2, ...
  Result<std::shared_ptr<const Run>> Take(size_t i) {
    std::unique_lock<std::mutex> lock(mu_);
    changed_.wait(lock, [&] { return slots_[i].has_value(); });
    Result<std::shared_ptr<const Run>> r = std::move(*slots_[i]);
    slots_[i].reset();
    consumed_ = i + 1;
    changed_.notify_all();
    return r;
  }

 private:
  void Work() {
    for (;;) {
      size_t i;
      {
        std::unique_lock<std::mutex> lock(mu_);
        changed_.wait(lock, [&] { return stop_ || (next_ < tasks_.size() && next_ < consumed_ + window_); });
        if (stop_) return;
        i = next_++;
      }
      auto page = source_.LoadPage(tasks_[i].first, tasks_[i].second);
      std::lock_guard<std::mutex> lock(mu_);
      slots_[i] = std::move(page);
      changed_.notify_all();
    }
  }

  JoinPageSource& source_;
  std::vector<std::pair<size_t, size_t>> tasks_;
  std::vector<std::optional<Result<std::shared_ptr<const Run>>>> slots_;
  size_t window_ = 8, next_ = 0, consumed_ = 0;
  bool stop_ = false;
  std::mutex mu_;
  std::condition_variable changed_;
  std::vector<std::thread> workers_;
};

}  // namespace

Status RunAsOfJoin(JoinPageSource& source, const JoinLabels& labels, const JoinSpec& spec, JoinResult* out) {
  const size_t n = labels.times.size();
  SortedLabels sorted = SortLabels(labels, spec.options);

  // Matches are kept by sorted position j (so the merge writes forward through memory) and
  // put back in label order at the end, one column at a time.
  std::vector<Column> matched;
  for (size_t c = 0; c < spec.projection.size(); ++c)
    matched.push_back(NullColumn(spec.types.types[c], spec.types.dims[c], n));
  std::vector<Timestamp> best_ev, best_sys;
  std::vector<uint64_t> best_seq;
  AssignHuge<Timestamp>(&best_ev, n, 0);
  AssignHuge<Timestamp>(&best_sys, n, 0);
  AssignHuge(&best_seq, n, kNoRow);

  PagePipeline pipeline(source, spec.options.threads);
  size_t page_index = 0;
  for (size_t b = 0; b < source.blocks(); ++b) {
    size_t lpos = 0;  // labels below this position have keys below the block's current key
    for (size_t p = 0; p < source.pages(b); ++p) {
      PITSTORE_ASSIGN_OR_RETURN(std::shared_ptr<const Run> page, pipeline.Take(page_index++));
      const Run& run = *page;
      const size_t rows = run.size();
      // Which output column reads which of this page's columns (older pages know fewer).
      std::vector<const Column*> src(spec.projection.size(), nullptr);
      for (size_t c = 0; c < src.size(); ++c)
        if (static_cast<size_t>(spec.projection[c]) < run.columns.size()) src[c] = &run.columns[spec.projection[c]];
      size_t r = 0;
      while (r < rows && lpos < n) {
        const std::string& key = run.keys[r];
        size_t r_end = r + 1;
        while (r_end < rows && run.keys[r_end] == key) ++r_end;
        const uint64_t row_prefix = KeyPrefix(key);
        // Gallop to the first label whose key is not below this one.
        if (sorted.Compare(lpos, row_prefix, key) < 0) {
          size_t step = 1, lo = lpos, hi = lpos + 1;
          while (hi < n && sorted.Compare(hi, row_prefix, key) < 0) {
            lo = hi;
            step *= 2;
            hi = std::min(n, hi + step);
          }
          // Now label lo is below the key, and hi is not (or hi == n).
          while (hi - lo > 1) {
            size_t mid = lo + (hi - lo) / 2;
            (sorted.Compare(mid, row_prefix, key) < 0 ? lo : hi) = mid;
          }
          lpos = hi;
        }
        // The labels of this key, in t order, against its rows here, in version order.
        size_t q = r;
        for (size_t j = lpos; j < n && sorted.Compare(j, row_prefix, key) == 0; ++j) {
          const Timestamp t = sorted.entries[j].t, k = sorted.known_at(j);
          while (q < r_end && run.event_ts[q] <= t) ++q;
          size_t x = q;
          while (x > r && run.system_ts[x - 1] > k) --x;
          if (x == r) continue;  // nothing eligible among these rows
          const size_t row = x - 1;
          if (best_seq[j] != kNoRow) {  // an earlier block or page matched too: keep the greater
            Version have{best_ev[j], best_sys[j], best_seq[j]};
            if (!(have < run.version(row))) continue;
          }
          best_seq[j] = run.seq[row];
          best_ev[j] = run.event_ts[row];
          best_sys[j] = run.system_ts[row];
          for (size_t c = 0; c < src.size(); ++c) {
            if (src[c] && !src[c]->is_null(row))
              CopyValue(matched[c], j, *src[c], row);
            else
              matched[c].valid[j] = 0;
          }
        }
        r = r_end;
      }
    }
  }

  // TTL, status, times: by sorted position, then scattered to label order.
  out->status.assign(n, static_cast<uint8_t>(ValueStatus::kNotFound));
  AssignHuge<Timestamp>(&out->event_ts, n, 0);
  AssignHuge<Timestamp>(&out->system_ts, n, 0);
  for (size_t j = 0; j < n; ++j) {
    if (best_seq[j] == kNoRow) continue;
    const uint32_t i = sorted.entries[j].index;
    bool expired = spec.ttl_us > 0 && static_cast<__int128>(sorted.entries[j].t) - best_ev[j] > spec.ttl_us;
    out->status[i] = static_cast<uint8_t>(expired ? ValueStatus::kExpired : ValueStatus::kPresent);
    out->event_ts[i] = best_ev[j];
    out->system_ts[i] = best_sys[j];
    if (expired)
      for (Column& c : matched) c.valid[j] = 0;
  }
  std::vector<uint64_t>().swap(best_seq);
  std::vector<Timestamp>().swap(best_ev);
  std::vector<Timestamp>().swap(best_sys);
  out->columns.clear();
  for (Column& c : matched) {
    out->columns.push_back(Scatter(std::move(c), sorted.entries));
    c = Column();  // freed as we go: at most one column is held twice
  }
  return Status::OK();
}

}  // namespace pitstore
