// Feature values as the tools write them in CSV and JSON Lines, in the forms ingest reads back
// to the same value: null is an unquoted empty CSV field (JSON null) and an empty string is
// `""`; times RFC 3339; bytes 0x hex; floats the shortest text that reads back to the same
// bits, NaN and infinities as the JSON strings "nan", "inf", "-inf"; vectors as arrays.
#pragma once

#include <cstddef>
#include <string>

#include "pitstore/column.h"

namespace pitstore::workflow {

// Appends row i of `c` as a CSV field (json false) or a JSON value (json true).
void AppendValueText(const Column& c, size_t i, bool json, std::string* out);

}  // namespace pitstore::workflow
