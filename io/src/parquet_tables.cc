#include "pitstore/io/parquet_tables.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <map>

#include "parquet/reader.h"
#include "parquet_values.h"
#include "pitstore/io/timestamps.h"

namespace pitstore::io {
namespace {

using namespace parquet;

DataType DataTypeOfRender(Render r, const ColumnDesc& c) {
  if (c.list) return DataType::kFloat32List;
  switch (r) {
    case Render::kBool:
      return DataType::kBool;
    case Render::kFloat:
      return DataType::kFloat32;
    case Render::kDouble:
      return DataType::kFloat64;
    case Render::kString:
      return DataType::kString;
    case Render::kHex:
      return DataType::kBinary;
    case Render::kTimestamp:
    case Render::kDate:
      return DataType::kTimestamp;
    case Render::kInt: {
      // Unsigned 32-bit values (zero-extended by the reader) need 64 bits.
      return c.element.type == kInt32 && !IsUnsigned32(c.element) ? DataType::kInt32 : DataType::kInt64;
    }
    case Render::kUint:
      return DataType::kInt64;
  }
  return DataType::kInt64;
}

class Reader : public ParquetTableReader {
 public:
  explicit Reader(std::unique_ptr<ParquetFile> file) : file_(std::move(file)) {
    for (size_t i = 0; i < file_->columns().size(); ++i) {
      const ColumnDesc& c = file_->columns()[i];
      Decoded d;
      d.column = i;
      d.render = RenderOf(c.element, &d.scale_mul, &d.scale_div);
      d.naive = IsNaiveTimestamp(c.element);
      d.type = DataTypeOfRender(d.render, c);
      schema_.push_back({c.name, d.type, 0});
      all_.push_back(d);
    }
    selected_ = all_;
    selected_schema_ = schema_;
  }

  const std::vector<ColumnSchema>& schema() const override { return selected_schema_; }
  const std::string& name() const override { return file_->name(); }
  uint64_t bytes_read() const override { return bytes_; }
  void SetNaiveTimeOffset(int64_t offset_us) override { naive_offset_ = offset_us; }

  Status Select(const std::vector<std::string>& names) override {
    std::map<std::string, size_t> index;
    for (size_t i = 0; i < schema_.size(); ++i) {
      if (index.count(schema_[i].name))
        return Status::InvalidArgument(file_->name() + ": column '" + schema_[i].name + "' appears twice");
      index[schema_[i].name] = i;
    }
    std::vector<bool> want(schema_.size(), false);
    for (const std::string& n : names) {
      auto it = index.find(n);
      if (it == index.end()) return Status::InvalidArgument(file_->name() + ": the file has no column '" + n + "'");
      want[it->second] = true;
    }
    selected_.clear();
    selected_schema_.clear();
    selected_once_ = true;
    for (size_t i = 0; i < schema_.size(); ++i) {
      if (!want[i]) continue;
      const ColumnDesc& c = file_->columns()[i];
      if (!c.unsupported.empty())
        return Status::NotSupported(file_->name() + ": column '" + c.name + "' holds " + c.unsupported +
                                    ", which pitstore does not read");
      selected_.push_back(all_[i]);
      selected_schema_.push_back(schema_[i]);
    }
    return Status::OK();
  }

  Result<bool> Next(Table* out) override {
    if (group_ == file_->row_groups()) return false;
    if (!selected_once_) {  // everything: refuse what cannot be read
      for (const Decoded& d : selected_) {
        const ColumnDesc& c = file_->columns()[d.column];
        if (!c.unsupported.empty())
          return Status::NotSupported(file_->name() + ": column '" + c.name + "' holds " + c.unsupported +
                                      ", which pitstore does not read");
      }
    }
    const int64_t rows = file_->rows(group_);
    Table t;
    t.rows = rows;
    t.schema = schema();
    for (Decoded& d : selected_) {
      Status st = file_->ReadChunk(group_, d.column, &chunk_);
      if (!st.ok()) return AsInputError(st);
      PITSTORE_ASSIGN_OR_RETURN(Array a, Build(d, rows));
      t.columns.push_back(std::move(a));
    }
    bytes_ = file_->row_group_end(group_);
    first_row_ += rows;
    ++group_;
    *out = std::move(t);
    return true;
  }

 private:
  struct Decoded {
    size_t column = 0;
    Render render = Render::kInt;
    DataType type = DataType::kInt64;
    int64_t scale_mul = 1, scale_div = 1;
    bool naive = false;  // IsNaiveTimestamp: shifted by naive_offset_
  };

  Status Bad(const Decoded& d, int64_t row, const std::string& what) const {
    return Status::InvalidArgument(file_->name() + ": row " + std::to_string(first_row_ + row + 1) + ", column '" +
                                   file_->columns()[d.column].name + "': " + what + " (row group " +
                                   std::to_string(group_) + ")");
  }

  // One column chunk (levels and values) as an Array of `rows` rows.
  Result<Array> Build(const Decoded& d, int64_t rows) {
    const ColumnDesc& c = file_->columns()[d.column];
    const ColumnChunk& ch = chunk_;
    const Values& v = ch.values;
    ArrayBuilder b(d.type, 0);
    size_t level = 0, value = 0;
    auto def_at = [&](size_t l) { return c.max_def ? static_cast<int>(ch.def[l]) : c.max_def; };
    auto need_value = [&](int64_t row) -> Status {
      if (value >= v.size()) return Bad(d, row, "the column chunk has fewer values than its levels");
      return Status::OK();
    };
    // A column of int64s or doubles without a null (the common case) is copied whole: the same
    // Array the loop below builds a value at a time.
    const bool ints = d.render == Render::kInt && d.type == DataType::kInt64 && v.ints.size() >= size_t(rows);
    const bool doubles =
        d.render == Render::kDouble && d.type == DataType::kFloat64 && v.doubles.size() >= size_t(rows);
    if (rows > 0 && !c.list && (ints || doubles) && ch.levels >= size_t(rows) &&
        (c.max_def == 0 ||
         (ch.def.size() >= size_t(rows) && std::all_of(ch.def.begin(), ch.def.begin() + rows, [&](uint32_t def) {
            return static_cast<int>(def) == c.max_def;
          })))) {
      Array a;
      a.type = d.type;
      a.length = rows;
      a.values = Buffer::Allocate(static_cast<size_t>(rows) * 8);
      std::memcpy(a.values->mutable_data(), ints ? static_cast<const void*>(v.ints.data()) : v.doubles.data(),
                  static_cast<size_t>(rows) * 8);
      return a;
    }
    for (int64_t row = 0; row < rows; ++row) {
      if (level >= ch.levels) return Bad(d, row, "the column chunk has fewer rows than its row group");
      if (c.list) {
        if (ch.rep[level] != 0) return Bad(d, row, "a list continues where a row should start");
        int def = def_at(level);
        if (def < c.list_def) {
          ++level;
          b.AppendNull();
          continue;
        }
        list_.clear();
        if (def < c.elem_def) {
          ++level;  // an empty list
        } else {
          do {
            if (def_at(level) < c.max_def) return Bad(d, row, "a null inside a list of floats");
            PITSTORE_RETURN_IF_ERROR(need_value(row));
            list_.push_back(static_cast<float>(v.doubles[value++]));
            ++level;
          } while (level < ch.levels && ch.rep[level] == 1);
        }
        b.AppendList(list_.data(), list_.size());
        continue;
      }
      if (def_at(level++) < c.max_def) {
        b.AppendNull();
        continue;
      }
      PITSTORE_RETURN_IF_ERROR(need_value(row));
      switch (d.render) {
        case Render::kFloat:
        case Render::kDouble:
          b.AppendDouble(v.doubles[value++]);
          break;
        case Render::kString:
        case Render::kHex:
          b.AppendString(v.strings[value++]);
          break;
        case Render::kTimestamp:
        case Render::kDate: {
          int64_t t;
          if (!ParquetMicros(d.render, d.scale_mul, d.scale_div, v.ints[value++], &t) ||
              (d.naive && !ShiftNaive(naive_offset_, &t)))
            return Bad(d, row, "a timestamp out of range");
          b.AppendInt(t);
          break;
        }
        case Render::kUint:
          if (static_cast<uint64_t>(v.ints[value]) > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
            return Bad(d, row, std::to_string(static_cast<uint64_t>(v.ints[value])) + " does not fit an int64");
          b.AppendInt(v.ints[value++]);
          break;
        default:
          b.AppendInt(v.ints[value++]);
      }
    }
    return b.Finish();
  }

  std::unique_ptr<ParquetFile> file_;
  std::vector<ColumnSchema> schema_, selected_schema_;
  std::vector<Decoded> all_, selected_;
  bool selected_once_ = false;
  ColumnChunk chunk_;
  std::vector<float> list_;
  size_t group_ = 0;
  int64_t first_row_ = 0;
  uint64_t bytes_ = 0;
  int64_t naive_offset_ = 0;  // of the zone naive TIMESTAMP columns are read in
};

}  // namespace

Status ReadNaiveTimesIn(const std::string& zone, ParquetTableReader& tables) {
  int64_t offset = 0;
  std::string why = NaiveZoneOffsetWhy(zone, &offset);
  if (!why.empty()) return Status::InvalidArgument(why);
  tables.SetNaiveTimeOffset(offset);
  return Status::OK();
}

Result<std::unique_ptr<ParquetTableReader>> OpenParquetTables(const std::string& path) {
  auto file = ParquetFile::Open(path);
  if (!file.ok()) return AsInputError(file.status());
  return std::unique_ptr<ParquetTableReader>(std::make_unique<Reader>(std::move(file).value()));
}

Result<std::unique_ptr<ParquetTableReader>> ParquetTablesFromBuffer(std::string data, const std::string& name) {
  auto file = ParquetFile::FromBuffer(std::move(data), name);
  if (!file.ok()) return AsInputError(file.status());
  return std::unique_ptr<ParquetTableReader>(std::make_unique<Reader>(std::move(file).value()));
}

}  // namespace pitstore::io
