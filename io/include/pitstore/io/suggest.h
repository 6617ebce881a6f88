// "Did you mean": the known name closest to a misspelled one, for errors and warnings about
// names (columns, features, definition keys).
#pragma once

#include <string>
#include <vector>

namespace pitstore::io {

// " (did you mean 'x'?)" when some candidate is within a few edits of `name` (at most a third
// of its length, at least 1, case ignored) or starts with it (3 letters or more), else empty.
std::string DidYouMean(const std::string& name, const std::vector<std::string>& candidates);

// The error text for an input column no slot takes: "unknown column 'x' (did you mean ...?)
// (expected a, b; --ignore-extra-columns skips it)".
std::string UnknownColumn(const std::string& name, const std::vector<std::string>& expected);

}  // namespace pitstore::io
