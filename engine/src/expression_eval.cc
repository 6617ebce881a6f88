// Expression::Evaluate: a walk of the compiled tree (expression_program.h) with the null and
// type rules of pitstore/expression.h. Compile has checked every type, so a node only meets the
// kinds its type rules allow (or nulls), and a node's static type says how to read its value.
// Values are small cells: numbers inline, strings and vectors by pointer (an input's, a
// constant's, or one this evaluation made), so a row costs no copy of its inputs.
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>

#include "expression_program.h"
#include "pitstore/column.h"

namespace pitstore {
namespace {

constexpr int64_t kMicrosPerHour = 3'600'000'000;
constexpr int64_t kMicrosPerDay = 86'400'000'000;

// A node's value. Which member holds it follows the node's type: bool (0/1), int64 and
// timestamp in i, float64 in d, string in s, vector in v.
// 24 bytes without padding, so cells copy as three words (a bool flag with padding after it
// made compilers copy odd spans, and the loads that followed stalled on the stores).
struct Cell {
  union {
    int64_t i = 0;
    double d;
  };
  union {
    const std::string* s = nullptr;
    const float* v;
  };
  uint32_t dim = 0;   // of v
  uint32_t null = 1;  // 0 or 1
};

Cell Null() { return Cell(); }
Cell Int(int64_t i) {
  Cell c;
  c.null = false;
  c.i = i;
  return c;
}
Cell Bool(bool b) { return Int(b ? 1 : 0); }
Cell Float(double d) {  // a float64 result that is not finite has no value: null
  Cell c;
  c.null = !std::isfinite(d);
  c.d = d;
  return c;
}

bool IsFloatValue(const Value& v) { return v.type() == FeatureType::kFloat64 || v.type() == FeatureType::kFloat32; }

// A value of type `type` as a cell, read in place; null when it has another type (or is a NaN
// or infinite float, or a vector of another length than `dim`).
Cell CellOf(const Value& v, FeatureType type, uint32_t dim) {
  if (v.is_null()) return Null();
  Cell c;
  c.null = false;
  switch (type) {
    case FeatureType::kBool:
    case FeatureType::kTimestamp:
      if (v.type() != type) return Null();
      c.i = v.as_int64();
      return c;
    case FeatureType::kInt32:
    case FeatureType::kInt64:
      if (v.type() != FeatureType::kInt64 && v.type() != FeatureType::kInt32) return Null();
      c.i = v.as_int64();
      return c;
    case FeatureType::kFloat32:
    case FeatureType::kFloat64:
      if (!IsFloatValue(v)) return Null();
      return Float(v.as_float64());
    case FeatureType::kString:
      if (v.type() != FeatureType::kString) return Null();
      c.s = &v.as_string();
      return c;
    case FeatureType::kFloat32Vector:
      if (v.type() != FeatureType::kFloat32Vector || (dim && v.as_vector().size() != dim)) return Null();
      c.v = v.as_vector().data();
      c.dim = static_cast<uint32_t>(v.as_vector().size());
      return c;
    default:
      return Null();
  }
}

// Row `row` of a column read as an input of type `type`, in place; null when the column has
// another type (int32 and float32 columns serve int64 and float64 inputs).
Cell CellOf(const Column& col, size_t row, FeatureType type, uint32_t dim) {
  if (col.is_null(row)) return Null();
  Cell c;
  c.null = false;
  auto is = [&](FeatureType a, FeatureType b) { return col.type == a || col.type == b; };
  switch (type) {
    case FeatureType::kBool:
    case FeatureType::kTimestamp:
      if (col.type != type) return Null();
      c.i = col.ints[row];
      return c;
    case FeatureType::kInt32:
    case FeatureType::kInt64:
      if (!is(FeatureType::kInt64, FeatureType::kInt32)) return Null();
      c.i = col.ints[row];
      return c;
    case FeatureType::kFloat32:
    case FeatureType::kFloat64:
      if (!is(FeatureType::kFloat64, FeatureType::kFloat32)) return Null();
      return Float(col.doubles[row]);
    case FeatureType::kString:
      if (col.type != FeatureType::kString) return Null();
      c.s = &col.strings[row];
      return c;
    case FeatureType::kFloat32Vector:
      if (col.type != FeatureType::kFloat32Vector || col.dim != dim) return Null();
      c.v = col.floats.data() + row * dim;
      c.dim = dim;
      return c;
    default:
      return Null();
  }
}

Value ValueOf(const Cell& c, FeatureType type) {
  if (c.null) return Value::Null();
  switch (type) {
    case FeatureType::kBool:
      return Value::Bool(c.i != 0);
    case FeatureType::kTimestamp:
      return Value::Time(c.i);
    case FeatureType::kFloat64:
      return Value::Float64(c.d);
    case FeatureType::kString:
      return Value::String(*c.s);
    case FeatureType::kFloat32Vector:
      return Value::Vector(std::vector<float>(c.v, c.v + c.dim));
    default:
      return Value::Int64(c.i);
  }
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

// What every evaluation shares: the value of a node from its arguments' values, by the rules of
// pitstore/expression.h, and the strings and vectors made on the way.
class Combiner {
 public:
  explicit Combiner(const Expression::Program& p) : p_(p) {}

  // The value of inner node n; `arg(k)` gives its k-th argument's value and is called only for
  // the arguments read, so and, or, case and coalesce short-circuit when it evaluates lazily.
  template <typename Arg>
  Cell Combine(const ExprNode& n, Arg&& arg) {
    switch (n.op) {
      case ExprOp::kAnd:
      case ExprOp::kOr: {
        // Three-valued: the deciding value (false for and, true for or) wins over null.
        const int64_t decides = n.op == ExprOp::kOr;
        Cell a = arg(0);
        if (!a.null && a.i == decides) return Bool(decides);
        Cell b = arg(1);
        if (!b.null && b.i == decides) return Bool(decides);
        if (a.null || b.null) return Null();
        return Bool(!decides);
      }
      case ExprOp::kIsNull:
        return Bool(arg(0).null);
      case ExprOp::kIsNotNull:
        return Bool(!arg(0).null);
      case ExprOp::kCase: {
        size_t pairs = (n.args.size() - (n.has_else ? 1 : 0)) / 2;
        for (size_t k = 0; k < pairs; ++k) {
          Cell cond = arg(2 * k);
          if (!cond.null && cond.i) return Branch(n, 2 * k + 1, arg(2 * k + 1));
        }
        return n.has_else ? Branch(n, n.args.size() - 1, arg(n.args.size() - 1)) : Null();
      }
      case ExprOp::kCoalesce:
        for (size_t k = 0; k < n.args.size(); ++k) {
          Cell v = Branch(n, k, arg(k));
          if (!v.null) return v;
        }
        return Null();
      default:
        break;
    }
    // Everything else is null when an argument is.
    Cell few[3];
    std::vector<Cell> many;
    Cell* a = few;
    if (n.args.size() > 3) {
      many.resize(n.args.size());
      a = many.data();
    }
    for (size_t k = 0; k < n.args.size(); ++k) {
      a[k] = arg(k);
      if (a[k].null) return Null();
    }
    return Strict(n, a);
  }

  // Forgets the strings and vectors made so far (their cells must be read already).
  void Reset() {
    strings_.clear();
    vectors_.clear();
  }

 protected:
  FeatureType ArgType(const ExprNode& n, size_t k) const { return p_.nodes[n.args[k]].type; }
  double Num(const ExprNode& n, const Cell* a, size_t k) const {
    return ArgType(n, k) == FeatureType::kFloat64 ? a[k].d : static_cast<double>(a[k].i);
  }

  // A branch (of case, if, coalesce) in the node's type: an int64 becomes a float64 where the
  // node gives one.
  Cell Branch(const ExprNode& n, size_t k, Cell c) const {
    if (n.float_math && !c.null && ArgType(n, k) != FeatureType::kFloat64) return Float(static_cast<double>(c.i));
    return c;
  }

  // -1, 0, 1 for a[x] < a[y], ==, >.
  int Compare(const ExprNode& n, const Cell* a, size_t x, size_t y) const {
    if (n.float_math) {
      double p = Num(n, a, x), q = Num(n, a, y);
      return p < q ? -1 : p > q ? 1 : 0;
    }
    if (ArgType(n, x) == FeatureType::kString) {
      int c = a[x].s->compare(*a[y].s);
      return c < 0 ? -1 : c > 0 ? 1 : 0;
    }
    return a[x].i < a[y].i ? -1 : a[x].i > a[y].i ? 1 : 0;
  }

  Cell String(std::string s) {
    strings_.push_back(std::make_unique<std::string>(std::move(s)));
    Cell c;
    c.null = false;
    c.s = strings_.back().get();
    return c;
  }

  Cell Strict(const ExprNode& n, const Cell* a) {
    switch (n.op) {
      case ExprOp::kNeg:
        if (n.float_math) return Float(-a[0].d);
        if (a[0].i == std::numeric_limits<int64_t>::min()) return Null();
        return Int(-a[0].i);
      case ExprOp::kNot:
        return Bool(!a[0].i);
      case ExprOp::kAdd:
      case ExprOp::kSub:
      case ExprOp::kMul: {
        if (n.float_math) {
          double x = Num(n, a, 0), y = Num(n, a, 1);
          return Float(n.op == ExprOp::kAdd ? x + y : n.op == ExprOp::kSub ? x - y : x * y);
        }
        int64_t r;
        bool overflow = n.op == ExprOp::kAdd   ? __builtin_add_overflow(a[0].i, a[1].i, &r)
                        : n.op == ExprOp::kSub ? __builtin_sub_overflow(a[0].i, a[1].i, &r)
                                               : __builtin_mul_overflow(a[0].i, a[1].i, &r);
        return overflow ? Null() : Int(r);
      }
      case ExprOp::kDiv: {
        double y = Num(n, a, 1);
        return y == 0 ? Null() : Float(Num(n, a, 0) / y);
      }
      case ExprOp::kMod:
        if (a[1].i == 0) return Null();
        if (a[1].i == -1) return Int(0);  // INT64_MIN % -1 would trap
        return Int(a[0].i % a[1].i);
      case ExprOp::kEq:
        return Bool(Compare(n, a, 0, 1) == 0);
      case ExprOp::kNe:
        return Bool(Compare(n, a, 0, 1) != 0);
      case ExprOp::kLt:
        return Bool(Compare(n, a, 0, 1) < 0);
      case ExprOp::kLe:
        return Bool(Compare(n, a, 0, 1) <= 0);
      case ExprOp::kGt:
        return Bool(Compare(n, a, 0, 1) > 0);
      case ExprOp::kGe:
        return Bool(Compare(n, a, 0, 1) >= 0);
      case ExprOp::kVector: {
        auto v = std::make_unique<std::vector<float>>(n.args.size());
        for (size_t k = 0; k < v->size(); ++k) {
          (*v)[k] = static_cast<float>(Num(n, a, k));
          if (!std::isfinite((*v)[k])) return Null();
        }
        vectors_.push_back(std::move(v));
        Cell c;
        c.null = false;
        c.v = vectors_.back()->data();
        c.dim = static_cast<uint32_t>(vectors_.back()->size());
        return c;
      }
      case ExprOp::kAbs:
        if (n.float_math) return Float(std::fabs(a[0].d));
        if (a[0].i == std::numeric_limits<int64_t>::min()) return Null();
        return Int(a[0].i < 0 ? -a[0].i : a[0].i);
      case ExprOp::kSqrt:
        return Float(std::sqrt(Num(n, a, 0)));
      case ExprOp::kExp:
        return Float(std::exp(Num(n, a, 0)));
      case ExprOp::kLn:
        return Float(std::log(Num(n, a, 0)));
      case ExprOp::kLog10:
        return Float(std::log10(Num(n, a, 0)));
      case ExprOp::kFloor:
        return Float(std::floor(Num(n, a, 0)));
      case ExprOp::kCeil:
        return Float(std::ceil(Num(n, a, 0)));
      case ExprOp::kRound:
        return Float(std::round(Num(n, a, 0)));
      case ExprOp::kPow:
        return Float(std::pow(Num(n, a, 0), Num(n, a, 1)));
      case ExprOp::kToFloat:
        return Float(Num(n, a, 0));
      case ExprOp::kToInt: {
        if (ArgType(n, 0) != FeatureType::kFloat64) return Int(a[0].i);
        double t = std::trunc(a[0].d);
        // [-2^63, 2^63): every double in it converts exactly.
        if (!(t >= -9223372036854775808.0 && t < 9223372036854775808.0)) return Null();
        return Int(static_cast<int64_t>(t));
      }
      case ExprOp::kLeast:
      case ExprOp::kGreatest: {
        size_t best = 0;
        for (size_t k = 1; k < n.args.size(); ++k) {
          int c = Compare(n, a, k, best);
          if (n.op == ExprOp::kLeast ? c < 0 : c > 0) best = k;
        }
        if (n.float_math) return Float(Num(n, a, best));
        return a[best];
      }
      case ExprOp::kLength:
        return Int(static_cast<int64_t>(CodePoints(*a[0].s)));
      case ExprOp::kLower:
      case ExprOp::kUpper: {
        std::string s = *a[0].s;
        for (char& c : s) {
          if (n.op == ExprOp::kLower && c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
          if (n.op == ExprOp::kUpper && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
        }
        return String(std::move(s));
      }
      case ExprOp::kContains:
        return Bool(a[0].s->find(*a[1].s) != std::string::npos);
      case ExprOp::kStartsWith:
        return Bool(a[0].s->starts_with(*a[1].s));
      case ExprOp::kEndsWith:
        return Bool(a[0].s->ends_with(*a[1].s));
      case ExprOp::kSubstr: {
        int64_t start = a[1].i, count = a[2].i;
        if (start < 1 || count < 0) return Null();
        const std::string& s = *a[0].s;
        size_t from = ByteOfCodePoint(s, start - 1);
        size_t to =
            count > std::numeric_limits<int64_t>::max() - start ? s.size() : ByteOfCodePoint(s, start - 1 + count);
        return String(s.substr(from, to - from));
      }
      case ExprOp::kConcat: {
        std::string s;
        for (size_t k = 0; k < n.args.size(); ++k) s += *a[k].s;
        return String(std::move(s));
      }
      case ExprOp::kMicrosBetween:
      case ExprOp::kSecondsBetween:
      case ExprOp::kHoursBetween:
      case ExprOp::kDaysBetween: {
        int64_t d;
        if (__builtin_sub_overflow(a[1].i, a[0].i, &d)) return Null();
        if (n.op == ExprOp::kMicrosBetween) return Int(d);
        double unit = n.op == ExprOp::kSecondsBetween ? 1e6 : n.op == ExprOp::kHoursBetween ? 3.6e9 : 8.64e10;
        return Float(static_cast<double>(d) / unit);
      }
      case ExprOp::kHourOfDay:
        return Int((FloorDiv(a[0].i, kMicrosPerHour) % 24 + 24) % 24);
      case ExprOp::kDayOfWeek:  // 1970-01-01 was a Thursday (ISO 4)
        return Int((FloorDiv(a[0].i, kMicrosPerDay) % 7 + 7 + 3) % 7 + 1);
      case ExprOp::kDot:
      case ExprOp::kCosine:
      case ExprOp::kNorm: {
        const float* u = a[0].v;
        const float* v = n.op == ExprOp::kNorm ? u : a[1].v;
        if (n.op != ExprOp::kNorm && a[0].dim != a[1].dim) return Null();
        double dot = 0, uu = 0, vv = 0;
        for (size_t k = 0; k < a[0].dim; ++k) {
          dot += static_cast<double>(u[k]) * v[k];
          uu += static_cast<double>(u[k]) * u[k];
          vv += static_cast<double>(v[k]) * v[k];
        }
        if (n.op == ExprOp::kDot) return Float(dot);
        if (n.op == ExprOp::kNorm) return Float(std::sqrt(uu));
        if (uu == 0 || vv == 0) return Null();
        return Float(dot / (std::sqrt(uu) * std::sqrt(vv)));
      }
      default:
        return Null();  // not reached: Compile makes no other nodes
    }
  }

  const Expression::Program& p_;
  // Strings and vectors made here (lower, concat, [..]); cells point into them.
  std::vector<std::unique_ptr<std::string>> strings_;
  std::vector<std::unique_ptr<std::vector<float>>> vectors_;
};

// One row, depth first, reading only the branches taken.
class RowEvaluator : public Combiner {
 public:
  RowEvaluator(const Expression::Program& p, const Value* values, Timestamp now)
      : Combiner(p), values_(values), now_(now) {}

  Cell Eval(uint32_t i) {
    const ExprNode& n = p_.nodes[i];
    switch (n.op) {
      case ExprOp::kConst:
        return CellOf(n.constant, n.type, n.dim);
      case ExprOp::kInput: {
        const ExpressionInput& in = p_.inputs[n.input];
        return CellOf(values_[n.input], in.type, in.dim);
      }
      case ExprOp::kNow:
        return Int(now_);
      default:
        return Combine(n, [&](size_t k) { return Eval(n.args[k]); });
    }
  }

 private:
  const Value* values_;
  Timestamp now_;
};

// Arithmetic and comparison of numbers over a batch in one tight loop each: the most common
// nodes, by the same rules as Combiner::Strict (tests check EvaluateColumns against Evaluate
// on every case). False for any other node.
bool NumericLoop(const Expression::Program& p, const ExprNode& n, const Cell* cells, size_t batch, size_t count,
                 Cell* out) {
  if (n.args.size() != 2) return false;
  const ExprNode& x_node = p.nodes[n.args[0]];
  const ExprNode& y_node = p.nodes[n.args[1]];
  auto numeric = [](FeatureType t) { return t == FeatureType::kInt64 || t == FeatureType::kFloat64; };
  if (!numeric(x_node.type) || !numeric(y_node.type)) return false;
  const Cell* x = cells + n.args[0] * batch;
  const Cell* y = cells + n.args[1] * batch;
  const bool x_float = x_node.type == FeatureType::kFloat64, y_float = y_node.type == FeatureType::kFloat64;
  auto num = [](const Cell& c, bool is_float) { return is_float ? c.d : static_cast<double>(c.i); };
  // `f(x, y)` for the rows where neither is null.
  auto each = [&](auto f) {
    for (size_t r = 0; r < count; ++r) out[r] = (x[r].null | y[r].null) ? Null() : f(x[r], y[r]);
    return true;
  };
  auto compare = [&](auto holds) {
    if (n.float_math)
      return each([&](const Cell& a, const Cell& b) { return Bool(holds(num(a, x_float), num(b, y_float))); });
    return each([&](const Cell& a, const Cell& b) { return Bool(holds(a.i, b.i)); });
  };
  switch (n.op) {
    case ExprOp::kAdd:
    case ExprOp::kSub:
    case ExprOp::kMul: {
      const ExprOp op = n.op;
      if (n.float_math)
        return each([&](const Cell& a, const Cell& b) {
          double u = num(a, x_float), v = num(b, y_float);
          return Float(op == ExprOp::kAdd ? u + v : op == ExprOp::kSub ? u - v : u * v);
        });
      return each([&](const Cell& a, const Cell& b) {
        int64_t r;
        bool overflow = op == ExprOp::kAdd   ? __builtin_add_overflow(a.i, b.i, &r)
                        : op == ExprOp::kSub ? __builtin_sub_overflow(a.i, b.i, &r)
                                             : __builtin_mul_overflow(a.i, b.i, &r);
        return overflow ? Null() : Int(r);
      });
    }
    case ExprOp::kDiv:
      return each([&](const Cell& a, const Cell& b) {
        double v = num(b, y_float);
        return v == 0 ? Null() : Float(num(a, x_float) / v);
      });
    case ExprOp::kEq:
      return compare([](auto u, auto v) { return u == v; });
    case ExprOp::kNe:
      return compare([](auto u, auto v) { return u != v; });
    case ExprOp::kLt:
      return compare([](auto u, auto v) { return u < v; });
    case ExprOp::kLe:
      return compare([](auto u, auto v) { return u <= v; });
    case ExprOp::kGt:
      return compare([](auto u, auto v) { return u > v; });
    case ExprOp::kGe:
      return compare([](auto u, auto v) { return u >= v; });
    default:
      return false;
  }
}

// Logic, choice and the comparisons NumericLoop leaves (strings, timestamps, bools) over a
// batch, one loop each, by the rules of Combiner::Combine and Strict (every branch is already
// evaluated in a batch, so nothing is lost by reading them all). False for any other node.
bool ChoiceLoop(const Expression::Program& p, const ExprNode& n, const Cell* cells, size_t batch, size_t count,
                Cell* out) {
  auto arg = [&](size_t k) { return cells + n.args[k] * batch; };
  // A branch's cell in the node's type: an int64 becomes a float64 where the node gives one.
  auto branch = [&](size_t k, size_t r) {
    const Cell& c = arg(k)[r];
    if (n.float_math && !c.null && p.nodes[n.args[k]].type != FeatureType::kFloat64)
      return Float(static_cast<double>(c.i));
    return c;
  };
  switch (n.op) {
    case ExprOp::kAnd:
    case ExprOp::kOr: {
      const int64_t decides = n.op == ExprOp::kOr;
      const Cell *x = arg(0), *y = arg(1);
      for (size_t r = 0; r < count; ++r) {
        if ((!x[r].null && x[r].i == decides) || (!y[r].null && y[r].i == decides))
          out[r] = Bool(decides);
        else
          out[r] = (x[r].null | y[r].null) ? Null() : Bool(!decides);
      }
      return true;
    }
    case ExprOp::kNot: {
      const Cell* x = arg(0);
      for (size_t r = 0; r < count; ++r) out[r] = x[r].null ? Null() : Bool(!x[r].i);
      return true;
    }
    case ExprOp::kIsNull:
    case ExprOp::kIsNotNull: {
      const Cell* x = arg(0);
      const bool want_null = n.op == ExprOp::kIsNull;
      for (size_t r = 0; r < count; ++r) out[r] = Bool((x[r].null != 0) == want_null);
      return true;
    }
    case ExprOp::kCase: {
      const size_t pairs = (n.args.size() - (n.has_else ? 1 : 0)) / 2;
      for (size_t r = 0; r < count; ++r) {
        size_t k = 0;
        while (k < pairs && (arg(2 * k)[r].null || !arg(2 * k)[r].i)) ++k;
        out[r] = k < pairs ? branch(2 * k + 1, r) : n.has_else ? branch(n.args.size() - 1, r) : Null();
      }
      return true;
    }
    case ExprOp::kCoalesce:
      for (size_t r = 0; r < count; ++r) {
        size_t k = 0;
        while (k < n.args.size() && arg(k)[r].null) ++k;
        out[r] = k < n.args.size() ? branch(k, r) : Null();
      }
      return true;
    case ExprOp::kEq:
    case ExprOp::kNe:
    case ExprOp::kLt:
    case ExprOp::kLe:
    case ExprOp::kGt:
    case ExprOp::kGe: {
      const FeatureType t = p.nodes[n.args[0]].type;
      if (n.float_math || p.nodes[n.args[1]].type != t) return false;
      const ExprOp op = n.op;
      auto holds = [op](int c) {
        return op == ExprOp::kEq   ? c == 0
               : op == ExprOp::kNe ? c != 0
               : op == ExprOp::kLt ? c < 0
               : op == ExprOp::kLe ? c <= 0
               : op == ExprOp::kGt ? c > 0
                                   : c >= 0;
      };
      const Cell *x = arg(0), *y = arg(1);
      if (t == FeatureType::kString) {
        for (size_t r = 0; r < count; ++r)
          out[r] = (x[r].null | y[r].null) ? Null() : Bool(holds(x[r].s->compare(*y[r].s)));
        return true;
      }
      if (t != FeatureType::kTimestamp && t != FeatureType::kBool) return false;
      for (size_t r = 0; r < count; ++r)
        out[r] = (x[r].null | y[r].null) ? Null() : Bool(holds(x[r].i < y[r].i ? -1 : x[r].i > y[r].i ? 1 : 0));
      return true;
    }
    default:
      return false;
  }
}

}  // namespace

Value Expression::Evaluate(const Value* values, Timestamp now) const {
  if (!program_) return Value::Null();
  const ExprNode& root = program_->nodes[program_->root];
  RowEvaluator e(*program_, values, now);
  return ValueOf(e.Eval(program_->root), root.type);
}

// Rows a batch at a time, node after node (children come first in the program): each node's
// loop over the batch runs one case of Combine, and inputs are read from their columns in place.
// Every branch is evaluated for every row (nothing has side effects: what is not taken costs
// time, not meaning).
Status Expression::EvaluateColumns(const std::vector<const Column*>& inputs, size_t rows,
                                   const std::vector<Timestamp>& now, Column* out) const {
  if (!program_) return Status::InvalidArgument("an expression that was not compiled");
  const Program& p = *program_;
  if (inputs.size() != p.inputs.size())
    return Status::InvalidArgument(std::to_string(inputs.size()) + " input columns for " +
                                   std::to_string(p.inputs.size()) + " inputs");
  for (size_t k = 0; k < inputs.size(); ++k)
    if (inputs[k]->size() < rows)
      return Status::InvalidArgument("input '" + p.inputs[k].name + "' has " + std::to_string(inputs[k]->size()) +
                                     " rows, not " + std::to_string(rows));
  if (now.size() != 1 && now.size() < rows)
    return Status::InvalidArgument(std::to_string(now.size()) + " times for " + std::to_string(rows) + " rows");
  constexpr size_t kBatch = 256;
  const size_t nodes = p.nodes.size();
  std::vector<Cell> cells(nodes * kBatch);
  Combiner combiner(p);
  const ExprNode& root = p.nodes[p.root];
  out->Reserve(out->size() + rows);
  for (size_t begin = 0; begin < rows; begin += kBatch) {
    const size_t count = std::min(kBatch, rows - begin);
    combiner.Reset();
    for (size_t i = 0; i < nodes; ++i) {
      const ExprNode& n = p.nodes[i];
      Cell* at = &cells[i * kBatch];
      switch (n.op) {
        case ExprOp::kConst: {
          const Cell c = CellOf(n.constant, n.type, n.dim);
          for (size_t r = 0; r < count; ++r) at[r] = c;
          break;
        }
        case ExprOp::kInput: {
          const ExpressionInput& in = p.inputs[n.input];
          for (size_t r = 0; r < count; ++r) at[r] = CellOf(*inputs[n.input], begin + r, in.type, in.dim);
          break;
        }
        case ExprOp::kNow:
          for (size_t r = 0; r < count; ++r) at[r] = Int(now.size() == 1 ? now[0] : now[begin + r]);
          break;
        default:
          if (NumericLoop(p, n, &cells[0], kBatch, count, at) || ChoiceLoop(p, n, &cells[0], kBatch, count, at)) break;
          for (size_t r = 0; r < count; ++r)
            at[r] = combiner.Combine(n, [&](size_t k) { return cells[n.args[k] * kBatch + r]; });
          break;
      }
    }
    const Cell* result = &cells[p.root * kBatch];
    for (size_t r = 0; r < count; ++r) out->Append(ValueOf(result[r], root.type));
  }
  return Status::OK();
}

}  // namespace pitstore
