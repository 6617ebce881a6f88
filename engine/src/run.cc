// Row batch and segment codecs (run.h). One file, over 400 lines: both encode the same rows
// with the same value and key coders, and a change to one must be read beside the other.
#include "run.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <functional>
#include <numeric>
#include <thread>
#include <type_traits>
#include <unordered_map>

#include "block.h"
#include "feature_stats_codec.h"
#include "key_filter.h"
#include "radix_sort.h"

namespace pitstore {

size_t Run::MemoryBytes() const {
  size_t bytes = sizeof(Run) + size() * (sizeof(std::string) + 24) + key_table.MemoryBytes();
  for (const std::string& k : keys) bytes += k.capacity() > 15 ? k.capacity() : 0;
  for (const Column& c : columns) {
    bytes += c.valid.size() + c.ints.size() * 8 + c.doubles.size() * 8 + c.floats.size() * 4;
    for (const std::string& s : c.strings) bytes += sizeof(std::string) + (s.capacity() > 15 ? s.capacity() : 0);
  }
  return bytes;
}

size_t Run::LogicalBytes() const { return LogicalBytes(0, size()); }

size_t Run::LogicalBytes(size_t begin, size_t end) const {
  size_t bytes = (end - begin) * 24;
  for (size_t i = begin; i < end; ++i) bytes += keys[i].size();
  for (const Column& c : columns) {
    if (c.type == FeatureType::kBool) {
      bytes += end - begin;
    } else if (!c.ints.empty()) {
      bytes += (end - begin) * 8;
    } else if (!c.doubles.empty()) {
      bytes += (end - begin) * 8;
    } else if (!c.floats.empty()) {
      bytes += (end - begin) * c.dim * 4;
    }
    if (!c.strings.empty())
      for (size_t i = begin; i < end; ++i) bytes += c.strings[i].size();
  }
  return bytes;
}

Run Run::EmptyLike() const {
  Run r;
  r.view_id = view_id;
  for (const Column& c : columns) r.columns.push_back(Column::Of(c.type, c.dim));
  return r;
}

void Run::Reserve(size_t rows) {
  keys.reserve(rows);
  event_ts.reserve(rows);
  system_ts.reserve(rows);
  seq.reserve(rows);
  for (Column& c : columns) c.Reserve(rows);
}

void Run::AppendRow(const Run& src, size_t i) {
  keys.push_back(src.keys[i]);
  event_ts.push_back(src.event_ts[i]);
  system_ts.push_back(src.system_ts[i]);
  seq.push_back(src.seq[i]);
  for (size_t c = 0; c < columns.size(); ++c) {
    if (c < src.columns.size())
      columns[c].AppendFrom(src.columns[c], i);
    else
      columns[c].AppendNull();
  }
}

void Run::AppendRun(const Run& src) {
  keys.insert(keys.end(), src.keys.begin(), src.keys.end());
  event_ts.insert(event_ts.end(), src.event_ts.begin(), src.event_ts.end());
  system_ts.insert(system_ts.end(), src.system_ts.begin(), src.system_ts.end());
  seq.insert(seq.end(), src.seq.begin(), src.seq.end());
  for (size_t c = 0; c < columns.size(); ++c) {
    if (c >= src.columns.size()) {
      for (size_t i = 0; i < src.size(); ++i) columns[c].AppendNull();
      continue;
    }
    Column& dst = columns[c];
    const Column& from = src.columns[c];
    size_t before = dst.size();
    if (!from.valid.empty() || !dst.valid.empty()) {
      if (dst.valid.empty()) dst.valid.assign(before, 1);
      if (from.valid.empty())
        dst.valid.insert(dst.valid.end(), from.size(), 1);
      else
        dst.valid.insert(dst.valid.end(), from.valid.begin(), from.valid.end());
    }
    dst.ints.insert(dst.ints.end(), from.ints.begin(), from.ints.end());
    dst.doubles.insert(dst.doubles.end(), from.doubles.begin(), from.doubles.end());
    dst.strings.insert(dst.strings.end(), from.strings.begin(), from.strings.end());
    dst.floats.insert(dst.floats.end(), from.floats.begin(), from.floats.end());
  }
}

namespace {
// Bytes [from, from + 8) of a key, big-endian, zero-padded: two of them order most keys (an
// int64 key is 9 bytes) without touching the strings, which live elsewhere in memory.
uint64_t KeyWord(const std::string& key, size_t from) {
  uint64_t w = 0;
  for (size_t i = from; i < from + 8; ++i) w = (w << 8) | (i < key.size() ? static_cast<uint8_t>(key[i]) : 0u);
  return w;
}
}  // namespace

void Run::Sort() {
  struct Entry {
    uint64_t head, next;
    uint32_t row;
  };
  std::vector<Entry> entries(size());
  for (uint32_t i = 0; i < size(); ++i) entries[i] = {KeyWord(keys[i], 0), KeyWord(keys[i], 8), i};
  // Equal words mean equal keys unless a key is longer than 16 bytes or ends in zero bytes the
  // padding imitates: the full comparison decides those.
  auto less = [&](const Entry& a, const Entry& b) {
    if (a.head != b.head) return a.head < b.head;
    if (a.next != b.next) return a.next < b.next;
    int c = keys[a.row].compare(keys[b.row]);
    if (c != 0) return c < 0;
    return version(a.row) < version(b.row);
  };
  if (std::is_sorted(entries.begin(), entries.end(), less)) return;
  // A radix sort by the two words where they differ in few bytes (three passes for a million
  // int64 keys, whose 20 bits straddle the two words, against ~17 comparisons a row), then each
  // run of equal words by the rest; a comparison sort for keys that differ in many bytes.
  auto head = [](const Entry& e) { return e.head; };
  auto next = [](const Entry& e) { return e.next; };
  const uint64_t head_bits = BitsThatDiffer(entries, head), next_bits = BitsThatDiffer(entries, next);
  if (BytesWithBits(head_bits) + BytesWithBits(next_bits) > 8) {
    std::sort(entries.begin(), entries.end(), less);
  } else {
    std::vector<Entry> spare;
    StableRadixSortByWord(&entries, &spare, next_bits, next);
    StableRadixSortByWord(&entries, &spare, head_bits, head);
    for (size_t i = 0, j; i < entries.size(); i = j) {
      for (j = i + 1; j < entries.size() && entries[j].head == entries[i].head && entries[j].next == entries[i].next;)
        ++j;
      if (j - i > 1) std::sort(entries.begin() + i, entries.begin() + j, less);
    }
  }
  std::vector<uint32_t> order(size());
  for (size_t i = 0; i < entries.size(); ++i) order[i] = entries[i].row;
  entries = {};
  // Gather column by column (moving strings): a row-at-a-time copy costs a type switch and a
  // validity check per value.
  auto gather = [&](auto& v) {
    std::remove_reference_t<decltype(v)> out;
    out.reserve(v.size());
    for (uint32_t i : order) out.push_back(std::move(v[i]));
    v.swap(out);
  };
  gather(keys);
  gather(event_ts);
  gather(system_ts);
  gather(seq);
  for (Column& c : columns) {
    if (!c.valid.empty()) gather(c.valid);
    if (!c.ints.empty()) gather(c.ints);
    if (!c.doubles.empty()) gather(c.doubles);
    if (!c.strings.empty()) gather(c.strings);
    if (!c.floats.empty()) {
      std::vector<float> out;
      out.reserve(c.floats.size());
      for (uint32_t i : order)
        out.insert(out.end(), c.floats.begin() + size_t{i} * c.dim, c.floats.begin() + (size_t{i} + 1) * c.dim);
      c.floats.swap(out);
    }
  }
}

Status Run::Validate(const std::string& where) const {
  size_t n = size();
  if (event_ts.size() != n || system_ts.size() != n || seq.size() != n)
    return Status::Corruption(where + ": column lengths differ");
  for (size_t c = 0; c < columns.size(); ++c) {
    const Column& col = columns[c];
    if (col.size() != n || (!col.valid.empty() && col.valid.size() != n))
      return Status::Corruption(where + ": feature column " + std::to_string(c) + " has the wrong length");
  }
  for (size_t i = 1; i < n; ++i) {
    int cmp = keys[i - 1].compare(keys[i]);
    if (cmp > 0 || (cmp == 0 && !(version(i - 1) < version(i))))
      return Status::Corruption(where + ": rows out of order at row " + std::to_string(i));
  }
  return Status::OK();
}

ColumnTypes TypesOf(const Run& run) {
  ColumnTypes t;
  for (const Column& c : run.columns) {
    t.types.push_back(c.type);
    t.dims.push_back(c.dim);
  }
  return t;
}

// ---- values ----

namespace {

// At most how many bytes PutValue writes for row i of c.
size_t ValueBound(const Column& c, size_t i) {
  switch (c.type) {
    case FeatureType::kBool:
      return 1;
    case FeatureType::kInt32:
    case FeatureType::kInt64:
    case FeatureType::kTimestamp:
      return 10;
    case FeatureType::kFloat32:
      return 4;
    case FeatureType::kFloat64:
      return 8;
    case FeatureType::kString:
    case FeatureType::kBytes:
      return 10 + c.strings[i].size();
    case FeatureType::kFloat32Vector:
      return size_t{c.dim} * 4;
  }
  return 0;
}

// Writes row i of c at p (room for ValueBound bytes); returns the end.
char* PutValue(const Column& c, size_t i, char* p) {
  switch (c.type) {
    case FeatureType::kBool:
      *p++ = c.ints[i] ? 1 : 0;
      break;
    case FeatureType::kInt32:
    case FeatureType::kInt64:
    case FeatureType::kTimestamp:
      p = EncodeVarint64(p, ZigZag(c.ints[i]));
      break;
    case FeatureType::kFloat32: {
      const float f = static_cast<float>(c.doubles[i]);
      std::memcpy(p, &f, 4);
      p += 4;
      break;
    }
    case FeatureType::kFloat64:
      std::memcpy(p, &c.doubles[i], 8);
      p += 8;
      break;
    case FeatureType::kString:
    case FeatureType::kBytes:
      p = EncodeVarint64(p, c.strings[i].size());
      std::memcpy(p, c.strings[i].data(), c.strings[i].size());
      p += c.strings[i].size();
      break;
    case FeatureType::kFloat32Vector:
      std::memcpy(p, c.floats.data() + i * c.dim, size_t{c.dim} * 4);
      p += size_t{c.dim} * 4;
      break;
  }
  return p;
}

// Reads one non-null value into c; false on malformed input.
bool GetValue(ByteReader* in, Column* c) {
  if (!c->valid.empty()) c->valid.push_back(1);
  switch (c->type) {
    case FeatureType::kBool: {
      uint8_t b = in->U8();
      if (b > 1) return false;
      c->ints.push_back(b);
      break;
    }
    case FeatureType::kInt32: {
      int64_t v = in->Signed();
      if (v < INT32_MIN || v > INT32_MAX) return false;
      c->ints.push_back(v);
      break;
    }
    case FeatureType::kInt64:
    case FeatureType::kTimestamp:
      c->ints.push_back(in->Signed());
      break;
    case FeatureType::kFloat32: {
      uint32_t bits = in->U32();
      float f;
      std::memcpy(&f, &bits, 4);
      c->doubles.push_back(f);
      break;
    }
    case FeatureType::kFloat64: {
      uint64_t bits = in->U64();
      double d;
      std::memcpy(&d, &bits, 8);
      c->doubles.push_back(d);
      break;
    }
    case FeatureType::kString:
    case FeatureType::kBytes:
      c->strings.emplace_back(in->LengthPrefixed());
      break;
    case FeatureType::kFloat32Vector: {
      std::string_view raw = in->Take(size_t{c->dim} * 4);
      if (!in->ok()) return false;
      size_t at = c->floats.size();
      c->floats.resize(at + c->dim);
      std::memcpy(c->floats.data() + at, raw.data(), raw.size());
      break;
    }
  }
  return in->ok();
}

}  // namespace

bool ReadValue(ByteReader* in, FeatureType type, uint32_t dim, Value* out) {
  switch (type) {
    case FeatureType::kBool: {
      uint8_t b = in->U8();
      ValueAccess::SetScalar(out, type, b == 1 ? 1 : 0, 0);
      return in->ok() && b <= 1;
    }
    case FeatureType::kInt32: {
      int64_t v = in->Signed();
      ValueAccess::SetScalar(out, type, static_cast<int32_t>(v), 0);
      return in->ok() && v >= INT32_MIN && v <= INT32_MAX;
    }
    case FeatureType::kInt64:
    case FeatureType::kTimestamp:
      ValueAccess::SetScalar(out, type, in->Signed(), 0);
      break;
    case FeatureType::kFloat32: {
      uint32_t bits = in->U32();
      float f;
      std::memcpy(&f, &bits, 4);
      ValueAccess::SetScalar(out, type, 0, f);
      break;
    }
    case FeatureType::kFloat64: {
      uint64_t bits = in->U64();
      double d;
      std::memcpy(&d, &bits, 8);
      ValueAccess::SetScalar(out, type, 0, d);
      break;
    }
    case FeatureType::kString:
      *out = Value::String(std::string(in->LengthPrefixed()));
      break;
    case FeatureType::kBytes:
      *out = Value::Bytes(std::string(in->LengthPrefixed()));
      break;
    case FeatureType::kFloat32Vector: {
      std::string_view raw = in->Take(size_t{dim} * 4);
      std::vector<float> v(dim);
      if (in->ok()) std::memcpy(v.data(), raw.data(), raw.size());
      *out = Value::Vector(std::move(v));
      break;
    }
  }
  return in->ok();
}

namespace {
// At most how many bytes EncodeRowValuesAt writes for `row`.
size_t RowValuesBound(const Run& run, size_t row) {
  size_t bytes = (run.columns.size() + 7) / 8;
  for (const Column& c : run.columns) bytes += ValueBound(c, row);
  return bytes;
}

// EncodeRowValues at p (room for RowValuesBound bytes); returns the end.
char* EncodeRowValuesAt(const Run& run, size_t row, char* p) {
  const size_t n = run.columns.size();
  char* bitmap = p;
  std::memset(bitmap, 0, (n + 7) / 8);
  p += (n + 7) / 8;
  for (size_t c = 0; c < n; ++c) {
    if (run.columns[c].is_null(row)) continue;
    bitmap[c / 8] = static_cast<char>(bitmap[c / 8] | (1 << (c % 8)));
    p = PutValue(run.columns[c], row, p);
  }
  return p;
}
}  // namespace

void EncodeRowValues(const Run& run, size_t row, std::string* dst) {
  AppendBounded(dst, RowValuesBound(run, row), [&](char* p) { return EncodeRowValuesAt(run, row, p); });
}

bool DecodeRowValues(ByteReader* in, const ColumnTypes& types, size_t n, Run* out) {
  if (n > types.types.size()) return false;
  std::string_view bitmap = in->Take((n + 7) / 8);
  if (!in->ok()) return false;
  for (size_t c = 0; c < out->columns.size(); ++c) {
    bool present = c < n && (static_cast<uint8_t>(bitmap[c / 8]) >> (c % 8)) & 1;
    if (!present) {
      out->columns[c].AppendNull();
    } else if (!GetValue(in, &out->columns[c])) {
      return false;
    }
  }
  return in->ok();
}

static Run EmptyRunFor(const ColumnTypes& types) {
  Run r;
  for (size_t c = 0; c < types.types.size(); ++c) r.columns.push_back(Column::Of(types.types[c], types.dims[c]));
  return r;
}

// ---- row batch block ----

std::string EncodeRowsBlock(const Run& run) {
  // Sized once for the worst case, written through a pointer, cut to size: an append per
  // value (a capacity check and a size update each) was a third of a commit's encoding.
  size_t bound = 12;
  for (size_t i = 0; i < run.size(); ++i) bound += 10 + run.keys[i].size() + 30 + RowValuesBound(run, i);
  std::string out;
  AppendBounded(&out, bound, [&](char* p) {
    auto fixed32 = [&p](uint32_t v) {
      std::memcpy(p, &v, 4);
      p += 4;
    };
    fixed32(run.view_id);
    fixed32(static_cast<uint32_t>(run.size()));
    fixed32(static_cast<uint32_t>(run.columns.size()));
    for (size_t i = 0; i < run.size(); ++i) {
      p = EncodeVarint64(p, run.keys[i].size());
      std::memcpy(p, run.keys[i].data(), run.keys[i].size());
      p += run.keys[i].size();
      p = EncodeVarint64(p, ZigZag(run.event_ts[i]));
      p = EncodeVarint64(p, ZigZag(run.system_ts[i]));
      p = EncodeVarint64(p, run.seq[i]);
      p = EncodeRowValuesAt(run, i, p);
    }
    return p;
  });
  return out;
}

Result<Run> DecodeRowsBlock(std::string_view payload, const ColumnTypes& view_types) {
  ByteReader in(payload);
  Run run = EmptyRunFor(view_types);
  run.view_id = in.U32();
  uint32_t rows = in.U32();
  uint32_t nfeat = in.U32();
  if (!in.ok() || nfeat > view_types.types.size() || rows > payload.size())
    return Status::Corruption("row batch header is malformed");
  run.keys.reserve(rows);
  for (uint32_t i = 0; i < rows; ++i) {
    run.keys.emplace_back(in.LengthPrefixed());
    run.event_ts.push_back(in.Signed());
    run.system_ts.push_back(in.Signed());
    run.seq.push_back(in.Varint());
    if (!in.ok() || !DecodeRowValues(&in, view_types, nfeat, &run))
      return Status::Corruption("row batch row " + std::to_string(i) + " is malformed");
  }
  if (in.remaining() != 0) return Status::Corruption("row batch has trailing bytes");
  return run;
}

// ---- segment ----
//
// Chunk header (20 bytes): u8 codec, u8 encoding, u16 reserved, u32 stored_len, u32 raw_len,
// u64 XXH3(header[0,12) + stored, seed = absolute file offset of the chunk).

namespace {

constexpr uint32_t kSegmentMagic = 0x47455350;  // "PSEG"
enum Encoding : uint8_t {
  kKeyRuns = 1,
  kDeltaVarint = 2,
  kPlain = 3,
  kDictionary = 4,
  kDeltaRestarts = 5,
  kInt64KeyRuns = 6,
  kTimeFrames = 7
};

// FRAMES (time chunks): rows in groups of kDeltaRestartRows, each its least value (8 bytes), a
// width w and every row's difference from that value in w bits (FORMAT.md 1.10).
constexpr size_t kFrameHeaderBytes = 9;
// Row j's w-bit difference among `data`'s packed ones, read a byte at a time (its bytes alone):
// for rows whose 8-byte load would pass the chunk's end, and widths over 56.
inline uint64_t FrameDifferenceByBytes(const char* data, size_t j, unsigned w) {
  if (w == 0) return 0;
  const size_t bit = j * w, byte = bit >> 3;
  const unsigned shift = static_cast<unsigned>(bit & 7);
  unsigned __int128 bits = 0;
  for (size_t k = 0; k < (shift + w + 7) / 8; ++k)
    bits |= static_cast<unsigned __int128>(static_cast<uint8_t>(data[byte + k])) << (8 * k);
  bits >>= shift;
  return w == 64 ? static_cast<uint64_t>(bits) : static_cast<uint64_t>(bits) & ((uint64_t{1} << w) - 1);
}

// An encoded key of one int64 part: the tag 0x01 and 8 bytes (key_codec.cc).
constexpr size_t kInt64KeySize = 9;
bool IsInt64Key(std::string_view key) { return key.size() == kInt64KeySize && key[0] == '\x01'; }
uint64_t Int64KeyBits(std::string_view key) { return __builtin_bswap64(LoadFixed64(key.data() + 1)); }
void PutInt64Key(uint64_t bits, char* to) {
  to[0] = '\x01';
  const uint64_t big_endian = __builtin_bswap64(bits);
  std::memcpy(to + 1, &big_endian, 8);
}
// A KEY_INT64_RUNS run's varint: the key's difference from the run before (0 for the first)
// above two bits of its length: 0-2 for 1-3 rows, 3 when a varint of the length - 4 follows.
constexpr uint64_t kInt64KeyRunsMaxDifference = (uint64_t{1} << 62) - 1;

// Rows [b, e) of column c.
void PutNullBitmap(const Column& c, size_t b, size_t e, std::string* raw) {
  if (c.valid.empty() || std::all_of(c.valid.begin() + b, c.valid.begin() + e, [](uint8_t v) { return v; })) {
    raw->push_back(0);
    return;
  }
  raw->push_back(1);
  size_t at = raw->size();
  raw->append((e - b + 7) / 8, '\0');
  for (size_t i = b; i < e; ++i)
    if (c.valid[i]) (*raw)[at + (i - b) / 8] = static_cast<char>((*raw)[at + (i - b) / 8] | (1 << ((i - b) % 8)));
}

// The chunk of rows [b, e) of column c, and its encoding.
uint8_t EncodeFeatureChunk(const Column& c, size_t b, size_t e, std::string* raw) {
  PutNullBitmap(c, b, e, raw);
  if (c.type == FeatureType::kString || c.type == FeatureType::kBytes) {
    std::unordered_map<std::string_view, uint32_t> dict;
    std::vector<std::string_view> entries;
    size_t plain_bytes = 0;
    for (size_t i = b; i < e; ++i) {
      if (c.is_null(i)) continue;
      plain_bytes += c.strings[i].size() + 1;
      if (dict.emplace(c.strings[i], static_cast<uint32_t>(entries.size())).second) entries.push_back(c.strings[i]);
    }
    size_t dict_bytes = (e - b) * 2;
    for (std::string_view entry : entries) dict_bytes += entry.size() + 1;
    if (!entries.empty() && dict_bytes < plain_bytes) {
      PutVarint64(raw, entries.size());
      for (std::string_view entry : entries) PutBytes(raw, entry);
      for (size_t i = b; i < e; ++i)
        if (!c.is_null(i)) PutVarint64(raw, dict[c.strings[i]]);
      return kDictionary;
    }
  }
  switch (c.type) {
    case FeatureType::kInt32:
    case FeatureType::kInt64:
    case FeatureType::kTimestamp: {
      // Deltas between consecutive non-null values (wrapping arithmetic).
      int64_t prev = 0;
      for (size_t i = b; i < e; ++i) {
        if (c.is_null(i)) continue;
        PutVarint64(raw, ZigZag(static_cast<int64_t>(static_cast<uint64_t>(c.ints[i]) - static_cast<uint64_t>(prev))));
        prev = c.ints[i];
      }
      break;
    }
    case FeatureType::kFloat64:
      if (c.valid.empty()) {  // the common dense case: one copy
        raw->append(reinterpret_cast<const char*>(c.doubles.data() + b), (e - b) * 8);
        break;
      }
      [[fallthrough]];
    default: {
      size_t bound = 0;
      for (size_t i = b; i < e; ++i)
        if (!c.is_null(i)) bound += ValueBound(c, i);
      AppendBounded(raw, bound, [&](char* p) {
        for (size_t i = b; i < e; ++i)
          if (!c.is_null(i)) p = PutValue(c, i, p);
        return p;
      });
    }
  }
  return kPlain;
}

Status DecodeFeatureChunk(std::string_view raw, uint8_t encoding, size_t n, Column* c) {
  ByteReader in(raw);
  uint8_t has_nulls = in.U8();
  std::vector<uint8_t> valid;
  if (has_nulls > 1) return Status::Corruption("bad null flag");
  if (has_nulls) {
    std::string_view bitmap = in.Take((n + 7) / 8);
    if (!in.ok()) return Status::Corruption("truncated null bitmap");
    valid.resize(n);
    for (size_t i = 0; i < n; ++i) valid[i] = (static_cast<uint8_t>(bitmap[i / 8]) >> (i % 8)) & 1;
  }
  auto present = [&](size_t i) { return valid.empty() || valid[i]; };
  if (encoding == kDictionary) {
    if (c->type != FeatureType::kString && c->type != FeatureType::kBytes)
      return Status::Corruption("dictionary encoding on a non-string column");
    uint64_t count = in.Varint();
    if (!in.ok() || count > raw.size()) return Status::Corruption("bad dictionary size");
    std::vector<std::string_view> entries(count);
    for (auto& e : entries) e = in.LengthPrefixed();
    c->strings.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      if (!present(i)) {
        c->strings.emplace_back();
        continue;
      }
      uint64_t idx = in.Varint();
      if (!in.ok() || idx >= count) return Status::Corruption("dictionary index out of range");
      c->strings.emplace_back(entries[idx]);
    }
  } else if (encoding == kPlain && !has_nulls && c->type == FeatureType::kFloat64 &&
             std::endian::native == std::endian::little) {
    // The common case, as one copy: n little-endian doubles.
    if (in.remaining() != n * 8) return Status::Corruption("feature chunk has the wrong length");
    std::string_view bytes = in.Take(n * 8);
    c->doubles.resize(n);
    if (n) std::memcpy(c->doubles.data(), bytes.data(), n * 8);
  } else if (encoding == kPlain && !has_nulls && c->ints.empty() &&
             (c->type == FeatureType::kInt64 || c->type == FeatureType::kTimestamp)) {
    // The other common case: n zigzag varint deltas, several taken from each load (at least a
    // byte each: fewer bytes is damage, found before n slots are made).
    if (n > in.remaining()) return Status::Corruption("feature chunk has the wrong length");
    c->ints.resize(n);
    uint64_t sum = 0;
    if (!in.DeltaVarints(n, c->ints.data(), &sum)) return Status::Corruption("malformed or truncated varints");
  } else if (encoding == kPlain) {
    bool ints = c->type == FeatureType::kInt32 || c->type == FeatureType::kInt64 || c->type == FeatureType::kTimestamp;
    if (ints)
      c->ints.reserve(n);
    else if (c->type == FeatureType::kFloat32 || c->type == FeatureType::kFloat64)
      c->doubles.reserve(n);
    int64_t prev = 0;
    for (size_t i = 0; i < n; ++i) {
      if (!present(i)) {
        // A default slot; validity is set from the bitmap at the end.
        switch (c->type) {
          case FeatureType::kFloat32:
          case FeatureType::kFloat64:
            c->doubles.push_back(0);
            break;
          case FeatureType::kString:
          case FeatureType::kBytes:
            c->strings.emplace_back();
            break;
          case FeatureType::kFloat32Vector:
            c->floats.insert(c->floats.end(), c->dim, 0.0f);
            break;
          default:
            c->ints.push_back(0);
        }
        continue;
      }
      if (ints) {
        prev = static_cast<int64_t>(static_cast<uint64_t>(prev) + static_cast<uint64_t>(in.Signed()));
        if (c->type == FeatureType::kInt32 && (prev < INT32_MIN || prev > INT32_MAX))
          return Status::Corruption("int32 value out of range");
        c->ints.push_back(prev);
      } else if (!GetValue(&in, c)) {
        return Status::Corruption("malformed value at row " + std::to_string(i));
      }
    }
  } else {
    return Status::Corruption("unknown chunk encoding " + std::to_string(encoding));
  }
  if (!in.ok() || in.remaining() != 0) return Status::Corruption("feature chunk has the wrong length");
  c->valid = std::move(valid);
  if (c->size() != n) return Status::Corruption("feature chunk row count mismatch");
  return Status::OK();
}

// A page's three time chunks (event_ts, system_ts, seq), each DELTA or DELTA_RESTARTS, decoded
// together. Each varint's length depends on the one before it in its chunk, a chain of dependent
// loads of about a dozen cycles a value; three chains interleaved overlap. With restarts in all
// three, rows from the last restart at or before the first row asked for are decoded, not the
// page's from its first. Without seq (chains = 2), only the two times. Or all FRAMES: each row
// read alone from its group, no chain at all.
class TimeChunks {
 public:
  TimeChunks() = default;
  TimeChunks(const TimeChunks&) = delete;  // group_at_ may point into this object
  TimeChunks& operator=(const TimeChunks&) = delete;

  Status Init(const std::string_view raw[3], const uint8_t encodings[3], size_t n, int chains = 3) {
    n_ = n;
    chains_ = chains;
    frames_ = encodings[0] == kTimeFrames;
    if (frames_) return InitFrames(raw, encodings);
    all_restarted_ = true;
    for (int k = 0; k < chains; ++k) {
      if (encodings[k] != kDeltaVarint && encodings[k] != kDeltaRestarts)
        return Status::Corruption(encodings[k] == kTimeFrames ? "time chunks of a page mix frames and deltas"
                                  : k < 2                     ? "timestamp chunk has the wrong encoding"
                                                              : "seq chunk has the wrong encoding");
      restarted_[k] = encodings[k] == kDeltaRestarts;
      all_restarted_ = all_restarted_ && restarted_[k];
      // DELTA_RESTARTS: the varints, then a u32 offset for each restart after row 0.
      const size_t tail = restarted_[k] && n > 0 ? (n - 1) / kDeltaRestartRows * 4 : 0;
      if (raw[k].size() < tail) return Status::Corruption("delta chunk has the wrong length");
      deltas_[k] = raw[k].substr(0, raw[k].size() - tail);
      restarts_[k] = raw[k].data() + deltas_[k].size();
    }
    return Status::OK();
  }

  // Rows [b, e) into a[0, e - b), s[...], q[...]; q null when Init was given two chains (and
  // only then, unless the rows are none).
  Status Decode(size_t b, size_t e, int64_t* a, int64_t* s, uint64_t* q) const {
    if (chains_ == 2 && q) return Status::InvalidArgument("seq asked of time chunks read without it");
    if (chains_ == 3 && !q && e > b) return Status::InvalidArgument("no room for the seq of time chunks");
    if (frames_) {
      if (b > e || e > n_) return Status::InvalidArgument("rows outside the page");
      DecodeFrames(0, b, e, reinterpret_cast<uint64_t*>(a));
      DecodeFrames(1, b, e, reinterpret_cast<uint64_t*>(s));
      if (chains_ == 3) DecodeFrames(2, b, e, q);
      return Status::OK();
    }
    return chains_ == 3 ? DecodeChains<true>(b, e, a, s, q) : DecodeChains<false>(b, e, a, s, q);
  }

 private:
  // Each chain's groups found and checked: a header each, then exactly the bytes its width and
  // rows take, the last group ending the chunk.
  Status InitFrames(const std::string_view raw[3], const uint8_t encodings[3]) {
    const size_t groups = (n_ + kDeltaRestartRows - 1) / kDeltaRestartRows;
    for (int k = 0; k < chains_; ++k) {
      if (encodings[k] != kTimeFrames) return Status::Corruption("time chunks of a page mix frames and deltas");
      // A header a group at least, before anything is sized by the footer's page rows.
      if (raw[k].size() / kFrameHeaderBytes < groups) return Status::Corruption("time frame chunk is truncated");
      if (groups > kInlineGroups) {
        spilled_[k].resize(groups);
        group_at_[k] = spilled_[k].data();
      } else {
        group_at_[k] = inline_groups_[k];
      }
      size_t at = 0;
      for (size_t g = 0; g < groups; ++g) {
        const size_t m = std::min(kDeltaRestartRows, n_ - g * kDeltaRestartRows);
        if (raw[k].size() - at < kFrameHeaderBytes) return Status::Corruption("time frame chunk is truncated");
        const unsigned w = static_cast<uint8_t>(raw[k][at + 8]);
        if (w > 64) return Status::Corruption("time frame width out of range");
        group_at_[k][g] = static_cast<uint32_t>(at);
        at += kFrameHeaderBytes;
        if (raw[k].size() - at < (m * w + 7) / 8) return Status::Corruption("time frame chunk is truncated");
        at += (m * w + 7) / 8;
      }
      if (at != raw[k].size()) return Status::Corruption("time frame chunk has the wrong length");
      deltas_[k] = raw[k];
    }
    return Status::OK();
  }
  // Rows [b, e) of chain k into out[0, e - b): each its group's least value plus its difference.
  void DecodeFrames(int k, size_t b, size_t e, uint64_t* out) const {
    const char* const chunk = deltas_[k].data();
    const size_t size = deltas_[k].size();
    for (size_t i = b; i < e;) {
      const size_t g = i / kDeltaRestartRows, first = g * kDeltaRestartRows;
      const size_t to = std::min(e, first + kDeltaRestartRows);
      const char* const header = chunk + group_at_[k][g];
      const uint64_t least = LoadFixed64(header);
      const unsigned w = static_cast<uint8_t>(header[8]);
      const char* const data = header + kFrameHeaderBytes;
      const size_t readable = static_cast<size_t>(chunk + size - data);
      if (w > 0 && w <= 56 && readable >= 8) {
        // One load, shift and mask a row, for the rows j whose load [j * w / 8, + 8) lies in the
        // chunk: j * w / 8 <= readable - 8, that is j <= (8 * (readable - 8) + 7) / w.
        const size_t fast_to = std::min(to, first + (8 * (readable - 8) + 7) / w + 1);
        const uint64_t mask = (uint64_t{1} << w) - 1;
        for (; i < fast_to; ++i) {
          const size_t bit = (i - first) * w;
          out[i - b] = least + ((LoadFixed64(data + bit / 8) >> (bit % 8)) & mask);
        }
      }
      for (; i < to; ++i) out[i - b] = least + FrameDifferenceByBytes(data, i - first, w);
    }
  }

  template <bool kSeq>
  Status DecodeChains(size_t b, size_t e, int64_t* a, int64_t* s, uint64_t* q) const {
    constexpr int kChains = kSeq ? 3 : 2;
    const size_t start = all_restarted_ ? b / kDeltaRestartRows * kDeltaRestartRows : 0;
    ByteReader in[3] = {ByteReader(deltas_[0]), ByteReader(deltas_[1]), ByteReader(deltas_[2])};
    if (start > 0)
      for (int k = 0; k < kChains; ++k) {
        // Within the varints, and after the restart before it (row 64 at least one byte a row).
        const uint32_t at = RestartOffset(k, start);
        const uint32_t before = start > kDeltaRestartRows ? RestartOffset(k, start - kDeltaRestartRows) : 0;
        if (at > deltas_[k].size() || at < before + kDeltaRestartRows)
          return Status::Corruption("delta chunk restart out of range");
        in[k] = ByteReader(deltas_[k].substr(at));
      }
    uint64_t sum[3] = {0, 0, 0};
    for (size_t from = start; from < e;) {
      if (from > start && from % kDeltaRestartRows == 0)
        for (int k = 0; k < kChains; ++k) {
          if (!restarted_[k]) continue;
          if (static_cast<size_t>(in[k].position() - deltas_[k].data()) != RestartOffset(k, from))
            return Status::Corruption("delta chunk restart offset does not match its rows");
          sum[k] = 0;
        }
      const size_t to = std::min(e, (from / kDeltaRestartRows + 1) * kDeltaRestartRows);
      size_t i = from;
      for (; i < std::min(to, b); ++i) {  // before the rows asked for: sums only
        sum[0] += static_cast<uint64_t>(in[0].Signed());
        sum[1] += static_cast<uint64_t>(in[1].Signed());
        if constexpr (kSeq) sum[2] += static_cast<uint64_t>(in[2].Signed());
      }
      for (; i < to; ++i) {
        sum[0] += static_cast<uint64_t>(in[0].Signed());
        sum[1] += static_cast<uint64_t>(in[1].Signed());
        a[i - b] = static_cast<int64_t>(sum[0]);
        s[i - b] = static_cast<int64_t>(sum[1]);
        if constexpr (kSeq) {
          sum[2] += static_cast<uint64_t>(in[2].Signed());
          q[i - b] = sum[2];
        }
      }
      from = to;
    }
    for (int k = 0; k < kChains; ++k)
      if (!in[k].ok() || (e == n_ && in[k].remaining() != 0))
        return Status::Corruption("delta chunk has the wrong length");
    return Status::OK();
  }

  uint32_t RestartOffset(int k, size_t row) const {
    return LoadFixed32(restarts_[k] + (row / kDeltaRestartRows - 1) * 4);
  }
  size_t n_ = 0;
  int chains_ = 3;
  bool frames_ = false;
  // FRAMES: where each group starts in its chunk, in place for pages of up to 1,024 rows.
  static constexpr size_t kInlineGroups = 16;
  uint32_t inline_groups_[3][kInlineGroups];
  std::vector<uint32_t> spilled_[3];
  uint32_t* group_at_[3] = {nullptr, nullptr, nullptr};
  std::string_view deltas_[3];
  const char* restarts_[3] = {nullptr, nullptr, nullptr};
  bool restarted_[3] = {false, false, false};
  bool all_restarted_ = false;
};

}  // namespace
}  // namespace pitstore

#include "pitstore_generated.h"

namespace pitstore {

namespace {

CompressedChunk Compress(int column, uint8_t encoding, std::string&& raw, int level) {
  CompressedChunk c{column, encoding, false, static_cast<uint32_t>(raw.size()), {}};
  std::string compressed = level > 0 ? ZstdCompress(raw, level) : std::string();
  // Kept only when it saves a quarter: zstd 1.5 decompresses a chunk of varints or floats at
  // about 2.6 ns a byte plus 1 us (bench/README.md), ten times what reading its bytes from the
  // page cache costs, so a chunk it barely shrinks (seq deltas of a key-sorted page, 23%;
  // full-precision floats, 6%) would cost every read far more than the bytes it saves.
  if (!compressed.empty() && compressed.size() <= raw.size() - raw.size() / 4) {
    c.zstd = true;
    c.stored = std::move(compressed);
  } else {
    c.stored = std::move(raw);
  }
  return c;
}

// Rows [begin, end) of `run` as one page's 4 + n chunks, compressed. `zstd_pays` says, by chunk
// index, where the last probe page (every kZstdProbePages-th of a call's pages) kept zstd: a
// probe page tries zstd on every chunk and records which it kept; the pages after it try it
// only there, so a column of full-precision floats costs one thrown-away compression attempt
// in 16 pages, not one a page.
std::vector<CompressedChunk> EncodePage(const Run& run, size_t begin, size_t end, const PageFormat& format,
                                        bool probe_page, std::vector<char>* zstd_pays) {
  const int zstd_level = format.zstd_level;
  std::vector<CompressedChunk> out;
  const size_t chunks = 4 + run.columns.size();
  if (probe_page || zstd_pays->size() != chunks) zstd_pays->assign(chunks, 1);
  auto level = [&](size_t chunk) { return (*zstd_pays)[chunk] ? zstd_level : 0; };
  std::string raw;
  std::vector<std::pair<size_t, size_t>> runs;
  for (size_t i = begin; i < end;) {
    size_t j = i;
    while (j < end && run.keys[j] == run.keys[i]) ++j;
    runs.emplace_back(i, j - i);
    i = j;
  }
  // Keys of one int64 part each as differences (KEY_INT64_RUNS), where the file allows them
  // and no two keys are 2^62 apart: a byte a run in a page as ingested, read without zstd,
  // whose decompression of KEY_RUNS cost more than the rest of decoding such a page.
  bool int64_keys = format.int64_key_runs && !runs.empty();
  for (size_t r = 0; r < runs.size() && int64_keys; ++r) {
    if (!IsInt64Key(run.keys[runs[r].first])) int64_keys = false;
    if (r == 0 || !int64_keys) continue;
    const uint64_t bits = Int64KeyBits(run.keys[runs[r].first]), before = Int64KeyBits(run.keys[runs[r - 1].first]);
    int64_keys = bits > before && bits - before <= kInt64KeyRunsMaxDifference;  // rising, as a reader checks
  }
  PutVarint64(&raw, runs.size());
  if (int64_keys) {
    uint64_t previous = Int64KeyBits(run.keys[runs[0].first]);
    PutFixed64(&raw, previous);
    for (auto [start, len] : runs) {
      const uint64_t bits = Int64KeyBits(run.keys[start]);
      PutVarint64(&raw, ((bits - previous) << 2) | std::min<uint64_t>(len - 1, 3));
      if (len > 3) PutVarint64(&raw, len - 4);
      previous = bits;
    }
    // Never zstd: it would shrink the runs of a page as ingested by half again, and cost more
    // to read than all of their decoding.
    out.push_back(Compress(-1, kInt64KeyRuns, std::move(raw), 0));
  } else {
    for (auto [start, len] : runs) {
      PutBytes(&raw, run.keys[start]);
      PutVarint64(&raw, len);
    }
    out.push_back(Compress(-1, kKeyRuns, std::move(raw), level(0)));
  }
  // FRAMES, where the file allows them: a group's least value (as int64 for times, as u64 for
  // seq: `is_signed`), then each row's difference from it, packed in the fewest bits that hold
  // the group's greatest.
  auto frames = [&](int column, auto get, bool is_signed) {
    std::string d;
    for (size_t g = begin; g < end; g += kDeltaRestartRows) {
      const size_t m = std::min(kDeltaRestartRows, end - g);
      uint64_t least = static_cast<uint64_t>(get(g));
      for (size_t i = g + 1; i < g + m; ++i) {
        const uint64_t v = static_cast<uint64_t>(get(i));
        if (is_signed ? static_cast<int64_t>(v) < static_cast<int64_t>(least) : v < least) least = v;
      }
      uint64_t any = 0;  // every difference's bits: its width is the greatest's
      for (size_t i = g; i < g + m; ++i) any |= static_cast<uint64_t>(get(i)) - least;
      const unsigned w = any == 0 ? 0 : 64 - static_cast<unsigned>(__builtin_clzll(any));
      PutFixed64(&d, least);
      d.push_back(static_cast<char>(w));
      // Bit k of row j is bit j * w + k of the group's bytes, little-endian: appended to a
      // 128-bit accumulator, eight bytes written whenever it holds 64 bits.
      size_t at = d.size();
      d.append((m * w + 7) / 8, '\0');
      unsigned __int128 pending = 0;
      unsigned held = 0;
      for (size_t j = 0; j < m && w > 0; ++j) {
        pending |= static_cast<unsigned __int128>(static_cast<uint64_t>(get(g + j)) - least) << held;
        held += w;
        if (held >= 64) {
          const uint64_t word = static_cast<uint64_t>(pending);
          std::memcpy(d.data() + at, &word, 8);  // little-endian hosts only (as the reader)
          at += 8;
          pending >>= 64;
          held -= 64;
        }
      }
      for (; held > 0; held = held > 8 ? held - 8 : 0, pending >>= 8) d[at++] = static_cast<char>(pending & 0xff);
    }
    out.push_back(Compress(column, kTimeFrames, std::move(d), level(out.size())));
  };
  auto deltas = [&](int column, auto get) {
    if (format.time_frames) return frames(column, get, column != -4);
    std::string d;
    std::vector<uint32_t> restarts;  // where rows kDeltaRestartRows, 2 * kDeltaRestartRows, ... start
    int64_t prev = 0;
    for (size_t i = begin; i < end; ++i) {
      if (format.delta_restarts && i > begin && (i - begin) % kDeltaRestartRows == 0) {
        restarts.push_back(static_cast<uint32_t>(d.size()));
        prev = 0;
      }
      int64_t x = static_cast<int64_t>(get(i));
      PutVarint64(&d, ZigZag(static_cast<int64_t>(static_cast<uint64_t>(x) - static_cast<uint64_t>(prev))));
      prev = x;
    }
    for (uint32_t at : restarts) PutFixed32(&d, at);
    out.push_back(
        Compress(column, format.delta_restarts ? kDeltaRestarts : kDeltaVarint, std::move(d), level(out.size())));
  };
  deltas(-2, [&](size_t i) { return run.event_ts[i]; });
  deltas(-3, [&](size_t i) { return run.system_ts[i]; });
  deltas(-4, [&](size_t i) { return run.seq[i]; });
  for (size_t c = 0; c < run.columns.size(); ++c) {
    std::string f;
    uint8_t enc = EncodeFeatureChunk(run.columns[c], begin, end, &f);
    out.push_back(Compress(static_cast<int>(c), enc, std::move(f), level(out.size())));
  }
  // A KEY_INT64_RUNS chunk is never compressed: it says nothing of a KEY_RUNS chunk the next
  // pages may fall back to (keys 2^62 apart), which zstd is still tried on.
  if (probe_page)
    for (size_t k = 0; k < chunks; ++k) (*zstd_pays)[k] = out[k].zstd || out[k].encoding == kInt64KeyRuns;
  return out;
}

// Places a chunk at the end of `out`, at payload position `at` (header, checksum seeded with its
// file offset).
void PlaceChunk(const CompressedChunk& c, uint64_t payload_offset, uint64_t at, std::string* out,
                flatbuffers::FlatBufferBuilder* fbb, std::vector<flatbuffers::Offset<fb::ChunkRef>>* refs) {
  const size_t start = out->size();
  out->push_back(c.zstd ? 1 : 0);
  out->push_back(static_cast<char>(c.encoding));
  PutFixed16(out, 0);
  PutFixed32(out, static_cast<uint32_t>(c.stored.size()));
  PutFixed32(out, c.raw_len);
  PutFixed64(out, Xxh3Concat(std::string_view(out->data() + start, 12), c.stored, payload_offset + at));
  out->append(c.stored);
  refs->push_back(fb::CreateChunkRef(*fbb, c.column, at, out->size() - start));
}

}  // namespace

CompressedSegment CompressSegment(const Run& run, const PageFormat& format, unsigned threads) {
  const uint32_t page_rows = format.page_rows ? format.page_rows : kDefaultPageRows;
  CompressedSegment seg;
  seg.page_rows = page_rows;
  const size_t n = run.size();
  seg.pages = CompressPages(run, n, format, threads);
  // A page at a time, as the streaming writer (SegmentAssembler::AddPage) does: the mean and
  // m2 are summed in blocks within each call, so the same calls make the same footer bytes.
  for (const Column& column : run.columns) {
    seg.stats.emplace_back();
    for (size_t begin = 0; begin < n; begin += page_rows)
      SummarizeRows(column, begin, std::min<size_t>(n, begin + page_rows), nullptr, &seg.stats.back());
  }
  seg.key_filter = BuildKeyFilter(run.keys);
  return seg;
}

std::vector<std::vector<CompressedChunk>> CompressPages(const Run& run, size_t rows, const PageFormat& format,
                                                        unsigned threads) {
  const size_t page_rows = format.page_rows ? format.page_rows : kDefaultPageRows;
  const size_t pages = (rows + page_rows - 1) / page_rows;
  std::vector<std::vector<CompressedChunk>> out(pages);
  auto encode_range = [&](size_t first, size_t last) {
    std::vector<char> zstd_pays;
    for (size_t p = first; p < last; ++p)
      out[p] = EncodePage(run, p * page_rows, std::min(rows, (p + 1) * page_rows), format, p % kZstdProbePages == 0,
                          &zstd_pays);
  };
  // Compression dominates; pages are independent, so many of them use two threads. The halves
  // split at a probe page, so the bytes written do not depend on the number of threads.
  const size_t half = pages / 2 / kZstdProbePages * kZstdProbePages;
  if (half > 0 && threads > 1) {
    std::thread helper(encode_range, half, pages);
    encode_range(0, half);
    helper.join();
  } else {
    encode_range(0, pages);
  }
  return out;
}

struct SegmentAssembler::State {
  flatbuffers::FlatBufferBuilder fbb;
  std::vector<flatbuffers::Offset<fb::ChunkRef>> refs;
};

SegmentAssembler::SegmentAssembler(uint32_t view_id, size_t features, uint32_t page_rows, uint64_t payload_offset)
    : state_(std::make_unique<State>()),
      view_id_(view_id),
      features_(features),
      page_rows_(page_rows),
      payload_offset_(payload_offset) {}

SegmentAssembler::~SegmentAssembler() = default;

void SegmentAssembler::Begin(std::string* out) {
  PutFixed32(out, view_id_);  // lets a reader pick the view's types before the footer
  size_ += 4;
}

void SegmentAssembler::AddPage(const Run& rows, size_t begin, size_t end, std::vector<CompressedChunk>&& chunks,
                               bool summarize, std::string* out) {
  for (const CompressedChunk& c : chunks) {
    const size_t before = out->size();
    PlaceChunk(c, payload_offset_, size_, out, &state_->fbb, &state_->refs);
    size_ += out->size() - before;
  }
  chunks.clear();
  page_first_keys_.push_back(rows.keys[begin]);
  page_last_keys_.push_back(rows.keys[end - 1]);
  for (size_t i = begin; i < end; ++i) {
    min_event_ts_ = std::min(min_event_ts_, rows.event_ts[i]);
    max_event_ts_ = std::max(max_event_ts_, rows.event_ts[i]);
    min_system_ts_ = std::min(min_system_ts_, rows.system_ts[i]);
    max_system_ts_ = std::max(max_system_ts_, rows.system_ts[i]);
  }
  rows_ += static_cast<uint32_t>(end - begin);
  if (!summarize) return;
  if (stats_.empty()) stats_.resize(features_);
  for (size_t c = 0; c < features_; ++c) SummarizeRows(rows.columns[c], begin, end, nullptr, &stats_[c]);
  for (size_t i = begin; i < end; ++i) {  // each distinct key once (rows are sorted by key)
    if (!key_hashes_.empty() && rows.keys[i] == last_key_) continue;
    last_key_ = rows.keys[i];
    key_hashes_.push_back(KeyFilterHash(last_key_));
  }
}

void SegmentAssembler::Finish(std::string* out, const std::vector<FeatureSummary>* stats,
                              const std::string* key_filter) {
  flatbuffers::FlatBufferBuilder& fbb = state_->fbb;
  const bool any = rows_ > 0;
  auto as_bytes = [&](const std::string& s) {
    return fbb.CreateVector(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  };
  auto min_key = as_bytes(any ? page_first_keys_.front() : std::string());
  auto max_key = as_bytes(any ? page_last_keys_.back() : std::string());
  auto chunks = fbb.CreateVector(state_->refs);
  // Each feature's statistics over every row, for Store::Summarize.
  if (!stats) {
    if (stats_.empty()) stats_.resize(features_);
    stats = &stats_;
  }
  std::vector<flatbuffers::Offset<fb::FeatureStats>> stat_offsets;
  for (const FeatureSummary& sum : *stats) {
    const std::string sketch = sum.sketch.Encode();
    auto sketch_bytes = fbb.CreateVector(reinterpret_cast<const uint8_t*>(sketch.data()), sketch.size());
    stat_offsets.push_back(fb::CreateFeatureStats(fbb, sum.rows, sum.nulls, sum.non_finite, sum.min, sum.max, sum.mean,
                                                  sum.m2, sketch_bytes));
  }
  auto stats_vector = fbb.CreateVector(stat_offsets);
  // Where each page's keys begin and end, and the filter: a point read needs no index entry
  // per key and segment.
  std::vector<flatbuffers::Offset<fb::PageKeys>> page_keys;
  for (size_t p = 0; p < page_first_keys_.size(); ++p) {
    auto first_key = as_bytes(page_first_keys_[p]);
    auto last_key = as_bytes(page_last_keys_[p]);
    page_keys.push_back(fb::CreatePageKeys(fbb, first_key, last_key));
  }
  auto page_keys_vector = fbb.CreateVector(page_keys);
  std::string built_filter;
  if (!key_filter) {
    built_filter = BuildKeyFilterOfHashes(key_hashes_);
    key_filter = &built_filter;
  }
  auto filter = fbb.CreateVector(reinterpret_cast<const uint8_t*>(key_filter->data()), key_filter->size());
  fb::SegmentFooterBuilder footer(fbb);
  footer.add_view_id(view_id_);
  footer.add_row_count(rows_);
  footer.add_feature_count(static_cast<uint32_t>(features_));
  footer.add_min_key(min_key);
  footer.add_max_key(max_key);
  footer.add_min_event_ts(any ? min_event_ts_ : INT64_MAX);
  footer.add_max_event_ts(any ? max_event_ts_ : INT64_MIN);
  footer.add_min_system_ts(any ? min_system_ts_ : INT64_MAX);
  footer.add_max_system_ts(any ? max_system_ts_ : INT64_MIN);
  footer.add_chunks(chunks);
  footer.add_page_rows(page_rows_);
  footer.add_feature_stats(stats_vector);
  footer.add_page_keys(page_keys_vector);
  footer.add_key_filter(filter);
  fbb.Finish(footer.Finish());
  const size_t start = out->size();
  out->append(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize());
  PutFixed32(out, fbb.GetSize());
  PutFixed64(out, Xxh3(std::string_view(out->data() + start, fbb.GetSize()), payload_offset_ + size_));
  PutFixed32(out, kSegmentMagic);
  size_ += out->size() - start;
}

uint64_t PlacedPagesBytes(const CompressedSegment& seg) {
  uint64_t bytes = 4;  // the view id
  for (const auto& page : seg.pages)
    for (const CompressedChunk& c : page) bytes += kChunkHeaderSize + c.stored.size();
  return bytes;
}

Result<uint64_t> PlaceSegmentInto(const Run& run, CompressedSegment&& seg, uint64_t payload_offset, std::string* out,
                                  const std::function<Status(std::string*)>& drain) {
  SegmentAssembler assembler(run.view_id, run.columns.size(), seg.page_rows, payload_offset);
  assembler.Begin(out);
  const size_t n = run.size();
  for (size_t p = 0; p < seg.pages.size(); ++p) {
    const size_t begin = p * seg.page_rows;
    assembler.AddPage(run, begin, std::min(n, begin + seg.page_rows), std::move(seg.pages[p]), false, out);
    seg.pages[p].shrink_to_fit();
    if (drain) PITSTORE_RETURN_IF_ERROR(drain(out));
  }
  assembler.Finish(out, &seg.stats, &seg.key_filter);
  return assembler.payload_size();
}

std::string PlaceSegment(const Run& run, CompressedSegment&& seg, uint64_t payload_offset) {
  std::string out;
  out.reserve(PlacedPagesBytes(seg) + 4096);
  (void)PlaceSegmentInto(run, std::move(seg), payload_offset, &out);  // fails only when a drain does
  return out;
}

std::string EncodeSegment(const Run& run, uint64_t payload_offset, const PageFormat& format, unsigned threads) {
  return PlaceSegment(run, CompressSegment(run, format, threads), payload_offset);
}

Result<size_t> SegmentFooterLength(std::string_view tail16) {
  if (tail16.size() != kSegmentTailBytes || LoadFixed32(tail16.data() + 12) != kSegmentMagic)
    return Status::Corruption("segment has no footer magic");
  return static_cast<size_t>(LoadFixed32(tail16.data()));
}

Result<SegmentLayout> DecodeSegmentFooter(std::string_view footer_in, std::string_view tail16, uint64_t payload_offset,
                                          uint64_t footer_at, bool verify) {
  if (verify && Xxh3(footer_in, payload_offset + footer_at) != LoadFixed64(tail16.data() + 4))
    return Status::Corruption("segment footer checksum mismatch");
  // Flatbuffers reads need an aligned buffer; the footer sits at any offset of the payload.
  std::string footer_bytes(footer_in);
  flatbuffers::Verifier verifier(reinterpret_cast<const uint8_t*>(footer_bytes.data()), footer_bytes.size());
  if (!verifier.VerifyBuffer<fb::SegmentFooter>(nullptr)) return Status::Corruption("segment footer does not verify");
  const fb::SegmentFooter* f = flatbuffers::GetRoot<fb::SegmentFooter>(footer_bytes.data());
  SegmentLayout l;
  l.view_id = f->view_id();
  l.rows = f->row_count();
  l.features = f->feature_count();
  l.page_rows = f->page_rows();
  l.payload_offset = payload_offset;
  l.min_system_ts = f->min_system_ts();
  l.max_system_ts = f->max_system_ts();
  l.min_event_ts = f->min_event_ts();
  l.max_event_ts = f->max_event_ts();
  if (f->min_key()) l.min_key.assign(reinterpret_cast<const char*>(f->min_key()->data()), f->min_key()->size());
  if (f->max_key()) l.max_key.assign(reinterpret_cast<const char*>(f->max_key()->data()), f->max_key()->size());
  size_t per_page = 4 + size_t{l.features};
  if (l.page_rows == 0 || l.features > 65536)
    return Status::Corruption("segment footer: bad page size or feature count");
  size_t pages = (size_t{l.rows} + l.page_rows - 1) / l.page_rows;
  if (!f->chunks() || f->chunks()->size() != pages * per_page)
    return Status::Corruption("segment chunk list is incomplete");
  uint64_t expect = 4;  // chunks follow the view id, back to back
  for (size_t i = 0; i < f->chunks()->size(); ++i) {
    const fb::ChunkRef* ref = f->chunks()->Get(static_cast<flatbuffers::uoffset_t>(i));
    int want = static_cast<int>(i % per_page) - 4;
    if (ref->column() != (want < 0 ? -1 - (want + 4) : want)) return Status::Corruption("segment chunks out of order");
    if (ref->offset() != expect || ref->length() < kChunkHeaderSize || ref->length() > footer_at - expect)
      return Status::Corruption("segment chunk out of bounds");
    expect += ref->length();
    l.chunks.emplace_back(ref->offset(), ref->length());
  }
  if (expect != footer_at) return Status::Corruption("segment chunks do not fill the payload");
  if (const auto* stats = f->feature_stats()) {
    if (stats->size() != l.features) return Status::Corruption("segment statistics do not match its features");
    for (const fb::FeatureStats* fs : *stats) {
      FeatureSummary sum;
      sum.rows = fs->rows(), sum.nulls = fs->nulls(), sum.non_finite = fs->non_finite();
      sum.min = fs->min(), sum.max = fs->max(), sum.mean = fs->mean(), sum.m2 = fs->m2();
      std::string_view sketch;
      if (fs->sketch()) sketch = {reinterpret_cast<const char*>(fs->sketch()->data()), fs->sketch()->size()};
      if (sum.rows != l.rows || sum.nulls + sum.non_finite > sum.rows || !ValueSketch::Decode(sketch, &sum.sketch) ||
          sum.sketch.count() != sum.finite())
        return Status::Corruption("segment statistics are inconsistent");
      l.stats.push_back(std::move(sum));
    }
  }
  if (const auto* keys = f->page_keys()) {
    if (keys->size() != pages) return Status::Corruption("segment page keys do not match its pages");
    l.page_first_keys.reserve(pages);
    l.page_last_keys.reserve(pages);
    for (const fb::PageKeys* k : *keys) {
      if (!k->first() || !k->last()) return Status::Corruption("segment page keys are incomplete");
      l.page_first_keys.emplace_back(reinterpret_cast<const char*>(k->first()->data()), k->first()->size());
      l.page_last_keys.emplace_back(reinterpret_cast<const char*>(k->last()->data()), k->last()->size());
      const size_t p = l.page_first_keys.size() - 1;
      if (l.page_last_keys[p] < l.page_first_keys[p] || (p > 0 && l.page_first_keys[p] < l.page_last_keys[p - 1]))
        return Status::Corruption("segment page keys out of order");
    }
  }
  if (const auto* filter = f->key_filter()) {
    if (filter->size() % kKeyFilterBlockBytes != 0) return Status::Corruption("segment key filter has a bad size");
    l.key_filter.assign(reinterpret_cast<const char*>(filter->data()), filter->size());
  }
  return l;
}

std::pair<uint64_t, uint64_t> SegmentLayout::PageRange(size_t page) const {
  size_t per_page = 4 + size_t{features};
  const auto& first = chunks[page * per_page];
  const auto& last = chunks[page * per_page + per_page - 1];
  return {first.first, last.first + last.second - first.first};
}

namespace {

// The chunks of one page, read from `bytes` (the page's range from its start, through the last
// chunk asked for; the bytes of chunks not asked for may be anything): each verified against
// its checksum when asked, and inflated when zstd.
class PageChunks {
 public:
  PageChunks(const SegmentLayout& l, size_t page, std::string_view bytes, bool verify)
      : l_(l), first_(page * (4 + size_t{l.features})), bytes_(bytes), verify_(verify) {}
  // Chunk `idx` of the page (0 keys, 1 event_ts, 2 system_ts, 3 seq, 4 + f feature f): its
  // decoded bytes, the stored ones (codec 0) or `*buffer`'s, valid until its next use.
  Result<std::string_view> Get(size_t idx, uint8_t* encoding, std::string* buffer) const {
    const uint64_t base = l_.chunks[first_].first;
    auto [off, len] = l_.chunks[first_ + idx];
    if (off < base || off - base + len > bytes_.size()) return Status::Corruption("segment chunk outside its page");
    const char* p = bytes_.data() + (off - base);
    uint8_t codec = static_cast<uint8_t>(p[0]);
    *encoding = static_cast<uint8_t>(p[1]);
    uint32_t stored_len = LoadFixed32(p + 4), raw_len = LoadFixed32(p + 8);
    if (stored_len != len - kChunkHeaderSize || codec > 1 || (codec == 0 && stored_len != raw_len))
      return Status::Corruption("segment chunk header is inconsistent");
    std::string_view stored(p + kChunkHeaderSize, stored_len);
    if (verify_ && Xxh3Concat(std::string_view(p, 12), stored, l_.payload_offset + off) != LoadFixed64(p + 12))
      return Status::Corruption("segment chunk checksum mismatch at offset " + std::to_string(l_.payload_offset + off));
    if (codec == 0) return stored;
    PITSTORE_RETURN_IF_ERROR(ZstdDecompressInto(stored, raw_len, buffer));
    return std::string_view(*buffer);
  }

 private:
  const SegmentLayout& l_;
  const size_t first_;
  const std::string_view bytes_;
  const bool verify_;
};

// The page's rows, after the checks both decoders make.
Result<size_t> PageRows(const SegmentLayout& l, size_t page, const ColumnTypes& view_types) {
  if (page >= l.pages()) return Status::Corruption("segment page out of range");
  if (l.features > view_types.types.size()) return Status::Corruption("segment has more features than its view");
  return std::min<size_t>(l.page_rows, l.rows - page * size_t{l.page_rows});
}

// The page's three time chunks (or two, without seq: the seq chunk is then neither read nor
// checked), read and checked; zstd ones inflated into `inflated`.
Status ReadTimeChunks(const PageChunks& chunks, size_t n, std::string inflated[3], TimeChunks* out, bool seq = true) {
  std::string_view times[3];  // event_ts, system_ts, seq
  uint8_t encodings[3] = {0, 0, 0};
  const int chains = seq ? 3 : 2;
  for (int k = 0; k < chains; ++k) {
    PITSTORE_ASSIGN_OR_RETURN(times[k], chunks.Get(1 + k, &encodings[k], &inflated[k]));
  }
  return out->Init(times, encodings, n, chains);
}

}  // namespace

bool FeatureWanted(const std::vector<int>* only, size_t c) {
  return !only || std::find(only->begin(), only->end(), static_cast<int>(c)) != only->end();
}

KeyRuns KeyRunsOf(const Run& run) {
  KeyRuns runs;
  for (size_t i = 0; i < run.size();) {
    const size_t end = run.KeyEnd(i);
    runs.Add(run.keys[i], end - i);
    i = end;
  }
  return runs;
}

namespace {

// The key runs [r, runs) of a key chunk whose count is read, for a page of n rows of which
// *rows precede run r: fn(r, key, length) for each, a run's length checked as every reader
// of the chunk checks it. A failure of the reader stops the walk and is left to the caller
// to report (with the chunk's end and its rows against n).
template <typename Fn>
Status WalkKeyRuns(ByteReader& in, uint64_t r, uint64_t runs, size_t n, size_t* rows, Fn&& fn) {
  for (; r < runs && in.ok(); ++r) {
    const std::string_view key = in.LengthPrefixed();
    const uint64_t len = in.Varint();
    if (len == 0 || len > n - *rows) return Status::Corruption("key run length out of range");
    fn(r, key, len);
    *rows += len;
  }
  return Status::OK();
}

// The runs of a KEY_INT64_RUNS chunk whose count is read, for a page of n rows: fn(r, key,
// length) for each, as WalkKeyRuns. Keys must rise, and lengths stay within the page.
template <typename Fn>
Status WalkInt64KeyRuns(ByteReader& in, uint64_t runs, size_t n, size_t* rows, Fn&& fn) {
  if (runs == 0) return Status::OK();
  uint64_t bits = in.U64();
  char key[kInt64KeySize];
  for (uint64_t r = 0; r < runs && in.ok(); ++r) {
    const uint64_t word = in.Varint();
    const uint64_t difference = word >> 2;
    uint64_t len = (word & 3) + 1;
    if (len == 4) {
      const uint64_t more = in.Varint();
      len = more > n ? 0 : more + 4;
    }
    if ((difference == 0) != (r == 0) || bits + difference < bits)
      return Status::Corruption("key runs are out of order");
    if (len == 0 || len > n - *rows) return Status::Corruption("key run length out of range");
    bits += difference;
    PutInt64Key(bits, key);
    fn(r, std::string_view(key, kInt64KeySize), len);
    *rows += len;
  }
  return Status::OK();
}

// The runs of a key chunk of either encoding, whose count is read.
template <typename Fn>
Status WalkKeyChunk(uint8_t encoding, ByteReader& in, uint64_t runs, size_t n, size_t* rows, Fn&& fn) {
  if (encoding == kInt64KeyRuns) return WalkInt64KeyRuns(in, runs, n, rows, std::forward<Fn>(fn));
  return WalkKeyRuns(in, 0, runs, n, rows, std::forward<Fn>(fn));
}

// A key chunk's `runs` runs (after its count) into `out`, for a page of n rows: in KEY_RUNS each
// a length-prefixed key and a row count; in KEY_INT64_RUNS a difference and a length. Into
// arrays sized once and written through pointers: a page as ingested has a run per row or two,
// and appending cost more than the rest of its decoding.
Status DecodeKeyRuns(uint8_t encoding, ByteReader& in, uint64_t runs, size_t n, KeyRuns* out, size_t* rows_out) {
  // KEY_INT64_RUNS: nine bytes a key (runs <= the chunk's bytes: the caller checks). KEY_RUNS:
  // the keys' bytes are fewer than the chunk's; a short key is copied as a whole 16 bytes,
  // which the 18 bytes the fast loop below wants left in the chunk keep inside the chunk's size,
  // 16 more make that plain.
  const bool int64_keys = encoding == kInt64KeyRuns;
  if (int64_keys && runs * kInt64KeySize > UINT32_MAX) return Status::Corruption("too many key runs");
  out->bytes.resize(int64_keys ? runs * kInt64KeySize : in.remaining() + 16);
  out->offsets.resize(runs + 1);
  out->ends.resize(runs);
  char* bytes = out->bytes.data();
  uint32_t* offsets = out->offsets.data();
  uint32_t* ends = out->ends.data();
  offsets[0] = 0;
  if (int64_keys) {
    size_t rows = 0;
    PITSTORE_RETURN_IF_ERROR(WalkInt64KeyRuns(in, runs, n, &rows, [&](uint64_t r, std::string_view key, uint64_t len) {
      std::memcpy(bytes + r * kInt64KeySize, key.data(), kInt64KeySize);
      offsets[r + 1] = static_cast<uint32_t>((r + 1) * kInt64KeySize);
      ends[r] = static_cast<uint32_t>(rows + len);
    }));
    *rows_out = rows;
    return Status::OK();
  }
  size_t rows = 0, used = 0;
  uint64_t r = 0;
  {
    // Runs of a key under 16 bytes (an int64 key is 9) and under 128 rows, 18 bytes or more
    // from the chunk's end: a length byte, the key copied as 16 bytes, a count byte. The first
    // run that is not, and those after it, go through the reader's checks below.
    const char* p = in.position();
    const char* const start = p;
    const char* const end = p + in.remaining();
    for (; r < runs && end - p >= 18; ++r) {
      const auto key_size = static_cast<uint8_t>(p[0]);
      if (key_size >= 16) break;
      const auto count = static_cast<uint8_t>(p[1 + key_size]);
      if (count == 0 || count >= 128 || count > n - rows) break;
      std::memcpy(bytes + used, p + 1, 16);
      used += key_size;
      rows += count;
      offsets[r + 1] = static_cast<uint32_t>(used);
      ends[r] = static_cast<uint32_t>(rows);
      p += 2 + key_size;
    }
    in.Take(static_cast<size_t>(p - start));
  }
  PITSTORE_RETURN_IF_ERROR(WalkKeyRuns(in, r, runs, n, &rows, [&](uint64_t at, std::string_view key, uint64_t len) {
    std::memcpy(bytes + used, key.data(), key.size());
    used += key.size();
    offsets[at + 1] = static_cast<uint32_t>(used);
    ends[at] = static_cast<uint32_t>(rows + len);
  }));
  out->bytes.resize(used);
  *rows_out = rows;
  return Status::OK();
}

}  // namespace

Result<Run> DecodeSegmentPage(const SegmentLayout& l, size_t page, std::string_view bytes,
                              const ColumnTypes& view_types, bool verify, const std::vector<int>* only,
                              KeyRuns* key_runs, bool seq) {
  PITSTORE_ASSIGN_OR_RETURN(const size_t n, PageRows(l, page, view_types));
  Run run = EmptyRunFor(view_types);
  run.view_id = l.view_id;
  PageChunks chunks(l, page, bytes, verify);
  std::string inflated, inflated_times[3];
  uint8_t enc = 0;
  {
    PITSTORE_ASSIGN_OR_RETURN(std::string_view raw, chunks.Get(0, &enc, &inflated));
    if (enc != kKeyRuns && enc != kInt64KeyRuns) return Status::Corruption("key chunk has the wrong encoding");
    ByteReader in(raw);
    uint64_t runs = in.Varint();
    if (runs > n || runs > in.remaining()) return Status::Corruption("more key runs than rows or bytes");
    size_t rows = 0;
    if (key_runs) {
      PITSTORE_RETURN_IF_ERROR(DecodeKeyRuns(enc, in, runs, n, key_runs, &rows));
    } else {
      run.keys.reserve(n);
      PITSTORE_RETURN_IF_ERROR(WalkKeyChunk(enc, in, runs, n, &rows, [&](uint64_t, std::string_view key, uint64_t len) {
        for (uint64_t k = 0; k < len; ++k) run.keys.emplace_back(key);
      }));
    }
    if (!in.ok() || in.remaining() != 0 || rows != n) return Status::Corruption("key chunk is malformed");
  }
  {
    TimeChunks deltas;
    PITSTORE_RETURN_IF_ERROR(ReadTimeChunks(chunks, n, inflated_times, &deltas, seq));
    run.event_ts.resize(n);
    run.system_ts.resize(n);
    run.seq.resize(n);  // zeros without seq
    PITSTORE_RETURN_IF_ERROR(
        deltas.Decode(0, n, run.event_ts.data(), run.system_ts.data(), seq ? run.seq.data() : nullptr));
  }
  for (size_t c = 0; c < view_types.types.size(); ++c) {
    if (!FeatureWanted(only, c)) continue;
    if (c >= l.features) {
      for (size_t i = 0; i < n; ++i) run.columns[c].AppendNull();
      continue;
    }
    PITSTORE_ASSIGN_OR_RETURN(std::string_view raw, chunks.Get(4 + c, &enc, &inflated));
    Status st = DecodeFeatureChunk(raw, enc, n, &run.columns[c]);
    if (!st.ok()) return Status::Corruption("segment feature " + std::to_string(c) + ": " + st.message());
  }
  return run;
}

Result<Run> DecodeSegmentPageKey(const SegmentLayout& l, size_t page, std::string_view bytes,
                                 const ColumnTypes& view_types, bool verify, const std::vector<int>* only,
                                 std::string_view key, size_t* first_row) {
  PITSTORE_ASSIGN_OR_RETURN(const size_t n, PageRows(l, page, view_types));
  Run run = EmptyRunFor(view_types);
  run.view_id = l.view_id;
  PageChunks chunks(l, page, bytes, verify);
  std::string inflated;
  uint8_t enc = 0;
  // The key runs, walked whole (they are few) so a malformed chunk is caught as DecodeSegmentPage
  // catches it; the key's run gives its rows [b, e).
  size_t b = 0, e = 0;
  {
    PITSTORE_ASSIGN_OR_RETURN(std::string_view raw, chunks.Get(0, &enc, &inflated));
    if (enc != kKeyRuns && enc != kInt64KeyRuns) return Status::Corruption("key chunk has the wrong encoding");
    ByteReader in(raw);
    uint64_t runs = in.Varint();
    if (runs > n || runs > in.remaining()) return Status::Corruption("more key runs than rows or bytes");
    size_t rows = 0;
    PITSTORE_RETURN_IF_ERROR(
        WalkKeyChunk(enc, in, runs, n, &rows, [&](uint64_t, std::string_view run_key, uint64_t len) {
          if (run_key == key && e == b) b = rows, e = rows + len;
        }));
    if (!in.ok() || in.remaining() != 0 || rows != n) return Status::Corruption("key chunk is malformed");
  }
  *first_row = b;
  if (b == e) return run;
  run.keys.assign(e - b, std::string(key));
  {
    // Deltas up to the key's last row, from the last restart before its first (or the page's
    // first row): the rows before it only add to the running sums.
    std::string inflated_times[3];
    TimeChunks deltas;
    PITSTORE_RETURN_IF_ERROR(ReadTimeChunks(chunks, n, inflated_times, &deltas));
    run.event_ts.resize(e - b);
    run.system_ts.resize(e - b);
    run.seq.resize(e - b);
    PITSTORE_RETURN_IF_ERROR(deltas.Decode(b, e, run.event_ts.data(), run.system_ts.data(), run.seq.data()));
  }
  for (size_t c = 0; c < view_types.types.size(); ++c) {
    if (!FeatureWanted(only, c)) continue;
    Column& out = run.columns[c];
    if (c >= l.features) {
      for (size_t i = b; i < e; ++i) out.AppendNull();
      continue;
    }
    PITSTORE_ASSIGN_OR_RETURN(std::string_view raw, chunks.Get(4 + c, &enc, &inflated));
    if (enc == kPlain && out.type == FeatureType::kFloat64 && !raw.empty() &&
        std::endian::native == std::endian::little) {
      // Doubles: the key's values follow the present rows before it (a popcount of the bitmap).
      const auto fail = [&] {
        return Status::Corruption("segment feature " + std::to_string(c) + ": feature chunk has the wrong length");
      };
      if (raw[0] == 0) {
        if (raw.size() != 1 + n * 8) return fail();
        out.doubles.resize(e - b);
        std::memcpy(out.doubles.data(), raw.data() + 1 + b * 8, (e - b) * 8);
        continue;
      }
      if (raw[0] == 1 && raw.size() >= 1 + (n + 7) / 8) {
        const auto* bitmap = reinterpret_cast<const uint8_t*>(raw.data() + 1);
        auto present = [&](size_t i) { return (bitmap[i / 8] >> (i % 8)) & 1; };
        auto present_before = [&](size_t row) {  // present rows in [0, row)
          size_t count = 0;
          for (size_t i = 0; i < row / 8; ++i) count += static_cast<size_t>(std::popcount(bitmap[i]));
          for (size_t i = row / 8 * 8; i < row; ++i) count += present(i);
          return count;
        };
        size_t before = present_before(b);
        const size_t values_at = 1 + (n + 7) / 8;
        if (raw.size() != values_at + present_before(n) * 8) return fail();
        for (size_t i = b; i < e; ++i) {
          if (!present(i)) {
            out.AppendNull();
            continue;
          }
          double x;
          std::memcpy(&x, raw.data() + values_at + before++ * 8, 8);
          out.Append(Value::Float64(x));
        }
        continue;
      }
    }
    Column whole = Column::Of(out.type, out.dim);
    Status st = DecodeFeatureChunk(raw, enc, n, &whole);
    if (!st.ok()) return Status::Corruption("segment feature " + std::to_string(c) + ": " + st.message());
    for (size_t i = b; i < e; ++i) out.AppendFrom(whole, i);
  }
  return run;
}

Status CheckPageKeys(const SegmentLayout& l, size_t page, const Run& rows) {
  if (!l.page_first_keys.empty() &&
      (rows.size() == 0 || rows.keys.front() != l.page_first_keys[page] || rows.keys.back() != l.page_last_keys[page]))
    return Status::Corruption("segment page " + std::to_string(page) + ": its keys differ from the footer's");
  if (!l.key_filter.empty())
    for (size_t i = 0; i < rows.size(); ++i)
      if ((i == 0 || rows.keys[i] != rows.keys[i - 1]) &&
          !KeyFilterMayContain(l.key_filter, KeyFilterHash(rows.keys[i])))
        return Status::Corruption("segment page " + std::to_string(page) + ": a key is missing from the key filter");
  return Status::OK();
}

Result<SegmentLayout> DecodeSegmentLayout(std::string_view payload, uint64_t payload_offset, bool verify) {
  if (payload.size() < 4 + kSegmentTailBytes) return Status::Corruption("segment too short");
  std::string_view tail = payload.substr(payload.size() - kSegmentTailBytes);
  PITSTORE_ASSIGN_OR_RETURN(size_t footer_len, SegmentFooterLength(tail));
  if (footer_len > payload.size() - 4 - kSegmentTailBytes)
    return Status::Corruption("segment footer length out of range");
  uint64_t footer_at = payload.size() - kSegmentTailBytes - footer_len;
  PITSTORE_ASSIGN_OR_RETURN(SegmentLayout l, DecodeSegmentFooter(payload.substr(footer_at, footer_len), tail,
                                                                 payload_offset, footer_at, verify));
  if (LoadFixed32(payload.data()) != l.view_id) return Status::Corruption("segment view id mismatch");
  return l;
}

Status ForEachSegmentPage(std::string_view payload, uint64_t payload_offset, const ColumnTypes& view_types, bool verify,
                          const std::function<Status(const SegmentLayout&, const Run&)>& visit) {
  PITSTORE_ASSIGN_OR_RETURN(SegmentLayout l, DecodeSegmentLayout(payload, payload_offset, verify));
  int64_t min_ev = INT64_MAX, max_ev = INT64_MIN, min_sys = INT64_MAX, max_sys = INT64_MIN;
  std::string first_key, last_key;
  Version last_version{};
  for (size_t p = 0; p < l.pages(); ++p) {
    auto [off, len] = l.PageRange(p);
    PITSTORE_ASSIGN_OR_RETURN(Run page, DecodeSegmentPage(l, p, payload.substr(off, len), view_types, verify));
    if (verify && page.size() > 0) {
      PITSTORE_RETURN_IF_ERROR(CheckPageKeys(l, p, page));
      PITSTORE_RETURN_IF_ERROR(page.Validate("segment page " + std::to_string(p)));
      if (p > 0) {  // sorted across pages too
        const int cmp = last_key.compare(page.keys.front());
        if (cmp > 0 || (cmp == 0 && !(last_version < page.version(0))))
          return Status::Corruption("segment rows out of order at page " + std::to_string(p));
      } else {
        first_key = page.keys.front();
      }
      last_key = page.keys.back();
      last_version = page.version(page.size() - 1);
      for (size_t i = 0; i < page.size(); ++i) {
        min_ev = std::min(min_ev, page.event_ts[i]);
        max_ev = std::max(max_ev, page.event_ts[i]);
        min_sys = std::min(min_sys, page.system_ts[i]);
        max_sys = std::max(max_sys, page.system_ts[i]);
      }
    }
    PITSTORE_RETURN_IF_ERROR(visit(l, page));
  }
  // Readers skip a segment by these bounds (the key range, and system times when a key's rows
  // span pages): they must be the rows' own.
  if (verify && l.rows > 0 &&
      (first_key != l.min_key || last_key != l.max_key || min_ev != l.min_event_ts || max_ev != l.max_event_ts ||
       min_sys != l.min_system_ts || max_sys != l.max_system_ts))
    return Status::Corruption("segment footer's key and time bounds differ from its rows");
  return Status::OK();
}

Result<Run> DecodeSegment(std::string_view payload, uint64_t payload_offset, const ColumnTypes& view_types,
                          bool verify) {
  Run all = EmptyRunFor(view_types);
  PITSTORE_RETURN_IF_ERROR(
      ForEachSegmentPage(payload, payload_offset, view_types, verify, [&](const SegmentLayout& l, const Run& page) {
        if (all.size() == 0) {
          all.view_id = l.view_id;
          all.Reserve(l.rows);
        }
        all.AppendRun(page);
        return Status::OK();
      }));
  return all;
}

}  // namespace pitstore
