// The on-demand expression language (pitstore/expression.h): every operator and function, the
// null rules, the type rules and the errors of Compile, each against a value worked out by hand.
#include "pitstore/expression.h"

#include <cmath>
#include <limits>

#include "test_util.h"

namespace pitstore {
namespace {

// Inputs of every type: v.* are view features, r and q request inputs.
struct Inputs {
  std::vector<std::pair<ExpressionInput, Value>> known = {
      {{"v.i", FeatureType::kInt64}, Value::Int64(7)},
      {{"v.j", FeatureType::kInt64}, Value::Int64(-2)},
      {{"v.i32", FeatureType::kInt32}, Value::Int32(5)},
      {{"v.f", FeatureType::kFloat64}, Value::Float64(2.5)},
      {{"v.f32", FeatureType::kFloat32}, Value::Float32(0.5f)},
      {{"v.nan", FeatureType::kFloat64}, Value::Float64(std::nan(""))},
      {{"v.s", FeatureType::kString}, Value::String("Hé llo")},
      {{"v.b", FeatureType::kBool}, Value::Bool(true)},
      {{"v.t", FeatureType::kTimestamp}, Value::Time(1'700'000'000'000'000)},   // 2023-11-14T22:13:20Z, a Tuesday
      {{"v.t0", FeatureType::kTimestamp}, Value::Time(1'699'996'400'000'000)},  // an hour earlier
      {{"v.u", FeatureType::kFloat32Vector, 3}, Value::Vector({1, 2, 2})},
      {{"v.w", FeatureType::kFloat32Vector, 3}, Value::Vector({0, 3, 4})},
      {{"v.z", FeatureType::kFloat32Vector, 3}, Value::Vector({0, 0, 0})},
      {{"v.v2", FeatureType::kFloat32Vector, 2}, Value::Vector({1, 1})},
      {{"v.n", FeatureType::kInt64}, Value::Null()},
      {{"v.nf", FeatureType::kFloat64}, Value::Null()},
      {{"v.ns", FeatureType::kString}, Value::Null()},
      {{"v.nb", FeatureType::kBool}, Value::Null()},
      {{"v.bytes", FeatureType::kBytes}, Value::Bytes("x")},
      {{"r", FeatureType::kInt64}, Value::Int64(3)},
      {{"big", FeatureType::kInt64}, Value::Int64(std::numeric_limits<int64_t>::max())},
      {{"small", FeatureType::kInt64}, Value::Int64(std::numeric_limits<int64_t>::min())},
  };
  ExpressionResolver Resolver() const {
    return [this](const std::string& name, ExpressionInput* out) {
      for (const auto& [in, v] : known)
        if (in.name == name) {
          *out = in;
          return Status::OK();
        }
      return Status::NotFound("no input '" + name + "'");
    };
  }
  std::vector<Value> ValuesFor(const Expression& e) const {
    std::vector<Value> out;
    for (const ExpressionInput& in : e.inputs())
      for (const auto& [k, v] : known)
        if (k.name == in.name) out.push_back(v);
    return out;
  }
};

constexpr Timestamp kNow = 1'700'003'600'000'000;  // an hour after v.t

// The value of `text` as Value::ToString writes it, or "error: <message>".
std::string Eval(const std::string& text) {
  Inputs inputs;
  auto e = Expression::Compile(text, inputs.Resolver());
  if (!e.ok()) return "error: " + e.status().message();
  std::vector<Value> values = inputs.ValuesFor(*e);
  Value v = e->Evaluate(values.data(), kNow);
  if (!v.is_null() && v.type() != e->type()) return "wrong type: " + v.ToString();
  // The column-wise evaluation gives the same, on a column of three copies of the row.
  std::vector<Column> columns;
  for (size_t k = 0; k < values.size(); ++k) {
    columns.push_back(Column::Of(e->inputs()[k].type, e->inputs()[k].dim));
    for (int r = 0; r < 3; ++r) columns.back().Append(values[k]);
  }
  std::vector<const Column*> pointers;
  for (const Column& c : columns) pointers.push_back(&c);
  Column out = Column::Of(e->type(), e->dim());
  Status st = e->EvaluateColumns(pointers, 3, {kNow}, &out);
  if (!st.ok()) return "columns: " + st.ToString();
  for (size_t r = 0; r < 3; ++r)
    if (!(out.Get(r) == v)) return "columns differ: " + out.Get(r).ToString() + " and " + v.ToString();
  return v.ToString();
}

std::string TypeOf(const std::string& text) {
  Inputs inputs;
  auto e = Expression::Compile(text, inputs.Resolver());
  return e.ok() ? ExpressionTypeName(e->type(), e->dim()) : "error: " + e.status().message();
}

TEST(Expression, Arithmetic) {
  EXPECT_EQ(Eval("1 + 2 * 3"), "7");
  EXPECT_EQ(Eval("(1 + 2) * 3"), "9");
  EXPECT_EQ(Eval("v.i - v.j"), "9");
  EXPECT_EQ(Eval("v.i + v.f"), "9.5");
  EXPECT_EQ(Eval("v.i32 * 2"), "10");
  EXPECT_EQ(Eval("v.f32 + 1"), "1.5");
  EXPECT_EQ(Eval("7 / 2"), "3.5");  // always float64
  EXPECT_EQ(Eval("7 % 3"), "1");
  EXPECT_EQ(Eval("-7 % 3"), "-1");  // the sign of the dividend, as C and SQL
  EXPECT_EQ(Eval("-v.i"), "-7");
  EXPECT_EQ(Eval("- -v.f"), "2.5");
  EXPECT_EQ(Eval("2 - 3 - 4"), "-5");  // left to right
  EXPECT_EQ(Eval("1e3 + .5"), "1000.5");
  EXPECT_EQ(Eval("-9223372036854775808"), "-9223372036854775808");
  EXPECT_EQ(TypeOf("1 + 2"), "int64");
  EXPECT_EQ(TypeOf("1 + 2.0"), "float64");
  EXPECT_EQ(TypeOf("4 / 2"), "float64");
}

TEST(Expression, NoValueIsNullNeverAWrongValue) {
  EXPECT_EQ(Eval("1 / 0"), "null");
  EXPECT_EQ(Eval("v.f / 0.0"), "null");
  EXPECT_EQ(Eval("5 % 0"), "null");
  EXPECT_EQ(Eval("small % -1"), "0");
  EXPECT_EQ(Eval("big + 1"), "null");
  EXPECT_EQ(Eval("small - 1"), "null");
  EXPECT_EQ(Eval("big * 2"), "null");
  EXPECT_EQ(Eval("-small"), "null");
  EXPECT_EQ(Eval("abs(small)"), "null");
  EXPECT_EQ(Eval("sqrt(-1)"), "null");
  EXPECT_EQ(Eval("ln(0)"), "null");
  EXPECT_EQ(Eval("1e308 * 10"), "null");
  EXPECT_EQ(Eval("exp(1000)"), "null");
  EXPECT_EQ(Eval("int(1e300)"), "null");
  EXPECT_EQ(Eval("cosine(v.u, v.z)"), "null");
  EXPECT_EQ(Eval("v.nan"), "null");  // a NaN input reads as null
  EXPECT_EQ(Eval("v.nan is null"), "true");
}

TEST(Expression, NullsPropagateExceptWhereStated) {
  EXPECT_EQ(Eval("v.n + 1"), "null");
  EXPECT_EQ(Eval("v.n == v.n"), "null");
  EXPECT_EQ(Eval("null == null"), "null");
  EXPECT_EQ(Eval("v.n is null"), "true");
  EXPECT_EQ(Eval("v.i is null"), "false");
  EXPECT_EQ(Eval("v.n is not null"), "false");
  EXPECT_EQ(Eval("length(v.ns)"), "null");
  EXPECT_EQ(Eval("concat('a', v.ns)"), "null");
  EXPECT_EQ(Eval("greatest(1, v.n)"), "null");
  EXPECT_EQ(Eval("not v.nb"), "null");
  // Three-valued and / or, in both orders.
  EXPECT_EQ(Eval("false and v.nb"), "false");
  EXPECT_EQ(Eval("v.nb and false"), "false");
  EXPECT_EQ(Eval("true and v.nb"), "null");
  EXPECT_EQ(Eval("true or v.nb"), "true");
  EXPECT_EQ(Eval("v.nb or true"), "true");
  EXPECT_EQ(Eval("false or v.nb"), "null");
  EXPECT_EQ(Eval("true and true"), "true");
  EXPECT_EQ(Eval("false or false"), "false");
  // coalesce, and null conditions taking the else branch.
  EXPECT_EQ(Eval("coalesce(v.n, v.nf, 4)"), "4");
  EXPECT_EQ(Eval("coalesce(v.n, v.i)"), "7");
  EXPECT_EQ(Eval("coalesce(v.n, null)"), "null");
  EXPECT_EQ(Eval("coalesce(v.n, 2.5)"), "2.5");
  EXPECT_EQ(TypeOf("coalesce(v.n, 1)"), "int64");
  EXPECT_EQ(TypeOf("coalesce(v.n, 1.5)"), "float64");
  EXPECT_EQ(Eval("coalesce(v.i, 1.5)"), "7");  // int64 branch, float64 result
  EXPECT_EQ(TypeOf("coalesce(v.i, 1.5)"), "float64");
  EXPECT_EQ(Eval("if(v.nb, 1, 2)"), "2");
  EXPECT_EQ(Eval("case when v.nb then 1 end"), "null");
  EXPECT_EQ(Eval("if(v.b, v.n, 2)"), "null");
}

TEST(Expression, Comparisons) {
  EXPECT_EQ(Eval("1 < 2"), "true");
  EXPECT_EQ(Eval("2 <= 2"), "true");
  EXPECT_EQ(Eval("3 > 4"), "false");
  EXPECT_EQ(Eval("v.i >= 7"), "true");
  EXPECT_EQ(Eval("v.i == 7.0"), "true");
  EXPECT_EQ(Eval("v.i != 7"), "false");
  EXPECT_EQ(Eval("v.i <> 8"), "true");
  EXPECT_EQ(Eval("v.i = 7"), "true");  // '=' reads as '=='
  EXPECT_EQ(Eval("'abc' < 'abd'"), "true");
  EXPECT_EQ(Eval("'B' < 'a'"), "true");  // by bytes
  EXPECT_EQ(Eval("v.t0 < v.t"), "true");
  EXPECT_EQ(Eval("v.b == true"), "true");
  EXPECT_EQ(Eval("not v.b"), "false");
  EXPECT_EQ(Eval("not 1 > 2 and 2 > 1"), "true");  // not binds above comparison, below and
  EXPECT_EQ(Eval("1 < 2 or 1 / 0 > 1"), "true");
  // At equality, for ints, floats and both (each strictness is its own case).
  for (const char* x : {"v.i", "v.i * 1.0"}) {
    const std::string a = x;
    EXPECT_EQ(Eval(a + " > 7"), "false");
    EXPECT_EQ(Eval(a + " < 7"), "false");
    EXPECT_EQ(Eval(a + " >= 7"), "true");
    EXPECT_EQ(Eval(a + " <= 7"), "true");
    EXPECT_EQ(Eval(a + " == 7"), "true");
    EXPECT_EQ(Eval(a + " != 7"), "false");
    EXPECT_EQ(Eval(a + " > 6"), "true");
    EXPECT_EQ(Eval(a + " < 8"), "true");
  }
}

TEST(Expression, Choice) {
  EXPECT_EQ(Eval("if(v.i > 5, 'big', 'small')"), "\"big\"");
  EXPECT_EQ(Eval("case when v.i > 10 then 1 when v.i > 5 then 2 else 3 end"), "2");
  EXPECT_EQ(Eval("case when v.i > 10 then 1 else 2.5 end"), "2.5");
  EXPECT_EQ(Eval("case when v.i > 1 then 1 else 2.5 end"), "1");
  EXPECT_EQ(TypeOf("case when v.i > 1 then 1 else 2.5 end"), "float64");
  EXPECT_EQ(Eval("case when false then 1 end"), "null");
  EXPECT_EQ(Eval("if(v.b, 1, 1 / 0)"), "1");  // the branch not taken is not evaluated
}

TEST(Expression, MathFunctions) {
  EXPECT_EQ(Eval("abs(-3)"), "3");
  EXPECT_EQ(Eval("abs(-2.5)"), "2.5");
  EXPECT_EQ(Eval("sqrt(16)"), "4");
  EXPECT_EQ(Eval("exp(0)"), "1");
  EXPECT_EQ(Eval("ln(1)"), "0");
  EXPECT_EQ(Eval("log10(1000)"), "3");
  EXPECT_EQ(Eval("floor(-2.5)"), "-3");
  EXPECT_EQ(Eval("ceil(2.1)"), "3");
  EXPECT_EQ(Eval("round(2.5)"), "3");
  EXPECT_EQ(Eval("round(-2.5)"), "-3");
  EXPECT_EQ(Eval("pow(2, 10)"), "1024");
  EXPECT_EQ(Eval("least(3, 1.5, 2)"), "1.5");
  EXPECT_EQ(Eval("greatest(3, 1.5, 2)"), "3");
  EXPECT_EQ(TypeOf("greatest(3, 1.5, 2)"), "float64");
  EXPECT_EQ(Eval("least('b', 'a')"), "\"a\"");
  EXPECT_EQ(Eval("int(-2.9)"), "-2");
  EXPECT_EQ(Eval("int(v.i)"), "7");
  EXPECT_EQ(Eval("float(v.i)"), "7");
  EXPECT_EQ(TypeOf("float(v.i)"), "float64");
}

TEST(Expression, StringFunctions) {
  EXPECT_EQ(Eval("length(v.s)"), "6");  // code points: é is two bytes
  EXPECT_EQ(Eval("lower(v.s)"), "\"hé llo\"");
  EXPECT_EQ(Eval("upper(v.s)"), "\"Hé LLO\"");
  EXPECT_EQ(Eval("contains(v.s, 'll')"), "true");
  EXPECT_EQ(Eval("starts_with(v.s, 'Hé')"), "true");
  EXPECT_EQ(Eval("ends_with(v.s, 'x')"), "false");
  EXPECT_EQ(Eval("substr(v.s, 2, 3)"), "\"é l\"");
  EXPECT_EQ(Eval("substr(v.s, 5, 100)"), "\"lo\"");
  EXPECT_EQ(Eval("substr(v.s, 10, 2)"), "\"\"");
  EXPECT_EQ(Eval("substr(v.s, 0, 2)"), "null");
  EXPECT_EQ(Eval("concat('a', \"b\", 'c\\'d')"), "\"abc'd\"");
  EXPECT_EQ(Eval("'tab\\there'"), "\"tab\there\"");
}

TEST(Expression, TimeFunctions) {
  EXPECT_EQ(Eval("micros_between(v.t0, v.t)"), "3600000000");
  EXPECT_EQ(Eval("seconds_between(v.t0, v.t)"), "3600");
  EXPECT_EQ(Eval("hours_between(v.t, v.t0)"), "-1");
  EXPECT_EQ(Eval("days_between(v.t0, v.t)"), "0.041666666666666664");
  EXPECT_EQ(Eval("hours_between(v.t, now())"), "1");
  EXPECT_EQ(Eval("hour_of_day(v.t)"), "22");
  EXPECT_EQ(Eval("day_of_week(v.t)"), "2");
  EXPECT_EQ(Eval("day_of_week(v.t - 0)"),
            "error: column 17: '-' needs numbers, got timestamp and int64 "
            "(micros_between() and seconds_between() subtract timestamps)");
  // Before 1970 the hour and day still count forward (floor division).
  Inputs inputs;
  auto e = Expression::Compile("hour_of_day(v.t) * 10 + day_of_week(v.t)", inputs.Resolver());
  ASSERT_TRUE(e.ok());
  Value minus_one_us = Value::Time(-1);  // 1969-12-31T23:59:59.999999Z, a Wednesday
  EXPECT_EQ(e->Evaluate(&minus_one_us, 0).ToString(), "233");
}

TEST(Expression, VectorFunctions) {
  EXPECT_EQ(Eval("dot(v.u, v.w)"), "14");
  EXPECT_EQ(Eval("norm(v.w)"), "5");
  EXPECT_EQ(Eval("cosine(v.u, v.w)"), "0.9333333333333333");
  EXPECT_EQ(Eval("dot(v.u, [1, 0, v.f])"), "6");
  EXPECT_EQ(Eval("[1, 2.5]"), "[1,2.5]");
  EXPECT_EQ(TypeOf("[1, 2.5]"), "vector[2]");
  EXPECT_EQ(Eval("[1, v.n]"), "null");
  EXPECT_EQ(Eval("coalesce(v.u, [0, 0, 0])"), "[1,2,2]");
  EXPECT_EQ(Eval("dot(v.u, v.v2)"), "error: column 10: dot() of vectors of lengths 3 and 2");
}

TEST(Expression, TypeErrorsNameTheColumn) {
  EXPECT_EQ(Eval("v.s + 1"), "error: column 5: '+' needs numbers, got string and int64 (concat() joins strings)");
  EXPECT_EQ(Eval("1 + "), "error: column 5: the expression ends where a value was expected");
  EXPECT_EQ(Eval("v.i and true"), "error: column 5: 'and' needs bools, got int64");
  EXPECT_EQ(Eval("if(v.i, 1, 2)"), "error: column 4: if() argument 1 is int64, not bool");
  EXPECT_EQ(Eval("if(v.b, 1, 'x')"), "error: column 1: if() mixes int64 and string");
  EXPECT_EQ(Eval("v.s < 1"), "error: column 5: '<' cannot compare string with int64");
  EXPECT_EQ(Eval("v.b < true"), "error: column 5: '<' does not order bools (== and != do)");
  EXPECT_EQ(Eval("v.u == v.w"), "error: column 5: '==' cannot compare vector[3] with vector[3]");
  EXPECT_EQ(Eval("1 < 2 < 3"), "error: column 7: comparisons do not chain: join them with 'and'");
  EXPECT_EQ(Eval("nope(1)"), "error: column 1: unknown function 'nope'");
  EXPECT_EQ(Eval("sqrt(1, 2)"), "error: column 1: sqrt() takes 1 argument(s), got 2");
  EXPECT_EQ(Eval("v.missing + 1"), "error: column 1: no input 'v.missing'");
  EXPECT_EQ(Eval("v.bytes"), "error: column 1: 'v.bytes' is a bytes feature: expressions do not read bytes");
  EXPECT_EQ(Eval("1.5 % 2"), "error: column 5: '%' takes int64s, got float64 and int64");
  EXPECT_EQ(Eval("9223372036854775808"),
            "error: column 1: integer 9223372036854775808 does not fit an int64 (write 9223372036854775808.0 for a "
            "float64)");
  EXPECT_EQ(Eval("'open"), "error: column 1: a string is not closed");
  EXPECT_EQ(Eval("1 2"), "error: column 3: unexpected '2' after the expression");
  EXPECT_EQ(Eval("2x"), "error: column 2: a number runs into a name: put an operator between them");
  EXPECT_EQ(Eval("null"), "error: column 1: the expression is always null: its type cannot be told");
  EXPECT_EQ(Eval(""), "error: column 1: the expression is empty");
  EXPECT_EQ(Eval("1 # 2"), "error: column 3: unexpected character '#'");
  EXPECT_EQ(Eval("case 1 end"), "error: column 6: expected 'when' after 'case'");
  EXPECT_EQ(Eval("(1 + 2"), "error: column 7: expected ')' to close '(', found the end");
  EXPECT_EQ(Eval(std::string(300, '(') + "1" + std::string(300, ')')).substr(0, 29), "error: column 67: nested more");
  std::string chain = "1";
  for (int i = 0; i < 300; ++i) chain += " + 1";  // left-deep: 300 levels without a parenthesis
  EXPECT_EQ(Eval(chain), "error: column 1027: the expression nests deeper than 256 operations");
  EXPECT_EQ(Eval(chain.substr(0, 4 * 255 + 1)), "256");  // 255 additions: allowed
}

TEST(Expression, InputsAreListedOnceInOrder) {
  Inputs inputs;
  auto e = Expression::Compile("v.f + v.i * v.f + r + `v.i`", inputs.Resolver());
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  ASSERT_EQ(e->inputs().size(), 3u);
  EXPECT_EQ(e->inputs()[0].name, "v.f");
  EXPECT_EQ(e->inputs()[1].name, "v.i");
  EXPECT_EQ(e->inputs()[2].name, "r");
  EXPECT_FALSE(e->uses_now());
  // A value of another type than the input's is read as null, never reinterpreted.
  std::vector<Value> values = {Value::String("2.5"), Value::Int64(1), Value::Int64(1)};
  EXPECT_TRUE(e->Evaluate(values.data(), 0).is_null());
  values[0] = Value::Float64(0.5);
  EXPECT_EQ(e->Evaluate(values.data(), 0).ToString(), "3");
}

}  // namespace
}  // namespace pitstore

namespace pitstore {
namespace {
using testing::TempDir;

// On-demand views in the registry: Apply compiles each expression against the views and
// aggregation views it will have, records the result type, and refuses what does not compile
// (naming view, feature and column) with nothing changed; the definition survives a reopen;
// what an expression reads cannot be dropped under it.
TEST(OnDemandView, AppliedCheckedStoredAndGuarded) {
  TempDir dir;
  const std::string path = dir.path("o.pit");
  {
    auto store = testing::NewUserStore(path);  // view v (user_id int64) with feature n int64
    AggregationViewDef spend;
    spend.name = "spend";
    spend.source = "v";
    spend.aggregates = {{"n", AggregateFunction::kMean, 3'600'000'000, "n_mean"}};
    OnDemandViewDef signals;
    signals.name = "signals";
    signals.request = {{"amount", FeatureType::kFloat64}};
    signals.features = {{"ratio", "amount / spend.n_mean"},
                        {"doubled", "v.n * 2"},
                        {"label", "if(v.n > 1, 'a', 'b')"},
                        {"w_m", "w.m + 1"}};
    Definitions defs;
    defs.views = {{"w", {"user"}, {{"m", FeatureType::kFloat64}, {"other", FeatureType::kInt64}}}};
    defs.aggregation_views = {spend};
    defs.on_demand_views = {signals};
    std::vector<std::string> changes;
    ASSERT_OK(store->Apply(defs, &changes));
    EXPECT_EQ(changes.back(), "create on-demand view 'signals'");
    changes.clear();
    ASSERT_OK(store->Apply(defs, &changes));
    EXPECT_TRUE(changes.empty());  // the same again: no change

    OnDemandViewDef bad = signals;
    bad.features[1].expression = "v.n + 'x'";
    Definitions bad_defs;
    bad_defs.on_demand_views = {bad};
    Status st = store->Apply(bad_defs, &changes);
    EXPECT_TRUE(st.IsInvalidArgument());
    EXPECT_EQ(st.message(),
              "on-demand view 'signals', feature 'doubled': column 5: '+' needs numbers, got int64 and string "
              "(concat() joins strings)");
    EXPECT_EQ(store->Plan(bad_defs, &changes).message(), st.message());  // Plan refuses the same
    bad.features[1].expression = "v.missing";
    bad_defs.on_demand_views = {bad};
    EXPECT_EQ(store->Apply(bad_defs, &changes).message(),
              "on-demand view 'signals', feature 'doubled': column 1: view 'v' has no feature 'missing'");
    bad.features[1].expression = "signals.ratio";
    bad_defs.on_demand_views = {bad};
    EXPECT_EQ(store->Apply(bad_defs, &changes).message(),
              "on-demand view 'signals', feature 'doubled': column 1: 'signals.ratio' is an on-demand feature: "
              "on-demand views read feature views and aggregation views, not each other");
    bad = signals;
    bad.name = "v";
    bad_defs.on_demand_views = {bad};
    EXPECT_EQ(store->Apply(bad_defs, &changes).message(), "on-demand view 'v': a view has that name");
  }
  auto store = UNWRAP(Store::Open(path, {}));
  OnDemandViewDef got = UNWRAP(store->GetOnDemandView("signals"));
  ASSERT_EQ(got.features.size(), 4u);
  EXPECT_EQ(got.features[0].expression, "amount / spend.n_mean");
  EXPECT_EQ(got.features[0].type, FeatureType::kFloat64);
  EXPECT_EQ(got.features[1].type, FeatureType::kInt64);
  EXPECT_EQ(got.features[2].type, FeatureType::kString);
  ASSERT_EQ(got.request.size(), 1u);
  EXPECT_EQ(got.request[0].type, FeatureType::kFloat64);
  EXPECT_EQ(UNWRAP(store->ListOnDemandViews()), std::vector<std::string>{"signals"});
  EXPECT_TRUE(store->GetView("signals").status().IsNotFound());  // not a stored view
  EXPECT_EQ(store->DropFeature("w", "m").message(),
            "feature 'w:m' is read by on-demand view(s) 'signals': change their expressions first");
  EXPECT_EQ(store->DropView("w").message(),
            "view 'w' is read by on-demand view(s) 'signals': change their expressions first");
  EXPECT_EQ(UNWRAP(store->GetView("w")).features.size(), 2u);  // refused whole: nothing dropped
}

}  // namespace
}  // namespace pitstore
