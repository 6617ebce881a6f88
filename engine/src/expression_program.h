// The compiled form of an Expression (pitstore/expression.h): a tree of typed nodes in one
// vector, children before parents. Compile builds it; Evaluate walks it.
#pragma once

#include <cstdint>
#include <vector>

#include "pitstore/expression.h"

namespace pitstore {

enum class ExprOp : uint8_t {
  kConst,      // constant
  kInput,      // inputs[input]
  kNow,        // the request's time
  kNeg,        // -a
  kNot,        // not a
  kAnd,        // a and b, three-valued
  kOr,         // a or b, three-valued
  kIsNull,     // a is null
  kIsNotNull,  // a is not null
  kAdd,
  kSub,
  kMul,
  kDiv,  // float64 always
  kMod,  // int64
  kEq,
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
  kCase,  // args: cond1, value1, cond2, value2, ... [, else]; has_else
  kCoalesce,
  kVector,  // [args...]
  kAbs,
  kSqrt,
  kExp,
  kLn,
  kLog10,
  kFloor,
  kCeil,
  kRound,
  kPow,
  kLeast,
  kGreatest,
  kToInt,
  kToFloat,
  kLength,
  kLower,
  kUpper,
  kContains,
  kStartsWith,
  kEndsWith,
  kSubstr,
  kConcat,
  kMicrosBetween,
  kSecondsBetween,
  kHoursBetween,
  kDaysBetween,
  kHourOfDay,
  kDayOfWeek,
  kDot,
  kCosine,
  kNorm,
};

struct ExprNode {
  ExprOp op = ExprOp::kConst;
  FeatureType type = FeatureType::kInt64;  // of the result (kBool, kInt64, kFloat64, kString, kTimestamp, vector)
  uint32_t dim = 0;
  bool float_math = false;  // arithmetic, comparison, least/greatest: operands read as float64
  bool has_else = false;    // kCase
  uint32_t input = 0;       // kInput
  Value constant;           // kConst
  std::vector<uint32_t> args;
};

struct Expression::Program {
  std::vector<ExprNode> nodes;  // children before parents
  uint32_t root = 0;
  std::vector<ExpressionInput> inputs;
  bool uses_now = false;
};

}  // namespace pitstore
