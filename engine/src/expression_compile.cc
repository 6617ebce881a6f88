// Expression::Compile: a lexer, a recursive-descent parser and the type rules of
// pitstore/expression.h, in one pass that builds the program's nodes. Errors unwind by a
// private exception, caught in Compile: nothing outside this file throws or sees it.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <map>

#include "expression_program.h"

namespace pitstore {
namespace {

struct CompileError {
  size_t offset;
  std::string message;
};

// Types while checking: the result types, plus the type of a bare null (fits anything).
enum class Kind : uint8_t { kNull, kBool, kInt, kFloat, kString, kTime, kVector };

struct Ty {
  Kind kind = Kind::kNull;
  uint32_t dim = 0;
  bool operator==(const Ty& o) const { return kind == o.kind && (kind != Kind::kVector || dim == o.dim); }
};

std::string TyName(Ty t) {
  switch (t.kind) {
    case Kind::kNull:
      return "null";
    case Kind::kBool:
      return "bool";
    case Kind::kInt:
      return "int64";
    case Kind::kFloat:
      return "float64";
    case Kind::kString:
      return "string";
    case Kind::kTime:
      return "timestamp";
    case Kind::kVector:
      return "vector[" + std::to_string(t.dim) + "]";
  }
  return "?";
}

FeatureType FeatureTypeOf(Ty t) {
  switch (t.kind) {
    case Kind::kBool:
      return FeatureType::kBool;
    case Kind::kFloat:
      return FeatureType::kFloat64;
    case Kind::kString:
      return FeatureType::kString;
    case Kind::kTime:
      return FeatureType::kTimestamp;
    case Kind::kVector:
      return FeatureType::kFloat32Vector;
    default:
      return FeatureType::kInt64;
  }
}

bool IsNumber(Ty t) { return t.kind == Kind::kInt || t.kind == Kind::kFloat; }

enum class Tok : uint8_t { kEnd, kInt, kFloat, kString, kName, kPunct };

struct Token {
  Tok kind = Tok::kEnd;
  size_t offset = 0;
  std::string text;     // the name, the string's contents, the punctuation, the number's digits
  bool quoted = false;  // a name with a `quoted` part: never a keyword
};

class Lexer {
 public:
  explicit Lexer(std::string_view s) : s_(s) {}

  Token Next() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    Token t;
    t.offset = pos_;
    if (pos_ >= s_.size()) return t;
    char c = s_[pos_];
    if (std::isdigit(static_cast<unsigned char>(c)) ||
        (c == '.' && pos_ + 1 < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_ + 1]))))
      return Number(t);
    if (c == '\'' || c == '"') return Quoted(t, c);
    if (IsNameStart(c) || c == '`') return Name(t);
    static const char* kTwo[] = {"==", "!=", "<=", ">=", "<>"};
    for (const char* two : kTwo)
      if (s_.substr(pos_, 2) == two) {
        t.kind = Tok::kPunct;
        t.text = std::string(two) == "<>" ? "!=" : two;
        pos_ += 2;
        return t;
      }
    if (std::string_view("+-*/%<>()[],=").find(c) != std::string_view::npos) {
      t.kind = Tok::kPunct;
      t.text = c == '=' ? "==" : std::string(1, c);
      ++pos_;
      return t;
    }
    throw CompileError{pos_, std::string("unexpected character '") + c + "'"};
  }

 private:
  static bool IsNameStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
  static bool IsNameChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

  Token Number(Token t) {
    size_t start = pos_;
    bool is_float = false;
    while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    if (pos_ < s_.size() && s_[pos_] == '.') {
      is_float = true;
      ++pos_;
      while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      size_t e = pos_ + 1;
      if (e < s_.size() && (s_[e] == '+' || s_[e] == '-')) ++e;
      if (e < s_.size() && std::isdigit(static_cast<unsigned char>(s_[e]))) {
        is_float = true;
        pos_ = e;
        while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) ++pos_;
      }
    }
    if (pos_ < s_.size() && IsNameChar(s_[pos_]))
      throw CompileError{pos_, "a number runs into a name: put an operator between them"};
    t.kind = is_float ? Tok::kFloat : Tok::kInt;
    t.text = std::string(s_.substr(start, pos_ - start));
    return t;
  }

  Token Quoted(Token t, char quote) {
    ++pos_;
    while (true) {
      if (pos_ >= s_.size()) throw CompileError{t.offset, "a string is not closed"};
      char c = s_[pos_++];
      if (c == quote) break;
      if (c == '\\') {
        if (pos_ >= s_.size()) throw CompileError{t.offset, "a string is not closed"};
        char e = s_[pos_++];
        switch (e) {
          case 'n':
            c = '\n';
            break;
          case 't':
            c = '\t';
            break;
          case '\\':
          case '\'':
          case '"':
            c = e;
            break;
          default:
            throw CompileError{pos_ - 2, std::string("unknown escape '\\") + e + "' (known: \\\\ \\' \\\" \\n \\t)"};
        }
      }
      t.text += c;
    }
    t.kind = Tok::kString;
    return t;
  }

  // name or `quoted name`, joined by '.' into one name: view.feature
  Token Name(Token t) {
    t.kind = Tok::kName;
    while (true) {
      if (s_[pos_] == '`') {
        size_t close = s_.find('`', pos_ + 1);
        if (close == std::string_view::npos) throw CompileError{pos_, "a `quoted name` is not closed"};
        if (close == pos_ + 1) throw CompileError{pos_, "an empty `quoted name`"};
        t.text += s_.substr(pos_ + 1, close - pos_ - 1);
        t.quoted = true;
        pos_ = close + 1;
      } else {
        size_t start = pos_;
        while (pos_ < s_.size() && IsNameChar(s_[pos_])) ++pos_;
        t.text += s_.substr(start, pos_ - start);
      }
      if (pos_ + 1 < s_.size() && s_[pos_] == '.' && (IsNameStart(s_[pos_ + 1]) || s_[pos_ + 1] == '`')) {
        t.text += '.';
        ++pos_;
        continue;
      }
      return t;
    }
  }

  std::string_view s_;
  size_t pos_ = 0;
};

struct FunctionSpec {
  ExprOp op;
  int min_args, max_args;  // max -1: any number
};

const std::map<std::string, FunctionSpec>& Functions() {
  static const std::map<std::string, FunctionSpec> kFunctions = {
      {"if", {ExprOp::kCase, 3, 3}},
      {"coalesce", {ExprOp::kCoalesce, 1, -1}},
      {"abs", {ExprOp::kAbs, 1, 1}},
      {"sqrt", {ExprOp::kSqrt, 1, 1}},
      {"exp", {ExprOp::kExp, 1, 1}},
      {"ln", {ExprOp::kLn, 1, 1}},
      {"log10", {ExprOp::kLog10, 1, 1}},
      {"floor", {ExprOp::kFloor, 1, 1}},
      {"ceil", {ExprOp::kCeil, 1, 1}},
      {"round", {ExprOp::kRound, 1, 1}},
      {"pow", {ExprOp::kPow, 2, 2}},
      {"least", {ExprOp::kLeast, 1, -1}},
      {"greatest", {ExprOp::kGreatest, 1, -1}},
      {"int", {ExprOp::kToInt, 1, 1}},
      {"float", {ExprOp::kToFloat, 1, 1}},
      {"length", {ExprOp::kLength, 1, 1}},
      {"lower", {ExprOp::kLower, 1, 1}},
      {"upper", {ExprOp::kUpper, 1, 1}},
      {"contains", {ExprOp::kContains, 2, 2}},
      {"starts_with", {ExprOp::kStartsWith, 2, 2}},
      {"ends_with", {ExprOp::kEndsWith, 2, 2}},
      {"substr", {ExprOp::kSubstr, 3, 3}},
      {"concat", {ExprOp::kConcat, 1, -1}},
      {"now", {ExprOp::kNow, 0, 0}},
      {"micros_between", {ExprOp::kMicrosBetween, 2, 2}},
      {"seconds_between", {ExprOp::kSecondsBetween, 2, 2}},
      {"hours_between", {ExprOp::kHoursBetween, 2, 2}},
      {"days_between", {ExprOp::kDaysBetween, 2, 2}},
      {"hour_of_day", {ExprOp::kHourOfDay, 1, 1}},
      {"day_of_week", {ExprOp::kDayOfWeek, 1, 1}},
      {"dot", {ExprOp::kDot, 2, 2}},
      {"cosine", {ExprOp::kCosine, 2, 2}},
      {"norm", {ExprOp::kNorm, 1, 1}},
  };
  return kFunctions;
}

bool IsKeyword(const std::string& s) {
  static const char* kKeywords[] = {"and",   "or",   "not",  "is",   "null", "true",
                                    "false", "case", "when", "then", "else", "end"};
  for (const char* k : kKeywords)
    if (s == k) return true;
  return false;
}

class Compiler {
 public:
  Compiler(std::string_view text, const ExpressionResolver& resolve) : lexer_(text), resolve_(resolve) { Advance(); }

  void Run(Expression::Program* program) {
    if (tok_.kind == Tok::kEnd) throw CompileError{0, "the expression is empty"};
    uint32_t root = ParseOr();
    if (tok_.kind != Tok::kEnd)
      throw CompileError{tok_.offset, "unexpected '" + TokenText(tok_) + "' after the expression"};
    if (tys_[root].kind == Kind::kNull) throw CompileError{0, "the expression is always null: its type cannot be told"};
    program->root = root;
    program->nodes = std::move(nodes_);
    program->inputs = std::move(inputs_);
    program->uses_now = uses_now_;
  }

 private:
  static std::string TokenText(const Token& t) {
    if (t.kind == Tok::kString) return "'" + t.text + "'";
    return t.text;
  }

  void Advance() { tok_ = lexer_.Next(); }
  bool IsWord(const char* w) const { return tok_.kind == Tok::kName && !tok_.quoted && tok_.text == w; }
  bool IsPunct(const char* p) const { return tok_.kind == Tok::kPunct && tok_.text == p; }
  void Expect(const char* p, const char* what) {
    if (!IsPunct(p))
      throw CompileError{tok_.offset,
                         std::string("expected '") + p + "' " + what +
                             (tok_.kind == Tok::kEnd ? ", found the end" : ", found '" + TokenText(tok_) + "'")};
    Advance();
  }
  void ExpectWord(const char* w, const char* what) {
    if (!IsWord(w))
      throw CompileError{tok_.offset,
                         std::string("expected '") + w + "' " + what +
                             (tok_.kind == Tok::kEnd ? ", found the end" : ", found '" + TokenText(tok_) + "'")};
    Advance();
  }

  // Every node goes through here: the tree's depth and size are bounded here, so evaluation
  // (which recurses one level per depth) and its batches (nodes x 256 cells) stay small, however
  // long an operator chain (a + a + ... + a nests left) or a parenthesized one runs.
  static constexpr size_t kMaxNodes = 4096;
  static constexpr uint32_t kMaxTreeDepth = 256;
  uint32_t Add(ExprNode n, Ty t) {
    uint32_t depth = 1;
    for (uint32_t a : n.args) depth = std::max(depth, depths_[a] + 1);
    if (depth > kMaxTreeDepth)
      throw CompileError{tok_.offset,
                         "the expression nests deeper than " + std::to_string(kMaxTreeDepth) + " operations"};
    if (nodes_.size() >= kMaxNodes)
      throw CompileError{tok_.offset, "the expression has more than " + std::to_string(kMaxNodes) + " parts"};
    n.type = FeatureTypeOf(t);
    n.dim = t.kind == Kind::kVector ? t.dim : 0;
    nodes_.push_back(std::move(n));
    tys_.push_back(t);
    depths_.push_back(depth);
    return static_cast<uint32_t>(nodes_.size() - 1);
  }
  uint32_t Node(ExprOp op, Ty t, std::vector<uint32_t> args, bool float_math = false) {
    ExprNode n;
    n.op = op;
    n.args = std::move(args);
    n.float_math = float_math;
    return Add(std::move(n), t);
  }
  Ty T(uint32_t node) const { return tys_[node]; }

  // The common type of branches (if, case, coalesce, least, greatest): nulls fit anything,
  // int64 and float64 meet at float64.
  Ty Unify(const std::vector<uint32_t>& args, size_t offset, const char* what) const {
    Ty out{Kind::kNull, 0};
    for (uint32_t a : args) {
      Ty t = T(a);
      if (t.kind == Kind::kNull) continue;
      if (out.kind == Kind::kNull || out == t) {
        out = t;
      } else if (IsNumber(out) && IsNumber(t)) {
        out = {Kind::kFloat, 0};
      } else {
        throw CompileError{offset, std::string(what) + " mixes " + TyName(out) + " and " + TyName(t)};
      }
    }
    return out;
  }

  // Nesting deeper than this is refused, so the parser recurses a bounded depth (Add bounds the
  // tree it builds).
  static constexpr int kMaxDepth = 200;
  struct Nesting {
    Nesting(int* depth, size_t offset) : depth_(depth) {
      if (++*depth_ > kMaxDepth) throw CompileError{offset, "nested more than 200 deep"};
    }
    ~Nesting() { --*depth_; }
    int* depth_;
  };

  uint32_t ParseOr() {
    Nesting nesting(&depth_, tok_.offset);
    uint32_t left = ParseAnd();
    while (IsWord("or")) {
      size_t at = tok_.offset;
      Advance();
      uint32_t right = ParseAnd();
      CheckBool(left, at, "or");
      CheckBool(right, at, "or");
      left = Node(ExprOp::kOr, {Kind::kBool, 0}, {left, right});
    }
    return left;
  }

  uint32_t ParseAnd() {
    uint32_t left = ParseNot();
    while (IsWord("and")) {
      size_t at = tok_.offset;
      Advance();
      uint32_t right = ParseNot();
      CheckBool(left, at, "and");
      CheckBool(right, at, "and");
      left = Node(ExprOp::kAnd, {Kind::kBool, 0}, {left, right});
    }
    return left;
  }

  void CheckBool(uint32_t node, size_t at, const char* op) const {
    Kind k = T(node).kind;
    if (k != Kind::kBool && k != Kind::kNull)
      throw CompileError{at, std::string("'") + op + "' needs bools, got " + TyName(T(node))};
  }

  uint32_t ParseNot() {
    Nesting nesting(&depth_, tok_.offset);
    if (IsWord("not")) {
      size_t at = tok_.offset;
      Advance();
      uint32_t a = ParseNot();
      CheckBool(a, at, "not");
      return Node(ExprOp::kNot, {Kind::kBool, 0}, {a});
    }
    return ParseComparison();
  }

  uint32_t ParseComparison() {
    uint32_t left = ParseSum();
    if (IsWord("is")) {
      Advance();
      bool negated = false;
      if (IsWord("not")) {
        negated = true;
        Advance();
      }
      ExpectWord("null", "after 'is'");
      return Node(negated ? ExprOp::kIsNotNull : ExprOp::kIsNull, {Kind::kBool, 0}, {left});
    }
    static const std::pair<const char*, ExprOp> kOps[] = {{"==", ExprOp::kEq}, {"!=", ExprOp::kNe},
                                                          {"<", ExprOp::kLt},  {"<=", ExprOp::kLe},
                                                          {">", ExprOp::kGt},  {">=", ExprOp::kGe}};
    for (const auto& [text, op] : kOps) {
      if (!IsPunct(text)) continue;
      size_t at = tok_.offset;
      Advance();
      uint32_t right = ParseSum();
      Ty a = T(left), b = T(right);
      bool float_math = false;
      if (a.kind == Kind::kNull || b.kind == Kind::kNull) {
        float_math = IsNumber(a) || IsNumber(b);
        if (a.kind == Kind::kVector || b.kind == Kind::kVector)
          throw CompileError{at, std::string("'") + text + "' does not compare vectors"};
      } else if (IsNumber(a) && IsNumber(b)) {
        float_math = a.kind == Kind::kFloat || b.kind == Kind::kFloat;
      } else if (a.kind != b.kind || a.kind == Kind::kVector) {
        throw CompileError{at, std::string("'") + text + "' cannot compare " + TyName(a) + " with " + TyName(b)};
      } else if (a.kind == Kind::kBool && op != ExprOp::kEq && op != ExprOp::kNe) {
        throw CompileError{at, std::string("'") + text + "' does not order bools (== and != do)"};
      }
      uint32_t n = Node(op, {Kind::kBool, 0}, {left, right}, float_math);
      if (IsPunct("==") || IsPunct("!=") || IsPunct("<") || IsPunct("<=") || IsPunct(">") || IsPunct(">="))
        throw CompileError{tok_.offset, "comparisons do not chain: join them with 'and'"};
      return n;
    }
    return left;
  }

  // The type of arithmetic `op` on a and b.
  Ty ArithmeticType(ExprOp op, Ty a, Ty b, size_t at, const std::string& text) const {
    bool a_ok = IsNumber(a) || a.kind == Kind::kNull, b_ok = IsNumber(b) || b.kind == Kind::kNull;
    if (!a_ok || !b_ok)
      throw CompileError{at, "'" + text + "' needs numbers, got " + TyName(a) + " and " + TyName(b) +
                                 (a.kind == Kind::kString || b.kind == Kind::kString ? " (concat() joins strings)"
                                  : a.kind == Kind::kTime || b.kind == Kind::kTime
                                      ? " (micros_between() and seconds_between() subtract timestamps)"
                                      : "")};
    if (op == ExprOp::kDiv) return {Kind::kFloat, 0};
    if (op == ExprOp::kMod) {
      if (a.kind == Kind::kFloat || b.kind == Kind::kFloat)
        throw CompileError{at, "'%' takes int64s, got " + TyName(a) + " and " + TyName(b)};
      return {Kind::kInt, 0};
    }
    if (a.kind == Kind::kFloat || b.kind == Kind::kFloat) return {Kind::kFloat, 0};
    return {Kind::kInt, 0};  // int64 with int64 or null; null with null counts as int64
  }

  uint32_t ParseSum() {
    uint32_t left = ParseProduct();
    while (IsPunct("+") || IsPunct("-")) {
      ExprOp op = IsPunct("+") ? ExprOp::kAdd : ExprOp::kSub;
      std::string text = tok_.text;
      size_t at = tok_.offset;
      Advance();
      uint32_t right = ParseProduct();
      Ty t = ArithmeticType(op, T(left), T(right), at, text);
      left = Node(op, t, {left, right}, t.kind == Kind::kFloat);
    }
    return left;
  }

  uint32_t ParseProduct() {
    uint32_t left = ParseUnary();
    while (IsPunct("*") || IsPunct("/") || IsPunct("%")) {
      ExprOp op = IsPunct("*") ? ExprOp::kMul : IsPunct("/") ? ExprOp::kDiv : ExprOp::kMod;
      std::string text = tok_.text;
      size_t at = tok_.offset;
      Advance();
      uint32_t right = ParseUnary();
      Ty t = ArithmeticType(op, T(left), T(right), at, text);
      left = Node(op, t, {left, right}, t.kind == Kind::kFloat);
    }
    return left;
  }

  uint32_t ParseUnary() {
    Nesting nesting(&depth_, tok_.offset);
    if (IsPunct("-")) {
      size_t at = tok_.offset;
      Advance();
      // A literal's minus belongs to it, so -9223372036854775808 is an int64.
      if (tok_.kind == Tok::kInt || tok_.kind == Tok::kFloat) return Literal(true, at);
      uint32_t a = ParseUnary();
      Ty t = T(a);
      if (!IsNumber(t) && t.kind != Kind::kNull) throw CompileError{at, "'-' needs a number, got " + TyName(t)};
      if (t.kind == Kind::kNull) t = {Kind::kInt, 0};
      return Node(ExprOp::kNeg, t, {a}, t.kind == Kind::kFloat);
    }
    return ParsePrimary();
  }

  uint32_t Constant(Value v, Ty t) {
    ExprNode n;
    n.op = ExprOp::kConst;
    n.constant = std::move(v);
    return Add(std::move(n), t);
  }

  uint32_t Literal(bool negative, size_t at) {
    std::string digits = (negative ? "-" : "") + tok_.text;
    size_t offset = negative ? at : tok_.offset;
    bool is_float = tok_.kind == Tok::kFloat;
    Advance();
    if (!is_float) {
      int64_t v = 0;
      auto r = std::from_chars(digits.data(), digits.data() + digits.size(), v);
      if (r.ec != std::errc() || r.ptr != digits.data() + digits.size())
        throw CompileError{offset,
                           "integer " + digits + " does not fit an int64 (write " + digits + ".0 for a float64)"};
      return Constant(Value::Int64(v), {Kind::kInt, 0});
    }
    double d = 0;
    auto r = std::from_chars(digits.data(), digits.data() + digits.size(), d);
    if (r.ec != std::errc() || r.ptr != digits.data() + digits.size() || !std::isfinite(d))
      throw CompileError{offset, "number " + digits + " does not fit a float64"};
    return Constant(Value::Float64(d), {Kind::kFloat, 0});
  }

  uint32_t ParsePrimary() {
    const Token t = tok_;
    switch (t.kind) {
      case Tok::kEnd:
        throw CompileError{t.offset, "the expression ends where a value was expected"};
      case Tok::kInt:
      case Tok::kFloat:
        return Literal(false, t.offset);
      case Tok::kString:
        Advance();
        return Constant(Value::String(t.text), {Kind::kString, 0});
      case Tok::kPunct:
        if (t.text == "(") {
          Advance();
          uint32_t inner = ParseOr();
          Expect(")", "to close '('");
          return inner;
        }
        if (t.text == "[") return ParseVector();
        throw CompileError{t.offset, "unexpected '" + t.text + "' where a value was expected"};
      case Tok::kName:
        break;
    }
    if (!t.quoted) {
      if (t.text == "true" || t.text == "false") {
        Advance();
        return Constant(Value::Bool(t.text == "true"), {Kind::kBool, 0});
      }
      if (t.text == "null") {
        Advance();
        return Constant(Value::Null(), {Kind::kNull, 0});
      }
      if (t.text == "case") return ParseCase();
      if (IsKeyword(t.text)) throw CompileError{t.offset, "unexpected '" + t.text + "' where a value was expected"};
    }
    Advance();
    if (IsPunct("(") && !t.quoted) return ParseCall(t);
    return InputNamed(t);
  }

  uint32_t InputNamed(const Token& t) {
    uint32_t index = 0;
    while (index < inputs_.size() && inputs_[index].name != t.text) ++index;
    if (index == inputs_.size()) {
      ExpressionInput in;
      Status st = resolve_(t.text, &in);
      if (!st.ok()) throw CompileError{t.offset, st.message()};
      in.name = t.text;
      if (in.type == FeatureType::kBytes)
        throw CompileError{t.offset, "'" + t.text + "' is a bytes feature: expressions do not read bytes"};
      if (IsListType(in.type))
        throw CompileError{
            t.offset, "'" + t.text + "' is a list (" + FeatureTypeName(in.type) + "): expressions do not read lists"};
      if (in.type == FeatureType::kFloat32Vector && in.dim == 0)
        throw CompileError{t.offset, "'" + t.text + "' is a vector without a length"};
      inputs_.push_back(std::move(in));
    }
    Ty ty;
    switch (inputs_[index].type) {
      case FeatureType::kBool:
        ty = {Kind::kBool, 0};
        break;
      case FeatureType::kInt32:
      case FeatureType::kInt64:
        ty = {Kind::kInt, 0};
        break;
      case FeatureType::kFloat32:
      case FeatureType::kFloat64:
        ty = {Kind::kFloat, 0};
        break;
      case FeatureType::kString:
        ty = {Kind::kString, 0};
        break;
      case FeatureType::kTimestamp:
        ty = {Kind::kTime, 0};
        break;
      default:
        ty = {Kind::kVector, inputs_[index].dim};
        break;
    }
    ExprNode n;
    n.op = ExprOp::kInput;
    n.input = index;
    return Add(std::move(n), ty);
  }

  uint32_t ParseVector() {
    Advance();
    std::vector<uint32_t> args;
    while (true) {
      size_t arg_at = tok_.offset;
      uint32_t a = ParseOr();
      if (!IsNumber(T(a)) && T(a).kind != Kind::kNull)
        throw CompileError{arg_at, "a vector holds numbers, got " + TyName(T(a))};
      args.push_back(a);
      if (IsPunct("]")) break;
      Expect(",", "or ']' in a vector");
    }
    Advance();
    const Ty t{Kind::kVector, static_cast<uint32_t>(args.size())};  // before args is moved from
    return Node(ExprOp::kVector, t, std::move(args));
  }

  uint32_t ParseCase() {
    size_t at = tok_.offset;
    Advance();
    std::vector<uint32_t> args, values;
    if (!IsWord("when")) throw CompileError{tok_.offset, "expected 'when' after 'case'"};
    while (IsWord("when")) {
      size_t cond_at = tok_.offset;
      Advance();
      uint32_t cond = ParseOr();
      CheckBool(cond, cond_at, "when");
      ExpectWord("then", "after the condition of 'when'");
      uint32_t value = ParseOr();
      args.push_back(cond);
      args.push_back(value);
      values.push_back(value);
    }
    bool has_else = false;
    if (IsWord("else")) {
      Advance();
      uint32_t value = ParseOr();
      args.push_back(value);
      values.push_back(value);
      has_else = true;
    }
    ExpectWord("end", "to close 'case'");
    Ty t = Unify(values, at, "case");
    ExprNode n;
    n.op = ExprOp::kCase;
    n.args = std::move(args);
    n.has_else = has_else;
    n.float_math = t.kind == Kind::kFloat;
    return Add(std::move(n), t);
  }

  uint32_t ParseCall(const Token& name) {
    auto it = Functions().find(name.text);
    if (it == Functions().end()) throw CompileError{name.offset, "unknown function '" + name.text + "'"};
    const FunctionSpec spec = it->second;
    Advance();  // '('
    std::vector<uint32_t> args;
    std::vector<size_t> offsets;
    if (!IsPunct(")")) {
      while (true) {
        offsets.push_back(tok_.offset);
        args.push_back(ParseOr());
        if (IsPunct(")")) break;
        Expect(",", ("or ')' in the arguments of " + name.text + "()").c_str());
      }
    }
    Advance();
    int n = static_cast<int>(args.size());
    if (n < spec.min_args || (spec.max_args >= 0 && n > spec.max_args)) {
      std::string want = spec.min_args == spec.max_args ? std::to_string(spec.min_args)
                         : spec.max_args < 0            ? "at least " + std::to_string(spec.min_args)
                                             : std::to_string(spec.min_args) + " to " + std::to_string(spec.max_args);
      throw CompileError{name.offset, name.text + "() takes " + want + " argument(s), got " + std::to_string(n)};
    }
    return TypeCall(name, spec.op, std::move(args), offsets);
  }

  // Checks argument i against `want` (a kind; nulls fit), naming the function.
  void Want(const Token& fn, const std::vector<uint32_t>& args, const std::vector<size_t>& offsets, size_t i,
            Kind want) const {
    Ty t = T(args[i]);
    if (t.kind == Kind::kNull || t.kind == want) return;
    if (want == Kind::kFloat && t.kind == Kind::kInt) return;
    Ty w{want, 0};
    throw CompileError{offsets[i], fn.text + "() argument " + std::to_string(i + 1) + " is " + TyName(t) + ", not " +
                                       (want == Kind::kFloat ? std::string("a number") : TyName(w))};
  }

  uint32_t TypeCall(const Token& fn, ExprOp op, std::vector<uint32_t> args, const std::vector<size_t>& offsets) {
    const Ty kBoolT{Kind::kBool, 0}, kIntT{Kind::kInt, 0}, kFloatT{Kind::kFloat, 0}, kStringT{Kind::kString, 0},
        kTimeT{Kind::kTime, 0};
    auto all = [&](Kind k) {
      for (size_t i = 0; i < args.size(); ++i) Want(fn, args, offsets, i, k);
    };
    switch (op) {
      case ExprOp::kCase: {  // if(cond, then, else)
        Want(fn, args, offsets, 0, Kind::kBool);
        Ty t = Unify({args[1], args[2]}, fn.offset, "if()");
        ExprNode n;
        n.op = ExprOp::kCase;
        n.args = std::move(args);
        n.has_else = true;
        n.float_math = t.kind == Kind::kFloat;
        return Add(std::move(n), t);
      }
      case ExprOp::kCoalesce:
      case ExprOp::kLeast:
      case ExprOp::kGreatest: {
        Ty t = Unify(args, fn.offset, (fn.text + "()").c_str());
        if (op != ExprOp::kCoalesce && (t.kind == Kind::kVector || t.kind == Kind::kBool))
          throw CompileError{fn.offset, fn.text + "() orders numbers, strings or timestamps, not " + TyName(t)};
        if (t.kind == Kind::kNull) t = kIntT;
        return Node(op, t, std::move(args), t.kind == Kind::kFloat);
      }
      case ExprOp::kAbs: {
        Want(fn, args, offsets, 0, Kind::kFloat);
        Ty t = T(args[0]).kind == Kind::kFloat ? kFloatT : kIntT;
        return Node(op, t, std::move(args), t.kind == Kind::kFloat);
      }
      case ExprOp::kSqrt:
      case ExprOp::kExp:
      case ExprOp::kLn:
      case ExprOp::kLog10:
      case ExprOp::kFloor:
      case ExprOp::kCeil:
      case ExprOp::kRound:
      case ExprOp::kPow:
      case ExprOp::kToFloat:
        all(Kind::kFloat);
        return Node(op, kFloatT, std::move(args), true);
      case ExprOp::kToInt:
        all(Kind::kFloat);
        return Node(op, kIntT, std::move(args), true);
      case ExprOp::kLength:
        all(Kind::kString);
        return Node(op, kIntT, std::move(args));
      case ExprOp::kLower:
      case ExprOp::kUpper:
      case ExprOp::kConcat:
        all(Kind::kString);
        return Node(op, kStringT, std::move(args));
      case ExprOp::kContains:
      case ExprOp::kStartsWith:
      case ExprOp::kEndsWith:
        all(Kind::kString);
        return Node(op, kBoolT, std::move(args));
      case ExprOp::kSubstr:
        Want(fn, args, offsets, 0, Kind::kString);
        Want(fn, args, offsets, 1, Kind::kInt);
        Want(fn, args, offsets, 2, Kind::kInt);
        return Node(op, kStringT, std::move(args));
      case ExprOp::kNow:
        uses_now_ = true;
        return Node(op, kTimeT, {});
      case ExprOp::kMicrosBetween:
        all(Kind::kTime);
        return Node(op, kIntT, std::move(args));
      case ExprOp::kSecondsBetween:
      case ExprOp::kHoursBetween:
      case ExprOp::kDaysBetween:
        all(Kind::kTime);
        return Node(op, kFloatT, std::move(args));
      case ExprOp::kHourOfDay:
      case ExprOp::kDayOfWeek:
        all(Kind::kTime);
        return Node(op, kIntT, std::move(args));
      case ExprOp::kDot:
      case ExprOp::kCosine:
      case ExprOp::kNorm: {
        uint32_t dim = 0;
        for (size_t i = 0; i < args.size(); ++i) {
          Ty t = T(args[i]);
          if (t.kind == Kind::kNull) continue;
          if (t.kind != Kind::kVector)
            throw CompileError{
                offsets[i], fn.text + "() argument " + std::to_string(i + 1) + " is " + TyName(t) + ", not a vector"};
          if (dim != 0 && t.dim != dim)
            throw CompileError{offsets[i], fn.text + "() of vectors of lengths " + std::to_string(dim) + " and " +
                                               std::to_string(t.dim)};
          dim = t.dim;
        }
        return Node(op, kFloatT, std::move(args));
      }
      default:
        throw CompileError{fn.offset, "unknown function '" + fn.text + "'"};
    }
  }

  Lexer lexer_;
  const ExpressionResolver& resolve_;
  Token tok_;
  std::vector<ExprNode> nodes_;
  std::vector<Ty> tys_;
  std::vector<uint32_t> depths_;  // of each node's subtree
  std::vector<ExpressionInput> inputs_;
  bool uses_now_ = false;
  int depth_ = 0;
};

}  // namespace

Expression::Expression() = default;

Result<Expression> Expression::Compile(std::string_view text, const ExpressionResolver& resolve, size_t* error_column) {
  auto program = std::make_shared<Program>();
  try {
    Compiler(text, resolve).Run(program.get());
  } catch (const CompileError& e) {
    if (error_column) *error_column = e.offset + 1;
    return Status::InvalidArgument("column " + std::to_string(e.offset + 1) + ": " + e.message);
  }
  Expression out;
  out.program_ = std::move(program);
  return out;
}

FeatureType Expression::type() const { return program_ ? program_->nodes[program_->root].type : FeatureType::kInt64; }
uint32_t Expression::dim() const { return program_ ? program_->nodes[program_->root].dim : 0; }
const std::vector<ExpressionInput>& Expression::inputs() const {
  static const std::vector<ExpressionInput> kNone;
  return program_ ? program_->inputs : kNone;
}
bool Expression::uses_now() const { return program_ && program_->uses_now; }

std::string ExpressionTypeName(FeatureType type, uint32_t dim) {
  switch (type) {
    case FeatureType::kBool:
      return "bool";
    case FeatureType::kInt32:
    case FeatureType::kInt64:
      return "int64";
    case FeatureType::kFloat32:
    case FeatureType::kFloat64:
      return "float64";
    case FeatureType::kString:
      return "string";
    case FeatureType::kTimestamp:
      return "timestamp";
    case FeatureType::kFloat32Vector:
      return "vector[" + std::to_string(dim) + "]";
    default:
      return "bytes";
  }
}

}  // namespace pitstore
