// Entity keys as front ends receive them (libpitstore_workflow): a view's join key columns, and
// a key typed in by a person ("42", "42,abc", {"user_id": 42, "item_id": "a,b"}), and keys read
// from a file or standard input.
#pragma once

#include <string>
#include <vector>

#include "pitstore/io/record_source.h"
#include "pitstore/status.h"
#include "pitstore/store.h"

namespace pitstore::workflow {

// The join keys of a view: those of its entities, in order.
Result<std::vector<JoinKeyDef>> ViewKeyColumns(Store& store, const FeatureViewDef& view);

// A key written as its join-key values joined by commas ("42,abc"), or, for any value (a comma,
// an empty string), as a JSON object of every join key by name ({"user_id": 42, "item_id":
// ""}); typed by the view's join keys. InvalidArgument when a part is missing or extra, or an
// int64 part is not an integer.
Result<EntityKey> KeyFromText(Store& store, const FeatureViewDef& view, const std::string& text);

// Every key of a CSV or JSON Lines source whose columns include the view's join keys by name
// (other columns are ignored). Errors name the source, line and column.
Result<std::vector<EntityKey>> KeysFromSource(Store& store, const FeatureViewDef& view, io::RecordSource& source);

}  // namespace pitstore::workflow
