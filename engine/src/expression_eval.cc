// Expression::Evaluate: a walk of the compiled tree (expression_program.h) with the null and
// type rules of pitstore/expression.h. Compile has checked every type, so a node only meets the
// kinds its type rules allow (or nulls).
#include <cmath>
#include <limits>

#include "expression_program.h"

namespace pitstore {
namespace {

constexpr int64_t kMicrosPerHour = 3'600'000'000;
constexpr int64_t kMicrosPerDay = 86'400'000'000;

bool IsFloat(const Value& v) { return v.type() == FeatureType::kFloat64 || v.type() == FeatureType::kFloat32; }
double Num(const Value& v) { return IsFloat(v) ? v.as_float64() : static_cast<double>(v.as_int64()); }
Value FloatOrNull(double d) { return std::isfinite(d) ? Value::Float64(d) : Value::Null(); }

// An input as expressions see it, or null when it is not of the input's type.
Value ReadInput(const Value& v, const ExpressionInput& in) {
  if (v.is_null()) return Value::Null();
  switch (in.type) {
    case FeatureType::kBool:
      return v.type() == FeatureType::kBool ? v : Value::Null();
    case FeatureType::kInt32:
    case FeatureType::kInt64:
      return v.type() == FeatureType::kInt64 || v.type() == FeatureType::kInt32 ? Value::Int64(v.as_int64())
                                                                                : Value::Null();
    case FeatureType::kFloat32:
    case FeatureType::kFloat64:
      return IsFloat(v) ? FloatOrNull(v.as_float64()) : Value::Null();
    case FeatureType::kString:
      return v.type() == FeatureType::kString ? v : Value::Null();
    case FeatureType::kTimestamp:
      return v.type() == FeatureType::kTimestamp ? v : Value::Null();
    case FeatureType::kFloat32Vector:
      return v.type() == FeatureType::kFloat32Vector && v.as_vector().size() == in.dim ? v : Value::Null();
    default:
      return Value::Null();
  }
}

// A branch's value in the node's type: an int64 where the node gives float64 becomes one.
Value AsNodeType(Value v, const ExprNode& n) {
  if (n.float_math && !v.is_null() && !IsFloat(v)) return Value::Float64(static_cast<double>(v.as_int64()));
  return v;
}

// -1, 0, 1 for a < b, a == b, a > b (both non-null, of comparable kinds).
int Compare(const Value& a, const Value& b, bool float_math) {
  if (float_math) {
    double x = Num(a), y = Num(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a.type() == FeatureType::kString) {
    int c = a.as_string().compare(b.as_string());
    return c < 0 ? -1 : c > 0 ? 1 : 0;
  }
  int64_t x = a.as_int64(), y = b.as_int64();
  return x < y ? -1 : x > y ? 1 : 0;
}

size_t CodePoints(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// The byte offset of code point `index` (0-based) in s, or s.size() past the end.
size_t ByteOfCodePoint(const std::string& s, int64_t index) {
  size_t at = 0;
  for (int64_t seen = 0; at < s.size(); ++at) {
    if ((static_cast<unsigned char>(s[at]) & 0xC0) == 0x80) continue;
    if (seen++ == index) return at;
  }
  return s.size();
}

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

class Evaluator {
 public:
  Evaluator(const Expression::Program& p, const Value* values, Timestamp now) : p_(p), values_(values), now_(now) {}

  Value Eval(uint32_t i) {
    const ExprNode& n = p_.nodes[i];
    switch (n.op) {
      case ExprOp::kConst:
        return n.constant;
      case ExprOp::kInput:
        return ReadInput(values_[n.input], p_.inputs[n.input]);
      case ExprOp::kNow:
        return Value::Time(now_);
      case ExprOp::kAnd:
      case ExprOp::kOr: {
        // Three-valued: the deciding value (false for and, true for or) wins over null.
        const bool decides = n.op == ExprOp::kOr;
        Value a = Eval(n.args[0]);
        if (!a.is_null() && a.as_bool() == decides) return Value::Bool(decides);
        Value b = Eval(n.args[1]);
        if (!b.is_null() && b.as_bool() == decides) return Value::Bool(decides);
        if (a.is_null() || b.is_null()) return Value::Null();
        return Value::Bool(!decides);
      }
      case ExprOp::kIsNull:
        return Value::Bool(Eval(n.args[0]).is_null());
      case ExprOp::kIsNotNull:
        return Value::Bool(!Eval(n.args[0]).is_null());
      case ExprOp::kCase: {
        size_t pairs = (n.args.size() - (n.has_else ? 1 : 0)) / 2;
        for (size_t k = 0; k < pairs; ++k) {
          Value cond = Eval(n.args[2 * k]);
          if (!cond.is_null() && cond.as_bool()) return AsNodeType(Eval(n.args[2 * k + 1]), n);
        }
        return n.has_else ? AsNodeType(Eval(n.args.back()), n) : Value::Null();
      }
      case ExprOp::kCoalesce:
        for (uint32_t a : n.args) {
          Value v = Eval(a);
          if (!v.is_null()) return AsNodeType(std::move(v), n);
        }
        return Value::Null();
      default:
        break;
    }
    // Everything else is null when an argument is.
    Value args[3];
    std::vector<Value> many;
    const bool few = n.args.size() <= 3;
    if (!few) many.resize(n.args.size());
    Value* a = few ? args : many.data();
    for (size_t k = 0; k < n.args.size(); ++k) {
      a[k] = Eval(n.args[k]);
      if (a[k].is_null()) return Value::Null();
    }
    return Strict(n, a);
  }

 private:
  static Value Strict(const ExprNode& n, const Value* a) {
    switch (n.op) {
      case ExprOp::kNeg:
        if (n.float_math) return Value::Float64(-a[0].as_float64());
        if (a[0].as_int64() == std::numeric_limits<int64_t>::min()) return Value::Null();
        return Value::Int64(-a[0].as_int64());
      case ExprOp::kNot:
        return Value::Bool(!a[0].as_bool());
      case ExprOp::kAdd:
      case ExprOp::kSub:
      case ExprOp::kMul: {
        if (n.float_math) {
          double x = Num(a[0]), y = Num(a[1]);
          return FloatOrNull(n.op == ExprOp::kAdd ? x + y : n.op == ExprOp::kSub ? x - y : x * y);
        }
        int64_t x = a[0].as_int64(), y = a[1].as_int64(), r;
        bool overflow = n.op == ExprOp::kAdd   ? __builtin_add_overflow(x, y, &r)
                        : n.op == ExprOp::kSub ? __builtin_sub_overflow(x, y, &r)
                                               : __builtin_mul_overflow(x, y, &r);
        return overflow ? Value::Null() : Value::Int64(r);
      }
      case ExprOp::kDiv: {
        double y = Num(a[1]);
        if (y == 0) return Value::Null();
        return FloatOrNull(Num(a[0]) / y);
      }
      case ExprOp::kMod: {
        int64_t x = a[0].as_int64(), y = a[1].as_int64();
        if (y == 0) return Value::Null();
        if (y == -1) return Value::Int64(0);  // INT64_MIN % -1 would trap
        return Value::Int64(x % y);
      }
      case ExprOp::kEq:
      case ExprOp::kNe: {
        bool equal = Compare(a[0], a[1], n.float_math) == 0;
        return Value::Bool(n.op == ExprOp::kEq ? equal : !equal);
      }
      case ExprOp::kLt:
        return Value::Bool(Compare(a[0], a[1], n.float_math) < 0);
      case ExprOp::kLe:
        return Value::Bool(Compare(a[0], a[1], n.float_math) <= 0);
      case ExprOp::kGt:
        return Value::Bool(Compare(a[0], a[1], n.float_math) > 0);
      case ExprOp::kGe:
        return Value::Bool(Compare(a[0], a[1], n.float_math) >= 0);
      case ExprOp::kVector: {
        std::vector<float> v(n.args.size());
        for (size_t k = 0; k < v.size(); ++k) {
          v[k] = static_cast<float>(Num(a[k]));
          if (!std::isfinite(v[k])) return Value::Null();
        }
        return Value::Vector(std::move(v));
      }
      case ExprOp::kAbs:
        if (n.float_math) return Value::Float64(std::fabs(a[0].as_float64()));
        if (a[0].as_int64() == std::numeric_limits<int64_t>::min()) return Value::Null();
        return Value::Int64(a[0].as_int64() < 0 ? -a[0].as_int64() : a[0].as_int64());
      case ExprOp::kSqrt:
        return FloatOrNull(std::sqrt(Num(a[0])));
      case ExprOp::kExp:
        return FloatOrNull(std::exp(Num(a[0])));
      case ExprOp::kLn:
        return FloatOrNull(std::log(Num(a[0])));
      case ExprOp::kLog10:
        return FloatOrNull(std::log10(Num(a[0])));
      case ExprOp::kFloor:
        return FloatOrNull(std::floor(Num(a[0])));
      case ExprOp::kCeil:
        return FloatOrNull(std::ceil(Num(a[0])));
      case ExprOp::kRound:
        return FloatOrNull(std::round(Num(a[0])));
      case ExprOp::kPow:
        return FloatOrNull(std::pow(Num(a[0]), Num(a[1])));
      case ExprOp::kToFloat:
        return FloatOrNull(Num(a[0]));
      case ExprOp::kToInt: {
        if (!IsFloat(a[0])) return Value::Int64(a[0].as_int64());
        double t = std::trunc(a[0].as_float64());
        // [-2^63, 2^63): every double in it converts exactly.
        if (!(t >= -9223372036854775808.0 && t < 9223372036854775808.0)) return Value::Null();
        return Value::Int64(static_cast<int64_t>(t));
      }
      case ExprOp::kLeast:
      case ExprOp::kGreatest: {
        size_t best = 0;
        for (size_t k = 1; k < n.args.size(); ++k) {
          int c = Compare(a[k], a[best], n.float_math);
          if (n.op == ExprOp::kLeast ? c < 0 : c > 0) best = k;
        }
        return AsNodeType(a[best], n);
      }
      case ExprOp::kLength:
        return Value::Int64(static_cast<int64_t>(CodePoints(a[0].as_string())));
      case ExprOp::kLower:
      case ExprOp::kUpper: {
        std::string s = a[0].as_string();
        for (char& c : s) {
          if (n.op == ExprOp::kLower && c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
          if (n.op == ExprOp::kUpper && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
        }
        return Value::String(std::move(s));
      }
      case ExprOp::kContains:
        return Value::Bool(a[0].as_string().find(a[1].as_string()) != std::string::npos);
      case ExprOp::kStartsWith:
        return Value::Bool(a[0].as_string().starts_with(a[1].as_string()));
      case ExprOp::kEndsWith:
        return Value::Bool(a[0].as_string().ends_with(a[1].as_string()));
      case ExprOp::kSubstr: {
        int64_t start = a[1].as_int64(), count = a[2].as_int64();
        if (start < 1 || count < 0) return Value::Null();
        const std::string& s = a[0].as_string();
        size_t from = ByteOfCodePoint(s, start - 1);
        size_t to =
            count > std::numeric_limits<int64_t>::max() - start ? s.size() : ByteOfCodePoint(s, start - 1 + count);
        return Value::String(s.substr(from, to - from));
      }
      case ExprOp::kConcat: {
        std::string s;
        for (size_t k = 0; k < n.args.size(); ++k) s += a[k].as_string();
        return Value::String(std::move(s));
      }
      case ExprOp::kMicrosBetween:
      case ExprOp::kSecondsBetween:
      case ExprOp::kHoursBetween:
      case ExprOp::kDaysBetween: {
        int64_t d;
        if (__builtin_sub_overflow(a[1].as_int64(), a[0].as_int64(), &d)) return Value::Null();
        if (n.op == ExprOp::kMicrosBetween) return Value::Int64(d);
        double unit = n.op == ExprOp::kSecondsBetween ? 1e6 : n.op == ExprOp::kHoursBetween ? 3.6e9 : 8.64e10;
        return Value::Float64(static_cast<double>(d) / unit);
      }
      case ExprOp::kHourOfDay:
        return Value::Int64((FloorDiv(a[0].as_int64(), kMicrosPerHour) % 24 + 24) % 24);
      case ExprOp::kDayOfWeek:  // 1970-01-01 was a Thursday (ISO 4)
        return Value::Int64((FloorDiv(a[0].as_int64(), kMicrosPerDay) % 7 + 7 + 3) % 7 + 1);
      case ExprOp::kDot:
      case ExprOp::kCosine:
      case ExprOp::kNorm: {
        const std::vector<float>& u = a[0].as_vector();
        const std::vector<float>& v = n.op == ExprOp::kNorm ? u : a[1].as_vector();
        if (u.size() != v.size()) return Value::Null();
        double dot = 0, uu = 0, vv = 0;
        for (size_t k = 0; k < u.size(); ++k) {
          dot += static_cast<double>(u[k]) * v[k];
          uu += static_cast<double>(u[k]) * u[k];
          vv += static_cast<double>(v[k]) * v[k];
        }
        if (n.op == ExprOp::kDot) return FloatOrNull(dot);
        if (n.op == ExprOp::kNorm) return FloatOrNull(std::sqrt(uu));
        if (uu == 0 || vv == 0) return Value::Null();
        return FloatOrNull(dot / (std::sqrt(uu) * std::sqrt(vv)));
      }
      default:
        return Value::Null();  // not reached: Compile makes no other nodes
    }
  }

  const Expression::Program& p_;
  const Value* values_;
  Timestamp now_;
};

}  // namespace

Value Expression::Evaluate(const Value* values, Timestamp now) const {
  if (!program_) return Value::Null();
  return Evaluator(*program_, values, now).Eval(program_->root);
}

}  // namespace pitstore
