#include "pitstore/workflow/view_export.h"

#include <algorithm>

#include "pitstore/io/parquet_writer.h"
#include "pitstore/workflow/entity_keys.h"

namespace pitstore::workflow {

Status ExportViewToParquet(Store& store, const std::string& view_name, const ViewExportOptions& options, FILE* out) {
  PITSTORE_ASSIGN_OR_RETURN(FeatureViewDef view, store.GetView(view_name));
  PITSTORE_ASSIGN_OR_RETURN(std::vector<JoinKeyDef> key_columns, ViewKeyColumns(store, view));
  std::vector<std::string> features = options.features;
  if (features.empty())
    for (const FeatureDef& f : view.features) features.push_back(f.name);
  std::vector<io::OutputColumn> schema;
  for (const JoinKeyDef& k : key_columns)
    schema.push_back({k.name, k.type == KeyType::kInt64 ? FeatureType::kInt64 : FeatureType::kString, 0});
  schema.push_back({"event_ts", FeatureType::kTimestamp, 0});
  schema.push_back({"system_ts", FeatureType::kTimestamp, 0});
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
  io::ParquetWriter writer(out, schema);
  std::vector<const Column*> ptrs;
  auto flush = [&]() -> Status {
    ptrs.clear();
    for (const Column& c : columns) ptrs.push_back(&c);
    Status st = writer.WriteRowGroup(ptrs, 0, columns[0].size());
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
        if (columns[0].size() == 1'000'000) written = flush();
        return written.ok() && ++n < options.limit;
      },
      options.known_at, features);
  if (st.ok()) st = written;
  if (st.ok() && columns[0].size() > 0) st = flush();
  if (st.ok()) st = writer.Finish();
  return st;
}

}  // namespace pitstore::workflow
