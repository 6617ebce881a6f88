#include "value_text.h"

#include <cmath>

#include "pitstore/io/text.h"
#include "pitstore/io/timestamps.h"

namespace pitstore::workflow {

using namespace ::pitstore::io;

namespace {
// The scalar of type `type` in slot i of c's storage (a row, or a list's item).
void AppendScalarText(const Column& c, FeatureType type, size_t i, bool json, std::string* out) {
  switch (type) {
    case FeatureType::kBool:
      *out += c.ints[i] ? "true" : "false";
      break;
    case FeatureType::kInt32:
    case FeatureType::kInt64:
      AppendInt(c.ints[i], out);
      break;
    case FeatureType::kTimestamp: {
      std::string t = FormatTimestamp(c.ints[i]);
      if (json)
        AppendJsonString(t, out);
      else
        *out += t;
      break;
    }
    case FeatureType::kFloat32:
    case FeatureType::kFloat64: {
      double v = c.doubles[i];
      if (json && !std::isfinite(v)) {  // JSON has no NaN or infinity
        std::string t;
        AppendFloat(v, &t);
        AppendJsonString(t, out);
      } else if (type == FeatureType::kFloat32) {
        AppendFloat(static_cast<float>(v), out);
      } else {
        AppendFloat(v, out);
      }
      break;
    }
    case FeatureType::kString:
      if (json)
        AppendJsonString(c.strings[i], out);
      else
        AppendCsvField(c.strings[i], true, out);
      break;
    case FeatureType::kBytes: {
      std::string hex;
      AppendHex(c.strings[i], &hex);
      if (json)
        AppendJsonString(hex, out);
      else
        *out += hex;
      break;
    }
    case FeatureType::kFloat32Vector: {
      std::string v = "[";
      for (uint32_t d = 0; d < c.dim; ++d) {
        if (d) v.push_back(',');
        const float f = c.floats[i * c.dim + d];
        if (json && !std::isfinite(f)) {  // JSON has no NaN or infinity: a string, as for scalars
          std::string t;
          AppendFloat(f, &t);
          AppendJsonString(t, &v);
        } else {
          AppendFloat(f, &v);
        }
      }
      v.push_back(']');
      if (json)
        *out += v;
      else
        AppendCsvField(v, false, out);
      break;
    }
  }
}
}  // namespace

void AppendValueText(const Column& c, size_t i, bool json, std::string* out) {
  if (c.is_null(i)) {
    if (json) *out += "null";
    return;
  }
  if (!IsListType(c.type)) return AppendScalarText(c, c.type, i, json, out);
  // A list: a JSON array of its items in JSON form, in CSV too (one quoted field).
  std::string v = "[";
  for (uint32_t j = 0; j < c.lengths[i]; ++j) {
    if (j) v.push_back(',');
    AppendScalarText(c, ListElementType(c.type), i * c.dim + j, true, &v);
  }
  v.push_back(']');
  if (json)
    *out += v;
  else
    AppendCsvField(v, false, out);
}

}  // namespace pitstore::workflow
