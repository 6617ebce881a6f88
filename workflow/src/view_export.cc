#include "pitstore/workflow/view_export.h"

#include <algorithm>

#include "pitstore/io/parquet_writer.h"
#include "pitstore/io/text.h"
#include "pitstore/workflow/entity_keys.h"
#include "value_text.h"

namespace pitstore::workflow {

std::string ExportedEventColumn(const FeatureViewDef& view) {
  return view.event_ts_column.empty() ? "event_ts" : view.event_ts_column;
}
std::string ExportedSystemColumn(const FeatureViewDef& view) {
  return view.created_ts_column.empty() ? "system_ts" : view.created_ts_column;
}

namespace {

// CSV or JSON Lines: a header (CSV), then each chunk of rows as text.
class TextWriter {
 public:
  TextWriter(FILE* out, const std::vector<io::OutputColumn>& schema, bool json) : out_(out), json_(json) {
    for (const io::OutputColumn& c : schema) {
      names_.push_back(c.name);
      std::string quoted;
      io::AppendJsonString(c.name, &quoted);
      json_names_.push_back(quoted + ":");
    }
    if (!json_) {
      std::string line;
      for (size_t i = 0; i < names_.size(); ++i) {
        if (i) line.push_back(',');
        io::AppendCsvField(names_[i], false, &line);
      }
      line.push_back('\n');
      Put(line);
    }
  }
  Status Write(const std::vector<Column>& columns) {
    std::string buf;
    const size_t rows = columns.empty() ? 0 : columns[0].size();
    for (size_t r = 0; r < rows; ++r) {
      if (json_) buf.push_back('{');
      for (size_t c = 0; c < columns.size(); ++c) {
        if (c) buf.push_back(',');
        if (json_) buf += json_names_[c];
        AppendValueText(columns[c], r, json_, &buf);
      }
      buf += json_ ? "}\n" : "\n";
    }
    Put(buf);
    return status_;
  }
  Status Finish() {
    if (status_.ok() && std::fflush(out_) != 0) status_ = Status::IOError("writing the export failed");
    return status_;
  }

 private:
  void Put(const std::string& s) {
    if (status_.ok() && !s.empty() && std::fwrite(s.data(), 1, s.size(), out_) != s.size())
      status_ = Status::IOError("writing the export failed");
  }
  FILE* out_;
  bool json_;
  std::vector<std::string> names_, json_names_;
  Status status_;
};

}  // namespace

Status ExportView(Store& store, const std::string& view_name, const ViewExportOptions& options, FILE* out) {
  PITSTORE_ASSIGN_OR_RETURN(FeatureViewDef view, store.GetView(view_name));
  PITSTORE_ASSIGN_OR_RETURN(std::vector<JoinKeyDef> key_columns, ViewKeyColumns(store, view));
  std::vector<std::string> features = options.features;
  if (features.empty())
    for (const FeatureDef& f : view.features) features.push_back(f.name);
  std::vector<io::OutputColumn> schema;
  for (const JoinKeyDef& k : key_columns)
    schema.push_back({k.name, k.type == KeyType::kInt64 ? FeatureType::kInt64 : FeatureType::kString, 0});
  schema.push_back({ExportedEventColumn(view), FeatureType::kTimestamp, 0});
  schema.push_back({ExportedSystemColumn(view), FeatureType::kTimestamp, 0});
  for (const std::string& name : features) {
    auto it =
        std::find_if(view.features.begin(), view.features.end(), [&](const FeatureDef& f) { return f.name == name; });
    if (it == view.features.end()) return Status::NotFound("view '" + view.name + "' has no feature '" + name + "'");
    schema.push_back({name, it->type, it->dim});
  }
  std::vector<Column> columns;
  auto reset = [&] {
    columns.clear();
    for (const auto& c : schema) columns.push_back(Column::Of(c.type, c.dim));
  };
  reset();
  const bool parquet = options.format == ExportFormat::kParquet;
  std::unique_ptr<io::ParquetWriter> parquet_writer;
  std::unique_ptr<TextWriter> text_writer;
  if (parquet)
    parquet_writer = std::make_unique<io::ParquetWriter>(out, schema);
  else
    text_writer = std::make_unique<TextWriter>(out, schema, options.format == ExportFormat::kJsonLines);
  const size_t chunk_rows = parquet ? 1'000'000 : 65'536;
  std::vector<const Column*> ptrs;
  auto flush = [&]() -> Status {
    Status st;
    if (parquet) {
      ptrs.clear();
      for (const Column& c : columns) ptrs.push_back(&c);
      st = parquet_writer->WriteRowGroup(ptrs, 0, columns[0].size());
    } else {
      st = text_writer->Write(columns);
    }
    reset();
    return st;
  };
  uint64_t n = 0;
  Status written;
  Status st = store.Scan(
      view.name,
      [&](const EntityKey& key, const VersionedRow& r) {
        if (n >= options.limit) return false;
        size_t c = 0;
        for (const KeyPart& part : key) {
          if (std::holds_alternative<int64_t>(part))
            columns[c++].Append(Value::Int64(std::get<int64_t>(part)));
          else
            columns[c++].Append(Value::String(std::get<std::string>(part)));
        }
        columns[c++].Append(Value::Time(r.event_ts));
        columns[c++].Append(Value::Time(r.system_ts));
        for (const Value& v : r.values) columns[c++].Append(v);
        if (columns[0].size() == chunk_rows) written = flush();
        return written.ok() && ++n < options.limit;
      },
      options.known_at, features);
  if (st.ok()) st = written;
  if (st.ok() && columns[0].size() > 0) st = flush();
  if (st.ok()) st = parquet ? parquet_writer->Finish() : text_writer->Finish();
  return st;
}

}  // namespace pitstore::workflow
