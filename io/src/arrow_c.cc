// The Arrow C Data and Stream Interfaces (arrow_c.h). One file, over 400 lines: export and
// import of the same ABI sit side by side so their format tables and buffer layouts agree.
#include "pitstore/io/arrow_c.h"

#include <cerrno>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

namespace pitstore::io {
namespace {

// ---------------------------------------------------------------- export

struct SchemaPrivate {
  std::string format, name;
  std::vector<ArrowSchema> children;
  std::vector<ArrowSchema*> child_ptrs;
};

void ReleaseSchema(ArrowSchema* s) {
  if (!s || !s->release) return;
  auto* p = static_cast<SchemaPrivate*>(s->private_data);
  for (ArrowSchema& c : p->children)
    if (c.release) c.release(&c);
  delete p;
  s->release = nullptr;
}

// Fills `out` (owned by the caller's node) with a schema node; children are added after.
void FillSchema(ArrowSchema* out, std::string format, std::string name, size_t n_children) {
  auto* p = new SchemaPrivate;
  p->format = std::move(format);
  p->name = std::move(name);
  p->children.resize(n_children);
  for (ArrowSchema& c : p->children) p->child_ptrs.push_back(&c);
  out->format = p->format.c_str();
  out->name = p->name.c_str();
  out->metadata = nullptr;
  out->flags = ARROW_FLAG_NULLABLE;
  out->n_children = static_cast<int64_t>(n_children);
  out->children = n_children ? p->child_ptrs.data() : nullptr;
  out->dictionary = nullptr;
  out->release = ReleaseSchema;
  out->private_data = p;
}

std::string FormatOf(const ColumnSchema& c, bool large) {
  switch (c.type) {
    case DataType::kBool:
      return "b";
    case DataType::kInt32:
      return "i";
    case DataType::kInt64:
      return "l";
    case DataType::kFloat32:
      return "f";
    case DataType::kFloat64:
      return "g";
    case DataType::kTimestamp:
      return "tsu:UTC";
    case DataType::kString:
      return large ? "U" : "u";
    case DataType::kBinary:
      return large ? "Z" : "z";
    case DataType::kFloat32List:
      return c.dim > 0 ? "+w:" + std::to_string(c.dim) : (large ? "+L" : "+l");
    case DataType::kList:
      return large ? "+L" : "+l";
  }
  return "l";
}

// The array with offsets of the width its stream announced (only the offsets are copied);
// InvalidArgument when its data is too large for 32-bit offsets.
Result<Array> WithOffsetWidth(Array a, bool large, const std::string& name) {
  bool has_offsets = a.type == DataType::kString || a.type == DataType::kBinary || a.type == DataType::kList ||
                     (a.type == DataType::kFloat32List && a.offsets);
  if (!has_offsets || a.large_offsets == large) return a;
  const int64_t n = a.length + 1;
  std::vector<int64_t> offs(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) offs[static_cast<size_t>(i)] = a.OffsetAt(i);
  if (!large && offs.back() > std::numeric_limits<int32_t>::max())
    return Status::InvalidArgument("column '" + name +
                                   "': over 2 GiB in one batch, where the stream announced 32-bit offsets");
  auto buf = Buffer::Allocate(static_cast<size_t>(n) * (large ? 8 : 4));
  for (int64_t i = 0; i < n; ++i) {
    if (large) {
      std::memcpy(buf->mutable_data() + 8 * i, &offs[static_cast<size_t>(i)], 8);
    } else {
      int32_t o = static_cast<int32_t>(offs[static_cast<size_t>(i)]);
      std::memcpy(buf->mutable_data() + 4 * i, &o, 4);
    }
  }
  a.offsets = std::move(buf);
  a.large_offsets = large;
  return a;
}

void FillColumnSchema(ArrowSchema* out, const ColumnSchema& c, bool large) {
  bool list = c.type == DataType::kFloat32List || c.type == DataType::kList;
  FillSchema(out, FormatOf(c, large), c.name, list ? 1 : 0);
  if (c.type == DataType::kFloat32List) FillSchema(out->children[0], "f", "item", 0);
  // A kList's items: strings and binaries with int64 offsets always (table.h).
  if (c.type == DataType::kList) FillSchema(out->children[0], FormatOf(ColumnSchema{"", c.element}, true), "item", 0);
}

struct ArrayPrivate {
  std::vector<std::shared_ptr<Buffer>> keep;  // the Table's buffers this array shows
  std::vector<const void*> buffers;
  std::vector<ArrowArray> children;
  std::vector<ArrowArray*> child_ptrs;
};

void ReleaseArray(ArrowArray* a) {
  if (!a || !a->release) return;
  auto* p = static_cast<ArrayPrivate*>(a->private_data);
  for (ArrowArray& c : p->children)
    if (c.release) c.release(&c);
  delete p;
  a->release = nullptr;
}

ArrayPrivate* FillArray(ArrowArray* out, int64_t length, int64_t null_count,
                        std::vector<std::shared_ptr<Buffer>> buffers, size_t n_children) {
  auto* p = new ArrayPrivate;
  for (const auto& b : buffers) p->buffers.push_back(b ? b->data() : nullptr);
  p->keep = std::move(buffers);
  p->children.resize(n_children);
  for (ArrowArray& c : p->children) p->child_ptrs.push_back(&c);
  out->length = length;
  out->null_count = null_count;
  out->offset = 0;
  out->n_buffers = static_cast<int64_t>(p->buffers.size());
  out->n_children = static_cast<int64_t>(n_children);
  out->buffers = p->buffers.data();
  out->children = n_children ? p->child_ptrs.data() : nullptr;
  out->dictionary = nullptr;
  out->release = ReleaseArray;
  out->private_data = p;
  return p;
}

void FillColumnArray(ArrowArray* out, const Array& a) {
  switch (a.type) {
    case DataType::kString:
    case DataType::kBinary:
      FillArray(out, a.length, a.null_count, {a.validity, a.offsets, a.values}, 0);
      return;
    case DataType::kFloat32List: {
      bool fixed = !a.offsets;
      FillArray(out, a.length, a.null_count,
                fixed ? std::vector<std::shared_ptr<Buffer>>{a.validity}
                      : std::vector<std::shared_ptr<Buffer>>{a.validity, a.offsets},
                1);
      int64_t floats = fixed ? a.length * a.dim : (a.length ? a.OffsetAt(a.length) : 0);
      FillArray(out->children[0], floats, 0, {nullptr, a.values}, 0);
      return;
    }
    case DataType::kList:
      FillArray(out, a.length, a.null_count, {a.validity, a.offsets}, 1);
      FillColumnArray(out->children[0], *a.child);
      return;
    default:
      FillArray(out, a.length, a.null_count, {a.validity, a.values}, 0);
  }
}

// ---------------------------------------------------------------- import

// What a child's format says.
struct Format {
  enum Kind { kNative, kIntWiden, kUint64, kTimeScale, kDate32, kDate64, kList, kListOfDouble } kind = kNative;
  DataType type = DataType::kInt64;
  int32_t dim = 0;
  int int_bytes = 8;
  bool int_signed = true;
  int64_t time_mul = 1, time_div = 1;
  bool large = false;
};

Status Unsupported(const std::string& column, const std::string& format) {
  return Status::InvalidArgument("column '" + column + "': Arrow format '" + format +
                                 "' is not one pitstore reads (bool, integers, floats, timestamps, date32, "
                                 "strings, binary, lists of float32)");
}

Result<Format> ParseFormat(const ArrowSchema& s) {
  const std::string name = s.name ? s.name : "";
  const std::string f = s.format ? s.format : "";
  Format out;
  auto integer = [&](int bytes, bool is_signed) {
    out.kind = bytes == 8 && !is_signed ? Format::kUint64 : Format::kIntWiden;
    out.type = DataType::kInt64;
    out.int_bytes = bytes;
    out.int_signed = is_signed;
  };
  if (s.dictionary)
    return Status::InvalidArgument("column '" + name + "': dictionary-encoded columns are not read; decode them first");
  if (f == "b") {
    out.type = DataType::kBool;
  } else if (f == "i") {
    out.type = DataType::kInt32;
  } else if (f == "l") {
    out.type = DataType::kInt64;
  } else if (f == "f") {
    out.type = DataType::kFloat32;
  } else if (f == "g") {
    out.type = DataType::kFloat64;
  } else if (f == "u" || f == "U" || f == "z" || f == "Z") {
    out.type = f == "u" || f == "U" ? DataType::kString : DataType::kBinary;
    out.large = f == "U" || f == "Z";
  } else if (f == "c" || f == "s") {
    integer(f == "c" ? 1 : 2, true);
  } else if (f == "C" || f == "S" || f == "I" || f == "L") {
    integer(f == "C" ? 1 : f == "S" ? 2 : f == "I" ? 4 : 8, false);
  } else if (f.rfind("ts", 0) == 0 && f.size() >= 4 && f[3] == ':') {
    out.type = DataType::kTimestamp;
    char unit = f[2];
    if (unit == 's') out.time_mul = 1'000'000;
    if (unit == 'm') out.time_mul = 1'000;
    if (unit == 'n') out.time_div = 1'000;
    if (unit != 's' && unit != 'm' && unit != 'u' && unit != 'n') return Unsupported(name, f);
    out.kind = unit == 'u' ? Format::kNative : Format::kTimeScale;
  } else if (f == "tdD" || f == "tdm") {
    out.type = DataType::kTimestamp;
    out.kind = f == "tdD" ? Format::kDate32 : Format::kDate64;
  } else if (f.rfind("+w:", 0) == 0 || f == "+l" || f == "+L") {
    if (s.n_children != 1 || !s.children[0] || !s.children[0]->format) return Unsupported(name, f);
    std::string child = s.children[0]->format;
    if (child != "f" && child != "g") return Unsupported(name, f + " of '" + child + "'");
    out.type = DataType::kFloat32List;
    out.kind = child == "f" ? Format::kList : Format::kListOfDouble;
    out.large = f == "+L";
    if (f[1] == 'w') {
      out.dim = std::atoi(f.c_str() + 3);
      if (out.dim <= 0) return Unsupported(name, f);
    }
  } else {
    return Unsupported(name, f);
  }
  return out;
}

bool BitAt(const void* bits, int64_t i) { return (static_cast<const uint8_t*>(bits)[i >> 3] >> (i & 7)) & 1; }

// The imported root array, released when the last Buffer that points into it goes.
using Owner = std::shared_ptr<ArrowArray>;

Result<Array> ImportColumn(const ArrowSchema& s, const ArrowArray& a, const Owner& owner) {
  PITSTORE_ASSIGN_OR_RETURN(Format f, ParseFormat(s));
  const std::string name = s.name ? s.name : "";
  const bool list = f.type == DataType::kFloat32List;
  const int64_t need_buffers = list                                                           ? (f.dim ? 1 : 2)
                               : (f.type == DataType::kString || f.type == DataType::kBinary) ? 3
                                                                                              : 2;
  if (a.n_buffers != need_buffers || (list && (a.n_children != 1 || !a.children[0])))
    return Status::InvalidArgument("column '" + name + "': an Arrow array of " + std::to_string(a.n_buffers) +
                                   " buffers does not match its format '" + s.format + "'");
  const void* validity = a.null_count != 0 ? a.buffers[0] : nullptr;
  const int64_t n = a.length, off = a.offset;
  auto wrap = [&](const void* p, size_t bytes) { return p ? Buffer::Wrap(p, bytes, owner) : nullptr; };

  // Zero-copy: a native type at offset 0 (a child list's floats too).
  const ArrowArray* floats = list ? a.children[0] : nullptr;
  if (floats && floats->null_count != 0 && floats->n_buffers > 0 && floats->buffers[0]) {
    // A null inside a list has no float to read: refuse it, as Parquet lists are.
    for (int64_t k = floats->offset; k < floats->offset + floats->length; ++k)
      if (!BitAt(floats->buffers[0], k))
        return Status::InvalidArgument("column '" + name + "': a null inside a list of floats");
  }
  bool native = f.kind == Format::kNative || f.kind == Format::kList;
  if (native && off == 0 && (!floats || floats->offset == 0)) {
    Array out;
    out.type = f.type;
    out.dim = f.dim;
    out.length = n;
    out.large_offsets = f.large;
    out.validity = wrap(validity, static_cast<size_t>((n + 7) / 8));
    out.null_count = validity ? (a.null_count < 0 ? -1 : a.null_count) : 0;
    switch (f.type) {
      case DataType::kBool:
        out.values = wrap(a.buffers[1], static_cast<size_t>((n + 7) / 8));
        break;
      case DataType::kInt32:
      case DataType::kFloat32:
        out.values = wrap(a.buffers[1], static_cast<size_t>(n) * 4);
        break;
      case DataType::kString:
      case DataType::kBinary: {
        size_t w = f.large ? 8 : 4;
        out.offsets = wrap(a.buffers[1], static_cast<size_t>(n + 1) * w);
        int64_t bytes = n == 0 || !a.buffers[1] ? 0 : out.OffsetAt(n);
        out.values = Buffer::Wrap(a.buffers[2] ? a.buffers[2] : "", static_cast<size_t>(bytes), owner);
        break;
      }
      case DataType::kFloat32List: {
        if (!f.dim) out.offsets = wrap(a.buffers[1], static_cast<size_t>(n + 1) * (f.large ? 8 : 4));
        int64_t count = f.dim ? n * f.dim : (n == 0 ? 0 : out.OffsetAt(n));
        if (floats->length < count)
          return Status::InvalidArgument("column '" + name + "': its list values are shorter than its lists");
        out.values = Buffer::Wrap(floats->buffers[1] ? floats->buffers[1] : "", static_cast<size_t>(count) * 4, owner);
        break;
      }
      default:
        out.values = wrap(a.buffers[1], static_cast<size_t>(n) * 8);
    }
    if (out.null_count < 0) {  // unknown: count it
      out.null_count = 0;
      for (int64_t i = 0; i < n; ++i) out.null_count += out.IsNull(i);
    }
    if (!out.values && n > 0 && f.type != DataType::kString && f.type != DataType::kBinary)
      return Status::InvalidArgument("column '" + name + "': an Arrow array without a values buffer");
    return out;
  }

  // A copy: offsets, widening and unit changes.
  ArrayBuilder b(f.type, f.dim);
  auto offset_at = [&](const ArrowArray& arr, int64_t i, bool large) -> int64_t {
    return large ? static_cast<const int64_t*>(arr.buffers[1])[i] : static_cast<const int32_t*>(arr.buffers[1])[i];
  };
  for (int64_t r = 0; r < n; ++r) {
    int64_t i = off + r;
    if (validity && !BitAt(validity, i)) {
      b.AppendNull();
      continue;
    }
    const void* v = a.buffers[1];
    switch (f.kind) {
      case Format::kNative:
        switch (f.type) {
          case DataType::kBool:
            b.AppendInt(BitAt(v, i));
            break;
          case DataType::kInt32:
            b.AppendInt(static_cast<const int32_t*>(v)[i]);
            break;
          case DataType::kFloat32:
            b.AppendDouble(static_cast<const float*>(v)[i]);
            break;
          case DataType::kFloat64:
            b.AppendDouble(static_cast<const double*>(v)[i]);
            break;
          case DataType::kString:
          case DataType::kBinary: {
            int64_t from = offset_at(a, i, f.large), to = offset_at(a, i + 1, f.large);
            b.AppendString(
                std::string_view(static_cast<const char*>(a.buffers[2]) + from, static_cast<size_t>(to - from)));
            break;
          }
          default:
            b.AppendInt(static_cast<const int64_t*>(v)[i]);
        }
        break;
      case Format::kIntWiden: {
        int64_t x = 0;
        switch (f.int_bytes) {
          case 1:
            x = f.int_signed ? static_cast<const int8_t*>(v)[i] : static_cast<const uint8_t*>(v)[i];
            break;
          case 2:
            x = f.int_signed ? static_cast<const int16_t*>(v)[i] : static_cast<const uint16_t*>(v)[i];
            break;
          default:
            x = static_cast<const uint32_t*>(v)[i];
        }
        b.AppendInt(x);
        break;
      }
      case Format::kUint64: {
        uint64_t x = static_cast<const uint64_t*>(v)[i];
        if (x > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
          return Status::InvalidArgument("column '" + name + "', row " + std::to_string(r) + ": " + std::to_string(x) +
                                         " does not fit an int64");
        b.AppendInt(static_cast<int64_t>(x));
        break;
      }
      case Format::kTimeScale:
      case Format::kDate32:
      case Format::kDate64: {
        int64_t x =
            f.kind == Format::kDate32 ? int64_t{static_cast<const int32_t*>(v)[i]} : static_cast<const int64_t*>(v)[i];
        int64_t mul = f.kind == Format::kDate32 ? 86'400'000'000 : f.kind == Format::kDate64 ? 1000 : f.time_mul;
        int64_t micros;
        if (f.time_div > 1) {
          int64_t q = x / f.time_div;
          micros = x % f.time_div < 0 ? q - 1 : q;  // floored, as Parquet nanoseconds are
        } else if (__builtin_mul_overflow(x, mul, &micros)) {
          return Status::InvalidArgument("column '" + name + "', row " + std::to_string(r) +
                                         ": a time beyond the range of microseconds since the epoch");
        }
        b.AppendInt(micros);
        break;
      }
      case Format::kList:
      case Format::kListOfDouble: {
        int64_t from = f.dim ? i * f.dim : offset_at(a, i, f.large);
        int64_t to = f.dim ? from + f.dim : offset_at(a, i + 1, f.large);
        from += floats->offset;
        to += floats->offset;
        std::vector<float> xs;
        for (int64_t k = from; k < to; ++k)
          xs.push_back(f.kind == Format::kList ? static_cast<const float*>(floats->buffers[1])[k]
                                               : static_cast<float>(static_cast<const double*>(floats->buffers[1])[k]));
        if (f.dim) {
          b.AppendList(xs.data(), xs.size());
        } else {
          return Status::InvalidArgument("column '" + name +
                                         "': lists of any length are read only at offset 0 as float32; cast to "
                                         "fixed_size_list<float32>");
        }
        break;
      }
    }
  }
  return b.Finish();
}

// ---------------------------------------------------------------- streams

class ExportedStream {
 public:
  explicit ExportedStream(std::unique_ptr<TableReader> reader) : reader_(std::move(reader)) {}
  static int GetSchema(ArrowArrayStream* s, ArrowSchema* out) {
    auto* self = static_cast<ExportedStream*>(s->private_data);
    try {
      return self->Report(ExportSchema(self->reader_->schema(), out));
    } catch (const std::exception& e) {
      self->error_ = e.what();
      return ENOMEM;
    }
  }
  // No exception may unwind into the consumer's C frames: each becomes an error code.
  static int GetNext(ArrowArrayStream* s, ArrowArray* out) {
    auto* self = static_cast<ExportedStream*>(s->private_data);
    try {
      if (!self->error_.empty()) return EIO;  // the first error stays
      Table t;
      auto more = self->reader_->Next(&t);
      if (!more.ok()) return self->Report(more.status());
      if (!*more) {
        std::memset(out, 0, sizeof *out);  // release == nullptr: the end
        return 0;
      }
      // Every batch as the stream's schema announced it (offset widths included).
      const std::vector<ColumnSchema>& announced = self->reader_->schema();
      for (size_t c = 0; c < t.columns.size() && c < announced.size(); ++c) {
        auto a = WithOffsetWidth(std::move(t.columns[c]), announced[c].large_offsets, announced[c].name);
        if (!a.ok()) return self->Report(a.status());
        t.columns[c] = std::move(a).value();
      }
      ArrowSchema schema;
      int rc = self->Report(ExportTable(t, &schema, out));
      if (rc == 0) schema.release(&schema);
      return rc;
    } catch (const std::bad_alloc&) {
      self->error_ = "out of memory";
      return ENOMEM;
    } catch (const std::exception& e) {
      self->error_ = e.what();
      return EIO;
    }
  }
  static const char* LastError(ArrowArrayStream* s) {
    auto* self = static_cast<ExportedStream*>(s->private_data);
    return self->error_.empty() ? nullptr : self->error_.c_str();
  }
  static void Release(ArrowArrayStream* s) {
    delete static_cast<ExportedStream*>(s->private_data);
    s->release = nullptr;
  }

 private:
  int Report(const Status& st) {
    if (st.ok()) return 0;
    error_ = st.ToString();
    return st.IsInvalidArgument() ? EINVAL : EIO;
  }
  std::unique_ptr<TableReader> reader_;
  std::string error_;
};

class ImportedStream : public TableReader {
 public:
  ImportedStream(ArrowArrayStream stream, std::vector<ColumnSchema> schema, ArrowSchema arrow_schema)
      : stream_(stream), schema_(std::move(schema)), arrow_schema_(arrow_schema) {}
  ~ImportedStream() override {
    if (arrow_schema_.release) arrow_schema_.release(&arrow_schema_);
    if (stream_.release) stream_.release(&stream_);
  }
  const std::vector<ColumnSchema>& schema() const override { return schema_; }
  Result<bool> Next(Table* out) override {
    // After an error the producer may only be asked for it again: the first one stays.
    if (!error_.ok()) return error_;
    ArrowArray array;
    std::memset(&array, 0, sizeof array);
    int rc = stream_.get_next(&stream_, &array);
    if (rc != 0) {
      const char* msg = stream_.get_last_error ? stream_.get_last_error(&stream_) : nullptr;
      error_ = Status::IOError(std::string("Arrow stream: ") + (msg ? msg : std::strerror(rc)));
      return error_;
    }
    if (!array.release) return false;
    auto t = ImportTable(arrow_schema_, &array);
    if (!t.ok()) {
      error_ = t.status();
      return error_;
    }
    *out = std::move(t).value();
    return true;
  }

 private:
  ArrowArrayStream stream_;
  std::vector<ColumnSchema> schema_;
  ArrowSchema arrow_schema_;
  Status error_;
};

class TablesReader : public TableReader {
 public:
  TablesReader(std::vector<ColumnSchema> schema, std::vector<Table> tables)
      : schema_(std::move(schema)), tables_(std::move(tables)) {}
  const std::vector<ColumnSchema>& schema() const override { return schema_; }
  Result<bool> Next(Table* out) override {
    if (next_ == tables_.size()) return false;
    *out = std::move(tables_[next_++]);
    return true;
  }

 private:
  std::vector<ColumnSchema> schema_;
  std::vector<Table> tables_;
  size_t next_ = 0;
};

}  // namespace

Status ExportSchema(const std::vector<ColumnSchema>& schema, ArrowSchema* out) {
  FillSchema(out, "+s", "", schema.size());
  for (size_t i = 0; i < schema.size(); ++i) FillColumnSchema(out->children[i], schema[i], schema[i].large_offsets);
  return Status::OK();
}

Status ExportTable(const Table& table, ArrowSchema* schema, ArrowArray* array) {
  if (table.columns.size() != table.schema.size())
    return Status::InvalidArgument("a table with " + std::to_string(table.schema.size()) + " names and " +
                                   std::to_string(table.columns.size()) + " columns");
  FillSchema(schema, "+s", "", table.schema.size());
  for (size_t i = 0; i < table.schema.size(); ++i)
    FillColumnSchema(schema->children[i], table.schema[i], table.columns[i].large_offsets);
  FillArray(array, table.rows, 0, {nullptr}, table.columns.size());
  for (size_t i = 0; i < table.columns.size(); ++i) FillColumnArray(array->children[i], table.columns[i]);
  return Status::OK();
}

Result<std::vector<ColumnSchema>> ImportSchema(const ArrowSchema& schema) {
  if (!schema.format || std::string(schema.format) != "+s")
    return Status::InvalidArgument(std::string("an Arrow table must be a struct ('+s'), not '") +
                                   (schema.format ? schema.format : "") + "'");
  std::vector<ColumnSchema> out;
  for (int64_t i = 0; i < schema.n_children; ++i) {
    const ArrowSchema& c = *schema.children[i];
    PITSTORE_ASSIGN_OR_RETURN(Format f, ParseFormat(c));
    out.push_back({c.name ? c.name : "", f.type, f.dim, f.large});
  }
  return out;
}

Result<Table> ImportTable(const ArrowSchema& schema, ArrowArray* array) {
  // Own the array at once, so every path (errors too) releases it exactly once.
  Owner owner(new ArrowArray(*array), [](ArrowArray* a) {
    if (a->release) a->release(a);
    delete a;
  });
  array->release = nullptr;
  PITSTORE_ASSIGN_OR_RETURN(std::vector<ColumnSchema> names, ImportSchema(schema));
  const ArrowArray& root = *owner;
  if (root.n_children != schema.n_children)
    return Status::InvalidArgument("an Arrow array of " + std::to_string(root.n_children) +
                                   " columns for a schema of " + std::to_string(schema.n_children));
  bool null_rows = root.null_count > 0;
  if (root.null_count < 0 && root.n_buffers > 0 && root.buffers[0])
    for (int64_t i = root.offset; i < root.offset + root.length && !null_rows; ++i)
      null_rows = !BitAt(root.buffers[0], i);
  if (null_rows) return Status::InvalidArgument("an Arrow table with null rows");
  Table t;
  t.schema = std::move(names);
  t.rows = root.length;
  for (int64_t i = 0; i < root.n_children; ++i) {
    const ArrowArray& c = *root.children[i];
    if (c.length < root.offset + root.length)
      return Status::InvalidArgument("column '" + t.schema[i].name + "' is shorter than the table");
    ArrowArray sliced = c;
    sliced.offset += root.offset;
    sliced.length = root.length;
    PITSTORE_ASSIGN_OR_RETURN(Array a, ImportColumn(*schema.children[i], sliced, owner));
    t.columns.push_back(std::move(a));
  }
  return t;
}

Status ExportStream(std::unique_ptr<TableReader> reader, ArrowArrayStream* out) {
  out->get_schema = ExportedStream::GetSchema;
  out->get_next = ExportedStream::GetNext;
  out->get_last_error = ExportedStream::LastError;
  out->release = ExportedStream::Release;
  out->private_data = new ExportedStream(std::move(reader));
  return Status::OK();
}

Result<std::unique_ptr<TableReader>> ImportStream(ArrowArrayStream* stream) {
  ArrowArrayStream s = *stream;
  stream->release = nullptr;
  ArrowSchema schema;
  std::memset(&schema, 0, sizeof schema);
  int rc = s.get_schema(&s, &schema);
  if (rc != 0) {
    const char* msg = s.get_last_error ? s.get_last_error(&s) : nullptr;
    std::string text = std::string("Arrow stream: ") + (msg ? msg : std::strerror(rc));
    s.release(&s);
    return Status::IOError(text);
  }
  auto names = ImportSchema(schema);
  if (!names.ok()) {
    schema.release(&schema);
    s.release(&s);
    return names.status();
  }
  return std::unique_ptr<TableReader>(new ImportedStream(s, std::move(names).value(), schema));
}

std::unique_ptr<TableReader> ReaderOfTables(std::vector<ColumnSchema> schema, std::vector<Table> tables) {
  return std::make_unique<TablesReader>(std::move(schema), std::move(tables));
}

}  // namespace pitstore::io
