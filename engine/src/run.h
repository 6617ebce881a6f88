// Run: rows of one view held in memory, sorted by (key, event_ts, system_ts, seq). It is what a
// row batch block or a segment block decodes to, and what a merge produces.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "coding.h"
#include "key_table.h"
#include "pitstore/column.h"
#include "pitstore/feature_stats.h"
#include "pitstore/status.h"

namespace pitstore {

// The total order of versions of one key: greater wins.
struct Version {
  int64_t event_ts;
  int64_t system_ts;
  uint64_t seq;  // commit_seq << 32 | row index in its batch: ingest order
  bool operator<(const Version& o) const {
    if (event_ts != o.event_ts) return event_ts < o.event_ts;
    if (system_ts != o.system_ts) return system_ts < o.system_ts;
    return seq < o.seq;
  }
};

struct Run {
  uint32_t view_id = 0;
  std::vector<std::string> keys;  // encoded entity keys (key_codec.h)
  std::vector<int64_t> event_ts;
  std::vector<int64_t> system_ts;
  std::vector<uint64_t> seq;
  std::vector<Column> columns;  // one per feature the writer knew of (a prefix of the view's)
  // Row batches as readers cache them (committed, or decoded by StoreImpl::GetRun): where each
  // key's rows start (key_table.h), so a point read finds them, or their absence, in one probe.
  // Not stored. Empty elsewhere (then a binary search).
  KeyTable key_table;

  size_t size() const { return keys.size(); }
  Version version(size_t i) const { return {event_ts[i], system_ts[i], seq[i]}; }
  // The end of row i's key group: the first later row of another key (rows sorted by key).
  size_t KeyEnd(size_t i) const {
    size_t j = i + 1;
    while (j < size() && keys[j] == keys[i]) ++j;
    return j;
  }
  // Approximate bytes held, for the block cache.
  size_t MemoryBytes() const;
  // The rows' plain size: key bytes, 24 bytes of times and sequence, 8 per number, 1 per bool,
  // string lengths, 4 per vector element. What Stats compares stored bytes with.
  size_t LogicalBytes() const;
  // The same over rows [begin, end).
  size_t LogicalBytes(size_t begin, size_t end) const;
  // Sorts rows by (key, event_ts, system_ts, seq).
  void Sort();
  // Appends every row of `src` (same feature types; columns beyond src's read null).
  void AppendRun(const Run& src);
  // Appends row i of `src` (same feature types; columns beyond src's read null).
  void AppendRow(const Run& src, size_t i);
  // Empty run with the same column types.
  Run EmptyLike() const;
  // Room for `rows` rows in every vector (null flags aside): a run filled to a size known
  // beforehand then grows once, not by doubling, which can leave it holding twice its rows, and
  // three times while a vector moves.
  void Reserve(size_t rows);
  // Checks sorted order and column sizes; Corruption naming `where` otherwise.
  Status Validate(const std::string& where) const;
};

// Feature types of a view, to decode rows without the registry at hand.
struct ColumnTypes {
  std::vector<FeatureType> types;
  std::vector<uint32_t> dims;
};
ColumnTypes TypesOf(const Run& run);

// One row's values: a null bitmap over `n` features, then each non-null value.
void EncodeRowValues(const Run& run, size_t row, std::string* dst);
bool DecodeRowValues(ByteReader* in, const ColumnTypes& types, size_t n, Run* out);
// Sets a Value in place, as assigning Value::Int64(i) (or Float64(d), Null()) would, without
// building, moving and destroying a temporary of every member: a serving loop that reuses its
// Lookup decodes ten values in a few nanoseconds. What the value held before is emptied, its
// storage kept.
struct ValueAccess {
  static void SetScalar(Value* v, FeatureType type, int64_t i, double d) {
    v->null_ = false;
    v->type_ = type;
    v->i_ = i;
    v->d_ = d;
    Empty(v);
  }
  static void SetNull(Value* v) {
    v->null_ = true;
    v->type_ = FeatureType::kInt64;
    v->i_ = 0;
    v->d_ = 0;
    Empty(v);
  }

 private:
  static void Empty(Value* v) {
    if (!v->s_.empty()) v->s_.clear();
    if (!v->v_.empty()) v->v_.clear();
    if (!v->list_.empty()) v->list_.clear();
  }
};

// Reads one non-null value of the given type; false on malformed input.
bool ReadValue(ByteReader* in, FeatureType type, uint32_t dim, Value* out);

// Row batch block payload.
std::string EncodeRowsBlock(const Run& run);
Result<Run> DecodeRowsBlock(std::string_view payload, const ColumnTypes& view_types);

// ---- segments ----
// A segment's rows are cut into pages of page_rows rows; each page has its own chunks (one
// per column, each checksummed), so a point read decodes one page, not the segment.
inline constexpr uint32_t kDefaultPageRows = 1024;
// Time chunks with restarts (DELTA_RESTARTS) start their deltas over every this many rows.
inline constexpr size_t kDeltaRestartRows = 64;

// How segment pages are written: rows per page, the zstd level tried on each chunk, whether
// the time chunks (event_ts, system_ts, seq) carry restart points (DELTA_RESTARTS, FORMAT.md
// 1.10) or are frames of 64 rows (FRAMES, which take precedence), and whether the keys of a
// page whose keys are each one int64 are written as differences (KEY_INT64_RUNS): each only in
// files whose header requires it (DataFile::required_features: kFeatureDeltaRestarts,
// kFeatureTimeFrames, kFeatureInt64KeyRuns).
struct PageFormat {
  uint32_t page_rows = kDefaultPageRows;
  int zstd_level = 3;
  bool delta_restarts = false;  // never by default: a file must require them (PageFormatFor)
  bool int64_key_runs = false;  // likewise
  bool time_frames = false;     // likewise: time chunks as FRAMES (kFeatureTimeFrames)
};
inline constexpr size_t kSegmentTailBytes = 16;  // u32 footer_len | u64 checksum | u32 magic

// Where each page's chunks are, from the footer.
struct SegmentLayout {
  uint32_t view_id = 0, rows = 0, features = 0, page_rows = 0;
  uint64_t payload_offset = 0;                        // file offset of the block payload
  std::string min_key, max_key;                       // encoded keys of the first and last row
  int64_t min_system_ts = 0, max_system_ts = 0;       // the oldest and newest system times of its rows
  std::vector<std::pair<uint64_t, uint64_t>> chunks;  // (offset in payload, length), page-major
  int64_t min_event_ts = 0, max_event_ts = 0;
  // Per feature, over every row; empty in segments written before they carried statistics.
  std::vector<FeatureSummary> stats;
  // Per page, the keys of its first and last rows; empty in segments written before they were
  // kept (StoreImpl::FindInSegment then reads pages to find a key).
  std::vector<std::string> page_first_keys, page_last_keys;
  std::string key_filter;  // key_filter.h; empty: every key may be present
  size_t pages() const { return page_rows ? (size_t{rows} + page_rows - 1) / page_rows : 0; }
  // The contiguous (offset in payload, length) of one page's chunks.
  std::pair<uint64_t, uint64_t> PageRange(size_t page) const;
};

// A placed chunk's header (FORMAT.md: codec, encoding, lengths, checksum) precedes its bytes.
inline constexpr size_t kChunkHeaderSize = 20;

// One chunk compressed, not yet placed: its checksum is seeded with its file offset.
struct CompressedChunk {
  int column;  // a feature, or -1..-4: key runs, event_ts, system_ts, seq
  uint8_t encoding;
  bool zstd;
  uint32_t raw_len;
  std::string stored;
};

// A segment's pages compressed and its statistics gathered: the costly part of encoding, which
// needs no file offset, so a background merge prepares it without holding the writer's lock.
struct CompressedSegment {
  uint32_t page_rows = 0;
  std::vector<std::vector<CompressedChunk>> pages;  // 4 + features chunks each
  std::vector<FeatureSummary> stats;                // per feature, over every row
  std::string key_filter;                           // over the run's keys (key_filter.h)
};
CompressedSegment CompressSegment(const Run& run, const PageFormat& format, unsigned threads = 1);
// The bytes a segment's payload takes before its footer: the view id and every page's chunks,
// each with its header.
uint64_t PlacedPagesBytes(const CompressedSegment& compressed);
// The segment's payload at `payload_offset`, appended to *out: the view id, every page's chunks
// placed and checksummed, then the footer. After each page, `drain` (when given) may take what
// *out holds (WriteCompressedSegment writes it out a MiB at a time). The payload's size.
Result<uint64_t> PlaceSegmentInto(const Run& run, CompressedSegment&& compressed, uint64_t payload_offset,
                                  std::string* out, const std::function<Status(std::string*)>& drain = nullptr);
// The same, the whole payload in one string.
std::string PlaceSegment(const Run& run, CompressedSegment&& compressed, uint64_t payload_offset);
// The first `rows` rows of `run` cut into pages of page_rows rows (the last may be short), each
// as its 4 + features chunks, compressed; on two threads when `threads` allows and the pages
// are many (32 or more). zstd is tried on every chunk of each kZstdProbePages-th page (counted
// from the call's first) and, on the pages after it, only on the chunks it kept zstd for there:
// a segment made in several calls is the same bytes when each call starts at such a page.
inline constexpr size_t kZstdProbePages = 16;
std::vector<std::vector<CompressedChunk>> CompressPages(const Run& run, size_t rows, const PageFormat& format,
                                                        unsigned threads = 1);

// Lays a segment's payload out page by page: the view id, each page's chunks, the footer.
// PlaceSegment and the streaming SegmentWriter both use it, so a segment's bytes do not depend
// on how it was written.
class SegmentAssembler {
 public:
  SegmentAssembler(uint32_t view_id, size_t features, uint32_t page_rows, uint64_t payload_offset);
  ~SegmentAssembler();
  SegmentAssembler(const SegmentAssembler&) = delete;
  SegmentAssembler& operator=(const SegmentAssembler&) = delete;
  // Appends the payload's first bytes (the view id) to `out`.
  void Begin(std::string* out);
  // Places one page, rows [begin, end) of `rows` compressed as `chunks`, after what was placed
  // so far, appending its bytes to `out`. Pages hold page_rows rows but the last. With
  // `summarize`, the page's rows go into the footer's statistics and key filter; without,
  // Finish is given them.
  void AddPage(const Run& rows, size_t begin, size_t end, std::vector<CompressedChunk>&& chunks, bool summarize,
               std::string* out);
  // Appends the footer and the tail. `stats` and `key_filter`: over every row, when the pages
  // were added without `summarize`.
  void Finish(std::string* out, const std::vector<FeatureSummary>* stats = nullptr,
              const std::string* key_filter = nullptr);
  uint64_t payload_size() const { return size_; }
  uint32_t rows() const { return rows_; }
  int64_t min_event_ts() const { return min_event_ts_; }
  int64_t max_event_ts() const { return max_event_ts_; }

 private:
  struct State;  // the footer's flatbuffer being built
  std::unique_ptr<State> state_;
  uint32_t view_id_;
  size_t features_;
  uint32_t page_rows_;
  uint64_t payload_offset_;
  uint64_t size_ = 0;
  uint32_t rows_ = 0;
  int64_t min_event_ts_ = INT64_MAX, max_event_ts_ = INT64_MIN;
  int64_t min_system_ts_ = INT64_MAX, max_system_ts_ = INT64_MIN;
  std::vector<std::string> page_first_keys_, page_last_keys_;
  std::vector<FeatureSummary> stats_;
  std::string last_key_;
  std::vector<uint64_t> key_hashes_;  // of each distinct key, for the filter
};

// `payload_offset` is the file offset of the payload (chunk checksums are seeded with their
// absolute offset).
// Large segments encode their pages on two threads when `threads` allows.
std::string EncodeSegment(const Run& run, uint64_t payload_offset, const PageFormat& format, unsigned threads = 1);
// From the payload's last 16 bytes: the footer's length.
Result<size_t> SegmentFooterLength(std::string_view tail16);
// `footer_at` is the footer's offset within the payload.
Result<SegmentLayout> DecodeSegmentFooter(std::string_view footer_bytes, std::string_view tail16,
                                          uint64_t payload_offset, uint64_t footer_at, bool verify);
// The footer of a whole segment payload at `payload_offset`, checked against the payload's view id.
Result<SegmentLayout> DecodeSegmentLayout(std::string_view payload, uint64_t payload_offset, bool verify);
// A page's keys as the key chunk stores them, one entry per run of rows of one key: key r is
// bytes [offsets[r], offsets[r + 1]) of `bytes` and holds rows [ends[r - 1], ends[r]) (from
// row 0 for r = 0). What a join reads in place of a string per row.
struct KeyRuns {
  std::string bytes;
  std::vector<uint32_t> offsets{0};
  std::vector<uint32_t> ends;

  size_t runs() const { return ends.size(); }
  size_t rows() const { return ends.empty() ? 0 : ends.back(); }
  size_t begin(size_t r) const { return r == 0 ? 0 : ends[r - 1]; }
  std::string_view key(size_t r) const {
    return std::string_view(bytes).substr(offsets[r], offsets[r + 1] - offsets[r]);
  }
  void Add(std::string_view key, size_t rows) {
    bytes.append(key);
    offsets.push_back(static_cast<uint32_t>(bytes.size()));
    ends.push_back(static_cast<uint32_t>(this->rows() + rows));
  }
};

// Whether the page decoders below decode feature c: every feature without `only`, else those
// in it (of those the segment predates, nulls are made, no chunk read). Readers of a page's
// bytes go by it too (StoreImpl::ReadSegmentPageBytes).
bool FeatureWanted(const std::vector<int>* only, size_t c);

// The key runs of a run whose keys are a string a row.
KeyRuns KeyRunsOf(const Run& run);

// `bytes` is the page's range (SegmentLayout::PageRange) from its start, through at least the
// last chunk decoded: the key, time and seq chunks, and with `only` the chunks of those of its
// features the segment has; other chunks' bytes are never looked at, so a reader may leave
// them unread (StoreImpl::ReadSegmentPageBytes). With `only`, just those feature columns are
// decoded (by feature index); the others are left with no rows, so such a
// page serves a reader of those columns alone. With `key_runs`, the keys go there and the
// run's `keys` stay empty (its size() is then 0: key_runs->rows() counts its rows). Without
// `seq`, the seq chunk is neither checked nor decoded, and every row's seq reads 0: for a reader
// that needs no ingest order (one block's rows of a key are in version order already).
Result<Run> DecodeSegmentPage(const SegmentLayout& layout, size_t page, std::string_view bytes,
                              const ColumnTypes& view_types, bool verify, const std::vector<int>* only = nullptr,
                              KeyRuns* key_runs = nullptr, bool seq = true);
// The rows of one key in a page, alone (a point read): the key runs are walked, the time deltas
// decoded up to the key's last row, and only the key's values taken from feature chunks (dense
// doubles directly). *first_row is the page row of the result's row 0; no rows when the page
// lacks the key. The chunks read are verified as DecodeSegmentPage verifies them.
Result<Run> DecodeSegmentPageKey(const SegmentLayout& layout, size_t page, std::string_view bytes,
                                 const ColumnTypes& view_types, bool verify, const std::vector<int>* only,
                                 std::string_view key, size_t* first_row);
// Corruption unless the page's first and last keys are the footer's and the key filter holds
// each of its keys (segments without them pass).
Status CheckPageKeys(const SegmentLayout& layout, size_t page, const Run& rows);
// Each page of the segment in order, decoded; with `verify`, CheckPageKeys and the rows' order
// (within and across pages) too, and at the end the footer's key and time bounds against the
// rows. Memory: one decoded page (beside the payload).
Status ForEachSegmentPage(std::string_view payload, uint64_t payload_offset, const ColumnTypes& view_types, bool verify,
                          const std::function<Status(const SegmentLayout&, const Run& page)>& visit);
// The whole segment (all pages), for merges, scans and verification; checked as
// ForEachSegmentPage checks.
Result<Run> DecodeSegment(std::string_view payload, uint64_t payload_offset, const ColumnTypes& view_types,
                          bool verify);

}  // namespace pitstore
