// On-demand expressions: features computed from other features and from values supplied with
// the request ("amount / user_stats.amount_mean_7d", "cosine(user.embedding, item.embedding)").
// An expression is parsed and type-checked once (Expression::Compile, at `apply`), then
// evaluated per row by the same code in get, joins, the server and Python.
//
// Language (keywords and function names are lower case):
//   literals    42 (int64), 0.5, 1e-3 (float64), 'text' or "text" (string, \\ \' \" \n \t
//               escapes), true, false, null, [e1, e2, ...] (a vector of numbers)
//   names       view.feature (a feature of a view or aggregation view), name (a request input),
//               `any text` for a name with other characters
//   operators   by precedence, lowest first:  or;  and;  not;  == != < <= > >=, is null,
//               is not null;  + -;  * / %;  unary -   (= reads as ==, <> as !=)
//   choice      if(cond, then, else);  case when c1 then v1 [when c2 then v2 ...] [else v] end
//   functions   coalesce(a, b, ...)  the first non-null argument
//               abs, sqrt, exp, ln, log10, floor, ceil, round (half away from zero), pow(x, y),
//               least(a, b, ...), greatest(a, b, ...), int(x) (toward zero), float(x)
//               length, lower, upper (ASCII letters), contains(s, part), starts_with(s, p),
//               ends_with(s, p), substr(s, start, count) (1-based, in code points; null for
//               start < 1 or count < 0), concat(a, b, ...) (strings)
//               now() (the request's time: the label's time in a join, the reader's clock in get)
//               micros_between(a, b) (int64), seconds_between(a, b), hours_between(a, b),
//               days_between(a, b) (float64): b - a for timestamps a and b;
//               hour_of_day(t) (0-23), day_of_week(t) (1 Monday .. 7 Sunday), in UTC
//               dot(u, v), cosine(u, v), norm(v) (float64) of vectors of one length
// Types: bool, int64, float64, string, timestamp, vector (float32, a fixed length). int32
// features read as int64, float32 as float64 (a NaN or infinite input reads as null); bytes
// features cannot be read. Where int64 and float64 meet (arithmetic, comparison, coalesce,
// if, case, least, greatest) the int64 becomes a float64. `/` always
// gives a float64; `%` takes int64s. Comparisons take two numbers, two strings (by bytes), two
// timestamps or two bools (== and != only for bools and vectors are not compared).
// Nulls, stated once: an operator or function with a null argument gives null, except
//   `and` / `or` (three-valued, as SQL: false and null is false, true or null is true),
//   `is null`, `is not null`, coalesce, and the conditions of if and case (a null condition is
//   not true: the else branch is taken; a case without else gives null).
// Null also stands for a result that has no value, never for a wrong one: division or `%` by
// zero, int64 overflow, a float64 result that is not finite (sqrt(-1), ln(0), 1e308 * 10),
// int(x) out of range, cosine with a zero vector, and vectors of different lengths at run time.
// Errors at Compile name the column (1-based, in bytes) of the offending token. Limits, so
// that compiling and evaluating recurse a bounded depth: parentheses and unary operators nest
// at most 200 deep, the tree at most 256 operations deep, and an expression has at most 4,096
// parts.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pitstore/column.h"
#include "pitstore/export.h"
#include "pitstore/status.h"
#include "pitstore/types.h"

namespace pitstore {

// A name an expression reads: "view.feature" or a request input's name, and its type.
struct ExpressionInput {
  std::string name;
  FeatureType type = FeatureType::kInt64;
  uint32_t dim = 0;  // for kFloat32Vector
};

// Finds the type of a name; NotFound (or another error, passed on) when there is none.
using ExpressionResolver = std::function<Status(const std::string& name, ExpressionInput* out)>;

class PITSTORE_EXPORT Expression {
 public:
  Expression();
  // Parses and type-checks `text`. On error returns InvalidArgument "column C: why" and sets
  // *error_column (when given) to C, the 1-based byte column in `text`.
  static Result<Expression> Compile(std::string_view text, const ExpressionResolver& resolve,
                                    size_t* error_column = nullptr);

  // The type of the result: kBool, kInt64, kFloat64, kString, kTimestamp or kFloat32Vector.
  FeatureType type() const;
  uint32_t dim() const;  // the vector length, for kFloat32Vector
  // The names read, each once, in order of first mention: Evaluate takes their values in this
  // order.
  const std::vector<ExpressionInput>& inputs() const;
  bool uses_now() const;  // whether now() appears

  // The value for one row. `values` holds one Value per inputs() entry, null or of the input's
  // type (int32 and float32 also accepted for int64 and float64); `now` is the request's time.
  // A value of another type is read as null (the callers pass what the store returned).
  Value Evaluate(const Value* values, Timestamp now) const;
  // The same for `rows` rows at once, column by column (the join's form, several times faster
  // per row): `inputs[k]` holds inputs()[k]'s values (a column of its type, or int32 / float32
  // for int64 / float64; another type reads as nulls), `now` one time per row or one for all.
  // Appends one value per row to `out`, a column of type() and dim(). InvalidArgument when
  // the counts do not fit.
  Status EvaluateColumns(const std::vector<const Column*>& inputs, size_t rows, const std::vector<Timestamp>& now,
                         Column* out) const;

  struct Program;  // the compiled form; opaque outside the engine

 private:
  std::shared_ptr<const Program> program_;
};

// "bool", "int64", "float64", "string", "timestamp", "vector[N]": as errors name types.
PITSTORE_EXPORT std::string ExpressionTypeName(FeatureType type, uint32_t dim);

}  // namespace pitstore
