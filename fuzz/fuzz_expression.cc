// The on-demand expression compiler on arbitrary text, then the evaluator on what compiles:
// an expression or an error naming a column, never a crash, a hang, a leak or undefined
// behaviour (nesting is bounded; int64 overflow, division by zero and INT64_MIN % -1 are null).
// Inputs of every type are known by name (a.i, a.f, a.s, a.b, a.t, a.v, a.n and request r),
// each read with a value, an extreme value and a null.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "pitstore/expression.h"

using pitstore::ExpressionInput;
using pitstore::FeatureType;
using pitstore::Value;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<std::pair<ExpressionInput, std::vector<Value>>> kInputs = {
      {{"a.i", FeatureType::kInt64},
       {Value::Int64(3), Value::Int64(std::numeric_limits<int64_t>::min()), Value::Null()}},
      {{"a.f", FeatureType::kFloat64}, {Value::Float64(-0.5), Value::Float64(1e308), Value::Null()}},
      {{"a.s", FeatureType::kString}, {Value::String("h\xc3\xa9llo"), Value::String("\xff\x80"), Value::Null()}},
      {{"a.b", FeatureType::kBool}, {Value::Bool(true), Value::Bool(false), Value::Null()}},
      {{"a.t", FeatureType::kTimestamp},
       {Value::Time(1'700'000'000'000'000), Value::Time(std::numeric_limits<int64_t>::max()), Value::Null()}},
      {{"a.v", FeatureType::kFloat32Vector, 2}, {Value::Vector({1, 2}), Value::Vector({0, 0}), Value::Null()}},
      {{"a.n", FeatureType::kInt32}, {Value::Int32(-1), Value::Int32(0), Value::Null()}},
      {{"r", FeatureType::kInt64}, {Value::Int64(0), Value::Int64(-1), Value::Null()}},
  };
  auto resolve = [](const std::string& name, ExpressionInput* out) {
    for (const auto& [in, values] : kInputs)
      if (in.name == name) {
        *out = in;
        return pitstore::Status::OK();
      }
    return pitstore::Status::NotFound("no input '" + name + "'");
  };
  size_t column = 0;
  auto e = pitstore::Expression::Compile(std::string_view(reinterpret_cast<const char*>(data), size), resolve, &column);
  if (!e.ok()) {
    if (column < 1 || column > size + 1) __builtin_trap();  // the error names a column of the text
    return 0;
  }
  for (int variant = 0; variant < 3; ++variant) {
    std::vector<Value> values;
    for (const ExpressionInput& in : e->inputs())
      for (const auto& [known, vs] : kInputs)
        if (known.name == in.name) values.push_back(vs[variant]);
    Value v = e->Evaluate(values.data(), variant == 1 ? std::numeric_limits<int64_t>::min() : 0);
    if (!v.is_null() && v.type() != e->type()) __builtin_trap();  // the value has the checked type
  }
  return 0;
}
