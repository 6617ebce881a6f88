// Tables in Arrow's layout (table.h): buffers, the builder, and conversions to and from the
// engine's Columns. Slightly over 400 lines: every conversion follows one type table.
#include "pitstore/io/table.h"

#include <cmath>
#include <cstdlib>
#include <limits>

namespace pitstore::io {

const char* DataTypeName(DataType type) {
  switch (type) {
    case DataType::kBool:
      return "bool";
    case DataType::kInt32:
      return "int32";
    case DataType::kInt64:
      return "int64";
    case DataType::kFloat32:
      return "float32";
    case DataType::kFloat64:
      return "float64";
    case DataType::kTimestamp:
      return "timestamp";
    case DataType::kString:
      return "string";
    case DataType::kBinary:
      return "binary";
    case DataType::kFloat32List:
      return "list<float32>";
    case DataType::kList:
      return "list";
  }
  return "?";
}

std::shared_ptr<Buffer> Buffer::Allocate(size_t bytes) {
  std::shared_ptr<Buffer> b(new Buffer);
  size_t rounded = (bytes + 63) / 64 * 64;
  b->data_ = static_cast<uint8_t*>(std::aligned_alloc(64, rounded ? rounded : 64));
  if (!b->data_) throw std::bad_alloc();
  std::memset(b->data_, 0, rounded ? rounded : 64);
  b->size_ = bytes;
  b->owned_ = true;
  return b;
}

std::shared_ptr<Buffer> Buffer::Wrap(const void* data, size_t bytes, std::shared_ptr<void> owner) {
  std::shared_ptr<Buffer> b(new Buffer);
  b->data_ = static_cast<uint8_t*>(const_cast<void*>(data));
  b->size_ = bytes;
  b->owner_ = std::move(owner);
  return b;
}

Buffer::~Buffer() {
  if (owned_) std::free(data_);
}

int Table::Find(const std::string& name) const {
  for (size_t i = 0; i < schema.size(); ++i)
    if (schema[i].name == name) return static_cast<int>(i);
  return -1;
}

DataType DataTypeOf(FeatureType type) {
  if (IsListType(type)) return DataType::kList;
  switch (type) {
    case FeatureType::kBool:
      return DataType::kBool;
    case FeatureType::kInt32:
      return DataType::kInt32;
    case FeatureType::kInt64:
      return DataType::kInt64;
    case FeatureType::kFloat32:
      return DataType::kFloat32;
    case FeatureType::kFloat64:
      return DataType::kFloat64;
    case FeatureType::kTimestamp:
      return DataType::kTimestamp;
    case FeatureType::kString:
      return DataType::kString;
    case FeatureType::kBytes:
      return DataType::kBinary;
    case FeatureType::kFloat32Vector:
      return DataType::kFloat32List;
  }
  return DataType::kInt64;
}

namespace {
// `offsets` as an Arrow offsets buffer: int64 when `large`, else int32.
std::shared_ptr<Buffer> OffsetsBuffer(const std::vector<int64_t>& offsets, bool large) {
  auto b = Buffer::Allocate(offsets.size() * (large ? 8 : 4));
  for (size_t i = 0; i < offsets.size(); ++i) {
    if (large) {
      std::memcpy(b->mutable_data() + 8 * i, &offsets[i], 8);
    } else {
      const int32_t o = static_cast<int32_t>(offsets[i]);
      std::memcpy(b->mutable_data() + 4 * i, &o, 4);
    }
  }
  return b;
}
bool NeedsLargeOffsets(const std::vector<int64_t>& offsets) {
  return offsets.back() > std::numeric_limits<int32_t>::max();
}
}  // namespace

// ---- ArrayBuilder ----

ArrayBuilder::ArrayBuilder(DataType type, int32_t dim) : type_(type), dim_(dim) {}

void ArrayBuilder::Present() {
  if (validity_.size() * 8 <= static_cast<size_t>(length_)) validity_.push_back(0);
  validity_[length_ >> 3] |= static_cast<uint8_t>(1u << (length_ & 7));
  ++length_;
}

void ArrayBuilder::AppendNull() {
  if (validity_.size() * 8 <= static_cast<size_t>(length_)) validity_.push_back(0);
  switch (type_) {
    case DataType::kBool:
      break;
    case DataType::kInt32:
    case DataType::kFloat32:
      values_.append(4, '\0');
      break;
    case DataType::kString:
    case DataType::kBinary:
      offsets_.push_back(static_cast<int64_t>(values_.size()));
      break;
    case DataType::kFloat32List:
      values_.append(4 * static_cast<size_t>(dim_), '\0');
      if (dim_ == 0) offsets_.push_back(static_cast<int64_t>(values_.size() / sizeof(float)));
      break;
    default:
      values_.append(8, '\0');
  }
  ++nulls_;
  ++length_;
}

void ArrayBuilder::AppendInt(int64_t v) {
  if (type_ == DataType::kBool) {
    // Nulls add no value bytes: grow to this row's byte, whatever came before.
    const size_t byte = static_cast<size_t>(length_ >> 3);
    if (values_.size() <= byte) values_.resize(byte + 1, '\0');
    if (v) values_[byte] = static_cast<char>(values_[byte] | (1 << (length_ & 7)));
  } else if (type_ == DataType::kInt32) {
    int32_t x = static_cast<int32_t>(v);
    values_.append(reinterpret_cast<const char*>(&x), 4);
  } else {
    values_.append(reinterpret_cast<const char*>(&v), 8);
  }
  Present();
}

void ArrayBuilder::AppendDouble(double v) {
  if (type_ == DataType::kFloat32) {
    float x = static_cast<float>(v);
    values_.append(reinterpret_cast<const char*>(&x), 4);
  } else {
    values_.append(reinterpret_cast<const char*>(&v), 8);
  }
  Present();
}

void ArrayBuilder::AppendString(std::string_view v) {
  values_.append(v);
  offsets_.push_back(static_cast<int64_t>(values_.size()));
  Present();
}

void ArrayBuilder::AppendList(const float* v, size_t n) {
  values_.append(reinterpret_cast<const char*>(v), n * sizeof(float));
  if (dim_ == 0) offsets_.push_back(static_cast<int64_t>(values_.size() / sizeof(float)));
  Present();
}

Array ArrayBuilder::Finish() {
  Array a;
  a.type = type_;
  a.dim = dim_;
  a.length = length_;
  a.null_count = nulls_;
  if (nulls_ > 0) {
    a.validity = Buffer::Allocate(validity_.size());
    std::memcpy(a.validity->mutable_data(), validity_.data(), validity_.size());
  }
  if (type_ == DataType::kBool) values_.resize((static_cast<size_t>(length_) + 7) / 8, '\0');
  a.values = Buffer::Allocate(values_.size());
  std::memcpy(a.values->mutable_data(), values_.data(), values_.size());
  if (type_ == DataType::kString || type_ == DataType::kBinary || (type_ == DataType::kFloat32List && dim_ == 0)) {
    a.large_offsets = NeedsLargeOffsets(offsets_);
    a.offsets = OffsetsBuffer(offsets_, a.large_offsets);
  }
  *this = ArrayBuilder(type_, dim_);
  return a;
}

// ---- the engine's columns ----

FeatureType FeatureTypeOf(DataType type) {
  switch (type) {
    case DataType::kBool:
      return FeatureType::kBool;
    case DataType::kInt32:
      return FeatureType::kInt32;
    case DataType::kInt64:
      return FeatureType::kInt64;
    case DataType::kFloat32:
      return FeatureType::kFloat32;
    case DataType::kFloat64:
      return FeatureType::kFloat64;
    case DataType::kTimestamp:
      return FeatureType::kTimestamp;
    case DataType::kString:
      return FeatureType::kString;
    case DataType::kBinary:
      return FeatureType::kBytes;
    case DataType::kFloat32List:
      return FeatureType::kFloat32Vector;
    case DataType::kList:
      break;
  }
  return FeatureType::kInt64;
}

FeatureType FeatureTypeOf(const ColumnSchema& c) {
  return c.type == DataType::kList ? ListOf(FeatureTypeOf(c.element)) : FeatureTypeOf(c.type);
}

namespace {

// The validity bitmap of rows [begin, end) of `c`, with *nulls counted; null when none is null.
std::shared_ptr<Buffer> ValidityOf(const Column& c, size_t begin, size_t end, int64_t* nulls) {
  *nulls = 0;
  if (c.valid.empty()) return nullptr;
  for (size_t i = begin; i < end; ++i) *nulls += c.valid[i] == 0;
  if (*nulls == 0) return nullptr;
  auto bits = Buffer::Allocate((end - begin + 7) / 8);
  uint8_t* out = bits->mutable_data();
  for (size_t i = begin; i < end; ++i)
    if (c.valid[i]) out[(i - begin) >> 3] |= static_cast<uint8_t>(1u << ((i - begin) & 7));
  return bits;
}

template <typename T>
std::shared_ptr<Buffer> CopyOf(const T* from, size_t n) {
  auto b = Buffer::Allocate(n * sizeof(T));
  if (n) std::memcpy(b->mutable_data(), from, n * sizeof(T));
  return b;
}

}  // namespace

namespace {
// Appends storage slot `slot` of `from` to `to`'s storage, both holding scalars of type `scalar`
// (a list column's items, or a column of the list's element type).
void PushSlot(FeatureType scalar, const Column& from, size_t slot, Column* to) {
  switch (scalar) {
    case FeatureType::kFloat32:
    case FeatureType::kFloat64:
      to->doubles.push_back(from.doubles[slot]);
      break;
    case FeatureType::kString:
    case FeatureType::kBytes:
      to->strings.push_back(from.strings[slot]);
      break;
    default:
      to->ints.push_back(from.ints[slot]);
  }
}

Array ListArrayFromColumn(const Column& c, size_t begin, size_t n) {
  Array a;
  a.type = DataType::kList;
  a.element = DataTypeOf(ListElementType(c.type));
  a.dim = static_cast<int32_t>(c.dim);
  a.length = static_cast<int64_t>(n - begin);
  a.validity = ValidityOf(c, begin, n, &a.null_count);
  Column items = Column::Of(ListElementType(c.type));
  std::vector<int64_t> offsets{0};
  offsets.reserve(n - begin + 1);
  for (size_t i = begin; i < n; ++i) {
    if (!c.is_null(i))
      for (size_t j = 0; j < c.lengths[i]; ++j) PushSlot(ListElementType(c.type), c, i * c.dim + j, &items);
    offsets.push_back(static_cast<int64_t>(items.size()));
  }
  a.large_offsets = NeedsLargeOffsets(offsets);
  a.offsets = OffsetsBuffer(offsets, a.large_offsets);
  Array child = ArrayFromColumn(items);
  if (child.offsets && !child.large_offsets) {  // string and binary items: int64 offsets (table.h)
    std::vector<int64_t> wide(static_cast<size_t>(child.length) + 1);
    for (size_t i = 0; i < wide.size(); ++i) wide[i] = child.OffsetAt(static_cast<int64_t>(i));
    child.offsets = OffsetsBuffer(wide, true);
    child.large_offsets = true;
  }
  a.child = std::make_shared<const Array>(std::move(child));
  return a;
}

}  // namespace

Array ArrayFromColumn(const Column& c, size_t begin, int64_t count) {
  const size_t n = count < 0 ? c.size() : begin + static_cast<size_t>(count);
  if (IsListType(c.type)) return ListArrayFromColumn(c, begin, n);
  // Fixed-width values copy in one piece (nulls hold a default, as Arrow allows).
  if (c.type == FeatureType::kInt64 || c.type == FeatureType::kTimestamp || c.type == FeatureType::kFloat64 ||
      c.type == FeatureType::kFloat32Vector) {
    Array a;
    a.type = DataTypeOf(c.type);
    a.dim = static_cast<int32_t>(c.dim);
    a.length = static_cast<int64_t>(n - begin);
    a.validity = ValidityOf(c, begin, n, &a.null_count);
    a.values = c.type == FeatureType::kFloat64         ? CopyOf(c.doubles.data() + begin, n - begin)
               : c.type == FeatureType::kFloat32Vector ? CopyOf(c.floats.data() + begin * c.dim, (n - begin) * c.dim)
                                                       : CopyOf(c.ints.data() + begin, n - begin);
    return a;
  }
  ArrayBuilder b(DataTypeOf(c.type), static_cast<int32_t>(c.dim));
  for (size_t i = begin; i < n; ++i) {
    if (c.is_null(i)) {
      b.AppendNull();
      continue;
    }
    switch (c.type) {
      case FeatureType::kFloat32:
      case FeatureType::kFloat64:
        b.AppendDouble(c.doubles[i]);
        break;
      case FeatureType::kString:
      case FeatureType::kBytes:
        b.AppendString(c.strings[i]);
        break;
      case FeatureType::kFloat32Vector:
        b.AppendList(c.floats.data() + i * c.dim, c.dim);
        break;
      default:
        b.AppendInt(c.ints[i]);
    }
  }
  return b.Finish();
}

namespace {

Status Mismatch(const Array& a, const char* want, const std::string& what) {
  return Status::InvalidArgument(what + ": " + DataTypeName(a.type) + " values cannot be read as " + want);
}

}  // namespace

namespace {
int64_t EndOf(const Array& a, const Rows& rows) { return rows.count < 0 ? a.length : rows.begin + rows.count; }
std::string RowName(const Rows& rows, int64_t i) {
  return ", row " + std::to_string(rows.first_number + i - rows.begin);
}

Result<Column> ListColumnFromArray(const Array& a, FeatureType type, uint32_t dim, const std::string& what, Rows rows) {
  if (a.type != DataType::kList || !a.child) return Mismatch(a, FeatureTypeName(type), what);
  PITSTORE_ASSIGN_OR_RETURN(Column items, ColumnFromArray(*a.child, ListElementType(type), 0, what + " (items)"));
  Column c = Column::Of(type, dim);
  const int64_t end = EndOf(a, rows);
  for (int64_t i = rows.begin; i < end; ++i) {
    const int64_t from = a.OffsetAt(i), to = a.OffsetAt(i + 1);
    if (a.IsNull(i) || from == to) {  // an empty list reads as null, as last_k gives none
      c.AppendNull();
      continue;
    }
    if (to - from > static_cast<int64_t>(dim) || from < 0 || to > static_cast<int64_t>(items.size()))
      return Status::InvalidArgument(what + RowName(rows, i) + ": a list of " + std::to_string(to - from) +
                                     " items where at most " + std::to_string(dim) + " fit");
    if (!c.valid.empty()) c.valid.push_back(1);
    c.lengths.push_back(static_cast<uint32_t>(to - from));
    for (uint32_t j = 0; j < dim; ++j) {
      const int64_t item = from + j < to ? from + j : from;  // unused slots copy the first (never read)
      PushSlot(ListElementType(type), items, static_cast<size_t>(item), &c);
    }
  }
  return c;
}
}  // namespace

Result<Column> ColumnFromArray(const Array& a, FeatureType type, uint32_t dim, const std::string& what, Rows rows) {
  if (IsListType(type)) return ListColumnFromArray(a, type, dim, what, rows);
  Column c = Column::Of(type, dim);
  const int64_t end = EndOf(a, rows);
  c.Reserve(static_cast<size_t>(end - rows.begin));
  if (a.null_count > 0) c.valid.assign(static_cast<size_t>(end - rows.begin), 1);
  const DataType want = DataTypeOf(type);
  const bool ints_in = a.type == DataType::kInt32 || a.type == DataType::kInt64;
  const bool floats_in = a.type == DataType::kFloat32 || a.type == DataType::kFloat64;
  bool ok = a.type == want || (type == FeatureType::kInt64 && ints_in) || (type == FeatureType::kInt32 && ints_in) ||
            ((type == FeatureType::kFloat32 || type == FeatureType::kFloat64) && (floats_in || ints_in)) ||
            (type == FeatureType::kBytes && a.type == DataType::kString);
  if (!ok) return Mismatch(a, FeatureTypeName(type), what);
  // The same fixed-width layout: one copy, then the nulls.
  const bool same64 = (a.type == DataType::kInt64 && (type == FeatureType::kInt64)) ||
                      (a.type == DataType::kTimestamp && type == FeatureType::kTimestamp) ||
                      (a.type == DataType::kFloat64 && type == FeatureType::kFloat64);
  if (same64) {
    const size_t n = static_cast<size_t>(end - rows.begin);
    if (type == FeatureType::kFloat64) {
      c.doubles.resize(n);
      if (n) std::memcpy(c.doubles.data(), a.values->data() + rows.begin * 8, n * 8);
    } else {
      c.ints.resize(n);
      if (n) std::memcpy(c.ints.data(), a.values->data() + rows.begin * 8, n * 8);
    }
    if (a.null_count > 0)
      for (int64_t i = rows.begin; i < end; ++i) {
        const size_t r = static_cast<size_t>(i - rows.begin);
        if (!a.IsNull(i)) continue;
        c.valid[r] = 0;  // a null's slot holds the default, as every Column does
        if (type == FeatureType::kFloat64)
          c.doubles[r] = 0;
        else
          c.ints[r] = 0;
      }
    return c;
  }
  for (int64_t i = rows.begin; i < end; ++i) {
    const bool null = a.null_count > 0 && a.IsNull(i);
    if (null) c.valid[static_cast<size_t>(i - rows.begin)] = 0;
    switch (type) {
      case FeatureType::kBool:
        c.ints.push_back(null ? 0 : a.BoolAt(i));
        break;
      case FeatureType::kInt32:
      case FeatureType::kInt64:
      case FeatureType::kTimestamp: {
        int64_t v = null ? 0 : a.type == DataType::kInt32 ? a.ValueAt<int32_t>(i) : a.ValueAt<int64_t>(i);
        if (type == FeatureType::kInt32 &&
            (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max()))
          return Status::InvalidArgument(what + RowName(rows, i) + ": " + std::to_string(v) + " does not fit an int32");
        c.ints.push_back(v);
        break;
      }
      case FeatureType::kFloat32:
      case FeatureType::kFloat64: {
        double v = null                           ? 0
                   : a.type == DataType::kFloat32 ? a.ValueAt<float>(i)
                   : a.type == DataType::kFloat64 ? a.ValueAt<double>(i)
                   : a.type == DataType::kInt32   ? a.ValueAt<int32_t>(i)
                                                  : static_cast<double>(a.ValueAt<int64_t>(i));
        c.doubles.push_back(type == FeatureType::kFloat32 ? static_cast<double>(static_cast<float>(v)) : v);
        break;
      }
      case FeatureType::kString:
      case FeatureType::kBytes:
        c.strings.emplace_back(null ? std::string_view() : a.StringAt(i));
        break;
      case FeatureType::kFloat32Vector: {
        int64_t n = dim;
        const float* f = nullptr;
        if (!null) f = a.ListAt(i, &n);
        if (!null && n != static_cast<int64_t>(dim))
          return Status::InvalidArgument(what + RowName(rows, i) + ": a list of " + std::to_string(n) +
                                         " floats where the feature has dim " + std::to_string(dim));
        for (uint32_t k = 0; k < dim; ++k) c.floats.push_back(null ? 0.0f : f[k]);
        break;
      }
    }
  }
  return c;
}

void AppendColumn(Column&& from, Column* to) {
  const size_t before = to->size(), added = from.size();
  if (!from.valid.empty() || !to->valid.empty()) {
    to->valid.resize(before, 1);
    if (from.valid.empty())
      to->valid.resize(before + added, 1);
    else
      to->valid.insert(to->valid.end(), from.valid.begin(), from.valid.end());
  }
  to->ints.insert(to->ints.end(), from.ints.begin(), from.ints.end());
  to->doubles.insert(to->doubles.end(), from.doubles.begin(), from.doubles.end());
  to->strings.insert(to->strings.end(), std::make_move_iterator(from.strings.begin()),
                     std::make_move_iterator(from.strings.end()));
  to->floats.insert(to->floats.end(), from.floats.begin(), from.floats.end());
  to->lengths.insert(to->lengths.end(), from.lengths.begin(), from.lengths.end());
}

Result<Column> KeyColumnFromArray(const Array& a, KeyType type, const std::string& what, Rows rows,
                                  std::vector<uint8_t>* null_rows) {
  Column c = Column::Of(type == KeyType::kInt64 ? FeatureType::kInt64 : FeatureType::kString);
  if (type == KeyType::kInt64 && a.type != DataType::kInt64 && a.type != DataType::kInt32)
    return Mismatch(a, "int64 key", what);
  if (type == KeyType::kString && a.type != DataType::kString) return Mismatch(a, "string key", what);
  const int64_t end = EndOf(a, rows);
  c.Reserve(static_cast<size_t>(end - rows.begin));
  for (int64_t i = rows.begin; i < end; ++i) {
    const bool null = a.null_count > 0 && a.IsNull(i);
    if (null && !null_rows) return Status::InvalidArgument(what + RowName(rows, i) + ": a join key is null");
    if (null_rows) null_rows->push_back(null ? 1 : 0);
    if (null && type == KeyType::kString)
      c.strings.emplace_back();
    else if (null)
      c.ints.push_back(0);
    else if (type == KeyType::kString)
      c.strings.emplace_back(a.StringAt(i));
    else
      c.ints.push_back(a.type == DataType::kInt32 ? a.ValueAt<int32_t>(i) : a.ValueAt<int64_t>(i));
  }
  return c;
}

Result<std::vector<Timestamp>> TimesFromArray(const Array& a, EpochUnit unit, const std::string& what, Rows rows,
                                              const Timestamp* null_as) {
  const bool ints = a.type == DataType::kInt64 || a.type == DataType::kInt32;
  if (a.type != DataType::kTimestamp && !ints) return Mismatch(a, "timestamp", what);
  const int64_t end = EndOf(a, rows);
  std::vector<Timestamp> out;
  out.reserve(static_cast<size_t>(end - rows.begin));
  for (int64_t i = rows.begin; i < end; ++i) {
    if (a.null_count > 0 && a.IsNull(i)) {
      if (!null_as) return Status::InvalidArgument(what + RowName(rows, i) + ": a time is null");
      out.push_back(*null_as);
      continue;
    }
    int64_t v = a.type == DataType::kInt32 ? a.ValueAt<int32_t>(i) : a.ValueAt<int64_t>(i);
    if (a.type != DataType::kTimestamp) {
      Timestamp t;
      std::string why = EpochToMicrosWhy(v, unit, &t);
      if (!why.empty()) return Status::InvalidArgument(what + RowName(rows, i) + ": " + std::to_string(v) + ": " + why);
      v = t;
    }
    if (v == kMinTimestamp || v == kMaxTimestamp)
      return Status::InvalidArgument(what + RowName(rows, i) + ": timestamp out of range");
    out.push_back(v);
  }
  return out;
}

}  // namespace pitstore::io
