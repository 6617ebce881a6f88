// Entity keys as front ends receive them (libpitstore_workflow): a view's join key columns, and
// a key typed in by a person ("42", "42,abc").
#pragma once

#include <string>
#include <vector>

#include "pitstore/status.h"
#include "pitstore/store.h"

namespace pitstore::workflow {

// The join keys of a view: those of its entities, in order.
Result<std::vector<JoinKeyDef>> ViewKeyColumns(Store& store, const FeatureViewDef& view);

// A key written as its join-key values joined by commas ("42,abc"), typed by the view's join
// keys. InvalidArgument when the count of parts differs or an int64 part is not an integer.
Result<EntityKey> KeyFromText(Store& store, const FeatureViewDef& view, const std::string& text);

}  // namespace pitstore::workflow
