#include "pitstore/workflow/entity_keys.h"

#include <cstdlib>

#include "pitstore/workflow/ingest.h"

namespace pitstore::workflow {

Result<std::vector<JoinKeyDef>> ViewKeyColumns(Store& store, const FeatureViewDef& view) {
  std::vector<JoinKeyDef> columns;
  for (const std::string& e : view.entities) {
    PITSTORE_ASSIGN_OR_RETURN(EntityDef entity, store.GetEntity(e));
    columns.insert(columns.end(), entity.join_keys.begin(), entity.join_keys.end());
  }
  return columns;
}

Result<std::vector<EntityKey>> KeysFromSource(Store& store, const FeatureViewDef& view, io::RecordSource& source) {
  PITSTORE_ASSIGN_OR_RETURN(std::vector<JoinKeyDef> columns, ViewKeyColumns(store, view));
  std::vector<std::string> names;
  for (const JoinKeyDef& c : columns) names.push_back(c.name);
  PITSTORE_RETURN_IF_ERROR(source.Bind(names, names, true));
  std::vector<EntityKey> keys;
  std::vector<io::Field> fields;
  uint64_t line = 0;
  for (;;) {
    PITSTORE_ASSIGN_OR_RETURN(bool more, source.Next(&fields, &line));
    if (!more) return keys;
    EntityKey key;
    for (size_t i = 0; i < columns.size(); ++i) {
      Result<KeyPart> part = KeyPartFromField(fields[i], columns[i].type, columns[i].name);
      if (!part.ok()) {
        const io::Field& f = fields[i];
        return part.status().WithMessage(source.Where(f.line ? f.line : line, f.line ? f.column : 1) +
                                         part.status().message());
      }
      key.push_back(std::move(part).value());
    }
    keys.push_back(std::move(key));
  }
}

Result<EntityKey> KeyFromText(Store& store, const FeatureViewDef& view, const std::string& text) {
  if (!text.empty() && text.front() == '{') {  // a JSON object of the join keys by name
    std::unique_ptr<io::RecordSource> source =
        io::RecordSourceFromString(text + "\n", "key", io::SourceFormat::kJsonLines);
    Result<std::vector<EntityKey>> keys = KeysFromSource(store, view, *source);
    if (!keys.ok()) return keys.status().WithMessage("key " + text + ": " + keys.status().message());
    if (keys->size() != 1) return Status::InvalidArgument("key " + text + ": one JSON object per key");
    return std::move(keys->front());
  }
  PITSTORE_ASSIGN_OR_RETURN(std::vector<JoinKeyDef> columns, ViewKeyColumns(store, view));
  std::vector<std::string> parts(1);
  for (char c : text) {
    if (c == ',')
      parts.emplace_back();
    else
      parts.back().push_back(c);
  }
  if (text.empty()) parts.clear();
  if (parts.size() != columns.size())
    return Status::InvalidArgument("key '" + text + "': view '" + view.name + "' has " +
                                   std::to_string(columns.size()) +
                                   " join key(s) (a value with a comma, or an empty string, is written as JSON: "
                                   "{\"" +
                                   columns.front().name + "\": ...})");
  EntityKey key;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (columns[i].type == KeyType::kString) {
      key.emplace_back(parts[i]);
      continue;
    }
    char* end = nullptr;
    long long v = std::strtoll(parts[i].c_str(), &end, 10);
    if (parts[i].empty() || *end != '\0')
      return Status::InvalidArgument("key '" + text + "': join key '" + columns[i].name + "' must be an integer");
    key.emplace_back(static_cast<int64_t>(v));
  }
  return key;
}

}  // namespace pitstore::workflow
