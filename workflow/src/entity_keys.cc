#include "pitstore/workflow/entity_keys.h"

#include <cstdlib>

namespace pitstore::workflow {

Result<std::vector<JoinKeyDef>> ViewKeyColumns(Store& store, const FeatureViewDef& view) {
  std::vector<JoinKeyDef> columns;
  for (const std::string& e : view.entities) {
    PITSTORE_ASSIGN_OR_RETURN(EntityDef entity, store.GetEntity(e));
    columns.insert(columns.end(), entity.join_keys.begin(), entity.join_keys.end());
  }
  return columns;
}

Result<EntityKey> KeyFromText(Store& store, const FeatureViewDef& view, const std::string& text) {
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
                                   std::to_string(columns.size()) + " join key(s)");
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
