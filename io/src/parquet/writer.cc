#include "writer.h"

#include <cstring>

#include "codecs.h"
#include "encodings.h"

namespace pitstore::io::parquet {
namespace {

constexpr size_t kPageBytes = 1 << 20;

int32_t PhysicalOf(FeatureType t) {
  switch (IsListType(t) ? ListElementType(t) : t) {
    case FeatureType::kBool:
      return kBoolean;
    case FeatureType::kInt32:
      return kInt32;
    case FeatureType::kInt64:
    case FeatureType::kTimestamp:
      return kInt64;
    case FeatureType::kFloat32:
    case FeatureType::kFloat32Vector:
      return kFloat;
    case FeatureType::kFloat64:
      return kDouble;
    case FeatureType::kString:
    case FeatureType::kBytes:
      return kByteArray;
  }
  return kByteArray;
}

template <typename T>
void Put(std::string* out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  out->append(b, sizeof(T));
}

// Approximate bytes per row, to cut pages of about kPageBytes.
size_t RowBytes(const OutputColumn& c, const Column& col, size_t begin, size_t end) {
  if (IsListType(c.type)) {  // the items held, strings by their sampled sizes
    const FeatureType e = ListElementType(c.type);
    const bool strings = e == FeatureType::kString || e == FeatureType::kBytes;
    size_t total = 0, n = std::min<size_t>(end - begin, 1000);
    for (size_t i = begin; i < begin + n; ++i)
      if (!col.is_null(i))
        for (size_t j = 0; j < col.lengths[i]; ++j) total += strings ? 4 + col.strings[i * col.dim + j].size() : 8;
    return n ? total / n + 1 : 8;
  }
  switch (c.type) {
    case FeatureType::kBool:
      return 1;
    case FeatureType::kInt32:
    case FeatureType::kFloat32:
      return 4;
    case FeatureType::kFloat32Vector:
      return 4 * (c.dim ? c.dim : 1);
    case FeatureType::kString:
    case FeatureType::kBytes: {
      size_t total = 0, n = std::min<size_t>(end - begin, 1000);
      for (size_t i = begin; i < begin + n; ++i) total += 4 + col.strings[i].size();
      return n ? total / n + 1 : 8;
    }
    default:
      return 8;
  }
}

// The logical type of a scalar column or list element.
void AnnotateScalar(FeatureType type, SchemaElement* e) {
  if (type == FeatureType::kString) {
    e->converted_type = kUtf8;
    e->logical = kLogicalString;
  } else if (type == FeatureType::kTimestamp) {
    e->converted_type = kTimestampMicros;
    e->logical = kLogicalTimestamp;
    e->unit = TimeUnit::kMicros;
    e->utc = true;
  }
}

// Appends the PLAIN encoding of the scalar of type `type` in slot i of c's storage (bools
// bit-packed through `bits`/`nbits`).
void PutScalar(FeatureType type, const Column& c, size_t i, std::string* values, uint8_t* bits, int* nbits) {
  switch (type) {
    case FeatureType::kBool:
      *bits |= static_cast<uint8_t>((c.ints[i] ? 1 : 0) << *nbits);
      if (++*nbits == 8) {
        values->push_back(static_cast<char>(*bits));
        *bits = 0;
        *nbits = 0;
      }
      break;
    case FeatureType::kInt32:
      Put(values, static_cast<int32_t>(c.ints[i]));
      break;
    case FeatureType::kInt64:
    case FeatureType::kTimestamp:
      Put(values, c.ints[i]);
      break;
    case FeatureType::kFloat32:
      Put(values, static_cast<float>(c.doubles[i]));
      break;
    case FeatureType::kFloat64:
      Put(values, c.doubles[i]);
      break;
    case FeatureType::kString:
    case FeatureType::kBytes:
      Put(values, static_cast<uint32_t>(c.strings[i].size()));
      *values += c.strings[i];
      break;
    case FeatureType::kFloat32Vector:
      break;
  }
}

}  // namespace

FileWriter::FileWriter(FILE* out, std::vector<OutputColumn> schema, int zstd_level)
    : out_(out), schema_(std::move(schema)), zstd_level_(zstd_level) {
  status_ = Write("PAR1");
  SchemaElement root;
  root.name = "schema";
  root.num_children = static_cast<int32_t>(schema_.size());
  meta_.schema.push_back(root);
  for (const OutputColumn& c : schema_) {
    SchemaElement e;
    e.name = c.name;
    e.repetition = kOptional;
    if (c.type == FeatureType::kFloat32Vector || IsListType(c.type)) {
      e.converted_type = kList;
      e.logical = kLogicalList;
      e.num_children = 1;
      meta_.schema.push_back(e);
      SchemaElement list;
      list.name = "list";
      list.repetition = kRepeated;
      list.num_children = 1;
      meta_.schema.push_back(list);
      SchemaElement element;
      element.name = "element";
      element.repetition = kRequired;
      element.type = PhysicalOf(c.type);
      if (IsListType(c.type)) AnnotateScalar(ListElementType(c.type), &element);
      meta_.schema.push_back(element);
      continue;
    }
    e.type = PhysicalOf(c.type);
    AnnotateScalar(c.type, &e);
    meta_.schema.push_back(e);
  }
  meta_.created_by = "pitstore version 0.1.0";
}

Status FileWriter::Write(const std::string& bytes) {
  if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), out_) != bytes.size())
    return Status::IOError(std::string("writing Parquet failed: ") + std::strerror(errno));
  offset_ += bytes.size();
  return Status::OK();
}

Status FileWriter::WritePage(const std::string& raw, int32_t num_values, ColumnMetaData* meta) {
  std::string compressed;
  PITSTORE_RETURN_IF_ERROR(CompressZstd(raw, zstd_level_, &compressed));
  if (raw.size() > INT32_MAX || compressed.size() > INT32_MAX) return Status::InvalidArgument("a page over 2 GiB");
  PageHeader h;
  h.type = kDataPage;
  h.uncompressed_size = static_cast<int32_t>(raw.size());
  h.compressed_size = static_cast<int32_t>(compressed.size());
  h.num_values = num_values;
  h.encoding = kPlain;
  h.has_crc = true;
  h.crc = PageCrc(reinterpret_cast<const uint8_t*>(compressed.data()), compressed.size());
  std::string header = SerializePageHeader(h);
  if (meta->num_values == 0) meta->data_page_offset = static_cast<int64_t>(offset_);
  meta->num_values += num_values;
  meta->total_uncompressed_size += static_cast<int64_t>(header.size() + raw.size());
  meta->total_compressed_size += static_cast<int64_t>(header.size() + compressed.size());
  PITSTORE_RETURN_IF_ERROR(Write(header));
  return Write(compressed);
}

Status FileWriter::WriteChunk(const OutputColumn& def, const Column& c, size_t begin, size_t end,
                              ColumnMetaData* meta) {
  meta->type = PhysicalOf(def.type);
  meta->encodings = {kPlain, kRle};
  meta->path = {def.name};
  const bool list = def.type == FeatureType::kFloat32Vector || IsListType(def.type);
  if (list) meta->path = {def.name, "list", "element"};
  meta->codec = kZstd;
  meta->data_page_offset = static_cast<int64_t>(offset_);
  const size_t rows_per_page = std::max<size_t>(1024, kPageBytes / RowBytes(def, c, begin, end));
  std::vector<uint8_t> defs, reps;
  std::string values, raw;
  for (size_t from = begin; from < end || (from == begin && begin == end); from += rows_per_page) {
    size_t to = std::min(end, from + rows_per_page);
    defs.clear();
    reps.clear();
    values.clear();
    uint8_t bits = 0;
    int nbits = 0;
    for (size_t i = from; i < to; ++i) {
      bool null = c.is_null(i);
      if (list) {
        const uint32_t items = null ? 0 : IsListType(def.type) ? c.lengths[i] : def.dim;
        if (items == 0) {  // null, or empty (a vector of dim 0)
          reps.push_back(0);
          defs.push_back(null ? 0 : 1);
          continue;
        }
        for (uint32_t d = 0; d < items; ++d) {
          reps.push_back(d ? 1 : 0);
          defs.push_back(2);
          if (IsListType(def.type))
            PutScalar(ListElementType(def.type), c, i * def.dim + d, &values, &bits, &nbits);
          else
            Put(&values, c.floats[i * def.dim + d]);
        }
        continue;
      }
      defs.push_back(null ? 0 : 1);
      if (!null) PutScalar(def.type, c, i, &values, &bits, &nbits);
    }
    if (nbits) values.push_back(static_cast<char>(bits));
    raw.clear();
    auto levels = [&](const std::vector<uint8_t>& lv, int max_level) {
      std::string enc;
      EncodeHybrid(lv, BitWidth(max_level), &enc);
      Put(&raw, static_cast<uint32_t>(enc.size()));
      raw += enc;
    };
    if (list) levels(reps, 1);
    levels(defs, list ? 2 : 1);
    raw += values;
    PITSTORE_RETURN_IF_ERROR(WritePage(raw, static_cast<int32_t>(defs.size()), meta));
    if (begin == end) break;
  }
  return Status::OK();
}

Status FileWriter::WriteRowGroup(const std::vector<const Column*>& columns, size_t begin, size_t end) {
  PITSTORE_RETURN_IF_ERROR(status_);
  if (columns.size() != schema_.size()) return Status::InvalidArgument("a row group with the wrong column count");
  RowGroup g;
  g.num_rows = static_cast<int64_t>(end - begin);
  const uint64_t start = offset_;
  for (size_t k = 0; k < columns.size(); ++k) {
    ColumnMetaData cm;
    status_ = WriteChunk(schema_[k], *columns[k], begin, end, &cm);
    PITSTORE_RETURN_IF_ERROR(status_);
    g.columns.push_back(std::move(cm));
  }
  g.total_byte_size = static_cast<int64_t>(offset_ - start);
  meta_.num_rows += g.num_rows;
  meta_.row_groups.push_back(std::move(g));
  return Status::OK();
}

Status FileWriter::Finish() {
  PITSTORE_RETURN_IF_ERROR(status_);
  meta_.key_value.emplace_back(kMetadataCrcKey, MetadataCrc(meta_));
  std::string meta = SerializeFileMetaData(meta_);
  std::string tail;
  Put(&tail, static_cast<uint32_t>(meta.size()));
  tail += "PAR1";
  PITSTORE_RETURN_IF_ERROR(Write(meta));
  PITSTORE_RETURN_IF_ERROR(Write(tail));
  if (std::fflush(out_) != 0) return Status::IOError(std::string("writing Parquet failed: ") + std::strerror(errno));
  return Status::OK();
}

}  // namespace pitstore::io::parquet

namespace pitstore::io {

ParquetWriter::ParquetWriter(FILE* out, std::vector<OutputColumn> schema, int zstd_level)
    : impl_(std::make_unique<parquet::FileWriter>(out, std::move(schema), zstd_level)) {}
ParquetWriter::~ParquetWriter() = default;
Status ParquetWriter::WriteRowGroup(const std::vector<const Column*>& columns, size_t begin, size_t end) {
  return impl_->WriteRowGroup(columns, begin, end);
}
Status ParquetWriter::Finish() { return impl_->Finish(); }

Status WriteParquet(TableReader& tables, FILE* out, size_t row_group_rows) {
  std::vector<OutputColumn> schema;
  for (const ColumnSchema& c : tables.schema()) {
    if ((c.type == DataType::kFloat32List || c.type == DataType::kList) && c.dim <= 0)
      return Status::InvalidArgument("column '" + c.name + "': Parquet output needs lists of a known length");
    schema.push_back({c.name, FeatureTypeOf(c), static_cast<uint32_t>(c.dim)});
  }
  ParquetWriter writer(out, schema);
  Table t;
  for (;;) {
    PITSTORE_ASSIGN_OR_RETURN(bool more, tables.Next(&t));
    if (!more) break;
    std::vector<Column> columns;
    for (size_t c = 0; c < schema.size(); ++c) {
      PITSTORE_ASSIGN_OR_RETURN(
          Column col, ColumnFromArray(t.columns[c], schema[c].type, schema[c].dim, "column '" + schema[c].name + "'"));
      columns.push_back(std::move(col));
    }
    std::vector<const Column*> ptrs;
    for (const Column& c : columns) ptrs.push_back(&c);
    const size_t n = static_cast<size_t>(t.rows);
    if (n == 0) continue;
    for (size_t from = 0; from < n; from += row_group_rows)
      PITSTORE_RETURN_IF_ERROR(writer.WriteRowGroup(ptrs, from, std::min(n, from + row_group_rows)));
  }
  return writer.Finish();
}

}  // namespace pitstore::io
