// Parquet as a RecordSource: one row group at a time, each value turned into the Field a CSV or
// JSON Lines reader would give, so ingestion and joins treat every format alike.
//
// Field kinds: integers and floats are numbers; BOOLEAN is a bool; strings (STRING, UTF8, ENUM,
// JSON annotations) are strings; other byte arrays are hex text ("0x0a0b", as bytes features
// read); timestamps (TIMESTAMP in millis, micros or nanos, with or without UTC adjustment,
// legacy INT96) and DATEs (midnight UTC) are kTimestamp in microseconds, nanoseconds floored;
// lists of floats are arrays "[1,2.5]". A null list element is an error naming the row.
#include <charconv>
#include <cstring>
#include <map>

#include "parquet/reader.h"
#include "parquet_values.h"
#include "pitstore/io/suggest.h"
#include "pitstore/io/text.h"
#include "record_source_internal.h"

namespace pitstore::io {
namespace {

using namespace parquet;

class ParquetSource : public RecordSource {
 public:
  explicit ParquetSource(std::unique_ptr<ParquetFile> file) : file_(std::move(file)) {}

  Result<std::vector<std::string>> ColumnNames() override {
    std::vector<std::string> names;
    for (const ColumnDesc& c : file_->columns()) names.push_back(c.name);
    return names;
  }

  Status Bind(const std::vector<std::string>& names, const std::vector<std::string>& required,
              bool ignore_extra) override {
    std::map<std::string, int> slot_of;
    for (size_t i = 0; i < names.size(); ++i) slot_of[names[i]] = static_cast<int>(i);
    std::map<std::string, bool> seen;
    columns_.clear();
    for (size_t i = 0; i < file_->columns().size(); ++i) {
      const ColumnDesc& c = file_->columns()[i];
      if (seen[c.name]) return Status::InvalidArgument(file_->name() + ": column '" + c.name + "' appears twice");
      seen[c.name] = true;
      auto it = slot_of.find(c.name);
      if (it == slot_of.end()) {
        if (ignore_extra) continue;
        return Status::InvalidArgument(file_->name() + ": " + UnknownColumn(c.name, names));
      }
      if (!c.unsupported.empty())
        return Status::NotSupported(file_->name() + ": column '" + c.name + "' holds " + c.unsupported +
                                    ", which pitstore does not read");
      Bound b;
      b.column = i;
      b.slot = it->second;
      b.render = RenderOf(c.element, &b.scale_mul, &b.scale_div);
      b.naive = IsNaiveTimestamp(c.element);
      columns_.push_back(std::move(b));
    }
    for (const std::string& r : required)
      if (!seen.count(r)) return Status::InvalidArgument(file_->name() + ": the file has no column '" + r + "'");
    slots_ = names.size();
    return Status::OK();
  }

  Result<bool> Next(std::vector<Field>* fields, uint64_t* line) override {
    while (row_in_group_ == group_rows_) {
      if (group_ == file_->row_groups()) return false;
      for (Bound& b : columns_) {
        Status st = file_->ReadChunk(group_, b.column, &b.chunk);
        if (!st.ok()) return AsInputError(st);
        b.level = b.value = 0;
      }
      group_rows_ = file_->rows(group_);
      row_in_group_ = 0;
      bytes_ = file_->row_group_end(group_);
      ++group_;
    }
    fields->resize(slots_);
    for (Field& f : *fields) f.kind = Field::kMissing;
    *line = row_ + 1;
    for (Bound& b : columns_) {
      Field& f = (*fields)[b.slot];
      f.line = row_ + 1;
      f.column = b.column + 1;
      f.text.clear();
      f.typed = Field::kNoValue;
      PITSTORE_RETURN_IF_ERROR(Render1(b, &f));
    }
    ++row_;
    ++row_in_group_;
    return true;
  }

  uint64_t bytes_read() const override { return bytes_; }
  void PreferTypedValues() override { typed_ = true; }
  void SetNaiveTimeOffset(int64_t offset_us) override { naive_offset_ = offset_us; }

  std::string Where(uint64_t line, uint64_t column) const override {
    std::string w = file_->name() + ": row " + std::to_string(line);
    if (column >= 1 && column <= file_->columns().size()) w += ", column '" + file_->columns()[column - 1].name + "'";
    return w + ": ";
  }

 private:
  struct Bound {
    size_t column = 0;
    int slot = 0;
    Render render = Render::kInt;
    int64_t scale_mul = 1, scale_div = 1;
    bool naive = false;  // IsNaiveTimestamp: shifted by naive_offset_
    ColumnChunk chunk;
    size_t level = 0, value = 0;
  };

  Status Bad(const Bound& b, const std::string& what) const {
    return Status::InvalidArgument(Where(row_ + 1, b.column + 1) + what + " (row group " + std::to_string(group_ - 1) +
                                   ")");
  }

  // Appends one decoded value as text; false if it cannot be one (a timestamp out of range).
  bool AppendValue(const Bound& b, size_t i, std::string* out) const {
    const Values& v = b.chunk.values;
    char buf[32];
    switch (b.render) {
      case Render::kInt:
        AppendInt(v.ints[i], out);
        return true;
      case Render::kBool:
        *out += v.ints[i] ? "true" : "false";
        return true;
      case Render::kUint: {
        auto [end, ec] = std::to_chars(buf, buf + sizeof buf, static_cast<uint64_t>(v.ints[i]));
        out->append(buf, end);
        return true;
      }
      case Render::kFloat:
        AppendFloat(static_cast<float>(v.doubles[i]), out);
        return true;
      case Render::kDouble:
        AppendFloat(v.doubles[i], out);
        return true;
      case Render::kString:
        *out += v.strings[i];
        return true;
      case Render::kHex:
        AppendHex(v.strings[i], out);
        return true;
      case Render::kTimestamp:
      case Render::kDate: {
        int64_t t;
        if (!Micros(b, v.ints[i], &t)) return false;
        AppendInt(t, out);
        return true;
      }
    }
    return false;
  }

  bool Micros(const Bound& b, int64_t raw, int64_t* out) const {
    return ParquetMicros(b.render, b.scale_mul, b.scale_div, raw, out) && (!b.naive || ShiftNaive(naive_offset_, out));
  }

  // Sets f's typed value for the renders that have one (not unsigned 64-bit: an int64 cannot
  // hold it, and its text gives the right error); false to fall back to text.
  bool TakeTyped(Bound& b, Field* f) {
    const Values& v = b.chunk.values;
    if (b.value >= v.size()) return false;
    switch (b.render) {
      case Render::kInt:
      case Render::kBool:
        f->typed = Field::kIntValue;
        f->int_value = v.ints[b.value++];
        return true;
      case Render::kFloat:
      case Render::kDouble:
        f->typed = Field::kDoubleValue;
        f->double_value = v.doubles[b.value++];
        return true;
      case Render::kTimestamp:
      case Render::kDate:
        if (!Micros(b, v.ints[b.value], &f->int_value)) return false;  // out of range: the text path says so
        f->typed = Field::kIntValue;
        ++b.value;
        return true;
      default:
        return false;
    }
  }

  Status Render1(Bound& b, Field* f) {
    const ColumnDesc& c = file_->columns()[b.column];
    const ColumnChunk& ch = b.chunk;
    if (b.level >= ch.levels) return Bad(b, "the column chunk has fewer rows than its row group");
    auto def_at = [&](size_t l) { return c.max_def ? static_cast<int>(ch.def[l]) : c.max_def; };
    auto take = [&](std::string* out) -> Status {
      if (b.value >= ch.values.size()) return Bad(b, "the column chunk has fewer values than its levels");
      if (!AppendValue(b, b.value++, out)) return Bad(b, "a timestamp out of range");
      return Status::OK();
    };
    if (!c.list) {
      int def = def_at(b.level++);
      if (def < c.max_def) {
        f->kind = Field::kNull;
        return Status::OK();
      }
      f->kind = b.render == Render::kBool                                     ? Field::kBool
                : b.render == Render::kString                                 ? Field::kString
                : b.render == Render::kHex                                    ? Field::kText
                : b.render == Render::kTimestamp || b.render == Render::kDate ? Field::kTimestamp
                                                                              : Field::kNumber;
      if (typed_ && TakeTyped(b, f)) return Status::OK();
      return take(&f->text);
    }
    if (ch.rep[b.level] != 0) return Bad(b, "a list continues where a row should start");
    int def = def_at(b.level);
    if (def < c.list_def) {
      ++b.level;
      f->kind = Field::kNull;
      return Status::OK();
    }
    f->kind = Field::kArray;
    f->text.push_back('[');  // cleared by Next
    if (def < c.elem_def) {  // an empty list
      ++b.level;
    } else {
      bool first = true;
      do {
        if (def_at(b.level) < c.max_def) return Bad(b, "a null inside a list of floats");
        if (!first) f->text.push_back(',');
        first = false;
        PITSTORE_RETURN_IF_ERROR(take(&f->text));
        ++b.level;
      } while (b.level < ch.levels && ch.rep[b.level] == 1);
    }
    f->text.push_back(']');
    return Status::OK();
  }

  std::unique_ptr<ParquetFile> file_;
  std::vector<Bound> columns_;
  size_t slots_ = 0;
  size_t group_ = 0;
  int64_t row_in_group_ = 0, group_rows_ = 0;
  uint64_t row_ = 0, bytes_ = 0;
  bool typed_ = false;
  int64_t naive_offset_ = 0;  // of the zone naive TIMESTAMP columns are read in
};

}  // namespace

Result<std::unique_ptr<RecordSource>> OpenParquetSource(const std::string& path) {
  auto file = ParquetFile::Open(path);
  if (!file.ok()) return AsInputError(file.status());
  return std::unique_ptr<RecordSource>(std::make_unique<ParquetSource>(std::move(file).value()));
}

Result<std::unique_ptr<RecordSource>> ParquetSourceFromString(std::string data, const std::string& name) {
  auto file = ParquetFile::FromBuffer(std::move(data), name);
  if (!file.ok()) return AsInputError(file.status());
  return std::unique_ptr<RecordSource>(std::make_unique<ParquetSource>(std::move(file).value()));
}

}  // namespace pitstore::io
